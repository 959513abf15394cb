//! VRRP authentication on real links: PASS mismatches dropped and counted, AH between kad
//! nodes and with keepalived 2.2.7 both ways, a wrong AH password or a forged AH type dropped
//! and counted. As root; ignored when built with KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24
//! inside the test's own namespaces.

mod common;

use std::time::Duration;

use common::lab::*;
use common::wire::*;
use common::*;

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn authentication_mismatches_are_dropped_and_counted() {
    as_root();
    let lab = Lab::up();
    let wrong = "    authentication {\n        auth_type PASS\n        auth_pass not-kad\n    }\n";
    let c1 = lab.config("n1.conf", &instance(150, PASS));
    let c2 = lab.config("n2.conf", &instance(100, wrong));
    let n1 = lab.kad("1", &c1);
    let n2 = lab.kad("2", &c2);
    // Each ignores the other's adverts: both end up MASTER (as keepalived does).
    wait_until("both masters", Duration::from_secs(10), || {
        lab.has_vip("1") && lab.has_vip("2")
    });
    wait_until("wrong passwords counted", Duration::from_secs(5), || {
        auth_counters(&n1).2 > 0 && auth_counters(&n2).2 > 0
    });
    // A node without authentication: a type mismatch for the PASS node.
    drop(n2);
    let c3 = lab.config("n3.conf", &instance(100, ""));
    let _n3 = lab.kad("2", &c3);
    let before = auth_counters(&n1).1;
    wait_until("type mismatches counted", Duration::from_secs(10), || {
        auth_counters(&n1).1 > before
    });
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ah_kad_pair_elects_one_master_and_fails_over() {
    as_root();
    let lab = Lab::up();
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, AH)));
    let n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, AH)));
    lab.wait_master("1", Duration::from_secs(10));
    // Three master-down intervals of node 2: it hears node 1's AH adverts and stays BACKUP.
    std::thread::sleep(Duration::from_secs(6));
    assert!(!lab.has_vip("2"), "node 2 heard node 1 under AH");
    assert_eq!(auth_counters(&n2), (0, 0, 0), "{}", n2.log());
    n1.term();
    lab.wait_master("2", Duration::from_secs(5));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn interop_ah_kad_master_keepalived_backup_then_failover() {
    as_root();
    let lab = Lab::up();
    let mut kad = lab.kad("1", &lab.config("n1.conf", &instance(150, AH)));
    let ka = lab.keepalived("2", &lab.config("n2.conf", &instance(100, AH)));
    lab.wait_master("1", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        !lab.has_vip("2"),
        "keepalived accepted kad's AH adverts and stayed backup: {}",
        ka.log()
    );
    assert!(!ka.log().contains("IPSEC"), "{}", ka.log());
    kad.term();
    lab.wait_master("2", Duration::from_secs(5));
    assert!(ka.log().contains("Entering MASTER STATE"));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn interop_ah_keepalived_master_kad_backup_then_failover() {
    as_root();
    let lab = Lab::up();
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &instance(150, AH)));
    let kad = lab.kad("2", &lab.config("n2.conf", &instance(100, AH)));
    lab.wait_master("1", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        !lab.has_vip("2"),
        "kad accepted keepalived's AH adverts: {}",
        kad.log()
    );
    assert_eq!(auth_counters(&kad), (0, 0, 0), "{}", kad.log());
    ka.crash();
    sh(&format!("ip -n {} addr del {VIP}/24 dev eth0", lab.ns("1")));
    lab.wait_master("2", Duration::from_secs(6));
    // keepalived again, lower priority: it hears kad's adverts (its counter jumps past kad's).
    let ka2 = lab.keepalived("1", &lab.config("n1b.conf", &instance(50, AH)));
    std::thread::sleep(Duration::from_secs(6));
    assert!(lab.has_vip("2") && !lab.has_vip("1"), "{}", ka2.log());
    assert!(!ka2.log().contains("IPSEC"), "{}", ka2.log());
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ah_wrong_auth_pass_or_a_forged_ah_type_is_dropped_and_counted() {
    as_root();
    let lab = Lab::up();
    let wrong = "    authentication {\n        auth_type AH\n        auth_pass not-kad\n    }\n";
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, AH)));
    let n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, wrong)));
    wait_until("both masters", Duration::from_secs(10), || {
        lab.has_vip("1") && lab.has_vip("2")
    });
    wait_until("ICV failures counted", Duration::from_secs(5), || {
        auth_counters(&n1).2 > 0 && auth_counters(&n2).2 > 0
    });
    // A VRRP packet claiming auth type AH (2) but sent as plain protocol 112, priority 254:
    // nothing vouches for it, so node 1 must stay MASTER and count it.
    drop(n2);
    let before = auth_counters(&n1).2;
    let backups = n1.log().matches("Entering BACKUP").count();
    let forged = blast(lab.ns("c"), v2_advert_packet(51, 254, 2), 20, 5);
    assert_eq!(forged.join().expect("sender"), 20);
    wait_until("forged adverts counted", Duration::from_secs(5), || {
        auth_counters(&n1).2 >= before + 20
    });
    assert!(lab.has_vip("1"), "{}", n1.log());
    assert_eq!(
        n1.log().matches("Entering BACKUP").count(),
        backups,
        "{}",
        n1.log()
    );
}
