//! The IPVS generic-netlink messages, byte for byte (linux/include/uapi/linux/ip_vs.h): the
//! generic header and the attributes of each command, and the parsers of the kernel's
//! replies. Pure: no socket here. Every parser checks lengths first and returns a
//! [`WireError`] for anything malformed; nothing here panics on input.
//!
//! Attributes are `struct nlattr { u16 len; u16 type; }` + payload padded to 4 bytes, in host
//! byte order except ports (big-endian) and addresses (network order, IPv4 in the first 4
//! bytes of a 16-byte `nf_inet_addr`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{Dest, Forward, Service, ServiceKey, Stats};

pub mod daemon;

/// `IPVS_GENL_VERSION`.
pub const GENL_VERSION: u8 = 1;
/// The generic netlink controller's family id.
pub const GENL_ID_CTRL: u16 = 16;
/// `CTRL_CMD_GETFAMILY`.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// IPVS commands.
pub mod cmd {
    /// Add a service.
    pub const NEW_SERVICE: u8 = 1;
    /// Edit a service.
    pub const SET_SERVICE: u8 = 2;
    /// Delete a service.
    pub const DEL_SERVICE: u8 = 3;
    /// Get (dump) services.
    pub const GET_SERVICE: u8 = 4;
    /// Add a destination.
    pub const NEW_DEST: u8 = 5;
    /// Edit a destination.
    pub const SET_DEST: u8 = 6;
    /// Delete a destination.
    pub const DEL_DEST: u8 = 7;
    /// Get (dump) destinations of a service.
    pub const GET_DEST: u8 = 8;
    /// Start a connection-sync daemon.
    pub const NEW_DAEMON: u8 = 9;
    /// Stop a connection-sync daemon.
    pub const DEL_DAEMON: u8 = 10;
    /// Get (dump) the running sync daemons.
    pub const GET_DAEMON: u8 = 11;
    /// Set the tcp, tcpfin and udp timeouts.
    pub const SET_CONFIG: u8 = 12;
    /// Get the tcp, tcpfin and udp timeouts.
    pub const GET_CONFIG: u8 = 13;
    /// Get version and connection table size.
    pub const GET_INFO: u8 = 15;
    /// Remove every service.
    pub const FLUSH: u8 = 17;
}

const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;
const CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const CMD_ATTR_TIMEOUT_UDP: u16 = 6;

const SVC_AF: u16 = 1;
const SVC_PROTOCOL: u16 = 2;
const SVC_ADDR: u16 = 3;
const SVC_PORT: u16 = 4;
const SVC_FWMARK: u16 = 5;
const SVC_SCHED_NAME: u16 = 6;
const SVC_FLAGS: u16 = 7;
const SVC_TIMEOUT: u16 = 8;
const SVC_NETMASK: u16 = 9;
const SVC_PE_NAME: u16 = 11;
const SVC_STATS: u16 = 10;
const SVC_STATS64: u16 = 12;

const DEST_ADDR: u16 = 1;
const DEST_PORT: u16 = 2;
const DEST_FWD_METHOD: u16 = 3;
const DEST_WEIGHT: u16 = 4;
const DEST_U_THRESH: u16 = 5;
const DEST_L_THRESH: u16 = 6;
const DEST_ACTIVE_CONNS: u16 = 7;
const DEST_INACT_CONNS: u16 = 8;
const DEST_ADDR_FAMILY: u16 = 11;
const DEST_STATS: u16 = 10;
const DEST_STATS64: u16 = 12;

const STATS_CONNS: u16 = 1;
const STATS_INPKTS: u16 = 2;
const STATS_OUTPKTS: u16 = 3;
const STATS_INBYTES: u16 = 4;
const STATS_OUTBYTES: u16 = 5;

const INFO_VERSION: u16 = 1;
const INFO_CONN_TAB_SIZE: u16 = 2;

const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;

/// A malformed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed IPVS netlink reply: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// Writes attributes.
#[derive(Default)]
struct Attrs(Vec<u8>);

impl Attrs {
    fn put(&mut self, kind: u16, payload: &[u8]) -> &mut Self {
        let len = 4 + payload.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(payload);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
        self
    }
    fn u16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put(kind, &v.to_ne_bytes())
    }
    fn u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.put(kind, &v.to_ne_bytes())
    }
    fn be16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put(kind, &v.to_be_bytes())
    }
    fn addr(&mut self, kind: u16, a: IpAddr) -> &mut Self {
        let mut b = [0u8; 16];
        match a {
            IpAddr::V4(v) => b[..4].copy_from_slice(&v.octets()),
            IpAddr::V6(v) => b.copy_from_slice(&v.octets()),
        }
        self.put(kind, &b)
    }
    fn string(&mut self, kind: u16, s: &str) -> &mut Self {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.put(kind, &b)
    }
    fn nested(&mut self, kind: u16, inner: Attrs) -> &mut Self {
        self.put(kind, &inner.0)
    }
}

/// The generic netlink payload: `genlmsghdr` (cmd, version, reserved) + attributes.
fn genl(command: u8, attrs: Attrs) -> Vec<u8> {
    let mut m = vec![command, GENL_VERSION, 0, 0];
    m.extend_from_slice(&attrs.0);
    m
}

fn af(ipv6: bool) -> u16 {
    if ipv6 {
        AF_INET6
    } else {
        AF_INET
    }
}

fn service_key_attrs(key: &ServiceKey) -> Attrs {
    let mut a = Attrs::default();
    a.u16(SVC_AF, af(key.is_ipv6()));
    match key {
        ServiceKey::Addr { proto, addr, port } => {
            a.u16(SVC_PROTOCOL, *proto)
                .addr(SVC_ADDR, *addr)
                .be16(SVC_PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => {
            a.u32(SVC_FWMARK, *mark);
        }
    }
    a
}

fn service_attrs(s: &Service) -> Attrs {
    let mut a = service_key_attrs(&s.key);
    a.string(SVC_SCHED_NAME, &s.scheduler);
    if let Some(pe) = &s.pe_name {
        a.string(SVC_PE_NAME, pe);
    }
    let mut fl = s.flags.to_ne_bytes().to_vec();
    fl.extend_from_slice(&u32::MAX.to_ne_bytes());
    a.put(SVC_FLAGS, &fl)
        .u32(SVC_TIMEOUT, s.timeout)
        .u32(SVC_NETMASK, s.netmask);
    a
}

fn dest_attrs(d: &Dest, full: bool) -> Attrs {
    let mut a = Attrs::default();
    a.addr(DEST_ADDR, d.addr).be16(DEST_PORT, d.port);
    if full {
        a.u16(DEST_ADDR_FAMILY, af(d.addr.is_ipv6()))
            .u32(DEST_FWD_METHOD, d.forward.code())
            .u32(DEST_WEIGHT, d.weight)
            .u32(DEST_U_THRESH, d.upper)
            .u32(DEST_L_THRESH, d.lower);
    }
    a
}

/// `CTRL_CMD_GETFAMILY` for `name` (sent to [`GENL_ID_CTRL`]).
pub fn get_family(name: &str) -> Vec<u8> {
    let mut a = Attrs::default();
    a.string(CTRL_ATTR_FAMILY_NAME, name);
    let mut m = vec![CTRL_CMD_GETFAMILY, 1, 0, 0];
    m.extend_from_slice(&a.0);
    m
}

/// Adds (`cmd::NEW_SERVICE`) or edits (`cmd::SET_SERVICE`) a service.
pub fn service(command: u8, s: &Service) -> Vec<u8> {
    let mut a = Attrs::default();
    a.nested(CMD_ATTR_SERVICE, service_attrs(s));
    genl(command, a)
}

/// Deletes a service, or asks for its destinations (`cmd::DEL_SERVICE`, `cmd::GET_DEST`).
pub fn service_key(command: u8, key: &ServiceKey) -> Vec<u8> {
    let mut a = Attrs::default();
    a.nested(CMD_ATTR_SERVICE, service_key_attrs(key));
    genl(command, a)
}

/// Adds, edits or deletes a destination of service `key`.
pub fn dest(command: u8, key: &ServiceKey, d: &Dest) -> Vec<u8> {
    let mut a = Attrs::default();
    a.nested(CMD_ATTR_SERVICE, service_key_attrs(key));
    a.nested(CMD_ATTR_DEST, dest_attrs(d, command != cmd::DEL_DEST));
    genl(command, a)
}

/// A command without attributes (`GET_SERVICE` dump, `GET_INFO`, `FLUSH`).
pub fn bare(command: u8) -> Vec<u8> {
    genl(command, Attrs::default())
}

/// `SET_CONFIG`: the timeouts in seconds; 0 leaves one as the kernel has it.
pub fn set_timeouts(t: Timeouts) -> Vec<u8> {
    let mut a = Attrs::default();
    for (kind, v) in [
        (CMD_ATTR_TIMEOUT_TCP, t.tcp),
        (CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpfin),
        (CMD_ATTR_TIMEOUT_UDP, t.udp),
    ] {
        if v != 0 {
            a.u32(kind, v);
        }
    }
    genl(cmd::SET_CONFIG, a)
}

/// The kernel's tcp, tcpfin and udp timeouts in seconds (`ipvsadm -L --timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcpfin: u32,
    /// UDP.
    pub udp: u32,
}

/// The timeouts in a `GET_CONFIG` reply (a missing one reads as 0).
pub fn parse_timeouts(payload: &[u8]) -> Result<Timeouts, WireError> {
    let (_, list) = split_genl(payload)?;
    let get = |kind, what| match find(&list, kind) {
        Some(b) => get_u32(b, what),
        None => Ok(0),
    };
    Ok(Timeouts {
        tcp: get(CMD_ATTR_TIMEOUT_TCP, "tcp timeout")?,
        tcpfin: get(CMD_ATTR_TIMEOUT_TCP_FIN, "tcpfin timeout")?,
        udp: get(CMD_ATTR_TIMEOUT_UDP, "udp timeout")?,
    })
}

/// Attributes as `(type, payload)` pairs.
pub type AttrList<'a> = Vec<(u16, &'a [u8])>;

/// Splits an attribute stream into `(type, payload)` pairs (the nested flag masked off).
pub fn attrs(mut buf: &[u8]) -> Result<AttrList<'_>, WireError> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        if len < 4 || len > buf.len() {
            return Err(WireError(format!(
                "attribute {kind} of length {len} in {} bytes",
                buf.len()
            )));
        }
        out.push((kind, &buf[4..len]));
        let padded = (len + 3) & !3;
        buf = buf.get(padded..).unwrap_or_default();
    }
    Ok(out)
}

fn find<'a>(list: &[(u16, &'a [u8])], kind: u16) -> Option<&'a [u8]> {
    list.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v)
}

fn need<'a>(list: &[(u16, &'a [u8])], kind: u16, what: &str) -> Result<&'a [u8], WireError> {
    find(list, kind).ok_or_else(|| WireError(format!("no {what}")))
}

fn get_u16(b: &[u8], what: &str) -> Result<u16, WireError> {
    b.get(..2)
        .map(|x| u16::from_ne_bytes([x[0], x[1]]))
        .ok_or_else(|| WireError(format!("{what}: {} bytes", b.len())))
}

fn get_be16(b: &[u8], what: &str) -> Result<u16, WireError> {
    get_u16(b, what).map(u16::from_be)
}

fn get_u32(b: &[u8], what: &str) -> Result<u32, WireError> {
    b.get(..4)
        .map(|x| u32::from_ne_bytes([x[0], x[1], x[2], x[3]]))
        .ok_or_else(|| WireError(format!("{what}: {} bytes", b.len())))
}

fn get_u64(b: &[u8], what: &str) -> Result<u64, WireError> {
    b.get(..8)
        .and_then(|x| x.try_into().ok())
        .map(u64::from_ne_bytes)
        .ok_or_else(|| WireError(format!("{what}: {} bytes", b.len())))
}

fn get_addr(b: &[u8], ipv6: bool, what: &str) -> Result<IpAddr, WireError> {
    if ipv6 {
        let a: [u8; 16] = b
            .get(..16)
            .and_then(|x| x.try_into().ok())
            .ok_or_else(|| WireError(format!("{what}: {} bytes", b.len())))?;
        Ok(IpAddr::V6(Ipv6Addr::from(a)))
    } else {
        let a: [u8; 4] = b
            .get(..4)
            .and_then(|x| x.try_into().ok())
            .ok_or_else(|| WireError(format!("{what}: {} bytes", b.len())))?;
        Ok(IpAddr::V4(Ipv4Addr::from(a)))
    }
}

fn get_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// One netlink message of a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A data message: its generic-netlink payload.
    Data(&'a [u8]),
    /// `NLMSG_ERROR` with code 0: the request was done.
    Ack,
    /// `NLMSG_ERROR` with an errno (positive).
    Error(i32),
    /// `NLMSG_DONE`: the end of a dump.
    Done,
}

/// Splits a received datagram into netlink messages `(sequence number, reply)`, checking every
/// length. An error or ACK carries the sequence number of the request it answers.
pub fn netlink_messages(mut buf: &[u8]) -> Result<Vec<(u32, Reply<'_>)>, WireError> {
    const HEADER: usize = 16;
    let mut out = Vec::new();
    while !buf.is_empty() {
        if buf.len() < HEADER {
            return Err(WireError(format!("netlink header of {} bytes", buf.len())));
        }
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < HEADER || len > buf.len() {
            return Err(WireError(format!(
                "netlink message of length {len} in {} bytes",
                buf.len()
            )));
        }
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let payload = &buf[HEADER..len];
        out.push((
            seq,
            match kind {
                2 => match get_u32(payload, "netlink error")? as i32 {
                    0 => Reply::Ack,
                    e => Reply::Error(e.wrapping_neg()),
                },
                3 => Reply::Done,
                _ => Reply::Data(payload),
            },
        ));
        buf = buf.get((len + 3) & !3..).unwrap_or_default();
    }
    Ok(out)
}

/// The generic payload's command and attributes.
pub fn split_genl(payload: &[u8]) -> Result<(u8, AttrList<'_>), WireError> {
    if payload.len() < 4 {
        return Err(WireError(format!(
            "generic header of {} bytes",
            payload.len()
        )));
    }
    Ok((payload[0], attrs(&payload[4..])?))
}

/// The family id in a `CTRL_CMD_NEWFAMILY` reply.
pub fn parse_family(payload: &[u8]) -> Result<u16, WireError> {
    let (_, list) = split_genl(payload)?;
    get_u16(need(&list, CTRL_ATTR_FAMILY_ID, "family id")?, "family id")
}

/// A service from a `GET_SERVICE` dump message.
pub fn parse_service(payload: &[u8]) -> Result<Service, WireError> {
    let (_, top) = split_genl(payload)?;
    let list = attrs(need(&top, CMD_ATTR_SERVICE, "service")?)?;
    let ipv6 = get_u16(need(&list, SVC_AF, "address family")?, "address family")? == AF_INET6;
    let key = match find(&list, SVC_FWMARK) {
        Some(m) if get_u32(m, "fwmark")? != 0 => ServiceKey::Fwmark {
            mark: get_u32(m, "fwmark")?,
            ipv6,
        },
        _ => ServiceKey::Addr {
            proto: get_u16(need(&list, SVC_PROTOCOL, "protocol")?, "protocol")?,
            addr: get_addr(need(&list, SVC_ADDR, "address")?, ipv6, "address")?,
            port: get_be16(need(&list, SVC_PORT, "port")?, "port")?,
        },
    };
    let flags = get_u32(need(&list, SVC_FLAGS, "flags")?, "flags")?;
    Ok(Service {
        key,
        scheduler: get_string(need(&list, SVC_SCHED_NAME, "scheduler")?),
        flags: flags & !crate::model::flags::HASHED,
        timeout: find(&list, SVC_TIMEOUT)
            .map(|b| get_u32(b, "timeout"))
            .transpose()?
            .unwrap_or(0),
        netmask: find(&list, SVC_NETMASK)
            .map(|b| get_u32(b, "netmask"))
            .transpose()?
            .unwrap_or(0),
        pe_name: find(&list, SVC_PE_NAME)
            .map(get_string)
            .filter(|s| !s.is_empty()),
    })
}

/// A destination from a `GET_DEST` dump message (`ipv6`: the service's family, used when the
/// kernel sends no destination family).
pub fn parse_dest(payload: &[u8], ipv6: bool) -> Result<Dest, WireError> {
    let (_, top) = split_genl(payload)?;
    let list = attrs(need(&top, CMD_ATTR_DEST, "destination")?)?;
    let ipv6 = match find(&list, DEST_ADDR_FAMILY) {
        Some(b) => get_u16(b, "address family")? == AF_INET6,
        None => ipv6,
    };
    let u32_or_0 = |kind, what| -> Result<u32, WireError> {
        find(&list, kind)
            .map(|b| get_u32(b, what))
            .transpose()
            .map(|v| v.unwrap_or(0))
    };
    Ok(Dest {
        addr: get_addr(need(&list, DEST_ADDR, "address")?, ipv6, "address")?,
        port: get_be16(need(&list, DEST_PORT, "port")?, "port")?,
        forward: Forward::from_code(get_u32(
            need(&list, DEST_FWD_METHOD, "forwarding method")?,
            "forwarding method",
        )?),
        weight: get_u32(need(&list, DEST_WEIGHT, "weight")?, "weight")?,
        upper: u32_or_0(DEST_U_THRESH, "upper threshold")?,
        lower: u32_or_0(DEST_L_THRESH, "lower threshold")?,
        active: u32_or_0(DEST_ACTIVE_CONNS, "active connections")?,
        inactive: u32_or_0(DEST_INACT_CONNS, "inactive connections")?,
    })
}

/// The totals of a service or destination: its `STATS64` attribute (kernel 4.0 on, every
/// counter 64 bits), else its `STATS` one (connections and packets 32 bits), else zeros.
fn parse_stats(list: &[(u16, &[u8])], stats64: u16, stats: u16) -> Result<Stats, WireError> {
    let (nested, wide) = match (find(list, stats64), find(list, stats)) {
        (Some(b), _) => (b, true),
        (None, Some(b)) => (b, false),
        (None, None) => return Ok(Stats::default()),
    };
    let inner = attrs(nested)?;
    let counter = |kind, what| -> Result<u64, WireError> {
        match find(&inner, kind) {
            None => Ok(0),
            Some(b) if wide || kind >= STATS_INBYTES => get_u64(b, what),
            Some(b) => get_u32(b, what).map(u64::from),
        }
    };
    Ok(Stats {
        connections: counter(STATS_CONNS, "connections")?,
        packets_in: counter(STATS_INPKTS, "packets in")?,
        packets_out: counter(STATS_OUTPKTS, "packets out")?,
        bytes_in: counter(STATS_INBYTES, "bytes in")?,
        bytes_out: counter(STATS_OUTBYTES, "bytes out")?,
    })
}

/// The totals of the service in a `GET_SERVICE` dump message.
pub fn parse_service_stats(payload: &[u8]) -> Result<Stats, WireError> {
    let (_, top) = split_genl(payload)?;
    let list = attrs(need(&top, CMD_ATTR_SERVICE, "service")?)?;
    parse_stats(&list, SVC_STATS64, SVC_STATS)
}

/// The totals of the destination in a `GET_DEST` dump message.
pub fn parse_dest_stats(payload: &[u8]) -> Result<Stats, WireError> {
    let (_, top) = split_genl(payload)?;
    let list = attrs(need(&top, CMD_ATTR_DEST, "destination")?)?;
    parse_stats(&list, DEST_STATS64, DEST_STATS)
}

/// `(version, connection table size)` from a `GET_INFO` reply.
pub fn parse_info(payload: &[u8]) -> Result<(u32, u32), WireError> {
    let (_, list) = split_genl(payload)?;
    Ok((
        get_u32(need(&list, INFO_VERSION, "version")?, "version")?,
        get_u32(need(&list, INFO_CONN_TAB_SIZE, "table size")?, "table size")?,
    ))
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;
    use crate::model::{flags, PROTO_TCP};

    fn tcp_service() -> Service {
        Service {
            key: ServiceKey::Addr {
                proto: PROTO_TCP,
                addr: IpAddr::from([192, 0, 2, 1]),
                port: 80,
            },
            scheduler: "rr".into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        }
    }

    /// The service attributes of TCP 192.0.2.1:80 (AF, protocol, address, port).
    const KEY: [u8; 44] = [
        6, 0, 1, 0, 2, 0, 0, 0, // AF_INET
        6, 0, 2, 0, 6, 0, 0, 0, // IPPROTO_TCP
        20, 0, 3, 0, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // address
        6, 0, 4, 0, 0, 80, 0, 0, // port 80, big-endian
    ];

    /// A `GET_DEST` reply for 198.51.100.7:8080 with `stats` nested as attribute `kind`.
    fn dest_reply(kind: u16, stats: Attrs) -> Vec<u8> {
        let d = Dest::new(IpAddr::from([198, 51, 100, 7]), 8080, Forward::Masq, 2);
        let mut inner = dest_attrs(&d, true);
        inner.nested(kind, stats);
        let mut top = Attrs::default();
        top.nested(CMD_ATTR_DEST, inner);
        genl(cmd::NEW_DEST, top)
    }

    #[test]
    fn stats64_and_the_older_stats_are_read() {
        let mut s64 = Attrs::default();
        s64.put(STATS_CONNS, &5u64.to_ne_bytes())
            .put(STATS_INPKTS, &(1u64 << 40).to_ne_bytes())
            .put(STATS_OUTPKTS, &7u64.to_ne_bytes())
            .put(STATS_INBYTES, &900u64.to_ne_bytes())
            .put(STATS_OUTBYTES, &1000u64.to_ne_bytes());
        let got = parse_dest_stats(&dest_reply(DEST_STATS64, s64)).expect("stats64");
        assert_eq!(
            got,
            Stats {
                connections: 5,
                packets_in: 1 << 40,
                packets_out: 7,
                bytes_in: 900,
                bytes_out: 1000
            }
        );
        let mut s32 = Attrs::default();
        s32.u32(STATS_CONNS, 3)
            .u32(STATS_INPKTS, 4)
            .put(STATS_INBYTES, &11u64.to_ne_bytes());
        let got = parse_dest_stats(&dest_reply(DEST_STATS, s32)).expect("stats");
        assert_eq!((got.connections, got.packets_in, got.bytes_in), (3, 4, 11));
        let mut short = Attrs::default();
        short.u32(STATS_INBYTES, 1);
        assert!(parse_dest_stats(&dest_reply(DEST_STATS, short)).is_err());
        let d = Dest::new(IpAddr::from([198, 51, 100, 7]), 80, Forward::Masq, 1);
        let plain = dest(cmd::NEW_DEST, &tcp_service().key, &d);
        assert_eq!(
            parse_dest_stats(&plain),
            Ok(Stats::default()),
            "no stats: zeros"
        );
    }

    #[test]
    fn golden_new_service() {
        let mut want = vec![cmd::NEW_SERVICE, 1, 0, 0, 84, 0, 1, 0];
        want.extend_from_slice(&KEY);
        want.extend_from_slice(&[
            7, 0, 6, 0, b'r', b'r', 0, 0, // scheduler "rr\0"
            12, 0, 7, 0, 0, 0, 0, 0, 255, 255, 255, 255, // flags 0, mask all
            8, 0, 8, 0, 0, 0, 0, 0, // timeout 0
            8, 0, 9, 0, 255, 255, 255, 255, // netmask
        ]);
        assert_eq!(service(cmd::NEW_SERVICE, &tcp_service()), want);
        let mut edit = want.clone();
        edit[0] = cmd::SET_SERVICE;
        assert_eq!(service(cmd::SET_SERVICE, &tcp_service()), edit);
    }

    #[test]
    fn golden_delete_service_and_get_dest() {
        let mut want = vec![cmd::DEL_SERVICE, 1, 0, 0, 48, 0, 1, 0];
        want.extend_from_slice(&KEY);
        assert_eq!(service_key(cmd::DEL_SERVICE, &tcp_service().key), want);
        want[0] = cmd::GET_DEST;
        assert_eq!(service_key(cmd::GET_DEST, &tcp_service().key), want);
        let fw = ServiceKey::Fwmark {
            mark: 5,
            ipv6: true,
        };
        assert_eq!(
            service_key(cmd::DEL_SERVICE, &fw),
            [
                cmd::DEL_SERVICE,
                1,
                0,
                0,
                20,
                0,
                1,
                0,
                6,
                0,
                1,
                0,
                10,
                0,
                0,
                0,
                8,
                0,
                5,
                0,
                5,
                0,
                0,
                0
            ]
        );
    }

    #[test]
    fn golden_destination_commands() {
        let d = Dest::new(IpAddr::from([198, 51, 100, 7]), 8080, Forward::Route, 3);
        let mut want = vec![cmd::NEW_DEST, 1, 0, 0, 48, 0, 1, 0];
        want.extend_from_slice(&KEY);
        want.extend_from_slice(&[72, 0, 2, 0]);
        want.extend_from_slice(&[
            20, 0, 1, 0, 198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        want.extend_from_slice(&[6, 0, 2, 0, 0x1f, 0x90, 0, 0]); // port 8080
        let del_prefix = want.clone();
        want.extend_from_slice(&[
            6, 0, 11, 0, 2, 0, 0, 0, // address family
            8, 0, 3, 0, 3, 0, 0, 0, // DROUTE
            8, 0, 4, 0, 3, 0, 0, 0, // weight 3
            8, 0, 5, 0, 0, 0, 0, 0, // upper threshold
            8, 0, 6, 0, 0, 0, 0, 0, // lower threshold
        ]);
        assert_eq!(dest(cmd::NEW_DEST, &tcp_service().key, &d), want);
        let mut del = del_prefix;
        del[0] = cmd::DEL_DEST;
        del[52] = 32; // the nested destination holds only address and port
        assert_eq!(dest(cmd::DEL_DEST, &tcp_service().key, &d), del);
        assert_eq!(bare(cmd::FLUSH), [cmd::FLUSH, 1, 0, 0]);
        assert_eq!(bare(cmd::GET_INFO), [cmd::GET_INFO, 1, 0, 0]);
        assert_eq!(
            get_family("IPVS"),
            [
                CTRL_CMD_GETFAMILY,
                1,
                0,
                0,
                9,
                0,
                2,
                0,
                b'I',
                b'P',
                b'V',
                b'S',
                0,
                0,
                0,
                0
            ]
        );
    }

    #[test]
    fn replies_parse_and_garbage_is_an_error() {
        // A dump reply carries the same attributes as a request, with HASHED set.
        let mut svc = tcp_service();
        svc.flags = flags::PERSISTENT;
        svc.timeout = 360;
        let mut reply = service(cmd::NEW_SERVICE, &svc);
        let at = reply.len() - 24 + 4; // the flags value of the FLAGS attribute
        reply[at] |= flags::HASHED as u8;
        assert_eq!(parse_service(&reply), Ok(svc));
        let d = Dest::new(IpAddr::from([198, 51, 100, 7]), 8080, Forward::Masq, 2);
        assert_eq!(
            parse_dest(&dest(cmd::NEW_DEST, &tcp_service().key, &d), false),
            Ok(d)
        );
        // Every truncation of a valid reply is an error or a shorter parse, never a panic.
        for n in 0..reply.len() {
            let _ = parse_service(&reply[..n]);
        }
        assert!(parse_service(&[1, 1, 0, 0, 200, 0, 1, 0]).is_err());
        assert!(parse_info(&[15, 1, 0, 0]).is_err());
        let info = [15, 1, 0, 0, 8, 0, 1, 0, 1, 2, 1, 0, 8, 0, 2, 0, 0, 16, 0, 0];
        assert_eq!(parse_info(&info), Ok((0x010201, 4096)));
        let family = [1, 2, 0, 0, 6, 0, 1, 0, 0x23, 0, 0, 0];
        assert_eq!(parse_family(&family), Ok(0x23));
        // Netlink framing: an error (-EEXIST), an ACK, data, DONE; then a bad length.
        let mut dgram = Vec::new();
        for (seq, (kind, body)) in [
            (2u16, (-17i32).to_ne_bytes().to_vec()),
            (2, vec![0; 4]),
            (0x23, vec![4, 1, 0, 0]),
            (3, vec![0; 4]),
        ]
        .into_iter()
        .enumerate()
        {
            dgram.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
            dgram.extend_from_slice(&kind.to_ne_bytes());
            dgram.extend_from_slice(&[0; 2]);
            dgram.extend_from_slice(&(seq as u32).to_ne_bytes());
            dgram.extend_from_slice(&[0; 4]);
            dgram.extend_from_slice(&body);
        }
        assert_eq!(
            netlink_messages(&dgram),
            Ok(vec![
                (0, Reply::Error(17)),
                (1, Reply::Ack),
                (2, Reply::Data(&[4, 1, 0, 0])),
                (3, Reply::Done)
            ])
        );
        dgram[0] = 15;
        assert!(netlink_messages(&dgram).is_err());
    }

    #[test]
    fn timeouts_round_trip_and_zero_is_left_out() {
        let msg = set_timeouts(Timeouts {
            tcp: 901,
            tcpfin: 0,
            udp: 61,
        });
        assert_eq!(msg[0], cmd::SET_CONFIG);
        let t = parse_timeouts(&msg).expect("parse");
        assert_eq!((t.tcp, t.tcpfin, t.udp), (901, 0, 61));
        assert_eq!(attrs(&msg[4..]).expect("attrs").len(), 2);
        assert!(parse_timeouts(&[13, 1, 0, 0, 8, 0, 4, 0, 1]).is_err());
    }
}
