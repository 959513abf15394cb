//! The VRRP child's part of the control socket's status ([`kad_ipc::status::VrrpStatus`]).

use kad_core::config::Config;
use kad_ipc::status::VrrpStatus;

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
                counters: running.map(|r| r.stats.counters).unwrap_or_default(),
                master_seen: m
                    .and_then(|m| m.master())
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            }
        })
        .collect()
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
