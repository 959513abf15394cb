//! keepalived 2.2.7's command line driving kad: the lines real deployments use start kad (or
//! check the configuration) and never draw a usage error; `--signum` prints keepalived's
//! numbers; every signal keepalived handles or ignores leaves a running kad running; `-d`
//! logs the configuration and runs; under the name `keepalived` kad takes keepalived's
//! pidfiles, configuration path and `-v` banner. Daemons run as root in their own mount and
//! network namespaces (private /tmp and /run); ignored (not passed) with KAD_SYSTEM_TESTS=0.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const CONFIG: &str = "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 51\n    advert_int 1\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\nvirtual_server 192.0.2.100 80 {\n    protocol TCP\n    real_server 198.51.100.1 80 {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n";

const KAD: &str = env!("CARGO_BIN_EXE_kad");

/// A work dir holding `kad.conf` and a `keepalived` symlink to the kad binary.
fn work_dir_with_config() -> PathBuf {
    let dir = work_dir();
    std::fs::write(dir.join("kad.conf"), CONFIG).expect("config");
    std::os::unix::fs::symlink(KAD, dir.join("keepalived")).expect("symlink");
    dir
}

/// Starts `program ARGS` (no flags added) in new mount and network namespaces with private
/// /tmp and /run, keepalived's configuration directory bound to `dir` (so the default
/// /etc/keepalived/keepalived.conf is the test's `keepalived.conf`); stderr to DIR/kad.log.
fn spawn_line(dir: &Path, program: &Path, args: &[&str]) -> Kad {
    let log = std::fs::File::create(dir.join("kad.log")).expect("log");
    std::fs::write(dir.join("keepalived.conf"), CONFIG).expect("config");
    let setup = format!(
        "{} && mount --bind '{}' /etc/keepalived",
        private_dirs(),
        dir.display()
    );
    let proc = Command::new("unshare")
        .args(["--mount", "--net", "--", "sh", "-c"])
        .arg(format!("{setup} && exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start kad");
    let pid = proc.id();
    Kad {
        proc,
        pid,
        dir: dir.to_path_buf(),
    }
}

/// The process state letter from /proc/PID/stat (R, S, D, T, Z...), or '?' if gone.
fn state(pid: u32) -> char {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rfind(')')?;
            s.get(after + 2..)?.chars().next()
        })
        .unwrap_or('?')
}

/// Running (not gone, zombie or stopped).
fn running(pid: u32) -> bool {
    matches!(state(pid), 'R' | 'S' | 'D')
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Stops a detached kad by its pid (SIGTERM, then SIGKILL if it outlives a generous wait).
fn stop_detached(pid: u32) {
    signal(pid, libc::SIGTERM);
    let t0 = std::time::Instant::now();
    while alive(pid) && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid) {
        signal(pid, libc::SIGKILL);
    }
}

/// Real command lines (with the files they name moved into the test's dir): each starts a kad
/// that runs. Foreground lines are watched directly; the ones that fork are found through the
/// `-p` pidfile they name.
#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn real_world_command_lines_start_kad() {
    as_root();
    // (who, args with CONF/PID/VPID for paths in the test dir, forks)
    let lines: [(&str, &str, bool); 6] = [
        ("kolla-ansible", "-nld -p /run/keepalived.pid", false),
        (
            "osixia/keepalived",
            "-f CONF --dont-fork --log-console --log-detail --dump-conf",
            false,
        ),
        ("systemd unit", "--dont-fork -D -f CONF", false),
        ("kad's own", "-n -l -D -S local2 -G -u 0022 -f CONF", false),
        ("octavia", "-D -d -f CONF -p PID", true),
        ("neutron l3 agent", "-P -f CONF -p PID -r VPID", true),
    ];
    for (who, line, forks) in lines {
        let dir = work_dir_with_config();
        let pidfile = dir.join("keepalived.pid");
        let line = line
            .replace("CONF", &dir.join("keepalived.conf").display().to_string())
            .replace("VPID", &dir.join("vrrp.pid").display().to_string())
            .replace("PID", &pidfile.display().to_string());
        let args: Vec<&str> = line.split(' ').collect();
        let mut kad = spawn_line(&dir, &dir.join("keepalived"), &args);
        if forks {
            assert_eq!(
                kad.wait_exit(Duration::from_secs(20)),
                Some(0),
                "{who}: `keepalived {line}` did not detach cleanly: {}",
                kad.log()
            );
            let mut pid = 0;
            wait_until(&format!("{who}: pidfile"), Duration::from_secs(15), || {
                pid = read_pid(&pidfile).unwrap_or(0);
                pid != 0 && running(pid)
            });
            // The VRRP child of a daemon started with -P writes the -r pidfile.
            if line.contains("-r ") {
                wait_until(
                    &format!("{who}: -r pidfile"),
                    Duration::from_secs(15),
                    || read_pid(&dir.join("vrrp.pid")).is_some_and(running),
                );
            }
            std::thread::sleep(Duration::from_millis(500));
            let still = running(pid);
            stop_detached(pid);
            assert!(still, "{who}: `keepalived {line}` stopped");
        } else {
            // Not every line logs to the console (-l): the running VRRP child is the sign.
            let vrrp = kad.wait_child("kad: vrrp", None);
            std::thread::sleep(Duration::from_millis(500));
            assert!(
                running(kad.pid),
                "{who}: `keepalived {line}`: {}",
                kad.log()
            );
            assert_eq!(kad.child("kad: vrrp"), Some(vrrp), "{who}: {}", kad.log());
        }
    }
}

/// Configuration checks with every option keepalived 2.2.7 accepts silently (measured): exit
/// 0, never 2; the ones kad ignores draw a warning naming the option.
#[test]
fn keepalived_option_lines_pass_config_test() {
    let dir = work_dir_with_config();
    let conf = dir.join("kad.conf").display().to_string();
    let report = dir.join("test.log").display().to_string();
    let lines = [
        "-x -A /x -a -u 022 -m -Mcore --core-dump-pattern=core -e -i foo -B --all -X -V -I -R -G -s NS -S 3",
        "-M core",
        "-S local3",
        "-S daemon",
        "-S user",
        "-S kern",
        "-S 9",
        "-nld -D -P -C -R -n -n",
        "--vrrp --check --log-console --log-detail --no-syslog --dont-fork --dump-conf --dont-respawn --release-vips --dont-release-vrrp --dont-release-ipvs --address-monitoring --snmp --core-dump --all-config --no_bfd",
        "--pid=/x/p --vrrp_pid=/x/v --checkers_pid=/x/c --bfd_pid=/x/b --config-id=a --log-facility=local7 --umask=0177 --namespace=x --snmp-agent-socket=/x",
        "-p /x/p -r /x/v -c /x/c -b /x/b -i a",
    ];
    for line in lines {
        for test in ["-t".to_string(), format!("--config-test={report}")] {
            let out = Command::new(KAD)
                .args(line.split(' '))
                .arg(&test)
                .args(["-f", &conf])
                .output()
                .expect("run kad -t");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "`{line} {test}`: {stderr}");
        }
    }
    let out = Command::new(KAD)
        .args(["-x", "-s", "blue", "-t", "-f", &conf])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kad ignores -x/--snmp"), "{stderr}");
    assert!(stderr.contains("kad ignores -s/--namespace"), "{stderr}");
    // keepalived's -T makes it genhash: kad says it is not genhash (exit 1, not a usage error).
    let out = Command::new(KAD)
        .args(["-T", "-s", "127.0.0.1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn signum_prints_keepalived_s_numbers() {
    for (name, n) in [
        ("STOP", "15"),
        ("RELOAD", "1"),
        ("DATA", "10"),
        ("STATS", "12"),
        ("STATS_CLEAR", "63"),
        ("JSON", "36"),
    ] {
        for args in [
            vec![format!("--signum={name}")],
            vec!["--signum".into(), name.into()],
        ] {
            let out = Command::new(KAD).args(&args).output().expect("run");
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{n}\n"));
        }
    }
    for name in [
        "TDATA",
        "stop",
        "TERM",
        "INT",
        "HUP",
        "USR1",
        "USR2",
        "QUIT",
        "STATS-CLEAR",
        "FOO",
    ] {
        let out = Command::new(KAD)
            .arg(format!("--signum={name}"))
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("Unknown sigfunc {name}\n")
        );
    }
}

/// Every signal keepalived handles (but STOP's) or ignores, sent to kad's parent, leaves the
/// parent and both children running; STATS_CLEAR writes the stats and zeroes the counters,
/// JSON writes keepalived.json.
#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn keepalived_s_signals_never_stop_kad() {
    as_root();
    let kad = Kad::start(CONFIG, &[]);
    let vrrp = kad.wait_child("kad: vrrp", None);
    let checker = kad.wait_child("kad: checker", None);
    let stats_path = kad.path("/tmp/keepalived.stats");
    let stats = || std::fs::read_to_string(&stats_path).unwrap_or_default();
    // Alone on its link, VI_1 becomes MASTER: "Became master: 1".
    wait_until("MASTER in the stats", Duration::from_secs(20), || {
        let _ = std::fs::remove_file(&stats_path);
        kad.signal(libc::SIGUSR2);
        std::thread::sleep(Duration::from_millis(200));
        stats().contains("Became master: 1\n")
    });
    let _ = std::fs::remove_file(&stats_path);
    kad.signal(libc::SIGRTMAX() - 1);
    wait_until("STATS_CLEAR's stats file", Duration::from_secs(10), || {
        stats().contains("Became master: 1\n")
    });
    wait_until("counters cleared", Duration::from_secs(10), || {
        kad.log().contains("VRRP statistics cleared")
    });
    let _ = std::fs::remove_file(&stats_path);
    kad.signal(libc::SIGUSR2);
    wait_until("stats after the clear", Duration::from_secs(10), || {
        stats().contains("Became master: 0\n")
    });
    kad.signal(libc::SIGRTMIN() + 2);
    wait_until("keepalived.json", Duration::from_secs(10), || {
        std::fs::read_to_string(kad.path("/tmp/keepalived.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|j| j[0]["data"]["iname"] == "VI_1")
    });
    // The rest of keepalived's handled signals (HUP reloads, USR1 dumps) and every one it
    // ignores (measured from /proc/PID/status of keepalived 2.2.7).
    let mut sigs = vec![
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGQUIT,
        libc::SIGTRAP,
        libc::SIGABRT,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGSTKFLT,
        libc::SIGCONT,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGURG,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGWINCH,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGSYS,
    ];
    sigs.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    for sig in sigs {
        kad.signal(sig);
        std::thread::sleep(Duration::from_millis(50));
        assert!(running(kad.pid), "signal {sig} stopped kad: {}", kad.log());
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(running(kad.pid), "{}", kad.log());
    assert_eq!(kad.child("kad: vrrp"), Some(vrrp), "{}", kad.log());
    assert_eq!(kad.child("kad: checker"), Some(checker), "{}", kad.log());
}

/// `-d` is keepalived's dump-conf: the configuration is logged once and kad runs on.
#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn dash_d_logs_the_configuration_and_runs() {
    as_root();
    let kad = Kad::start(CONFIG, &["-d"]);
    let log = kad.log();
    assert!(log.contains("------< Global definitions >------"), "{log}");
    assert!(log.contains("------< VRRP Topology >------"), "{log}");
    assert!(log.contains(" VRRP Instance = VI_1"), "{log}");
    assert!(log.contains("   Virtual Router ID = 51"), "{log}");
    assert!(log.contains("1 virtual_server(s)"), "{log}");
    assert_eq!(log.matches("------< VRRP Topology >------").count(), 1);
    std::thread::sleep(Duration::from_millis(500));
    assert!(running(kad.pid), "{log}");
}

/// Under the name `keepalived`, kad reads /etc/keepalived/keepalived.conf and writes
/// keepalived's three pidfiles; `-v` prints keepalived's banner on stderr.
#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn named_keepalived_kad_uses_keepalived_s_paths() {
    as_root();
    let dir = work_dir_with_config();
    let kad = spawn_line(&dir, &dir.join("keepalived"), &["-n", "-l", "-D"]);
    wait_until("both children ready", Duration::from_secs(15), || {
        kad.log().matches(") ready").count() >= 2
    });
    assert!(
        kad.log()
            .contains("starting with /etc/keepalived/keepalived.conf"),
        "{}",
        kad.log()
    );
    let vrrp = kad.wait_child("kad: vrrp", None);
    let checker = kad.wait_child("kad: checker", None);
    for (file, pid) in [
        ("/run/keepalived.pid", kad.pid),
        ("/run/vrrp.pid", vrrp),
        ("/run/checkers.pid", checker),
    ] {
        wait_until(file, Duration::from_secs(10), || {
            read_pid(&kad.path(file)) == Some(pid)
        });
    }
    assert!(!kad.path("/run/kad.pid").exists());
    let out = Command::new(dir.join("keepalived"))
        .arg("-v")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("Keepalived v2.2.7 (kad {})", env!("CARGO_PKG_VERSION"))
    );
}

/// `-S user` logs on facility user from the parent and both children; `-G` sends nothing to
/// syslog (the console still gets every line).
#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn dash_s_user_and_dash_g_reach_every_process() {
    as_root();
    let kad = Kad::with_syslog_sink(CONFIG, &["-S", "user"]);
    let vrrp = kad.wait_child("kad: vrrp", None);
    let checker = kad.wait_child("kad: checker", None);
    let log = kad.path("/tmp/syslog.txt");
    // user (1) * 8 + info (6) = 14
    wait_until(
        "user-facility syslog lines",
        Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.lines()
                .any(|l| l.starts_with("<14>") && l.contains(&format!("kad[{}]:", kad.pid)))
                && text
                    .lines()
                    .any(|l| l.starts_with("<14>") && l.contains(&format!("kad_vrrp[{vrrp}]")))
                && text.lines().any(|l| {
                    l.starts_with("<14>") && l.contains(&format!("kad_checker[{checker}]"))
                })
        },
    );
    kad.kill_syslog_sink();
    drop(kad);

    let kad = Kad::with_syslog_sink(CONFIG, &["-G"]);
    // Give the processes time to log their start-up (the console has it) before reading.
    std::thread::sleep(Duration::from_millis(500));
    kad.signal(libc::SIGUSR1);
    wait_until("the dump's console line", Duration::from_secs(10), || {
        kad.log().contains("wrote /tmp/keepalived.data")
    });
    let text = std::fs::read_to_string(kad.path("/tmp/syslog.txt")).unwrap_or_default();
    assert!(text.trim().is_empty(), "-G still logged to syslog: {text}");
    assert!(kad.log().contains("VRRP child started"), "{}", kad.log());
    kad.kill_syslog_sink();
}
