//! The script runner on real programs, as root: the user switch, exit codes, timeouts that
//! kill a whole process group, and enable_script_security.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kad_check::script::{check_security, resolve_user, Outcome, RunAs, ScriptError, ScriptRunner};

fn root_tests() -> bool {
    if std::env::var("KAD_SYSTEM_TESTS").as_deref() == Ok("0") {
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "run as root (or KAD_SYSTEM_TESTS=0)"
    );
    true
}

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

fn run_to_end(r: &mut ScriptRunner, limit: Duration) -> Vec<(u32, Outcome)> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    while r.running() > 0 {
        assert!(Instant::now() < deadline, "scripts still running");
        out.extend(r.poll(Instant::now()));
        std::thread::sleep(Duration::from_millis(5));
    }
    out
}

#[test]
fn runs_as_the_script_user_and_reports_exit_codes() {
    if !root_tests() {
        return;
    }
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
    let nobody = resolve_user(Some("nobody"), None).expect("nobody exists");
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
fn a_timeout_kills_the_whole_process_group() {
    if !root_tests() {
        return;
    }
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
fn script_security_refuses_scripts_others_can_change() {
    if !root_tests() {
        return;
    }
    let root = RunAs { uid: 0, gid: 0 };
    let dir = safe_dir("security");
    let ok = script(&dir, "ok.sh", "exit 0", 0o755);
    assert_eq!(check_security(&ok, root), Ok(()));
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
