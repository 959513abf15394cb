//! use_vmac on real links: the VIP served at the virtual MAC beside keepalived 2.2.7, and a
//! respawned VRRP child replacing the macvlan a killed one left. As root; ignored when built
//! with KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24 inside the test's own namespaces.

mod common;

use std::time::Duration;

use common::lab::*;
use common::*;

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn use_vmac_serves_the_vip_at_the_virtual_mac_and_interoperates() {
    as_root();
    let lab = Lab::up();
    let vmac_if = |n: &str| sh_out(&format!("ip -n {} link show vrrp.51", lab.ns(n)));
    let neigh = |lab: &Lab| sh_out(&format!("ip -n {} neigh show {VIP}", lab.ns("c")));
    let mut n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    use_vmac\n")),
    );
    let n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &instance(100, "    use_vmac\n")),
    );
    wait_until("node 1 master on its vmac", Duration::from_secs(8), || {
        lab.holds("1", VIP, Some("vrrp.51"))
    });
    assert!(
        vmac_if("1").contains("link/ether 00:00:5e:00:01:33"),
        "{}",
        vmac_if("1")
    );
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
    assert!(
        neigh(&lab).contains("00:00:5e:00:01:33"),
        "client sees the virtual MAC: {}",
        neigh(&lab)
    );
    n1.term();
    wait_until("node 2 master on its vmac", Duration::from_secs(3), || {
        lab.holds("2", VIP, Some("vrrp.51"))
    });
    assert!(
        !vmac_if("1").contains("vrrp.51"),
        "node 1 removed its vmac on stop"
    );
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
    assert!(neigh(&lab).contains("00:00:5e:00:01:33"), "{}", neigh(&lab));
    drop(n2);
    // keepalived with use_vmac as master, kad as backup: kad stays backup, then takes over.
    std::thread::sleep(Duration::from_millis(500));
    let mut ka = lab.keepalived(
        "1",
        &lab.config("k1.conf", &instance(150, "    use_vmac\n")),
    );
    let _kad = lab.kad(
        "2",
        &lab.config("n2b.conf", &instance(100, "    use_vmac\n")),
    );
    wait_until(
        "keepalived master on its vmac",
        Duration::from_secs(10),
        || lab.holds("1", VIP, None),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.holds("2", VIP, None),
        "kad accepted keepalived's adverts sent from its vmac"
    );
    ka.term();
    wait_until(
        "kad master after keepalived stops",
        Duration::from_secs(4),
        || lab.holds("2", VIP, Some("vrrp.51")),
    );
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_respawned_vrrp_child_replaces_the_vmac_a_killed_one_left() {
    as_root();
    let lab = Lab::up();
    let n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    use_vmac\n")),
    );
    let vmac_index = || {
        sh_out(&format!("ip -n {} -o link show vrrp.51", lab.ns("1")))
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    wait_until("master on the vmac", Duration::from_secs(8), || {
        lab.holds("1", VIP, Some("vrrp.51"))
    });
    let before = vmac_index();
    let child = sh_out("pgrep -x 'kad: vrrp'")
        .split_whitespace()
        .find(|p| {
            sh_out(&format!("cat /proc/{p}/status")).contains(&format!("PPid:\t{}", n1.proc.id()))
        })
        .map(str::to_string)
        .expect("node 1's VRRP child");
    sh(&format!("kill -9 {child}"));
    wait_until("a new vmac, master again", Duration::from_secs(10), || {
        let idx = vmac_index();
        !idx.is_empty() && idx != before && lab.holds("1", VIP, Some("vrrp.51"))
    });
    assert_eq!(
        sh_out(&format!("ip -n {} -o link show", lab.ns("1")))
            .matches("vrrp.51")
            .count(),
        1
    );
}
