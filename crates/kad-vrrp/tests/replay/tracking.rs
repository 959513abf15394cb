//! Tracking: track_script and track_interface weights, FAULT, the instance's own interface,
//! and sync groups moving (and failing) together.

use crate::Replay;

/// VI_1 on eth0 at priority 100, tracking a weighted script, a weight-0 script, a weighted
/// interface and a weight-0 interface.
const TRACKED: &str = "
vrrp_script weighted {
    script /bin/true
    weight -60
}
vrrp_script vital {
    script /bin/true
    weight 0
}
vrrp_script bonus {
    script /bin/true
    weight 20
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    track_script {
        weighted
        vital
        bonus
    }
    track_interface {
        eth1 weight -30
        dummy0
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";

#[test]
fn script_and_interface_weights_move_the_effective_priority() {
    let mut r = Replay::new(&[("a", TRACKED)]);
    r.run(
        "
# Every script is up until told otherwise: 100 + 20 (bonus up).
> start
< ...
= VI_1 priority 120
> at 1 script weighted fail
= VI_1 priority 60
> at 2 script bonus fail
= VI_1 priority 40
> at 3 link eth1 down
= VI_1 priority 10
# Clamped at 1.
> at 3.5 script weighted ok
= VI_1 priority 70
> at 4 script bonus ok
> at 4 link eth1 up
= VI_1 priority 120
= VI_1 state BACKUP
",
    );
}

#[test]
fn a_weight_0_script_or_interface_down_is_fault_and_back_up_is_backup() {
    let mut r = Replay::new(&[("a", TRACKED)]);
    r.run(
        "
> start
< ...
> next
< advert VI_1 prio 120 to 224.0.0.18
< ...
= VI_1 state MASTER
# A MASTER going to FAULT says so with priority 0 and drops its VIPs.
> at 4 script vital fail
< advert VI_1 prio 0 to 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 FAULT 120
# The second GARP burst (MASTER at 3.609 s: the down timer was set at priority 100, before
# tracking raised it; + garp_master_delay 5 s) is still planned; it only goes to a MASTER.
= deadline 8.609
> at 5 script vital ok
< VI_1 BACKUP 120
# Back in BACKUP at 5 s: master-down at priority 120 is 3 + 136/256 s.
= deadline 8.531
> at 6 link dummy0 down
< VI_1 FAULT 120
# The instance's own interface going down is FAULT too, and coming up needs dummy0 as well.
> at 7 link eth0 down
> at 8 link dummy0 up
= VI_1 state FAULT
> at 9 link eth0 up
< VI_1 BACKUP 120
",
    );
}

#[test]
fn reverse_tracking_adds_the_weight_while_the_script_fails() {
    let conf = "
vrrp_script flip {
    script /bin/true
    weight 25
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    track_script {
        flip weight 25 reverse
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";
    let mut r = Replay::new(&[("a", conf)]);
    r.run(
        "
> start
< ...
= VI_1 priority 100
> at 1 script flip fail
= VI_1 priority 125
",
    );
}

/// Two instances on two links in one sync group, which tracks dummy0.
const GROUP: &str = "
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_interface {
        dummy0
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 2
    priority 100
    advert_int 1
    garp_master_repeat 1
    virtual_ipaddress {
        198.51.100.100/24
    }
}
";

#[test]
fn sync_group_members_become_master_and_fall_back_together() {
    let mut r = Replay::new(&[("a", GROUP)]);
    r.run(
        "
> start
< open eth0 from 192.0.2.1 join 224.0.0.18
< open eth1 from 198.51.100.1 join 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
< del VI_2 198.51.100.100/24@3
< VI_2 BACKUP 100
# VI_2 hears a master; VI_1 does not, and its becoming MASTER pulls VI_2 up at once.
> at 3 advert 198.51.100.2 on eth1 vrid 2 prio 150
> at 3.61 timer
< advert VI_1 prio 100 to 224.0.0.18
< add VI_1 192.0.2.100/24@2
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< VI_1 MASTER 100
< advert VI_2 prio 100 to 224.0.0.18
< add VI_2 198.51.100.100/24@3
< garp eth1 198.51.100.100
< VI_2 MASTER 100
# A higher priority on eth1 takes VI_2 down, and VI_1 with it.
> at 4 advert 198.51.100.2 on eth1 vrid 2 prio 150
< del VI_2 198.51.100.100/24@3
< VI_2 BACKUP 100
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
",
    );
}

#[test]
fn a_member_or_the_group_s_tracked_interface_down_faults_every_member() {
    let mut r = Replay::new(&[("a", GROUP)]);
    r.run(
        "
> start
< ...
> at 1 link eth1 down
< VI_1 FAULT 100
< VI_2 FAULT 100
> at 2 link eth1 up
< VI_1 BACKUP 100
< VI_2 BACKUP 100
# The group's own track_interface: a link event for it faults the members.
> at 3 link dummy0 down
< VI_1 FAULT 100
< VI_2 FAULT 100
> at 4 link dummy0 up
< VI_1 BACKUP 100
< VI_2 BACKUP 100
",
    );
}

/// A sync group's own `track_script` counts as each member's (measured on keepalived 2.2.7:
/// `chk weight -20` in the group moved the member 100 -> 80; an unweighted weight-0 script down
/// synced the group to FAULT; `weight -20 reverse` failing gave 120).
#[test]
fn a_sync_group_track_script_counts_as_each_members_own() {
    let conf = "
vrrp_script chk {
    script /bin/true
    weight -30
}
vrrp_script vital {
    script /bin/true
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_script {
        chk weight -20
        vital
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 2
    priority 90
    advert_int 1
    virtual_ipaddress {
        198.51.100.100/24
    }
}
";
    let mut r = Replay::new(&[("a", conf)]);
    r.run(
        "
> start
< ...
= VI_1 state BACKUP
= VI_2 state BACKUP
# The group's weight (-20), not the script's (-30), moves every member.
> at 1 script chk fail
= VI_1 priority 80
= VI_2 priority 70
> at 1.5 script chk ok
= VI_1 priority 100
= VI_2 priority 90
# A weight-0 script of the group down: every member in FAULT, and back.
> at 2 script vital fail
< VI_1 FAULT 100
< VI_2 FAULT 90
> at 3 script vital ok
< VI_1 BACKUP 100
< VI_2 BACKUP 90
",
    );
}
