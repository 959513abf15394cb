//! VRRP over unicast peers: a kad pair and kad with keepalived 2.2.7, adverts from outside
//! the peer list dropped and counted, three nodes electing in priority order. As root;
//! ignored when built with KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24 inside the test's
//! own namespaces.

mod common;

use std::time::Duration;

use common::lab::*;
use common::*;

fn unicast(priority: u8, me: &str, peer: &str) -> String {
    instance(
        priority,
        &format!("    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n"),
    )
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn unicast_pair_and_interop_with_keepalived_in_unicast_mode() {
    as_root();
    let lab = Lab::up();
    // kad pair.
    let mut n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &unicast(150, "192.0.2.11", "192.0.2.12")),
    );
    let mut n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &unicast(100, "192.0.2.12", "192.0.2.11")),
    );
    lab.wait_master("1", Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!lab.has_vip("2"), "node 2 hears node 1's unicast adverts");
    n1.term();
    lab.wait_master("2", Duration::from_secs(3));
    n2.term();
    // keepalived master, kad backup.
    let mut ka = lab.keepalived(
        "1",
        &lab.config("k1.conf", &unicast(150, "192.0.2.11", "192.0.2.12")),
    );
    let kad = lab.kad(
        "2",
        &lab.config("n2b.conf", &unicast(100, "192.0.2.12", "192.0.2.11")),
    );
    lab.wait_master("1", Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.has_vip("2"),
        "kad accepted keepalived's unicast adverts: {}",
        kad.log()
    );
    ka.term();
    lab.wait_master("2", Duration::from_secs(3));
    // kad master, keepalived backup (lower priority) stays backup.
    let ka2 = lab.keepalived(
        "1",
        &lab.config("k1b.conf", &unicast(50, "192.0.2.11", "192.0.2.12")),
    );
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        lab.has_vip("2") && !lab.has_vip("1"),
        "keepalived accepted kad's unicast adverts: {}",
        ka2.log()
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn with_check_unicast_src_adverts_from_outside_the_peer_list_are_dropped() {
    as_root();
    let lab = Lab::up();
    // Node 1 lists only a peer that does not exist; node 2 sends it unicast adverts anyway.
    let n1 = lab.kad(
        "1",
        &lab.config(
            "n1.conf",
            &unicast(100, "192.0.2.11", "192.0.2.99").replace(
                "    unicast_src_ip",
                "    check_unicast_src\n    unicast_src_ip",
            ),
        ),
    );
    let _n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &unicast(200, "192.0.2.12", "192.0.2.11")),
    );
    lab.wait_master("2", Duration::from_secs(8));
    lab.wait_master("1", Duration::from_secs(8));
    assert!(
        n1.log()
            .contains("(VI_1) unicast source address 192.0.2.12 not a unicast peer"),
        "{}",
        n1.log()
    );
}

fn unicast_to(priority: u8, me: &str, peers: &[&str]) -> String {
    let list: String = peers.iter().map(|p| format!("        {p}\n")).collect();
    instance(
        priority,
        &format!("    unicast_src_ip {me}\n    unicast_peer {{\n{list}    }}\n"),
    )
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn three_nodes_over_unicast_elect_in_priority_order() {
    as_root();
    let lab = Lab::up();
    lab.add_node3();
    let (a, b, c) = ("192.0.2.11", "192.0.2.12", "192.0.2.13");
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &unicast_to(150, a, &[b, c])));
    let mut n2 = lab.kad("2", &lab.config("n2.conf", &unicast_to(100, b, &[a, c])));
    let _n3 = lab.kad("3", &lab.config("n3.conf", &unicast_to(50, c, &[a, b])));
    lab.wait_master("1", Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !lab.has_vip("2") && !lab.has_vip("3"),
        "one master among three"
    );
    n1.term();
    lab.wait_master("2", Duration::from_secs(3));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!lab.has_vip("3"), "node 3 stays backup");
    n2.term();
    lab.wait_master("3", Duration::from_secs(3));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn without_check_unicast_src_adverts_from_outside_the_peer_list_are_heard() {
    as_root();
    let lab = Lab::up();
    // As keepalived 2.2.7: node 1 lists another peer, yet hears node 2 and stays backup.
    let n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &unicast(100, "192.0.2.11", "192.0.2.99")),
    );
    let _n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &unicast(200, "192.0.2.12", "192.0.2.11")),
    );
    lab.wait_master("2", Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(5));
    assert!(!lab.has_vip("1"), "node 1 heard node 2: {}", n1.log());
}

/// kad on node 1 (192.0.2.11) and keepalived 2.2.7 behind a router (198.51.100.2): their
/// unicast adverts arrive with TTL 254. Exactly one master, whichever of the two has the
/// higher priority.
#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_routed_kad_keepalived_pair_elects_one_master_both_ways() {
    as_root();
    let lab = Lab::up();
    lab.add_router();
    let (near, far) = ("192.0.2.11", "198.51.100.2");
    // A /32 VIP: a /24 on the far node would give it a route to 192.0.2.0/24 past the router.
    let unicast = |prio, me, peer| unicast(prio, me, peer).replace("/24", "/32");
    for (kad_prio, ka_prio) in [(150, 100), (100, 150)] {
        let mut kad = lab.kad(
            "1",
            &lab.config(
                &format!("kad-{kad_prio}.conf"),
                &unicast(kad_prio, near, far),
            ),
        );
        let mut ka = lab.keepalived(
            "far",
            &lab.config(&format!("ka-{ka_prio}.conf"), &unicast(ka_prio, far, near)),
        );
        let (master, backup) = if kad_prio > ka_prio {
            ("1", "far")
        } else {
            ("far", "1")
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while !lab.holds(master, VIP, None) {
            assert!(
                std::time::Instant::now() < deadline,
                "no master {master} (kad {kad_prio}, keepalived {ka_prio}):\nkad: {}\nkeepalived: {}",
                kad.log(),
                ka.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Well past the backup's master-down interval (≈3.6 s).
        std::thread::sleep(Duration::from_secs(6));
        assert!(
            lab.holds(master, VIP, None) && !lab.holds(backup, VIP, None),
            "exactly one master (kad {kad_prio}, keepalived {ka_prio}):\nkad: {}\nkeepalived: {}",
            kad.log(),
            ka.log()
        );
        kad.term();
        ka.term();
    }
}
