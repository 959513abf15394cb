//! Which scripts run, and as whom, with `-P`, `-C` and the default script user (keepalived
//! 2.2.7's behaviour, docs/reference/keepalived-2.2.7.md sections 3 and 4). As root in the
//! test's own namespaces (192.0.2.0/24); ignored when built with KAD_SYSTEM_TESTS=0.
//! No system user is created or deleted here: the default is tested where no
//! `keepalived_script` user exists (else its uid is expected), and `script_user nobody`.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::lab::*;
use common::*;

/// A script that appends `uid` to `out` and exits with `status`.
fn uid_script(lab: &Lab, name: &str, status: i32) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let out = lab.dir.join(format!("{name}.out"));
    std::fs::write(&out, "").expect("out");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let script = lab.dir.join(format!("{name}.sh"));
    std::fs::write(
        &script,
        format!("#!/bin/sh\nid -u >> {}\nexit {status}\n", out.display()),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (out, script)
}

/// A config tracking `script` (weight 0: a failure means FAULT), with `global` lines.
fn tracked(global: &str, script: &std::path::Path) -> String {
    format!(
        "global_defs {{\n{global}\n}}\nvrrp_script chk {{\n    script \"{}\"\n    interval 1\n}}\n{}",
        script.display(),
        instance(150, "    track_script {\n        chk\n    }\n")
    )
}

/// The uid scripts run as by default: keepalived_script's where it exists, else root.
fn default_uid() -> String {
    sh_out("id -u keepalived_script 2>/dev/null || echo 0")
        .trim()
        .to_string()
}

fn lines(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn with_minus_p_a_failing_tracked_script_means_fault() {
    as_root();
    let lab = Lab::up();
    let (out, script) = uid_script(&lab, "fail", 1);
    let conf = lab.config("n1.conf", &tracked("", &script));
    let n1 = lab.kad_with("1", &conf, &["-P"]);
    wait_until("the script ran", Duration::from_secs(10), || {
        !lines(&out).is_empty()
    });
    wait_until("FAULT", Duration::from_secs(10), || {
        n1.log().contains("(VI_1) Entering FAULT STATE")
    });
    // Past the master-down time (3.6 s) it never took the VIP.
    wait_until("3 more script runs", Duration::from_secs(20), || {
        lines(&out).len() >= 4
    });
    assert!(!lab.has_vip("1"), "{}", n1.log());
    let log = n1.log();
    assert!(!log.contains("Entering MASTER STATE"), "{log}");
    assert!(log.contains("script-only mode (-P)"), "{log}");
    // Run as keepalived's default user.
    let uid = default_uid();
    assert!(lines(&out).iter().all(|l| *l == uid), "{:?}", lines(&out));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn with_minus_p_a_succeeding_script_runs_as_script_user_and_the_node_is_master() {
    as_root();
    let lab = Lab::up();
    let (out, script) = uid_script(&lab, "ok", 0);
    let conf = lab.config("n1.conf", &tracked("    script_user nobody", &script));
    let n1 = lab.kad_with("1", &conf, &["-P"]);
    lab.wait_master("1", Duration::from_secs(10));
    wait_until("two script runs", Duration::from_secs(10), || {
        lines(&out).len() >= 2
    });
    let nobody = sh_out("id -u nobody").trim().to_string();
    assert!(
        lines(&out).iter().all(|l| *l == nobody),
        "{:?}",
        lines(&out)
    );
    let log = n1.log();
    assert!(log.contains("VRRP_Script(chk) succeeded"), "{log}");
    assert!(
        log.contains(
            "warning: SECURITY VIOLATION - scripts are being executed but script_security not enabled."
        ),
        "{log}"
    );
    assert!(!log.contains("does not exist"), "script_user is set: {log}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn with_minus_c_no_vrrp_child_starts_and_no_vrrp_script_runs() {
    as_root();
    let lab = Lab::up();
    let (out, script) = uid_script(&lab, "never", 0);
    let conf = lab.config("n1.conf", &tracked("", &script));
    let n1 = lab.kad_with("1", &conf, &["-C"]);
    wait_until("the checker child", Duration::from_secs(10), || {
        n1.log().contains("checker child (pid")
    });
    // Longer than a VRRP child needs to become master alone (3.6 s) and than 4 script
    // intervals: nothing happens (no VRRP child, no vrrp_script).
    std::thread::sleep(Duration::from_secs(5));
    let log = n1.log();
    assert!(!log.contains("VRRP child"), "{log}");
    assert!(!lab.has_vip("1"), "{log}");
    assert!(lines(&out).is_empty(), "the vrrp_script ran under -C");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn enable_script_security_without_a_default_user_removes_scripts_as_keepalived_does() {
    as_root();
    // Never skipped as a pass: on a machine with a keepalived_script user this case cannot
    // arise, and the test says so by failing.
    assert_eq!(
        default_uid(),
        "0",
        "a keepalived_script user exists here: remove it to run this test"
    );
    let lab = Lab::up();
    // A failing tracked script and a notify script: both removed, so the node becomes MASTER
    // and nothing runs.
    let (out, script) = uid_script(&lab, "removed", 1);
    let text = tracked("    enable_script_security", &script).replace(
        "    track_script",
        &format!("    notify \"{}\"\n    track_script", script.display()),
    );
    let conf = lab.config("n1.conf", &text);
    let t = Command::new(env!("CARGO_BIN_EXE_kad"))
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("kad -t");
    let stderr = String::from_utf8_lossy(&t.stderr);
    let path = conf.display();
    for want in [
        format!("{path}: warning: Unable to set default user keepalived_script for script"),
        format!("{path}: warning: Unable to set default user for vrrp script chk - removing"),
        format!("{path}: warning: (VI_1) track script chk not found, ignoring..."),
        format!(
            "{path}: warning: Failed to set default user for notify script {} - ignoring",
            script.display()
        ),
    ] {
        assert!(stderr.lines().any(|l| l == want), "{want}\n{stderr}");
    }
    assert!(!stderr.contains("does not exist"), "not at -t: {stderr}");
    let n1 = lab.kad("1", &conf);
    lab.wait_master("1", Duration::from_secs(10));
    let log = n1.log();
    assert!(
        log.contains("warning: Script user 'keepalived_script' does not exist"),
        "{log}"
    );
    assert!(lines(&out).is_empty(), "a removed script ran: {log}");
}
