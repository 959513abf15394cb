//! The VRRP child's system-call allow-list (seccomp-BPF, compiled by `seccompiler`).
//!
//! The VRRP child runs no program and starts no thread: it talks VRRP on raw sockets, changes
//! addresses and links over rtnetlink, sends GARP/NA, writes dump files and its pidfile, logs
//! to syslog and the console, and talks to the parent over its socketpair. The list below is
//! what strace saw it call across the VRRP and daemon system tests (start, elections,
//! failover, vmac, IPv6, GARP/NA, dumps, reload, syslog, notify states, shutdown), plus what
//! libc and std may call on rarer paths (allocation, panics and aborts, time, randomness,
//! signal delivery). Anything else kills the whole process (`SECCOMP_RET_KILL_PROCESS`: the
//! parent sees SIGSYS, logs it and respawns the child). A filter built for another
//! architecture, or an x32 system call, is killed too (seccompiler checks the audit arch and
//! compares whole syscall numbers).
//!
//! Arguments are checked only where that is simple and safe: the socket families, netlink
//! only for rtnetlink, `ioctl` only for the interface queries and descriptor flags std and
//! glibc make (no terminal ioctls such as TIOCSTI), and signals only to the child itself.
//! Not in the list, on purpose: `execve`, `fork`/`vfork`/`clone`/`clone3` (no thread is ever
//! started), `ptrace`, `mount`, `setns`/`unshare`, `bpf`, `prctl`, `capset`, `setuid` and
//! friends, `kill` (only `tgkill` to itself, which `abort` needs).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// Set this variable (to anything) in kad's environment to run the VRRP child without its
/// filter, for debugging only; the child logs a warning when it does.
pub const ESCAPE_ENV: &str = "KAD_NO_SECCOMP";

/// System calls allowed with any arguments.
const ANY_ARGS: &[i64] = &[
    // Memory.
    libc::SYS_brk,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_mprotect,
    libc::SYS_madvise,
    // Synchronisation, time, randomness, scheduling.
    libc::SYS_futex,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_gettimeofday,
    libc::SYS_getrandom,
    libc::SYS_sched_yield,
    // Signals (signal-hook's handlers, std's stack-overflow guard, abort).
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_restart_syscall,
    // Process.
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getppid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_uname,
    // A panic's backtrace (RUST_BACKTRACE) resolves paths from the working directory.
    libc::SYS_getcwd,
    // Descriptors and files: dump files, pidfile, /sys/class/net, /proc/sys.
    libc::SYS_read,
    libc::SYS_pread64,
    libc::SYS_write,
    libc::SYS_writev,
    libc::SYS_close,
    libc::SYS_fcntl,
    libc::SYS_dup3,
    libc::SYS_lseek,
    libc::SYS_openat,
    libc::SYS_newfstatat,
    libc::SYS_fstat,
    libc::SYS_statx,
    libc::SYS_fsync,
    libc::SYS_fdatasync,
    libc::SYS_ftruncate,
    libc::SYS_mkdirat,
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_linkat,
    libc::SYS_unlinkat,
    libc::SYS_readlinkat,
    libc::SYS_faccessat,
    // Listing /proc for vrrp_track_process.
    libc::SYS_getdents64,
    // mkfifo of a notify FIFO (a device node would need CAP_MKNOD, which the child lacks).
    libc::SYS_mknodat,
    // Sockets once open: VRRP, AH, GARP/NA, rtnetlink, syslog, the parent's channel.
    libc::SYS_bind,
    libc::SYS_connect,
    libc::SYS_sendto,
    libc::SYS_sendmsg,
    libc::SYS_recvfrom,
    libc::SYS_recvmsg,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_setsockopt,
    libc::SYS_getsockopt,
    libc::SYS_shutdown,
    // The event loop (mio).
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_ppoll,
];

/// The older x86_64 names of some of the calls above (glibc and std still use several).
#[cfg(target_arch = "x86_64")]
const ANY_ARGS_X86_64: &[i64] = &[
    libc::SYS_open,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_access,
    libc::SYS_mkdir,
    libc::SYS_rename,
    libc::SYS_unlink,
    libc::SYS_readlink,
    libc::SYS_mknod,
    libc::SYS_dup2,
    libc::SYS_epoll_wait,
    libc::SYS_poll,
];
#[cfg(not(target_arch = "x86_64"))]
const ANY_ARGS_X86_64: &[i64] = &[];

/// Socket families the VRRP child opens: AF_UNIX (syslog, glibc's interface lookups,
/// signal-hook), AF_INET/AF_INET6 (VRRP protocol 112, AH protocol 51, ICMPv6 for NA),
/// AF_PACKET (GARP). AF_NETLINK is allowed for NETLINK_ROUTE only.
const SOCKET_FAMILIES: &[libc::c_int] = &[
    libc::AF_UNIX,
    libc::AF_INET,
    libc::AF_INET6,
    libc::AF_PACKET,
];

/// `ioctl` requests: glibc's interface name/index lookups, std's and socket2's descriptor
/// flags, the terminal check a logger may make (TCGETS only reads).
const IOCTLS: &[u64] = &[
    libc::SIOCGIFINDEX,
    libc::SIOCGIFNAME,
    libc::SIOCGIFFLAGS,
    libc::SIOCGIFHWADDR,
    libc::SIOCGIFMTU,
    libc::SIOCGIFADDR,
    libc::FIONBIO,
    libc::FIOCLEX,
    libc::FIONCLEX,
    libc::FIONREAD,
    libc::TCGETS,
];

fn arg_eq(index: u8, len: SeccompCmpArgLen, value: u64) -> seccompiler::Result<SeccompCondition> {
    Ok(SeccompCondition::new(index, len, SeccompCmpOp::Eq, value)?)
}

fn rule(conditions: Vec<SeccompCondition>) -> seccompiler::Result<SeccompRule> {
    Ok(SeccompRule::new(conditions)?)
}

/// Builds the VRRP child's filter; `own_pid` is the only process `tgkill` may signal.
pub fn vrrp_filter(own_pid: u32) -> seccompiler::Result<BpfProgram> {
    use SeccompCmpArgLen::Dword;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ANY_ARGS
        .iter()
        .chain(ANY_ARGS_X86_64)
        .map(|&nr| (nr, Vec::new()))
        .collect();
    let mut socket = SOCKET_FAMILIES
        .iter()
        .map(|&f| rule(vec![arg_eq(0, Dword, f as u64)?]))
        .collect::<seccompiler::Result<Vec<_>>>()?;
    socket.push(rule(vec![
        arg_eq(0, Dword, libc::AF_NETLINK as u64)?,
        arg_eq(2, Dword, libc::NETLINK_ROUTE as u64)?,
    ])?);
    rules.insert(libc::SYS_socket, socket);
    rules.insert(
        libc::SYS_socketpair,
        vec![rule(vec![arg_eq(0, Dword, libc::AF_UNIX as u64)?])?],
    );
    let ioctl = IOCTLS
        .iter()
        .map(|&req| rule(vec![arg_eq(1, Dword, req)?]))
        .collect::<seccompiler::Result<Vec<_>>>()?;
    rules.insert(libc::SYS_ioctl, ioctl);
    rules.insert(
        libc::SYS_tgkill,
        vec![rule(vec![arg_eq(0, Dword, own_pid as u64)?])?],
    );
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(seccompiler::Error::Backend)?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        arch,
    )?;
    Ok(filter.try_into()?)
}

/// Sets no_new_privs and installs `program` on the calling (only) thread; from here on a
/// system call outside the list kills the process with SIGSYS.
pub fn install(program: &BpfProgram) -> seccompiler::Result<()> {
    // seccompiler sets PR_SET_NO_NEW_PRIVS itself before SECCOMP_SET_MODE_FILTER.
    seccompiler::apply_filter(program)
}

/// Confines the calling VRRP child: no_new_privs and [`vrrp_filter`], unless [`ESCAPE_ENV`]
/// is set.
pub fn confine_vrrp() -> seccompiler::Result<()> {
    if std::env::var_os(ESCAPE_ENV).is_some() {
        log::warn!(
            "{ESCAPE_ENV} is set: the VRRP child runs WITHOUT its seccomp filter (debugging only)"
        );
        return Ok(());
    }
    install(&vrrp_filter(std::process::id())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forks; the child installs `program` and runs `body` (async-signal-safe calls only), then
    /// exits 0. Returns the raw wait status.
    fn run_confined(program: &BpfProgram, body: fn()) -> libc::c_int {
        // SAFETY: the child only makes raw system calls (setrlimit, prctl, seccomp, those of
        // `body`) and _exit; the program was built before fork, so nothing allocates.
        unsafe {
            match libc::fork() {
                -1 => panic!("fork: {}", std::io::Error::last_os_error()),
                0 => {
                    // A killed child must not leave a core file in the crate directory.
                    let none = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    libc::setrlimit(libc::RLIMIT_CORE, &none);
                    if install(program).is_err() {
                        libc::_exit(99);
                    }
                    body();
                    libc::_exit(0);
                }
                pid => {
                    let mut status = 0;
                    assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
                    status
                }
            }
        }
    }

    fn killed_by_sigsys(status: libc::c_int) -> bool {
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS
    }

    fn program_for_child() -> BpfProgram {
        // The forked child's pid is unknown here: tgkill is checked in its own test.
        vrrp_filter(0).expect("filter builds")
    }

    #[test]
    fn the_vrrp_child_calls_pass() {
        let status = run_confined(&program_for_child(), || unsafe {
            libc::getpid();
            // Whatever the result (EPERM without root), none of these may kill.
            for (family, ty, proto) in [
                (libc::AF_INET, libc::SOCK_RAW, 112),
                (libc::AF_INET, libc::SOCK_RAW, 51),
                (libc::AF_INET6, libc::SOCK_RAW, 112),
                (libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6),
                (libc::AF_PACKET, libc::SOCK_RAW, 0x0608),
                (libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE),
                (libc::AF_UNIX, libc::SOCK_DGRAM, 0),
            ] {
                let fd = libc::socket(family, ty | libc::SOCK_CLOEXEC, proto);
                if fd >= 0 {
                    let mut on: libc::c_int = 1;
                    libc::ioctl(fd, libc::FIONBIO, &mut on);
                    libc::close(fd);
                }
            }
            let mut pair = [0; 2];
            libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, pair.as_mut_ptr());
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
            let mut buf = [0u8; 8];
            libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0);
            let fd = libc::open(c"/proc/self/status".as_ptr(), libc::O_RDONLY);
            libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            libc::close(fd);
            // The settled child gives back its start-up pages (smaps + madvise).
            if crate::daemon::sys::release_file_pages().is_err() {
                libc::_exit(3);
            }
        });
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "status {status:#x}"
        );
    }

    #[test]
    fn forbidden_calls_kill_with_sigsys() {
        let program = program_for_child();
        let calls: [(&str, fn()); 11] = [
            ("execve", || unsafe {
                libc::syscall(libc::SYS_execve, 0, 0, 0);
            }),
            ("ptrace", || unsafe {
                libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0);
            }),
            ("clone (fork)", || unsafe {
                // If this were allowed, the new process would exit at once as well.
                libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0);
            }),
            ("mount", || unsafe {
                libc::syscall(libc::SYS_mount, 0, 0, 0, 0, 0);
            }),
            ("prctl", || unsafe {
                libc::prctl(libc::PR_SET_NAME, c"x".as_ptr(), 0, 0, 0);
            }),
            ("setuid", || unsafe {
                libc::syscall(libc::SYS_setuid, 0);
            }),
            ("kill", || unsafe {
                libc::syscall(libc::SYS_kill, 1, 0);
            }),
            ("tgkill to another process", || unsafe {
                libc::syscall(libc::SYS_tgkill, 1, 1, 0);
            }),
            ("socket(AF_NETLINK, NETLINK_AUDIT)", || unsafe {
                libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_AUDIT);
            }),
            ("socket(AF_BLUETOOTH)", || unsafe {
                libc::socket(libc::AF_BLUETOOTH, libc::SOCK_RAW, 0);
            }),
            ("ioctl(TIOCSTI)", || unsafe {
                let c = b'x';
                libc::ioctl(-1, libc::TIOCSTI, &c);
            }),
        ];
        for (name, call) in calls {
            let status = run_confined(&program, call);
            assert!(killed_by_sigsys(status), "{name}: status {status:#x}");
        }
    }

    #[test]
    fn tgkill_reaches_only_the_child_itself() {
        // abort() raises SIGABRT with tgkill(getpid(), gettid(), SIGABRT): that must stay a
        // SIGABRT, not turn into SIGSYS. Built in the child, so it knows its own pid.
        // SAFETY: as in run_confined, except that the child builds the filter (it allocates;
        // glibc's malloc is made usable in a fork child by its own fork handlers).
        let status = unsafe {
            match libc::fork() {
                -1 => panic!("fork"),
                0 => {
                    let none = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    libc::setrlimit(libc::RLIMIT_CORE, &none);
                    let Ok(program) = vrrp_filter(libc::getpid() as u32) else {
                        libc::_exit(98)
                    };
                    if install(&program).is_err() {
                        libc::_exit(99);
                    }
                    libc::abort();
                }
                pid => {
                    let mut status = 0;
                    libc::waitpid(pid, &mut status, 0);
                    status
                }
            }
        };
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGABRT,
            "status {status:#x}"
        );
    }
}
