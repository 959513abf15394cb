//! Unicast adverts as keepalived 2.2.7 treats them (measured, docs/reference/keepalived-2.2.7.md
//! §2): any TTL is heard (a unicast advert may cross routers) unless the peer's line gives
//! `min_ttl` / `max_ttl`; an address outside `unicast_peer` is heard unless
//! `check_unicast_src` (or a TTL bound) is on; `unicast_ttl` sets the TTL we send; multicast
//! adverts still need TTL 255.

use crate::election::ONE;
use crate::Replay;

/// `ONE` in unicast mode towards 192.0.2.2, with `peer_extra` on the peer's line and `extra`
/// as an instance keyword.
fn unicast(peer_extra: &str, extra: &str) -> String {
    ONE.replace(
        "advert_int 1\n",
        &format!(
            "advert_int 1\n    {extra}\n    unicast_src_ip 192.0.2.1\n    unicast_peer {{\n        192.0.2.2 {peer_extra}\n    }}\n"
        ),
    )
}

const START: &str = "
> start
< open eth0 from 192.0.2.1
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
";

#[test]
fn a_unicast_advert_that_crossed_routers_is_heard() {
    let mut r = Replay::new(&[("a", &unicast("", ""))]);
    r.run(START);
    // Heard: the master-down timer restarts from each advert (3 × 1 s + skew 0.609 s).
    r.run(
        "
> at 1 advert 192.0.2.2 to 192.0.2.1 prio 150 ttl 64
= deadline 4.609
> at 2 advert 192.0.2.2 to 192.0.2.1 prio 150 ttl 1
= deadline 5.609
= VI_1 ip_ttl_err 0
= VI_1 advert_rcvd 2
= VI_1 state BACKUP
",
    );
}

#[test]
fn min_ttl_drops_an_advert_below_it_with_keepalived_s_line() {
    let mut r = Replay::new(&[("a", &unicast("min_ttl 250", ""))]);
    r.run(START);
    r.run(
        "
> at 1 advert 192.0.2.2 to 192.0.2.1 prio 150 ttl 64
< drop ttl VI_1 logged
= log (VI_1) TTL/HL 64 not in range 250 - 255
= VI_1 ip_ttl_err 1
= deadline 3.609
> at 2 advert 192.0.2.2 to 192.0.2.1 prio 150 ttl 255
= deadline 5.609
",
    );
}

#[test]
fn max_ttl_drops_an_advert_above_it() {
    let mut r = Replay::new(&[("a", &unicast("max_ttl 100", ""))]);
    r.run(START);
    r.run(
        "
> at 1 advert 192.0.2.2 to 192.0.2.1 prio 150 ttl 255
< drop ttl VI_1 logged
= log (VI_1) TTL/HL 255 not in range 0 - 100
> at 2 advert 192.0.2.2 to 192.0.2.1 prio 150 ttl 64
= deadline 5.609
= VI_1 ip_ttl_err 1
",
    );
}

#[test]
fn an_advert_from_outside_unicast_peer_is_heard_without_check_unicast_src() {
    let mut r = Replay::new(&[("a", &unicast("", ""))]);
    r.run(START);
    r.run(
        "
> at 1 advert 192.0.2.3 to 192.0.2.1 prio 150
= deadline 4.609
= drops unknown_unicast_peer 0
= VI_1 advert_rcvd 1
",
    );
}

#[test]
fn check_unicast_src_drops_an_advert_from_outside_unicast_peer() {
    let mut r = Replay::new(&[("a", &unicast("", "check_unicast_src"))]);
    r.run(START);
    r.run(
        "
> at 1 advert 192.0.2.3 to 192.0.2.1 prio 150
< drop unknown_unicast_peer VI_1 logged
= log (VI_1) unicast source address 192.0.2.3 not a unicast peer
= drops unknown_unicast_peer 1
= deadline 3.609
# A peer is still heard, with any TTL.
> at 2 advert 192.0.2.2 to 192.0.2.1 prio 150 ttl 64
= deadline 5.609
",
    );
}

#[test]
fn a_ttl_bound_turns_the_source_check_on() {
    let mut r = Replay::new(&[("a", &unicast("min_ttl 1", ""))]);
    r.run(START);
    r.run(
        "
> at 1 advert 192.0.2.3 to 192.0.2.1 prio 150
< drop unknown_unicast_peer VI_1 logged
= deadline 3.609
",
    );
}

#[test]
fn a_multicast_advert_still_needs_ttl_255() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(
        "
> start
< ...
> at 1 advert 192.0.2.2 prio 150 ttl 64
< drop ttl VI_1 logged
= log (VI_1) invalid TTL/HL. Received 64 and expect 255
= deadline 3.609
",
    );
}

#[test]
fn unicast_ttl_sets_the_ttl_of_our_unicast_adverts() {
    let mut r = Replay::new(&[("a", &unicast("", "unicast_ttl 10"))]);
    r.run(START);
    r.run(
        "
> next
< advert VI_1 prio 100 ttl 10 to 192.0.2.2
< ...
",
    );
}
