//! Property tests: the VRRP and IPv4 decoders (and the vmac receivers' header check) never panic on any input, and whatever parses
//! survives an emit/parse round trip. 256 cases per property in `make test`; `make fuzz`
//! raises PROPTEST_CASES.

use std::net::IpAddr;

use kad_vrrp::net::{ipv4_header_checksum_ok, parse_ipv4};
use kad_vrrp::packet::Advert;
use proptest::prelude::*;

/// keepalived's v2 PASS and v3 IPv6 adverts (VRRP message only), as mutation seeds.
const SEEDS: [&str; 2] = [
    "2133c8010101a001c00002646b61642d70617373",
    "3133c8030064baec20010db800000000000000000000010020010db800000000000000000000010120010db8000000000000000000000102",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn addr_pair() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
        (any::<[u8; 16]>(), any::<[u8; 16]>())
            .prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
        (any::<[u8; 4]>(), any::<[u8; 16]>()).prop_map(|(a, b)| (IpAddr::from(a), IpAddr::from(b))),
    ]
}

fn round_trips(msg: &[u8], src: IpAddr, dst: IpAddr) {
    if let Ok(a) = Advert::parse(msg, src, dst) {
        let again =
            Advert::parse(&a.emit(src, dst), src, dst).expect("what parsed re-parses after emit");
        assert_eq!(again, a);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), (src, dst) in addr_pair()) {
        round_trips(&bytes, src, dst);
        let _ = parse_ipv4(&bytes, 112);
        let _ = parse_ipv4(&bytes, 51);
        // What a vmac's AF_PACKET receiver checks before the engine sees a frame.
        let _ = ipv4_header_checksum_ok(&bytes);
    }

    #[test]
    fn mutated_adverts_never_panic(seed in 0usize..2, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>(), (src, dst) in addr_pair()) {
        let mut msg = hex(SEEDS[seed]);
        for (at, v) in flips {
            let n = msg.len();
            msg[at % n] = v;
        }
        let keep = cut % (msg.len() + 1);
        round_trips(&msg[..keep], src, dst);
        round_trips(&msg, src, dst);
    }
}
