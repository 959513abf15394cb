//! GARP/NA pacing: vrrp_garp_interval, garp_master_repeat, the second burst after
//! garp_master_delay, garp_master_refresh, vrrp_min_garp, and vmacs.

use crate::Replay;

/// Two VIPs, two GARPs each, 0.5 s apart on the interface; repeat after 2 s.
const PACED: &str = "
global_defs {
    vrrp_garp_interval 0.5
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    garp_master_repeat 2
    garp_master_delay 2
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24
    }
}
";

#[test]
fn garps_are_spaced_by_vrrp_garp_interval_and_repeated_after_garp_master_delay() {
    let mut r = Replay::new(&[("a", PACED)]);
    r.run(
        "
> start
< ...
> next
= time 3.609
< advert VI_1 prio 100 to 224.0.0.18
< add VI_1 192.0.2.100/24@2 192.0.2.101/24@2
< VI_1 MASTER 100
# All four are queued: the first due at once.
= deadline 3.609
> timer
< garp eth0 192.0.2.100
= deadline 4.109
> next
< garp eth0 192.0.2.101
> next
= time 4.609
< garp eth0 192.0.2.100
< advert VI_1 prio 100 to 224.0.0.18
> next
= time 5.109
< garp eth0 192.0.2.101
# garp_master_delay: the second burst 2 s after becoming MASTER, paced the same way.
# (Queued at 5.609 with the advert, sent on the loop's next turn at the same instant.)
> next
= time 5.609
< advert VI_1 prio 100 to 224.0.0.18
> next
= time 5.609
< garp eth0 192.0.2.100
> next
= time 6.109
< garp eth0 192.0.2.101
",
    );
}

#[test]
fn vrrp_min_garp_sends_one_garp_per_address_and_no_second_burst() {
    let conf = "
global_defs {
    vrrp_min_garp
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
";
    let mut r = Replay::new(&[("a", conf)]);
    r.run(
        "
> start
< ...
> next
< advert VI_1 prio 100 to 224.0.0.18
< add VI_1 192.0.2.100/24@2
< garp eth0 192.0.2.100
< VI_1 MASTER 100
# Only adverts from now on.
= deadline 4.609
",
    );
}

#[test]
fn garp_master_refresh_repeats_the_burst_while_master() {
    let conf = "
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    garp_master_repeat 1
    garp_master_delay 0
    garp_master_refresh 2
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
> next
< ...
> next
< advert VI_1 prio 100 to 224.0.0.18
> next
= time 5.609
< garp eth0 192.0.2.100
< advert VI_1 prio 100 to 224.0.0.18
> at 6 advert 192.0.2.2 prio 150
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
# The refresh at 7.609 finds a BACKUP: nothing goes out, and no refresh is planned again.
> at 7.61 timer
= deadline 9.609
",
    );
}

/// `garp_master_refresh_repeat` (not `garp_master_repeat`) sets the size of each refresh burst.
#[test]
fn garp_master_refresh_repeat_sets_the_refresh_burst() {
    let conf = "
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    garp_master_repeat 1
    garp_master_delay 0
    garp_master_refresh 2
    garp_master_refresh_repeat 3
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
> next
< ...
> next
< advert VI_1 prio 100 to 224.0.0.18
> next
= time 5.609
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< advert VI_1 prio 100 to 224.0.0.18
",
    );
}

#[test]
fn a_vmac_instance_lives_on_its_macvlan_and_announces_with_the_virtual_mac() {
    let conf = "
vrrp_instance VI_1 {
    interface eth0
    use_vmac
    virtual_router_id 5
    priority 100
    advert_int 1
    garp_master_repeat 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";
    let mut r = Replay::new(&[("a", conf), ("b", "")]);
    r.run(
        "
> start
< open eth0 from 192.0.2.1 join 224.0.0.18
< vmac vrrp.5 on eth0
< open vrrp.5 from 192.0.2.1 join 224.0.0.18
< del VI_1 192.0.2.100/24@101
< VI_1 BACKUP 100
> next
< advert VI_1 prio 100 to 224.0.0.18
< add VI_1 192.0.2.100/24@101
< garp vrrp.5 192.0.2.100
< VI_1 MASTER 100
# A reload that keeps the instance keeps its vmac (running, though the configuration does not
# name it): still MASTER.
> at 3.8 reload a
= VI_1 state MASTER
> at 4 reload b
< advert VI_1 prio 0 to 224.0.0.18
< del VI_1 192.0.2.100/24@101
< VI_1 STOP 100
< delete vmac vrrp.5
",
    );
}
