//! The checker engine's executor: it owns what the pure [`Engine`] may not touch (the probes'
//! sockets in the mio loop, the MISC_CHECK and notify scripts, the track files, the node's
//! addresses for `ha_suspend`, the clock) and carries the engine's [`Effect`]s out, feeding
//! each result back as an [`Event`]. Mails and table changes are handed to the service.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kad_core::config::model::{CheckKind, Config};
use kad_ipc::mio::{Registry, Token};

use crate::engine::{Effect, Engine, Event};
use crate::health::Verdict;
use crate::probe::{self, Probe, ProbeContext};
use crate::script::{start_configured, ScriptRunner};
use crate::snapshot::Snapshot;
use crate::table::Destination;

/// Tokens from here up are checkers' sockets (token − base = the attempt's number, which a
/// reload does not change: a probe handed on to a renumbered checker keeps its registration).
pub const CHECK_TOKEN_BASE: usize = 1 << 32;
/// How often running scripts (MISC_CHECK, notify) are reaped.
const REAP_EVERY: Duration = Duration::from_millis(20);
/// keepalived does not time notify scripts out; kad stops one that runs longer than this.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(60);

/// An smtp_alert mail the service must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
}

/// The engine with its executor.
pub struct Checks {
    engine: Engine,
    registry: Option<Registry>,
    /// Probes in flight by attempt number: their checker and the probe.
    probes: HashMap<usize, (usize, Box<dyn Probe>)>,
    /// The attempt number of each checker's probe in flight.
    probe_of: HashMap<usize, usize>,
    /// The next attempt number.
    next_attempt: usize,
    runner: ScriptRunner,
    /// The checker whose MISC_CHECK runs under each pid.
    script_owner: HashMap<u32, usize>,
    tls: Option<probe::tls::TlsContexts>,
    helo: String,
    alerts: Vec<Alert>,
    /// Notify FIFO lines produced since the last [`Checks::take_fifo_lines`].
    fifo_lines: Vec<String>,
    table_changed: bool,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            engine: Engine::new(Arc::new(Config::default()), String::new()),
            registry: None,
            probes: HashMap::new(),
            probe_of: HashMap::new(),
            next_attempt: 0,
            runner: ScriptRunner::default(),
            script_owner: HashMap::new(),
            tls: None,
            helo: String::new(),
            alerts: Vec::new(),
            fifo_lines: Vec::new(),
            table_changed: false,
        }
    }
}

impl Checks {
    /// Gives the executor the loop's registry (before the first [`Checks::load`]).
    pub fn set_registry(&mut self, registry: Registry) {
        self.registry = Some(registry);
    }

    /// Runs `config`'s checkers (at start, and on reload: states of unchanged checkers are
    /// kept; a checker whose settings did not change keeps its schedule and its attempt in
    /// flight; other attempts in flight are dropped, their scripts still timed out and reaped,
    /// their results ignored). Without a registry nothing is scheduled.
    pub fn load(&mut self, config: Arc<Config>, now: Instant) {
        self.tls = match probe::tls::contexts(config.ssl.as_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                log::error!("SSL: {e}; SSL_GET checks fail until the SSL block is fixed");
                None
            }
        };
        let host = kad_core::config::default_config_id();
        self.helo = config
            .global
            .smtp_helo_name
            .clone()
            .unwrap_or_else(|| host.clone());
        // The kernel is brought to the new table even when nothing in it changed.
        self.table_changed = true;
        if self.registry.is_none() {
            self.cancel();
            self.engine = Engine::new(config, host);
            return;
        }
        self.engine.set_host(host);
        self.run(now, Event::Reload(config));
        self.hand_on();
        raise_nofile(open_files_wanted(self.engine.config()));
    }

    /// Number of checkers.
    pub fn len(&self) -> usize {
        self.engine.len()
    }

    /// True without checkers.
    pub fn is_empty(&self) -> bool {
        self.engine.is_empty()
    }

    /// Each virtual server's desired destinations, in config order.
    pub fn destinations(&self) -> Vec<&[Destination]> {
        self.engine.destinations()
    }

    /// A snapshot of everything, for the dumps.
    pub fn snapshot(&self) -> Snapshot {
        self.engine.snapshot(Instant::now(), SystemTime::now())
    }

    /// Finished checks by kind (metrics).
    pub fn check_totals(&self) -> Vec<kad_ipc::status::CheckKindStats> {
        self.engine.check_totals()
    }

    /// The virtual servers as the control socket shows them.
    pub fn status(&self) -> Vec<kad_ipc::status::VsStatus> {
        self.engine.status()
    }

    /// A runtime weight override (`kadctl drain`/`undrain`/`weight`), applied at once.
    pub fn set_override(
        &mut self,
        vs: &str,
        rs: &str,
        what: kad_ipc::status::Override,
    ) -> Result<(), String> {
        if self.engine.find_real_server(vs, rs).is_none() {
            return Err(format!("no real server {rs} in virtual server {vs}"));
        }
        let (vs, rs) = (vs.to_string(), rs.to_string());
        self.run(Instant::now(), Event::Override { vs, rs, what });
        Ok(())
    }

    /// Notify FIFO lines produced since the last call.
    pub fn take_fifo_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.fifo_lines)
    }

    /// Mails produced since the last call.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.alerts)
    }

    /// True once if the desired table changed since the last call.
    pub fn take_table_changed(&mut self) -> bool {
        std::mem::replace(&mut self.table_changed, false)
    }

    /// When [`Checks::on_timer`] is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.engine.next_deadline(),
            self.runner.next_reap(REAP_EVERY),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// True if `token` is a checker's.
    pub fn owns(&self, token: Token) -> bool {
        token.0 >= CHECK_TOKEN_BASE
    }

    /// A checker's socket is ready.
    pub fn ready(&mut self, token: Token, now: Instant) {
        let attempt = token.0.wrapping_sub(CHECK_TOKEN_BASE);
        let (Some(registry), Some((i, p))) =
            (self.registry.as_ref(), self.probes.get_mut(&attempt))
        else {
            return;
        };
        let i = *i;
        if let Some(verdict) = p.ready(registry, token) {
            self.drop_probe(i);
            self.run(
                now,
                Event::ProbeDone {
                    checker: i,
                    verdict,
                },
            );
        }
    }

    /// Reaps scripts, reports `ha_suspend` addresses, then lets the engine's timers run.
    pub fn on_timer(&mut self, now: Instant) {
        for (pid, outcome) in self.runner.poll(now) {
            if let Some(checker) = self.script_owner.remove(&pid) {
                self.run(now, Event::ScriptEnded { checker, outcome });
            }
        }
        for (vs, addr) in self.engine.addresses_to_check(now) {
            let present = is_local(addr);
            self.run(now, Event::AddressPresent { vs, present });
        }
        self.run(now, Event::Timer);
    }

    /// Graceful stop: drops the probes; with `omega`, starts the down notifiers of what was up.
    pub fn stop(&mut self) {
        self.cancel();
        self.run(Instant::now(), Event::Stop);
    }

    /// Drops every probe in flight and forgets whose scripts run.
    fn cancel(&mut self) {
        self.keep_only(&[]);
    }

    /// After a reload: the attempts the engine handed on ([`Engine::take_moved`]) go on under
    /// their checkers' new numbers; every other probe is dropped, every other script's result
    /// ignored.
    fn hand_on(&mut self) {
        let moved = self.engine.take_moved();
        self.keep_only(&moved);
    }

    /// Keeps the attempts of the checkers in `moved` (old, new), renumbered; drops the rest.
    fn keep_only(&mut self, moved: &[(usize, usize)]) {
        let renumber: HashMap<usize, usize> = moved.iter().copied().collect();
        let old_of = std::mem::take(&mut self.probe_of);
        for (old, attempt) in old_of {
            match renumber.get(&old) {
                Some(&new) => {
                    if let Some(entry) = self.probes.get_mut(&attempt) {
                        entry.0 = new;
                    }
                    self.probe_of.insert(new, attempt);
                }
                None => {
                    if let Some((_, mut p)) = self.probes.remove(&attempt) {
                        if let Some(r) = self.registry.as_ref() {
                            p.deregister(r);
                        }
                    }
                }
            }
        }
        self.script_owner = std::mem::take(&mut self.script_owner)
            .into_iter()
            .filter_map(|(pid, old)| Some((pid, *renumber.get(&old)?)))
            .collect();
    }

    fn drop_probe(&mut self, i: usize) {
        let Some(attempt) = self.probe_of.remove(&i) else {
            return;
        };
        if let Some((_, mut p)) = self.probes.remove(&attempt) {
            if let Some(r) = self.registry.as_ref() {
                p.deregister(r);
            }
        }
    }

    /// Feeds `event` to the engine and carries out the effects, with the events they lead to.
    fn run(&mut self, now: Instant, event: Event) {
        let mut queue = VecDeque::from([event]);
        while let Some(event) = queue.pop_front() {
            for effect in self.engine.handle(now, event) {
                if let Some(next) = self.carry_out(effect) {
                    queue.push_back(next);
                }
            }
        }
    }

    /// Does what `effect` says; returns the event its result is, if it came at once.
    fn carry_out(&mut self, effect: Effect) -> Option<Event> {
        match effect {
            Effect::StartProbe { checker, .. } => Some(Event::ProbeDone {
                checker,
                verdict: self.start_probe(checker)?,
            }),
            Effect::TimeOutProbe { checker } => {
                let probe = self.probe_of.get(&checker).copied();
                let verdict = match probe.and_then(|a| self.probes.get_mut(&a)) {
                    Some((_, p)) => p.timed_out(),
                    None => Verdict::down("timed out"),
                };
                self.drop_probe(checker);
                Some(Event::ProbeDone { checker, verdict })
            }
            Effect::StartScript {
                checker,
                script,
                argv,
                timeout,
            } => {
                let config = self.engine.config().clone();
                match start_configured(&mut self.runner, &config.global, &script, &argv, timeout) {
                    Ok(pid) => {
                        self.script_owner.insert(pid, checker);
                        None
                    }
                    Err(error) => Some(Event::ScriptRefused { checker, error }),
                }
            }
            Effect::RunNotify { script, argv } => {
                let config = self.engine.config().clone();
                let started = start_configured(
                    &mut self.runner,
                    &config.global,
                    &script,
                    &argv,
                    NOTIFY_TIMEOUT,
                );
                if let Err(e) = started {
                    log::error!("notify script {}: {e}", script.command);
                }
                None
            }
            Effect::Mail { subject, body } => {
                self.alerts.push(Alert { subject, body });
                None
            }
            Effect::Destinations { .. } => {
                self.table_changed = true;
                None
            }
            Effect::Log(line) => {
                log::info!("{line}");
                None
            }
            Effect::Fifo(line) => {
                self.fifo_lines.push(line);
                None
            }
        }
    }

    /// Starts checker `i`'s probe; `Some` when the attempt ended at once (FILE_CHECK, or a
    /// probe that could not start).
    fn start_probe(&mut self, i: usize) -> Option<Verdict> {
        let config = self.engine.config().clone();
        let ck = self.engine.checker(i)?;
        if let CheckKind::File { .. } = ck.kind {
            return Some(crate::file_check::verdict(&config, &ck.kind));
        }
        let Some(registry) = self.registry.as_ref() else {
            return Some(Verdict::down("cannot poll: no event loop"));
        };
        let ctx = ProbeContext {
            tls: self.tls.as_ref(),
            helo: &self.helo,
            ident: i as u16,
            virtualhost: self.engine.virtualhost(i),
        };
        let attempt = self.next_attempt;
        let token = Token(CHECK_TOKEN_BASE.wrapping_add(attempt));
        match probe::start(&ck.kind, &ck.target, &ctx)? {
            Ok(mut p) => match p.register(registry, token) {
                Ok(()) => {
                    self.next_attempt = attempt.wrapping_add(1) % CHECK_TOKEN_BASE;
                    self.probes.insert(attempt, (i, p));
                    self.probe_of.insert(i, attempt);
                    None
                }
                Err(e) => Some(Verdict::down(format!("cannot poll: {e}"))),
            },
            Err(v) => Some(v),
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

/// Descriptors the checker may hold at once for `config`: one per checker plus the daemon's
/// own (the parent raises the hard limit to this at start, the checker its soft limit).
pub fn open_files_wanted(config: &Config) -> u64 {
    let checkers: usize = config
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .map(|rs| rs.checkers.len())
        .sum();
    checkers as u64 + 256
}

/// Raises RLIMIT_NOFILE to `want` (see [`open_files_wanted`]).
fn raise_nofile(want: u64) {
    let Ok((soft, hard)) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
    else {
        return;
    };
    if soft >= want {
        return;
    }
    use nix::sys::resource::{setrlimit, Resource};
    // Past the hard limit needs CAP_SYS_RESOURCE, which the checker has dropped: then as far
    // as the hard limit (the parent raised it at start).
    if setrlimit(Resource::RLIMIT_NOFILE, want, hard.max(want)).is_err() {
        let got = want.min(hard);
        if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, got, hard) {
            log::warn!("cannot raise the open-file limit to {got}: {e}");
        } else if got < want {
            log::warn!("open-file limit {got}, below the {want} these checkers may need");
        }
    }
}
