//! kad-vrrp: VRRP v2/v3 codec, RFC 5798 state machine, VIPs and GARP/NA, run by the VRRP child (issue: VRRP on the wire).
//!
//! This crate is laid down with the workspace; its contents arrive with the issue named above.
//! See docs/ARCHITECTURE.md for what it will own and which process runs it.
#![deny(missing_docs)]
