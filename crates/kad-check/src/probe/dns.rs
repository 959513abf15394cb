//! DNS_CHECK: a query of `type` for `name` over UDP (hickory-proto builds and parses the
//! messages). A reply with the query's id and question and RCODE NOERROR passes.

use std::io;
use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use kad_core::config::model::CheckTarget;

use super::datagram::DatagramProbe;
use crate::health::Verdict;

/// Builds the query message.
pub fn build(id: u16, query_type: &str, name: &str) -> io::Result<(Vec<u8>, Query)> {
    let rtype = RecordType::from_str(&query_type.to_ascii_uppercase())
        .map_err(|e| io::Error::other(format!("type {query_type}: {e}")))?;
    let name = Name::from_ascii(name).map_err(|e| io::Error::other(format!("name {name}: {e}")))?;
    let query = Query::query(name, rtype);
    let mut m = Message::new();
    m.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(query.clone());
    let bytes = m.to_bytes().map_err(|e| io::Error::other(e.to_string()))?;
    Ok((bytes, query))
}

/// Judges one datagram: `None` if it is not the answer to this query.
pub fn judge(id: u16, query: &Query, reply: &[u8]) -> Option<Verdict> {
    let m = Message::from_vec(reply).ok()?;
    if m.id() != id || m.message_type() != MessageType::Response {
        return None;
    }
    if m.queries().first() != Some(query) {
        return Some(Verdict::down("reply for another question"));
    }
    match m.response_code() {
        ResponseCode::NoError => Some(Verdict::up(format!(
            "NOERROR, {} answer(s)",
            m.answers().len()
        ))),
        rc => Some(Verdict::down(format!("rcode {rc}"))),
    }
}

/// Sends a DNS_CHECK query.
pub fn query(
    target: &CheckTarget,
    query_type: &str,
    name: &str,
    ident: u16,
) -> io::Result<DatagramProbe> {
    let id = ident ^ (std::process::id() as u16).rotate_left(7);
    let (bytes, q) = build(id, query_type, name)?;
    DatagramProbe::send(
        target,
        &bytes,
        Box::new(move |r| judge(id, &q, r)),
        Verdict::down("no DNS reply"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_round_trips_and_replies_are_matched() {
        let (bytes, q) = build(0x1234, "a", "www.example.org.").unwrap();
        let mut reply = Message::from_vec(&bytes).unwrap();
        assert_eq!(reply.queries(), std::slice::from_ref(&q));
        assert_eq!(judge(0x1234, &q, &bytes), None, "a query is no answer");
        reply.set_message_type(MessageType::Response);
        assert!(judge(0x1234, &q, &reply.to_bytes().unwrap()).unwrap().ok);
        assert_eq!(judge(0x4321, &q, &reply.to_bytes().unwrap()), None);
        reply.set_response_code(ResponseCode::ServFail);
        assert!(!judge(0x1234, &q, &reply.to_bytes().unwrap()).unwrap().ok);
        assert!(judge(0x1234, &q, b"\x12\x34garbage").is_none());
        assert!(build(1, "NOPE", ".").is_err());
    }
}
