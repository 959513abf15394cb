//! Notify FIFOs as keepalived 2.2.7 keeps them: created (mode 0600) if missing, opened
//! read-write and non-blocking (so a write never waits for a reader and never raises
//! SIGPIPE: with no reader, lines wait in the pipe until one comes), removed at the end only
//! if we created them. A line that does not fit in the pipe is dropped and counted; a write
//! never blocks the event loop.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Longest line written (the pipe's atomic write size, so lines of two writers never mix).
pub const MAX_LINE: usize = 4096;

/// One open notify FIFO.
#[derive(Debug)]
pub struct FifoWriter {
    path: PathBuf,
    file: File,
    created: bool,
    dropped: u64,
}

/// Creates `path` as a FIFO (mode 0600) unless something exists there; true if created.
pub fn ensure(path: &Path) -> io::Result<bool> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: mkfifo reads a NUL-terminated path that lives for the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EEXIST) {
        Ok(false)
    } else {
        Err(e)
    }
}

impl FifoWriter {
    /// Creates (if missing) and opens the FIFO at `path`; anything there but a FIFO is an
    /// error (never written to).
    pub fn open(path: &Path) -> io::Result<FifoWriter> {
        let created = ensure(path)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NOCTTY)
            .open(path)?;
        if !file.metadata()?.file_type().is_fifo() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "exists and is not a FIFO",
            ));
        }
        Ok(FifoWriter {
            path: path.to_path_buf(),
            file,
            created,
            dropped: 0,
        })
    }

    /// The FIFO's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lines dropped so far (pipe full, line too long, write error).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Writes `line` and a newline in one write; false (and counted) if it was dropped.
    pub fn write_line(&mut self, line: &str) -> bool {
        let mut buf = Vec::with_capacity(line.len().saturating_add(1));
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        let ok = buf.len() <= MAX_LINE && matches!(self.file.write(&buf), Ok(n) if n == buf.len());
        if !ok {
            self.dropped = self.dropped.saturating_add(1);
        }
        ok
    }

    /// Closes the FIFO and removes it if this writer created it.
    pub fn close(self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The FIFOs one child writes to (each path once), with a warning on each one's first drop.
#[derive(Debug, Default)]
pub struct FifoSet {
    writers: Vec<FifoWriter>,
}

impl FifoSet {
    /// Opens every path given (duplicates once); a FIFO that cannot be opened is logged and
    /// left out.
    pub fn open<'a>(paths: impl IntoIterator<Item = &'a str>) -> FifoSet {
        let mut set = FifoSet::default();
        for p in paths {
            if set.writers.iter().any(|w| w.path == Path::new(p)) {
                continue;
            }
            match FifoWriter::open(Path::new(p)) {
                Ok(w) => set.writers.push(w),
                Err(e) => log::error!("notify FIFO {p}: {e}"),
            }
        }
        set
    }

    /// True if no FIFO is open.
    pub fn is_empty(&self) -> bool {
        self.writers.is_empty()
    }

    /// Writes `line` to every FIFO of the set whose path is in `to`.
    pub fn write_to(&mut self, to: &[&str], line: &str) {
        for w in self
            .writers
            .iter_mut()
            .filter(|w| to.iter().any(|p| Path::new(p) == w.path))
        {
            if !w.write_line(line) && w.dropped == 1 {
                log::warn!(
                    "notify FIFO {}: full or line too long, line dropped (more are counted)",
                    w.path.display()
                );
            }
        }
    }

    /// Closes every FIFO (removing those created here), logging how many lines were dropped.
    pub fn close(&mut self) {
        for w in self.writers.drain(..) {
            if w.dropped > 0 {
                log::warn!(
                    "notify FIFO {}: {} line(s) dropped",
                    w.path.display(),
                    w.dropped
                );
            }
            w.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kad-fifo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn with_no_reader_lines_wait_then_a_full_pipe_drops_without_blocking() {
        let d = dir("full");
        let p = d.join("f");
        let mut w = FifoWriter::open(&p).expect("open");
        assert!(w.write_line("INSTANCE \"VI_1\" MASTER 100"));
        // A reader that comes later gets the line written before it came.
        let mut r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .expect("reader");
        let mut got = [0u8; 64];
        let n = r.read(&mut got).expect("read");
        assert_eq!(&got[..n], b"INSTANCE \"VI_1\" MASTER 100\n");
        // Nobody reads: the pipe fills (64 KiB by default) and further lines are dropped.
        let line = "x".repeat(1000);
        let written = (0..1000).filter(|_| w.write_line(&line)).count();
        assert!(written > 0 && written < 1000, "written {written}");
        assert_eq!(w.dropped(), (1000 - written) as u64);
        assert!(!w.write_line(&"y".repeat(MAX_LINE)));
        w.close();
        assert!(!p.exists(), "a FIFO we created is removed");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_existing_fifo_is_kept_and_a_regular_file_is_refused() {
        let d = dir("keep");
        let p = d.join("f");
        assert!(ensure(&p).expect("mkfifo"));
        FifoWriter::open(&p).expect("open").close();
        assert!(p.exists(), "a FIFO found there stays");
        let f = d.join("plain");
        std::fs::write(&f, b"").expect("file");
        assert!(FifoWriter::open(&f).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
