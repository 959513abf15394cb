//! The checker child's scheduler: every checker of every real server, their attempts in
//! flight, the timers, and what a result changes (real-server state, quorum, the desired
//! table, notify scripts, alerts). One mio loop, one timer heap; no thread per check.
//!
//! First attempts are spread over `warmup` (default: the checker's `delay_loop`), so that a
//! large config does not start with a burst.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kad_core::config::model::{CheckKind, Checker, Config, RealServer, Script, VirtualServer};
use kad_ipc::mio::{Registry, Token};

use crate::health::{CheckerHealth, Quorum, ServerHealth, Verdict};
use crate::probe::{self, Probe, ProbeContext};
use crate::script::{split_command, start_configured, Outcome, ScriptRunner};
use crate::snapshot::{CheckStats, CheckerSnapshot, RsSnapshot, Snapshot, VsSnapshot};
use crate::table::{self, Destination};

/// Tokens from here up are checkers' sockets (token − base = checker index).
pub const CHECK_TOKEN_BASE: usize = 1 << 32;
/// How often running scripts (MISC_CHECK, notify) are reaped.
const REAP_EVERY: Duration = Duration::from_millis(20);
/// keepalived does not time notify scripts out; kad stops one that runs longer than this.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(60);

enum Running {
    Idle,
    Probe(Box<dyn Probe>, Instant),
    Script(Instant),
}

struct Slot {
    vs: usize,
    rs: usize,
    ck: usize,
    health: CheckerHealth,
    running: Running,
    generation: u64,
    stats: CheckStats,
}

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

/// Something the service must do for the engine (it owns the SMTP client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A real server went up or down, or a virtual server gained or lost quorum.
    Mail {
        /// Subject line.
        subject: String,
        /// Body text.
        body: String,
    },
}

/// All checkers of a configuration.
pub struct Engine {
    config: Arc<Config>,
    slots: Vec<Slot>,
    vs: Vec<VsState>,
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    registry: Option<Registry>,
    scripts: ScriptRunner,
    script_owner: HashMap<u32, usize>,
    tls: Option<probe::tls::TlsContexts>,
    helo: String,
    alerts: Vec<Alert>,
    table_changed: bool,
}

fn kind_name(k: &CheckKind) -> &'static str {
    crate::dump::checker_name(k)
}

/// `[addr]:proto:port` as keepalived writes a service.
pub fn fmt_service(addr: std::net::IpAddr, port: u16, vs: &VirtualServer) -> String {
    let proto = match vs.protocol {
        kad_core::config::model::Protocol::Tcp => "tcp",
        kad_core::config::model::Protocol::Udp => "udp",
        kad_core::config::model::Protocol::Sctp => "sctp",
    };
    format!("[{addr}]:{proto}:{port}")
}

/// `[addr]:proto:port` of a virtual server (or `FWM n`, `group NAME`).
pub fn fmt_vs(vs: &VirtualServer) -> String {
    use kad_core::config::model::ServiceKey;
    match &vs.key {
        ServiceKey::Addr { addr, .. } => fmt_service(*addr, table::vs_port(vs), vs),
        ServiceKey::Fwmark(m) => format!("FWM {m}"),
        ServiceKey::Group(g) => format!("group {g}"),
    }
}

fn rs_name(vs: &VirtualServer, rs: &RealServer) -> String {
    fmt_service(rs.addr, rs.port.unwrap_or(table::vs_port(vs)), vs)
}

impl Engine {
    /// Schedules every checker of `config`; nothing runs until [`Engine::start`].
    pub fn new(config: Arc<Config>) -> Engine {
        let tls = match probe::tls::contexts(config.ssl.as_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                log::error!("SSL: {e}; SSL_GET checks fail until the SSL block is fixed");
                None
            }
        };
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
                        generation: 0,
                        stats: CheckStats::default(),
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
        let host = kad_core::config::default_config_id();
        Engine {
            helo: config.global.smtp_helo_name.clone().unwrap_or(host),
            config: config.clone(),
            slots,
            vs: vs_states,
            timers: BinaryHeap::new(),
            registry: None,
            scripts: ScriptRunner::default(),
            script_owner: HashMap::new(),
            tls,
            alerts: Vec::new(),
            table_changed: true,
        }
    }

    /// Number of checkers.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True without checkers.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Starts the schedule: quorum from the initial states, first runs spread over warmup.
    pub fn start(&mut self, registry: Registry, now: Instant) {
        self.registry = Some(registry);
        raise_nofile(self.slots.len());
        for v in 0..self.vs.len() {
            self.evaluate_vs(v);
        }
        let n = self.slots.len().max(1);
        for i in 0..self.slots.len() {
            let ck = self.checker(i);
            let spread = ck.timing.warmup.unwrap_or(ck.timing.delay_loop);
            // Spread evenly by position, not randomly: deterministic and flat.
            let offset = spread.mul_f64(i as f64 / n as f64);
            self.schedule(i, now + offset);
        }
    }

    /// Takes over the state of checkers found in both configurations (same virtual server,
    /// real server, checker position, kind and target) and the quorum state of virtual
    /// servers found in both: a reload does not reset what is known (keepalived's rule).
    /// Call before [`Engine::start`].
    pub fn inherit(&mut self, old: &mut Engine) {
        // Scripts of the old engine still running are timed out and reaped here, their
        // results ignored (their pids are not in script_owner).
        self.scripts.adopt(std::mem::take(&mut old.scripts));
        fn key(e: &Engine, s: &Slot) -> String {
            let vs = &e.config.virtual_servers[s.vs];
            let rs = &vs.real_servers[s.rs];
            let ck = &rs.checkers[s.ck];
            format!(
                "{} {} {} {} {:?}",
                fmt_vs(vs),
                rs_name(vs, rs),
                s.ck,
                kind_name(&ck.kind),
                ck.target
            )
        }
        let known: HashMap<String, usize> = old
            .slots
            .iter()
            .enumerate()
            .map(|(j, s)| (key(old, s), j))
            .collect();
        for i in 0..self.slots.len() {
            let Some(&j) = known.get(&key(self, &self.slots[i])) else {
                continue;
            };
            let was = &old.slots[j];
            let slot = &mut self.slots[i];
            slot.health.up = was.health.up;
            slot.stats = was.stats.clone();
            let server = &mut self.vs[slot.vs].servers[slot.rs];
            server.checkers_up[slot.ck] = was.health.up;
            server.deltas[slot.ck] = old.vs[was.vs].servers[was.rs].deltas[was.ck];
        }
        let quorum: HashMap<String, bool> = old
            .config
            .virtual_servers
            .iter()
            .zip(&old.vs)
            .map(|(vs, st)| (fmt_vs(vs), st.quorum.up))
            .collect();
        for (vs, st) in self.config.virtual_servers.iter().zip(&mut self.vs) {
            if let Some(&up) = quorum.get(&fmt_vs(vs)) {
                st.quorum.up = up;
            }
        }
    }

    fn checker(&self, i: usize) -> &Checker {
        let s = &self.slots[i];
        &self.config.virtual_servers[s.vs].real_servers[s.rs].checkers[s.ck]
    }

    fn schedule(&mut self, i: usize, at: Instant) {
        let s = &mut self.slots[i];
        s.generation += 1;
        self.timers.push(Reverse((at, i, s.generation)));
    }

    /// When [`Engine::on_timer`] is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timer = self.timers.peek().map(|Reverse((t, _, _))| *t);
        [timer, self.scripts.next_reap(REAP_EVERY)]
            .into_iter()
            .flatten()
            .min()
    }

    /// True if `token` is a checker's.
    pub fn owns(&self, token: Token) -> bool {
        token.0 >= CHECK_TOKEN_BASE && token.0 - CHECK_TOKEN_BASE < self.slots.len()
    }

    /// A checker's socket is ready.
    pub fn ready(&mut self, token: Token, now: Instant) {
        let i = token.0 - CHECK_TOKEN_BASE;
        let Some(registry) = self.registry.as_ref() else {
            return;
        };
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let verdict = match &mut slot.running {
            Running::Probe(p, _) => p.ready(registry, token),
            _ => None,
        };
        if let Some(v) = verdict {
            self.finish(i, v, now);
        }
    }

    /// Timers: starts due attempts, times out late ones, reaps scripts.
    pub fn on_timer(&mut self, now: Instant) {
        for (pid, outcome) in self.scripts.poll(now) {
            if let Some(i) = self.script_owner.remove(&pid) {
                let v = self.misc_verdict(i, outcome);
                self.finish(i, v, now);
            }
        }
        while let Some(&Reverse((at, i, generation))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if self.slots[i].generation != generation {
                continue;
            }
            let idle = matches!(self.slots[i].running, Running::Idle);
            if idle && self.suspended(i) {
                let delay = self.checker(i).timing.delay_loop;
                self.schedule(i, now + delay);
                continue;
            }
            match &mut self.slots[i].running {
                Running::Idle => self.begin(i, now),
                Running::Probe(p, _) => {
                    let v = p.timed_out();
                    self.finish(i, v, now);
                }
                Running::Script(..) => {} // the runner kills it at its timeout
            }
        }
    }

    /// `ha_suspend`: true while the virtual server's address is not on this node (no check
    /// runs; states stay as they are). Logs each change.
    fn suspended(&mut self, i: usize) -> bool {
        let vi = self.slots[i].vs;
        let vs = &self.config.virtual_servers[vi];
        let addr = match (&vs.key, vs.ha_suspend) {
            (kad_core::config::model::ServiceKey::Addr { addr, .. }, true) => *addr,
            _ => return false,
        };
        let suspended = !is_local(addr);
        if suspended != self.vs[vi].suspended {
            self.vs[vi].suspended = suspended;
            let name = fmt_vs(vs);
            if suspended {
                log::info!("VS {name}: address not on this node, checks suspended (ha_suspend)");
            } else {
                log::info!("VS {name}: address present, checks resumed");
            }
        }
        suspended
    }

    fn begin(&mut self, i: usize, now: Instant) {
        let s = &self.slots[i];
        let vs = &self.config.virtual_servers[s.vs];
        let rs = &vs.real_servers[s.rs];
        let ck = &rs.checkers[s.ck];
        let started = match &ck.kind {
            CheckKind::Misc {
                script, timeout, ..
            } => {
                let timeout = timeout.unwrap_or(ck.timing.delay_loop);
                let argv = split_command(&script.command);
                match start_configured(
                    &mut self.scripts,
                    &self.config.global,
                    script,
                    &argv,
                    timeout,
                ) {
                    Ok(pid) => {
                        self.script_owner.insert(pid, i);
                        self.slots[i].running = Running::Script(now);
                        return;
                    }
                    // Every script slot is taken: not an attempt; tried again shortly.
                    Err(crate::script::ScriptError::Busy) => {
                        self.schedule(i, now + REAP_EVERY * 5);
                        return;
                    }
                    Err(e) => Err(Verdict::down(e.to_string())),
                }
            }
            CheckKind::File { .. } => Err(crate::file_check::verdict(&self.config, &ck.kind)),
            kind => {
                let Some(registry) = self.registry.as_ref() else {
                    return;
                };
                let ctx = ProbeContext {
                    tls: self.tls.as_ref(),
                    helo: &self.helo,
                    ident: i as u16,
                    virtualhost: rs.virtualhost.as_deref().or(vs.virtualhost.as_deref()),
                };
                let token = Token(CHECK_TOKEN_BASE + i);
                match probe::start(kind, &ck.target, &ctx) {
                    Some(Ok(mut p)) => match p.register(registry, token) {
                        Ok(()) => Ok((p, ck.timing.connect_timeout)),
                        Err(e) => Err(Verdict::down(format!("cannot poll: {e}"))),
                    },
                    Some(Err(v)) => Err(v),
                    None => return,
                }
            }
        };
        match started {
            Ok((p, timeout)) => {
                self.slots[i].running = Running::Probe(p, now);
                self.schedule(i, now + timeout);
            }
            // Finished at once (FILE_CHECK) or could not start (a failed attempt).
            Err(v) => self.finish(i, v, now),
        }
    }

    fn misc_verdict(&self, i: usize, outcome: Outcome) -> Verdict {
        let (dynamic, base) = match &self.checker(i).kind {
            CheckKind::Misc { dynamic, .. } => {
                let s = &self.slots[i];
                (
                    *dynamic,
                    i64::from(self.config.virtual_servers[s.vs].real_servers[s.rs].weight),
                )
            }
            _ => (false, 0),
        };
        match outcome {
            Outcome::Exited(0) => Verdict::up("exit 0"),
            Outcome::Exited(code @ 2..=255) if dynamic => Verdict {
                ok: true,
                reason: format!("exit {code}: weight {}", code - 2).into(),
                weight_delta: Some(i64::from(code) - 2 - base),
            },
            Outcome::Exited(code) => Verdict::down(format!("exit {code}")),
            Outcome::Signaled(sig) => Verdict::down(format!("killed by signal {sig}")),
            Outcome::TimedOut => Verdict::down("timed out; its process group was killed"),
        }
    }

    /// An attempt ended: counts it, applies the rules, schedules the next.
    fn finish(&mut self, i: usize, v: Verdict, now: Instant) {
        let registry = self.registry.as_ref();
        let slot = &mut self.slots[i];
        let started = match std::mem::replace(&mut slot.running, Running::Idle) {
            Running::Probe(mut p, t) => {
                if let Some(r) = registry {
                    p.deregister(r);
                }
                Some(t)
            }
            Running::Script(t) => Some(t),
            Running::Idle => None,
        };
        let st = &mut slot.stats;
        st.checks += 1;
        st.failures += u64::from(!v.ok);
        st.last_ok = Some(v.ok);
        st.last_latency_us = started
            .map(|t| now.saturating_duration_since(t).as_micros() as u64)
            .unwrap_or(0);
        st.last_at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (changed, delay) = slot.health.record(v.ok);
        let (vi, ri, ci) = (slot.vs, slot.rs, slot.ck);
        if changed.is_some() {
            slot.stats.transitions += 1;
        }
        let vs = &self.config.virtual_servers[vi];
        let rs = &vs.real_servers[ri];
        let ck = &rs.checkers[ci];
        let what = || format!("{} on {}", kind_name(&ck.kind), rs_name(vs, rs));
        match changed {
            Some(true) => log::info!("{} succeeded: {}", what(), v.reason),
            Some(false) => log::info!("{} failed: {}", what(), v.reason),
            None if !v.ok && (ck.log_all_failures || slot.health.up) => {
                log::info!(
                    "{} failed ({}), retry {} of {}",
                    what(),
                    v.reason,
                    slot.health.failures,
                    ck.timing.retry
                )
            }
            None => {}
        }
        slot.stats.last_reason = v.reason;
        let server = &mut self.vs[vi].servers[ri];
        let was_alive = server.alive();
        let old_weight = server.weight();
        server.checkers_up[ci] = self.slots[i].health.up;
        if let (true, Some(d)) = (v.ok, v.weight_delta) {
            server.deltas[ci] = d;
        }
        let (alive, weight) = (server.alive(), server.weight());
        self.schedule(i, now + delay);
        if alive != was_alive {
            self.server_changed(vi, ri, alive);
        }
        if alive && was_alive && weight != old_weight {
            let vs = &self.config.virtual_servers[vi];
            let rs = &vs.real_servers[ri];
            log::info!(
                "Changing weight from {old_weight} to {weight} for {} of VS {}",
                rs_name(vs, rs),
                fmt_vs(vs)
            );
        }
        if alive != was_alive || weight != old_weight {
            self.evaluate_vs(vi);
        }
    }

    /// A real server went up or down: log, notify_up/down, smtp_alert.
    fn server_changed(&mut self, vi: usize, ri: usize, alive: bool) {
        let vs = &self.config.virtual_servers[vi];
        let rs = &vs.real_servers[ri];
        let (name, vname) = (rs_name(vs, rs), fmt_vs(vs));
        let verb = if alive {
            "Adding service"
        } else {
            "Removing service"
        };
        log::info!(
            "{verb} {name} {} VS {vname}",
            if alive { "to" } else { "from" }
        );
        let script = if alive {
            rs.notify_up.clone()
        } else {
            rs.notify_down.clone()
        };
        let state = if alive { "UP" } else { "DOWN" };
        let subject = format!(
            "[{}] Realserver {name} of virtual server {vname} - {state}",
            self.config.global.router_id_or_host()
        );
        let body = format!("=> kad: real server {name} of virtual server {vname} is {state} <=");
        self.announce(script, rs.smtp_alert, subject, body);
    }

    /// Starts a notify or quorum script (never waited for; reaped on timers).
    fn run_notify(&mut self, script: &Script) {
        let argv = split_command(&script.command);
        let started = start_configured(
            &mut self.scripts,
            &self.config.global,
            script,
            &argv,
            NOTIFY_TIMEOUT,
        );
        if let Err(e) = started {
            log::error!("notify script {}: {e}", script.command);
        }
    }

    /// Runs a notify script (if any) and queues a mail when `smtp_alert` (else
    /// `smtp_alert_checker`, else `smtp_alert` of global_defs) asks for one.
    fn announce(
        &mut self,
        script: Option<Box<Script>>,
        smtp_alert: Option<bool>,
        subject: String,
        body: String,
    ) {
        if let Some(s) = script {
            self.run_notify(&s);
        }
        let g = &self.config.global;
        if smtp_alert
            .or(g.smtp_alert_checker)
            .or(g.smtp_alert)
            .unwrap_or(false)
        {
            self.alerts.push(Alert::Mail { subject, body });
        }
    }

    /// Recomputes a virtual server's quorum and destinations.
    fn evaluate_vs(&mut self, vi: usize) {
        let vs = &self.config.virtual_servers[vi];
        let st = &mut self.vs[vi];
        let alive_weight = st.alive_weight();
        let change = st.quorum.update(alive_weight);
        let table = table::destinations(vs, &st.servers, st.quorum.up);
        if table != st.table {
            st.table = table;
            self.table_changed = true;
        }
        let Some(up) = change else {
            return;
        };
        let vname = fmt_vs(vs);
        let q = st.quorum.clone();
        if up {
            log::info!(
                "Gained quorum {}+{}={} <= {alive_weight} for VS {vname}",
                q.quorum,
                q.hysteresis,
                q.quorum + q.hysteresis
            );
        } else {
            log::info!(
                "Lost quorum {}-{}={} > {alive_weight} for VS {vname}",
                q.quorum,
                q.hysteresis,
                q.quorum - q.hysteresis
            );
        }
        let script = if up {
            vs.quorum_up.clone()
        } else {
            vs.quorum_down.clone()
        };
        let state = if up { "UP" } else { "DOWN" };
        let subject = format!(
            "[{}] Virtualserver {vname} - quorum {state}",
            self.config.global.router_id_or_host()
        );
        let body = format!(
            "=> kad: virtual server {vname} quorum is {state} (alive weight {alive_weight}) <="
        );
        self.announce(script, vs.smtp_alert, subject, body);
    }

    /// Alerts produced since the last call.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.alerts)
    }

    /// True once if the desired table changed since the last call.
    pub fn take_table_changed(&mut self) -> bool {
        std::mem::replace(&mut self.table_changed, false)
    }

    /// The configuration the engine runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Each virtual server's desired destinations, in config order.
    pub fn destinations(&self) -> Vec<&[Destination]> {
        self.vs.iter().map(|v| v.table.as_slice()).collect()
    }

    /// A snapshot of everything, for the dumps.
    pub fn snapshot(&self) -> Snapshot {
        let mut out = Snapshot {
            virtual_servers: Vec::new(),
        };
        for (vi, vs) in self.config.virtual_servers.iter().enumerate() {
            let st = &self.vs[vi];
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
        for s in &self.slots {
            let ck = &self.config.virtual_servers[s.vs].real_servers[s.rs].checkers[s.ck];
            out.virtual_servers[s.vs].real_servers[s.rs]
                .checkers
                .push(CheckerSnapshot {
                    kind: kind_name(&ck.kind),
                    target: probe::peer(&ck.target).to_string(),
                    up: s.health.up,
                    failures_in_a_row: s.health.failures,
                    running: !matches!(s.running, Running::Idle),
                    stats: s.stats.clone(),
                });
        }
        out
    }

    /// Cancels every attempt in flight (before a reload replaces the engine).
    pub fn cancel(&mut self) {
        if let Some(r) = self.registry.as_ref() {
            for s in &mut self.slots {
                if let Running::Probe(p, _) = &mut s.running {
                    p.deregister(r);
                }
                s.running = Running::Idle;
            }
        }
    }

    /// Graceful stop: cancels attempts; with `omega`, runs the down notifiers of what was up.
    pub fn stop(&mut self) {
        self.cancel();
        let mut scripts: Vec<Script> = Vec::new();
        for (vs, st) in self.config.virtual_servers.iter().zip(&self.vs) {
            if !vs.omega {
                continue;
            }
            let down = vs.real_servers.iter().zip(&st.servers);
            scripts.extend(
                down.filter(|(_, h)| h.alive())
                    .filter_map(|(rs, _)| rs.notify_down.as_deref().cloned()),
            );
            if st.quorum.up {
                scripts.extend(vs.quorum_down.as_deref().cloned());
            }
        }
        for s in &scripts {
            self.run_notify(s);
        }
    }
}

/// True if `addr` is an address of this node (a UDP socket can bind to it).
fn is_local(addr: IpAddr) -> bool {
    let domain = if addr.is_ipv6() {
        socket2::Domain::IPV6
    } else {
        socket2::Domain::IPV4
    };
    socket2::Socket::new(domain, socket2::Type::DGRAM, None)
        .and_then(|s| s.bind(&std::net::SocketAddr::new(addr, 0).into()))
        .is_ok()
}

/// Raises RLIMIT_NOFILE to what `checkers` sockets (plus the daemon's own) need.
fn raise_nofile(checkers: usize) {
    let want = checkers as u64 + 256;
    let Ok((soft, hard)) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
    else {
        return;
    };
    if soft >= want {
        return;
    }
    let new_hard = hard.max(want);
    if let Err(e) =
        nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, want, new_hard)
    {
        log::warn!("cannot raise the open-file limit to {want}: {e}");
    }
}
