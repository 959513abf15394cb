//! Reload plans: an unchanged instance keeps its state (with a VIP diff), a removed one stops,
//! a new one starts, a changed identity restarts.

use crate::election::{ONE, TO_MASTER};
use crate::Replay;

/// `ONE` plus a second VIP and a new instance VI_2 on eth1.
const GROWN: &str = "
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 90
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24
    }
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 2
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.100/24
    }
}
";

/// Only VI_2.
const ONLY_2: &str = "
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 2
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.100/24
    }
}
";

#[test]
fn a_kept_master_applies_the_vip_diff_and_a_new_instance_starts() {
    let mut r = Replay::new(&[("a", ONE), ("b", GROWN)]);
    r.run(TO_MASTER);
    r.run(
        "
> at 4 reload b
< add VI_1 192.0.2.101/24@2
< open eth1 from 198.51.100.1 join 224.0.0.18
< del VI_2 198.51.100.100/24@3
< VI_2 BACKUP 100
= VI_1 state MASTER
= VI_1 become_master 1
= VI_1 advert_sent 1
# The new base priority is in the next advert.
= VI_1 priority 90
> next
= time 4.609
< advert VI_1 prio 90 to 224.0.0.18
# And back: VI_1's extra VIP goes, VI_2 stays as it is.
> at 5 reload a
< del VI_1 192.0.2.101/24@2
< VI_2 STOP 100
",
    );
}

#[test]
fn a_removed_master_stops_with_priority_0_and_a_changed_vrid_restarts() {
    let changed = ONE.replace("virtual_router_id 1", "virtual_router_id 7");
    let mut r = Replay::new(&[("a", ONE), ("b", ONLY_2), ("c", &changed)]);
    r.run(TO_MASTER);
    r.run(
        "
> at 4 reload b
< open eth1 from 198.51.100.1 join 224.0.0.18
< advert VI_1 prio 0 to 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 STOP 100
< del VI_2 198.51.100.100/24@3
< VI_2 BACKUP 100
> at 5 reload c
< join eth0 224.0.0.18
< VI_2 STOP 100
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
= VI_1 become_master 0
",
    );
}

#[test]
fn a_reload_of_the_same_configuration_changes_nothing() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run(
        "
> at 4 reload a
= VI_1 state MASTER
= deadline 4.609
",
    );
}
