//! `/tmp/keepalived_check.data` in keepalived's layout.

use std::collections::BTreeMap;
use std::fmt::Write;

use kad_core::config::model::{CheckKind, Config, LvsMethod, Protocol, ServiceKey};

use crate::snapshot::Snapshot;

fn method(m: LvsMethod) -> &'static str {
    match m {
        LvsMethod::Nat => "NAT",
        LvsMethod::Dr => "DR",
        LvsMethod::Tun => "TUN",
    }
}

/// keepalived's name of a checker kind.
pub fn checker_name(k: &CheckKind) -> &'static str {
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

/// The whole dump: configuration beside the live state of every checker.
pub fn data(
    cfg: &Config,
    snap: &Snapshot,
    instances: &BTreeMap<String, kad_core::state::VrrpState>,
) -> String {
    let mut s = kad_core::dump::global_section(&cfg.global);
    let _ = writeln!(s, "------< LVS Topology >------");
    let _ = writeln!(
        s,
        " System: desired IPVS table kept by kad (kernel table not programmed)"
    );
    for (vi, vs) in cfg.virtual_servers.iter().enumerate() {
        let Some(vsnap) = snap.virtual_servers.get(vi) else {
            continue;
        };
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
            "   quorum = {}, hysteresis = {}, quorum state = {}, alive weight = {}",
            vs.quorum,
            vs.hysteresis,
            if vsnap.quorum_up { "UP" } else { "DOWN" },
            vsnap.alive_weight
        );
        if let Some(sorry) = &vs.sorry_server {
            let _ = writeln!(
                s,
                "   sorry server = {}:{}",
                fmt_addr(&sorry.addr),
                sorry.port.unwrap_or(0)
            );
        }
        if vs.ha_suspend {
            let _ = writeln!(
                s,
                "   ha_suspend = yes, suspended = {}",
                if vsnap.suspended { "yes" } else { "no" }
            );
        }
        let _ = writeln!(s, "   Destinations wanted:");
        for d in &vsnap.destinations {
            let _ = writeln!(
                s,
                "     {}:{} {} weight {}{}",
                fmt_addr(&d.addr),
                d.port,
                method(d.method),
                d.weight,
                if d.sorry { " (sorry server)" } else { "" }
            );
        }
        let _ = writeln!(s, "   Real servers:");
        for (rs, rsnap) in vs.real_servers.iter().zip(&vsnap.real_servers) {
            let _ = writeln!(
                s,
                "     RS = {}:{}, weight = {}",
                fmt_addr(&rs.addr),
                rs.port.unwrap_or(0),
                rs.weight
            );
            let _ = writeln!(
                s,
                "       alive = {}, effective weight = {}",
                if rsnap.alive { "yes" } else { "no" },
                rsnap.weight
            );
            let _ = writeln!(s, "       lvs_method = {}", method(rs.lvs_method));
            let _ = writeln!(s, "       inhibit_on_failure = {}", rs.inhibit_on_failure);
            for (c, cs) in rs.checkers.iter().zip(&rsnap.checkers) {
                let _ = writeln!(s, "       Checker = {}", checker_name(&c.kind));
                let _ = writeln!(
                    s,
                    "         connect = {}:{}",
                    fmt_addr(&c.target.addr),
                    c.target.port.unwrap_or(0)
                );
                let _ = writeln!(s, "         connect_timeout = {:.1}, retry = {}, delay_before_retry = {:.1}, delay_loop = {:.1}",
                    c.timing.connect_timeout.as_secs_f64(), c.timing.retry, c.timing.delay_before_retry.as_secs_f64(), c.timing.delay_loop.as_secs_f64());
                let st = &cs.stats;
                let _ = writeln!(
                    s,
                    "         state = {}, failures in a row = {}, attempt running = {}",
                    if cs.up { "UP" } else { "DOWN" },
                    cs.failures_in_a_row,
                    if cs.running { "yes" } else { "no" }
                );
                match st.last_ok {
                    None => {
                        let _ = writeln!(s, "         last result = none yet");
                    }
                    Some(ok) => {
                        let _ = writeln!(
                            s,
                            "         last result = {} ({}), latency = {:.3} ms, at = {}",
                            if ok { "success" } else { "failure" },
                            st.last_reason,
                            st.last_latency_us as f64 / 1000.0,
                            st.last_at
                        );
                    }
                }
                let _ = writeln!(
                    s,
                    "         checks = {}, failures = {}, transitions = {}",
                    st.checks, st.failures, st.transitions
                );
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
