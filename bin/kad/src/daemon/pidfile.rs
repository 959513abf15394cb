//! Pidfiles: written atomically; a live kad holding one refuses a second start; stale ones are
//! replaced.

use std::path::Path;

/// Why a pidfile cannot be taken.
#[derive(Debug)]
pub enum PidfileError {
    /// Another kad is alive with this pid.
    Running(u32),
    /// The file could not be written.
    Io(std::io::Error),
}

impl std::fmt::Display for PidfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidfileError::Running(pid) => write!(f, "kad is already running with pid {pid}"),
            PidfileError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The pid in `path` if a live kad process has it.
pub fn live_owner(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    if pid == std::process::id() {
        return None;
    }
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    comm.starts_with("kad").then_some(pid)
}

/// Writes this process's pid to `path`, refusing if a live kad holds it.
pub fn take(path: &Path) -> Result<(), PidfileError> {
    if let Some(pid) = live_owner(path) {
        return Err(PidfileError::Running(pid));
    }
    write(path, std::process::id())
}

/// Writes `pid` to `path` atomically (a temporary file renamed into place).
pub fn write(path: &Path, pid: u32) -> Result<(), PidfileError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(PidfileError::Io)?;
    }
    kad_core::dumpfile::write_atomic(path, format!("{pid}\n").as_bytes()).map_err(PidfileError::Io)
}

/// Removes `path` if it still names `pid`.
pub fn remove_if_ours(path: &Path, pid: u32) {
    let ours = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        == Some(pid);
    if ours {
        let _ = std::fs::remove_file(path);
    }
}
