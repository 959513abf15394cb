//! What a script, a file or a neighbour must not be able to do to a running director
//! (issue 13), proved on the real daemon as root in its own namespaces: no descriptor of the
//! daemon reaches a script, scripts start with default signals, a reload does not orphan
//! running scripts. Ignored (not passed) when built with KAD_SYSTEM_TESTS=0.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// Writes an executable shell script.
fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p.display().to_string()
}

/// Descriptors of `pid` above stderr that would survive an exec.
fn inheritable_fds(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&fd| fd > 2)
        .filter_map(|fd| {
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?.trim();
            let flags = u32::from_str_radix(flags, 8).ok()?;
            let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
            (flags & libc::O_CLOEXEC as u32 == 0).then(|| format!("{fd} -> {}", target.display()))
        })
        .collect()
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn no_descriptor_of_the_daemon_reaches_a_script_and_scripts_start_with_default_signals() {
    as_root();
    let dir = work_dir();
    let look = script(
        &dir,
        "look.sh",
        &format!(
            "{{ ls -l /proc/$$/fd; grep -E '^Sig(Ign|Blk)' /proc/self/status; }} > {d}/look.tmp\n\
             mv {d}/look.tmp {d}/look.out",
            d = dir.display()
        ),
    );
    let trap = script(
        &dir,
        "trap.sh",
        &format!(
            "trap 'echo trapped >> {d}/trap.out' HUP\nkill -HUP $$\necho end >> {d}/trap.out",
            d = dir.display()
        ),
    );
    let config = format!(
        "global_defs {{\n script_user root\n}}\n\
         vrrp_script look {{\n script {look}\n interval 1\n}}\n\
         vrrp_instance VI_1 {{\n interface lo\n virtual_router_id 51\n advert_int 1\n\
         track_script {{\n  look\n }}\n notify_master {trap}\n\
         virtual_ipaddress {{\n  192.0.2.100/24\n }}\n}}\n"
    );
    std::fs::write(dir.join("kad.conf"), config).expect("config");
    let kad = Kad::spawn_in(dir.clone(), &private_dirs(), &[]);
    wait_until("both children ready", Duration::from_secs(10), || {
        kad.log().matches(") ready").count() >= 2
    });
    let out = dir.join("look.out");
    wait_until("the vrrp_script ran", Duration::from_secs(10), || {
        out.exists()
    });
    let text = std::fs::read_to_string(&out).expect("look.out");
    for line in text.lines().filter(|l| l.contains(" -> ")) {
        let (left, target) = line.split_once(" -> ").expect("arrow");
        let fd: u32 = left
            .split_whitespace()
            .last()
            .and_then(|f| f.parse().ok())
            .expect("fd");
        // Beyond stdio only the shell's own: the script it reads, stdout saved around `>`.
        assert!(
            fd <= 2 || target.ends_with("look.sh") || target == "/dev/null",
            "a vrrp_script inherited fd {fd} -> {target}:\n{text}"
        );
    }
    assert!(text.contains("SigIgn:\t0000000000000000"), "{text}");
    assert!(text.contains("SigBlk:\t0000000000000000"), "{text}");
    let trapped = dir.join("trap.out");
    wait_until("notify_master ran", Duration::from_secs(15), || {
        std::fs::read_to_string(&trapped).is_ok_and(|t| t.contains("end"))
    });
    assert_eq!(
        std::fs::read_to_string(&trapped).expect("trap.out"),
        "trapped\nend\n",
        "a notify script's trap on HUP must run"
    );
    let vrrp = kad.wait_child("kad: vrrp", None);
    let checker = kad.wait_child("kad: checker", None);
    for (who, pid) in [
        ("parent", kad.pid),
        ("VRRP child", vrrp),
        ("checker", checker),
    ] {
        assert_eq!(
            inheritable_fds(pid),
            Vec::<String>::new(),
            "descriptors of the {who} without close-on-exec"
        );
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_reload_hands_running_scripts_over_and_they_are_still_timed_out_and_reaped() {
    as_root();
    let config = "global_defs {\n script_user root\n}\n\
         vrrp_script slow {\n script \"/bin/sleep 60\"\n interval 1\n timeout 8\n}\n\
         vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n\
         track_script {\n  slow\n }\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n";
    let kad = Kad::start(config, &[]);
    let checker = kad.wait_child("kad: checker", None);
    let scripts = || -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{checker}/task/{checker}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    let mut before = vec![];
    wait_until("the slow script runs", Duration::from_secs(10), || {
        before = scripts();
        !before.is_empty()
    });
    kad.signal(libc::SIGHUP);
    wait_until("the reload", Duration::from_secs(10), || {
        kad.log().contains("reloaded")
    });
    // Started before the reload: not killed by it (handed over, still running)...
    let now = scripts();
    assert!(
        before.iter().all(|p| now.contains(p) && alive(*p)),
        "the reload killed or lost a running script: before {before:?}, now {now:?}"
    );
    // ...then killed at its 8 s timeout and reaped by the new runner (no zombie left).
    wait_until("the old script gone", Duration::from_secs(20), || {
        let now = scripts();
        before.iter().all(|p| !now.contains(p))
    });
    assert_eq!(kad.child("kad: checker"), Some(checker), "no respawn");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn at_a_clean_stop_a_slow_notify_stop_runs_to_its_end_then_notify_stop_follows() {
    as_root();
    let dir = work_dir();
    let log = dir.join("stop.log");
    let slow = script(
        &dir,
        "slow.sh",
        &format!(
            "echo stop-start >> {l}\nsleep 1\necho stop-end >> {l}",
            l = log.display()
        ),
    );
    let any = script(&dir, "any.sh", &format!("echo \"$*\" >> {}", log.display()));
    let config = format!(
        "global_defs {{\n script_user root\n}}\n\
         vrrp_instance VI_1 {{\n interface lo\n virtual_router_id 51\n advert_int 1\n\
         notify_stop {slow}\n notify {any}\n virtual_ipaddress {{\n  192.0.2.100/24\n }}\n}}\n"
    );
    let mut kad = Kad::start(&config, &[]);
    wait_until("master", Duration::from_secs(15), || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("INSTANCE VI_1 MASTER"))
    });
    kad.signal(libc::SIGTERM);
    assert_eq!(kad.wait_exit(Duration::from_secs(15)), Some(0));
    wait_until("both stop notifications", Duration::from_secs(15), || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("INSTANCE VI_1 STOP"))
    });
    let text = std::fs::read_to_string(&log).expect("log");
    let at = |l: &str| text.lines().position(|x| x == l);
    assert!(
        at("stop-start") < at("stop-end") && at("stop-end") < at("INSTANCE VI_1 STOP 100"),
        "notify_stop ran to its end, then notify STOP:\n{text}"
    );
}
