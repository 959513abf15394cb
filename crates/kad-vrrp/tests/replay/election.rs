//! Election: start, master-down timer, preemption, preempt_delay, nopreempt, the address owner,
//! split brain, priority 0, shutdown.

use crate::Replay;

/// One instance on eth0 (192.0.2.1), priority 100, advert_int 1, one VIP.
pub const ONE: &str = "
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

/// `ONE` started and MASTER at 3.609 s (the master-down interval: 3 × 1 s + skew 156/256 s).
pub const TO_MASTER: &str = "
> start
< open eth0 from 192.0.2.1 join 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
> next
= time 3.609
< advert VI_1 prio 100 to 224.0.0.18
< add VI_1 192.0.2.100/24@2
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< VI_1 MASTER 100
";

fn with(extra: &str) -> String {
    ONE.replace(
        "    priority 100\n",
        &format!("    priority 100\n    {extra}\n"),
    )
}

#[test]
fn a_lone_backup_becomes_master_after_the_master_down_interval_then_adverts_every_second() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run(
        "
= VI_1 state MASTER
= VI_1 become_master 1
= VI_1 advert_sent 1
= deadline 4.609
> next
< advert VI_1 prio 100 to 224.0.0.18
> next
= time 5.609
< advert VI_1 prio 100 to 224.0.0.18
= VI_1 advert_sent 3
",
    );
}

#[test]
fn a_higher_priority_master_keeps_us_backup_and_restarts_the_down_timer() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(
        "
> start
< ...
> at 3 advert 192.0.2.2 prio 150
= VI_1 state BACKUP
= VI_1 advert_rcvd 1
= deadline 6.609
> at 6 advert 192.0.2.2 prio 150
= deadline 9.609
> at 9.61 timer
< advert VI_1 prio 100 to 224.0.0.18
< ...
= VI_1 state MASTER
",
    );
}

#[test]
fn a_master_yields_to_a_higher_priority_and_preempts_a_lower_one() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run(
        "
> at 4 advert 192.0.2.2 prio 150
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
= VI_1 release_master 1
# The other router falls to priority 50: preempt (the default) ignores it, the down timer
# runs out 3.609 s after the last advert at 150.
> at 5 advert 192.0.2.2 prio 50
= deadline 7.609
> next
< advert VI_1 prio 100 to 224.0.0.18
< ...
= VI_1 state MASTER
# As MASTER, a lower priority is answered at once (an extra advert: the regular pace is
# kept) with a GARP burst (see keywords.rs).
> at 8 advert 192.0.2.2 prio 50
< advert VI_1 prio 100 to 224.0.0.18
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
= deadline 8.609
",
    );
}

#[test]
fn nopreempt_listens_to_a_lower_priority_master() {
    let mut r = Replay::new(&[("a", &with("nopreempt"))]);
    r.run(
        "
> start
< ...
> at 1 advert 192.0.2.2 prio 50
> at 2 advert 192.0.2.2 prio 50
> at 3 advert 192.0.2.2 prio 50
= deadline 6.609
> at 3.609 timer
= VI_1 state BACKUP
",
    );
    // The same adverts without nopreempt are ignored: MASTER at 3.609.
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(
        "
> start
< ...
> at 1 advert 192.0.2.2 prio 50
> at 2 advert 192.0.2.2 prio 50
> at 3 advert 192.0.2.2 prio 50
= deadline 3.609
> at 3.61 timer
< advert VI_1 prio 100 to 224.0.0.18
< ...
= VI_1 state MASTER
",
    );
}

#[test]
fn preempt_delay_accepts_a_lower_priority_master_until_it_has_passed() {
    let mut r = Replay::new(&[("a", &with("preempt_delay 5"))]);
    r.run(
        "
> start
< ...
# Within the 5 s delay a lower-priority master is still followed...
> at 3 advert 192.0.2.2 prio 50
> at 4.9 advert 192.0.2.2 prio 50
= deadline 8.509
# ...after it, its adverts are ignored and the down timer takes over.
> at 5.5 advert 192.0.2.2 prio 50
> at 6.5 advert 192.0.2.2 prio 50
= deadline 8.509
> next
< advert VI_1 prio 100 to 224.0.0.18
< ...
= VI_1 state MASTER
",
    );
}

#[test]
fn the_address_owner_is_master_at_once_and_keeps_priority_255() {
    let conf = ONE.replace("priority 100", "priority 255")
        + "
vrrp_script chk {
    script /bin/true
    weight -50
}
";
    let conf = conf.replace(
        "advert_int 1\n",
        "advert_int 1\n    track_script {\n        chk\n    }\n",
    );
    let mut r = Replay::new(&[("a", &conf)]);
    r.run(
        "
> start
< open eth0 from 192.0.2.1 join 224.0.0.18
< del VI_1 192.0.2.100/24@2
< advert VI_1 prio 255 to 224.0.0.18
< add VI_1 192.0.2.100/24@2
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< VI_1 MASTER 255
# A failing weighted script does not lower an owner.
> at 1 script chk fail
= VI_1 priority 255
# A lower priority never takes over; it is answered.
> at 1.5 advert 192.0.2.2 prio 254
< advert VI_1 prio 255 to 224.0.0.18
< ...
= VI_1 state MASTER
",
    );
}

#[test]
fn an_equal_priority_master_with_a_higher_address_wins_the_split_brain() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run(
        "
# A lower address at equal priority: we stay MASTER and tell it.
> at 4 advert 192.0.2.0 prio 100
< advert VI_1 prio 100 to 224.0.0.18
= VI_1 split_brain 1
> at 4.5 advert 192.0.2.2 prio 100
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
= VI_1 split_brain 2
",
    );
}

#[test]
fn a_priority_0_advert_makes_the_backup_take_over_after_the_skew_time() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(
        "
> start
< ...
> at 1 advert 192.0.2.2 prio 150
> at 2 advert 192.0.2.2 prio 0
= VI_1 pri_zero_rcvd 1
= deadline 2.609
> next
< advert VI_1 prio 100 to 224.0.0.18
< ...
",
    );
}

#[test]
fn shutdown_of_a_master_sends_priority_0_and_removes_the_vips() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run(
        "
> at 4 shutdown
< advert VI_1 prio 0 to 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 STOP 100
= VI_1 pri_zero_sent 1
= deadline 8.609
",
    );
}

#[test]
fn unicast_peers_get_one_advert_each_and_with_check_unicast_src_only_they_are_heard() {
    let conf = ONE.replace(
        "advert_int 1\n",
        "advert_int 1\n    check_unicast_src\n    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n        192.0.2.3\n    }\n",
    );
    let mut r = Replay::new(&[("a", &conf)]);
    r.run(
        "
> start
< open eth0 from 192.0.2.1
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
> at 1 advert 192.0.2.9 to 192.0.2.1 prio 150
< drop unknown_unicast_peer VI_1 logged
= drops unknown_unicast_peer 1
> next
< advert VI_1 prio 100 to 192.0.2.2,192.0.2.3
< ...
",
    );
}

#[test]
fn an_instance_whose_sockets_fail_or_whose_interface_is_missing_stays_in_fault() {
    let conf = ONE.to_string() + &ONE.replace("VI_1", "VI_2").replace("eth0", "eth9");
    let mut r = Replay::new(&[("a", &conf)]);
    r.run(
        "
> break eth0
> start
< open eth0 from 192.0.2.1 join 224.0.0.18
< VI_1 FAULT 100
< VI_2 FAULT 100
# A link event cannot bring it back: it has no link.
> at 1 link eth0 up
= VI_1 state FAULT
= deadline none
",
    );
}
