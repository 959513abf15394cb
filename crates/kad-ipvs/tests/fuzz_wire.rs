//! Property tests of the IPVS reply parsers: any bytes are an error or a value, never a
//! panic; whatever parses as a service or destination re-encodes to something that parses to
//! the same value. 256 cases per property in `make test`; `make fuzz` raises PROPTEST_CASES.

use std::net::IpAddr;

use kad_ipvs::model::{flags, Dest, Forward, Service, ServiceKey, PROTO_TCP};
use kad_ipvs::wire::daemon::{self, Role, SyncDaemon};
use kad_ipvs::wire::{self, cmd};
use proptest::prelude::*;

/// Replies as the kernel shapes them (the same attributes as the requests), as seeds.
fn seeds() -> Vec<Vec<u8>> {
    let svc = Service {
        key: ServiceKey::Addr {
            proto: PROTO_TCP,
            addr: IpAddr::from([192, 0, 2, 1]),
            port: 80,
        },
        scheduler: "wlc".into(),
        flags: flags::PERSISTENT,
        timeout: 360,
        netmask: u32::MAX,
        pe_name: Some("sip".into()),
    };
    let fw6 = Service {
        key: ServiceKey::Fwmark {
            mark: 7,
            ipv6: true,
        },
        scheduler: "sh".into(),
        flags: flags::SCHED2,
        timeout: 0,
        netmask: 128,
        pe_name: None,
    };
    let d4 = Dest::new(IpAddr::from([198, 51, 100, 7]), 8080, Forward::Masq, 2);
    let d6 = Dest::new("2001:db8::2".parse().expect("v6"), 443, Forward::Tunnel, 9);
    vec![
        wire::service(cmd::NEW_SERVICE, &svc),
        wire::service(cmd::NEW_SERVICE, &fw6),
        wire::dest(cmd::NEW_DEST, &svc.key, &d4),
        wire::dest(cmd::NEW_DEST, &fw6.key, &d6),
        vec![15, 1, 0, 0, 8, 0, 1, 0, 1, 2, 1, 0, 8, 0, 2, 0, 0, 16, 0, 0],
        stats_reply(2, 12),
        stats_reply(1, 10),
        daemon::new_daemon(&SyncDaemon {
            role: Role::Master,
            interface: "eth0".into(),
            sync_id: 51,
            maxlen: Some(1400),
            port: Some(8849),
            ttl: Some(2),
            group: Some("ff02::1:5".parse().expect("v6")),
        }),
        daemon::new_daemon(&SyncDaemon {
            role: Role::Backup,
            interface: "vethB".into(),
            sync_id: 0,
            maxlen: None,
            port: None,
            ttl: None,
            group: Some(IpAddr::from([224, 0, 0, 81])),
        }),
    ]
}

/// One netlink attribute (native-endian length and type, payload, padding).
fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut a = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(&kind.to_ne_bytes());
    a.extend_from_slice(payload);
    while !a.len().is_multiple_of(4) {
        a.push(0);
    }
    a
}

/// A dump reply whose top attribute `top` (1 service, 2 destination) nests counters as
/// attribute `stats` (10 STATS, 12 STATS64), as the kernel sends them.
fn stats_reply(top: u16, stats: u16) -> Vec<u8> {
    let wide = stats == 12;
    let small = |v: u32| {
        if wide {
            u64::from(v).to_ne_bytes().to_vec()
        } else {
            v.to_ne_bytes().to_vec()
        }
    };
    let mut counters = attr(1, &small(5));
    counters.extend(attr(2, &small(6)));
    counters.extend(attr(4, &700u64.to_ne_bytes()));
    let mut inner = attr(1, &[198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    inner.extend(attr(stats, &counters));
    let mut msg = vec![8, 1, 0, 0];
    msg.extend(attr(top, &inner));
    msg
}

fn parse_everything(b: &[u8]) {
    if let Ok(s) = wire::parse_service(b) {
        let again = wire::parse_service(&wire::service(cmd::NEW_SERVICE, &s));
        assert_eq!(
            again.as_ref(),
            Ok(&s),
            "a parsed service survives a round trip"
        );
    }
    for ipv6 in [false, true] {
        if let Ok(d) = wire::parse_dest(b, ipv6) {
            let key = ServiceKey::Fwmark { mark: 1, ipv6 };
            let mut again = wire::parse_dest(&wire::dest(cmd::NEW_DEST, &key, &d), ipv6)
                .expect("a parsed destination re-parses");
            again.active = d.active;
            again.inactive = d.inactive;
            assert_eq!(again, d);
        }
    }
    let _ = wire::netlink_messages(b);
    let _ = wire::parse_info(b);
    if let Ok(t) = wire::parse_timeouts(b) {
        let again = wire::parse_timeouts(&wire::set_timeouts(t)).expect("timeouts re-parse");
        assert_eq!(again, t);
    }
    let _ = wire::parse_family(b);
    if let Ok(d) = daemon::parse_daemon(b) {
        if d.interface.len() < daemon::IFNAME_MAX && !d.interface.contains('\0') {
            let again = daemon::parse_daemon(&daemon::new_daemon(&d));
            assert_eq!(
                again.as_ref(),
                Ok(&d),
                "a parsed sync daemon survives a round trip"
            );
        }
    }
    let _ = wire::attrs(b);
    let _ = wire::parse_service_stats(b);
    let _ = wire::parse_dest_stats(b);
}

#[test]
fn seeded_counters_parse() {
    let d = wire::parse_dest_stats(&stats_reply(2, 12)).expect("STATS64");
    assert_eq!((d.connections, d.bytes_in), (5, 700));
    let s = wire::parse_service_stats(&stats_reply(1, 10)).expect("STATS");
    assert_eq!((s.connections, s.packets_in, s.bytes_in), (5, 6, 700));
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        parse_everything(&bytes);
    }

    #[test]
    fn mutated_replies_never_panic(seed in 0usize..7, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>()) {
        let mut msg = seeds()[seed].clone();
        for (at, v) in flips {
            let n = msg.len();
            msg[at % n] = v;
        }
        let keep = cut % (msg.len() + 1);
        parse_everything(&msg[..keep]);
        parse_everything(&msg);
    }
}
