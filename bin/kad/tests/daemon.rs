//! The daemon as root, each test in its own mount and network namespace (private /tmp and
//! /run, so dump files and pidfiles of parallel tests never meet). Files inside are read
//! through /proc/PID/root. Ignored (not passed) when built with KAD_SYSTEM_TESTS=0.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const CONFIG: &str = "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\nvirtual_server 192.0.2.100 80 {\n    protocol TCP\n    real_server 198.51.100.1 80 {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n";

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn three_processes_with_titles_pidfiles_and_capabilities() {
    as_root();
    let kad = Kad::start(CONFIG, &[]);
    assert_eq!(comm(kad.pid), "kad");
    let vrrp = kad.wait_child("kad: vrrp", None);
    let checker = kad.wait_child("kad: checker", None);
    let pidfile = |name: &str| -> u32 {
        let mut v = 0;
        wait_until(name, Duration::from_secs(5), || {
            v = std::fs::read_to_string(kad.path(&format!("/run/{name}")))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            v != 0
        });
        v
    };
    assert_eq!(pidfile("kad.pid"), kad.pid);
    assert_eq!(pidfile("kad_vrrp.pid"), vrrp);
    assert_eq!(pidfile("kad_checker.pid"), checker);
    let caps = |pid: u32| -> (String, String, String) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        (field("CapEff:"), field("CapPrm:"), field("CapBnd:"))
    };
    // NET_ADMIN (12) + NET_RAW (13); the checker also SETUID (7), SETGID (6), KILL (5) but
    // holds NET_RAW only with a PING_CHECK (it stays in its bounding set, for scripts).
    let v = "0000000000003000".to_string();
    let c = "00000000000010e0".to_string();
    let bounding = "00000000000030e0".to_string();
    assert_eq!(caps(vrrp), (v.clone(), v.clone(), v));
    assert_eq!(caps(checker), (c.clone(), c, bounding));
    let log = kad.log();
    assert!(
        log.contains(&format!("kad_vrrp[{vrrp}]: VRRP child started")),
        "{log}"
    );
    assert!(
        log.contains(&format!("kad_checker[{checker}]: checker child started")),
        "{log}"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn killed_children_are_respawned_within_a_second() {
    as_root();
    let kad = Kad::start(CONFIG, &[]);
    for title in ["kad: vrrp", "kad: checker"] {
        let old = kad.wait_child(title, None);
        let t0 = Instant::now();
        signal(old, libc::SIGKILL);
        let new = kad.wait_child(title, Some(old));
        let took = t0.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{title} came back after {took:?}"
        );
        let log = kad.log();
        assert!(
            log.contains(&format!("(pid {old}) killed by signal 9")),
            "{log}"
        );
        wait_until("ready line", Duration::from_secs(2), || {
            kad.log().contains(&format!("(pid {new}) ready"))
        });
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_second_quick_death_waits_one_second_like_keepalived() {
    as_root();
    let kad = Kad::start(CONFIG, &[]);
    let first = kad.wait_child("kad: vrrp", None);
    signal(first, libc::SIGKILL);
    let second = kad.wait_child("kad: vrrp", Some(first));
    let t0 = Instant::now();
    signal(second, libc::SIGKILL);
    let third = kad.wait_child("kad: vrrp", Some(second));
    let took = t0.elapsed();
    assert!(third != second);
    assert!(
        took >= Duration::from_millis(900),
        "second quick death respawned after {took:?}"
    );
    assert!(kad
        .log()
        .contains("VRRP child died young; respawning in 1 s"));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn children_exit_when_the_parent_is_killed() {
    as_root();
    let mut kad = Kad::start(CONFIG, &[]);
    let kids = [
        kad.wait_child("kad: vrrp", None),
        kad.wait_child("kad: checker", None),
    ];
    kad.signal(libc::SIGKILL);
    assert!(
        kad.wait_exit(Duration::from_secs(5)).is_none(),
        "killed, so no exit code"
    );
    wait_until("children gone", Duration::from_secs(5), || {
        kids.iter().all(|&k| !alive(k))
    });
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn sighup_applies_a_valid_config_and_keeps_the_old_one_on_errors() {
    as_root();
    let kad = Kad::start(CONFIG, &[]);
    let kids = [
        kad.wait_child("kad: vrrp", None),
        kad.wait_child("kad: checker", None),
    ];
    let with_vi2 = format!("{CONFIG}vrrp_instance VI_2 {{\n interface lo\n virtual_router_id 52\n virtual_ipaddress {{\n  192.0.2.101/24\n }}\n}}\n");
    std::fs::write(kad.dir.join("kad.conf"), &with_vi2).expect("rewrite");
    kad.signal(libc::SIGHUP);
    wait_until("reload applied by both", Duration::from_secs(5), || {
        kad.log().matches("applied the new configuration").count() >= 2
    });
    let data = kad.path("/tmp/keepalived.data");
    kad.signal(libc::SIGUSR1);
    wait_until("dump with VI_2", Duration::from_secs(5), || {
        std::fs::read_to_string(&data).is_ok_and(|d| d.contains("VRRP Instance = VI_2"))
    });
    // A broken file: one clear line with FILE:LINE, nothing restarts, VI_2 stays.
    std::fs::write(
        kad.dir.join("kad.conf"),
        "vrrp_instance VI_3 {\n interface lo\n virtual_router_id 300\n}\n",
    )
    .expect("break");
    let _ = std::fs::remove_file(&data);
    kad.signal(libc::SIGHUP);
    let conf = kad.dir.join("kad.conf");
    wait_until("refusal logged", Duration::from_secs(5), || {
        kad.log().contains(&format!(
            "reload refused, the running configuration stays: 1 error(s); first: {}:3:20: error:",
            conf.display()
        ))
    });
    kad.signal(libc::SIGUSR1);
    wait_until("dump after refused reload", Duration::from_secs(5), || {
        std::fs::read_to_string(&data)
            .is_ok_and(|d| d.contains("VRRP Instance = VI_2") && !d.contains("VI_3"))
    });
    assert_eq!(
        kids,
        [
            kad.wait_child("kad: vrrp", None),
            kad.wait_child("kad: checker", None)
        ],
        "nothing restarted"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn dumps_are_written_and_never_follow_a_planted_symlink() {
    as_root();
    let kad = Kad::start(CONFIG, &[]);
    let victim = kad.path("/tmp/victim");
    std::fs::write(&victim, "precious").expect("victim");
    for name in [
        "keepalived.data",
        "keepalived_check.data",
        "keepalived.stats",
        "keepalived.json",
    ] {
        std::os::unix::fs::symlink("/tmp/victim", kad.path(&format!("/tmp/{name}")))
            .expect("plant");
    }
    kad.signal(libc::SIGUSR1);
    kad.signal(libc::SIGUSR2);
    kad.signal(libc::SIGRTMIN() + 2);
    for name in [
        "keepalived.data",
        "keepalived_check.data",
        "keepalived.stats",
        "keepalived.json",
    ] {
        let p = kad.path(&format!("/tmp/{name}"));
        wait_until(name, Duration::from_secs(5), || {
            std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_file())
        });
    }
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious"
    );
    let data = std::fs::read_to_string(kad.path("/tmp/keepalived.data")).expect("data");
    assert!(
        data.starts_with("------< Global definitions >------\n"),
        "{data}"
    );
    assert!(
        data.contains("------< VRRP Topology >------\n VRRP Instance = VI_1\n"),
        "{data}"
    );
    assert!(data.contains("   Virtual Router ID = 51\n"), "{data}");
    let check = std::fs::read_to_string(kad.path("/tmp/keepalived_check.data")).expect("check");
    assert!(check.contains(" VS = 192.0.2.100:80\n"), "{check}");
    assert!(
        check.contains("     RS = 198.51.100.1:80, weight = 1\n"),
        "{check}"
    );
    let stats = std::fs::read_to_string(kad.path("/tmp/keepalived.stats")).expect("stats");
    assert!(
        stats.starts_with("VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n"),
        "{stats}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(kad.path("/tmp/keepalived.json")).expect("json"),
    )
    .expect("valid JSON");
    assert_eq!(json[0]["data"]["iname"], "VI_1");
    assert_eq!(json[0]["data"]["vrid"], 51);
    assert_eq!(json[0]["stats"]["advert_sent"], 0);
    // keepalived's counters and kad's split_brain side by side, flat as keepalived writes them.
    assert_eq!(json[0]["stats"]["pri_zero_sent"], 0);
    assert_eq!(json[0]["stats"]["split_brain"], 0);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn sigterm_stops_everything_cleanly() {
    as_root();
    let mut kad = Kad::start(CONFIG, &[]);
    let kids = [
        kad.wait_child("kad: vrrp", None),
        kad.wait_child("kad: checker", None),
    ];
    let run = kad.path("/run");
    assert!(std::fs::read_dir(&run).expect("run").count() >= 3);
    let run_fd = std::fs::File::open(&run).expect("hold /run of the namespace");
    kad.signal(libc::SIGTERM);
    assert_eq!(kad.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(kids.iter().all(|&k| !alive(k)));
    let log = kad.log();
    assert!(
        !log.contains("killed by signal"),
        "children were killed instead of stopping:\n{log}"
    );
    assert!(log.contains("kad stopped (exit status 0)"));
    drop(run_fd);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_second_kad_refuses_to_start_beside_a_live_one() {
    as_root();
    let kad = Kad::start(CONFIG, &[]);
    let out = Command::new("nsenter")
        .args(["-t", &kad.pid.to_string(), "-m", "-n", "--"])
        .arg(env!("CARGO_BIN_EXE_kad"))
        .args(["-n", "-f"])
        .arg(kad.dir.join("kad.conf"))
        .output()
        .expect("run second kad");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("already running with pid {}", kad.pid)),
        "{err}"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn chaos_of_two_hundred_child_kills() {
    as_root();
    let kad = Kad::start(CONFIG, &["--respawn-window", "0"]);
    kad.wait_child("kad: vrrp", None);
    kad.wait_child("kad: checker", None);
    std::thread::sleep(Duration::from_millis(200));
    let fds_before = kad.fd_count();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut killed = std::collections::BTreeSet::new();
    while killed.len() < 200 {
        let kills = killed.len();
        assert!(Instant::now() < deadline, "only {kills} kills in 60 s");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let title = if seed.is_multiple_of(2) {
            "kad: vrrp"
        } else {
            "kad: checker"
        };
        // A pid stays visible until the kernel makes it a zombie: kill each pid once.
        if let Some(pid) = kad.child(title).filter(|p| !killed.contains(p)) {
            signal(pid, libc::SIGKILL);
            killed.insert(pid);
        }
        std::thread::sleep(Duration::from_millis(seed % 20));
    }
    assert!(alive(kad.pid), "the parent died");
    wait_until(
        "every killed pid reaped and logged",
        Duration::from_secs(10),
        || {
            let log = kad.log();
            killed
                .iter()
                .all(|pid| log.contains(&format!("(pid {pid}) killed by signal 9")))
        },
    );
    let vrrp = kad.wait_child("kad: vrrp", None);
    let checker = kad.wait_child("kad: checker", None);
    wait_until("settled", Duration::from_secs(10), || {
        let kids = kad.children();
        kids.len() == 2 && kids.iter().all(|&k| alive(k))
    });
    assert!(kad.children().contains(&vrrp) && kad.children().contains(&checker));
    wait_until("no fd growth", Duration::from_secs(5), || {
        kad.fd_count() == fds_before
    });

    let zombies: Vec<u32> = kad.children().into_iter().filter(|&k| !alive(k)).collect();
    assert!(zombies.is_empty(), "zombies: {zombies:?}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn without_dash_n_kad_detaches_into_its_own_session() {
    as_root();
    let dir = work_dir();
    let conf = dir.join("kad.conf");
    std::fs::write(&conf, CONFIG).expect("config");
    let pidfile = dir.join("parent.pid");
    let status = Command::new("unshare")
        .args(["--mount", "--net", "--", "sh", "-c"])
        .arg(format!("{} && exec \"$0\" \"$@\"", private_tmp_run()))
        .arg(env!("CARGO_BIN_EXE_kad"))
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(&pidfile)
        .status()
        .expect("run kad");
    assert!(
        status.success(),
        "the foreground process exits 0 once detached"
    );
    let mut pid = 0u32;
    wait_until("daemon pidfile", Duration::from_secs(5), || {
        pid = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        pid != 0 && alive(pid)
    });
    assert_eq!(comm(pid), "kad");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat.rsplit_once(") ").expect("stat").1.split(' ').collect();
    assert_eq!(fields[3], pid.to_string(), "session leader (setsid)");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).expect("cwd"),
        PathBuf::from("/")
    );
    for fd in 0..3 {
        assert_eq!(
            std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).expect("fd"),
            PathBuf::from("/dev/null")
        );
    }
    signal(pid, libc::SIGTERM);
    wait_until("daemon gone", Duration::from_secs(10), || !alive(pid));
    assert!(!pidfile.exists(), "pidfile removed on stop");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_stale_pidfile_is_replaced() {
    as_root();
    let dir = work_dir();
    let pidfile = dir.join("stale.pid");
    // A pid that is not a live kad: our own test process is not called kad*.
    std::fs::write(&pidfile, format!("{}\n", std::process::id())).expect("stale pidfile");
    let kad = Kad::start(CONFIG, &["-p", pidfile.to_str().expect("utf8")]);
    wait_until("pidfile rewritten", Duration::from_secs(5), || {
        std::fs::read_to_string(&pidfile).is_ok_and(|s| s.trim() == kad.pid.to_string())
    });
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn dash_p_and_dash_c_run_one_child() {
    as_root();
    for (flag, only, absent) in [
        ("-P", "kad: vrrp", "kad: checker"),
        ("-C", "kad: checker", "kad: vrrp"),
    ] {
        let dir = work_dir();
        std::fs::write(dir.join("kad.conf"), CONFIG).expect("config");
        let kad = Kad::spawn_in(dir, &private_dirs(), &[flag]);
        kad.wait_child(only, None);
        wait_until("ready", Duration::from_secs(5), || {
            kad.log().contains(") ready")
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(kad.child(absent).is_none(), "{flag} started {absent}");
        assert_eq!(kad.children().len(), 1);
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn dash_r_stops_kad_when_a_child_dies() {
    as_root();
    let mut kad = Kad::start(CONFIG, &["-R"]);
    let vrrp = kad.wait_child("kad: vrrp", None);
    signal(vrrp, libc::SIGKILL);
    assert_eq!(kad.wait_exit(Duration::from_secs(10)), Some(1));
    assert!(kad
        .log()
        .contains("VRRP child died and -R forbids respawning; stopping"));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn syslog_lines_carry_the_facility_and_per_process_tags() {
    as_root();
    // A private /dev (with its own null) so /dev/log is ours; -S 3 selects local3.
    let kad = Kad::with_syslog_sink(CONFIG, &["-S", "3"]);
    let vrrp = kad.wait_child("kad: vrrp", None);
    let checker = kad.wait_child("kad: checker", None);
    let log = kad.path("/tmp/syslog.txt");
    // local3 (19) * 8 + info (6) = 158
    wait_until("tagged syslog lines", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("<158>")
            && text.contains(&format!("kad[{}]: kad 0.1.0 starting", kad.pid))
            && text.contains(&format!("kad_vrrp[{vrrp}]: VRRP child started"))
            && text.contains(&format!("kad_checker[{checker}]: checker child started"))
    });
    // The sink is inside the namespace: killing the parent's process group is not enough.
    kad.kill_syslog_sink();
}

/// A field of /proc/PID/status, trimmed ("" when absent).
fn status_field(pid: u32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn the_vrrp_child_runs_under_no_new_privs_and_seccomp_through_a_normal_life() {
    as_root();
    let mut kad = Kad::start(CONFIG, &[]);
    let vrrp = kad.wait_child("kad: vrrp", None);
    let checker = kad.wait_child("kad: checker", None);
    assert_eq!(status_field(vrrp, "NoNewPrivs:"), "1");
    assert_eq!(status_field(vrrp, "Seccomp:"), "2", "filter mode");
    assert_eq!(
        status_field(checker, "Seccomp:"),
        "0",
        "the checker runs scripts"
    );
    wait_until("VI_1 master", Duration::from_secs(20), || {
        kad.log().contains("(VI_1) Entering MASTER STATE")
    });
    // Every dump, written through the filter.
    kad.signal(libc::SIGUSR1);
    kad.signal(libc::SIGUSR2);
    kad.signal(libc::SIGRTMIN() + 2);
    for name in ["keepalived.data", "keepalived.stats", "keepalived.json"] {
        let p = kad.path(&format!("/tmp/{name}"));
        wait_until(name, Duration::from_secs(15), || p.is_file());
    }
    // A reload that opens new sockets: a second instance on its own VRID.
    let with_vi2 = format!("{CONFIG}vrrp_instance VI_2 {{\n interface lo\n virtual_router_id 52\n virtual_ipaddress {{\n  192.0.2.101/24\n }}\n}}\n");
    std::fs::write(kad.dir.join("kad.conf"), &with_vi2).expect("rewrite");
    kad.signal(libc::SIGHUP);
    wait_until("reload applied by both", Duration::from_secs(15), || {
        kad.log().matches("applied the new configuration").count() >= 2
    });
    wait_until("VI_2 master", Duration::from_secs(20), || {
        kad.log().contains("(VI_2) Entering MASTER STATE")
    });
    let data = kad.path("/tmp/keepalived.data");
    kad.signal(libc::SIGUSR1);
    wait_until("dump with VI_2", Duration::from_secs(15), || {
        std::fs::read_to_string(&data).is_ok_and(|d| d.contains("VRRP Instance = VI_2"))
    });
    assert_eq!(
        kad.child("kad: vrrp"),
        Some(vrrp),
        "the VRRP child never died"
    );
    kad.signal(libc::SIGTERM);
    assert_eq!(kad.wait_exit(Duration::from_secs(10)), Some(0));
    let log = kad.log();
    assert!(!log.contains("killed by"), "{log}");
    assert!(log.contains("kad stopped (exit status 0)"), "{log}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_vrrp_child_dead_of_sigsys_is_logged_as_a_seccomp_kill_and_respawned() {
    as_root();
    let kad = Kad::start(CONFIG, &[]);
    let old = kad.wait_child("kad: vrrp", None);
    // SIGSYS is how the kernel ends a process that breaks its filter (SECCOMP_RET_KILL_PROCESS);
    // the filter itself is proven in daemon::seccomp's unit tests. No core file, please.
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit on our own descendant with a local struct.
    unsafe { libc::prlimit(old as i32, libc::RLIMIT_CORE, &none, std::ptr::null_mut()) };
    signal(old, libc::SIGSYS);
    let new = kad.wait_child("kad: vrrp", Some(old));
    wait_until("the reason logged", Duration::from_secs(15), || {
        kad.log().contains(&format!(
            "VRRP child (pid {old}) killed by seccomp (SIGSYS): a system call outside the VRRP child's allow-list"
        ))
    });
    wait_until("the new child ready", Duration::from_secs(15), || {
        kad.log().contains(&format!("(pid {new}) ready"))
    });
    assert_eq!(status_field(new, "Seccomp:"), "2");
}

const PING: &str = "virtual_server 192.0.2.100 81 {\n    protocol TCP\n    real_server 198.51.100.2 81 {\n        PING_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n";

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn the_checker_holds_cap_net_raw_only_with_a_ping_check() {
    as_root();
    let held = |pid: u32| (status_field(pid, "CapEff:"), status_field(pid, "CapPrm:"));
    let with = (
        "00000000000030e0".to_string(),
        "00000000000030e0".to_string(),
    );
    let without = (
        "00000000000010e0".to_string(),
        "00000000000010e0".to_string(),
    );
    // Started with a PING_CHECK: held from the start.
    let kad = Kad::start(&format!("{CONFIG}{PING}"), &[]);
    let checker = kad.wait_child("kad: checker", None);
    assert_eq!(held(checker), with);
    drop(kad);
    // Started without: dropped; a reload that adds one restarts the checker, which holds it.
    let kad = Kad::start(CONFIG, &[]);
    let old = kad.wait_child("kad: checker", None);
    assert_eq!(held(old), without);
    assert_eq!(status_field(old, "CapBnd:"), "00000000000030e0");
    std::fs::write(kad.dir.join("kad.conf"), format!("{CONFIG}{PING}")).expect("rewrite");
    kad.signal(libc::SIGHUP);
    let new = kad.wait_child("kad: checker", Some(old));
    wait_until("the new checker ready", Duration::from_secs(15), || {
        kad.log()
            .contains(&format!("checker child (pid {new}) ready"))
    });
    assert_eq!(held(new), with);
    assert!(kad
        .log()
        .contains("the new configuration has a PING_CHECK and the checker child does not hold CAP_NET_RAW; restarting it"));
    // The restart is not a death: no backoff, and the VRRP child was not touched.
    assert!(!kad.log().contains("died young"));
}
