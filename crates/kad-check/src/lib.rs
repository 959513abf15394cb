//! kad-check: health checkers as non-blocking state machines, run by the checker child (issue: health checkers).
//!
//! This crate is laid down with the workspace; its contents arrive with the issue named above.
//! See docs/ARCHITECTURE.md for what it will own and which process runs it.
#![deny(missing_docs)]
