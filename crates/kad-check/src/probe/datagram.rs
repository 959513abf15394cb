//! Datagram checkers: one request on a connected UDP socket, then a judge for each reply.
//! UDP_CHECK as keepalived: an ICMP port-unreachable (seen as ECONNREFUSED) fails; with
//! `require_reply` a reply of the right length and content must come; without it silence until
//! the timeout passes. DNS_CHECK uses the same socket with its own judge.

use std::io;

use kad_core::config::model::{CheckTarget, UdpCheck};
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use socket2::{Protocol, Type};

use super::Probe;
use crate::health::Verdict;

/// Looks at one reply: `None` if it is not an answer to this attempt (keep waiting).
pub type Judge = Box<dyn FnMut(&[u8]) -> Option<Verdict>>;

/// A datagram request in flight.
pub struct DatagramProbe {
    sock: UdpSocket,
    judge: Judge,
    on_silence: Verdict,
}

impl DatagramProbe {
    /// Sends `request` to the target; `judge` reads replies; `on_silence` is the verdict when
    /// the timeout passes without one.
    pub fn send(
        target: &CheckTarget,
        request: &[u8],
        judge: Judge,
        on_silence: Verdict,
    ) -> io::Result<DatagramProbe> {
        let s = super::socket(target, Type::DGRAM, Protocol::UDP)?;
        s.send(request)?;
        Ok(DatagramProbe {
            sock: UdpSocket::from_std(s.into()),
            judge,
            on_silence,
        })
    }

    /// A UDP_CHECK attempt.
    pub fn udp(target: &CheckTarget, cfg: &UdpCheck, ident: u16) -> io::Result<DatagramProbe> {
        let payload = if cfg.payload.is_empty() {
            // keepalived sends random bytes when no payload is set.
            let seed = ident as u64
                ^ std::time::UNIX_EPOCH
                    .elapsed()
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
            seed.to_le_bytes().to_vec()
        } else {
            cfg.payload.clone()
        };
        let (judge, silence): (Judge, Verdict) = match &cfg.require_reply {
            None => (
                Box::new(|_| Some(Verdict::up("reply received"))),
                Verdict::up("no ICMP error before the timeout"),
            ),
            Some(pattern) => {
                let (pattern, min, max) = (
                    pattern.clone(),
                    cfg.min_reply_length as usize,
                    cfg.max_reply_length as usize,
                );
                (
                    Box::new(move |reply| Some(judge_reply(&pattern, min, max, reply))),
                    Verdict::down("no reply"),
                )
            }
        };
        Self::send(target, &payload, judge, silence)
    }
}

/// `require_reply`: length within bounds, and the bytes match the pattern over the shorter of
/// the two.
pub fn judge_reply(pattern: &[u8], min: usize, max: usize, reply: &[u8]) -> Verdict {
    if reply.len() < min || reply.len() > max {
        return Verdict::down(format!(
            "reply of {} bytes, expected {min}..={max}",
            reply.len()
        ));
    }
    if pattern.iter().zip(reply).any(|(a, b)| a != b) {
        return Verdict::down("reply does not match require_reply");
    }
    Verdict::up(format!("reply of {} bytes matches", reply.len()))
}

impl Probe for DatagramProbe {
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.sock, token, Interest::READABLE)
    }

    fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.sock);
    }

    fn ready(&mut self, _: &Registry, _: Token) -> Option<Verdict> {
        let mut buf = [0u8; 4096];
        loop {
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    if let Some(v) = (self.judge)(&buf[..n]) {
                        return Some(v);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                    return Some(Verdict::down("port unreachable"))
                }
                Err(e) => return Some(Verdict::down(e.to_string())),
            }
        }
    }

    fn timed_out(&mut self) -> Verdict {
        self.on_silence.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_judged_by_length_and_prefix() {
        assert!(judge_reply(b"\x01\x02", 2, 10, b"\x01\x02\x03").ok);
        assert!(!judge_reply(b"\x01\x02", 2, 10, b"\x01\x05\x03").ok);
        assert!(!judge_reply(b"", 4, 10, b"abc").ok);
        assert!(!judge_reply(b"", 0, 2, b"abc").ok);
        assert!(judge_reply(b"\x01\x02\x03", 0, 255, b"\x01").ok);
    }
}
