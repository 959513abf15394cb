//! kad-core: the configuration layer shared by every kad process.
//!
//! It owns the typed configuration model ([`config::model`]), the keepalived.conf parser
//! ([`config::parse_file`]) with its preprocessor (includes, definitions, conditionals, sequences)
//! and positioned diagnostics ([`config::Diagnostic`]). It does no I/O beyond reading configuration
//! files.
#![deny(missing_docs)]

pub mod config;
