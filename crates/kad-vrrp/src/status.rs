//! The VRRP child's part of the control socket's status ([`kad_ipc::status::VrrpStatus`]).

use kad_core::config::Config;
use kad_ipc::status::{VrrpCounters, VrrpStatus};

use crate::engine::Engine;

/// Every configured instance as the engine runs it (as configured, in INIT, before it runs).
pub fn vrrp(config: &Config, engine: Option<&Engine>) -> Vec<VrrpStatus> {
    config
        .vrrp_instances
        .iter()
        .map(|cfg| {
            let running = engine.and_then(|e| e.instance(&cfg.name));
            let m = running.map(|r| &r.machine);
            VrrpStatus {
                name: cfg.name.clone(),
                state: m.map_or("INIT", |m| m.state().name()).to_string(),
                priority: cfg.priority,
                effective_priority: m.map_or(cfg.priority, |m| m.effective_priority()),
                maintenance: m.is_some_and(|m| m.maintenance()),
                interface: cfg.interface.clone(),
                virtual_router_id: cfg.vrid,
                vips: cfg
                    .virtual_ipaddress
                    .iter()
                    .map(|v| format!("{}/{}", v.addr, v.prefix))
                    .collect(),
                vip_interfaces: cfg
                    .virtual_ipaddress
                    .iter()
                    .map(|v| v.dev.clone().unwrap_or_else(|| cfg.interface.clone()))
                    .collect(),
                counters: running.map(|r| counters(&r.stats)).unwrap_or_default(),
                master_seen: m
                    .and_then(|m| m.master())
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The dumps' counters as the status carries them.
fn counters(s: &crate::dump::Stats) -> VrrpCounters {
    VrrpCounters {
        advert_rcvd: s.advert_rcvd,
        advert_sent: s.advert_sent,
        become_master: s.become_master,
        release_master: s.release_master,
        packet_len_err: s.packet_len_err,
        advert_interval_err: s.advert_interval_err,
        ip_ttl_err: s.ip_ttl_err,
        invalid_type_rcvd: s.invalid_type_rcvd,
        addr_list_err: s.addr_list_err,
        invalid_authtype: s.invalid_authtype,
        authtype_mismatch: s.authtype_mismatch,
        auth_failure: s.auth_failure,
        pri_zero_rcvd: s.pri_zero_rcvd,
        pri_zero_sent: s.pri_zero_sent,
    }
}

/// Packets dropped before any instance took them, by reason (sorted by name).
pub fn drops(engine: Option<&Engine>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = engine
        .map(|e| {
            e.drops
                .iter()
                .map(|(r, n)| (r.name().to_string(), *n))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
