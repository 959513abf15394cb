//! VRRP messages: version 2 (RFC 3768, IPv4) and version 3 (RFC 5798, IPv4 and IPv6).
//!
//! [`Packet`] is a zero-copy view over a VRRP message (the IP payload). Its layout is the
//! private [`field`] module. After [`Packet::new_checked`] has validated the length once, no
//! accessor can panic. [`Advert`] is the owned form with [`Advert::parse`] (which also checks
//! version, type and checksum) and [`Advert::emit`].
//!
//! Checksums: v2 covers the VRRP message only; v3 also covers the IPv4 or IPv6 pseudo-header
//! (RFC 5798 §5.2.8), as keepalived 2.2.7 computes it (proven on its captures below).
//! Intervals are kept in centiseconds for both versions (v2's whole seconds × 100).

use crate::drop_reason::DropReason;
use std::net::IpAddr;

/// Byte layout of the VRRP header.
mod field {
    use std::ops::Range;
    pub const VERS_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2: authentication type.
    pub const AUTH_TYPE: usize = 4;
    /// v2: advertisement interval in seconds.
    pub const ADVER_INT: usize = 5;
    /// v3: 4 reserved bits + 12-bit maximum advertisement interval in centiseconds.
    pub const MAX_ADVER_INT: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::ADDRESSES;
/// Length of VRRPv2's authentication data.
pub const AUTH_DATA_LEN: usize = 8;
/// The only message type: advertisement.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;

/// Why a message was dropped; each kind has its own counter ([`DecodeError::counter`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the header or than its address count needs.
    Truncated(usize),
    /// Neither 2 nor 3, or v2 over IPv6.
    Version(u8),
    /// Not an advertisement.
    Type(u8),
    /// Length does not match the address count.
    Length {
        /// Length the header implies.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// Checksum mismatch.
    Checksum {
        /// Value in the packet.
        got: u16,
        /// Value computed.
        computed: u16,
    },
    /// Source and destination of different families.
    Family,
    /// An advertisement interval of 0 (a master-down interval of 0 would make every backup
    /// take over at once, again and again).
    ZeroInterval,
}

impl DecodeError {
    /// Name of the counter this error feeds.
    pub fn counter(&self) -> DropReason {
        match self {
            DecodeError::Truncated(_) | DecodeError::Length { .. } => DropReason::PacketLen,
            DecodeError::Version(_) => DropReason::VersionUnknown,
            DecodeError::Type(_) => DropReason::InvalidType,
            DecodeError::Checksum { .. } => DropReason::Checksum,
            DecodeError::Family => DropReason::Family,
            DecodeError::ZeroInterval => DropReason::ZeroInterval,
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Truncated(n) => write!(f, "truncated packet ({n} bytes)"),
            DecodeError::Version(v) => write!(f, "unsupported VRRP version {v}"),
            DecodeError::Type(t) => write!(f, "unknown VRRP type {t}"),
            DecodeError::Length { expected, got } => write!(f, "length {got}, expected {expected}"),
            DecodeError::Checksum { got, computed } => {
                write!(f, "bad checksum {got:#06x} (computed {computed:#06x})")
            }
            DecodeError::Family => write!(f, "source and destination families differ"),
            DecodeError::ZeroInterval => write!(f, "advertisement interval 0"),
        }
    }
}

/// VRRPv2 authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Type 0.
    None,
    /// Type 1: the password, zero-padded to 8 bytes.
    Pass([u8; AUTH_DATA_LEN]),
    /// Type 2 (IP AH); kad does not implement it.
    Ah,
    /// Any other type, kept so no value is lost.
    Unknown(u8),
}

impl Auth {
    fn type_byte(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Ah => 2,
            Auth::Unknown(t) => *t,
        }
    }

    /// `auth_pass` as VRRPv2 carries it (truncated to 8 bytes, zero-padded).
    pub fn pass(password: &str) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        let n = password.len().min(AUTH_DATA_LEN);
        data[..n].copy_from_slice(&password.as_bytes()[..n]);
        Auth::Pass(data)
    }
}

fn addr_len(ipv6: bool) -> usize {
    if ipv6 {
        16
    } else {
        4
    }
}

/// A read (and, with `AsMut`, write) view of a VRRP message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that it holds the header and the addresses and
    /// authentication data it announces (for addresses of `ipv6` or IPv4 length).
    pub fn new_checked(buffer: T, ipv6: bool) -> Result<Self, DecodeError> {
        let p = Packet { buffer };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(DecodeError::Truncated(len));
        }
        let expected = p.expected_len(ipv6);
        if len < expected {
            return Err(DecodeError::Truncated(len));
        }
        if len != expected {
            return Err(DecodeError::Length { expected, got: len });
        }
        Ok(p)
    }

    fn expected_len(&self, ipv6: bool) -> usize {
        let v2_auth = if self.version() == 2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + self.count() as usize * addr_len(ipv6) + v2_auth
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version (high nibble of byte 0).
    pub fn version(&self) -> u8 {
        self.b()[field::VERS_TYPE] >> 4
    }
    /// Type (low nibble of byte 0).
    pub fn kind(&self) -> u8 {
        self.b()[field::VERS_TYPE] & 0x0f
    }
    /// Virtual router id.
    pub fn vrid(&self) -> u8 {
        self.b()[field::VRID]
    }
    /// Priority.
    pub fn priority(&self) -> u8 {
        self.b()[field::PRIORITY]
    }
    /// Number of addresses.
    pub fn count(&self) -> u8 {
        self.b()[field::COUNT]
    }
    /// Interval in centiseconds (v2: seconds × 100).
    pub fn interval_cs(&self) -> u16 {
        if self.version() == 2 {
            u16::from(self.b()[field::ADVER_INT]) * 100
        } else {
            let r = &self.b()[field::MAX_ADVER_INT];
            u16::from_be_bytes([r[0], r[1]]) & 0x0fff
        }
    }
    /// v2 authentication type byte.
    pub fn auth_type(&self) -> u8 {
        self.b()[field::AUTH_TYPE]
    }
    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        let r = &self.b()[field::CHECKSUM];
        u16::from_be_bytes([r[0], r[1]])
    }
    /// Address `i` (`i < count`), of the family given.
    pub fn address(&self, i: usize, ipv6: bool) -> IpAddr {
        let n = addr_len(ipv6);
        let at = field::ADDRESSES + i * n;
        let r = &self.b()[at..at + n];
        if ipv6 {
            let mut a = [0u8; 16];
            a.copy_from_slice(r);
            IpAddr::from(a)
        } else {
            IpAddr::from([r[0], r[1], r[2], r[3]])
        }
    }
    /// v2 authentication data (valid when version is 2).
    pub fn auth_data(&self, ipv6: bool) -> [u8; AUTH_DATA_LEN] {
        let at = field::ADDRESSES + self.count() as usize * addr_len(ipv6);
        let mut d = [0u8; AUTH_DATA_LEN];
        d.copy_from_slice(&self.b()[at..at + AUTH_DATA_LEN]);
        d
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    /// Sets version and type.
    pub fn set_version_type(&mut self, version: u8, kind: u8) {
        self.m()[field::VERS_TYPE] = (version << 4) | (kind & 0x0f);
    }
    /// Sets the VRID.
    pub fn set_vrid(&mut self, v: u8) {
        self.m()[field::VRID] = v;
    }
    /// Sets the priority.
    pub fn set_priority(&mut self, v: u8) {
        self.m()[field::PRIORITY] = v;
    }
    /// Sets the address count.
    pub fn set_count(&mut self, v: u8) {
        self.m()[field::COUNT] = v;
    }
    /// Sets the interval (v2: whole seconds; v3: 12-bit centiseconds).
    pub fn set_interval_cs(&mut self, version: u8, cs: u16) {
        if version == 2 {
            self.m()[field::ADVER_INT] = (cs / 100) as u8;
        } else {
            self.m()[field::MAX_ADVER_INT].copy_from_slice(&(cs & 0x0fff).to_be_bytes());
        }
    }
    /// Sets the v2 authentication type.
    pub fn set_auth_type(&mut self, t: u8) {
        self.m()[field::AUTH_TYPE] = t;
    }
    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        self.m()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }
}

/// Internet checksum (RFC 1071) of `data`: the one sum every header and message here uses.
pub fn internet_checksum(data: &[u8]) -> u16 {
    finish(fold(0, data))
}

/// Internet checksum (RFC 1071) of `data`, starting from a partial `sum`.
pub(crate) fn fold(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// Folds the carries of a partial sum and complements it.
pub(crate) fn finish(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The checksum a message of `version` must carry (its checksum field read as zero).
pub fn compute_checksum(msg: &[u8], version: u8, src: IpAddr, dst: IpAddr) -> u16 {
    let mut sum = 0u32;
    if version == 3 {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                sum = fold(sum, &s.octets());
                sum = fold(sum, &d.octets());
                sum = fold(sum, &[0, PROTO_VRRP]);
                sum = fold(sum, &(msg.len() as u16).to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                sum = fold(sum, &s.octets());
                sum = fold(sum, &d.octets());
                sum = fold(sum, &(msg.len() as u32).to_be_bytes());
                sum = fold(sum, &[0, 0, 0, PROTO_VRRP]);
            }
            _ => {}
        }
    }
    sum = fold(sum, &msg[..field::CHECKSUM.start]);
    sum = fold(sum, &msg[field::CHECKSUM.end..]);
    finish(sum)
}

/// Most addresses one advert carries: "Count IPvX Addr" is one byte (RFC 3768 / 5798).
pub const MAX_ADDRESSES: usize = 255;

/// An advertisement, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// 2 or 3.
    pub version: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// Sender's priority (0: the master is stopping).
    pub priority: u8,
    /// Advertisement interval in centiseconds.
    pub interval_cs: u16,
    /// Virtual addresses.
    pub addresses: Vec<IpAddr>,
    /// v2 authentication (`Auth::None` for v3).
    pub auth: Auth,
}

impl Advert {
    /// Parses and validates a VRRP message received from `src` to `dst`.
    pub fn parse(msg: &[u8], src: IpAddr, dst: IpAddr) -> Result<Advert, DecodeError> {
        if src.is_ipv6() != dst.is_ipv6() {
            return Err(DecodeError::Family);
        }
        let ipv6 = src.is_ipv6();
        if msg.len() < HEADER_LEN {
            return Err(DecodeError::Truncated(msg.len()));
        }
        let version = msg[field::VERS_TYPE] >> 4;
        if !(version == 3 || (version == 2 && !ipv6)) {
            return Err(DecodeError::Version(version));
        }
        let p = Packet::new_checked(msg, ipv6)?;
        if p.kind() != TYPE_ADVERTISEMENT {
            return Err(DecodeError::Type(p.kind()));
        }
        let computed = compute_checksum(msg, version, src, dst);
        if computed != p.checksum() {
            return Err(DecodeError::Checksum {
                got: p.checksum(),
                computed,
            });
        }
        if p.interval_cs() == 0 {
            return Err(DecodeError::ZeroInterval);
        }
        let addresses = (0..p.count() as usize)
            .map(|i| p.address(i, ipv6))
            .collect();
        let auth = if version == 2 {
            match p.auth_type() {
                0 => Auth::None,
                1 => Auth::Pass(p.auth_data(ipv6)),
                2 => Auth::Ah,
                t => Auth::Unknown(t),
            }
        } else {
            Auth::None
        };
        Ok(Advert {
            version,
            vrid: p.vrid(),
            priority: p.priority(),
            interval_cs: p.interval_cs(),
            addresses,
            auth,
        })
    }

    /// The addresses [`Advert::emit`] writes: the first [`MAX_ADDRESSES`] (the count is one
    /// byte; the engine moves the rest to the excluded list before they get here).
    fn carried(&self) -> &[IpAddr] {
        self.addresses
            .get(..MAX_ADDRESSES)
            .unwrap_or(&self.addresses)
    }

    /// Bytes [`Advert::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let ipv6 = self.addresses.first().is_some_and(IpAddr::is_ipv6);
        HEADER_LEN
            + self.carried().len() * addr_len(ipv6)
            + if self.version == 2 { AUTH_DATA_LEN } else { 0 }
    }

    /// The message as sent from `src` to `dst`, checksum included.
    pub fn emit(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version_type(self.version, TYPE_ADVERTISEMENT);
        p.set_vrid(self.vrid);
        p.set_priority(self.priority);
        let carried = self.carried();
        p.set_count(u8::try_from(carried.len()).unwrap_or(u8::MAX));
        p.set_interval_cs(self.version, self.interval_cs);
        if self.version == 2 {
            p.set_auth_type(self.auth.type_byte());
        }
        let mut at = HEADER_LEN;
        for a in carried {
            match a {
                IpAddr::V4(v4) => {
                    buf[at..at + 4].copy_from_slice(&v4.octets());
                    at += 4;
                }
                IpAddr::V6(v6) => {
                    buf[at..at + 16].copy_from_slice(&v6.octets());
                    at += 16;
                }
            }
        }
        if let (2, Auth::Pass(data)) = (self.version, self.auth) {
            buf[at..at + AUTH_DATA_LEN].copy_from_slice(&data);
        }
        let sum = compute_checksum(&buf, self.version, src, dst);
        Packet::new_unchecked(&mut buf[..]).set_checksum(sum);
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames captured from keepalived 2.2.7 (shared/lab/captures/manifest.json): Ethernet + IP + VRRP.
    const V2: &str = "01005e0000120200c000020b080045c0002800010000ff701887c000020be00000122133c80100015465c00002640000000000000000";
    const V2_PRIO0: &str = "01005e0000120200c000020b080045c0002800040000ff701884c000020be00000122133000100011c66c00002640000000000000000";
    const V2_3VIPS: &str = "01005e0000120200c000020b080045c0003000010000ff70187fc000020be00000122133c8030001cf96c0000264c0000265c00002660000000000000000";
    const V2_PASS: &str = "01005e0000120200c000020b080045c0002800010000ff701887c000020be00000122133c8010101a001c00002646b61642d70617373";
    const V3: &str = "01005e0000120200c000020b080045c0002000010000ff70188fc000020be00000123133c8010064a167c0000264";
    const V3_100MS: &str = "01005e0000120200c000020b080045c0002000010000ff70188fc000020be00000123133c801000aa1c1c0000264";
    const V3_3VIPS_PRIO0: &str = "01005e0000120200c000020b080045c0002800040000ff701884c000020be0000012313300030064e491c0000264c0000265c0000266";
    const V3_V6: &str = "3333000000120200c000020b86dd6c0217ef001870fffe800000000000000000c0fffe00020bff0200000000000000000000000000123133c8010064188420010db8000000000000000000000100";
    const V3_V6_3VIPS: &str = "3333000000120200c000020b86dd6c0217ef003870fffe800000000000000000c0fffe00020bff0200000000000000000000000000123133c8030064baec20010db800000000000000000000010020010db800000000000000000000010120010db8000000000000000000000102";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// Splits a captured frame into (src, dst, VRRP message).
    fn vrrp_of(frame: &str) -> (IpAddr, IpAddr, Vec<u8>) {
        let f = hex(frame);
        if f[12..14] == [0x08, 0x00] {
            let ip = &f[14..];
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let src = IpAddr::from([ip[12], ip[13], ip[14], ip[15]]);
            let dst = IpAddr::from([ip[16], ip[17], ip[18], ip[19]]);
            (src, dst, ip[ihl..].to_vec())
        } else {
            let ip = &f[14..];
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            d.copy_from_slice(&ip[24..40]);
            (IpAddr::from(s), IpAddr::from(d), ip[40..].to_vec())
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn decodes_keepalived_captures_exactly() {
        /// (frame, version, priority, interval in cs, addresses, auth)
        type Case<'a> = (&'a str, u8, u8, u16, &'a [&'a str], Auth);
        let cases: [Case; 9] = [
            (V2, 2, 200, 100, &["192.0.2.100"], Auth::None),
            (V2_PRIO0, 2, 0, 100, &["192.0.2.100"], Auth::None),
            (
                V2_3VIPS,
                2,
                200,
                100,
                &["192.0.2.100", "192.0.2.101", "192.0.2.102"],
                Auth::None,
            ),
            (
                V2_PASS,
                2,
                200,
                100,
                &["192.0.2.100"],
                Auth::pass("kad-pass"),
            ),
            (V3, 3, 200, 100, &["192.0.2.100"], Auth::None),
            (V3_100MS, 3, 200, 10, &["192.0.2.100"], Auth::None),
            (
                V3_3VIPS_PRIO0,
                3,
                0,
                100,
                &["192.0.2.100", "192.0.2.101", "192.0.2.102"],
                Auth::None,
            ),
            (V3_V6, 3, 200, 100, &["2001:db8::100"], Auth::None),
            (
                V3_V6_3VIPS,
                3,
                200,
                100,
                &["2001:db8::100", "2001:db8::101", "2001:db8::102"],
                Auth::None,
            ),
        ];
        for (frame, version, priority, interval_cs, addrs, auth) in cases {
            let (src, dst, msg) = vrrp_of(frame);
            let a = Advert::parse(&msg, src, dst).unwrap_or_else(|e| panic!("{frame}: {e}"));
            let want = Advert {
                version,
                vrid: 51,
                priority,
                interval_cs,
                addresses: addrs.iter().map(|s| ip(s)).collect(),
                auth,
            };
            assert_eq!(a, want);
            assert_eq!(a.emit(src, dst), msg, "re-encoding is byte-identical");
        }
    }

    #[test]
    fn bad_input_is_an_error_of_its_kind() {
        let (src, dst, msg) = vrrp_of(V3);
        assert_eq!(
            Advert::parse(&msg[..5], src, dst),
            Err(DecodeError::Truncated(5))
        );
        assert_eq!(
            Advert::parse(&msg[..10], src, dst),
            Err(DecodeError::Truncated(10))
        );
        let mut long = msg.clone();
        long.push(0);
        assert!(matches!(
            Advert::parse(&long, src, dst),
            Err(DecodeError::Length {
                expected: 12,
                got: 13
            })
        ));
        let mut bad = msg.clone();
        bad[0] = 0x41;
        assert_eq!(Advert::parse(&bad, src, dst), Err(DecodeError::Version(4)));
        let mut bad = msg.clone();
        bad[0] = 0x32;
        assert_eq!(Advert::parse(&bad, src, dst), Err(DecodeError::Type(2)));
        let mut bad = msg.clone();
        bad[8] ^= 1;
        assert!(matches!(
            Advert::parse(&bad, src, dst),
            Err(DecodeError::Checksum { .. })
        ));
        // v3's checksum covers the pseudo-header: another source address fails it.
        assert!(matches!(
            Advert::parse(&msg, ip("192.0.2.12"), dst),
            Err(DecodeError::Checksum { .. })
        ));
        assert_eq!(
            Advert::parse(&msg, ip("2001:db8::1"), dst),
            Err(DecodeError::Family)
        );
        // v2 is IPv4 only.
        let (_, _, v2) = vrrp_of(V2);
        assert_eq!(
            Advert::parse(&v2, ip("fe80::1"), ip("ff02::12")),
            Err(DecodeError::Version(2))
        );
    }

    #[test]
    fn an_interval_of_zero_is_dropped() {
        for frame in [V3, V2] {
            let (src, dst, msg) = vrrp_of(frame);
            let mut a = Advert::parse(&msg, src, dst).expect("valid");
            a.interval_cs = 0;
            let zero = a.emit(src, dst);
            assert_eq!(
                Advert::parse(&zero, src, dst),
                Err(DecodeError::ZeroInterval)
            );
            assert_eq!(
                DecodeError::ZeroInterval.counter(),
                DropReason::ZeroInterval
            );
        }
        // v3's 12-bit field: the reserved high bits do not make it non-zero.
        let (src, dst, mut msg) = vrrp_of(V3);
        msg[4] = 0xf0;
        msg[5] = 0;
        let sum = compute_checksum(&msg, 3, src, dst);
        msg[6..8].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(
            Advert::parse(&msg, src, dst),
            Err(DecodeError::ZeroInterval)
        );
    }

    /// 300 VIPs: the count must not wrap (it was 300 % 256 = 44 with 1200 bytes of addresses,
    /// which every receiver dropped as a length error). keepalived 2.2.7 sent 255 addresses,
    /// VRRP length 1036, for the same list (reference section 10).
    #[test]
    fn an_advert_never_carries_more_than_255_addresses() {
        let addresses: Vec<IpAddr> = (0..300u32)
            .map(|i| IpAddr::V4(std::net::Ipv4Addr::from(0xc633_6400 + i)))
            .collect();
        let advert = Advert {
            version: 2,
            vrid: 51,
            priority: 200,
            interval_cs: 100,
            addresses: addresses.clone(),
            auth: Auth::None,
        };
        let (src, dst) = (ip("192.0.2.61"), ip("224.0.0.18"));
        let msg = advert.emit(src, dst);
        assert_eq!(msg.len(), 1036);
        assert_eq!(msg[field::COUNT], 255);
        let back = Advert::parse(&msg, src, dst).expect("a valid advert");
        assert_eq!(back.addresses, addresses[..255]);
    }

    #[test]
    fn v2_checksum_has_no_pseudo_header() {
        let (_, dst, msg) = vrrp_of(V2);
        assert!(Advert::parse(&msg, ip("192.0.2.99"), dst).is_ok());
    }

    #[test]
    fn auth_pass_is_padded_and_truncated() {
        assert_eq!(Auth::pass("abc"), Auth::Pass(*b"abc\0\0\0\0\0"));
        assert_eq!(Auth::pass("0123456789"), Auth::Pass(*b"01234567"));
    }
}
