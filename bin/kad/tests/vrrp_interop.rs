//! kad beside keepalived 2.2.7 on real links: VRRPv2 with PASS both ways, VRRPv3 over IPv4
//! and IPv6 both ways. As root; ignored when built with KAD_SYSTEM_TESTS=0. Addresses:
//! 192.0.2.0/24 and 2001:db8::/64 inside the test's own namespaces.

mod common;

use std::time::Duration;

use common::lab::*;
use common::*;

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn interop_keepalived_master_kad_backup_v2_pass() {
    as_root();
    let lab = Lab::up();
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &instance(150, PASS)));
    let kad = lab.kad("2", &lab.config("n2.conf", &instance(100, PASS)));
    lab.wait_master("1", Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !lab.has_vip("2"),
        "kad accepted keepalived's adverts and stayed backup"
    );
    assert!(!kad.log().contains("dropped"), "{}", kad.log());
    ka.crash();
    sh(&format!("ip -n {} addr del {VIP}/24 dev eth0", lab.ns("1")));
    lab.wait_master("2", Duration::from_secs(6));
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn interop_kad_master_keepalived_backup_v2_pass() {
    as_root();
    let lab = Lab::up();
    let mut kad = lab.kad("1", &lab.config("n1.conf", &instance(150, PASS)));
    let ka = lab.keepalived("2", &lab.config("n2.conf", &instance(100, PASS)));
    lab.wait_master("1", Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !lab.has_vip("2"),
        "keepalived accepted kad's adverts and stayed backup"
    );
    kad.term();
    let took = lab.wait_master("2", Duration::from_secs(3));
    assert!(
        took < Duration::from_secs(2),
        "keepalived took over {took:?} after kad's priority 0"
    );
    assert!(ka.log().contains("Entering MASTER STATE"));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn interop_v3_ipv4_both_ways() {
    as_root();
    let lab = Lab::up();
    let v3 = |p| {
        format!(
            "global_defs {{\n    vrrp_version 3\n}}\n{}",
            instance(p, "")
        )
    };
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &v3(150)));
    let _kad = lab.kad("2", &lab.config("n2.conf", &v3(100)));
    lab.wait_master("1", Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(3));
    assert!(!lab.has_vip("2"), "kad accepted keepalived's v3 adverts");
    ka.term();
    lab.wait_master("2", Duration::from_secs(3));
    let ka2 = lab.keepalived("1", &lab.config("n1b.conf", &v3(50)));
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        lab.has_vip("2") && !lab.has_vip("1"),
        "keepalived (lower priority) accepted kad's v3 adverts"
    );
    assert!(
        !ka2.log().contains("bad checksum") && !ka2.log().contains("Invalid"),
        "{}",
        ka2.log()
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn interop_v3_ipv6_both_ways() {
    as_root();
    let lab = Lab::up();
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &instance6(150)));
    let kad = lab.kad("2", &lab.config("n2.conf", &instance6(100)));
    lab.wait_master6("1", Duration::from_secs(8));
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.has_vip6("2"),
        "kad accepted keepalived's IPv6 adverts: {}",
        kad.log()
    );
    ka.term();
    lab.wait_master6("2", Duration::from_secs(3));
    let ka2 = lab.keepalived("1", &lab.config("n1b.conf", &instance6(50)));
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        lab.has_vip6("2") && !lab.has_vip6("1"),
        "keepalived accepted kad's IPv6 adverts: {}",
        ka2.log()
    );
}
