//! kad-core: the configuration layer shared by every kad process.
//!
//! It owns the typed configuration model ([`config::model`]), the keepalived.conf parser
//! ([`config::parse_file`]) with its preprocessor (includes, definitions, conditionals, sequences)
//! and positioned diagnostics ([`config::Diagnostic`]), the logging setup shared by every
//! process ([`logging`]) the symlink-safe writer for dump files ([`dumpfile`]) and the VRRP state shared by the children
//! ([`state::VrrpState`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod dump;
pub mod dumpfile;
pub mod logging;
pub mod notify_fifo;
pub mod state;
