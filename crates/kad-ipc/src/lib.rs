//! kad-ipc: socketpair framing between kad's processes: length-prefixed bincode frames, bounded (issue: the daemon).
//!
//! This crate is laid down with the workspace; its contents arrive with the issue named above.
//! See docs/ARCHITECTURE.md for what it will own and which process runs it.
#![deny(missing_docs)]
