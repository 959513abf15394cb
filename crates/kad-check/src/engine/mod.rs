//! The checker engine, pure (sans-I/O): every checker of every real server, their timers, and
//! what a result changes (real-server state, quorum, the desired table, notify scripts,
//! alerts). It takes [`Event`]s with an explicit `now` and returns [`Effect`]s; it opens no
//! socket, starts no process and reads no clock. The executor (`crate::executor`) carries the
//! effects out (probes, scripts, files, addresses) and feeds the results back.
//!
//! - `scheduler`: the timer heap; first attempts spread over `warmup` (default: the checker's
//!   `delay_loop`), so that a large config does not start with a burst.
//! - `transitions`: an attempt's start and end, the retry rule, server and quorum changes.
//! - `alerts`: service names, notify scripts and mail text.
//! - `ha_suspend`: the address facts that suspend a virtual server's checks.
//! - `reload`: what a new configuration takes over from the old one.
//! - `overrides`: runtime weight overrides (`kadctl drain`/`weight`) and the control status.

mod alerts;
mod effects;
mod ha_suspend;
mod overrides;
mod reload;
mod scheduler;
mod totals;
mod transitions;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use kad_core::config::model::{Checker, Config};

pub use alerts::{fmt_service, fmt_vs, rs_name};
pub use effects::{secs, Effect, Event};
pub use overrides::{rs_key, vs_key};

use crate::health::{CheckerHealth, Quorum, ServerHealth};
use crate::snapshot::{CheckStats, CheckerSnapshot, RsSnapshot, Snapshot, VsSnapshot};
use crate::table::Destination;
use scheduler::Scheduler;

/// What a checker is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Running {
    Idle,
    /// A probe started at this instant.
    Probe(Instant),
    /// A MISC_CHECK script started at this instant.
    Script(Instant),
}

/// One checker's state.
#[derive(Debug)]
struct Slot {
    vs: usize,
    rs: usize,
    ck: usize,
    health: CheckerHealth,
    running: Running,
    stats: CheckStats,
    /// When the last attempt ended (turned into wall time by [`Engine::snapshot`]).
    last_end: Option<Instant>,
}

/// One virtual server's state.
#[derive(Debug)]
struct VsState {
    quorum: Quorum,
    servers: Vec<ServerHealth>,
    table: Vec<Destination>,
    /// `ha_suspend` in effect: the virtual address is not on this node.
    suspended: bool,
}

impl VsState {
    /// Summed weight of the alive real servers.
    fn alive_weight(&self) -> i64 {
        self.servers
            .iter()
            .filter(|s| s.alive())
            .map(|s| i64::from(s.weight()))
            .sum()
    }
}

/// All checkers of a configuration.
#[derive(Debug)]
pub struct Engine {
    config: Arc<Config>,
    /// This node's host name (mail subjects name `router_id`, else it).
    host: String,
    slots: Vec<Slot>,
    vs: Vec<VsState>,
    timers: Scheduler,
    /// Some virtual server has `ha_suspend` (else no address is ever asked about).
    any_ha_suspend: bool,
    /// Runtime weight overrides by (virtual server, real server) as the status names them.
    overrides: std::collections::BTreeMap<(String, String), kad_ipc::status::Override>,
    /// Finished checks by kind (metrics).
    totals: totals::Totals,
    /// Attempts in flight the last reload handed on (old index, new index).
    moved: Vec<(usize, usize)>,
    out: Vec<Effect>,
}

impl Engine {
    /// The checkers of `config`, none scheduled until [`Event::Start`]; `host` is this node's
    /// host name (mail subjects name `router_id`, else it).
    pub fn new(config: Arc<Config>, host: String) -> Engine {
        let mut slots = Vec::new();
        let mut vs_states = Vec::with_capacity(config.virtual_servers.len());
        for (v, vs) in config.virtual_servers.iter().enumerate() {
            let mut servers = Vec::with_capacity(vs.real_servers.len());
            for (r, rs) in vs.real_servers.iter().enumerate() {
                let mut ups = Vec::with_capacity(rs.checkers.len());
                for (c, ck) in rs.checkers.iter().enumerate() {
                    let health = CheckerHealth::new(&ck.timing);
                    ups.push(health.up);
                    slots.push(Slot {
                        vs: v,
                        rs: r,
                        ck: c,
                        health,
                        running: Running::Idle,
                        stats: CheckStats::default(),
                        last_end: None,
                    });
                }
                servers.push(ServerHealth::new(i64::from(rs.weight), ups));
            }
            vs_states.push(VsState {
                quorum: Quorum::new(vs.quorum, vs.hysteresis),
                servers,
                table: Vec::new(),
                suspended: false,
            });
        }
        let any_ha_suspend = config
            .virtual_servers
            .iter()
            .any(|vs| ha_suspend::watched(vs).is_some());
        Engine {
            timers: Scheduler::new(slots.len()),
            config,
            host,
            slots,
            vs: vs_states,
            any_ha_suspend,
            overrides: Default::default(),
            totals: Default::default(),
            moved: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Acts on one event at `now`; returns what the executor must do.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Effect> {
        match event {
            Event::Start => self.start(now),
            Event::Reload(config) => {
                let mut next = Engine::new(config, self.host.clone());
                next.inherit(self);
                *self = next;
                self.start(now);
            }
            Event::Timer => self.on_timer(now),
            Event::ProbeDone { checker, verdict } => {
                if matches!(self.running(checker), Some(Running::Probe(_))) {
                    self.finish(checker, verdict, now);
                }
            }
            Event::ScriptEnded { checker, outcome } => {
                if matches!(self.running(checker), Some(Running::Script(_))) {
                    let verdict = self.misc_verdict(checker, outcome);
                    self.finish(checker, verdict, now);
                }
            }
            Event::ScriptRefused { checker, error } => {
                if matches!(self.running(checker), Some(Running::Script(_))) {
                    self.refused(checker, error, now);
                }
            }
            Event::AddressPresent { vs, present } => {
                if let (Some(cfg), Some(st)) =
                    (self.config.virtual_servers.get(vs), self.vs.get_mut(vs))
                {
                    ha_suspend::apply(cfg, &mut st.suspended, present, &mut self.out);
                }
            }
            Event::Override { vs, rs, what } => self.set_override(&vs, &rs, what),
            Event::Stop => self.stop(),
        }
        std::mem::take(&mut self.out)
    }

    /// Sets this node's host name (used when no `router_id` is set).
    pub fn set_host(&mut self, host: String) {
        self.host = host;
    }

    /// `router_id`, else the host name: names this node in mail subjects.
    fn router(&self) -> &str {
        self.config
            .global
            .router_id
            .as_deref()
            .unwrap_or(&self.host)
    }

    fn running(&self, i: usize) -> Option<Running> {
        self.slots.get(i).map(|s| s.running)
    }

    /// Number of checkers.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True without checkers.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The configuration the engine runs.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Checker `i`'s settings (the executor starts its probe from them).
    pub fn checker(&self, i: usize) -> Option<&Checker> {
        let s = self.slots.get(i)?;
        self.config
            .virtual_servers
            .get(s.vs)?
            .real_servers
            .get(s.rs)?
            .checkers
            .get(s.ck)
    }

    /// The `virtualhost` of checker `i`'s real server, else of its virtual server.
    pub fn virtualhost(&self, i: usize) -> Option<&str> {
        let s = self.slots.get(i)?;
        let vs = self.config.virtual_servers.get(s.vs)?;
        let rs = vs.real_servers.get(s.rs)?;
        rs.virtualhost.as_deref().or(vs.virtualhost.as_deref())
    }

    /// When [`Event::Timer`] is due next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// `ha_suspend`: the virtual servers (index, address) with a check due at `now`, whose
    /// address presence the executor must report ([`Event::AddressPresent`]) before
    /// [`Event::Timer`].
    pub fn addresses_to_check(&self, now: Instant) -> Vec<(usize, IpAddr)> {
        if !self.any_ha_suspend {
            return Vec::new();
        }
        let mut out: Vec<(usize, IpAddr)> = Vec::new();
        for i in self.timers.due(now) {
            let Some(s) = self.slots.get(i).filter(|s| s.running == Running::Idle) else {
                continue;
            };
            let Some(addr) = self
                .config
                .virtual_servers
                .get(s.vs)
                .and_then(ha_suspend::watched)
            else {
                continue;
            };
            if !out.iter().any(|(v, _)| *v == s.vs) {
                out.push((s.vs, addr));
            }
        }
        out.sort_unstable_by_key(|(v, _)| *v);
        out
    }

    /// Each virtual server's desired destinations, in config order.
    pub fn destinations(&self) -> Vec<&[Destination]> {
        self.vs.iter().map(|v| v.table.as_slice()).collect()
    }

    /// A snapshot of everything, for the dumps (`now` and `wall` are the same moment, to date
    /// the last attempts).
    pub fn snapshot(&self, now: Instant, wall: SystemTime) -> Snapshot {
        let mut out = Snapshot {
            virtual_servers: Vec::new(),
        };
        for (vs, st) in self.config.virtual_servers.iter().zip(&self.vs) {
            out.virtual_servers.push(VsSnapshot {
                name: fmt_vs(vs),
                quorum_up: st.quorum.up,
                suspended: st.suspended,
                alive_weight: st.alive_weight(),
                destinations: st.table.clone(),
                real_servers: vs
                    .real_servers
                    .iter()
                    .zip(&st.servers)
                    .map(|(rs, h)| RsSnapshot {
                        name: rs_name(vs, rs),
                        alive: h.alive(),
                        weight: h.weight(),
                        checkers: Vec::new(),
                    })
                    .collect(),
            });
        }
        for (i, s) in self.slots.iter().enumerate() {
            let Some(ck) = self.checker(i) else {
                continue;
            };
            let mut stats = s.stats.clone();
            stats.last_at = s
                .last_end
                .and_then(|t| wall.checked_sub(now.saturating_duration_since(t)))
                .and_then(|w| w.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .unwrap_or(stats.last_at);
            let Some(rs) = out
                .virtual_servers
                .get_mut(s.vs)
                .and_then(|v| v.real_servers.get_mut(s.rs))
            else {
                continue;
            };
            rs.checkers.push(CheckerSnapshot {
                kind: crate::dump::checker_name(&ck.kind),
                target: crate::probe::peer(&ck.target).to_string(),
                up: s.health.up,
                failures_in_a_row: s.health.failures,
                running: s.running != Running::Idle,
                stats,
            });
        }
        out
    }
}
