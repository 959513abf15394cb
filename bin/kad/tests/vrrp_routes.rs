//! Routes and rules on real links: `virtual_routes` / `virtual_rules` live on the MASTER only
//! and move with it on failover (neutron's default route, octavia's `table 1` routes and
//! `from VIP table 1` rule among them); `static_*` are there from start to stop, even without
//! any instance; and kad installs exactly what keepalived 2.2.7 installs for the same file.
//! As root; ignored when built with KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24,
//! 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 inside the test's own namespaces.

mod common;

use std::time::Duration;

use common::lab::*;
use common::*;

const ROUTES: &str = "    virtual_routes {
        0.0.0.0/0 via 192.0.2.1 dev eth0
        198.51.100.0/24 dev eth0 src 192.0.2.100 scope link table 1
        default via 192.0.2.1 dev eth0 onlink table 1
        blackhole 203.0.113.0/24 metric 20
        unreachable 203.0.113.128/25 table 2
        prohibit 198.51.100.128/25 table 2 protocol static
        throw 198.51.100.64/26 table 2 no_track
        2001:db8:1::/64 via 2001:db8::1 dev eth0 metric 30 mtu lock 1400
    }
    virtual_rules {
        from 192.0.2.100/32 table 1 priority 100
        to 192.0.2.100 table 1 priority 101
        not from 192.0.2.0/24 iif eth0 fwmark 0x10/0xff table 2 priority 102
        from 2001:db8::100 table 1 priority 103
        from all oif eth0 table 2 priority 104
    }
";

/// Lines of `ip route show table all` (both families) and `ip rule` (both) on node `n` that
/// kad or keepalived made (`proto keepalived`).
fn ours(lab: &Lab, n: &str) -> Vec<String> {
    let ns = lab.ns(n);
    let text = sh_out(&format!(
        "ip -n {ns} route show table all; ip -n {ns} -6 route show table all; ip -n {ns} rule; ip -n {ns} -6 rule"
    ));
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| l.contains("proto keepalived"))
        .map(|l| l.trim().to_string())
        .collect();
    // `ip route show table all` lists IPv6 routes too: one line each.
    v.sort();
    v.dedup();
    v
}

/// What the MASTER of [`ROUTES`] must have, as `ip` prints it.
const EXPECTED: &[&str] = &[
    "default via 192.0.2.1 dev eth0 proto keepalived",
    "198.51.100.0/24 dev eth0 table 1 proto keepalived scope link src 192.0.2.100",
    "default via 192.0.2.1 dev eth0 table 1 proto keepalived onlink",
    "blackhole 203.0.113.0/24 proto keepalived metric 20",
    "unreachable 203.0.113.128/25 table 2 proto keepalived",
    "prohibit 198.51.100.128/25 table 2 proto keepalived",
    "throw 198.51.100.64/26 table 2 proto keepalived",
    "2001:db8:1::/64 via 2001:db8::1 dev eth0 proto keepalived metric 30 mtu lock 1400 pref medium",
    "100:\tfrom 192.0.2.100 lookup 1 proto keepalived",
    "101:\tfrom all to 192.0.2.100 lookup 1 proto keepalived",
    "102:\tnot from 192.0.2.0/24 fwmark 0x10/0xff iif eth0 lookup 2 proto keepalived",
    "103:\tfrom 2001:db8::100 lookup 1 proto keepalived",
    "104:\tfrom all oif eth0 lookup 2 proto keepalived",
];

fn has_all(lab: &Lab, n: &str) -> bool {
    let have = ours(lab, n);
    EXPECTED.iter().all(|e| have.iter().any(|h| h == e))
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn virtual_routes_and_rules_follow_the_master() {
    as_root();
    let lab = Lab::up();
    let c1 = lab.config("n1.conf", &instance(150, ROUTES));
    let c2 = lab.config("n2.conf", &instance(100, ROUTES));
    let mut n1 = lab.kad("1", &c1);
    let mut n2 = lab.kad("2", &c2);
    lab.wait_master("1", Duration::from_secs(8));
    wait_until("node 1's routes and rules", Duration::from_secs(5), || {
        has_all(&lab, "1")
    });
    let have = ours(&lab, "1");
    assert_eq!(have.len(), EXPECTED.len(), "nothing more: {have:#?}");
    assert!(ours(&lab, "2").is_empty(), "backup: {:#?}", ours(&lab, "2"));
    // SIGTERM: node 1 leaves MASTER and removes them; node 2 takes over and adds them.
    n1.term();
    lab.wait_master("2", Duration::from_secs(5));
    wait_until("node 2's routes and rules", Duration::from_secs(5), || {
        has_all(&lab, "2")
    });
    assert!(
        ours(&lab, "1").is_empty(),
        "stopped: {:#?}",
        ours(&lab, "1")
    );
    // Node 1 comes back with the higher priority: they move back.
    let _n1 = lab.kad("1", &c1);
    lab.wait_master("1", Duration::from_secs(8));
    wait_until("back on node 1", Duration::from_secs(5), || {
        has_all(&lab, "1") && ours(&lab, "2").is_empty()
    });
    n2.term();
    // Every add and delete succeeded (a failure is logged as "adding …" / "removing …").
    let log = n2.log();
    assert!(
        !log.contains("adding ") && !log.contains("removing "),
        "{log}"
    );
}

const STATICS: &str = "static_ipaddress {
    198.51.100.9/24 dev eth0
}
static_routes {
    203.0.113.0/24 via 192.0.2.1 dev eth0 table 5
    blackhole 198.51.100.200/32
}
static_rules {
    from 198.51.100.9 table 5 priority 300
}
";

fn has_statics(lab: &Lab, n: &str) -> bool {
    let have = ours(lab, n);
    lab.holds(n, "198.51.100.9", Some("eth0"))
        && have.contains(&"203.0.113.0/24 via 192.0.2.1 dev eth0 table 5 proto keepalived".into())
        && have.contains(&"blackhole 198.51.100.200 proto keepalived".into())
        && have.contains(&"300:\tfrom 198.51.100.9 lookup 5 proto keepalived".into())
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn static_addresses_routes_and_rules_live_from_start_to_stop() {
    as_root();
    let lab = Lab::up();
    // Node 1 is MASTER; node 2 stays BACKUP and still has its statics, from its start.
    let _n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    lab.wait_master("1", Duration::from_secs(8));
    let mut n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &format!("{STATICS}{}", instance(100, ""))),
    );
    wait_until("statics on the backup", Duration::from_secs(5), || {
        has_statics(&lab, "2")
    });
    assert!(!lab.has_vip("2"));
    n2.term();
    assert!(ours(&lab, "2").is_empty(), "{:#?}", ours(&lab, "2"));
    assert!(!lab.holds("2", "198.51.100.9", None));
    // Without any vrrp_instance the VRRP child still runs to apply them.
    let mut n2 = lab.kad("2", &lab.config("s.conf", STATICS));
    wait_until("statics without instances", Duration::from_secs(5), || {
        has_statics(&lab, "2")
    });
    n2.term();
    assert!(ours(&lab, "2").is_empty(), "{:#?}", ours(&lab, "2"));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn kad_installs_what_keepalived_installs_for_the_same_file() {
    as_root();
    let lab = Lab::up();
    let conf = lab.config("n1.conf", &format!("{STATICS}{}", instance(150, ROUTES)));
    let mut ka = lab.keepalived("1", &conf);
    lab.wait_master("1", Duration::from_secs(8));
    let mut theirs = Vec::new();
    wait_until("keepalived's routes", Duration::from_secs(5), || {
        theirs = ours(&lab, "1");
        theirs.len() == EXPECTED.len() + 3
    });
    ka.term();
    wait_until("keepalived cleaned up", Duration::from_secs(5), || {
        ours(&lab, "1").is_empty()
    });
    let mut kad = lab.kad("1", &conf);
    lab.wait_master("1", Duration::from_secs(8));
    let mut mine = Vec::new();
    wait_until("kad's routes", Duration::from_secs(5), || {
        mine = ours(&lab, "1");
        mine.len() >= theirs.len()
    });
    assert_eq!(mine, theirs);
    kad.term();
    assert!(ours(&lab, "1").is_empty(), "{:#?}", ours(&lab, "1"));
}
