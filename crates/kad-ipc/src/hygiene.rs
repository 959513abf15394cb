//! Descriptor and signal hygiene shared by the parent, the children and the script launcher:
//! no descriptor of the daemon may reach a program it executes, and a program starts with
//! default signal dispositions and an empty signal mask.
//!
//! Every function here makes only async-signal-safe system calls and allocates nothing, so it
//! may run between `fork` and `exec` (in a `pre_exec` closure).

use std::io;

/// `CLOSE_RANGE_CLOEXEC` (linux/close_range.h, Linux 5.11): mark instead of close.
const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

/// Marks every descriptor from `first` up close-on-exec: one `close_range` call, or on an older
/// kernel a `fcntl` per descriptor below the open-file limit (at most 65,536 tried).
pub fn cloexec_from(first: i32) -> io::Result<()> {
    let first = first.max(0) as libc::c_uint;
    // SAFETY: close_range takes two integers and flags; no memory is passed. With
    // CLOSE_RANGE_CLOEXEC it closes nothing, it only sets FD_CLOEXEC.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if !matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) {
        return Err(err);
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one struct that we own.
    let top = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur.min(65_536) as libc::c_uint
    } else {
        1024
    };
    for fd in first..top {
        // SAFETY: F_GETFD/F_SETFD on a number that may or may not be an open descriptor;
        // EBADF for a closed one is ignored.
        unsafe {
            let flags = libc::fcntl(fd as i32, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd as i32, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
    Ok(())
}

/// The kernel's `struct sigaction` for `rt_sigaction` (asm-generic layout, as on x86_64 and
/// aarch64): glibc's wrapper refuses the two signals it reserves (32, 33), the raw call does not.
#[repr(C)]
struct KernelSigaction {
    handler: libc::c_ulong,
    flags: libc::c_ulong,
    restorer: libc::c_ulong,
    mask: u64,
}

/// Restores the default disposition of every signal that can be caught, glibc's reserved
/// ones included (an ignored signal stays ignored across `exec`, a handled one does not), and
/// empties the signal mask.
pub fn reset_signals() -> io::Result<()> {
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL as libc::c_ulong,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads one struct we own (SIG_DFL: no handler, no restorer
        // needed) and writes nothing (null old action); the size is the kernel's sigset.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                std::mem::size_of::<u64>(),
            );
        }
    }
    let empty: u64 = 0;
    // SAFETY: rt_sigprocmask reads one 8-byte set we own and writes nothing.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            std::mem::size_of::<u64>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn cloexec(fd: i32) -> bool {
        // SAFETY: F_GETFD on a descriptor the test owns.
        unsafe { libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC != 0 }
    }

    #[test]
    fn marks_every_descriptor_from_first_up() {
        let a = std::fs::File::open("/dev/null").expect("open");
        let b = std::fs::File::open("/dev/null").expect("open");
        let (lo, hi) = if a.as_raw_fd() < b.as_raw_fd() {
            (a.as_raw_fd(), b.as_raw_fd())
        } else {
            (b.as_raw_fd(), a.as_raw_fd())
        };
        // SAFETY: F_SETFD clearing the flags of descriptors the test owns.
        unsafe {
            libc::fcntl(lo, libc::F_SETFD, 0);
            libc::fcntl(hi, libc::F_SETFD, 0);
        }
        assert!(!cloexec(lo) && !cloexec(hi));
        cloexec_from(hi).expect("close_range");
        assert!(!cloexec(lo), "below `first` stays as it was");
        assert!(cloexec(hi));
        cloexec_from(lo).expect("close_range");
        assert!(cloexec(lo) && cloexec(hi));
    }
}
