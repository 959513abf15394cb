//! Runtime weight overrides (`kadctl drain`, `undrain`, `weight`) and the control socket's view
//! of the virtual servers. An override names its virtual and real server as the status does
//! ([`vs_key`], [`rs_key`]), so it survives a reload that keeps both; it lives in memory only.

use std::net::SocketAddr;

use kad_core::config::model::{Protocol, RealServer, ServiceKey, VirtualServer};
use kad_ipc::status::{Override, RsStatus, VsStatus};

use super::{Effect, Engine};
use crate::table::{self, Destination};

/// `IP:PORT` (`[IPv6]:PORT`), `/udp` or `/sctp` appended for those protocols; `fwmark:N`;
/// `group:NAME`.
pub fn vs_key(vs: &VirtualServer) -> String {
    let base = match &vs.key {
        ServiceKey::Addr { addr, .. } => SocketAddr::new(*addr, table::vs_port(vs)).to_string(),
        ServiceKey::Fwmark(m) => return format!("fwmark:{m}"),
        ServiceKey::Group(g) => return format!("group:{g}"),
    };
    match vs.protocol {
        Protocol::Tcp => base,
        Protocol::Udp => format!("{base}/udp"),
        Protocol::Sctp => format!("{base}/sctp"),
    }
}

/// `IP:PORT` (`[IPv6]:PORT`) of a real server (the virtual server's port when it sets none).
pub fn rs_key(vs: &VirtualServer, rs: &RealServer) -> String {
    SocketAddr::new(rs.addr, rs.port.unwrap_or(table::vs_port(vs))).to_string()
}

/// The weight a real server's override gives it (`None`: no override).
fn forced(what: Option<&Override>) -> Option<u32> {
    match what? {
        Override::Drain => Some(0),
        Override::Weight(w) => Some(*w),
        Override::Clear => None,
    }
}

impl Engine {
    /// The indices of the virtual server and real server named as the status names them.
    pub fn find_real_server(&self, vs: &str, rs: &str) -> Option<(usize, usize)> {
        self.config
            .virtual_servers
            .iter()
            .enumerate()
            .filter(|(_, v)| vs_key(v) == vs)
            .find_map(|(vi, v)| {
                let ri = v.real_servers.iter().position(|r| rs_key(v, r) == rs)?;
                Some((vi, ri))
            })
    }

    /// Sets or clears an override; the virtual server's table follows at once. Unknown names
    /// change nothing (check with [`Engine::find_real_server`] first).
    pub(super) fn set_override(&mut self, vs: &str, rs: &str, what: Override) {
        let Some((vi, _)) = self.find_real_server(vs, rs) else {
            return;
        };
        let key = (vs.to_string(), rs.to_string());
        let line = match what {
            Override::Clear => {
                self.overrides.remove(&key);
                format!("Override of {rs} in VS {vs} cleared")
            }
            Override::Drain => {
                self.overrides.insert(key, what);
                format!("Draining {rs} in VS {vs} (weight 0 until undrained)")
            }
            Override::Weight(w) => {
                self.overrides.insert(key, what);
                format!("Weight of {rs} in VS {vs} set to {w} until cleared")
            }
        };
        self.out.push(Effect::Log(line));
        self.evaluate_vs(vi);
    }

    /// Applies the overrides of virtual server `vi` to its freshly computed `table`: only to
    /// real servers forwarded to at their own weight (alive, and no sorry server in use); a
    /// failed one kept at weight 0 by `inhibit_on_failure` stays at 0.
    pub(super) fn apply_overrides(&self, vi: usize, table: &mut [Destination]) {
        if self.overrides.is_empty() {
            return;
        }
        let (Some(vs), Some(st)) = (self.config.virtual_servers.get(vi), self.vs.get(vi)) else {
            return;
        };
        if !st.quorum.up && vs.sorry_server.is_some() {
            return;
        }
        let vk = vs_key(vs);
        for (rs, health) in vs.real_servers.iter().zip(&st.servers) {
            if !health.alive() {
                continue;
            }
            let rk = rs_key(vs, rs);
            let Some(w) = forced(self.overrides.get(&(vk.clone(), rk.clone()))) else {
                continue;
            };
            let port = rs.port.unwrap_or(table::vs_port(vs));
            if let Some(d) = table
                .iter_mut()
                .find(|d| !d.sorry && d.addr == rs.addr && d.port == port)
            {
                d.weight = w.min(65_535);
            }
        }
    }

    /// Keeps the overrides of `old` whose virtual and real server this configuration has.
    pub(super) fn inherit_overrides(&mut self, old: &Engine) {
        for ((vs, rs), what) in &old.overrides {
            if self.find_real_server(vs, rs).is_some() {
                self.overrides.insert((vs.clone(), rs.clone()), *what);
            }
        }
    }

    /// Finished checks by kind (metrics).
    pub fn check_totals(&self) -> Vec<kad_ipc::status::CheckKindStats> {
        self.totals.list()
    }

    /// The virtual servers as the control socket shows them.
    pub fn status(&self) -> Vec<VsStatus> {
        let mut out: Vec<VsStatus> = Vec::with_capacity(self.vs.len());
        for (vs, st) in self.config.virtual_servers.iter().zip(&self.vs) {
            let vk = vs_key(vs);
            let real_servers = vs
                .real_servers
                .iter()
                .zip(&st.servers)
                .map(|(rs, h)| {
                    let rk = rs_key(vs, rs);
                    let what = self.overrides.get(&(vk.clone(), rk.clone()));
                    let weight = h.weight();
                    RsStatus {
                        wanted_weight: forced(what).unwrap_or(weight),
                        drained: what == Some(&Override::Drain),
                        weight_override: match what {
                            Some(Override::Weight(w)) => i64::from(*w),
                            _ => -1,
                        },
                        address: rk,
                        alive: h.alive(),
                        weight,
                        last_check: String::new(),
                        last_latency_ms: 0.0,
                    }
                })
                .collect();
            out.push(VsStatus {
                name: vk,
                quorum_up: st.quorum.up,
                real_servers,
            });
        }
        for s in &self.slots {
            let Some(rs) = out.get_mut(s.vs).and_then(|v| v.real_servers.get_mut(s.rs)) else {
                continue;
            };
            // The last finished attempt of any of its checkers (the latest one wins).
            if let Some(ok) = s.stats.last_ok {
                rs.last_check = if ok {
                    "up".to_string()
                } else {
                    format!("down ({})", s.stats.last_reason)
                };
                rs.last_latency_ms = s.stats.last_latency_us as f64 / 1000.0;
            }
        }
        out
    }
}
