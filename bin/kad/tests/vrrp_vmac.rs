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

/// keepalived 2.2.7's vmac sysctls (docs/reference/keepalived-2.2.7.md §1): the vmac's, then
/// its base's, and kad's one addition (arp_announce on the base, see executor/vmac.rs).
const VMAC_SYSCTLS: [(&str, &str); 8] = [
    ("ipv4/conf/vrrp.51/arp_ignore", "1"),
    ("ipv4/conf/vrrp.51/accept_local", "1"),
    ("ipv4/conf/vrrp.51/promote_secondaries", "1"),
    ("ipv6/conf/vrrp.51/disable_ipv6", "1"),
    ("ipv6/conf/vrrp.51/addr_gen_mode", "1"),
    ("ipv4/conf/eth0/arp_ignore", "1"),
    ("ipv4/conf/eth0/arp_filter", "1"),
    ("ipv4/conf/eth0/arp_announce", "2"),
];

fn sysctl(lab: &Lab, n: &str, key: &str) -> String {
    sh_out(&format!(
        "ip netns exec {} cat /proc/sys/net/{key} 2>&1",
        lab.ns(n)
    ))
    .trim()
    .to_string()
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_backup_never_sends_from_the_virtual_mac() {
    as_root();
    let lab = Lab::up();
    // Every frame node 2 sends, from before it starts: its switch port receives them.
    let capture = common::wire::capture_frames(lab.ns("sw"), "v2", 14);
    let _n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    use_vmac\n")),
    );
    let mut n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &instance(100, "    use_vmac\n")),
    );
    wait_until("node 1 master on its vmac", Duration::from_secs(10), || {
        lab.holds("1", VIP, Some("vrrp.51"))
    });
    wait_until("node 2's vmac", Duration::from_secs(5), || {
        sh_out(&format!("ip -n {} link show vrrp.51", lab.ns("2"))).contains("vrrp.51")
    });
    // The client asks for both nodes' own addresses and the VIP (ARP, ping).
    for _ in 0..3 {
        sh(&format!(
            "ip -n {c} neigh flush all; ip netns exec {c} ping -c 1 -W 2 192.0.2.12 >/dev/null; ip netns exec {c} ping -c 1 -W 2 192.0.2.11 >/dev/null; ip netns exec {c} ping -c 1 -W 2 {VIP} >/dev/null",
            c = lab.ns("c")
        ));
        std::thread::sleep(Duration::from_secs(2));
    }
    let neigh = sh_out(&format!("ip -n {} neigh show 192.0.2.12", lab.ns("c")));
    assert!(
        neigh.contains(&lab.mac("2")),
        "node 2's own address at its own MAC: {neigh}"
    );
    let v6 = sh_out(&format!("ip -n {} -6 addr show dev vrrp.51", lab.ns("2")));
    assert!(v6.trim().is_empty(), "no IPv6 on the backup's vmac: {v6}");
    for n in ["1", "2"] {
        for (key, want) in VMAC_SYSCTLS {
            assert_eq!(sysctl(&lab, n, key), want, "node {n} {key}");
        }
    }
    let frames = capture.join().expect("capture");
    let vmac = [0u8, 0, 0x5e, 0, 1, 51];
    let leaked: Vec<String> = frames
        .iter()
        .filter(|f| f[6..12] == vmac)
        .map(|f| format!("{:02x?}", &f[..f.len().min(42)]))
        .collect();
    assert!(
        frames.len() > 3,
        "the capture saw node 2's frames: {}",
        frames.len()
    );
    assert!(
        leaked.is_empty(),
        "node 2 (BACKUP) sent {} of {} frames from the virtual MAC: {leaked:#?}",
        leaked.len(),
        frames.len()
    );
    // As keepalived, the base's ARP settings stay after the stop; the vmac goes.
    n2.term();
    assert_eq!(sysctl(&lab, "2", "ipv4/conf/eth0/arp_ignore"), "1");
    assert_eq!(sysctl(&lab, "2", "ipv4/conf/eth0/arp_filter"), "1");
    assert!(!sh_out(&format!("ip -n {} link show", lab.ns("2"))).contains("vrrp.51"));
}
