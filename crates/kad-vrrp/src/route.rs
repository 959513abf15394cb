//! Routes and rules through rtnetlink (neli): `virtual_routes` / `virtual_rules` while MASTER,
//! `static_routes` / `static_rules` from start to stop. [`route_msg`] and [`rule_msg`] build
//! the requests (pure, unit-tested byte for byte against `ip route add` / `ip rule add`);
//! [`Netlink::route`] and [`Netlink::rule`] send them. Adding what is there, or deleting what
//! is not, is not an error. Only acknowledgements are read back (neli's decoder).

use std::fmt::Display;
use std::net::IpAddr;

use kad_core::config::route::{Route, Rule};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, RtmF, Rtn, Rtprot};
use neli::rtnl::{Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use crate::vip::{attr, Netlink, NlError};

/// `FRA_*` attributes of a rule (linux/fib_rules.h).
const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_PROTOCOL: u16 = 21;
/// Rule actions: look up a table, jump to another rule.
const FR_ACT_TO_TBL: u8 = 1;
const FR_ACT_GOTO: u8 = 2;
/// `FIB_RULE_INVERT`: `not`.
const FIB_RULE_INVERT: u32 = 2;
/// `RTNH_F_ONLINK`: `onlink`.
const RTNH_F_ONLINK: u32 = 4;
/// `RTAX_LOCK`: the mask of locked metrics.
const RTAX_LOCK: u16 = 1;

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn family(ipv6: bool) -> RtAddrFamily {
    if ipv6 {
        RtAddrFamily::Inet6
    } else {
        RtAddrFamily::Inet
    }
}

/// The one-byte table field: the table if it fits, else "unspecified" (the attribute says it).
fn table_byte(table: u32) -> RtTable {
    RtTable::from(u8::try_from(table).unwrap_or(0))
}

fn route_err(r: &Route) -> impl Fn(&dyn Display) -> NlError + '_ {
    move |e| NlError(format!("route {}/{}: {e}", r.dst.0, r.dst.1))
}

fn rule_err(r: &Rule) -> impl Fn(&dyn Display) -> NlError + '_ {
    move |e| NlError(format!("rule priority {}: {e}", r.priority))
}

/// The `RTM_NEWROUTE` / `RTM_DELROUTE` body of `r`, on interface `oif` (its `dev`).
pub fn route_msg(r: &Route, oif: Option<u32>) -> Result<Rtmsg, NlError> {
    let err = route_err(r);
    let mut attrs = RtBuffer::<Rta, Buffer>::new();
    attrs.push(attr(Rta::Table, r.table, &err)?);
    if r.dst.1 != 0 {
        attrs.push(attr(Rta::Dst, octets(r.dst.0), &err)?);
    }
    if let Some((a, _)) = r.from {
        attrs.push(attr(Rta::Src, octets(a), &err)?);
    }
    if let Some(m) = r.metric {
        attrs.push(attr(Rta::Priority, m, &err)?);
    }
    if let Some(s) = r.src {
        attrs.push(attr(Rta::Prefsrc, octets(s), &err)?);
    }
    if let Some(g) = r.via {
        attrs.push(attr(Rta::Gateway, octets(g), &err)?);
    }
    if let Some(i) = oif {
        attrs.push(attr(Rta::Oif, i, &err)?);
    }
    if !r.metrics.is_empty() {
        let mut m = RtBuffer::<Rta, Buffer>::new();
        let lock = r
            .metrics
            .iter()
            .filter(|(_, _, l)| *l)
            .fold(0u32, |acc, (code, _, _)| {
                acc | 1u32.checked_shl(u32::from(*code)).unwrap_or(0)
            });
        for (code, value, _) in &r.metrics {
            m.push(attr(Rta::from(*code), *value, &err)?);
        }
        if lock != 0 {
            m.push(attr(Rta::from(RTAX_LOCK), lock, &err)?);
        }
        attrs.push(attr(Rta::Metrics, m, &err)?);
    }
    let flags = if r.onlink { RTNH_F_ONLINK } else { 0 };
    RtmsgBuilder::default()
        .rtm_family(family(r.is_ipv6()))
        .rtm_dst_len(r.dst.1)
        .rtm_src_len(r.from.map_or(0, |f| f.1))
        .rtm_tos(r.tos)
        .rtm_table(table_byte(r.table))
        .rtm_protocol(Rtprot::from(r.protocol))
        .rtm_scope(RtScope::from(r.scope))
        .rtm_type(Rtn::from(r.kind.rtn()))
        .rtm_flags(RtmF::from_bits_retain(flags))
        .rtattrs(attrs)
        .build()
        .map_err(|e| err(&e))
}

/// The `RTM_NEWRULE` / `RTM_DELRULE` body of `r` (a `fib_rule_hdr`, laid out as an rtmsg).
pub fn rule_msg(r: &Rule) -> Result<Rtmsg, NlError> {
    let err = rule_err(r);
    let mut attrs = RtBuffer::<Rta, Buffer>::new();
    attrs.push(attr(Rta::from(FRA_PRIORITY), r.priority, &err)?);
    if let Some((a, _)) = r.to {
        attrs.push(attr(Rta::from(FRA_DST), octets(a), &err)?);
    }
    if let Some((a, _)) = r.from {
        attrs.push(attr(Rta::from(FRA_SRC), octets(a), &err)?);
    }
    if let Some(i) = &r.iif {
        attrs.push(attr(Rta::from(FRA_IIFNAME), i.as_str(), &err)?);
    }
    if let Some(o) = &r.oif {
        attrs.push(attr(Rta::from(FRA_OIFNAME), o.as_str(), &err)?);
    }
    if let Some((mark, mask)) = r.fwmark {
        attrs.push(attr(Rta::from(FRA_FWMARK), mark, &err)?);
        if let Some(mask) = mask {
            attrs.push(attr(Rta::from(FRA_FWMASK), mask, &err)?);
        }
    }
    if let Some(n) = r.suppress_prefixlength {
        attrs.push(attr(Rta::from(FRA_SUPPRESS_PREFIXLEN), n, &err)?);
    }
    let action = match r.goto {
        Some(g) => {
            attrs.push(attr(Rta::from(FRA_GOTO), g, &err)?);
            FR_ACT_GOTO
        }
        None => {
            attrs.push(attr(Rta::from(FRA_TABLE), r.table, &err)?);
            FR_ACT_TO_TBL
        }
    };
    attrs.push(attr(Rta::from(FRA_PROTOCOL), r.protocol, &err)?);
    let table = if r.goto.is_some() { 0 } else { r.table };
    let flags = if r.invert { FIB_RULE_INVERT } else { 0 };
    RtmsgBuilder::default()
        .rtm_family(family(r.ipv6))
        .rtm_dst_len(r.to.map_or(0, |p| p.1))
        .rtm_src_len(r.from.map_or(0, |p| p.1))
        .rtm_tos(r.tos)
        .rtm_table(table_byte(table))
        .rtm_protocol(Rtprot::from(0))
        .rtm_scope(RtScope::from(0))
        .rtm_type(Rtn::from(action))
        .rtm_flags(RtmF::from_bits_retain(flags))
        .rtattrs(attrs)
        .build()
        .map_err(|e| err(&e))
}

impl Netlink {
    /// Adds (`add`) or deletes route `r` on interface `oif`. Adding prepends, as keepalived
    /// does (`append` appends); an identical route already there, or a missing one on delete,
    /// is not an error.
    pub fn route(&self, add: bool, oif: Option<u32>, r: &Route) -> Result<(), NlError> {
        let msg = route_msg(r, oif)?;
        let err = route_err(r);
        if add {
            let mut flags = NlmF::REQUEST | NlmF::ACK | NlmF::CREATE;
            if r.append {
                flags |= NlmF::APPEND;
            }
            self.exchange(Rtm::Newroute, flags, msg, libc::EEXIST, &err)
        } else {
            let flags = NlmF::REQUEST | NlmF::ACK;
            self.exchange(Rtm::Delroute, flags, msg, libc::ESRCH, &err)
        }
    }

    /// Adds (`add`) or deletes rule `r`; an identical rule already there (refused, never
    /// duplicated), or a missing one on delete, is not an error.
    pub fn rule(&self, add: bool, r: &Rule) -> Result<(), NlError> {
        let msg = rule_msg(r)?;
        let err = rule_err(r);
        if add {
            let flags = NlmF::REQUEST | NlmF::ACK | NlmF::CREATE | NlmF::EXCL;
            self.exchange(Rtm::Newrule, flags, msg, libc::EEXIST, &err)
        } else {
            let flags = NlmF::REQUEST | NlmF::ACK;
            self.exchange(Rtm::Delrule, flags, msg, libc::ENOENT, &err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kad_core::config::route::{parse_route, parse_rule};
    use neli::ToBytes;
    use std::io::Cursor;

    fn bytes(m: &Rtmsg) -> Vec<u8> {
        let mut c = Cursor::new(Vec::new());
        m.to_bytes(&mut c).unwrap();
        c.into_inner()
    }

    /// One attribute as the kernel reads it: length, type, payload, padding to 4.
    fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = 4 + payload.len() as u16;
        let mut v = [len.to_ne_bytes(), kind.to_ne_bytes()].concat();
        v.extend_from_slice(payload);
        v.resize(v.len().next_multiple_of(4), 0);
        v
    }

    fn u32b(n: u32) -> Vec<u8> {
        n.to_ne_bytes().to_vec()
    }

    /// The body `strace -xx ip route add table 300 198.51.100.0/24 metric 50 src 192.0.2.2
    /// via 192.0.2.1 dev d0 proto 18 mtu lock 1400 advmss 1300` sent (d0 had index 3).
    #[test]
    fn route_bytes_match_ip_route_add() {
        let words = "198.51.100.0/24 table 300 metric 50 src 192.0.2.2 via 192.0.2.1 dev d0 mtu lock 1400 advmss 1300";
        let r = parse_route(&words.split(' ').collect::<Vec<_>>()).unwrap();
        let mut want = vec![2, 24, 0, 0, 0, 18, 0, 1];
        want.extend(u32b(0));
        want.extend(nla(15, &u32b(300)));
        want.extend(nla(1, &[198, 51, 100, 0]));
        want.extend(nla(6, &u32b(50)));
        want.extend(nla(7, &[192, 0, 2, 2]));
        want.extend(nla(5, &[192, 0, 2, 1]));
        want.extend(nla(4, &u32b(3)));
        let metrics = [nla(2, &u32b(1400)), nla(8, &u32b(1300)), nla(1, &u32b(4))].concat();
        want.extend(nla(8, &metrics));
        assert_eq!(bytes(&route_msg(&r, Some(3)).unwrap()), want);
    }

    /// The body `strace -xx ip rule add pref 101 not to 203.0.113.5/32 from 192.0.2.0/24
    /// iif d0 oif d1 fwmark 0x10/0xff table 300 proto 18` sent.
    #[test]
    fn rule_bytes_match_ip_rule_add() {
        let words = "pref 101 not to 203.0.113.5/32 from 192.0.2.0/24 iif d0 oif d1 fwmark 0x10/0xff table 300";
        let (r, _) = parse_rule(&words.split(' ').collect::<Vec<_>>()).unwrap();
        let mut want = vec![2, 32, 24, 0, 0, 0, 0, 1];
        want.extend(u32b(2));
        want.extend(nla(6, &u32b(101)));
        want.extend(nla(1, &[203, 0, 113, 5]));
        want.extend(nla(2, &[192, 0, 2, 0]));
        want.extend(nla(3, b"d0\0"));
        want.extend(nla(17, b"d1\0"));
        want.extend(nla(10, &u32b(16)));
        want.extend(nla(16, &u32b(255)));
        want.extend(nla(15, &u32b(300)));
        want.extend(nla(21, &[18]));
        assert_eq!(bytes(&rule_msg(&r).unwrap()), want);
    }

    #[test]
    fn types_flags_and_defaults() {
        let r = parse_route(&["blackhole", "203.0.113.0/24"]).unwrap();
        let b = bytes(&route_msg(&r, None).unwrap());
        // Header: IPv4, /24, main table, proto keepalived, scope universe, RTN_BLACKHOLE.
        assert_eq!(&b[..8], &[2, 24, 0, 0, 254, 18, 0, 6]);
        let r = parse_route(&["default", "via", "2001:db8::1", "onlink", "inet6"]).unwrap();
        let b = bytes(&route_msg(&r, Some(9)).unwrap());
        assert_eq!(&b[..8], &[10, 0, 0, 0, 254, 18, 0, 1]);
        assert_eq!(&b[8..12], &u32b(4)[..]);
        // A default route carries no RTA_DST.
        assert!(!b.windows(4).any(|w| w == [20, 0, 1, 0]));
        let (u, _) = parse_rule(&["goto", "500", "fwmark", "3"]).unwrap();
        let b = bytes(&rule_msg(&u).unwrap());
        assert_eq!(&b[..8], &[2, 0, 0, 0, 0, 0, 0, 2]);
    }
}
