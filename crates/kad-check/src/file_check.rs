//! FILE_CHECK: reads the number in a `track_file`'s file at each check.
//!
//! kad's rule (keepalived watches the file with inotify; kad reads it every `delay_loop`):
//! the value is multiplied by the checker's `weight` (else the track_file's), negated with
//! `reverse`. With a multiplier of 0, value 0 is up and anything else down. Otherwise a
//! `dynamic` checker is up and adds the product to the real server's weight; a plain one is up
//! while the product is not negative. A missing or unreadable file is down.

use kad_core::config::model::{CheckKind, Config, TrackFile};

use crate::health::Verdict;

/// Judges one value read from the file.
pub fn judge(value: i64, multiplier: i64, reverse: bool, dynamic: bool) -> Verdict {
    if multiplier == 0 {
        return if value == 0 {
            Verdict::up("value 0")
        } else {
            Verdict::down(format!("value {value}"))
        };
    }
    let product = value.saturating_mul(multiplier) * if reverse { -1 } else { 1 };
    if dynamic {
        return Verdict {
            ok: true,
            reason: format!("value {value}: weight {product:+}").into(),
            weight_delta: Some(product),
        };
    }
    if product < 0 {
        Verdict::down(format!("value {value}"))
    } else {
        Verdict::up(format!("value {value}"))
    }
}

/// The most read from a track file: the number is its first word.
const READ_LIMIT: u64 = 4096;

/// Reads the first number of a track file: opened without following a symbolic link and
/// without blocking (a FIFO or device never hangs the checker: anything but a regular file
/// is refused), at most [`READ_LIMIT`] bytes.
fn read(t: &TrackFile) -> Result<i64, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| format!("{}: {e}", t.file);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&t.file)
        .map_err(fail)?;
    if !file.metadata().map_err(fail)?.is_file() {
        return Err(format!("{}: not a regular file", t.file));
    }
    let mut bytes = Vec::new();
    file.take(READ_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    let text = String::from_utf8_lossy(&bytes);
    let first = text.split_whitespace().next().unwrap_or("0");
    first
        .parse::<i64>()
        .map_err(|_| format!("{}: not a number: {first:.20}", t.file))
}

/// The result of a FILE_CHECK now (reads its track file).
pub fn verdict(config: &Config, kind: &CheckKind) -> Verdict {
    judge_read(config, kind, read)
}

/// The result of a FILE_CHECK whose track file holds `value` (pure: replay tests use it).
pub fn verdict_for_value(config: &Config, kind: &CheckKind, value: i64) -> Verdict {
    judge_read(config, kind, |_| Ok(value))
}

fn judge_read(
    config: &Config,
    kind: &CheckKind,
    read: impl FnOnce(&TrackFile) -> Result<i64, String>,
) -> Verdict {
    let CheckKind::File {
        track_file,
        dynamic,
        weight,
        reverse,
    } = kind
    else {
        return Verdict::down("not a FILE_CHECK");
    };
    let Some(t) = config.track_files.iter().find(|t| *t.name == **track_file) else {
        return Verdict::down(format!("no track_file named {track_file}"));
    };
    match read(t) {
        Ok(v) => judge(
            v,
            weight.unwrap_or(t.weight),
            *reverse || t.reverse,
            *dynamic,
        ),
        Err(e) => Verdict::down(e),
    }
}

/// Writes each `init_file` value (where the file is missing, or always with `overwrite`).
/// Never through a symbolic link, never into anything but a regular file, never blocking.
pub fn init_files(config: &Config) {
    for t in &config.track_files {
        if let Some((value, overwrite)) = t.init {
            if let Err(e) = write_init(&t.file, value, overwrite) {
                log::error!("track_file {}: cannot write {}: {e}", t.name, t.file);
            }
        }
    }
}

fn write_init(path: &str, value: i64, overwrite: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut open = std::fs::OpenOptions::new();
    open.write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .mode(0o644);
    if overwrite {
        open.create(true);
    } else {
        // Only where it is missing: created atomically, an existing file is left alone.
        open.create_new(true);
    }
    let mut file = match open.open(path) {
        Err(e) if !overwrite && e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        other => other?,
    };
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    file.set_len(0)?;
    file.write_all(format!("{value}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_states_and_weights() {
        assert!(judge(0, 0, false, false).ok);
        assert!(!judge(3, 0, false, false).ok);
        assert!(judge(3, 2, false, false).ok);
        assert!(!judge(3, 2, true, false).ok);
        assert_eq!(judge(3, 2, false, true).weight_delta, Some(6));
        assert_eq!(judge(3, 2, true, true).weight_delta, Some(-6));
    }

    fn track(file: &std::path::Path) -> TrackFile {
        TrackFile {
            name: "t".into(),
            file: file.display().to_string(),
            weight: 1,
            reverse: false,
            init: None,
        }
    }

    #[test]
    fn a_fifo_a_link_or_a_huge_file_never_hangs_or_is_followed() {
        let dir = std::env::temp_dir().join(format!("kad-track-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let real = dir.join("real");
        std::fs::write(&real, "7\n").expect("write");
        assert_eq!(read(&track(&real)), Ok(7));
        // A FIFO with no writer: opening it for reading would block without O_NONBLOCK.
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.display().to_string()).expect("path");
        // SAFETY: mkfifo reads a NUL-terminated path that we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read(&track(&fifo)).is_err_and(|e| e.contains("not a regular file")));
        let link = dir.join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        assert!(
            read(&track(&link)).is_err(),
            "a symbolic link is not followed"
        );
        let big = dir.join("big");
        std::fs::write(&big, format!("5{}", " ".repeat(1 << 20))).expect("write");
        assert_eq!(read(&track(&big)), Ok(5));
        // init_file: not through a link, not into a FIFO; a missing file is created.
        let target = dir.join("target");
        std::fs::write(&target, "1\n").expect("write");
        let trap = dir.join("trap");
        std::os::unix::fs::symlink(&target, &trap).expect("symlink");
        assert!(write_init(&trap.display().to_string(), 9, true).is_err());
        assert!(write_init(&trap.display().to_string(), 9, false).is_ok());
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "1\n");
        assert!(write_init(&fifo.display().to_string(), 9, true).is_err());
        let fresh = dir.join("fresh");
        write_init(&fresh.display().to_string(), 3, false).expect("create");
        write_init(&fresh.display().to_string(), 4, false).expect("left alone");
        assert_eq!(std::fs::read_to_string(&fresh).expect("read"), "3\n");
        write_init(&fresh.display().to_string(), 42, true).expect("overwrite");
        assert_eq!(std::fs::read_to_string(&fresh).expect("read"), "42\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
