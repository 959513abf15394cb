//! Writes dump files in world-writable directories (/tmp) safely: the content goes to a new
//! file with an unpredictable name (128 random bits) created with `O_CREAT | O_EXCL |
//! O_NOFOLLOW` beside the target, which is then renamed over the target. A symlink planted at
//! the target is replaced, never followed, and nobody can plant the temporary name in advance.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Atomically replaces `path` with `contents` (mode 0644), never following a symlink.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dump".into());
    let mut attempt = 0u32;
    loop {
        let tmp = dir.join(format!(".{name}.{}.tmp", random_suffix()?));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        match opened {
            Ok(mut f) => {
                let written = f.write_all(contents).and_then(|_| f.sync_all());
                if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, path)) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// 128 bits from the kernel's random source, in hex.
fn random_suffix() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_planted_symlink_without_following_it() {
        let dir = std::env::temp_dir().join(format!("kad-dump-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"precious").expect("victim");
        let target = dir.join("keepalived.data");
        let _ = std::fs::remove_file(&target);
        std::os::unix::fs::symlink(&victim, &target).expect("plant symlink");
        write_atomic(&target, b"dump\n").expect("write");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
        assert!(!std::fs::symlink_metadata(&target)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).expect("dump"), b"dump\n");
        write_atomic(&target, b"again\n").expect("overwrite");
        assert_eq!(std::fs::read(&target).expect("dump"), b"again\n");
    }

    #[test]
    fn temporaries_planted_under_every_name_a_pid_predicts_do_not_stop_a_dump() {
        let dir = std::env::temp_dir().join(format!("kad-dump-plant-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let target = dir.join("keepalived.data");
        // What an attacker knowing the pid could have planted for the old naming scheme.
        for attempt in 0..=16 {
            let name = format!(".keepalived.data.{}.{attempt}.tmp", std::process::id());
            std::os::unix::fs::symlink("/nonexistent", dir.join(name)).expect("plant");
        }
        write_atomic(&target, b"dump\n").expect("write despite the planted names");
        assert_eq!(std::fs::read(&target).expect("dump"), b"dump\n");
        let (a, b) = (
            random_suffix().expect("random"),
            random_suffix().expect("random"),
        );
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
