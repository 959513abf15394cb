//! Routes and rules: `virtual_*` added after the VIPs on becoming MASTER and removed before
//! them on leaving it (and at a clean start); `static_*` added at start, before any instance,
//! and removed at shutdown after the instances; a reload applies the differences.

use crate::Replay;

/// One instance with routes (one on eth0, one with no `dev`, one on a missing interface,
/// left out) and rules, plus static blocks.
const ROUTED: &str = "
static_ipaddress {
    198.51.100.9/24 dev eth1
}
static_routes {
    203.0.113.0/24 via 198.51.100.1 dev eth1 table 5
}
static_rules {
    from 198.51.100.9 table 5 priority 300
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
    virtual_routes {
        0.0.0.0/0 via 192.0.2.254 dev eth0
        blackhole 203.0.113.128/25
        198.51.100.0/28 via 192.0.2.254 dev nosuch0
    }
    virtual_rules {
        from 192.0.2.100 table 1 priority 100
    }
}
";

const START: &str = "
> start
< add static 198.51.100.9/24@3
< add routes static 203.0.113.0/24@3 rules 300
< open eth0 from 192.0.2.1 join 224.0.0.18
< del routes VI_1 0.0.0.0/0@2 203.0.113.128/25 rules 100
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
> next
= time 3.609
< advert VI_1 prio 100 to 224.0.0.18
< add VI_1 192.0.2.100/24@2
< add routes VI_1 0.0.0.0/0@2 203.0.113.128/25 rules 100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< VI_1 MASTER 100
";

#[test]
fn virtual_routes_follow_master_and_statics_live_from_start_to_shutdown() {
    let mut r = Replay::new(&[("a", ROUTED)]);
    r.run(START);
    r.run(
        "
# A higher priority master: leaving MASTER removes rules and routes, then the VIPs.
> at 4 advert 192.0.2.2 prio 150
< del routes VI_1 0.0.0.0/0@2 203.0.113.128/25 rules 100
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
> at 5 shutdown
< VI_1 STOP 100
< del routes static 203.0.113.0/24@3 rules 300
< del static 198.51.100.9/24@3
",
    );
}

#[test]
fn a_reload_applies_the_route_and_static_differences() {
    let changed = ROUTED
        .replace("blackhole 203.0.113.128/25", "blackhole 203.0.113.64/26")
        .replace("table 5 priority 300", "table 6 priority 301");
    let mut r = Replay::new(&[("a", ROUTED), ("b", &changed)]);
    r.run(START);
    r.run(
        "
> at 4 reload b
< del routes static rules 300
< add static 198.51.100.9/24@3
< add routes static 203.0.113.0/24@3 rules 301
< del routes VI_1 203.0.113.128/25
< add routes VI_1 203.0.113.64/26
= VI_1 state MASTER
",
    );
}
