//! Property tests of the datagram checkers' reply judges, which read what a real server (or
//! anyone on the path) sends: DNS_CHECK replies (hickory-proto's parser under our judge),
//! UDP_CHECK's `require_reply` and PING_CHECK's ICMP/ICMPv6 classification. Any bytes are a
//! verdict or "not ours", never a panic; well-formed replies are judged as the rules say.
//! 256 cases per property in `make test`; `make fuzz` raises PROPTEST_CASES.

use std::net::Ipv4Addr;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use kad_check::probe::datagram::judge_reply;
use kad_check::probe::{dns, ping};
use proptest::prelude::*;

/// A reply to `query` with `answers` A records and `rcode`.
fn dns_reply(query: &[u8], answers: &[u32], rcode: u16) -> Vec<u8> {
    let mut m = Message::from_vec(query).expect("our own query parses");
    m.set_message_type(MessageType::Response);
    m.set_response_code(ResponseCode::from_low(rcode as u8));
    let name = m.queries()[0].name().clone();
    for &a in answers {
        m.add_answer(Record::from_rdata(
            name.clone(),
            60,
            RData::A(A(Ipv4Addr::from(a))),
        ));
    }
    m.to_vec().expect("a reply encodes")
}

fn query_type() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("A"),
        Just("aaaa"),
        Just("MX"),
        Just("TXT"),
        Just("SOA"),
        Just("NS")
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_dns_datagram_is_judged_without_panic(
        id in any::<u16>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        with_id in any::<bool>(),
    ) {
        let (_, q) = dns::build(id, "A", "www.example.org.").expect("query");
        let mut bytes = bytes;
        if with_id && bytes.len() >= 3 {
            // Our id and the response bit: the parser gets past the header.
            bytes[..2].copy_from_slice(&id.to_be_bytes());
            bytes[2] |= 0x80;
        }
        let _ = dns::judge(id, &q, &bytes);
    }

    #[test]
    fn mutated_dns_replies_are_judged_without_panic(
        id in any::<u16>(),
        rtype in query_type(),
        answers in proptest::collection::vec(any::<u32>(), 0..4),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let (query, q) = dns::build(id, rtype, "www.example.org.").expect("query");
        let mut reply = dns_reply(&query, &answers, 0);
        for (i, b) in edits {
            let i = i % reply.len();
            reply[i] = b;
        }
        reply.truncate(cut % (reply.len() + 1));
        let _ = dns::judge(id, &q, &reply);
    }

    #[test]
    fn dns_replies_pass_only_with_our_id_question_and_noerror(
        id in any::<u16>(),
        other_id in any::<u16>(),
        rtype in query_type(),
        answers in proptest::collection::vec(any::<u32>(), 0..4),
        rcode in 0u16..6,
    ) {
        let (query, q) = dns::build(id, rtype, "www.example.org.").expect("query");
        prop_assert_eq!(dns::judge(id, &q, &query), None, "a query is no answer");
        let reply = dns_reply(&query, &answers, rcode);
        let verdict = dns::judge(id, &q, &reply).expect("our reply");
        prop_assert_eq!(verdict.ok, rcode == 0, "{:?}", verdict);
        if other_id != id {
            prop_assert_eq!(dns::judge(other_id, &q, &reply), None);
        }
        let (_, other_q) = dns::build(id, rtype, "other.example.org.").expect("query");
        prop_assert!(!dns::judge(id, &other_q, &reply).expect("same id").ok);
    }

    #[test]
    fn udp_replies_pass_on_length_and_prefix(
        pattern in proptest::collection::vec(any::<u8>(), 0..32),
        reply in proptest::collection::vec(any::<u8>(), 0..64),
        copy in any::<bool>(),
        min in 0usize..70,
        max in 0usize..70,
    ) {
        let mut reply = reply;
        if copy {
            let n = pattern.len().min(reply.len());
            reply[..n].copy_from_slice(&pattern[..n]);
        }
        let v = judge_reply(&pattern, min, max, &reply);
        let matches = pattern.iter().zip(&reply).all(|(a, b)| a == b);
        prop_assert_eq!(v.ok, (min..=max).contains(&reply.len()) && matches, "{:?}", v);
    }

    #[test]
    fn any_icmp_datagram_is_classified_without_panic(
        v6 in any::<bool>(),
        ident in any::<u16>(),
        seq in any::<u16>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let got = ping::classify(v6, ident, seq, &bytes);
        if got == Some(true) {
            // Only an echo reply with our identifier and sequence number.
            let icmp = if v6 { &bytes[..] } else { &bytes[usize::from(bytes[0] & 15) * 4..] };
            prop_assert_eq!(icmp[0], if v6 { 129 } else { 0 });
            prop_assert_eq!(&icmp[4..8], &[ident.to_be_bytes(), seq.to_be_bytes()].concat()[..]);
        }
    }

    #[test]
    fn our_echo_replies_are_recognised_behind_any_ip_header(
        ident in any::<u16>(),
        seq in any::<u16>(),
        other in any::<u16>(),
        options in 0usize..=10,
        v6 in any::<bool>(),
    ) {
        let mut icmp = ping::echo_request(v6, ident, seq);
        icmp[0] = if v6 { 129 } else { 0 };
        let packet = if v6 {
            icmp.clone()
        } else {
            // IHL counts 32-bit words: 5 for the bare header, up to 15 with options.
            let mut p = vec![0x45 + options as u8];
            p.resize(20 + 4 * options, 0);
            p.extend_from_slice(&icmp);
            p
        };
        prop_assert_eq!(ping::classify(v6, ident, seq, &packet), Some(true));
        if other != seq {
            prop_assert_eq!(ping::classify(v6, ident, other, &packet), None);
        }
    }
}
