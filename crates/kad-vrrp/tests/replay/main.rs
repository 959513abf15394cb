//! Replay tests of the sans-I/O VRRP engine: a keepalived.conf and an event script in, the
//! expected effects out (see `harness.rs` for the script language). No root, no
//! sockets, no clock: every input carries its time.

mod harness;

mod announce;
mod election;
mod keywords;
mod maintenance;
mod many_vips;
mod receive;
mod reload;
mod routes;
mod tracking;
mod unicast;

pub use harness::Replay;

/// The harness itself fails a script whose effects are not all listed...
#[test]
#[should_panic(expected = "had effects not listed")]
fn an_unlisted_effect_fails_the_script() {
    let mut r = Replay::new(&[("a", election::ONE)]);
    r.run("> start\n< open eth0 from 192.0.2.1 join 224.0.0.18\n> timer");
}

/// ...or whose state check does not hold.
#[test]
#[should_panic(expected = "got BACKUP, want MASTER")]
fn a_wrong_state_check_fails_the_script() {
    let mut r = Replay::new(&[("a", election::ONE)]);
    r.run("> start\n< ...\n= VI_1 state MASTER");
}
