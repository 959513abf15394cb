//! Runs user programs (vrrp_script, notify, MISC_CHECK) for the checker child: as the
//! configured user, in a new session, without the daemon's descriptors, with a timeout that
//! kills the whole process group. Never blocks: [`ScriptRunner::poll`] reaps what finished.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Why a script cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptError {
    /// Empty command line.
    Empty,
    /// The user or group does not exist.
    NoSuchUser(String),
    /// `enable_script_security` refuses it; the message says which path is unsafe.
    Insecure(String),
    /// fork/exec failed.
    Spawn(String),
    /// [`MAX_RUNNING_SCRIPTS`] programs already run; try again later.
    Busy,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Empty => write!(f, "empty script command"),
            ScriptError::NoSuchUser(u) => write!(f, "no such user or group: {u}"),
            ScriptError::Insecure(why) => write!(f, "refused by enable_script_security: {why}"),
            ScriptError::Spawn(e) => write!(f, "cannot start script: {e}"),
            ScriptError::Busy => write!(
                f,
                "{MAX_RUNNING_SCRIPTS} scripts already running; not started this time"
            ),
        }
    }
}

impl std::error::Error for ScriptError {}

/// Splits a command line as keepalived does: unquoted whitespace separates arguments, and
/// single or double quotes group words that contain spaces.
pub fn split_command(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in cmd.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    args.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        args.push(cur);
    }
    args
}

/// A resolved identity to run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Resolves `user [group]`. With no user, keepalived 2.2.7's default: `keepalived_script` if
/// that user exists, else root; with `enable_script_security` (`secure`) root is never a
/// default, so a script with no user of its own is then refused.
pub fn resolve_user(
    user: Option<&str>,
    group: Option<&str>,
    secure: bool,
) -> Result<RunAs, ScriptError> {
    let find = |name: &str| nix::unistd::User::from_name(name).ok().flatten();
    let (uid, user_gid) = match user {
        Some(name) => {
            let u = find(name).ok_or_else(|| ScriptError::NoSuchUser(name.into()))?;
            (u.uid.as_raw(), u.gid.as_raw())
        }
        None => match find(crate::script_user::DEFAULT_SCRIPT_USER) {
            Some(u) => (u.uid.as_raw(), u.gid.as_raw()),
            None if secure => {
                return Err(ScriptError::NoSuchUser(
                    crate::script_user::DEFAULT_SCRIPT_USER.into(),
                ))
            }
            None => (0, 0),
        },
    };
    let gid = match group {
        Some(g) => nix::unistd::Group::from_name(g)
            .ok()
            .flatten()
            .ok_or_else(|| ScriptError::NoSuchUser(g.into()))?
            .gid
            .as_raw(),
        None => user_gid,
    };
    Ok(RunAs { uid, gid })
}

/// `enable_script_security` (keepalived's rule): the program and every directory above it must
/// not be writable by anyone but root (or the user it runs as): not owned by another user, not
/// group-writable by a non-root group, not world-writable (a sticky directory is allowed).
///
/// The program is resolved once (PATH searched, symbolic links followed) and every component of
/// the resolved path is checked with `lstat`: none may be a link (one swapped in after the
/// resolution is refused). Returns the resolved path, which is what must be executed: with
/// every directory above it writable only by root, nobody else can change what it names.
pub fn check_security(program: &Path, run_as: RunAs) -> Result<PathBuf, ScriptError> {
    let resolved = resolve_program(program).ok_or_else(|| {
        ScriptError::Insecure(format!(
            "{} not found (or not executable)",
            program.display()
        ))
    })?;
    let mut path: Option<&Path> = Some(&resolved);
    while let Some(p) = path {
        let meta = std::fs::symlink_metadata(p)
            .map_err(|e| ScriptError::Insecure(format!("{}: {e}", p.display())))?;
        let mode = meta.mode();
        let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
        let why = if meta.file_type().is_symlink() {
            Some("a symbolic link (it changed while being checked)".to_string())
        } else if meta.uid() != 0 && meta.uid() != run_as.uid {
            Some(format!("owned by uid {}", meta.uid()))
        } else if mode & 0o020 != 0 && meta.gid() != 0 {
            Some(format!("writable by group {}", meta.gid()))
        } else if mode & 0o002 != 0 && !sticky_dir {
            Some("writable by everyone".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            return Err(ScriptError::Insecure(format!("{} is {why}", p.display())));
        }
        path = p.parent();
    }
    Ok(resolved)
}

/// The program's full path (PATH searched for a bare name).
fn resolve_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return std::fs::canonicalize(program).ok();
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// Starts a configured script (`argv` already split) as its own user and group, else the
/// global `script_user` / `script_group`, with `enable_script_security` as configured.
pub fn start_configured(
    runner: &mut ScriptRunner,
    global: &kad_core::config::model::GlobalDefs,
    script: &kad_core::config::model::Script,
    argv: &[String],
    timeout: Duration,
) -> Result<u32, ScriptError> {
    let user = script.user.as_deref().or(global.script_user.as_deref());
    let group = script.group.as_deref().or(global.script_group.as_deref());
    let run_as = resolve_user(user, group, global.enable_script_security)?;
    runner.start_argv(argv, run_as, timeout, global.enable_script_security)
}

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Ran past its timeout; its process group was killed.
    TimedOut,
}

/// At most this many user programs run at once in the checker child, all runners together
/// (vrrp_script, MISC_CHECK, notify): past it a start answers [`ScriptError::Busy`] and the
/// caller tries again later, so a flood of slow scripts cannot exhaust the process table.
pub const MAX_RUNNING_SCRIPTS: usize = 256;

/// Scripts running now in this process, all runners together.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

struct Job {
    deadline: Instant,
    timed_out: bool,
}

/// Starts scripts and reaps them without blocking.
#[derive(Default)]
pub struct ScriptRunner {
    jobs: HashMap<u32, Job>,
    last_poll: Option<Instant>,
}

/// Scripts running now in this process (all runners together).
pub fn running_everywhere() -> usize {
    RUNNING.load(Ordering::Relaxed)
}

/// In the forked child, before exec: a new session (the timeout kills the whole group), every
/// descriptor above stderr closed on exec, default signal dispositions and an empty mask.
fn prepare_child() -> std::io::Result<()> {
    // SAFETY: setsid is async-signal-safe and touches only this (forked) process.
    if unsafe { libc::setsid() } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    kad_ipc::hygiene::cloexec_from(3)?;
    kad_ipc::hygiene::reset_signals()
}

impl ScriptRunner {
    /// Starts `command` as `run_as` with a timeout; `secure` applies enable_script_security.
    pub fn start(
        &mut self,
        command: &str,
        run_as: RunAs,
        timeout: Duration,
        secure: bool,
    ) -> Result<u32, ScriptError> {
        self.start_argv(&split_command(command), run_as, timeout, secure)
    }

    /// Like [`ScriptRunner::start`] with the arguments already split.
    pub fn start_argv(
        &mut self,
        argv: &[String],
        run_as: RunAs,
        timeout: Duration,
        secure: bool,
    ) -> Result<u32, ScriptError> {
        let Some(program) = argv.first() else {
            return Err(ScriptError::Empty);
        };
        if RUNNING.load(Ordering::Relaxed) >= MAX_RUNNING_SCRIPTS {
            return Err(ScriptError::Busy);
        }
        // With script security, exactly the path that was checked is executed.
        let exec_path = if secure {
            check_security(Path::new(program), run_as)?
        } else {
            PathBuf::from(program)
        };
        let mut cmd = Command::new(&exec_path);
        cmd.arg0(program)
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .gid(run_as.gid)
            .uid(run_as.uid);
        // SAFETY: prepare_child makes only async-signal-safe system calls and allocates nothing.
        unsafe {
            cmd.pre_exec(prepare_child);
        }
        let child = cmd
            .spawn()
            .map_err(|e| ScriptError::Spawn(format!("{program}: {e}")))?;
        let pid = child.id();
        RUNNING.fetch_add(1, Ordering::Relaxed);
        // The reap timer counts from a fixed instant (never "now" again at every question).
        self.last_poll.get_or_insert_with(Instant::now);
        self.jobs.insert(
            pid,
            Job {
                deadline: Instant::now() + timeout,
                timed_out: false,
            },
        );
        Ok(pid)
    }

    /// Takes over the running scripts of `other` (a runner being replaced on reload): they are
    /// still timed out and reaped here; their pids are unknown to this runner's owner, which
    /// ignores their outcomes.
    pub fn adopt(&mut self, mut other: ScriptRunner) {
        if !other.jobs.is_empty() {
            self.last_poll.get_or_insert_with(Instant::now);
        }
        self.jobs.extend(other.jobs.drain());
    }

    /// The earliest timeout among running scripts.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.jobs
            .values()
            .filter(|j| !j.timed_out)
            .map(|j| j.deadline)
            .min()
    }

    /// While scripts run: when to [`ScriptRunner::poll`] next, `every` after the last poll
    /// (a fixed instant, so a loop waiting for it does reach it).
    pub fn next_reap(&self, every: Duration) -> Option<Instant> {
        if self.jobs.is_empty() {
            return None;
        }
        self.last_poll.map(|t| t + every)
    }

    /// Number of scripts still running.
    pub fn running(&self) -> usize {
        self.jobs.len()
    }

    /// Kills the process groups of scripts past their timeout and reaps every finished one.
    pub fn poll(&mut self, now: Instant) -> Vec<(u32, Outcome)> {
        self.last_poll = Some(now);
        for (&pid, job) in self.jobs.iter_mut() {
            if !job.timed_out && now >= job.deadline {
                job.timed_out = true;
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let mut done = Vec::new();
        for (&pid, job) in &self.jobs {
            use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
            let status = waitpid(
                nix::unistd::Pid::from_raw(pid as i32),
                Some(WaitPidFlag::WNOHANG),
            );
            let ended = match status {
                Ok(WaitStatus::Exited(_, code)) => Some(Outcome::Exited(code)),
                Ok(WaitStatus::Signaled(_, sig, _)) => Some(Outcome::Signaled(sig as i32)),
                // Already reaped by someone else: it is gone all the same.
                Err(nix::errno::Errno::ECHILD) => Some(Outcome::Exited(-1)),
                _ => None,
            };
            if let Some(outcome) = ended {
                let outcome = if job.timed_out {
                    Outcome::TimedOut
                } else {
                    outcome
                };
                done.push((pid, outcome));
            }
        }
        for (pid, _) in &done {
            if self.jobs.remove(pid).is_some() {
                RUNNING.fetch_sub(1, Ordering::Relaxed);
            }
        }
        done
    }
}

impl Drop for ScriptRunner {
    /// A runner dropped with scripts still running (the child is exiting: omega notifiers and
    /// notify_stop were just started) leaves them to finish, as keepalived does; they are
    /// reaped by whoever inherits them. Only the count of running scripts is given back.
    fn drop(&mut self) {
        RUNNING.fetch_sub(self.jobs.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reap_time_is_a_fixed_instant_that_a_loop_reaches() {
        let mut r = ScriptRunner::default();
        assert_eq!(r.next_reap(Duration::from_millis(20)), None);
        let me = RunAs {
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        };
        r.start_argv(&["/bin/true".into()], me, Duration::from_secs(5), false)
            .expect("start");
        let first = r.next_reap(Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(r.next_reap(Duration::from_millis(20)), first);
        let deadline = Instant::now() + Duration::from_secs(10);
        while r.running() > 0 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
            r.poll(Instant::now());
        }
    }

    #[test]
    fn splits_like_keepalived() {
        assert_eq!(split_command("/bin/x a  b"), ["/bin/x", "a", "b"]);
        assert_eq!(split_command("/bin/x 'a b' c"), ["/bin/x", "a b", "c"]);
        assert_eq!(
            split_command("/bin/x \"a 'b'\" ''"),
            ["/bin/x", "a 'b'", ""]
        );
        assert!(split_command("   ").is_empty());
    }
}
