//! What the checker engine does with check results, on real servers: quorum and its
//! hysteresis with the sorry server, retries and omega, reloads that keep unchanged checkers'
//! state, ha_suspend, and --list-ipvs without the kernel's IPVS. kad runs as root in its own
//! mount namespace (private /tmp and /run); its state is read from the JSON dump. Ignored when
//! built with KAD_SYSTEM_TESTS=0.

mod common;

use std::time::Duration;

use common::checker::*;
use common::*;

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn quorum_loss_brings_in_the_sorry_server_and_runs_quorum_scripts() {
    as_root();
    let mut one = Server::start(0, accept_only());
    let two = Server::start(0, accept_only());
    let dir = work_dir();
    let note = note_script(&dir);
    let config = format!(
        "global_defs {{\n  script_user root\n}}\nvirtual_server 198.51.100.10 80 {{\n  protocol TCP\n  delay_loop 1\n  quorum 2\n  hysteresis 0\n\
           quorum_up \"{note} quorum-up\"\n  quorum_down \"{note} quorum-down\"\n  sorry_server 192.0.2.99 8080\n\
           real_server 127.0.0.1 {a} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n\
           real_server 127.0.0.1 {b} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n",
        a = one.port,
        b = two.port
    );
    let a = one.port;
    let kad = checker(&config);
    wait_rs(&kad, 0, true);
    assert_eq!(destinations(&kad).len(), 2);
    one.stop();
    wait_rs(&kad, 0, false);
    wait_until("quorum_down", FLIP, || notes(&dir).contains("quorum-down"));
    assert_eq!(destinations(&kad), [(8080, 1, true)]);
    assert!(kad
        .log()
        .contains("Lost quorum 2-0=2 > 1 for VS [198.51.100.10]:tcp:80"));
    let _one = Server::start(a, accept_only());
    wait_rs(&kad, 0, true);
    wait_until("quorum_up", FLIP, || notes(&dir).contains("quorum-up"));
    let d = destinations(&kad);
    assert_eq!(d.len(), 2);
    assert!(d.iter().all(|&(_, w, sorry)| w == 1 && !sorry), "{d:?}");
    drop(two);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn hysteresis_holds_quorum_and_an_inhibited_sorry_server_waits_at_weight_zero() {
    as_root();
    let mut servers: Vec<Server> = (0..3).map(|_| Server::start(0, accept_only())).collect();
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let rs: String = ports
        .iter()
        .map(|p| format!("  real_server 127.0.0.1 {p} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n"))
        .collect();
    let config = format!(
        "virtual_server 198.51.100.10 80 {{\n  protocol TCP\n  delay_loop 1\n  quorum 2\n  hysteresis 1\n  sorry_server 192.0.2.99 8080\n  sorry_server_inhibit\n{rs}}}\n"
    );
    let kad = checker(&config);
    let quorum = |kad: &Kad| snapshot(kad)["virtual_servers"][0]["quorum_up"] == true;
    let sorry = |kad: &Kad| destinations(kad).into_iter().find(|d| d.2).map(|d| d.1);
    assert!(quorum(&kad));
    assert_eq!(
        sorry(&kad),
        Some(0),
        "an inhibited sorry server waits at weight 0"
    );
    // Weight 3 → 2 → 1: still at or above quorum − hysteresis = 1.
    for (i, server) in servers.iter_mut().take(2).enumerate() {
        server.stop();
        wait_rs(&kad, i, false);
        assert!(quorum(&kad), "quorum held with {} alive", 2 - i);
    }
    servers[2].stop();
    wait_rs(&kad, 2, false);
    wait_until("quorum lost at weight 0", FLIP, || !quorum(&kad));
    assert_eq!(sorry(&kad), Some(1));
    // Coming back: 1 and 2 are below quorum + hysteresis = 3; the third restores it.
    let mut back = Vec::new();
    for (i, &port) in ports.iter().enumerate() {
        back.push(Server::start(port, accept_only()));
        wait_rs(&kad, i, true);
        if i < 2 {
            assert!(
                !quorum(&kad),
                "quorum regained too early with {} alive",
                i + 1
            );
        }
    }
    wait_until("quorum regained at weight 3", FLIP, || quorum(&kad));
    assert_eq!(sorry(&kad), Some(0));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn retries_come_before_down_and_omega_runs_notifiers_at_stop() {
    as_root();
    let mut gone = Server::start(0, accept_only());
    let stays = Server::start(0, accept_only());
    let dir = work_dir();
    let note = note_script(&dir);
    let config = format!(
        "global_defs {{\n  script_user root\n}}\nvirtual_server 198.51.100.10 80 {{\n  protocol TCP\n  delay_loop 1\n  omega\n  quorum_down \"{note} quorum-down\"\n\
           real_server 127.0.0.1 {a} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 2\n      delay_before_retry 0.2\n    }}\n  }}\n\
           real_server 127.0.0.1 {b} {{\n    notify_down \"{note} down {b}\"\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n}}\n",
        a = gone.port,
        b = stays.port
    );
    let mut kad = checker(&config);
    wait_until("a first check", FLIP, || {
        snapshot(&kad)["virtual_servers"][0]["real_servers"][0]["checkers"][0]["stats"]["checks"]
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    gone.stop();
    wait_rs(&kad, 0, false);
    let log = kad.log();
    let first = log.find("retry 1 of 2").expect("first retry logged");
    let second = log.find("retry 2 of 2").expect("second retry logged");
    let down = log
        .find(&format!("Removing service [127.0.0.1]:tcp:{}", gone.port))
        .expect("removal");
    assert!(first < second && second < down, "{log}");
    // omega: at a graceful stop the server still up gets its notify_down, the VS its quorum_down.
    kad.signal(libc::SIGTERM);
    assert_eq!(kad.wait_exit(Duration::from_secs(10)), Some(0));
    wait_until("omega notifiers", FLIP, || {
        let n = notes(&dir);
        n.contains(&format!("down {}", stays.port)) && n.contains("quorum-down")
    });
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn reload_keeps_the_state_of_unchanged_checkers() {
    as_root();
    let mut gone = Server::start(0, accept_only());
    let added = Server::start(0, accept_only());
    let rs = |port: u16| {
        format!("  real_server 127.0.0.1 {port} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n")
    };
    let vs = |body: String| {
        format!("virtual_server 198.51.100.10 80 {{\n  protocol TCP\n  delay_loop 1\n{body}}}\n")
    };
    let kad = checker(&vs(rs(gone.port)));
    gone.stop();
    let before = wait_rs(&kad, 0, false);
    let checks = before["checkers"][0]["stats"]["checks"]
        .as_u64()
        .unwrap_or(0);
    // Reload with a second real server: the first stays down (no alpha would make a new
    // checker start up), its counters go on, and the new one is checked.
    std::fs::write(
        kad.dir.join("kad.conf"),
        vs(rs(gone.port) + &rs(added.port)),
    )
    .expect("config");
    kad.signal(libc::SIGHUP);
    wait_until("the reload", FLIP, || {
        kad.log().contains("reloaded: 1 virtual_server")
    });
    let snap = snapshot(&kad);
    let first = &snap["virtual_servers"][0]["real_servers"][0];
    assert_eq!(first["alive"], false, "{snap}");
    assert!(
        first["checkers"][0]["stats"]["checks"]
            .as_u64()
            .unwrap_or(0)
            >= checks
    );
    wait_until("a check of the new server", FLIP, || {
        reason(&wait_rs(&kad, 1, true), 0) == "connected"
    });
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ha_suspend_checks_only_while_the_virtual_address_is_here() {
    as_root();
    // Its own network namespace: the test adds the virtual address there.
    let dir = work_dir();
    let config = "virtual_server 192.0.2.77 80 {\n  protocol TCP\n  delay_loop 1\n  ha_suspend\n  real_server 192.0.2.1 80 {\n    MISC_CHECK {\n      misc_path /bin/true\n    }\n  }\n}\n";
    std::fs::write(dir.join("kad.conf"), config).expect("config");
    let kad = Kad::spawn(dir, &["--mount", "--net"], &private_dirs(), &["-C"]);
    wait_until("checker ready", Duration::from_secs(10), || {
        kad.log().contains(") ready")
    });
    let checks = |kad: &Kad| {
        let snap = snapshot(kad);
        let vs = &snap["virtual_servers"][0];
        (
            vs["suspended"] == true,
            vs["real_servers"][0]["checkers"][0]["stats"]["checks"]
                .as_u64()
                .unwrap_or(0),
        )
    };
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        checks(&kad),
        (true, 0),
        "no check while 192.0.2.77 is elsewhere"
    );
    assert!(kad.log().contains("checks suspended (ha_suspend)"));
    let added = std::process::Command::new("nsenter")
        .args([
            "-t",
            &kad.pid.to_string(),
            "-n",
            "ip",
            "addr",
            "add",
            "192.0.2.77/32",
            "dev",
            "lo",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(added, "adding the virtual address in kad's namespace");
    wait_until("checks resumed", FLIP, || {
        let (suspended, n) = checks(&kad);
        !suspended && n > 0
    });
    assert!(kad.log().contains("address present, checks resumed"));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn list_ipvs_says_when_the_kernel_has_no_ipvs() {
    as_root();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kad"))
        .arg("--list-ipvs")
        .output()
        .expect("kad");
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        // This kernel has IPVS (the VM tests, or a director): the listing works instead.
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        return;
    }
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("kad: IPVS not available: "));
}
