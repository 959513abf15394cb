//! LVS parity with keepalived 2.2.7 (issue 16) against a real ip_vs kernel: keepalived and kad
//! run the same file, one after the other, inside the throw-away qemu VM (tests/ipvs-vm), and
//! `ipvsadm -Ln` / `ipvsadm -L --timeout` must read the same. Ignored (not passed) when built
//! with KAD_SYSTEM_TESTS=0.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use common::vm::{inside_vm, ipvsadm};
use common::*;

/// Starts keepalived (`daemon: false`) or kad checker-only in the foreground on `conf`.
fn start(daemon: bool, conf: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("log");
    if daemon {
        let kad = std::env::var("KAD_BIN").expect("KAD_BIN");
        Command::new(kad)
            .args(["-n", "-l", "-C", "-f"])
            .arg(conf)
            .stderr(log)
            .spawn()
            .expect("kad")
    } else {
        Command::new("/usr/sbin/keepalived")
            .args([
                "-n",
                "-l",
                "-C",
                "-p",
                "/run/ka-parity.pid",
                "-c",
                "/run/ka-parity-c.pid",
                "-f",
            ])
            .arg(conf)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("keepalived")
    }
}

/// SIGTERM and wait; kad must exit 0 (keepalived 2.2.7 -n dies of the signal).
fn stop(mut child: Child, kad: bool) {
    signal(child.id(), libc::SIGTERM);
    let status = child.wait().expect("wait");
    assert!(!kad || status.success(), "{status}");
}

/// The table with the foreign service's lines left out.
fn services_of(listing: &str) -> usize {
    listing
        .lines()
        .filter(|l| l.starts_with("TCP") || l.starts_with("UDP") || l.starts_with("FWM"))
        .count()
}

/// Runs keepalived then kad on `config` from the same starting table (a foreign service and
/// timeouts 900 120 300); returns the listings (`-Ln`, `--timeout` while running, both after
/// stop) of each.
fn both(name: &str, config: &str, services: usize) -> [(String, String, String, String); 2] {
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, config).expect("config");
    let run = |daemon: bool| {
        ipvsadm(&["-C"]);
        ipvsadm(&["--set", "900", "120", "300"]);
        ipvsadm(&["-A", "-t", "192.0.2.99:80", "-s", "rr"]);
        ipvsadm(&["-a", "-t", "192.0.2.99:80", "-r", "198.51.100.99:80", "-g"]);
        let log = dir.join(if daemon { "kad.log" } else { "keepalived.log" });
        let child = start(daemon, &conf, &log);
        // Settled: the expected number of services and two equal readings a second apart.
        // On a timeout the comparison below shows what differs.
        let mut last = String::new();
        for _ in 0..120 {
            std::thread::sleep(Duration::from_secs(1));
            let t = ipvsadm(&["-Ln"]);
            if services_of(&t) == services && t == last {
                break;
            }
            last = t;
        }
        let running = (ipvsadm(&["-Ln"]), ipvsadm(&["-L", "--timeout"]));
        stop(child, daemon);
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        println!(
            "--- {} log:\n{log}",
            if daemon { "kad" } else { "keepalived" }
        );
        (
            running.0,
            running.1,
            ipvsadm(&["-Ln"]),
            ipvsadm(&["-L", "--timeout"]),
        )
    };
    let keepalived = run(false);
    let kad = run(true);
    for (who, r) in [("keepalived", &keepalived), ("kad", &kad)] {
        println!("=== {who}\n{}{}--- after stop\n{}{}", r.0, r.1, r.2, r.3);
    }
    [keepalived, kad]
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn dr_ports_group_ranges_and_timeouts_match_keepalived() {
    if !inside_vm("dr_ports_group_ranges_and_timeouts_match_keepalived") {
        return;
    }
    // Real servers without checkers are always up (keepalived needs their `{ }` block), so both tables are complete at once.
    let config = "global_defs {\n  lvs_timeouts tcp 901 tcpfin 31 udp 61\n  lvs_flush_on_stop VS\n}\n\
        virtual_server_group v4 {\n  10.7.8.8/30 80\n  10.7.9.8/29 81\n  10.7.10.1-3 83\n  10.7.10.200-10.7.10.202 84\n  10.7.11.5/32 85\n}\n\
        virtual_server_group v6 {\n  2001:db8::10/126 86\n  2001:db8::a-2001:db8::c 85\n  2001:db8::1-3 84\n}\n\
        virtual_server group v4 {\n  protocol TCP\n  lb_kind DR\n  real_server 127.0.0.1 8080 {\n    weight 1\n  }\n}\n\
        virtual_server group v6 {\n  protocol TCP\n  real_server ::1 8080 {\n    weight 1\n  }\n}\n\
        virtual_server 192.0.2.1 53 {\n  protocol UDP\n  lb_kind DR\n  real_server 127.0.0.1 5353 {\n    weight 1\n  }\n  real_server 127.0.0.2 {\n    weight 1\n  }\n}\n\
        virtual_server 192.0.2.2 53 {\n  protocol UDP\n  lb_kind TUN\n  real_server 127.0.0.1 5353 {\n    weight 1\n  }\n}\n\
        virtual_server fwmark 7 {\n  lb_kind DR\n  real_server 127.0.0.1 80 {\n    weight 1\n  }\n}\n\
        virtual_server fwmark 8 {\n  real_server 127.0.0.1 80 {\n    weight 1\n  }\n}\n";
    // 4 + 8 + 3 + 3 + 1 IPv4, 4 + 3 + 3 IPv6, two UDP, two fwmarks and the foreign one.
    let [keepalived, kad] = both("kad-parity-dr", config, 19 + 10 + 2 + 2 + 1);
    assert_eq!(kad.0, keepalived.0, "ipvsadm -Ln");
    for line in [
        "  -> 127.0.0.1:53                 Route",
        "  -> 127.0.0.1:53                 Tunnel",
        "TCP  10.7.10.202:84 wlc",
        "TCP  [2001:db8::13]:86 wlc",
    ] {
        assert!(kad.0.contains(line), "{line} missing in\n{}", kad.0);
    }
    assert_eq!(kad.1, "Timeout (tcp tcpfin udp): 901 31 61\n");
    assert_eq!(kad.1, keepalived.1);
    // lvs_flush_on_stop VS: kad's services go, the foreign one stays; timeouts restored.
    assert_eq!(kad.2, keepalived.2);
    assert!(kad.2.contains("TCP  192.0.2.99:80 rr"), "{}", kad.2);
    assert_eq!(services_of(&kad.2), 1);
    assert_eq!(kad.3, "Timeout (tcp tcpfin udp): 900 120 300\n");
    assert_eq!(kad.3, keepalived.3);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn lvs_flush_and_lvs_flush_on_stop_match_keepalived() {
    if !inside_vm("lvs_flush_and_lvs_flush_on_stop_match_keepalived") {
        return;
    }
    // lvs_flush empties the table at start (the foreign service too).
    let flush = "global_defs {\n  lvs_flush\n  lvs_timeouts udp 61\n}\n\
        virtual_server 192.0.2.4 80 {\n  protocol TCP\n  real_server 127.0.0.1 80 {\n    weight 1\n  }\n}\n";
    let [keepalived, kad] = both("kad-parity-flush", flush, 1);
    assert_eq!(kad.0, keepalived.0);
    assert!(!kad.0.contains("192.0.2.99"), "{}", kad.0);
    assert_eq!(kad.1, "Timeout (tcp tcpfin udp): 900 120 61\n");
    assert_eq!(kad.1, keepalived.1);
    // Without lvs_flush_on_stop: only kad's own service goes at stop.
    assert_eq!(kad.2, keepalived.2);
    assert_eq!(services_of(&kad.2), 0);
    // lvs_flush_on_stop: the whole table is flushed at stop, the foreign service too.
    let on_stop = "global_defs {\n  lvs_flush_on_stop\n}\n\
        virtual_server 192.0.2.4 80 {\n  protocol TCP\n  real_server 127.0.0.1 80 {\n    weight 1\n  }\n}\n";
    let [keepalived, kad] = both("kad-parity-flush-stop", on_stop, 2);
    assert_eq!(kad.0, keepalived.0);
    assert!(kad.0.contains("192.0.2.99"), "{}", kad.0);
    assert_eq!(kad.2, keepalived.2);
    assert_eq!(services_of(&kad.2), 0, "{}", kad.2);
    assert_eq!(kad.3, "Timeout (tcp tcpfin udp): 900 120 300\n");
}

/// The service lines of `ipvsadm -Ln` (destinations left out).
fn service_lines(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter(|l| l.starts_with("TCP") || l.starts_with("UDP") || l.starts_with("FWM"))
        .map(str::to_string)
        .collect()
}

/// The pid of the checker child: keepalived's from its `-c` pid file, kad's by its title.
fn checker_of(kad: bool) -> Option<u32> {
    if !kad {
        return std::fs::read_to_string("/run/ka-parity-c.pid")
            .ok()
            .and_then(|s| s.trim().parse().ok());
    }
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with(b"kad: checker"))
        })
}

/// Waits (generously) until the service lines satisfy `pred`; returns them.
fn services_until(what: &str, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut last = Vec::new();
    for _ in 0..90 {
        last = service_lines(&ipvsadm(&["-Ln"]));
        if pred(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("{what}: never came, last table {last:?}");
}

/// With `lvs_flush`: a foreign service added after start, the checker SIGKILLed (respawned),
/// another foreign service, a SIGHUP adding a PING_CHECK (kad restarts a checker without
/// CAP_NET_RAW for it) and a second virtual server; the service lines after each step.
/// Stops the daemon, adds the table it leaves to `seen` and prints its log.
fn stop_and_show(
    child: Child,
    kad: bool,
    log: &std::path::Path,
    mut seen: Vec<Vec<String>>,
) -> Vec<Vec<String>> {
    stop(child, kad);
    seen.push(service_lines(&ipvsadm(&["-Ln"])));
    let log = std::fs::read_to_string(log).unwrap_or_default();
    println!("--- {} log:\n{log}", if kad { "kad" } else { "keepalived" });
    seen
}

fn flush_at_respawn_and_reload(kad: bool) -> Vec<Vec<String>> {
    let dir = std::env::temp_dir().join("kad-parity-respawn");
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("keepalived.conf");
    let base = "global_defs {\n  lvs_flush\n}\n\
        virtual_server 192.0.2.4 80 {\n  protocol TCP\n  real_server 127.0.0.1 80 {\n    weight 1\n  }\n}\n";
    std::fs::write(&conf, base).expect("config");
    ipvsadm(&["-C"]);
    ipvsadm(&["-A", "-t", "192.0.2.98:80", "-s", "rr"]);
    let log = dir.join(if kad { "kad.log" } else { "keepalived.log" });
    let child = start(kad, &conf, &log);
    let mut seen = vec![services_until("lvs_flush at start", |s| {
        s.len() == 1 && s[0].starts_with("TCP  192.0.2.4:80")
    })];
    ipvsadm(&["-A", "-t", "192.0.2.99:80", "-s", "rr"]);
    let mut old = None;
    wait_until("the checker", Duration::from_secs(60), || {
        old = checker_of(kad);
        old.is_some()
    });
    let old = old.unwrap_or_default();
    signal(old, libc::SIGKILL);
    wait_until("a new checker", Duration::from_secs(90), || {
        checker_of(kad).is_some_and(|p| p != old)
    });
    // keepalived's respawned checker flushes again (measured): the foreign service goes.
    seen.push(services_until("the respawned checker's flush", |s| {
        s.len() == 1 && s[0].starts_with("TCP  192.0.2.4:80")
    }));
    ipvsadm(&["-A", "-t", "192.0.2.97:80", "-s", "rr"]);
    let reload = format!(
        "{base}virtual_server 192.0.2.5 80 {{\n  protocol TCP\n  real_server 127.0.0.1 80 {{\n    \
         PING_CHECK {{\n      connect_timeout 2\n    }}\n  }}\n}}\n"
    );
    std::fs::write(&conf, reload).expect("config");
    signal(child.id(), libc::SIGHUP);
    // The new virtual server shows the reload reached the kernel (after any flush).
    seen.push(services_until("the reloaded table", |s| {
        s.iter().any(|l| l.starts_with("TCP  192.0.2.5:80"))
    }));
    // Settled: no later flush either.
    std::thread::sleep(Duration::from_secs(3));
    seen.push(service_lines(&ipvsadm(&["-Ln"])));
    stop_and_show(child, kad, &log, seen)
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn lvs_flush_at_checker_respawn_and_reload_matches_keepalived() {
    if !inside_vm("lvs_flush_at_checker_respawn_and_reload_matches_keepalived") {
        return;
    }
    let keepalived = flush_at_respawn_and_reload(false);
    let kad = flush_at_respawn_and_reload(true);
    println!("keepalived {keepalived:#?}\nkad {kad:#?}");
    // A reload never flushes: the foreign service added before the SIGHUP survives it, also
    // when kad restarts its checker for the new PING_CHECK.
    assert!(
        kad[2]
            .iter()
            .chain(&kad[3])
            .filter(|l| l.starts_with("TCP  192.0.2.97:80"))
            .count()
            == 2,
        "kad flushed at the reload: {kad:?}"
    );
    assert_eq!(kad, keepalived);
}

/// Kills the checker with `sig` and waits for its successor.
fn replace_checker(kad: bool, sig: i32) {
    let mut old = None;
    wait_until("the checker", Duration::from_secs(60), || {
        old = checker_of(kad);
        old.is_some()
    });
    let old = old.unwrap_or_default();
    signal(old, sig);
    wait_until("a new checker", Duration::from_secs(90), || {
        checker_of(kad).is_some_and(|p| p != old)
    });
}

/// With `lvs_flush_on_stop`: a foreign service added after start, the checker SIGKILLed (no
/// stop ran: nothing flushed), then SIGTERMed (its clean stop flushes the whole table, the
/// respawned one adds its service again); the service lines after each step.
fn flush_on_stop_at_respawn(kad: bool) -> Vec<Vec<String>> {
    let dir = std::env::temp_dir().join("kad-parity-respawn-stop");
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  lvs_flush_on_stop\n}\n\
         virtual_server 192.0.2.4 80 {\n  protocol TCP\n  real_server 127.0.0.1 80 {\n    weight 1\n  }\n}\n",
    )
    .expect("config");
    ipvsadm(&["-C"]);
    let log = dir.join(if kad { "kad.log" } else { "keepalived.log" });
    let child = start(kad, &conf, &log);
    let own = |s: &[String]| s.iter().any(|l| l.starts_with("TCP  192.0.2.4:80"));
    services_until("the service at start", own);
    ipvsadm(&["-A", "-t", "192.0.2.99:80", "-s", "rr"]);
    replace_checker(kad, libc::SIGKILL);
    // Settled: the successor synced (nothing to change) and flushed nothing.
    std::thread::sleep(Duration::from_secs(5));
    let mut seen = vec![service_lines(&ipvsadm(&["-Ln"]))];
    replace_checker(kad, libc::SIGTERM);
    seen.push(services_until(
        "the stop's flush and the successor's table",
        |s| own(s) && s.len() == 1,
    ));
    stop_and_show(child, kad, &log, seen)
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn lvs_flush_on_stop_at_checker_respawn_matches_keepalived() {
    if !inside_vm("lvs_flush_on_stop_at_checker_respawn_matches_keepalived") {
        return;
    }
    let keepalived = flush_on_stop_at_respawn(false);
    let kad = flush_on_stop_at_respawn(true);
    println!("keepalived {keepalived:#?}\nkad {kad:#?}");
    assert_eq!(kad[0], ["TCP  192.0.2.4:80 wlc", "TCP  192.0.2.99:80 rr"]);
    assert_eq!(kad, keepalived);
}
