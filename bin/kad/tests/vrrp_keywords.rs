//! keepalived 2.2.7 keywords kad now acts on, on real links (a [`Lab`] of namespaces, a real
//! keepalived peer where the behaviour is on the wire; docs/reference/keepalived-2.2.7.md §7,
//! §8): a VIP deleted by hand (`no_track`), lower- and higher-priority adverts
//! (`garp_lower_prio_*`, `higher_prio_send_advert`, `notify_master_rx_lower_pri`), the address-list check of received
//! adverts, `dont_track_primary` and `vrrp_startup_delay`. As root; ignored when built with
//! KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24 inside the test's own namespaces.

mod common;

use std::time::{Duration, Instant};

use common::lab::*;
use common::wire::*;
use common::*;

/// `instance(priority, extra)` with a second VIP, 192.0.2.101 (`first` is the line of VIP).
fn two_vips(priority: u8, first: &str) -> String {
    instance(priority, "").replace(
        &format!("        {VIP}/24\n"),
        &format!("        {first}\n        192.0.2.101/24\n"),
    )
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_vip_deleted_under_the_master_makes_it_leave_master_unless_no_track() {
    as_root();
    let lab = Lab::up();
    // keepalived (§7): BACKUP, priority 0, every VIP removed; alone, MASTER again at once.
    let n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &two_vips(150, "192.0.2.100/24")),
    );
    lab.wait_master("1", Duration::from_secs(8));
    sh(&format!("ip -n {} addr del {VIP}/24 dev eth0", lab.ns("1")));
    wait_until("master again", Duration::from_secs(5), || {
        n1.log().matches("(VI_1) Entering MASTER STATE").count() == 2
    });
    let log = n1.log();
    assert!(
        log.contains("removed from under us; leaving MASTER"),
        "{log}"
    );
    assert_eq!(
        log.matches("(VI_1) Entering BACKUP STATE").count(),
        2,
        "{log}"
    );
    lab.wait_master("1", Duration::from_secs(3));
    assert!(lab.holds("1", "192.0.2.101", None));
    drop(n1);
    // With no_track nothing happens: still MASTER, the VIP stays deleted, the other stays.
    let lab = Lab::up();
    let n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &two_vips(150, "192.0.2.100/24 no_track")),
    );
    lab.wait_master("1", Duration::from_secs(8));
    sh(&format!("ip -n {} addr del {VIP}/24 dev eth0", lab.ns("1")));
    std::thread::sleep(Duration::from_secs(3));
    assert!(!lab.has_vip("1"), "a no_track VIP is not put back");
    assert!(lab.holds("1", "192.0.2.101", None));
    let log = n1.log();
    assert_eq!(
        log.matches("(VI_1) Entering BACKUP STATE").count(),
        1,
        "{log}"
    );
    assert!(!log.contains("removed from under us"), "{log}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_master_hearing_keepalived_at_a_lower_priority_sends_its_garp_bursts() {
    as_root();
    let lab = Lab::up();
    // keepalived with higher_prio_send_advert answers kad's preempting advert with its own
    // (priority 100) before it goes BACKUP: kad, MASTER by then, hears a lower priority.
    let ka = lab.keepalived(
        "2",
        &lab.config("n2.conf", &instance(100, "    higher_prio_send_advert\n")),
    );
    lab.wait_master("2", Duration::from_secs(8));
    let (notes, script) = lab.recording_script("lower.sh", false);
    let conf = format!(
        "global_defs {{\n    vrrp_garp_master_repeat 1\n    vrrp_garp_master_delay 0\n}}\n{}",
        instance(
            150,
            &format!("    garp_lower_prio_repeat 2\n    garp_lower_prio_delay 2\n    notify_master_rx_lower_pri {}\n", script.display())
        )
    );
    let capture = capture_garps(lab.ns("c"), 10);
    let n1 = lab.kad("1", &lab.config("n1.conf", &conf));
    lab.wait_master("1", Duration::from_secs(8));
    lab.wait_not_master("2", Duration::from_secs(3));
    let mac: Vec<u8> = lab
        .mac("1")
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).expect("mac"))
        .collect();
    let garps = capture.join().expect("capture");
    let ours = garps.iter().filter(|(_, f)| f[6..12] == mac[..]).count();
    let log = n1.log();
    let heard = log
        .matches("(VI_1) Received advert from 192.0.2.12 with lower priority 100, ours 150, forcing new election")
        .count();
    assert!(heard >= 1, "{log}\n{}", ka.log());
    // 1 on becoming MASTER, then 2 at once and 2 after 2 s per lower-priority advert heard.
    assert_eq!(ours, 1 + 4 * heard, "{log}");
    // notify_master_rx_lower_pri ran once per advert heard (no extra argument).
    wait_until(
        "notify_master_rx_lower_pri ran",
        Duration::from_secs(3),
        || std::fs::read_to_string(&notes).is_ok_and(|t| t.lines().count() == heard),
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn higher_prio_send_advert_answers_a_preempting_keepalived() {
    as_root();
    let lab = Lab::up();
    let _n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(100, "    higher_prio_send_advert\n")),
    );
    lab.wait_master("1", Duration::from_secs(8));
    let ka = lab.keepalived("2", &lab.config("n2.conf", &instance(150, "")));
    lab.wait_master("2", Duration::from_secs(8));
    lab.wait_not_master("1", Duration::from_secs(3));
    // keepalived, MASTER, heard kad's answer (priority 100) to its own advert.
    wait_until(
        "keepalived heard kad's answer",
        Duration::from_secs(3),
        || {
            ka.log().contains(
            "(VI_1) Received advert from 192.0.2.11 with lower priority 100, ours 150, forcing new election",
        )
        },
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn an_advert_whose_addresses_differ_is_not_heard_as_keepalived_does() {
    as_root();
    let lab = Lab::up();
    // keepalived MASTER with another VIP list: kad drops its adverts and takes over too.
    let other = instance(150, "").replace(VIP, "192.0.2.101");
    let _ka = lab.keepalived("2", &lab.config("n2.conf", &other));
    wait_until("keepalived master", Duration::from_secs(8), || {
        lab.holds("2", "192.0.2.101", None)
    });
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(100, "")));
    lab.wait_master("1", Duration::from_secs(8));
    let log = n1.log();
    assert!(
        log.contains(
            "(VI_1) ip address associated with VRID 51 not present in MASTER advert: 192.0.2.100"
        ),
        "{log}"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn dont_track_primary_keeps_master_through_carrier_loss() {
    as_root();
    let lab = Lab::up();
    let n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    dont_track_primary\n")),
    );
    lab.wait_master("1", Duration::from_secs(8));
    lab.unplug("1");
    wait_until("the link event seen", Duration::from_secs(3), || {
        n1.log().contains("interface eth0 is down")
    });
    assert!(!n1.log().contains("FAULT"), "{}", n1.log());
    assert!(lab.has_vip("1"));
    lab.plug("1");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn vrrp_startup_delay_holds_the_instances_back() {
    as_root();
    let lab = Lab::up();
    let conf = format!(
        "global_defs {{\n    vrrp_startup_delay 4\n}}\n{}",
        instance(150, "")
    );
    let t0 = Instant::now();
    let n1 = lab.kad("1", &lab.config("n1.conf", &conf));
    lab.wait_master("1", Duration::from_secs(15));
    // 4 s of delay, then the master-down interval (3 s and more).
    assert!(t0.elapsed() >= Duration::from_secs(7), "{:?}", t0.elapsed());
    assert!(n1.log().contains("Delaying startup for 4 seconds"));
}
