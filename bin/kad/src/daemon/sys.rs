//! The few system calls the daemon needs that have no safe wrapper here: detaching from the
//! terminal, the process name, the parent-death signal, no_new_privs, dropping capabilities
//! and unmapping start-up code ([`release_file_pages`]).

use std::io;

/// Linux capability numbers kad keeps (linux/capability.h).
pub mod cap {
    /// CAP_KILL
    pub const KILL: u32 = 5;
    /// CAP_SETGID
    pub const SETGID: u32 = 6;
    /// CAP_SETUID
    pub const SETUID: u32 = 7;
    /// CAP_NET_ADMIN
    pub const NET_ADMIN: u32 = 12;
    /// CAP_NET_RAW
    pub const NET_RAW: u32 = 13;
}

fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Detaches: fork (the parent exits 0), new session, `/` as cwd, stdio on /dev/null.
/// Must run before any thread or signal handler exists.
pub fn daemonize() -> io::Result<()> {
    // SAFETY: called single-threaded at start-up; the parent side only calls _exit.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        _ => unsafe { libc::_exit(0) },
    }
    // SAFETY: plain system calls on our own process; paths are NUL-terminated literals.
    unsafe {
        check(libc::setsid() as libc::c_long)?;
        check(libc::chdir(c"/".as_ptr()) as libc::c_long)?;
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        check(null as libc::c_long)?;
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        if null > 2 {
            libc::close(null);
        }
    }
    Ok(())
}

/// Raises the hard open-file limit to `want` if it is lower (soft limit unchanged): the
/// children inherit it, and the checker, which no longer holds CAP_SYS_RESOURCE when it knows
/// how many checkers it runs, can then raise its soft limit that far. Needs CAP_SYS_RESOURCE;
/// without it the checker goes as far as the hard limit (a warning says so).
pub fn raise_open_file_ceiling(want: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if hard < want {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, soft, want) {
                log::warn!("cannot raise the open-file ceiling from {hard} to {want}: {e}");
            }
        }
    }
}

/// Sets the name shown in /proc/PID/comm and by `ps -o comm` (15 bytes at most).
pub fn set_process_name(name: &str) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated buffer of at most 16 bytes that we own.
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

/// Asks the kernel to send `sig` to this process when its parent dies.
pub fn set_parent_death_signal(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no memory is passed.
    check(
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) }
            as libc::c_long,
    )
}

/// Sets no_new_privs: no execve can ever raise this process's privileges again (set-user-ID
/// bits and file capabilities are ignored); inherited by every descendant.
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes the value 1; no memory is passed.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } as libc::c_long)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// Keeps only `keep` in the bounding, permitted and effective sets (inheritable emptied).
pub fn keep_only_capabilities(keep: &[u32]) -> io::Result<()> {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40);
    for c in 0..=last {
        if !keep.contains(&c) {
            // SAFETY: PR_CAPBSET_DROP takes a capability number; no memory is passed.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, c as libc::c_ulong, 0, 0, 0) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINVAL) {
                    return Err(e);
                }
            }
        }
    }
    hold_only(keep)
}

/// Sets the effective and permitted sets to `held` (inheritable emptied). Can only narrow
/// what the process holds; the bounding set is left as it is.
pub fn hold_only(held: &[u32]) -> io::Result<()> {
    let mut data = [CapData::default(); 2];
    for &c in held {
        let (word, bit) = ((c / 32) as usize, 1u32 << (c % 32));
        data[word].effective |= bit;
        data[word].permitted |= bit;
    }
    let header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    // SAFETY: capset reads one header and two data structs that we own, laid out as the
    // kernel's _LINUX_CAPABILITY_VERSION_3 expects.
    check(unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) })
}

/// A mapping [`release_file_pages`] may unmap: `start..end` of a private, read-only mapping
/// of a file with no private copy of any page (smaps `Anonymous: 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CleanMapping {
    start: usize,
    end: usize,
}

/// The clean read-only file mappings listed in `smaps` (the text of /proc/self/smaps).
/// Writable, shared, anonymous and special (`[vdso]`, inode 0) mappings are never listed, nor
/// any mapping holding a private page (relocated data, a debugger's breakpoint): unmapping
/// those would lose what was written.
fn clean_mappings(smaps: &str) -> Vec<CleanMapping> {
    let mut out = Vec::new();
    let mut current: Option<CleanMapping> = None;
    for line in smaps.lines() {
        let mut words = line.split_ascii_whitespace();
        let Some(first) = words.next() else { continue };
        if let Some((start, end)) = first.split_once('-') {
            // A mapping's header: "start-end perms offset dev inode [path]".
            let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) else {
                current = None;
                continue;
            };
            let perms = words.next().unwrap_or("");
            let inode = words.nth(2).unwrap_or("0");
            let private_read_only = perms.len() == 4
                && perms.starts_with('r')
                && perms.as_bytes().get(1) == Some(&b'-')
                && perms.ends_with('p');
            current = (private_read_only && inode != "0" && start < end)
                .then_some(CleanMapping { start, end });
        } else if first == "Anonymous:" {
            if let Some(m) = current.take() {
                if words.next() == Some("0") {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// Unmaps the pages of this process's clean read-only file mappings (code and constants of the
/// binary and its shared libraries) and returns how many bytes of address space it covered.
/// The pages stay in the page cache; what runs from now on is faulted back in from there, so
/// code that ran only at start-up (argument and configuration parsing) stops counting in this
/// process's RSS. Each process that execs kad otherwise keeps about 2 MB of the binary and
/// 1.3 MB of libc mapped, most of it brought in by the kernel's fault-around (16 pages per
/// fault), not by use.
pub fn release_file_pages() -> io::Result<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut covered = 0usize;
    for m in clean_mappings(&smaps) {
        let len = m.end.saturating_sub(m.start);
        // SAFETY: MADV_DONTNEED on a private file mapping that is not writable and holds no
        // private page only drops page-table entries; every later access reads the same bytes
        // back from the file. The mapping stays; no pointer into it becomes invalid.
        let rc = unsafe { libc::madvise(m.start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        check(rc as libc::c_long)?;
        covered = covered.saturating_add(len);
    }
    Ok(covered)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0a0000000-55d0a0040000 r--p 00000000 fd:01 1234 /usr/sbin/kad
Rss:                 100 kB
Anonymous:             0 kB
55d0a0040000-55d0a0400000 r-xp 00040000 fd:01 1234 /usr/sbin/kad
Rss:                2000 kB
Anonymous:             0 kB
55d0a0400000-55d0a0480000 r--p 00400000 fd:01 1234 /usr/sbin/kad
Anonymous:            36 kB
55d0a0480000-55d0a0490000 rw-p 00480000 fd:01 1234 /usr/sbin/kad
Anonymous:            64 kB
55d0a0490000-55d0a04a0000 rw-p 00000000 00:00 0 [heap]
Anonymous:            64 kB
7f0000000000-7f0000010000 r-xs 00000000 fd:01 99 /dev/shm/shared
Anonymous:             0 kB
7f0000010000-7f0000020000 rwxp 00000000 fd:01 98 /opt/jit
Anonymous:             0 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
";

    #[test]
    fn only_clean_private_read_only_file_mappings_are_listed() {
        assert_eq!(
            clean_mappings(SMAPS),
            vec![
                CleanMapping {
                    start: 0x55d0a0000000,
                    end: 0x55d0a0040000
                },
                CleanMapping {
                    start: 0x55d0a0040000,
                    end: 0x55d0a0400000
                },
            ]
        );
    }

    #[test]
    fn malformed_smaps_lists_nothing_and_does_not_panic() {
        for text in [
            "",
            "zz-yy r-xp 0 fd:01 1 /x\nAnonymous: 0 kB\n",
            "1-2\nAnonymous: 0\n",
            "Anonymous:\n",
        ] {
            assert!(clean_mappings(text).is_empty(), "{text:?}");
        }
    }

    fn rss_file_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("RssFile:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("RssFile")
    }

    /// On this very process: the binary's and libc's pages leave the RSS, and the code
    /// (this test included) goes on running from the page cache.
    #[test]
    fn releasing_file_pages_shrinks_this_process_and_it_keeps_running() {
        let before = rss_file_kb();
        let covered = release_file_pages().expect("madvise");
        let after = rss_file_kb();
        assert!(covered > 0, "no mapping was released");
        assert!(after < before, "RssFile {before} kB -> {after} kB");
        // Code and constants are read back from the file.
        assert_eq!(format!("{}", 6 * 7), "42");
        assert_eq!(clean_mappings(SMAPS).len(), 2);
    }
}
