//! keepalived.conf: preprocessing, reading, building the typed model, diagnostics.
//!
//! Pipeline: [`preprocess`] (files, includes, definitions, conditionals, sequences) →
//! [`lexer`] (words and braces of one line) → [`reader`] (statements and blocks) →
//! `build` (the typed [`model::Config`] plus checks across blocks).
//! [`keywords`] says which keywords kad acts on; the parser warns about the rest.

pub mod diag;
mod expand;
pub mod keywords;
pub mod lexer;
pub mod model;
pub mod preprocess;
pub mod reader;
pub mod route;
pub mod track_process;
pub mod values;

mod build;

use std::path::Path;

pub use diag::{Diagnostic, Files, Pos, Severity};
pub use model::Config;

/// Settings of one parse.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// The config id compared with `@ID` lines (keepalived's `-i`; see [`default_config_id`]).
    pub config_id: String,
    /// Tells whether a network interface exists, to warn about missing ones (a fact of the
    /// environment, so a warning, never an error). `None`: no such check.
    pub interface_exists: Option<fn(&str) -> bool>,
}

/// The result of parsing: the model if there was no error, and every diagnostic.
#[derive(Debug)]
pub struct Parsed {
    /// The configuration; `None` if any diagnostic is an error.
    pub config: Option<Config>,
    /// Errors and warnings in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// The files read (to print diagnostics and to watch for reloads).
    pub files: Files,
}

impl Parsed {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Each diagnostic as a `FILE:LINE:COL: severity: message` line.
    pub fn rendered(&self) -> Vec<String> {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.files).to_string())
            .collect()
    }
}

/// Parses the configuration rooted at `path`.
pub fn parse_file(path: &Path, options: &ParseOptions) -> Parsed {
    let pre = preprocess::Preprocessor::open(path, options);
    let reader = reader::Reader::new(pre);
    let (config, reader) = build::build(reader, options.interface_exists);
    let (files, diags) = reader.finish();
    let has_errors = diags.has_errors();
    Parsed {
        config: (!has_errors).then_some(config),
        diagnostics: diags.into_vec(),
        files,
    }
}

/// keepalived's default config id: the host name up to its first dot.
pub fn default_config_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    host.split('.').next().unwrap_or("").to_string()
}
