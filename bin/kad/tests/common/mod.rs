//! The harness shared by the system tests (daemon, checker, VRRP, VM): kad started as root in
//! its own namespaces with private /tmp and /run, helpers to wait, signal and read its files,
//! and (in [`lab`]) the VRRP lab of namespaces joined by a bridge.
#![allow(dead_code)]

pub mod checker;
pub mod lab;
pub mod vm;
pub mod wire;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Panics unless the test runs as root: a system test fails loudly rather than pass without
/// running. Built with `KAD_SYSTEM_TESTS=0`, system tests are marked ignored instead (build.rs
/// sets the `kad_no_system_tests` cfg their `#[cfg_attr(.., ignore)]` reads).
pub fn as_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "system tests run as root (KAD_SYSTEM_TESTS=0 marks them ignored)"
    );
}

/// Runs a shell command and asserts it succeeded.
pub fn sh(cmd: &str) {
    let st = Command::new("sh").args(["-c", cmd]).status().expect("sh");
    assert!(st.success(), "failed: {cmd}");
}

/// Runs a shell command and returns its standard output (whatever its exit status).
pub fn sh_out(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `cond` every 20 ms until it holds and returns how long that took; panics naming
/// `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

/// A kad parent running in its own namespaces.
pub struct Kad {
    /// The `unshare` process that became kad.
    pub proc: Child,
    /// kad's pid.
    pub pid: u32,
    /// The test's work dir (config, log).
    pub dir: PathBuf,
}

pub fn work_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "daemon-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

pub fn signal(pid: u32, sig: i32) {
    // SAFETY: sending a signal to a pid this test started.
    unsafe { libc::kill(pid as i32, sig) };
}

pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Shell commands, run in a new mount namespace, that give it an empty tmpfs on /tmp and on
/// /run while the checkout, its target dir and the test's work dirs stay at their paths even
/// when they live under /tmp or /run (a clone in /tmp): each is opened before the mounts and
/// bound back at its own path through that descriptor after them.
pub fn private_tmp_run() -> String {
    let keep = kept_dirs();
    let mut cmd = String::new();
    for (fd, dir) in (3..).zip(&keep) {
        cmd.push_str(&format!("exec {fd}<{} && ", quote(dir)));
    }
    cmd.push_str("mount -t tmpfs kadtmp /tmp && mount -t tmpfs kadrun /run");
    for (fd, dir) in (3..).zip(&keep) {
        let dir = quote(dir);
        cmd.push_str(&format!(
            " && mkdir -p {dir} && mount --no-canonicalize --bind /proc/self/fd/{fd} {dir} && exec {fd}<&-"
        ));
    }
    cmd
}

/// The directories a test's kad must still see under its private /tmp and /run: the
/// checkout, the kad binary's dir and the tests' work dir, those under /tmp or /run only,
/// none inside another.
fn kept_dirs() -> Vec<PathBuf> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_kad"));
    let mut dirs: Vec<PathBuf> = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        bin.parent().map(Path::to_path_buf).unwrap_or_default(),
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    ]
    .iter()
    .filter_map(|d| d.canonicalize().ok())
    .filter(|d| d.starts_with("/tmp") || d.starts_with("/run"))
    .filter(|d| d != Path::new("/tmp") && d != Path::new("/run"))
    .collect();
    dirs.sort();
    dirs.dedup();
    let all = dirs.clone();
    dirs.retain(|d| !all.iter().any(|o| o != d && d.starts_with(o)));
    dirs
}

/// `path` quoted for sh.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// Namespace set-up before kad starts: private /tmp and /run ([`private_tmp_run`]), loopback
/// up.
pub fn private_dirs() -> String {
    format!("{} && ip link set lo up", private_tmp_run())
}

impl Kad {
    /// Starts kad on `config` and waits until both children are ready.
    pub fn start(config: &str, extra: &[&str]) -> Kad {
        let dir = work_dir();
        std::fs::write(dir.join("kad.conf"), config).expect("config");
        let kad = Kad::spawn_in(dir, &private_dirs(), extra);
        wait_until("both children ready", Duration::from_secs(10), || {
            kad.log().matches(") ready").count() >= 2
        });
        kad
    }

    /// Starts `kad -n -l -D -f DIR/kad.conf EXTRA` in new mount and network namespaces after
    /// the shell commands `setup`; logs go to DIR/kad.log. Does not wait.
    pub fn spawn_in(dir: PathBuf, setup: &str, extra: &[&str]) -> Kad {
        Kad::spawn(dir, &["--mount", "--net"], setup, extra)
    }

    /// Like [`Kad::spawn_in`] with the given `unshare` namespace flags.
    pub fn spawn(dir: PathBuf, namespaces: &[&str], setup: &str, extra: &[&str]) -> Kad {
        let log = std::fs::File::create(dir.join("kad.log")).expect("log");
        let proc = Command::new("unshare")
            .args(namespaces)
            .args(["--", "sh", "-c"])
            .arg(format!("{setup} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_kad"))
            .args(["-n", "-l", "-D", "-f"])
            .arg(dir.join("kad.conf"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start kad");
        let pid = proc.id();
        Kad { proc, pid, dir }
    }

    /// Starts kad on `config` with `extra` beside a syslog sink on a private /dev/log (the sink
    /// writes what it receives to /tmp/syslog.txt inside kad's namespace); kad starts once the
    /// sink's socket exists (waited for up to ~20 s); waits for both children.
    pub fn with_syslog_sink(config: &str, extra: &[&str]) -> Kad {
        let dir = work_dir();
        std::fs::write(dir.join("kad.conf"), config).expect("config");
        let sink = dir.join("sink.py");
        std::fs::write(
            &sink,
            "import socket, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind('/dev/log')\nout = open(sys.argv[1], 'a', buffering=1)\nwhile True:\n    out.write(s.recv(65536).decode(errors='replace') + '\\n')\n",
        )
        .expect("sink");
        let setup = format!(
            "{} && mount -t tmpfs kaddev /dev && mknod -m 666 /dev/null c 1 3 && (python3 {} /tmp/syslog.txt &) && i=0 && while [ ! -S /dev/log ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done",
            private_dirs(),
            sink.display()
        );
        let kad = Kad::spawn_in(dir, &setup, extra);
        wait_until("both children ready", Duration::from_secs(15), || {
            kad.log().matches(") ready").count() >= 2
        });
        kad
    }

    /// Kills the sink of [`Kad::with_syslog_sink`] (it lives in kad's namespace, not its
    /// process group).
    pub fn kill_syslog_sink(&self) {
        let name = self.dir.join("sink.py").to_string_lossy().into_owned();
        for p in std::fs::read_dir("/proc")
            .expect("proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        {
            if std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.contains(&name))
            {
                signal(p, libc::SIGKILL);
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kad.log")).unwrap_or_default()
    }

    /// A path inside kad's mount namespace.
    pub fn path(&self, p: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{p}", self.pid))
    }

    pub fn children(&self) -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", self.pid))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    pub fn child(&self, title: &str) -> Option<u32> {
        self.children()
            .into_iter()
            .find(|&c| comm(c) == title && alive(c))
    }

    pub fn wait_child(&self, title: &str, not: Option<u32>) -> u32 {
        let mut found = 0;
        wait_until(title, Duration::from_secs(15), || match self.child(title) {
            Some(p) if Some(p) != not => {
                found = p;
                true
            }
            _ => false,
        });
        found
    }

    pub fn signal(&self, sig: i32) {
        signal(self.pid, sig);
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.proc.try_wait() {
                return st.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Kad {
    fn drop(&mut self) {
        let kids = self.children();
        signal(self.pid, libc::SIGKILL);
        for k in kids {
            signal(k, libc::SIGKILL);
        }
        let _ = self.proc.wait();
    }
}

/// A TCP server on 127.0.0.1 handling each connection in a thread; stopping it closes the
/// port (connects are refused), and it can be started again on the same port.
pub struct Server {
    /// The port it listens on.
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub type Handler = Arc<dyn Fn(TcpStream) + Send + Sync>;

impl Server {
    pub fn start(port: u16, handler: Handler) -> Server {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let h = handler.clone();
                        std::thread::spawn(move || h(s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn accept_only() -> Handler {
    Arc::new(|_s| {})
}
