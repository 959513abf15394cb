//! Issue 16 items 3 and 5 against a real ip_vs kernel, inside the throw-away qemu VM
//! (tests/ipvs-vm): `lvs_sync_daemon` follows the VRRP state as keepalived 2.2.7's does
//! (`ipvsadm -L --daemon` in the node's namespace is the witness, keepalived 2.2.7 is the peer
//! and the reference), and kad repairs its services when someone edits them by hand
//! (`ipvsadm -Ln`). Ignored (not passed) when built with KAD_SYSTEM_TESTS=0.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::lab::{instance, Lab, Node};
use common::vm::{inside_vm, ipvsadm};
use common::*;

/// `ipvsadm -L --daemon` in node `n`'s namespace (IPVS and its sync daemons are per namespace).
fn daemons(lab: &Lab, n: &str) -> String {
    sh_out(&format!("ip netns exec {} ipvsadm -L --daemon", lab.ns(n)))
}

/// keepalived 2.2.7 with both its processes (the sync daemon is its VRRP side's) on node `n`.
fn keepalived_full(lab: &Lab, n: &str, conf: &PathBuf, tag: &str) -> Node {
    let d = &lab.dir;
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &lab.ns(n),
        "keepalived",
        "-n",
        "-l",
        "-D",
        "-f",
    ])
    .arg(conf)
    .arg("-p")
    .arg(d.join(format!("{tag}.pid")))
    .arg("-r")
    .arg(d.join(format!("{tag}-vrrp.pid")))
    .arg("-c")
    .arg(d.join(format!("{tag}-check.pid")));
    Node::spawn(cmd, d.join(format!("{tag}.log")))
}

/// The pid of kad's checker child on node 2, if one runs.
fn checker_pid_opt(lab: &Lab) -> Option<u32> {
    sh_out(&format!("ip netns pids {}", lab.ns("2")))
        .split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with(b"kad: checker"))
        })
}

fn checker_pid(lab: &Lab) -> u32 {
    let mut pid = None;
    wait_until("kad's checker", Duration::from_secs(60), || {
        pid = checker_pid_opt(lab);
        pid.is_some()
    });
    pid.unwrap_or_default()
}

/// Waits until node 2's sync daemons read `pred` twice in a row 2 s apart; returns them.
fn settled(lab: &Lab, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    wait_until(what, Duration::from_secs(90), || {
        std::thread::sleep(Duration::from_secs(2));
        let now = daemons(lab, "2");
        let ok = pred(&now) && now == last;
        last = now;
        ok
    });
    last
}

/// One run with keepalived (`kad: false`) or kad on node 2 (priority 100) beside keepalived
/// on node 1 (priority 200): node 2's sync daemons at start (BACKUP), after node 1 stops
/// (MASTER), after node 1 returns (BACKUP), after node 2 stops; then the same file without an
/// instance and with every option, running and stopped.
fn run(kad: bool) -> Vec<String> {
    let lab = Lab::up();
    let who = if kad { "kad" } else { "keepalived" };
    let peer_conf = lab.config("peer.conf", &instance(200, ""));
    let mut peer = lab.keepalived("1", &peer_conf);
    lab.wait_master("1", Duration::from_secs(60));
    let conf = lab.config(
        "node.conf",
        &format!(
            "global_defs {{\n    lvs_sync_daemon eth0 VI_1\n}}\n{}",
            instance(100, "")
        ),
    );
    let start = |conf: &PathBuf, tag: &str| {
        if kad {
            lab.kad("2", conf)
        } else {
            keepalived_full(&lab, "2", conf, tag)
        }
    };
    let mut node = start(&conf, "ka-node");
    let mut seen = vec![settled(&lab, "a backup daemon at start", |d| {
        d.contains("backup")
    })];
    peer.term();
    lab.wait_master("2", Duration::from_secs(60));
    seen.push(settled(&lab, "the master daemon after failover", |d| {
        d.contains("master")
    }));
    if kad {
        // A checker crash: the respawned checker finds the master daemon running as it wants
        // it, keeps it, and still stops it at exit (the last steps below).
        let checker = checker_pid(&lab);
        signal(checker, libc::SIGKILL);
        wait_until(
            "a new checker",
            Duration::from_secs(60),
            || matches!(checker_pid_opt(&lab), Some(p) if p != checker),
        );
        let again = settled(&lab, "the master daemon after the respawn", |d| {
            d.contains("master")
        });
        assert_eq!(again, seen[1], "the respawn changed the sync daemons");
    }
    let mut peer = lab.keepalived("1", &peer_conf);
    lab.wait_master("1", Duration::from_secs(60));
    seen.push(settled(&lab, "the backup daemon again", |d| {
        d.contains("backup")
    }));
    node.term();
    seen.push(settled(&lab, "no daemon after stop", str::is_empty));
    peer.term();
    // No instance (a virtual server, as measured): both daemons, with every option.
    let conf = lab.config(
        "both.conf",
        "global_defs {\n    lvs_sync_daemon eth0 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82\n}\n\
         virtual_server 192.0.2.50 80 {\n    protocol TCP\n    real_server 192.0.2.60 80 {\n    }\n}\n",
    );
    let mut node = start(&conf, "ka-both");
    seen.push(settled(&lab, "both daemons", |d| {
        d.contains("master") && d.contains("backup")
    }));
    node.term();
    seen.push(settled(&lab, "no daemon after stop", str::is_empty));
    println!("=== {who}, node 2's `ipvsadm -L --daemon` at each step:");
    for s in &seen {
        println!("{s}---");
    }
    if kad {
        println!("--- kad's log:\n{}", node.log());
    }
    seen
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn lvs_sync_daemon_follows_vrrp_state_like_keepalived() {
    if !inside_vm("lvs_sync_daemon_follows_vrrp_state_like_keepalived") {
        return;
    }
    let keepalived = run(false);
    let kad = run(true);
    let backup = "backup sync daemon (mcast=eth0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n";
    let master = "master sync daemon (mcast=eth0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n";
    let both = "master sync daemon (mcast=eth0, syncid=7, maxlen=1400, group=224.0.0.82, port=8849, ttl=2)\n\
                backup sync daemon (mcast=eth0, syncid=7, maxlen=1400, group=224.0.0.82, port=8849, ttl=2)\n";
    assert_eq!(kad, [backup, master, backup, "", both, ""]);
    assert_eq!(kad, keepalived);
}

/// kad -C on `config` in a fresh directory; returns the process and its log path.
fn start_checker(name: &str, config: &str) -> (std::process::Child, PathBuf) {
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("kad.conf");
    std::fs::write(&conf, config).expect("config");
    let log = dir.join("kad.log");
    let kad = Command::new(env!("CARGO_BIN_EXE_kad"))
        .args(["-n", "-l", "-C", "-f"])
        .arg(&conf)
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("kad");
    (kad, log)
}

/// Damages kad's table by hand (as an operator would) and edits the foreign service too.
fn damage() {
    ipvsadm(&["-D", "-t", "192.0.2.2:80"]);
    ipvsadm(&["-d", "-t", "192.0.2.1:80", "-r", "127.0.0.2:8080"]);
    ipvsadm(&[
        "-e",
        "-t",
        "192.0.2.1:80",
        "-r",
        "127.0.0.1:8080",
        "-m",
        "-w",
        "9",
    ]);
    ipvsadm(&["-E", "-t", "192.0.2.1:80", "-s", "rr"]);
    ipvsadm(&[
        "-e",
        "-t",
        "192.0.2.99:80",
        "-r",
        "198.51.100.99:80",
        "-g",
        "-w",
        "5",
    ]);
}

/// The table's lines without its headers, sorted (the kernel lists a re-added service or
/// destination in another place).
fn table() -> Vec<String> {
    let mut lines: Vec<String> = ipvsadm(&["-Ln"])
        .lines()
        .skip(3)
        .map(|l| l.trim_end().to_string())
        .collect();
    lines.sort();
    lines
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn hand_edits_of_kads_services_are_repaired_and_foreign_ones_left_alone() {
    if !inside_vm("hand_edits_of_kads_services_are_repaired_and_foreign_ones_left_alone") {
        return;
    }
    let vs = "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  lb_algo wrr\n  lb_kind NAT\n\
                real_server 127.0.0.1 8080 {\n    weight 3\n  }\n  real_server 127.0.0.2 8080 {\n    weight 3\n  }\n}\n\
              virtual_server 192.0.2.2 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n\
                real_server 127.0.0.1 8080 {\n  }\n}\n";
    for (interval, sigusr1) in [(2, false), (0, true)] {
        ipvsadm(&["-C"]);
        ipvsadm(&["-A", "-t", "192.0.2.99:80", "-s", "rr"]);
        ipvsadm(&[
            "-a",
            "-t",
            "192.0.2.99:80",
            "-r",
            "198.51.100.99:80",
            "-g",
            "-w",
            "1",
        ]);
        let (mut kad, log) = start_checker(
            &format!("kad-repair-{interval}"),
            &format!("global_defs {{\n  kad_lvs_repair_interval {interval}\n}}\n{vs}"),
        );
        let flip = Duration::from_secs(60);
        wait_until("kad's table", flip, || {
            let t = ipvsadm(&["-Ln"]);
            t.contains("192.0.2.2:80") && t.contains("127.0.0.2:8080")
        });
        let want: Vec<String> = table()
            .into_iter()
            .map(|l| l.replace("Route   1 ", "Route   5 "))
            .collect();
        damage();
        if sigusr1 {
            signal(kad.id(), libc::SIGUSR1);
        }
        let took = wait_until("kad's table repaired", flip, || table() == want);
        println!("interval {interval}, SIGUSR1 {sigusr1}: repaired after {took:?}");
        if !sigusr1 {
            // After a reload the timer still runs.
            signal(kad.id(), libc::SIGHUP);
            wait_until("the reload", flip, || {
                std::fs::read_to_string(&log)
                    .is_ok_and(|t| t.contains("reloaded: 2 virtual_server"))
            });
            damage();
            let took = wait_until("kad's table repaired after a reload", flip, || {
                table() == want
            });
            println!("after a reload: repaired after {took:?}");
        }
        signal(kad.id(), libc::SIGTERM);
        assert!(kad.wait().expect("wait").success());
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        println!("--- kad's log:\n{text}");
        for line in [
            "repairing: edit service TCP 192.0.2.1:80",
            "repairing: add 127.0.0.2:8080 to TCP 192.0.2.1:80",
            "repairing: edit 127.0.0.1:8080 of TCP 192.0.2.1:80",
            "repairing: add service TCP 192.0.2.2:80",
            "repairing: add 127.0.0.1:8080 to TCP 192.0.2.2:80",
        ] {
            assert!(text.contains(line), "'{line}' missing in the log");
        }
        assert!(
            !text.contains("192.0.2.99"),
            "the foreign service was touched"
        );
        // Repaired once per damage, then left alone (no spurious edit of what nobody touched).
        let damaged = if sigusr1 { 1 } else { 2 };
        assert_eq!(
            text.matches("repairing: add service TCP 192.0.2.2:80")
                .count(),
            damaged
        );
        assert!(
            !text.contains("repairing: edit service TCP 192.0.2.2:80"),
            "{text}"
        );
        // Stopped: kad's services are gone, the foreign one keeps its hand-set weight.
        let t = ipvsadm(&["-Ln"]);
        assert!(
            !t.contains("192.0.2.1:80") && !t.contains("192.0.2.2:80") && t.contains("Route   5 "),
            "{t}"
        );
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn lvs_sync_daemon_runs_under_dash_p() {
    if !inside_vm("lvs_sync_daemon_runs_under_dash_p") {
        return;
    }
    // -P: no health checks, yet the sync daemon follows the instance (a script-only checker
    // runs it), as keepalived's VRRP process does.
    let lab = Lab::up();
    let peer_conf = lab.config("peer.conf", &instance(200, ""));
    let mut peer = lab.keepalived("1", &peer_conf);
    lab.wait_master("1", Duration::from_secs(60));
    let conf = lab.config(
        "node.conf",
        &format!(
            "global_defs {{\n    lvs_sync_daemon eth0 VI_1 id 9\n}}\n{}",
            instance(100, "")
        ),
    );
    let mut node = lab.kad_with("2", &conf, &["-P"]);
    let backup = settled(&lab, "a backup daemon", |d| d.contains("backup"));
    peer.term();
    lab.wait_master("2", Duration::from_secs(60));
    let master = settled(&lab, "the master daemon", |d| d.contains("master"));
    node.term();
    let stopped = settled(&lab, "no daemon after stop", str::is_empty);
    println!("--- kad's log:\n{}", node.log());
    assert!(
        backup.starts_with("backup sync daemon (mcast=eth0, syncid=9,"),
        "{backup}"
    );
    assert!(
        master.starts_with("master sync daemon (mcast=eth0, syncid=9,"),
        "{master}"
    );
    assert_eq!(backup.lines().count() + master.lines().count(), 2);
    assert_eq!(stopped, "");
    assert!(
        node.log().contains("script-only mode (-P)"),
        "{}",
        node.log()
    );
}
