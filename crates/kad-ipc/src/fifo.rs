//! Notify FIFOs as keepalived 2.2.7 keeps them: created (mode 0600) if missing, opened
//! read-write and non-blocking (so a write never waits for a reader and never raises
//! SIGPIPE: with no reader, lines wait in the pipe until one comes), removed at the end only
//! if we created them. A line that does not fit in the pipe is dropped and counted; a write
//! never blocks the event loop.
//!
//! A FIFO with an owner (`notify_fifo PATH USER [GROUP]`) is made by the parent, which holds
//! CAP_CHOWN: it creates it 0600, opens it and gives it to the owner ([`FifoWriter::create_owned`]),
//! then passes its descriptor to each child at exec ([`INHERIT_ENV`]); a child, which may not
//! open a FIFO it does not own, takes it over ([`adopt_inherited`]) instead of opening the path.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Longest line written (the pipe's atomic write size, so lines of two writers never mix).
pub const MAX_LINE: usize = 4096;

/// One open notify FIFO.
#[derive(Debug)]
pub struct FifoWriter {
    path: PathBuf,
    file: File,
    created: bool,
    /// Passed by the parent: given back at close, for a later open of the same path.
    inherited: bool,
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

/// The environment variable naming the FIFO descriptors a child inherits: `FD PATH` lines.
pub const INHERIT_ENV: &str = "KAD_NOTIFY_FIFO_FDS";
/// Inherited FIFO descriptors are at or above this number (clear of the IPC descriptor).
pub const MIN_INHERITED_FD: RawFd = 16;

/// FIFOs the parent opened for this child, by path, until a [`FifoWriter::open`] takes each.
static INHERITED: Mutex<Vec<(PathBuf, File)>> = Mutex::new(Vec::new());

/// The `FD PATH` lines of [`INHERIT_ENV`] (a malformed line, or a descriptor below
/// [`MIN_INHERITED_FD`], is left out).
pub fn parse_inherited(text: &str) -> Vec<(RawFd, PathBuf)> {
    text.lines()
        .filter_map(|l| {
            let (fd, path) = l.split_once(' ')?;
            let fd: RawFd = fd.parse().ok()?;
            (fd >= MIN_INHERITED_FD && path.starts_with('/')).then(|| (fd, PathBuf::from(path)))
        })
        .collect()
}

/// The [`INHERIT_ENV`] text for `fifos`.
pub fn encode_inherited<'a>(fifos: impl IntoIterator<Item = &'a FifoWriter>) -> String {
    fifos
        .into_iter()
        .map(|w| format!("{} {}\n", w.file.as_raw_fd(), w.path.display()))
        .collect()
}

/// In a child at start: takes over the FIFO descriptors named by [`INHERIT_ENV`] (each one
/// checked to be an open FIFO first) and removes the variable, so programs run later see
/// neither. Returns how many were taken.
pub fn adopt_inherited() -> usize {
    let Some(text) = std::env::var_os(INHERIT_ENV) else {
        return 0;
    };
    std::env::remove_var(INHERIT_ENV);
    let mut taken = Vec::new();
    for (fd, path) in parse_inherited(&text.to_string_lossy()) {
        // SAFETY: fstat writes one struct that we own; a closed descriptor only fails.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFIFO {
            log::warn!(
                "notify FIFO {}: descriptor {fd} not inherited",
                path.display()
            );
            continue;
        }
        if taken
            .iter()
            .any(|(_, f): &(PathBuf, File)| f.as_raw_fd() == fd)
        {
            continue;
        }
        // Not passed on to the scripts this child runs (the parent cleared it for our exec).
        // SAFETY: F_SETFD on a descriptor checked open above; no memory is passed.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        // SAFETY: the parent left this FIFO open for us at exec and named it here; nothing
        // else in this process owns it (it was checked to be an open FIFO above).
        taken.push((path, unsafe { File::from_raw_fd(fd) }));
    }
    let n = taken.len();
    if let Ok(mut held) = INHERITED.lock() {
        held.extend(taken);
    }
    n
}

/// The inherited FIFO for `path`, if the parent passed one and nobody took it yet.
fn take_inherited(path: &Path) -> Option<File> {
    let mut held = INHERITED.lock().ok()?;
    let i = held.iter().position(|(p, _)| p == path)?;
    Some(held.swap_remove(i).1)
}

impl FifoWriter {
    /// Creates (if missing) and opens the FIFO at `path`, or takes the one the parent passed
    /// for it; anything there but a FIFO is an error (never written to).
    pub fn open(path: &Path) -> io::Result<FifoWriter> {
        if let Some(file) = take_inherited(path) {
            return Ok(FifoWriter {
                path: path.to_path_buf(),
                file,
                created: false,
                inherited: true,
                dropped: 0,
            });
        }
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
            inherited: false,
            dropped: 0,
        })
    }

    /// Parent side of an owned FIFO: opens it as [`FifoWriter::open`] does, gives one that
    /// was created here to `uid`:`gid` (one found there is left as it is, as keepalived
    /// does), and moves the descriptor to [`MIN_INHERITED_FD`] or above for the children.
    pub fn create_owned(path: &Path, uid: u32, gid: u32) -> io::Result<FifoWriter> {
        let mut w = FifoWriter::open(path)?;
        if w.created {
            if let Err(e) = std::os::unix::fs::fchown(&w.file, Some(uid), Some(gid)) {
                w.close();
                return Err(e);
            }
        }
        // SAFETY: F_DUPFD_CLOEXEC takes a descriptor we own and a number; no memory is passed.
        let fd =
            unsafe { libc::fcntl(w.file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, MIN_INHERITED_FD) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            w.close();
            return Err(e);
        }
        // SAFETY: fcntl just returned this new descriptor; nothing else owns it.
        w.file = unsafe { File::from_raw_fd(fd) };
        Ok(w)
    }

    /// The open descriptor (the parent passes it to its children).
    pub fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
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

    /// Closes the FIFO and removes it if this writer created it; one the parent passed is
    /// kept for the next [`FifoWriter::open`] of its path (a child may not reopen it).
    pub fn close(self) {
        if self.inherited {
            if let Ok(mut held) = INHERITED.lock() {
                held.push((self.path, self.file));
            }
        } else if self.created {
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
    fn an_owned_fifo_passes_to_a_child_by_its_descriptor() {
        use std::os::unix::fs::MetadataExt;
        let d = dir("owned");
        let p = d.join("f");
        // SAFETY: getuid/getgid take nothing and cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let parent = FifoWriter::create_owned(&p, uid, gid).expect("create");
        let m = std::fs::metadata(&p).expect("stat");
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o600, uid, gid));
        assert!(parent.raw_fd() >= MIN_INHERITED_FD);
        let env = encode_inherited([&parent]);
        assert_eq!(parse_inherited(&env), [(parent.raw_fd(), p.clone())]);
        // A child takes over that descriptor (here a copy of it) instead of opening the path.
        // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own; no memory is passed.
        let copy = unsafe { libc::fcntl(parent.raw_fd(), libc::F_DUPFD_CLOEXEC, 100) };
        assert!(copy >= 100);
        std::env::set_var(INHERIT_ENV, format!("{copy} {}\n", p.display()));
        // SAFETY: F_SETFD on our own descriptor; no memory is passed.
        unsafe { libc::fcntl(copy, libc::F_SETFD, 0) };
        assert_eq!(adopt_inherited(), 1);
        assert!(std::env::var_os(INHERIT_ENV).is_none());
        // SAFETY: F_GETFD on our own descriptor; no memory is passed.
        let flags = unsafe { libc::fcntl(copy, libc::F_GETFD) };
        assert_eq!(
            flags & libc::FD_CLOEXEC,
            libc::FD_CLOEXEC,
            "scripts do not inherit it"
        );
        let mut child = FifoWriter::open(&p).expect("inherited");
        assert_eq!(child.raw_fd(), copy);
        assert!(child.write_line("INSTANCE \"VI_1\" MASTER 100"));
        child.close();
        assert!(p.exists(), "a child never removes an inherited FIFO");
        // Closed (a reload), then opened again: the same descriptor, not the path.
        let again = FifoWriter::open(&p).expect("inherited again");
        assert_eq!(again.raw_fd(), copy);
        again.close();
        parent.close();
        assert!(!p.exists(), "the parent removes the FIFO it created");
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
