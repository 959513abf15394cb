//! `/tmp/keepalived_check.data` in keepalived's layout.

use std::collections::BTreeMap;
use std::fmt::Write;

use kad_core::config::model::{CheckKind, Config, LvsMethod, Protocol, ServiceKey};

fn method(m: LvsMethod) -> &'static str {
    match m {
        LvsMethod::Nat => "NAT",
        LvsMethod::Dr => "DR",
        LvsMethod::Tun => "TUN",
    }
}

fn checker_name(k: &CheckKind) -> &'static str {
    match k {
        CheckKind::Tcp => "TCP_CHECK",
        CheckKind::Http { tls: false, .. } => "HTTP_GET",
        CheckKind::Http { tls: true, .. } => "SSL_GET",
        CheckKind::Misc { .. } => "MISC_CHECK",
        CheckKind::Ping => "PING_CHECK",
        CheckKind::Udp(_) => "UDP_CHECK",
        CheckKind::Smtp { .. } => "SMTP_CHECK",
        CheckKind::Dns { .. } => "DNS_CHECK",
        CheckKind::File { .. } => "FILE_CHECK",
    }
}

/// The whole dump.
pub fn data(cfg: &Config, instances: &BTreeMap<String, String>) -> String {
    let mut s = kad_core::dump::global_section(&cfg.global);
    let _ = writeln!(s, "------< LVS Topology >------");
    let _ = writeln!(
        s,
        " System: IPVS state managed by kad (kernel table not yet programmed)"
    );
    for vs in &cfg.virtual_servers {
        let key = match &vs.key {
            ServiceKey::Addr {
                addr,
                port: Some(p),
            } => format!("{}:{p}", fmt_addr(addr)),
            ServiceKey::Addr { addr, port: None } => format!("{}:0", fmt_addr(addr)),
            ServiceKey::Fwmark(m) => format!("FWM {m}"),
            ServiceKey::Group(g) => format!("group {g}"),
        };
        let _ = writeln!(s, " VS = {key}");
        let _ = writeln!(
            s,
            "   delay_loop = {}, lvs_sched = {}",
            vs.real_servers
                .first()
                .and_then(|r| r.checkers.first())
                .map(|c| c.timing.delay_loop.as_secs())
                .unwrap_or(60),
            vs.scheduler
        );
        let _ = writeln!(
            s,
            "   protocol = {}",
            match vs.protocol {
                Protocol::Tcp => "TCP",
                Protocol::Udp => "UDP",
                Protocol::Sctp => "SCTP",
            }
        );
        let _ = writeln!(s, "   lvs_method = {}", method(vs.lvs_method));
        if let Some(t) = vs.persistence_timeout {
            let _ = writeln!(s, "   persistence timeout = {t}");
        }
        let _ = writeln!(
            s,
            "   quorum = {}, hysteresis = {}",
            vs.quorum, vs.hysteresis
        );
        if let Some(sorry) = &vs.sorry_server {
            let _ = writeln!(
                s,
                "   sorry server = {}:{}",
                fmt_addr(&sorry.addr),
                sorry.port.unwrap_or(0)
            );
        }
        let _ = writeln!(s, "   Real servers:");
        for rs in &vs.real_servers {
            let _ = writeln!(
                s,
                "     RS = {}:{}, weight = {}",
                fmt_addr(&rs.addr),
                rs.port.unwrap_or(0),
                rs.weight
            );
            let _ = writeln!(s, "       lvs_method = {}", method(rs.lvs_method));
            let _ = writeln!(s, "       inhibit_on_failure = {}", rs.inhibit_on_failure);
            for c in &rs.checkers {
                let _ = writeln!(s, "       Checker = {}", checker_name(&c.kind));
                let _ = writeln!(
                    s,
                    "         connect = {}:{}",
                    fmt_addr(&c.target.addr),
                    c.target.port.unwrap_or(0)
                );
                let _ = writeln!(s, "         connect_timeout = {:.1}, retry = {}, delay_before_retry = {:.1}, delay_loop = {:.1}",
                    c.timing.connect_timeout.as_secs_f64(), c.timing.retry, c.timing.delay_before_retry.as_secs_f64(), c.timing.delay_loop.as_secs_f64());
                let _ = writeln!(s, "         last result = none (checks not running yet)");
            }
        }
    }
    if !instances.is_empty() {
        let _ = writeln!(s, "------< VRRP instance states seen >------");
        for (name, state) in instances {
            let _ = writeln!(s, " {name} = {state}");
        }
    }
    s
}

fn fmt_addr(a: &std::net::IpAddr) -> String {
    match a {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}
