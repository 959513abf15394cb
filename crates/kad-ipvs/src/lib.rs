//! kad-ipvs: kernel IPVS over generic netlink: services, destinations, reconcile (issue: IPVS via generic netlink).
//!
//! This crate is laid down with the workspace; its contents arrive with the issue named above.
//! See docs/ARCHITECTURE.md for what it will own and which process runs it.
#![deny(missing_docs)]
