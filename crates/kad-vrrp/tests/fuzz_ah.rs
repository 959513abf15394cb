//! Property tests for the AH decoder: no input makes it panic, what `seal` builds verifies,
//! a change to any covered byte does not, and sequence numbers only move up. 256 cases per
//! property in `make test`; `make fuzz` raises PROPTEST_CASES.

use std::net::Ipv4Addr;

use kad_vrrp::ah::{seal, Key, Packet, Received, Seal, SeqCounter, AH_LEN, IPV4_LEN};
use proptest::prelude::*;

/// keepalived 2.2.7's AH advert (IPv4 packet, auth_pass kad-pass), as a mutation seed.
const SEED: &str = "45c0004000010000ff3318acc000020be000001270040000c000020b000000011d09c63a2f3309ef8054500f2133c80102015265c00002640000000000000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Everything a decoder offers, on any bytes: must not panic.
fn poke(bytes: &[u8], key: &Key) {
    if let Ok(p) = Packet::new_checked(bytes) {
        let _ = (p.next_header(), p.spi(), p.seq(), p.icv(), p.payload());
    }
    if let Ok(r) = Received::parse(bytes) {
        let _ = r.vrrp();
        let _ = r.verify(key);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120), pass in "[a-z]{0,12}") {
        poke(&bytes, &Key::new(&pass));
    }

    #[test]
    fn mutated_captures_never_panic_and_never_verify_when_covered_bytes_change(
        flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..6),
        cut in any::<usize>(),
    ) {
        let key = Key::new("kad-pass");
        let orig = hex(SEED);
        let mut msg = orig.clone();
        for (at, x) in &flips {
            let n = msg.len();
            msg[at % n] ^= x;
        }
        let keep = cut % (msg.len() + 1);
        poke(&msg[..keep], &key);
        poke(&msg, &key);
        // TOS, flags/fragment offset and checksum are mutable; anything else is covered.
        let covered = (0..msg.len()).any(|i| msg[i] != orig[i] && ![1, 6, 7, 10, 11].contains(&i));
        if covered {
            if let Ok(r) = Received::parse(&msg) {
                prop_assert!(r.verify(&key).is_err());
            }
        }
    }

    #[test]
    fn sealed_packets_verify_with_their_key_only(
        src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), id in any::<u16>(), seq in any::<u32>(),
        vrrp in proptest::collection::vec(any::<u8>(), 0..64), pass in "[ -~]{1,8}",
    ) {
        let key = Key::new(&pass);
        let s = Seal { src: Ipv4Addr::from(src), dst: Ipv4Addr::from(dst), id, seq, ttl: 255 };
        let pkt = seal(&key, &s, &vrrp);
        prop_assert_eq!(pkt.len(), IPV4_LEN + AH_LEN + vrrp.len());
        let r = Received::parse(&pkt).expect("sealed packets parse");
        prop_assert_eq!(r.seq, seq);
        prop_assert_eq!(r.vrrp(), &vrrp[..]);
        prop_assert_eq!(r.verify(&key), Ok(()));
        let other = format!("{pass}x");
        if other.len() <= 8 {
            prop_assert!(r.verify(&Key::new(&other)).is_err());
        }
    }

    #[test]
    fn sequence_numbers_only_move_up(seqs in proptest::collection::vec(any::<u32>(), 0..40)) {
        let mut c = SeqCounter::default();
        for s in seqs {
            let before = c.last();
            prop_assert_eq!(c.accept(s).is_ok(), s > before);
            prop_assert!(c.last() >= before);
        }
    }
}
