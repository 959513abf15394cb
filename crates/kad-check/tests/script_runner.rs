//! The script runner on real programs, as root: the user switch, exit codes, timeouts that
//! kill a whole process group, and enable_script_security.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{as_root, run_to_end};
use kad_check::script::{check_security, resolve_user, Outcome, RunAs, ScriptError, ScriptRunner};

/// A root-owned 0755 directory outside /tmp (world-writable dirs are what security refuses).
fn safe_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("scripts-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn script(dir: &std::path::Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn runs_as_the_script_user_and_reports_exit_codes() {
    as_root();
    let dir = safe_dir("user");
    let out = dir.join("uid.out");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
        .expect("let nobody write");
    let s = script(
        &dir,
        "id.sh",
        &format!("id -u > {} ; exit 7", out.display()),
        0o755,
    );
    let nobody = resolve_user(Some("nobody"), None, false).expect("nobody exists");
    let mut r = ScriptRunner::default();
    let pid = r
        .start(
            s.to_str().expect("utf8"),
            nobody,
            Duration::from_secs(10),
            false,
        )
        .expect("start");
    assert_eq!(
        run_to_end(&mut r, Duration::from_secs(10)),
        [(pid, Outcome::Exited(7))]
    );
    let uid: u32 = std::fs::read_to_string(&out)
        .expect("output")
        .trim()
        .parse()
        .expect("uid");
    assert_eq!(uid, nobody.uid);
    assert_ne!(uid, 0);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_timeout_kills_the_whole_process_group() {
    as_root();
    let dir = safe_dir("timeout");
    let pidfile = dir.join("grandchild.pid");
    let s = script(
        &dir,
        "hang.sh",
        &format!("sleep 30 & echo $! > {}; wait", pidfile.display()),
        0o755,
    );
    let mut r = ScriptRunner::default();
    let root = RunAs { uid: 0, gid: 0 };
    let t0 = Instant::now();
    let pid = r
        .start(
            s.to_str().expect("utf8"),
            root,
            Duration::from_millis(300),
            true,
        )
        .expect("start");
    assert_eq!(
        run_to_end(&mut r, Duration::from_secs(10)),
        [(pid, Outcome::TimedOut)]
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
    let grandchild: u32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let gone = std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
            .map_or(true, |s| s.contains(") Z "));
        if gone {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the script's background process survived the timeout"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn script_security_refuses_scripts_others_can_change() {
    as_root();
    let root = RunAs { uid: 0, gid: 0 };
    let dir = safe_dir("security");
    let ok = script(&dir, "ok.sh", "exit 0", 0o755);
    let resolved = std::fs::canonicalize(&ok).expect("canonical");
    assert_eq!(check_security(&ok, root), Ok(resolved.clone()));
    // A link is resolved once; what is returned (and executed) is the file it named.
    let link = dir.join("link.sh");
    std::os::unix::fs::symlink(&ok, &link).expect("symlink");
    assert_eq!(check_security(&link, root), Ok(resolved));
    let world = script(&dir, "world.sh", "exit 0", 0o757);
    assert!(
        matches!(check_security(&world, root), Err(ScriptError::Insecure(m)) if m.contains("writable by everyone"))
    );
    let open_dir = safe_dir("open");
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let inside = script(&open_dir, "inside.sh", "exit 0", 0o755);
    assert!(
        matches!(check_security(&inside, root), Err(ScriptError::Insecure(m)) if m.contains(&open_dir.display().to_string()))
    );
    let mut r = ScriptRunner::default();
    assert!(matches!(
        r.start(
            world.to_str().expect("utf8"),
            root,
            Duration::from_secs(1),
            true
        ),
        Err(ScriptError::Insecure(_))
    ));
    assert_eq!(r.running(), 0);
}

/// The fds of a listing `ls -l /proc/PID/fd` printed: (number, target).
fn listed_fds(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ")?;
            let fd = left.split_whitespace().last()?.parse().ok()?;
            Some((fd, target.to_string()))
        })
        .collect()
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_script_inherits_no_descriptor_and_starts_with_default_signals() {
    as_root();
    let dir = safe_dir("hygiene");
    let out = dir.join("out");
    // What a daemon might leak: a descriptor and a pipe without close-on-exec, ignored
    // signals (kad's children ignore HUP, USR1, USR2) and a blocked one.
    let marker = dir.join("leaked.marker");
    std::fs::write(&marker, "").expect("marker");
    let leaked = std::fs::File::open(&marker).expect("open");
    let mut pipe = [0; 2];
    // SAFETY: pipe writes two descriptors into our array; F_SETFD clears the flag on a
    // descriptor we own; signal/sigprocmask change this test process's own dispositions.
    unsafe {
        assert_eq!(libc::pipe(pipe.as_mut_ptr()), 0);
        libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&leaked), libc::F_SETFD, 0);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGUSR1, libc::SIG_IGN);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let s = script(
        &dir,
        "look.sh",
        &format!(
            "ls -l /proc/$$/fd > {o}\ngrep -E '^Sig(Ign|Blk)' /proc/self/status >> {o}\n\
             trap 'echo trapped >> {o}' HUP\nkill -HUP $$\necho end >> {o}",
            o = out.display()
        ),
        0o755,
    );
    let mut r = ScriptRunner::default();
    let pid = r
        .start(
            s.to_str().expect("utf8"),
            RunAs { uid: 0, gid: 0 },
            Duration::from_secs(10),
            false,
        )
        .expect("start");
    let ended = run_to_end(&mut r, Duration::from_secs(10));
    // SAFETY: restoring this test process's dispositions and mask, closing our pipe.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_DFL);
        libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
    assert_eq!(ended, [(pid, Outcome::Exited(0))]);
    let text = std::fs::read_to_string(&out).expect("output");
    let fds = listed_fds(&text);
    assert!(fds.len() >= 3, "no fd listing in:\n{text}");
    // The shell's own: the script it reads, and stdout saved around the redirection.
    for (fd, target) in &fds {
        assert!(
            *fd <= 2 || target.ends_with("look.sh") || target == "/dev/null",
            "the script inherited fd {fd} -> {target}:\n{text}"
        );
    }
    assert!(text.contains("SigIgn:\t0000000000000000"), "{text}");
    assert!(text.contains("SigBlk:\t0000000000000000"), "{text}");
    assert!(
        text.contains("trapped\nend"),
        "a trap on HUP must run:\n{text}"
    );
    drop(leaked);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn notify_scripts_of_one_instance_run_one_at_a_time_in_order() {
    as_root();
    use kad_check::notify::Notifier;
    use kad_core::state::VrrpState;
    let dir = safe_dir("notify-order");
    let log = dir.join("order.log");
    let _ = std::fs::remove_file(&log);
    // Each script logs its start and end around a pause: run in parallel they interleave.
    let body = |tag: &str| {
        format!(
            "echo {tag}-start >> {l}\nsleep 0.2\necho {tag}-end >> {l}",
            l = log.display()
        )
    };
    let master = script(&dir, "master.sh", &body("master"), 0o755);
    let backup = script(&dir, "backup.sh", &body("backup"), 0o755);
    let other = script(&dir, "other.sh", &body("other"), 0o755);
    let conf = dir.join("kad.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n script_user root\n}}\n\
             vrrp_instance VI_1 {{\n interface lo\n virtual_router_id 1\n\
             notify_master {m}\n notify_backup {b}\n}}\n\
             vrrp_instance VI_2 {{\n interface lo\n virtual_router_id 2\n notify_master {o}\n}}\n",
            m = master.display(),
            b = backup.display(),
            o = other.display()
        ),
    )
    .expect("config");
    let parsed = kad_core::config::parse_file(&conf, &Default::default());
    let config = parsed.config.expect("valid config");
    let mut n = Notifier::default();
    n.on_state(&config, "VI_1", VrrpState::Master, 100);
    n.on_state(&config, "VI_1", VrrpState::Backup, 100);
    n.on_state(&config, "VI_1", VrrpState::Master, 100);
    n.on_state(&config, "VI_2", VrrpState::Master, 100);
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(at) = n.next_deadline() {
        assert!(Instant::now() < deadline, "notify scripts still running");
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        n.on_timer(&config, Instant::now());
    }
    let text = std::fs::read_to_string(&log).expect("log");
    let vi1: Vec<&str> = text.lines().filter(|l| !l.starts_with("other")).collect();
    assert_eq!(
        vi1,
        [
            "master-start",
            "master-end",
            "backup-start",
            "backup-end",
            "master-start",
            "master-end"
        ],
        "{text}"
    );
    // VI_2 does not wait for VI_1: it started before VI_1's queue was done.
    let lines: Vec<&str> = text.lines().collect();
    let other_start = lines.iter().position(|l| *l == "other-start");
    let last = lines.iter().rposition(|l| *l == "master-end");
    assert!(other_start < last, "{text}");
}
