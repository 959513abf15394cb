//! VRRP elections between kad nodes on real links (a [`Lab`] of namespaces joined by a
//! bridge): election, failover on SIGTERM and on a crash, preemption and nopreempt,
//! preempt_delay, split brain, a respawned VRRP child, IPv6 with unsolicited NAs, carrier
//! loss, and GARP pacing. As root; ignored when built with
//! KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24 and 2001:db8::/64 inside the test's own
//! namespaces.

mod common;

use std::time::{Duration, Instant};

use common::lab::*;
use common::wire::*;
use common::*;

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn kad_pair_elects_fails_over_on_sigterm_and_preempts_back() {
    as_root();
    let lab = Lab::up();
    let c1 = lab.config("n1.conf", &instance(150, PASS));
    let c2 = lab.config("n2.conf", &instance(100, PASS));
    let mut n1 = lab.kad("1", &c1);
    let _n2 = lab.kad("2", &c2);
    let took = lab.wait_master("1", Duration::from_secs(8));
    assert!(
        took > Duration::from_secs(3),
        "took {took:?}: a backup waits its master-down interval first"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!lab.has_vip("2"), "exactly one master");
    // The client reaches the VIP through node 1.
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
    assert!(
        lab.client_neigh().contains(&lab.mac("1")),
        "{}",
        lab.client_neigh()
    );
    // SIGTERM: priority 0, node 2 takes over after its skew time, its GARP moves the client.
    n1.term();
    let took = lab.wait_master("2", Duration::from_secs(3));
    assert!(
        took < Duration::from_secs(2),
        "failover after SIGTERM took {took:?}"
    );
    assert!(!lab.has_vip("1"), "the stopping master removed its VIP");
    wait_until(
        "client's ARP entry moved by GARP",
        Duration::from_secs(2),
        || lab.client_neigh().contains(&lab.mac("2")),
    );
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
    // Node 1 returns with the higher priority and preempts.
    let _n1 = lab.kad("1", &c1);
    lab.wait_master("1", Duration::from_secs(8));
    lab.wait_not_master("2", Duration::from_secs(3));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_crashed_master_is_replaced_after_the_master_down_interval() {
    as_root();
    let lab = Lab::up();
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    let n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    lab.wait_master("1", Duration::from_secs(8));
    n1.crash();
    let took = lab.wait_master("2", Duration::from_secs(6));
    assert!(
        took > Duration::from_millis(2500),
        "{took:?}: no priority 0 was sent, so the backup waited"
    );
    assert!(n2.log().contains("(VI_1) Entering MASTER STATE"));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn split_brain_heals_to_the_higher_address_at_equal_priority() {
    as_root();
    let lab = Lab::up();
    // Both nodes silently isolated (carrier stays up): both become MASTER.
    lab.cut("1");
    lab.cut("2");
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(100, "")));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("both masters", Duration::from_secs(8), || {
        lab.has_vip("1") && lab.has_vip("2")
    });
    // Healed: the masters hear each other; the RFC tie-break keeps the higher address (.12).
    lab.heal("1");
    lab.heal("2");
    lab.wait_not_master("1", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(2));
    assert!(lab.has_vip("2") && !lab.has_vip("1"));
    // kad makes the split brain visible: logged once, counted, shown in the dump and JSON.
    let log1 = n1.log();
    let line = "split brain: 192.0.2.12 is also MASTER with equal priority 100";
    assert_eq!(log1.matches(line).count(), 1, "{log1}");
    // SAFETY: signalling the kad parent this test started.
    unsafe {
        libc::kill(n1.proc.id() as i32, libc::SIGUSR1);
        libc::kill(n1.proc.id() as i32, libc::SIGRTMIN() + 2);
    }
    let root = format!("/proc/{}/root/tmp", n1.proc.id());
    wait_until(
        "dumps with the split brain count",
        Duration::from_secs(5),
        || {
            let data =
                std::fs::read_to_string(format!("{root}/keepalived.data")).unwrap_or_default();
            let json =
                std::fs::read_to_string(format!("{root}/keepalived.json")).unwrap_or_default();
            data.contains("   Split brain adverts seen = ")
                && !data.contains("   Split brain adverts seen = 0\n")
                && json.contains("\"split_brain\": ")
                && !json.contains("\"split_brain\": 0")
        },
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn nopreempt_keeps_the_current_master() {
    as_root();
    let lab = Lab::up();
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    lab.wait_master("2", Duration::from_secs(8));
    let _n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    nopreempt\n")),
    );
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        lab.has_vip("2") && !lab.has_vip("1"),
        "the higher priority did not preempt"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_respawned_vrrp_child_converges_to_one_master() {
    as_root();
    let lab = Lab::up();
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    lab.wait_master("1", Duration::from_secs(8));
    let child = sh_out(&format!("pgrep -P {} -f 'kad: vrrp'", n1.proc.id()));
    let child = sh_out("pgrep -x 'kad: vrrp'")
        .split_whitespace()
        .find(|p| {
            sh_out(&format!("cat /proc/{p}/status")).contains(&format!("PPid:\t{}", n1.proc.id()))
        })
        .map(str::to_string)
        .or_else(|| child.split_whitespace().next().map(str::to_string))
        .expect("node 1's VRRP child");
    sh(&format!("kill -9 {child}"));
    wait_until("respawn logged", Duration::from_secs(3), || {
        n1.log()
            .contains(&format!("(pid {child}) killed by signal 9"))
    });
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        lab.has_vip("1") != lab.has_vip("2"),
        "exactly one node holds the VIP"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ipv6_kad_pair_elects_and_fails_over_with_unsolicited_na() {
    as_root();
    let lab = Lab::up();
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &instance6(150)));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance6(100)));
    lab.wait_master6("1", Duration::from_secs(8));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!lab.has_vip6("2"));
    sh(&format!(
        "ip netns exec {} ping -6 -c 1 -W 2 {VIP6} >/dev/null",
        lab.ns("c")
    ));
    let neigh = |lab: &Lab| sh_out(&format!("ip -n {} -6 neigh show {VIP6}", lab.ns("c")));
    assert!(neigh(&lab).contains(&lab.mac("1")), "{}", neigh(&lab));
    n1.term();
    let took = lab.wait_master6("2", Duration::from_secs(3));
    assert!(took < Duration::from_secs(2), "{took:?}");
    wait_until(
        "client's neighbour entry moved by the NA",
        Duration::from_secs(2),
        || neigh(&lab).contains(&lab.mac("2")),
    );
    sh(&format!(
        "ip netns exec {} ping -6 -c 1 -W 2 {VIP6} >/dev/null",
        lab.ns("c")
    ));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn losing_carrier_means_fault_and_the_backup_takes_over() {
    as_root();
    let lab = Lab::up();
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    lab.wait_master("1", Duration::from_secs(8));
    lab.unplug("1");
    wait_until(
        "node 1 in FAULT without its VIP",
        Duration::from_secs(3),
        || n1.log().contains("(VI_1) Entering FAULT STATE") && !lab.has_vip("1"),
    );
    lab.wait_master("2", Duration::from_secs(6));
    lab.plug("1");
    lab.wait_master("1", Duration::from_secs(8));
    lab.wait_not_master("2", Duration::from_secs(3));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn preempt_delay_holds_back_a_higher_priority_node() {
    as_root();
    let lab = Lab::up();
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    lab.wait_master("2", Duration::from_secs(8));
    let t0 = Instant::now();
    let _n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    preempt_delay 6\n")),
    );
    lab.wait_master("1", Duration::from_secs(15));
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(6),
        "preempted after {took:?}, before preempt_delay 6"
    );
    lab.wait_not_master("2", Duration::from_secs(3));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn garp_bursts_are_paced_by_vrrp_garp_interval_and_repeated_after_the_delay() {
    as_root();
    let lab = Lab::up();
    let conf = format!(
        "global_defs {{\n    vrrp_garp_interval 0.2\n    vrrp_garp_master_repeat 3\n    vrrp_garp_master_delay 2\n}}\n{}",
        instance(150, "")
    );
    let capture = capture_garps(lab.ns("c"), 9);
    let _n1 = lab.kad("1", &lab.config("n1.conf", &conf));
    let garps = capture.join().expect("capture");
    assert_eq!(
        garps.len(),
        6,
        "two bursts of three: {:?}",
        garps.iter().map(|g| g.0).collect::<Vec<_>>()
    );
    let mac = lab.mac("1").replace(':', "");
    for (_, frame) in &garps {
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        // keepalived's frame: ARP request, sender = target = VIP, target MAC ff:ff:ff:ff:ff:ff.
        let want =
            format!("ffffffffffff{mac}08060001080006040001{mac}c0000264ffffffffffffc0000264");
        assert_eq!(hex, want);
    }
    let gaps: Vec<Duration> = garps.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for g in [gaps[0], gaps[1], gaps[3], gaps[4]] {
        assert!(
            g >= Duration::from_millis(170) && g < Duration::from_secs(1),
            "in-burst gap {g:?} (interval 0.2 s): {gaps:?}"
        );
    }
    assert!(
        gaps[2] >= Duration::from_millis(1500),
        "second burst after garp_master_delay 2: {gaps:?}"
    );
}
