//! Frame codec: a message's bytes cut into datagrams, each with a 12-byte header.
//!
//! Header, little-endian: magic `u32` (`KAD1`), version `u16`, flags `u16` (bit 0: first
//! datagram of a message, bit 1: last), total message length `u32`. The payload of each
//! datagram is at most [`CHUNK`] bytes. A receiver rejects a bad magic or version, a total over
//! its bound (before allocating), a datagram out of order, or more bytes than announced.

use std::fmt;

/// `KAD1` in little-endian byte order.
pub const MAGIC: u32 = u32::from_le_bytes(*b"KAD1");
/// Protocol version; bumped when a message's encoding changes.
pub const VERSION: u16 = 1;
/// Header length in bytes.
pub const HEADER: usize = 12;
/// Largest payload in one datagram (well under any socket buffer).
pub const CHUNK: usize = 60 * 1024;
/// Default bound on one message (a 10,000-virtual-server reload is a few MB).
pub const DEFAULT_MAX_MESSAGE: usize = 256 << 20;
/// Bound on one message from a child to the parent. State changes and script results are
/// tens of bytes; the largest is a status snapshot (about 100 bytes a real server, and about 90
/// for each IPVS service and destination whose counters it carries, at most 10,000 of those:
/// 4 MiB holds some 30,000 real servers beside them).
pub const MAX_FROM_CHILD: usize = 4 << 20;

const FIRST: u16 = 1;
const LAST: u16 = 2;

/// Why a frame or message was rejected, or the channel failed.
#[derive(Debug)]
pub enum IpcError {
    /// A datagram shorter than the header.
    Truncated(usize),
    /// Wrong magic number.
    BadMagic(u32),
    /// Another protocol version.
    BadVersion(u16),
    /// The announced message length is over the bound.
    TooLarge {
        /// Announced length.
        len: usize,
        /// The receiver's bound.
        max: usize,
    },
    /// Datagrams out of order or inconsistent with the announced length.
    Sequence(&'static str),
    /// The payload did not decode as the expected message type.
    Decode(String),
    /// The message could not be encoded (over the bound, or serde refused it).
    Encode(String),
    /// The peer has not read what was queued for it; the queue is at its bound.
    QueueFull {
        /// Bytes already queued.
        queued: usize,
        /// The bound.
        max: usize,
    },
    /// The peer closed the connection.
    Closed,
    /// A socket error.
    Io(std::io::Error),
}

impl fmt::Display for IpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpcError::Truncated(n) => write!(
                f,
                "datagram of {n} bytes is shorter than the {HEADER}-byte header"
            ),
            IpcError::BadMagic(m) => write!(f, "bad magic {m:#010x}"),
            IpcError::BadVersion(v) => write!(f, "protocol version {v}, expected {VERSION}"),
            IpcError::TooLarge { len, max } => {
                write!(f, "message of {len} bytes is over the {max}-byte bound")
            }
            IpcError::Sequence(why) => write!(f, "frames out of sequence: {why}"),
            IpcError::Decode(e) => write!(f, "undecodable message: {e}"),
            IpcError::Encode(e) => write!(f, "cannot encode message: {e}"),
            IpcError::QueueFull { queued, max } => write!(
                f,
                "the peer is not reading: {queued} bytes queued, bound {max}"
            ),
            IpcError::Closed => write!(f, "peer closed the channel"),
            IpcError::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

impl std::error::Error for IpcError {}

/// Cuts an encoded message into datagrams (each with its header).
pub fn split(payload: &[u8]) -> Vec<Vec<u8>> {
    let total = payload.len() as u32;
    let mut out = Vec::with_capacity(payload.len() / CHUNK + 1);
    let chunks: Vec<&[u8]> = if payload.is_empty() {
        vec![&[][..]]
    } else {
        payload.chunks(CHUNK).collect()
    };
    let n = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut flags = 0;
        if i == 0 {
            flags |= FIRST;
        }
        if i + 1 == n {
            flags |= LAST;
        }
        let mut d = Vec::with_capacity(HEADER + chunk.len());
        d.extend_from_slice(&MAGIC.to_le_bytes());
        d.extend_from_slice(&VERSION.to_le_bytes());
        d.extend_from_slice(&flags.to_le_bytes());
        d.extend_from_slice(&total.to_le_bytes());
        d.extend_from_slice(chunk);
        out.push(d);
    }
    out
}

/// Reassembles datagrams into message payloads.
#[derive(Debug)]
pub struct Reassembler {
    max: usize,
    buf: Vec<u8>,
    expected: Option<usize>,
}

impl Reassembler {
    /// A reassembler that refuses messages over `max` bytes.
    pub fn new(max: usize) -> Self {
        Reassembler {
            max,
            buf: Vec::new(),
            expected: None,
        }
    }

    /// Feeds one datagram; returns the whole payload when its last datagram arrives.
    pub fn push(&mut self, datagram: &[u8]) -> Result<Option<Vec<u8>>, IpcError> {
        if datagram.len() < HEADER {
            return Err(IpcError::Truncated(datagram.len()));
        }
        let u32_at = |i: usize| {
            u32::from_le_bytes([
                datagram[i],
                datagram[i + 1],
                datagram[i + 2],
                datagram[i + 3],
            ])
        };
        let u16_at = |i: usize| u16::from_le_bytes([datagram[i], datagram[i + 1]]);
        let magic = u32_at(0);
        if magic != MAGIC {
            return Err(IpcError::BadMagic(magic));
        }
        let version = u16_at(4);
        if version != VERSION {
            return Err(IpcError::BadVersion(version));
        }
        let flags = u16_at(6);
        let total = u32_at(8) as usize;
        let chunk = &datagram[HEADER..];
        if total > self.max {
            return Err(IpcError::TooLarge {
                len: total,
                max: self.max,
            });
        }
        match (flags & FIRST != 0, self.expected) {
            (true, None) => {
                // The length was checked against the bound above, before this allocation.
                self.buf = Vec::with_capacity(total);
                self.expected = Some(total);
            }
            (true, Some(_)) => {
                return Err(IpcError::Sequence(
                    "a new message began before the last one ended",
                ))
            }
            (false, None) => {
                return Err(IpcError::Sequence(
                    "a continuation arrived with no message begun",
                ))
            }
            (false, Some(expected)) if expected != total => {
                return Err(IpcError::Sequence(
                    "a continuation announces another length",
                ))
            }
            (false, Some(_)) => {}
        }
        if self.buf.len() + chunk.len() > total {
            return Err(IpcError::Sequence("more bytes than the message announced"));
        }
        self.buf.extend_from_slice(chunk);
        if flags & LAST == 0 {
            return Ok(None);
        }
        if self.buf.len() != total {
            return Err(IpcError::Sequence(
                "the last datagram came before all bytes",
            ));
        }
        self.expected = None;
        Ok(Some(std::mem::take(&mut self.buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(max: usize, datagrams: &[Vec<u8>]) -> Result<Option<Vec<u8>>, IpcError> {
        let mut r = Reassembler::new(max);
        let mut last = None;
        for d in datagrams {
            last = r.push(d)?;
        }
        Ok(last)
    }

    #[test]
    fn split_and_reassemble_small_empty_and_multi_chunk() {
        for len in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let datagrams = split(&payload);
            assert_eq!(datagrams.len(), len.div_ceil(CHUNK).max(1));
            let got = whole(DEFAULT_MAX_MESSAGE, &datagrams)
                .expect("valid")
                .expect("complete");
            assert_eq!(got, payload);
        }
    }

    #[test]
    fn header_errors() {
        let mut r = Reassembler::new(1024);
        assert!(matches!(r.push(&[0; 5]), Err(IpcError::Truncated(5))));
        let mut d = split(b"abc").remove(0);
        d[0] ^= 0xff;
        assert!(matches!(r.push(&d), Err(IpcError::BadMagic(_))));
        let mut d = split(b"abc").remove(0);
        d[4] = 9;
        assert!(matches!(r.push(&d), Err(IpcError::BadVersion(9))));
    }

    #[test]
    fn oversize_is_refused_before_allocating() {
        let mut d = split(b"abc").remove(0);
        d[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut r = Reassembler::new(1 << 20);
        assert!(matches!(r.push(&d), Err(IpcError::TooLarge { .. })));
        assert_eq!(r.buf.capacity(), 0);
    }

    #[test]
    fn sequence_errors() {
        let payload = vec![7u8; 2 * CHUNK + 5];
        let ds = split(&payload);
        // continuation without a start
        assert!(matches!(
            whole(DEFAULT_MAX_MESSAGE, &ds[1..]),
            Err(IpcError::Sequence(_))
        ));
        // a second start in the middle
        let twice = vec![ds[0].clone(), ds[0].clone()];
        assert!(matches!(
            whole(DEFAULT_MAX_MESSAGE, &twice),
            Err(IpcError::Sequence(_))
        ));
        // last datagram early
        let early = vec![ds[0].clone(), ds[2].clone()];
        assert!(matches!(
            whole(DEFAULT_MAX_MESSAGE, &early),
            Err(IpcError::Sequence(_))
        ));
        // more bytes than announced
        let mut big = split(b"abcdef").remove(0);
        big[8..12].copy_from_slice(&3u32.to_le_bytes());
        assert!(matches!(
            whole(DEFAULT_MAX_MESSAGE, &[big]),
            Err(IpcError::Sequence(_))
        ));
    }
}
