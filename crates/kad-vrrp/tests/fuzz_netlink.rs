//! Property tests of the rtnetlink monitor's decoding (neli's parser plus kad's event
//! extraction): any datagram gives events or nothing, never a panic. 256 cases per property in
//! `make test`; `make fuzz` raises PROPTEST_CASES.

use std::net::IpAddr;

use kad_vrrp::monitor::{decode_addrs, decode_links, NetEvent};
use proptest::prelude::*;

/// RTM_NEWLINK for index 2, IFF_UP | IFF_RUNNING, name "eth0" (host byte order, x86).
fn newlink() -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&44u32.to_ne_bytes()); // nlmsg_len
    m.extend_from_slice(&16u16.to_ne_bytes()); // RTM_NEWLINK
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&[0; 8]); // seq, pid
    m.extend_from_slice(&[0, 0]); // family, pad
    m.extend_from_slice(&1u16.to_ne_bytes()); // ARPHRD_ETHER
    m.extend_from_slice(&2i32.to_ne_bytes()); // index
    m.extend_from_slice(&0x41u32.to_ne_bytes()); // IFF_UP | IFF_RUNNING
    m.extend_from_slice(&0u32.to_ne_bytes()); // change
    m.extend_from_slice(&9u16.to_ne_bytes()); // IFLA_IFNAME
    m.extend_from_slice(&3u16.to_ne_bytes());
    m.extend_from_slice(b"eth0\0\0\0\0");
    m
}

/// RTM_DELADDR of 192.0.2.100/24 from index 2.
fn deladdr() -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&40u32.to_ne_bytes());
    m.extend_from_slice(&21u16.to_ne_bytes()); // RTM_DELADDR
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&[2, 24, 0, 0]); // AF_INET, /24, flags, scope
    m.extend_from_slice(&2u32.to_ne_bytes());
    for kind in [2u16, 1] {
        // IFA_LOCAL, IFA_ADDRESS
        m.extend_from_slice(&8u16.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[192, 0, 2, 100]);
    }
    m
}

#[test]
fn known_messages_decode_to_their_events() {
    assert_eq!(
        decode_links(&newlink()),
        [NetEvent::Link { index: 2, up: true }]
    );
    let two = [newlink(), newlink()].concat();
    assert_eq!(decode_links(&two).len(), 2);
    assert_eq!(
        decode_addrs(&deladdr()),
        [NetEvent::AddressDeleted {
            index: 2,
            addr: IpAddr::from([192, 0, 2, 100])
        }]
    );
    assert!(decode_addrs(&newlink()).is_empty());
}

/// Regressions from fuzzing: inputs on which neli's own parsers panic (subtraction overflow)
/// must be stopped before they reach neli.
#[test]
fn lengths_shorter_than_a_header_and_error_messages_are_dropped() {
    // nlmsg_len 4: shorter than the 16-byte header.
    let mut short = newlink();
    short[..4].copy_from_slice(&4u32.to_ne_bytes());
    assert!(decode_links(&short).is_empty());
    // NLMSG_ERROR whose embedded header claims 8 bytes.
    let mut err = Vec::new();
    err.extend_from_slice(&36u32.to_ne_bytes());
    err.extend_from_slice(&2u16.to_ne_bytes());
    err.extend_from_slice(&[0; 10]);
    err.extend_from_slice(&(-22i32).to_ne_bytes());
    err.extend_from_slice(&8u32.to_ne_bytes());
    err.extend_from_slice(&[0; 12]);
    assert!(decode_links(&err).is_empty());
    assert!(decode_addrs(&err).is_empty());
    // A good message after a bad length is not reached; before it, it is.
    assert_eq!(decode_links(&[newlink(), short].concat()).len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = decode_links(&bytes);
        let _ = decode_addrs(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(seed in 0usize..2, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>()) {
        let mut msg = if seed == 0 { newlink() } else { deladdr() };
        for (at, v) in flips {
            let n = msg.len();
            msg[at % n] = v;
        }
        let keep = cut % (msg.len() + 1);
        for b in [&msg[..keep], &msg[..]] {
            let _ = decode_links(b);
            let _ = decode_addrs(b);
        }
    }
}
