//! The few system calls the daemon needs that have no safe wrapper here: detaching from the
//! terminal, the process name, the parent-death signal, no_new_privs and dropping
//! capabilities.

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
