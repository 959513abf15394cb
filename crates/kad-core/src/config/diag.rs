//! Positioned diagnostics: `FILE:LINE:COL: error: …` and `warning: …`.
//!
//! Error policy for the whole parser: every problem is recorded here where it is found and parsing
//! goes on, so one run reports every problem in a file. A configuration with at least one error is
//! never returned as a model.

use std::fmt;
use std::path::PathBuf;

/// Index of a file in [`Files`].
pub type FileId = u32;

/// A place in a configuration file: file, 1-based line and 1-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Which file (index into [`Files`]).
    pub file: FileId,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column (in characters of the logical line after substitution).
    pub col: u32,
}

/// The table of files read while parsing, so a [`Pos`] can name its file.
#[derive(Debug, Default, Clone)]
pub struct Files {
    paths: Vec<PathBuf>,
}

impl Files {
    /// Registers a path and returns its id.
    pub fn add(&mut self, path: PathBuf) -> FileId {
        self.paths.push(path);
        (self.paths.len() - 1) as FileId
    }

    /// The path of a file id (a placeholder if unknown).
    pub fn path(&self, id: FileId) -> &std::path::Path {
        self.paths
            .get(id as usize)
            .map(|p| p.as_path())
            .unwrap_or_else(|| std::path::Path::new("<unknown>"))
    }

    /// Every file read, in the order it was first opened.
    pub fn all(&self) -> &[PathBuf] {
        &self.paths
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The file is still usable; something was ignored or adjusted.
    Warning,
    /// The configuration cannot be used.
    Error,
}

/// One message about one place in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is.
    pub pos: Pos,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong and, where it helps, what was expected.
    pub message: String,
}

/// A diagnostic joined with the file table so it can be printed as `FILE:LINE:COL: …`.
pub struct Rendered<'a> {
    diag: &'a Diagnostic,
    files: &'a Files,
}

impl Diagnostic {
    /// Prepares the diagnostic for printing with file names.
    pub fn render<'a>(&'a self, files: &'a Files) -> Rendered<'a> {
        Rendered { diag: self, files }
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diag;
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.files.path(d.pos.file).display(),
            d.pos.line,
            d.pos.col,
            kind,
            d.message
        )
    }
}

/// Collects diagnostics during a parse.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records an error at `pos`.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(pos, Severity::Error, message.into());
    }

    /// Records a warning at `pos`.
    pub fn warning(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(pos, Severity::Warning, message.into());
    }

    fn push(&mut self, pos: Pos, severity: Severity, message: String) {
        self.items.push(Diagnostic {
            pos,
            severity,
            message,
        });
    }

    /// True if any error was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// All diagnostics in the order they were found.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}
