//! `virtual_server_group`, `virtual_server`, `real_server`, checker blocks and `SSL`.
//!
//! Timing keywords (delay_loop, connect_timeout, retry, delay_before_retry, warmup, alpha) may
//! stand at virtual server, real server or checker level; [`Timing`] collects them at each level
//! once and [`Timing::resolve`] applies keepalived's inheritance when the virtual server ends.

use std::net::IpAddr;

use super::global::set;
use super::{Ctx, RefKind};
use crate::config::diag::Pos;
use crate::config::keywords::Block;
use crate::config::model::{
    CheckKind, CheckTarget, Checker, GroupEntry, LvsMethod, Protocol, RealServer, ServiceKey,
    SorryServer, VirtualServer, VirtualServerGroup,
};
use crate::config::reader::Stmt;
use crate::config::values::{self, parse_int_in, parse_ip, parse_port};

/// IPVS schedulers the kernel ships.
const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// Scheduler flags accepted as bare keywords.
const SCHED_FLAGS: &[&str] = &[
    "ops",
    "sh-port",
    "sh-fallback",
    "mh-port",
    "mh-fallback",
    "flag-1",
    "flag-2",
    "flag-3",
];

mod checker;
mod timing;
mod url_regex;

pub(super) use checker::ssl_context;
use checker::{checker, checker_name, PendingChecker};
use timing::Timing;

/// A real server as written, before resolution.
struct PendingReal {
    pos: Pos,
    server: RealServer,
    lvs_method: Option<LvsMethod>,
    inhibit_on_failure: Option<bool>,
    timing: Timing,
    checkers: Vec<PendingChecker>,
}

/// `virtual_server_group NAME { … }`.
pub(super) fn virtual_server_group(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
) -> Option<VirtualServerGroup> {
    ctx.max_args(head, 1);
    let Some(name) = head.args().first().map(|w| w.text.to_string()) else {
        ctx.error(head.pos(), "'virtual_server_group' expects a group name");
        return None;
    };
    if !ctx.need_block(head) {
        return None;
    }
    let mut g = VirtualServerGroup {
        name,
        entries: Vec::new(),
    };
    while let Some(s) = ctx.next(level, Block::VirtualServerGroup) {
        ctx.no_block(&s);
        if s.keyword() == "fwmark" {
            ctx.max_args(&s, 2);
            let Some(mark) = ctx.value(&s, 0, "a firewall mark 1..4294967295", |v| {
                parse_int_in(v, 1, u32::MAX as i64).map(|v| v as u32)
            }) else {
                continue;
            };
            let ipv6 = match s.args().get(1).map(|w| (w.text.as_str(), w.pos)) {
                None | Some(("inet", _)) => false,
                Some(("inet6", _)) => true,
                Some((other, pos)) => {
                    ctx.error(pos, format!("expected inet or inet6, found '{other}'"));
                    false
                }
            };
            g.entries.push(GroupEntry::Fwmark { mark, ipv6 });
            continue;
        }
        if ctx.is_unsupported(Block::VirtualServerGroup, s.keyword()) {
            continue;
        }
        ctx.max_args(&s, 1);
        let Some((first, last)) = address_range(ctx, &s) else {
            continue;
        };
        let port = match s.args().first() {
            Some(w) => match ctx.parse_word(&s, w, parse_port) {
                Some(p) => Some(p),
                None => continue,
            },
            None => None,
        };
        g.entries.push(GroupEntry::Range { first, last, port });
    }
    Some(g)
}

/// A group entry's address or range, reported at the entry's line when malformed.
fn address_range(ctx: &mut Ctx, s: &Stmt) -> Option<(IpAddr, IpAddr)> {
    match values::address_range(s.keyword()) {
        Ok(r) => Some(r),
        Err(msg) => {
            ctx.error(s.pos(), format!("virtual_server_group: {msg}"));
            None
        }
    }
}

/// `virtual_server … { … }`; `log_all` is global_defs' `checker_log_all_failures` (the
/// default of each checker's `log_all_failures`).
pub(super) fn virtual_server(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
    log_all: bool,
) -> Option<VirtualServer> {
    let key = service_key(ctx, head)?;
    if !ctx.need_block(head) {
        return None;
    }
    let mut vs = VirtualServer {
        key,
        protocol: Protocol::Tcp,
        scheduler: "wlc".into(),
        lvs_method: LvsMethod::Nat,
        persistence_timeout: None,
        persistence_granularity: None,
        persistence_engine: None,
        flags: Vec::new(),
        ha_suspend: false,
        virtualhost: None,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        sorry_server: None,
        smtp_alert: None,
        omega: false,
        ipv6: false,
        real_servers: Vec::new(),
    };
    let mut timing = Timing::default();
    let mut inhibit = None;
    let mut sorry: Option<(IpAddr, Option<u16>)> = None;
    let mut sorry_method = None;
    let mut sorry_inhibit = false;
    let mut family: Option<bool> = None;
    let mut protocol_set = false;
    let mut reals: Vec<PendingReal> = Vec::new();
    while let Some(s) = ctx.next(level, Block::VirtualServer) {
        if timing.keyword(ctx, &s) {
            continue;
        }
        match s.keyword() {
            "lb_algo" | "lvs_sched" => {
                ctx.max_args(&s, 1);
                set(
                    &mut vs.scheduler,
                    ctx.value(&s, 0, "a scheduler name", |v| {
                        if SCHEDULERS.contains(&v) {
                            Ok(v.to_string())
                        } else {
                            Err(format!(
                                "unknown scheduler '{v}' (expected one of {})",
                                SCHEDULERS.join(", ")
                            ))
                        }
                    }),
                );
            }
            "lb_kind" | "lvs_method" => set(&mut vs.lvs_method, lvs_method(ctx, &s)),
            "persistence_timeout" => {
                ctx.max_args(&s, 1);
                vs.persistence_timeout = match s.args().first() {
                    None => Some(360),
                    Some(w) => ctx.parse_word(&s, w, |v| {
                        parse_int_in(v, 1, u32::MAX as i64).map(|v| v as u32)
                    }),
                };
            }
            "persistence_granularity" => {
                ctx.max_args(&s, 1);
                vs.persistence_granularity = ctx.value(&s, 0, "a netmask", parse_ip);
            }
            "persistence_engine" => vs.persistence_engine = ctx.string(&s, "an engine name"),
            "protocol" => {
                protocol_set = true;
                ctx.max_args(&s, 1);
                set(
                    &mut vs.protocol,
                    ctx.value(&s, 0, "TCP, UDP or SCTP", |v| {
                        match v.to_ascii_uppercase().as_str() {
                            "TCP" => Ok(Protocol::Tcp),
                            "UDP" => Ok(Protocol::Udp),
                            "SCTP" => Ok(Protocol::Sctp),
                            _ => Err(format!("expected TCP, UDP or SCTP, found '{v}'")),
                        }
                    }),
                );
            }
            "ha_suspend" => vs.ha_suspend = ctx.bare(&s),
            "virtualhost" => vs.virtualhost = ctx.string(&s, "a host name"),
            "omega" => vs.omega = ctx.bare(&s),
            "quorum" => set(
                &mut vs.quorum,
                ctx.int(&s, 1, u32::MAX as i64).map(|v| v as u32),
            ),
            "hysteresis" => set(
                &mut vs.hysteresis,
                ctx.int(&s, 0, u32::MAX as i64).map(|v| v as u32),
            ),
            "quorum_up" => vs.quorum_up = ctx.script(&s).map(Box::new),
            "quorum_down" => vs.quorum_down = ctx.script(&s).map(Box::new),
            "ip_family" => {
                ctx.max_args(&s, 1);
                family = ctx.value(&s, 0, "inet or inet6", |v| match v {
                    "inet" => Ok(false),
                    "inet6" => Ok(true),
                    _ => Err(format!("expected inet or inet6, found '{v}'")),
                });
            }
            "sorry_server" => {
                ctx.max_args(&s, 2);
                if let Some(addr) = ctx.value(&s, 0, "an address", parse_ip) {
                    let port = s
                        .args()
                        .get(1)
                        .and_then(|w| ctx.parse_word(&s, w, parse_port));
                    sorry = Some((addr, port));
                }
            }
            "sorry_server_inhibit" => sorry_inhibit = ctx.flag(&s),
            "sorry_server_lvs_method" => sorry_method = lvs_method(ctx, &s),
            "inhibit_on_failure" => inhibit = Some(ctx.flag(&s)),
            "smtp_alert" => vs.smtp_alert = Some(ctx.flag(&s)),
            "real_server" => {
                if let Some(r) = real_server(ctx, &s, level + 1) {
                    reals.push(r);
                }
            }
            kw if ctx.is_unsupported(Block::VirtualServer, kw) => {}
            // Measured: keepalived 2.2.7 accepts both and the kernel's service is unchanged; the
            // keyword table warns that kad does not act on them either.
            "weight" | "hashed" => ctx.no_block(&s),
            kw if SCHED_FLAGS.contains(&kw) => {
                ctx.bare(&s);
                vs.flags.push(kw.to_string());
            }
            _ => ctx.unknown(&s, "in virtual_server"),
        }
    }
    let vs_port = match &vs.key {
        ServiceKey::Addr { port, .. } => *port,
        _ => None,
    };
    vs.ipv6 = match (&vs.key, family) {
        (_, Some(f)) => f,
        (ServiceKey::Addr { addr, .. }, None) => addr.is_ipv6(),
        _ => reals.first().is_some_and(|r| r.server.addr.is_ipv6()),
    };
    if let ServiceKey::Addr { port: None, .. } = vs.key {
        if vs.persistence_timeout.is_none() {
            ctx.error(
                head.pos(),
                "virtual_server without a port must be persistent (set persistence_timeout)",
            );
        }
    }
    if !protocol_set && !matches!(vs.key, ServiceKey::Fwmark(_)) {
        // keepalived 2.2.7's rule, measured: "no protocol set - defaulting to UDP", and the
        // service is UDP even with only TCP checkers.
        vs.protocol = Protocol::Udp;
        ctx.warning(
            head.pos(),
            "virtual_server: no protocol set - defaulting to UDP (as keepalived 2.2.7; write 'protocol TCP' for a TCP service)",
        );
    }
    if let ServiceKey::Group(name) = &vs.key {
        let name = name.clone();
        ctx.refer(RefKind::VirtualServerGroup, &name, head.pos());
    }
    vs.sorry_server = sorry.map(|(addr, port)| {
        Box::new(SorryServer {
            addr,
            port: port.or(vs_port),
            lvs_method: sorry_method.unwrap_or(vs.lvs_method),
            inhibit: sorry_inhibit,
        })
    });
    vs.real_servers = Vec::with_capacity(reals.len());
    for r in reals {
        if let Some(server) = resolve_real(ctx, r, &vs, (vs_port, log_all), &timing, inhibit) {
            vs.real_servers.push(server);
        }
    }
    Some(vs)
}

fn resolve_real(
    ctx: &mut Ctx,
    r: PendingReal,
    vs: &VirtualServer,
    (vs_port, log_all): (Option<u16>, bool),
    vs_timing: &Timing,
    vs_inhibit: Option<bool>,
) -> Option<RealServer> {
    let mut server = r.server;
    if server.addr.is_ipv6() != vs.ipv6 && r.lvs_method.unwrap_or(vs.lvs_method) != LvsMethod::Tun {
        ctx.error(
            r.pos,
            format!("real_server {} is not of the virtual server's address family (only tunnelled real servers may differ)", server.addr),
        );
        return None;
    }
    server.lvs_method = r.lvs_method.unwrap_or(vs.lvs_method);
    server.port = match (server.port, vs_port) {
        // DR and TUN do not rewrite the port: keepalived resets a real server's to the
        // service's, so its destination and its checkers use that port.
        (Some(p), Some(v)) if p != v && server.lvs_method != LvsMethod::Nat => {
            ctx.warning(
                r.pos,
                format!(
                    "real_server port {p} differs from the virtual server's {v}; {} does not rewrite ports, so {v} is used (as keepalived)",
                    if server.lvs_method == LvsMethod::Dr { "DR" } else { "TUN" }
                ),
            );
            Some(v)
        }
        (p, v) => p.or(v),
    };
    server.inhibit_on_failure = r.inhibit_on_failure.or(vs_inhibit).unwrap_or(false);
    let rs_timing = r.timing.over(vs_timing);
    server.checkers = Vec::with_capacity(r.checkers.len());
    for c in r.checkers {
        let port = c.connect_port.or(server.port).or(match c.kind {
            CheckKind::Smtp { .. } => Some(25),
            CheckKind::Dns { .. } => Some(53),
            _ => None,
        });
        let needs_port = matches!(
            c.kind,
            CheckKind::Tcp | CheckKind::Http { .. } | CheckKind::Udp { .. }
        );
        if needs_port && port.is_none() {
            ctx.error(
                c.pos,
                format!(
                    "{} needs a port: real_server {} has none and no connect_port is set",
                    c.name, server.addr
                ),
            );
            continue;
        }
        server.checkers.push(Checker {
            kind: c.kind,
            target: CheckTarget {
                addr: c.connect_ip.unwrap_or(server.addr),
                port,
                bind_addr: c.bind_addr,
                bind_port: c.bind_port,
                bind_if: c.bind_if,
                fwmark: c.fwmark,
            },
            timing: c.timing.over(&rs_timing).resolve(),
            log_all_failures: c.log_all_failures.unwrap_or(log_all),
        });
    }
    Some(server)
}

fn service_key(ctx: &mut Ctx, head: &Stmt) -> Option<ServiceKey> {
    let args = head.args();
    let Some(first) = args.first() else {
        ctx.error(
            head.pos(),
            "'virtual_server' expects ADDRESS [PORT], 'fwmark N' or 'group NAME'",
        );
        return None;
    };
    ctx.max_args(head, 2);
    match first.text.as_str() {
        "fwmark" => ctx
            .head_value(head, 1, "a firewall mark 1..4294967295", |v| {
                parse_int_in(v, 1, u32::MAX as i64).map(|v| v as u32)
            })
            .map(ServiceKey::Fwmark),
        "group" => ctx
            .head_value(
                head,
                1,
                "a virtual_server_group name",
                |v| Ok(v.to_string()),
            )
            .map(ServiceKey::Group),
        _ => {
            let addr = ctx.parse_word(head, first, parse_ip)?;
            let port = match args.get(1) {
                Some(w) => Some(ctx.parse_word(head, w, parse_port)?),
                None => None,
            };
            Some(ServiceKey::Addr { addr, port })
        }
    }
}

fn lvs_method(ctx: &mut Ctx, s: &Stmt) -> Option<LvsMethod> {
    let m = ctx.value(s, 0, "NAT, DR or TUN", |v| {
        match v.to_ascii_uppercase().as_str() {
            "NAT" => Ok(LvsMethod::Nat),
            "DR" => Ok(LvsMethod::Dr),
            "TUN" => Ok(LvsMethod::Tun),
            _ => Err(format!(
                "unknown forwarding method '{v}' (expected NAT, DR or TUN)"
            )),
        }
    })?;
    if m == LvsMethod::Tun {
        if let Some(extra) = s.args().get(1) {
            ctx.warning(
                extra.pos,
                "tunnel options (type ipip|gue|gre, csum) are not supported by kad; plain ipip is used",
            );
        }
    } else {
        ctx.max_args(s, 1);
    }
    Some(m)
}

fn real_server(ctx: &mut Ctx, head: &Stmt, level: usize) -> Option<PendingReal> {
    ctx.max_args(head, 2);
    let addr = ctx.head_value(head, 0, "an address and optional port", parse_ip)?;
    let port = match head.args().get(1) {
        Some(w) => Some(ctx.parse_word(head, w, parse_port)?),
        None => None,
    };
    let mut r = PendingReal {
        pos: head.pos(),
        server: new_real(addr, port),
        lvs_method: None,
        inhibit_on_failure: None,
        timing: Timing::default(),
        checkers: Vec::new(),
    };
    if !head.block {
        // keepalived accepts a real_server with no block: no checks, always up.
        return Some(r);
    }
    while let Some(s) = ctx.next(level, Block::RealServer) {
        if r.timing.keyword(ctx, &s) {
            continue;
        }
        match s.keyword() {
            "weight" => set(
                &mut r.server.weight,
                ctx.int(&s, 0, i32::MAX as i64).map(|v| v as i32),
            ),
            "lvs_method" | "lb_kind" => r.lvs_method = lvs_method(ctx, &s),
            "inhibit_on_failure" => r.inhibit_on_failure = Some(ctx.flag(&s)),
            "notify_up" => r.server.notify_up = ctx.script(&s).map(Box::new),
            "notify_down" => r.server.notify_down = ctx.script(&s).map(Box::new),
            "uthreshold" => {
                r.server.upper_threshold = ctx.int(&s, 0, u32::MAX as i64).map(|v| v as u32)
            }
            "lthreshold" => {
                r.server.lower_threshold = ctx.int(&s, 0, u32::MAX as i64).map(|v| v as u32)
            }
            "smtp_alert" => r.server.smtp_alert = Some(ctx.flag(&s)),
            "virtualhost" => r.server.virtualhost = ctx.string(&s, "a host name").map(Into::into),
            kw if ctx.is_unsupported(Block::RealServer, kw) => {}
            kw => match checker_name(kw) {
                Some(name) => {
                    r.checkers.extend(checker(ctx, &s, name, level + 1));
                }
                None => ctx.unknown(&s, "in real_server"),
            },
        }
    }
    Some(r)
}

fn new_real(addr: IpAddr, port: Option<u16>) -> RealServer {
    RealServer {
        addr,
        port,
        weight: 1,
        lvs_method: LvsMethod::Nat,
        inhibit_on_failure: false,
        notify_up: None,
        notify_down: None,
        upper_threshold: None,
        lower_threshold: None,
        smtp_alert: None,
        virtualhost: None,
        checkers: Vec::new(),
    }
}
