//! PING_CHECK: one ICMP (or ICMPv6) echo request on a raw socket connected to the target;
//! the matching echo reply passes, an ICMP error or the timeout fails.

use std::io;
use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use kad_core::config::model::CheckTarget;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use socket2::{Protocol, Socket, Type};

use super::Probe;
use crate::health::Verdict;

const PAYLOAD: &[u8; 16] = b"kad PING_CHECK  ";

/// An echo request in flight.
pub struct PingProbe {
    sock: Socket,
    v6: bool,
    ident: u16,
    seq: u16,
}

/// The Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request message (the kernel fills the ICMPv6 checksum).
pub fn echo_request(v6: bool, ident: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(PAYLOAD);
    if !v6 {
        let c = checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
    }
    m
}

/// Reads a received datagram: `Some(true)` our echo reply, `Some(false)` an ICMP error about
/// our request, `None` something else.
pub fn classify(v6: bool, ident: u16, seq: u16, packet: &[u8]) -> Option<bool> {
    // A raw IPv4 socket delivers the IP header; a raw ICMPv6 socket does not.
    let icmp = if v6 {
        packet
    } else {
        let ihl = usize::from(packet.first()? & 0x0f) * 4;
        packet.get(ihl..)?
    };
    let (kind, rest) = (*icmp.first()?, icmp.get(4..8)?);
    let ours = rest[..2] == ident.to_be_bytes() && rest[2..] == seq.to_be_bytes();
    match (v6, kind) {
        (false, 0) | (true, 129) => ours.then_some(true),
        (false, 3 | 11) | (true, 1 | 3) => Some(false),
        _ => None,
    }
}

impl PingProbe {
    /// Sends the echo request.
    pub fn start(target: &CheckTarget, ident: u16) -> io::Result<PingProbe> {
        let v6 = matches!(target.addr, IpAddr::V6(_));
        let proto = if v6 {
            Protocol::ICMPV6
        } else {
            Protocol::ICMPV4
        };
        let mut t = target.clone();
        t.port = None;
        t.bind_port = None;
        let sock = super::socket(&t, Type::RAW, proto)?;
        let seq = (std::time::UNIX_EPOCH
            .elapsed()
            .map(|d| d.as_millis())
            .unwrap_or(0)
            & 0xffff) as u16;
        sock.send(&echo_request(v6, ident, seq))?;
        Ok(PingProbe {
            sock,
            v6,
            ident,
            seq,
        })
    }
}

impl Probe for PingProbe {
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.sock.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut SourceFd(&self.sock.as_raw_fd()));
    }

    fn ready(&mut self, _: &Registry, _: Token) -> Option<Verdict> {
        let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
        loop {
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    // SAFETY: recv initialised the first n bytes.
                    let data = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
                    match classify(self.v6, self.ident, self.seq, data) {
                        Some(true) => return Some(Verdict::up("echo reply")),
                        Some(false) => return Some(Verdict::down("ICMP error")),
                        None => {}
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) => return Some(Verdict::down(e.to_string())),
            }
        }
    }

    fn timed_out(&mut self) -> Verdict {
        Verdict::down("no echo reply")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_requests_and_replies() {
        let req = echo_request(false, 0x1234, 7);
        assert_eq!(checksum(&req), 0, "a correct checksum sums to zero");
        let mut reply = vec![0x45u8; 1];
        reply.extend_from_slice(&[0; 19]);
        let mut icmp = req.clone();
        icmp[0] = 0;
        reply.extend_from_slice(&icmp);
        assert_eq!(classify(false, 0x1234, 7, &reply), Some(true));
        assert_eq!(classify(false, 0x1234, 8, &reply), None);
        let mut v6 = echo_request(true, 9, 1);
        v6[0] = 129;
        assert_eq!(classify(true, 9, 1, &v6), Some(true));
        assert_eq!(classify(true, 9, 1, &[1, 4, 0, 0, 0, 0, 0, 0]), Some(false));
        assert_eq!(classify(false, 9, 1, &[0x45]), None);
    }
}
