//! Routes and rules (`virtual_routes`, `virtual_rules`, `static_routes`, `static_rules`): the
//! typed form of one line and its parser, pure. The words follow `ip route add` / `ip rule add`
//! as keepalived 2.2.7 reads them; what kad does not implement is refused with a message
//! naming the option (the caller warns and skips the line).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::values::{parse_ip, parse_ip_prefix};

/// `RTPROT_KEEPALIVED`: keepalived 2.2.7 marks its routes and rules `proto keepalived`.
pub const PROTO_KEEPALIVED: u8 = 18;

/// The priority keepalived gives a rule written without one (with a warning).
pub const DEFAULT_RULE_PRIORITY: u32 = 16384;

/// The type of a route (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteType {
    /// A normal route (the default).
    Unicast,
    /// `local`.
    Local,
    /// `blackhole`: packets are dropped silently.
    Blackhole,
    /// `unreachable`: dropped with ICMP unreachable.
    Unreachable,
    /// `prohibit`: dropped with ICMP prohibited.
    Prohibit,
    /// `throw`: lookup continues in the next rule's table.
    Throw,
}

impl RouteType {
    /// The kernel's number (`RTN_*`).
    pub fn rtn(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Local => 2,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
            RouteType::Throw => 9,
        }
    }
}

/// One route line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The route's type.
    pub kind: RouteType,
    /// Destination and prefix length (`default` is 0.0.0.0/0 or ::/0).
    pub dst: (IpAddr, u8),
    /// `from PREFIX`: source prefix (RTA_SRC).
    pub from: Option<(IpAddr, u8)>,
    /// `src ADDR`: preferred source (RTA_PREFSRC).
    pub src: Option<IpAddr>,
    /// `via` / `gw`.
    pub via: Option<IpAddr>,
    /// `dev` / `oif`.
    pub dev: Option<String>,
    /// `table` (254, main, by default).
    pub table: u32,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// `scope` (universe, 0, by default: keepalived sets no other scope on its own).
    pub scope: u8,
    /// Always keepalived (18): keepalived 2.2.7 ignores a route's `protocol` (measured).
    pub protocol: u8,
    /// `tos` / `dsfield`.
    pub tos: u8,
    /// `onlink`.
    pub onlink: bool,
    /// `mtu`, `advmss`, `hoplimit`, `initcwnd`… as (RTAX_* number, value, `lock`).
    pub metrics: Vec<(u16, u32, bool)>,
    /// `append`: added after matching routes instead of before them.
    pub append: bool,
    /// `no_track`.
    pub no_track: bool,
}

impl Route {
    /// True for an IPv6 route.
    pub fn is_ipv6(&self) -> bool {
        self.dst.0.is_ipv6()
    }
}

/// One rule line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// IPv6 rule (`inet6` or IPv6 addresses).
    pub ipv6: bool,
    /// `from PREFIX` (`all`: none).
    pub from: Option<(IpAddr, u8)>,
    /// `to PREFIX` (`all`: none).
    pub to: Option<(IpAddr, u8)>,
    /// `table` / `lookup` (main by default).
    pub table: u32,
    /// `goto N`: jump to the rule of that priority instead of a table lookup.
    pub goto: Option<u32>,
    /// `priority` / `preference` / `prio`.
    pub priority: u32,
    /// `iif NAME`.
    pub iif: Option<String>,
    /// `oif NAME`.
    pub oif: Option<String>,
    /// `fwmark N[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `tos` / `dsfield`.
    pub tos: u8,
    /// `not`: the selector is inverted.
    pub invert: bool,
    /// `suppress_prefixlength N`.
    pub suppress_prefixlength: Option<u32>,
    /// `protocol` (keepalived, 18, by default).
    pub protocol: u8,
    /// `no_track`.
    pub no_track: bool,
}

/// A parsed rule and whether its priority was defaulted (keepalived warns then).
pub type ParsedRule = (Rule, bool);

fn value<'a>(words: &[&'a str], i: usize) -> Result<&'a str, String> {
    match words.get(i + 1) {
        Some(v) => Ok(v),
        None => Err(format!(
            "'{}' expects a value",
            words.get(i).copied().unwrap_or("")
        )),
    }
}

/// A number, decimal or 0x-hexadecimal.
fn number(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse::<u32>(),
    };
    r.map_err(|_| format!("expected a number, found '{s}'"))
}

fn byte(s: &str) -> Result<u8, String> {
    let n = number(s)?;
    u8::try_from(n).map_err(|_| format!("expected 0..255, found '{s}'"))
}

/// `table ID`: a number or main / local / default.
fn table(s: &str) -> Result<u32, String> {
    match s {
        "main" => Ok(254),
        "local" => Ok(255),
        "default" => Ok(253),
        n => number(n).map_err(|_| {
            format!("table '{s}': kad takes a number or main/local/default (no rt_tables names)")
        }),
    }
}

fn scope(s: &str) -> Result<u8, String> {
    match s {
        "global" | "universe" => Ok(0),
        "site" => Ok(200),
        "link" => Ok(253),
        "host" => Ok(254),
        "nowhere" => Ok(255),
        n => byte(n).map_err(|_| format!("unknown scope '{s}'")),
    }
}

fn protocol(s: &str) -> Result<u8, String> {
    let known = [
        ("redirect", 1),
        ("kernel", 2),
        ("boot", 3),
        ("static", 4),
        ("gated", 8),
        ("ra", 9),
        ("mrt", 10),
        ("zebra", 11),
        ("bird", 12),
        ("dnrouted", 13),
        ("xorp", 14),
        ("ntk", 15),
        ("dhcp", 16),
        ("keepalived", 18),
        ("babel", 42),
        ("bgp", 186),
        ("isis", 187),
        ("ospf", 188),
        ("rip", 189),
        ("eigrp", 192),
    ];
    known
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .map_or_else(
            || byte(s).map_err(|_| format!("unknown protocol '{s}'")),
            Ok,
        )
}

/// `RTAX_*` numbers of the route metrics kad sets.
fn metric_code(word: &str) -> Option<u16> {
    Some(match word {
        "mtu" => 2,
        "window" => 3,
        "rtt" => 4,
        "rttvar" => 5,
        "ssthresh" => 6,
        "cwnd" => 7,
        "advmss" => 8,
        "reordering" => 9,
        "hoplimit" => 10,
        "initcwnd" => 11,
        "rto_min" => 13,
        "initrwnd" => 14,
        _ => return None,
    })
}

/// A prefix or `default` / `all` / `any` (0/0 of the family).
fn prefix(s: &str, ipv6: bool) -> Result<(IpAddr, u8), String> {
    match s {
        "default" | "all" | "any" if ipv6 => Ok((IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)),
        "default" | "all" | "any" => Ok((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
        _ => parse_ip_prefix(s),
    }
}

/// Options keepalived documents that kad refuses (the line is skipped with a warning).
const UNSUPPORTED_ROUTE: &[&str] = &[
    "nexthop",
    "or",
    "realms",
    "vrf",
    "features",
    "fastopen_no_cookie",
    "congctl",
    "quickack",
    "pref",
    "expires",
    "encap",
    "ttl-propagate",
    "track_group",
    "nhid",
];

/// Parses one route line (its words).
pub fn parse_route(words: &[&str]) -> Result<Route, String> {
    let ipv6 = words.contains(&"inet6");
    let mut r = Route {
        kind: RouteType::Unicast,
        dst: prefix("default", ipv6)?,
        from: None,
        src: None,
        via: None,
        dev: None,
        table: 254,
        metric: None,
        scope: 0,
        protocol: PROTO_KEEPALIVED,
        tos: 0,
        onlink: false,
        metrics: Vec::new(),
        append: false,
        no_track: false,
    };
    let mut dst = None;
    let mut i = 0;
    while let Some(&w) = words.get(i) {
        let mut next = i + 1;
        match w {
            "inet6" | "inet" | "unicast" => {}
            "blackhole" => r.kind = RouteType::Blackhole,
            "unreachable" => r.kind = RouteType::Unreachable,
            "prohibit" => r.kind = RouteType::Prohibit,
            "throw" => r.kind = RouteType::Throw,
            "local" => r.kind = RouteType::Local,
            "onlink" => r.onlink = true,
            "append" => r.append = true,
            "no_track" => r.no_track = true,
            "src" => {
                r.src = Some(parse_ip(value(words, i)?)?);
                next += 1;
            }
            "to" => {
                dst = Some(prefix(value(words, i)?, ipv6)?);
                next += 1;
            }
            "from" => {
                r.from = Some(prefix(value(words, i)?, ipv6)?);
                next += 1;
            }
            "via" | "gw" => {
                let mut v = value(words, i)?;
                if matches!(v, "inet" | "inet6") {
                    next += 1;
                    v = value(words, i + 1)?;
                }
                r.via = Some(parse_ip(v)?);
                next += 1;
            }
            "dev" | "oif" => {
                r.dev = Some(value(words, i)?.to_string());
                next += 1;
            }
            "table" => {
                r.table = table(value(words, i)?)?;
                next += 1;
            }
            "metric" | "priority" | "preference" => {
                r.metric = Some(number(value(words, i)?)?);
                next += 1;
            }
            "scope" => {
                r.scope = scope(value(words, i)?)?;
                next += 1;
            }
            // keepalived 2.2.7 refuses `proto` in a route ("unknown route keyword proto") and
            // installs every route `proto keepalived` whatever `protocol` says (measured).
            "protocol" => {
                protocol(value(words, i)?)?;
                next += 1;
            }
            "tos" | "dsfield" => {
                r.tos = byte(value(words, i)?)?;
                next += 1;
            }
            m if metric_code(m).is_some() => {
                let code = metric_code(m).unwrap_or(0);
                let mut v = value(words, i)?;
                let lock = v == "lock";
                if lock {
                    next += 1;
                    v = value(words, i + 1)?;
                }
                r.metrics.push((code, number(v)?, lock));
                next += 1;
            }
            u if UNSUPPORTED_ROUTE.contains(&u) => {
                return Err(format!("route option '{u}' is not supported by kad"));
            }
            other if dst.is_none() => dst = Some(prefix(other, ipv6)?),
            other => return Err(format!("unknown route option '{other}'")),
        }
        i = next;
    }
    if let Some(d) = dst {
        r.dst = d;
    }
    let v6 = r.dst.0.is_ipv6();
    let mixed = [r.src, r.via, r.from.map(|f| f.0)]
        .into_iter()
        .flatten()
        .any(|a| a.is_ipv6() != v6);
    if mixed {
        return Err("route mixes IPv4 and IPv6 addresses".into());
    }
    Ok(r)
}

const UNSUPPORTED_RULE: &[&str] = &[
    "realms",
    "uidrange",
    "l3mdev",
    "ip_proto",
    "ipproto",
    "sport",
    "dport",
    "suppress_ifgroup",
    "track_group",
    "nat",
    "map-to",
];

/// Parses one rule line (its words). The flag is set when no priority was given (then the
/// rule gets keepalived's [`DEFAULT_RULE_PRIORITY`]).
pub fn parse_rule(words: &[&str]) -> Result<ParsedRule, String> {
    let ipv6 = words.contains(&"inet6");
    let mut r = Rule {
        ipv6,
        from: None,
        to: None,
        table: 254,
        goto: None,
        priority: DEFAULT_RULE_PRIORITY,
        iif: None,
        oif: None,
        fwmark: None,
        tos: 0,
        invert: false,
        suppress_prefixlength: None,
        protocol: PROTO_KEEPALIVED,
        no_track: false,
    };
    let mut defaulted = true;
    let mut i = 0;
    while let Some(&w) = words.get(i) {
        let mut next = i + 2;
        let val = || value(words, i);
        match w {
            "inet6" | "inet" => next = i + 1,
            "not" => {
                r.invert = true;
                next = i + 1;
            }
            "no_track" => {
                r.no_track = true;
                next = i + 1;
            }
            "from" => r.from = Some(prefix(val()?, ipv6)?).filter(|p| p.1 != 0),
            "to" => r.to = Some(prefix(val()?, ipv6)?).filter(|p| p.1 != 0),
            "table" | "lookup" => r.table = table(val()?)?,
            "goto" => r.goto = Some(number(val()?)?),
            "priority" | "preference" | "prio" | "pref" => {
                r.priority = number(val()?)?;
                defaulted = false;
            }
            "iif" | "dev" => r.iif = Some(val()?.to_string()),
            "oif" => r.oif = Some(val()?.to_string()),
            "fwmark" => {
                let v = val()?;
                r.fwmark = Some(match v.split_once('/') {
                    Some((m, k)) => (number(m)?, Some(number(k)?)),
                    None => (number(v)?, None),
                });
            }
            "tos" | "dsfield" => r.tos = byte(val()?)?,
            "suppress_prefixlength" => r.suppress_prefixlength = Some(number(val()?)?),
            "protocol" | "proto" => r.protocol = protocol(val()?)?,
            u if UNSUPPORTED_RULE.contains(&u) => {
                return Err(format!("rule option '{u}' is not supported by kad"));
            }
            other => return Err(format!("unknown rule option '{other}'")),
        }
        i = next;
    }
    let addrs = [r.from, r.to];
    let mut fams = addrs.iter().flatten().map(|p| p.0.is_ipv6());
    if let Some(first) = fams.next() {
        if fams.any(|f| f != first) {
            return Err("rule mixes IPv4 and IPv6 addresses".into());
        }
        r.ipv6 = first;
    }
    Ok((r, defaulted))
}

impl super::model::Config {
    /// True when `static_ipaddress`, `static_routes` or `static_rules` has an entry (the VRRP
    /// child applies them, so it runs even without instances).
    pub fn has_statics(&self) -> bool {
        !self.static_ipaddress.is_empty()
            || !self.static_routes.is_empty()
            || !self.static_rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(line: &str) -> Result<Route, String> {
        parse_route(&line.split_whitespace().collect::<Vec<_>>())
    }

    fn rule(line: &str) -> Result<ParsedRule, String> {
        parse_rule(&line.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn neutron_default_route() {
        let r = route("0.0.0.0/0 via 192.0.2.1 dev eth0").unwrap();
        assert_eq!(r.dst, ("0.0.0.0".parse().unwrap(), 0));
        assert_eq!(r.via, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(r.dev.as_deref(), Some("eth0"));
        assert_eq!((r.table, r.scope, r.protocol), (254, 0, 18));
        assert_eq!(r.kind, RouteType::Unicast);
        let d = route("default gw 192.0.2.1").unwrap();
        assert_eq!(d.dst, r.dst);
        let d6 = route("default via 2001:db8::1 inet6").unwrap();
        assert_eq!(d6.dst, ("::".parse().unwrap(), 0));
    }

    #[test]
    fn octavia_table_route_and_rule() {
        let r = route("192.0.2.0/24 dev eth1 src 192.0.2.10 scope link table 1").unwrap();
        assert_eq!((r.table, r.scope), (1, 253));
        assert_eq!(r.src, Some("192.0.2.10".parse().unwrap()));
        let (u, defaulted) = rule("from 192.0.2.10/32 table 1 priority 100").unwrap();
        assert_eq!(u.from, Some(("192.0.2.10".parse().unwrap(), 32)));
        assert_eq!((u.table, u.priority, defaulted), (1, 100, false));
        let (u, defaulted) = rule("from 192.0.2.10 table 1").unwrap();
        assert_eq!((u.priority, defaulted), (DEFAULT_RULE_PRIORITY, true));
    }

    #[test]
    fn route_options() {
        let r = route("src 192.0.2.1 to 198.51.100.0/24 via 192.0.2.254 dev eth1 metric 7 protocol static tos 0x10 onlink mtu lock 1400 advmss 1300 append no_track").unwrap();
        assert_eq!(r.dst, ("198.51.100.0".parse().unwrap(), 24));
        assert_eq!((r.metric, r.protocol, r.tos), (Some(7), 18, 16));
        assert!(r.onlink && r.append && r.no_track);
        assert_eq!(r.metrics, vec![(2, 1400, true), (8, 1300, false)]);
        for (w, k) in [
            ("blackhole", RouteType::Blackhole),
            ("unreachable", RouteType::Unreachable),
            ("prohibit", RouteType::Prohibit),
            ("throw", RouteType::Throw),
        ] {
            assert_eq!(route(&format!("{w} 203.0.113.0/24")).unwrap().kind, k);
        }
        assert_eq!(route("192.0.2.0/24 table main").unwrap().table, 254);
        assert_eq!(route("192.0.2.0/24 table local").unwrap().table, 255);
    }

    #[test]
    fn bad_routes_are_refused_with_the_option_named() {
        let e = route("192.0.2.0/24 nexthop via 192.0.2.1").unwrap_err();
        assert!(e.contains("nexthop"), "{e}");
        assert!(route("192.0.2.0/24 via").unwrap_err().contains("via"));
        assert!(route("192.0.2.0/24 via 2001:db8::1").is_err());
        assert!(route("192.0.2.0/24 table mytable").is_err());
        assert!(route("192.0.2.0/24 bogus").is_err());
        assert!(route("192.0.2.0/33").is_err());
        assert!(route("192.0.2.0/24 metric x").is_err());
        assert!(route("192.0.2.0/24 proto static").is_err(), "as keepalived");
    }

    #[test]
    fn rule_options() {
        let (u, _) = rule("not to 203.0.113.5 table 7 iif eth0 oif eth1 fwmark 0x10/0xff tos 4 preference 39 suppress_prefixlength 0 no_track").unwrap();
        assert!(u.invert && u.no_track && !u.ipv6);
        assert_eq!(u.to, Some(("203.0.113.5".parse().unwrap(), 32)));
        assert_eq!(
            (u.iif.as_deref(), u.oif.as_deref()),
            (Some("eth0"), Some("eth1"))
        );
        assert_eq!(u.fwmark, Some((16, Some(255))));
        assert_eq!((u.tos, u.priority, u.table), (4, 39, 7));
        assert_eq!(u.suppress_prefixlength, Some(0));
        let (u, _) = rule("from 2001:db8::/64 table 3").unwrap();
        assert!(u.ipv6);
        let (u, _) = rule("fwmark 3 table 3 inet6").unwrap();
        assert!(u.ipv6);
        let (u, _) = rule("from all table 3").unwrap();
        assert_eq!(u.from, None);
        assert!(rule("from 192.0.2.1 to 2001:db8::1 table 1").is_err());
        assert!(rule("uidrange 1-2 table 1")
            .unwrap_err()
            .contains("uidrange"));
        assert!(rule("from").is_err());
    }
}
