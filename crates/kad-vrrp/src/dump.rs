//! The VRRP child's dump files in keepalived's layouts (docs/DUMPS.md has the JSON schema).

use std::collections::BTreeMap;
use std::fmt::Write;

use kad_core::config::model::{AuthType, Config, VrrpInstance};
use kad_ipc::status::VrrpCounters;
use serde::Serialize;

use crate::engine::Engine;

/// State name, effective priority and counters of instance `i` (INIT and zeros with no engine).
fn live(engine: Option<&Engine>, i: usize, configured: u8) -> (&'static str, u8, Option<&Stats>) {
    match engine.and_then(|e| e.instances.get(i)) {
        Some(r) => (
            r.machine.state().name(),
            r.machine.priority(),
            Some(&r.stats),
        ),
        None => ("INIT", configured, None),
    }
}

fn vip_line(v: &kad_core::config::model::VirtualAddress, inst: &VrrpInstance) -> String {
    let mut s = format!(
        "{}/{} dev {}",
        v.addr,
        v.prefix,
        v.dev.as_deref().unwrap_or(&inst.interface)
    );
    s.push_str(&format!(" scope {}", v.scope_name()));
    if let Some(l) = &v.label {
        s.push_str(&format!(" label {l}"));
    }
    s
}

/// `/tmp/keepalived.data`.
pub fn data(cfg: &Config, scripts: &BTreeMap<String, bool>, engine: Option<&Engine>) -> String {
    let mut s = kad_core::dump::global_section(&cfg.global);
    let _ = writeln!(s, "------< VRRP Topology >------");
    for (n, i) in cfg.vrrp_instances.iter().enumerate() {
        let (state, effective, _) = live(engine, n, i.priority);
        let _ = writeln!(s, " VRRP Instance = {}", i.name);
        let _ = writeln!(s, "   VRRP Version = {}", i.version);
        let _ = writeln!(s, "   State = {state}");
        let _ = writeln!(
            s,
            "   Wantstate = {}",
            if i.initial_state == kad_core::config::model::InitialState::Master {
                "MASTER"
            } else {
                "BACKUP"
            }
        );
        let _ = writeln!(s, "   Interface = {}", i.interface);
        if let Some(src) = i.unicast_src_ip.or(i.mcast_src_ip) {
            let _ = writeln!(s, "   Using src_ip = {src}");
        }
        if i.unicast_peers.is_empty() {
            let group = i.mcast_dst_ip.unwrap_or(if i.ipv6 {
                cfg.global.vrrp_mcast_group6
            } else {
                cfg.global.vrrp_mcast_group4
            });
            let _ = writeln!(s, "   Multicast address {group}");
        } else {
            let _ = writeln!(s, "   Unicast Peer :");
            for p in &i.unicast_peers {
                let _ = writeln!(s, "     {}", p.addr);
            }
        }
        let _ = writeln!(
            s,
            "   Gratuitous ARP delay = {}",
            i.garp.master_delay.as_secs()
        );
        let _ = writeln!(s, "   Gratuitous ARP repeat = {}", i.garp.master_repeat);
        let _ = writeln!(
            s,
            "   Gratuitous ARP refresh = {}",
            i.garp.master_refresh.as_secs()
        );
        let _ = writeln!(
            s,
            "   Gratuitous ARP refresh repeat = {}",
            i.garp.master_refresh_repeat
        );
        let _ = writeln!(
            s,
            "   Gratuitous ARP lower priority delay = {}",
            i.garp.lower_prio_delay.as_secs()
        );
        let _ = writeln!(
            s,
            "   Gratuitous ARP lower priority repeat = {}",
            i.garp.lower_prio_repeat
        );
        let _ = writeln!(s, "   Down timer adverts = {}", i.down_timer_adverts);
        let _ = writeln!(s, "   Virtual Router ID = {}", i.vrid);
        let _ = writeln!(s, "   Priority = {}", i.priority);
        let _ = writeln!(s, "   Effective priority = {effective}");
        if let Some(r) = engine.and_then(|e| e.instances.get(n)) {
            let down = r.machine.master_down_interval().as_micros();
            let _ = writeln!(s, "   Master down timer = {down} usecs");
        }
        if let Some(m) = engine
            .and_then(|e| e.instances.get(n))
            .and_then(|r| r.machine.master())
        {
            let _ = writeln!(s, "   Master router = {m}");
        }
        let _ = writeln!(s, "   Advert interval = {}", advert(i));
        let _ = writeln!(
            s,
            "   Accept = {}",
            if i.accept.unwrap_or(true) {
                "enabled"
            } else {
                "disabled"
            }
        );
        let _ = writeln!(
            s,
            "   Preempt = {}",
            if i.nopreempt { "disabled" } else { "enabled" }
        );
        if !i.preempt_delay.is_zero() {
            let _ = writeln!(s, "   Preempt delay = {} secs", i.preempt_delay.as_secs());
        }
        let auth = match i.authentication.as_ref().map(|a| a.auth_type) {
            None => "none",
            Some(AuthType::Pass) => "SIMPLE_PASSWORD",
            Some(AuthType::Ah) => "IPSEC_AH",
        };
        let _ = writeln!(s, "   Authentication type = {auth}");
        let _ = writeln!(s, "   Virtual IP ({}):", i.virtual_ipaddress.len());
        for v in &i.virtual_ipaddress {
            let _ = writeln!(s, "     {}", vip_line(v, i));
        }
        if !i.virtual_ipaddress_excluded.is_empty() {
            let _ = writeln!(
                s,
                "   Virtual IP Excluded ({}):",
                i.virtual_ipaddress_excluded.len()
            );
            for v in &i.virtual_ipaddress_excluded {
                let _ = writeln!(s, "     {}", vip_line(v, i));
            }
        }
        if !i.track_interface.is_empty() {
            let _ = writeln!(s, "   Tracked interfaces :");
            for t in &i.track_interface {
                let _ = writeln!(s, "     {} weight {}", t.name, t.weight.unwrap_or(0));
            }
        }
        if !i.track_script.is_empty() {
            let _ = writeln!(s, "   Tracked scripts :");
            for t in &i.track_script {
                let _ = writeln!(s, "     {} weight {}", t.name, t.weight.unwrap_or(0));
            }
        }
        if let Some(c) = live(engine, n, i.priority).2 {
            let _ = writeln!(s, "   Split brain adverts seen = {}", c.split_brain);
        }
        let _ = writeln!(
            s,
            "   Using smtp notification = {}",
            if i.smtp_alert.unwrap_or(false) {
                "yes"
            } else {
                "no"
            }
        );
    }
    if let Some(e) = engine {
        // kad addition: every dropped packet is counted by reason.
        let _ = writeln!(s, "------< VRRP packets dropped >------");
        for (n, r) in e.instances.iter().enumerate() {
            let c = &r.stats;
            let _ = writeln!(
                s,
                " {} = length {}, ttl {}, type/version {}, interval {}, auth type {}, auth failure {}",
                cfg.vrrp_instances.get(n).map(|i| i.name.as_str()).unwrap_or("?"),
                c.packet_len_err, c.ip_ttl_err, c.invalid_type_rcvd, c.advert_interval_err, c.authtype_mismatch, c.auth_failure
            );
        }
        let mut other: Vec<_> = e.drops.iter().collect();
        other.sort();
        for (reason, count) in other {
            let _ = writeln!(s, " no instance: {reason} = {count}");
        }
    }
    if !cfg.sync_groups.is_empty() {
        let _ = writeln!(s, "------< VRRP Sync groups >------");
        for g in &cfg.sync_groups {
            let _ = writeln!(s, " VRRP Sync Group = {}", g.name);
            let _ = writeln!(s, "   VRRP member instances = {}", g.members.len());
            for m in &g.members {
                let _ = writeln!(s, "     {m}");
            }
        }
    }
    if !cfg.vrrp_scripts.is_empty() {
        let _ = writeln!(s, "------< VRRP Scripts >------");
        for sc in &cfg.vrrp_scripts {
            let _ = writeln!(s, " VRRP Script = {}", sc.name);
            let _ = writeln!(s, "   Command = {}", kad_core::dump::script(&sc.script));
            let _ = writeln!(s, "   Interval = {} sec", sc.interval.as_secs());
            let _ = writeln!(s, "   Timeout = {} sec", sc.timeout.as_secs());
            let _ = writeln!(s, "   Weight = {}", sc.weight);
            let _ = writeln!(s, "   Rise = {}", sc.rise);
            let _ = writeln!(s, "   Fall = {}", sc.fall);
            let status = match scripts.get(&sc.name) {
                None => "INIT",
                Some(true) => "GOOD",
                Some(false) => "BAD",
            };
            let _ = writeln!(s, "   Status = {status}");
        }
    }
    s
}

fn advert(i: &VrrpInstance) -> String {
    if i.advert_int.subsec_millis() == 0 {
        format!("{} sec", i.advert_int.as_secs())
    } else {
        format!("{} milli-sec", i.advert_int.as_millis())
    }
}

/// `/tmp/keepalived.stats`.
pub fn stats(cfg: &Config, engine: Option<&Engine>) -> String {
    let mut s = String::new();
    let zero = Stats::default();
    for (n, i) in cfg.vrrp_instances.iter().enumerate() {
        let c = live(engine, n, i.priority).2.unwrap_or(&zero);
        let _ = writeln!(s, "VRRP Instance: {}", i.name);
        let _ = writeln!(
            s,
            "  Advertisements:\n    Received: {}\n    Sent: {}",
            c.advert_rcvd, c.advert_sent
        );
        let _ = writeln!(
            s,
            "  Became master: {}\n  Released master: {}",
            c.become_master, c.release_master
        );
        let _ = writeln!(s, "  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}",
            c.packet_len_err, c.ip_ttl_err, c.invalid_type_rcvd, c.advert_interval_err, c.addr_list_err);
        let _ = writeln!(s, "  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}",
            c.invalid_authtype, c.authtype_mismatch, c.auth_failure);
        let _ = writeln!(
            s,
            "  Priority Zero:\n    Received: {}\n    Sent: {}",
            c.pri_zero_rcvd, c.pri_zero_sent
        );
    }
    s
}

/// Per-instance counters, named as keepalived's JSON names them: the status's
/// [`VrrpCounters`] (reached through `Deref`) and kad's split-brain count.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    /// keepalived's counters, flat in the JSON as keepalived writes them.
    #[serde(flatten)]
    pub counters: VrrpCounters,
    /// kad addition: adverts from another MASTER of equal priority (split brain seen).
    pub split_brain: u64,
}

impl std::ops::Deref for Stats {
    type Target = VrrpCounters;
    fn deref(&self) -> &VrrpCounters {
        &self.counters
    }
}

impl std::ops::DerefMut for Stats {
    fn deref_mut(&mut self) -> &mut VrrpCounters {
        &mut self.counters
    }
}

#[derive(Serialize)]
struct JsonInstance<'a> {
    data: JsonData<'a>,
    stats: Stats,
}

#[derive(Serialize)]
struct JsonData<'a> {
    iname: &'a str,
    ifp_ifname: &'a str,
    vrid: u8,
    version: u8,
    state: &'static str,
    base_priority: u8,
    effective_priority: u8,
    adver_int: f64,
    nopreempt: bool,
    preempt_delay: u64,
    vips: Vec<String>,
    track_script: Vec<&'a str>,
    auth_type: u8,
}

/// `/tmp/keepalived.json`: an array with `data` and `stats` per instance (keepalived's names).
pub fn json(cfg: &Config, engine: Option<&Engine>) -> String {
    let list: Vec<JsonInstance> = cfg
        .vrrp_instances
        .iter()
        .enumerate()
        .map(|(n, i)| (i, live(engine, n, i.priority)))
        .map(|(i, (state, effective, stats))| JsonInstance {
            data: JsonData {
                iname: &i.name,
                ifp_ifname: &i.interface,
                vrid: i.vrid,
                version: i.version,
                state,
                base_priority: i.priority,
                effective_priority: effective,
                adver_int: i.advert_int.as_secs_f64(),
                nopreempt: i.nopreempt,
                preempt_delay: i.preempt_delay.as_secs(),
                vips: i.virtual_ipaddress.iter().map(|v| vip_line(v, i)).collect(),
                track_script: i.track_script.iter().map(|t| t.name.as_str()).collect(),
                auth_type: match i.authentication.as_ref().map(|a| a.auth_type) {
                    None => 0,
                    Some(AuthType::Pass) => 1,
                    Some(AuthType::Ah) => 2,
                },
            },
            stats: stats.cloned().unwrap_or_default(),
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into())
}
