//! The receive path: drop accounting per reason (and its rate-limited log lines), AH sequence
//! numbers, and bounded reads under a flood.

use crate::election::{ONE, TO_MASTER};
use crate::Replay;

fn with_pass(conf: &str) -> String {
    conf.replace(
        "advert_int 1\n",
        "advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n",
    )
}

#[test]
fn every_drop_reason_is_counted_on_its_instance_or_as_unmatched() {
    let mut r = Replay::new(&[("a", &with_pass(ONE))]);
    r.run(
        "
> start
< ...
> at 1 advert 192.0.2.2 pass secret ttl 64
< drop ttl VI_1 logged
= VI_1 ip_ttl_err 1
> at 1 advert 192.0.2.2 pass wrong
< drop auth VI_1 logged
= VI_1 auth_failure 1
> at 1 advert 192.0.2.2
< drop auth_type VI_1 logged
= VI_1 authtype_mismatch 1
> at 1 advert 192.0.2.2 pass secret int 200
< drop interval VI_1 logged
= VI_1 advert_interval_err 1
> at 1 advert 192.0.2.2 pass secret ver 3
< drop version VI_1 logged
= VI_1 invalid_type_rcvd 1
# Interval 0 and a bad checksum do not decode: counted on the instance of their VRID.
> at 1 advert 192.0.2.2 pass secret int 0
< drop advert_interval_err VI_1 logged
= VI_1 advert_interval_err 2
> at 1 advert 192.0.2.2 pass secret badsum
< drop checksum_err VI_1 logged
= VI_1 packet_len_err 1
# No instance: counted by reason.
> at 1 advert 192.0.2.2 pass secret vrid 9
< drop unknown_vrid
> at 1 advert 192.0.2.2 pass secret vrid 9 badsum
< drop checksum_err
> at 1 garbage eth0
< drop bad_ip_header
= drops unknown_vrid 1
= drops checksum_err 1
= drops bad_ip_header 1
# Our own adverts (looped back) are ignored without a count.
> at 1 advert 192.0.2.1 pass secret
# None of these reached the state machine: still BACKUP, down timer from the start.
= VI_1 state BACKUP
= deadline 3.609
= VI_1 advert_rcvd 5
",
    );
}

#[test]
fn drop_lines_are_logged_at_most_every_10_s_per_instance_and_reason() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(
        "
> start
< ...
> at 1 advert 192.0.2.2 ttl 1
< drop ttl VI_1 logged
> at 2 advert 192.0.2.2 ttl 1
< drop ttl VI_1
> at 2 advert 192.0.2.2 int 300
< drop interval VI_1 logged
> at 10.9 advert 192.0.2.2 ttl 1
< drop ttl VI_1
> at 11 advert 192.0.2.2 ttl 1
< drop ttl VI_1 logged
= VI_1 ip_ttl_err 4
",
    );
}

/// VRRPv2 with IPsec AH.
fn ah() -> String {
    ONE.replace(
        "advert_int 1\n",
        "advert_int 1\n    authentication {\n        auth_type AH\n        auth_pass secret\n    }\n",
    )
}

#[test]
fn ah_sequence_numbers_go_up_on_send_and_replays_are_dropped() {
    let mut r = Replay::new(&[("a", &ah())]);
    r.run(
        "
> start
< open eth0 from 192.0.2.1 join 224.0.0.18
< open ah eth0 join 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
> at 1 advert 192.0.2.2 prio 150 ah secret seq 5
= VI_1 ah_seq 5
> at 2 advert 192.0.2.2 prio 150 ah secret seq 5
< drop auth_seq VI_1 logged
> at 2 advert 192.0.2.2 prio 150 ah wrong seq 6
< drop auth VI_1 logged
> at 3 advert 192.0.2.2 prio 150 ah secret seq 6
= VI_1 ah_seq 6
= VI_1 auth_failure 2
# The master stops (priority 0): we take over after the skew time, our adverts carry 7, 8.
> at 4 advert 192.0.2.2 prio 0 ah secret seq 7
> next
< advert VI_1 prio 100 ah seq 8 to 224.0.0.18
< ...
> next
< advert VI_1 prio 100 ah seq 9 to 224.0.0.18
",
    );
}

#[test]
fn a_flood_is_read_64_packets_at_a_time_with_the_timers_in_between() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run(
        "
# 100 adverts for another VRID wait on the socket when it becomes readable at 4.5 s.
> queue 100 advert 192.0.2.2 vrid 9
> at 4.5 readable eth0
< read eth0 max 64
< ...
= drops unknown_vrid 64
# 36 are left: the backlog is due at once, before our next advert (4.609).
= deadline 4.500
# The timer (at 4.7, our advert overdue) sends our advert first, then reads the rest.
> at 4.7 timer
< advert VI_1 prio 100 to 224.0.0.18
< read eth0 max 64
< ...
= drops unknown_vrid 100
= deadline 5.700
# Exactly 64 waiting: the batch may have left more, so one more read finds nothing.
> queue 64 advert 192.0.2.2 vrid 9
> at 5 readable eth0
< read eth0 max 64
< ...
= deadline 5.000
> at 5 timer
< read eth0 max 64
= deadline 5.700
",
    );
}
