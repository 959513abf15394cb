//! keepalived 2.2.7 keywords that change what a MASTER does with what it hears or sees
//! (measured, docs/reference/keepalived-2.2.7.md §7, §8): lower- and higher-priority adverts
//! (`garp_lower_prio_delay`/`_repeat`, `lower_prio_no_advert`, `higher_prio_send_advert`), a
//! VIP deleted by hand (`no_track`), `vrrp_startup_delay`, `dont_track_primary`, and the
//! address-list check of received adverts (`skip_check_adv_addr`).

use crate::election::{ONE, TO_MASTER};
use crate::Replay;

/// `ONE` with `extra` lines in the instance.
fn with(extra: &str) -> String {
    ONE.replace(
        "    priority 100\n",
        &format!("    priority 100\n{extra}\n"),
    )
}

const FIVE_GARPS: &str = "< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
";

#[test]
fn a_master_hearing_a_lower_priority_answers_once_and_sends_two_garp_bursts() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    // An extra advert (the regular pace is kept: next one still at 4.609) and 5 GARPs at
    // once (garp_lower_prio_repeat defaults to garp_master_repeat).
    r.run(&format!(
        "> at 4 advert 192.0.2.9 prio 50\n< advert VI_1 prio 100 to 224.0.0.18\n{FIVE_GARPS}= deadline 4.609\n= VI_1 state MASTER"
    ));
    // 5 s later (garp_lower_prio_delay defaults to garp_master_delay) another burst, after
    // the master-delay burst of 8.609.
    r.run(&format!(
        "> at 9 timer\n{FIVE_GARPS}{FIVE_GARPS}< advert VI_1 prio 100 to 224.0.0.18"
    ));
}

#[test]
fn garp_lower_prio_delay_and_repeat_set_the_bursts_of_each_lower_advert() {
    let conf =
        with("    garp_lower_prio_delay 2\n    garp_lower_prio_repeat 2\n    garp_master_delay 0");
    let mut r = Replay::new(&[("a", &conf)]);
    r.run(TO_MASTER);
    r.run(
        "
> at 4 advert 192.0.2.9 prio 50
< advert VI_1 prio 100 to 224.0.0.18
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
> at 5 advert 192.0.2.9 prio 50
< advert VI_1 prio 100 to 224.0.0.18
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
# Each advert has its own delayed burst, 2 s after it.
> at 6 timer
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< advert VI_1 prio 100 to 224.0.0.18
> at 7 timer
< garp eth0 192.0.2.100
< garp eth0 192.0.2.100
< advert VI_1 prio 100 to 224.0.0.18
",
    );
}

#[test]
fn lower_prio_no_advert_keeps_the_garps_but_sends_no_extra_advert() {
    let mut r = Replay::new(&[("a", &with("    lower_prio_no_advert"))]);
    r.run(TO_MASTER);
    r.run(&format!(
        "> at 4 advert 192.0.2.9 prio 50\n{FIVE_GARPS}= VI_1 advert_sent 1"
    ));
}

#[test]
fn a_master_hearing_a_higher_priority_goes_backup_silently_unless_higher_prio_send_advert() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run("> at 4 advert 192.0.2.9 prio 200\n< del VI_1 192.0.2.100/24@2\n< VI_1 BACKUP 100");
    let mut r = Replay::new(&[("a", &with("    higher_prio_send_advert"))]);
    r.run(TO_MASTER);
    r.run(
        "
> at 4 advert 192.0.2.9 prio 200
< advert VI_1 prio 100 to 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
",
    );
}

#[test]
fn a_vip_deleted_under_a_master_makes_it_leave_master_then_take_over_again() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run(&format!(
        "
> at 4 addr-deleted eth0 192.0.2.100
< advert VI_1 prio 0 to 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
# Alone, it takes over after its skew time (156/256 s) and puts its VIPs back.
= deadline 4.609
> next
< advert VI_1 prio 100 to 224.0.0.18
< add VI_1 192.0.2.100/24@2
{FIVE_GARPS}< VI_1 MASTER 100
# On another interface, or an address that is not ours: nothing.
> at 5 addr-deleted eth1 192.0.2.100
> at 5 addr-deleted eth0 192.0.2.7
= VI_1 state MASTER
"
    ));
}

#[test]
fn a_no_track_vip_deleted_under_a_master_is_left_deleted() {
    let conf = ONE.replace("192.0.2.100/24\n", "192.0.2.100/24 no_track\n");
    let mut r = Replay::new(&[("a", &conf)]);
    r.run(TO_MASTER);
    r.run("> at 4 addr-deleted eth0 192.0.2.100\n= VI_1 state MASTER\n= VI_1 advert_sent 1");
}

#[test]
fn vrrp_startup_delay_holds_every_instance_back() {
    let conf = format!("global_defs {{\n    vrrp_startup_delay 5\n}}\n{ONE}");
    let mut r = Replay::new(&[("a", &conf)]);
    r.run(
        "
> start
< open eth0 from 192.0.2.1 join 224.0.0.18
= VI_1 state INIT
= deadline 5.000
> next
= time 5.000
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
= deadline 8.609
",
    );
}

#[test]
fn dont_track_primary_ignores_the_instances_own_interface() {
    let mut r = Replay::new(&[("a", &with("    dont_track_primary"))]);
    r.run(TO_MASTER);
    r.run("> at 4 link eth0 down\n= VI_1 state MASTER\n> at 5 link eth0 up\n= VI_1 state MASTER");
    // Without it, the same link event is FAULT.
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run("> at 4 link eth0 down\n< advert VI_1 prio 0 to 224.0.0.18\n< ...\n= VI_1 state FAULT");
}

#[test]
fn an_advert_whose_addresses_differ_from_ours_is_dropped() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run("> start\n< ...");
    r.run(
        "
> at 1 advert 192.0.2.9 prio 150 addrs 192.0.2.99
< drop addr_list_err VI_1 logged
= log (VI_1) ip address associated with VRID 1 not present in MASTER advert: 192.0.2.100
> at 2 advert 192.0.2.9 prio 150 addrs 192.0.2.100,192.0.2.101
< drop addr_list_err VI_1
= VI_1 addr_list_err 2
# Not heard: the master-down timer runs on and it becomes MASTER.
= deadline 3.609
",
    );
}

#[test]
fn skip_check_adv_addr_skips_the_check_for_the_master_we_follow() {
    let mut r = Replay::new(&[("a", &with("    skip_check_adv_addr"))]);
    r.run("> start\n< ...");
    r.run(
        "
# The first advert of a master is checked...
> at 1 advert 192.0.2.9 prio 150 addrs 192.0.2.99
< drop addr_list_err VI_1 logged
> at 1.5 advert 192.0.2.9 prio 150
= deadline 5.109
# ...then no longer while it stays our master.
> at 2 advert 192.0.2.9 prio 150 addrs 192.0.2.99
= deadline 5.609
= VI_1 addr_list_err 1
# Another router is checked.
> at 2 advert 192.0.2.10 prio 150 addrs 192.0.2.99
< drop addr_list_err VI_1
",
    );
}

#[test]
fn notify_master_rx_lower_pri_is_asked_for_each_lower_advert() {
    let mut r = Replay::new(&[("a", &with("    notify_master_rx_lower_pri /bin/true"))]);
    r.run(TO_MASTER);
    r.run(&format!(
        "> at 4 advert 192.0.2.9 prio 50\n< advert VI_1 prio 100 to 224.0.0.18\n< notify lower VI_1\n{FIVE_GARPS}"
    ));
}

#[test]
fn a_flood_of_lower_priority_adverts_gets_one_garp_burst_per_advert_interval() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    // 3 waiting adverts: each answered, only the first draws GARPs.
    r.run(&format!(
        "> queue 3 advert 192.0.2.9 prio 50\n> at 4 readable eth0\n< read eth0 max 64\n< advert VI_1 prio 100 to 224.0.0.18\n{FIVE_GARPS}< advert VI_1 prio 100 to 224.0.0.18\n< advert VI_1 prio 100 to 224.0.0.18"
    ));
    r.run("> at 4.5 advert 192.0.2.9 prio 50\n< advert VI_1 prio 100 to 224.0.0.18");
    r.run(&format!(
        "> at 5 advert 192.0.2.9 prio 50\n< advert VI_1 prio 100 to 224.0.0.18\n{FIVE_GARPS}"
    ));
}
