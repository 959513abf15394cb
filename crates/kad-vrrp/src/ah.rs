//! IPsec Authentication Header (RFC 2402) around VRRPv2 over IPv4, as keepalived 2.2.7 puts
//! it on the wire (`auth_type AH`).
//!
//! An AH advert is one IPv4 packet: a 20-byte header with protocol 51, the 24-byte AH header
//! (next header 112, payload length 4, reserved 0, SPI = the sender's IPv4 address, sequence
//! number, 12-byte ICV) and the VRRP message (authentication type 2, zero authentication
//! data). The ICV is HMAC-MD5-96 (RFC 2403) keyed with `auth_pass` (at most 8 bytes) over the
//! whole packet with the ICV read as zero and these IPv4 fields zeroed: TOS, flags and
//! fragment offset, header checksum. Unlike RFC 2402 §3.3.3.1.1.1, keepalived does not zero
//! the TTL: it is covered (255 on multicast, as sent on unicast). All of this is proven on keepalived's
//! captures below and, for the fragment field and the SPI, by experiment against
//! keepalived 2.2.7 (it rejects a packet whose SPI is not its source address, and accepts DF
//! only with the fragment field zeroed in the ICV).
//!
//! [`Packet`] is a zero-copy view of the AH header ([`Packet::new_checked`] validates the
//! length once, after which no accessor panics); [`Received::parse`] checks a whole received
//! IPv4 packet and [`Received::verify`] its ICV in constant time; [`seal`] builds a packet;
//! [`SeqCounter`] is keepalived's sequence-number rule.

use crate::drop_reason::DropReason;
use std::net::Ipv4Addr;

use hmac::{Hmac, Mac};
use md5::Md5;

use crate::packet::PROTO_VRRP;

/// Byte layout of the AH header.
mod field {
    use std::ops::Range;
    pub const NEXT_HEADER: usize = 0;
    pub const PAYLOAD_LEN: usize = 1;
    pub const RESERVED: Range<usize> = 2..4;
    pub const SPI: Range<usize> = 4..8;
    pub const SEQ: Range<usize> = 8..12;
    pub const ICV: Range<usize> = 12..24;
}

/// IP protocol number of AH.
pub const PROTO_AH: u8 = 51;
/// Length of the AH header with its 96-bit ICV.
pub const AH_LEN: usize = field::ICV.end;
/// Length of the ICV (HMAC-MD5-96).
pub const ICV_LEN: usize = 12;
/// The payload length field: AH length in 32-bit words minus 2.
pub const PAYLOAD_LEN: u8 = (AH_LEN / 4 - 2) as u8;
/// Length of the IPv4 header kad sends and accepts under AH (no options).
pub const IPV4_LEN: usize = 20;
/// Length of the key: `auth_pass` truncated and zero-padded, as for PASS.
pub const KEY_LEN: usize = 8;

/// Why an AH packet was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AhError {
    /// Shorter than an IPv4 header and an AH header, or IPv4 options present.
    Truncated(usize),
    /// The AH payload length is not 4 (a 96-bit ICV).
    PayloadLen(u8),
    /// The protected protocol is not VRRP.
    NextHeader(u8),
    /// The SPI is not the sender's address.
    Spi,
    /// The ICV does not verify.
    Icv,
    /// The sequence number was already seen.
    Replay {
        /// Received.
        seq: u32,
        /// Last accepted or sent.
        last: u32,
    },
}

impl AhError {
    /// Name of the counter this error feeds (keepalived.stats' wording in the comment).
    pub fn counter(&self) -> DropReason {
        match self {
            AhError::Truncated(_) | AhError::PayloadLen(_) => DropReason::PacketLen,
            AhError::NextHeader(_) => DropReason::InvalidType,
            AhError::Spi | AhError::Icv | AhError::Replay { .. } => DropReason::AhFailure,
        }
    }
}

impl std::fmt::Display for AhError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AhError::Truncated(n) => write!(f, "AH packet of {n} bytes (or with IP options)"),
            AhError::PayloadLen(n) => write!(f, "AH payload length {n}, expected {PAYLOAD_LEN}"),
            AhError::NextHeader(n) => write!(f, "AH protects protocol {n}, not VRRP"),
            AhError::Spi => write!(f, "AH SPI is not the sender's address"),
            AhError::Icv => write!(f, "AH ICV does not verify (wrong auth_pass or altered)"),
            AhError::Replay { seq, last } => {
                write!(f, "AH sequence number {seq} already seen (last {last})")
            }
        }
    }
}

/// A read (and, with `AsMut`, write) view of an AH header.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that it holds a whole AH header with a 96-bit ICV.
    pub fn new_checked(buffer: T) -> Result<Self, AhError> {
        let p = Packet { buffer };
        let len = p.buffer.as_ref().len();
        if len < AH_LEN {
            return Err(AhError::Truncated(len));
        }
        if p.payload_len() != PAYLOAD_LEN {
            return Err(AhError::PayloadLen(p.payload_len()));
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    /// Protocol of what follows the header.
    pub fn next_header(&self) -> u8 {
        self.b()[field::NEXT_HEADER]
    }
    /// Payload length (AH length in words minus 2).
    pub fn payload_len(&self) -> u8 {
        self.b()[field::PAYLOAD_LEN]
    }
    /// Security parameters index.
    pub fn spi(&self) -> u32 {
        let r = &self.b()[field::SPI];
        u32::from_be_bytes([r[0], r[1], r[2], r[3]])
    }
    /// Sequence number.
    pub fn seq(&self) -> u32 {
        let r = &self.b()[field::SEQ];
        u32::from_be_bytes([r[0], r[1], r[2], r[3]])
    }
    /// The integrity check value.
    pub fn icv(&self) -> &[u8] {
        &self.b()[field::ICV]
    }
    /// What the header protects (the VRRP message).
    pub fn payload(&self) -> &[u8] {
        &self.b()[AH_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    /// Sets next header, payload length 4 and reserved 0.
    pub fn set_header(&mut self, next_header: u8) {
        self.m()[field::NEXT_HEADER] = next_header;
        self.m()[field::PAYLOAD_LEN] = PAYLOAD_LEN;
        self.m()[field::RESERVED].fill(0);
    }
    /// Sets the SPI.
    pub fn set_spi(&mut self, v: u32) {
        self.m()[field::SPI].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the sequence number.
    pub fn set_seq(&mut self, v: u32) {
        self.m()[field::SEQ].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the ICV.
    pub fn set_icv(&mut self, icv: &[u8; ICV_LEN]) {
        self.m()[field::ICV].copy_from_slice(icv);
    }
}

/// The HMAC key: `auth_pass` truncated to 8 bytes and zero-padded (HMAC pads keys with zeros
/// to its block size, so the padding changes nothing for shorter passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// The key for `auth_pass`.
    pub fn new(auth_pass: &str) -> Key {
        let mut k = [0u8; KEY_LEN];
        let n = auth_pass.len().min(KEY_LEN);
        k[..n].copy_from_slice(&auth_pass.as_bytes()[..n]);
        Key(k)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// The HMAC over `packet` (IPv4 header of [`IPV4_LEN`] bytes, AH header, payload) with the
/// mutable IPv4 fields and the ICV read as zero. `packet` is at least `IPV4_LEN + AH_LEN`.
fn mac_of(key: &Key, packet: &[u8]) -> Hmac<Md5> {
    let mut ip = [0u8; IPV4_LEN];
    ip.copy_from_slice(&packet[..IPV4_LEN]);
    ip[1] = 0; // TOS
    ip[6..8].fill(0); // flags, fragment offset
    ip[10..12].fill(0); // header checksum
    let mut ah = [0u8; AH_LEN];
    ah.copy_from_slice(&packet[IPV4_LEN..IPV4_LEN + AH_LEN]);
    ah[field::ICV].fill(0);
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for HMAC.
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(&key.0).unwrap_or_else(|_| unreachable!());
    mac.update(&ip);
    mac.update(&ah);
    mac.update(&packet[IPV4_LEN + AH_LEN..]);
    mac
}

/// A received AH packet whose layout is valid; its ICV is not verified yet.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    packet: &'a [u8],
    /// Source address (IPv4 header).
    pub src: Ipv4Addr,
    /// Security parameters index.
    pub spi: u32,
    /// Sequence number.
    pub seq: u32,
}

impl<'a> Received<'a> {
    /// Checks a whole IPv4 packet (header without options, AH, VRRP) as the raw socket hands
    /// it over, cut to the IPv4 total length.
    pub fn parse(packet: &'a [u8]) -> Result<Received<'a>, AhError> {
        if packet.len() < IPV4_LEN + AH_LEN || packet[0] != 0x45 {
            return Err(AhError::Truncated(packet.len()));
        }
        let ah = Packet::new_checked(&packet[IPV4_LEN..])?;
        if ah.next_header() != PROTO_VRRP {
            return Err(AhError::NextHeader(ah.next_header()));
        }
        Ok(Received {
            packet,
            src: Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]),
            spi: ah.spi(),
            seq: ah.seq(),
        })
    }

    /// The protected VRRP message.
    pub fn vrrp(&self) -> &'a [u8] {
        &self.packet[IPV4_LEN + AH_LEN..]
    }

    /// Checks the SPI (the sender's address, as keepalived sends and requires it) and the ICV
    /// (compared in constant time).
    pub fn verify(&self, key: &Key) -> Result<(), AhError> {
        if self.spi != u32::from(self.src) {
            return Err(AhError::Spi);
        }
        let icv = &self.packet[IPV4_LEN + field::ICV.start..IPV4_LEN + field::ICV.end];
        mac_of(key, self.packet)
            .verify_truncated_left(icv)
            .map_err(|_| AhError::Icv)
    }
}

/// What [`seal`] needs besides the VRRP message.
#[derive(Debug, Clone, Copy)]
pub struct Seal {
    /// Source address (also the SPI).
    pub src: Ipv4Addr,
    /// Destination (group or unicast peer).
    pub dst: Ipv4Addr,
    /// IPv4 identification; never 0 (the kernel would replace 0 after the ICV was computed).
    pub id: u16,
    /// AH sequence number.
    pub seq: u32,
    /// TTL (255, or `unicast_ttl` for a unicast peer).
    pub ttl: u8,
}

/// The whole IPv4 packet carrying `vrrp` under AH (TOS 0xc0, TTL `s.ttl`: 255 as keepalived sends),
/// for a raw socket with IP_HDRINCL.
pub fn seal(key: &Key, s: &Seal, vrrp: &[u8]) -> Vec<u8> {
    let total = IPV4_LEN + AH_LEN + vrrp.len();
    let mut buf = vec![0u8; total];
    buf[0] = 0x45;
    buf[1] = 0xc0;
    buf[2..4].copy_from_slice(&(total.min(usize::from(u16::MAX)) as u16).to_be_bytes());
    buf[4..6].copy_from_slice(&s.id.max(1).to_be_bytes());
    buf[8] = s.ttl;
    buf[9] = PROTO_AH;
    buf[12..16].copy_from_slice(&s.src.octets());
    buf[16..20].copy_from_slice(&s.dst.octets());
    let sum = crate::packet::internet_checksum(&buf[..IPV4_LEN]);
    buf[10..12].copy_from_slice(&sum.to_be_bytes());
    {
        let mut ah = Packet::new_unchecked(&mut buf[IPV4_LEN..IPV4_LEN + AH_LEN]);
        ah.set_header(PROTO_VRRP);
        ah.set_spi(u32::from(s.src));
        ah.set_seq(s.seq);
    }
    buf[IPV4_LEN + AH_LEN..].copy_from_slice(vrrp);
    let tag = mac_of(key, &buf).finalize().into_bytes();
    let mut icv = [0u8; ICV_LEN];
    icv.copy_from_slice(&tag[..ICV_LEN]);
    Packet::new_unchecked(&mut buf[IPV4_LEN..IPV4_LEN + AH_LEN]).set_icv(&icv);
    buf
}

/// keepalived's sequence numbers (measured against 2.2.7): one counter per instance for both
/// directions. Each advert sent carries the counter plus one; a received advert must carry
/// more than the counter, which then takes its value. A restarted peer (starting again at 1)
/// is thus heard again as soon as it has heard the current master once: its counter jumps
/// past the master's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqCounter {
    last: u32,
}

impl SeqCounter {
    /// The number for the next advert sent (saturates at `u32::MAX`).
    pub fn next_send(&mut self) -> u32 {
        self.last = self.last.saturating_add(1);
        self.last
    }

    /// Accepts a received number above the counter (and moves the counter to it).
    pub fn accept(&mut self, seq: u32) -> Result<(), AhError> {
        if seq <= self.last {
            return Err(AhError::Replay {
                seq,
                last: self.last,
            });
        }
        self.last = seq;
        Ok(())
    }

    /// The last number sent or accepted.
    pub fn last(&self) -> u32 {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keepalived 2.2.7's AH adverts (shared/lab/captures/vrrp-v2-ipv4-auth-ah*.pcap,
    /// auth_pass kad-pass), Ethernet header included: seq 1, 2, 3 and the priority-0 seq 4.
    const ADVERT: &str = "01005e0000120200c000020b080045c0004000010000ff3318acc000020be000001270040000c000020b000000011d09c63a2f3309ef8054500f2133c80102015265c00002640000000000000000";
    const SEQ2: &str = "01005e0000120200c000020b080045c0004000020000ff3318abc000020be000001270040000c000020b0000000204178cbfea22ef9115d703662133c80102015265c00002640000000000000000";
    const SEQ3: &str = "01005e0000120200c000020b080045c0004000030000ff3318aac000020be000001270040000c000020b000000030282c18a630fd9e1da433a2a2133c80102015265c00002640000000000000000";
    const PRIO0: &str = "01005e0000120200c000020b080045c0004000040000ff3318a9c000020be000001270040000c000020b00000004605f7a3949be370e4915167e2133000102011a66c00002640000000000000000";

    fn ip_packet(frame: &str) -> Vec<u8> {
        (28..frame.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&frame[i..i + 2], 16).expect("hex"))
            .collect()
    }

    const CAPTURES: [(&str, u16, u32); 4] =
        [(ADVERT, 1, 1), (SEQ2, 2, 2), (SEQ3, 3, 3), (PRIO0, 4, 4)];

    #[test]
    fn verifies_keepalived_captures_and_rejects_another_key() {
        for (frame, _, seq) in CAPTURES {
            let pkt = ip_packet(frame);
            let r = Received::parse(&pkt).expect("valid layout");
            assert_eq!(r.seq, seq);
            assert_eq!(r.src, Ipv4Addr::new(192, 0, 2, 11));
            assert_eq!(r.spi, 0xc000_020b, "SPI = source address");
            assert_eq!(r.vrrp().len(), 20);
            assert_eq!(r.verify(&Key::new("kad-pass")), Ok(()));
            assert_eq!(r.verify(&Key::new("kad-pasx")), Err(AhError::Icv));
            assert_eq!(
                r.verify(&Key::new("kad-pass-and-more")),
                Ok(()),
                "auth_pass is cut to 8 bytes"
            );
        }
    }

    #[test]
    fn seal_reproduces_keepalived_captures_bit_for_bit() {
        for (frame, id, seq) in CAPTURES {
            let pkt = ip_packet(frame);
            let s = Seal {
                src: Ipv4Addr::new(192, 0, 2, 11),
                dst: Ipv4Addr::new(224, 0, 0, 18),
                id,
                seq,
                ttl: 255,
            };
            let vrrp = &pkt[IPV4_LEN + AH_LEN..];
            assert_eq!(seal(&Key::new("kad-pass"), &s, vrrp), pkt, "seq {seq}");
        }
    }

    #[test]
    fn mutable_fields_are_outside_the_icv_and_the_rest_inside() {
        let key = Key::new("kad-pass");
        let pkt = ip_packet(ADVERT);
        // TOS, flags/fragment offset (DF set) and checksum may change in flight.
        for (at, v) in [(1, 0x00), (6, 0x40), (10, 0x12), (11, 0x34)] {
            let mut p = pkt.clone();
            p[at] = v;
            let r = Received::parse(&p).expect("layout");
            assert_eq!(r.verify(&key), Ok(()), "byte {at}");
        }
        // Everything else is covered: identification, TTL, addresses, AH, VRRP.
        for at in [4, 5, 8, 13, 17, 24, 28, 40, 44, 46, 50, 55] {
            let mut p = pkt.clone();
            p[at] ^= 0x01;
            let r = Received::parse(&p).expect("layout");
            assert!(r.verify(&key).is_err(), "byte {at} is covered");
        }
    }

    #[test]
    fn spi_must_be_the_source_address() {
        let key = Key::new("kad-pass");
        let s = Seal {
            src: Ipv4Addr::new(192, 0, 2, 12),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            id: 7,
            seq: 9,
            ttl: 255,
        };
        let mut pkt = seal(&key, &s, &ip_packet(ADVERT)[IPV4_LEN + AH_LEN..]);
        assert_eq!(Received::parse(&pkt).and_then(|r| r.verify(&key)), Ok(()));
        pkt[IPV4_LEN + 7] ^= 1;
        assert_eq!(
            Received::parse(&pkt).and_then(|r| r.verify(&key)),
            Err(AhError::Spi)
        );
    }

    #[test]
    fn bad_layouts_are_errors_of_their_kind() {
        let pkt = ip_packet(ADVERT);
        assert_eq!(
            Received::parse(&pkt[..43]).err(),
            Some(AhError::Truncated(43))
        );
        let mut p = pkt.clone();
        p[0] = 0x46;
        assert_eq!(Received::parse(&p).err(), Some(AhError::Truncated(64)));
        let mut p = pkt.clone();
        p[IPV4_LEN + 1] = 5;
        assert_eq!(Received::parse(&p).err(), Some(AhError::PayloadLen(5)));
        let mut p = pkt;
        p[IPV4_LEN] = 17;
        assert_eq!(Received::parse(&p).err(), Some(AhError::NextHeader(17)));
    }

    #[test]
    fn sequence_numbers_follow_keepalived() {
        let mut c = SeqCounter::default();
        assert_eq!(c.accept(100), Ok(()));
        assert_eq!(
            c.next_send(),
            101,
            "our next advert continues after the peer's"
        );
        assert_eq!(
            c.accept(101),
            Err(AhError::Replay {
                seq: 101,
                last: 101
            })
        );
        assert!(
            c.accept(1).is_err(),
            "a restarted peer is not heard at once"
        );
        assert_eq!(c.accept(102), Ok(()));
        assert_eq!(c.last(), 102);
        let mut top = SeqCounter { last: u32::MAX };
        assert_eq!(top.next_send(), u32::MAX, "saturates");
    }
}
