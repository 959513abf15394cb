//! The parent's loop: starts the children, reaps and respawns them, routes messages between
//! them, and turns signals into messages (SIGHUP reload, SIGUSR1/SIGUSR2/SIGRTMIN+2 dumps,
//! SIGRTMAX-1 stats dump and clear, SIGTERM/SIGINT stop). The signals keepalived ignores are
//! caught and dropped, so none of them stops kad.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kad_core::config::Config;
use kad_ipc::channel::pair;
use kad_ipc::{Channel, FromChild, Routed, ToChild};
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook_mio::v1_0::Signals;

use super::control::{self, Control};
use super::respawn::{Backoff, Decision};
use super::sdnotify::Notifier;
use super::{ChildKind, Settings};

mod requests;
mod scrape;
mod status_asks;

const SIGNALS: Token = Token(100);

/// The descriptor number a child finds its channel on.
pub const CHILD_IPC_FD: i32 = 3;

/// The VRRP child's slot (slots are laid out in [`ChildKind::ALL`] order).
const VRRP: usize = ChildKind::Vrrp.slot();
/// The checker child's slot.
const CHECKER: usize = ChildKind::Checker.slot();

struct Slot {
    kind: ChildKind,
    wanted: bool,
    pid: Option<u32>,
    channel: Option<Channel<FromChild, ToChild>>,
    started: Instant,
    killed_at: Option<Instant>,
    backoff: Backoff,
    respawn_at: Option<Instant>,
    fatal: bool,
    /// The running child holds CAP_NET_RAW (the checker only with a PING_CHECK).
    net_raw: bool,
    /// The parent killed the child to start it again at once (not a death).
    restart: bool,
    /// Deaths followed by a respawn since kad started (metrics).
    restarts: u64,
    /// Status requests in flight to this child (coalesced).
    status: status_asks::StatusAsks,
}

/// The parent's state.
pub struct Watchdog {
    settings: Settings,
    config: Config,
    /// Notify FIFOs with an owner, held open for the children.
    fifos: super::fifo_owner::OwnedFifos,
    slots: Vec<Slot>,
    poll: Poll,
    signals: Signals,
    stopping: Option<Instant>,
    killed_remaining: bool,
    exit_status: i32,
    /// Latest vrrp_script results, replayed to a new VRRP child.
    script_status: std::collections::BTreeMap<String, bool>,
    /// Latest VRRP instance states, replayed to a new checker (lvs_sync_daemon, dumps).
    instance_states: std::collections::BTreeMap<String, kad_core::state::VrrpState>,
    /// The control socket, if it could be bound.
    control: Option<Control>,
    /// Maintenance and weight overrides in force, replayed to a respawned child.
    changes: requests::Changes,
    /// The metrics endpoint, if asked for and bound.
    metrics: Option<super::metrics::Metrics>,
    /// systemd's readiness notifications.
    notify: Notifier,
}

fn sigrtmin2() -> i32 {
    crate::compat::json_signal()
}

/// The signals the parent acts on: keepalived's (see `--signum`) and SIGCHLD.
fn handled_signals() -> Vec<i32> {
    vec![
        SIGCHLD,
        SIGHUP,
        SIGTERM,
        SIGINT,
        SIGUSR1,
        SIGUSR2,
        sigrtmin2(),
        crate::compat::stats_clear_signal(),
    ]
}

/// The signals keepalived 2.2.7 ignores (measured: every real-time signal but its two, and
/// the usual non-fatal ones). kad catches them and does nothing: a handler rather than
/// SIG_IGN, because an exec resets handlers but keeps SIG_IGN, and children and scripts must
/// start with default dispositions.
fn ignored_signals() -> Vec<i32> {
    use libc::*;
    let mut v = vec![
        SIGQUIT, SIGTRAP, SIGABRT, SIGPIPE, SIGALRM, SIGSTKFLT, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU,
        SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS,
    ];
    let handled = handled_signals();
    v.extend((SIGRTMIN()..=SIGRTMAX()).filter(|s| !handled.contains(s)));
    v
}

impl Watchdog {
    /// Sets up the loop and its signals (before any child exists).
    pub fn new(settings: Settings, mut config: Config, notify: Notifier) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        let fifos = super::fifo_owner::OwnedFifos::open(&mut config);
        let mut signals = Signals::new(handled_signals().into_iter().chain(ignored_signals()))?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        let slots = ChildKind::ALL
            .into_iter()
            .map(|kind| Slot {
                kind,
                wanted: false,
                pid: None,
                channel: None,
                started: Instant::now(),
                killed_at: None,
                backoff: Backoff::new(settings.respawn_window),
                respawn_at: None,
                fatal: false,
                net_raw: false,
                restart: false,
                restarts: 0,
                status: status_asks::StatusAsks::default(),
            })
            .collect();
        Ok(Watchdog {
            settings,
            config,
            fifos,
            slots,
            poll,
            signals,
            stopping: None,
            killed_remaining: false,
            exit_status: 0,
            script_status: std::collections::BTreeMap::new(),
            instance_states: std::collections::BTreeMap::new(),
            control: None,
            changes: Default::default(),
            metrics: None,
            notify,
        })
    }

    /// Runs until the children are stopped; returns the exit status.
    pub fn run(mut self) -> i32 {
        self.open_control();
        self.open_metrics();
        self.update_wanted();
        for i in 0..self.slots.len() {
            if self.slots[i].wanted {
                self.spawn(i);
            }
        }
        self.notify.settle();
        let mut events = Events::with_capacity(32);
        loop {
            if self.stopping.is_some() && self.slots.iter().all(|s| s.pid.is_none()) {
                if let Some(c) = &self.control {
                    c.remove();
                }
                self.fifos.close();
                return self.exit_status;
            }
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    log::error!("poll failed: {e}; stopping");
                    self.begin_stop(1);
                }
                continue;
            }
            let tokens: Vec<(Token, bool)> = events
                .iter()
                .map(|e| (e.token(), e.is_writable()))
                .collect();
            for (token, writable) in tokens {
                if token == SIGNALS {
                    self.on_signals();
                } else if token.0 < self.slots.len() {
                    self.on_channel(token.0, writable);
                } else if token == super::metrics::LISTENER
                    || token.0 >= super::metrics::FIRST_CONNECTION
                {
                    self.on_metrics(token);
                } else if token == control::LISTENER || token.0 >= control::FIRST_CONNECTION {
                    self.on_control(token);
                }
            }
            self.on_timers();
        }
    }

    fn update_wanted(&mut self) {
        let s = &self.settings;
        let cfg = &self.config;
        let vrrp =
            !s.check_only && (s.vrrp_only || !cfg.vrrp_instances.is_empty() || cfg.has_statics());
        let g = &cfg.global;
        let mail = g.smtp_server.is_some()
            && cfg.vrrp_instances.iter().any(|i| {
                i.smtp_alert
                    .or(g.smtp_alert_vrrp)
                    .or(g.smtp_alert)
                    .unwrap_or(false)
            });
        let has_notify = |n: &kad_core::config::model::Notify| {
            n.master.is_some()
                || n.backup.is_some()
                || n.fault.is_some()
                || n.stop.is_some()
                || n.any.is_some()
                || n.master_rx_lower_pri.is_some()
        };
        let notify = mail
            || g.fifos.all.script.is_some()
            || g.fifos.vrrp.script.is_some()
            || cfg.vrrp_instances.iter().any(|i| has_notify(&i.notify))
            || cfg.sync_groups.iter().any(|g| has_notify(&g.notify));
        // What the VRRP side needs run (the checker runs it; with -P in script-only mode),
        // the connection-sync daemon included (the checker owns IPVS).
        let vrrp_scripts = !s.check_only
            && (!cfg.vrrp_scripts.is_empty() || notify || g.lvs_sync_daemon.is_some());
        let checker = if s.vrrp_only {
            vrrp_scripts
        } else {
            s.check_only || !cfg.virtual_servers.is_empty() || vrrp_scripts
        };
        self.slots[VRRP].wanted = vrrp;
        self.slots[CHECKER].wanted = checker;
    }

    fn next_deadline(&self) -> Option<Instant> {
        let respawn = self
            .slots
            .iter()
            .filter_map(|s| s.respawn_at)
            .chain(self.control.as_ref().and_then(Control::next_deadline))
            .chain(self.metrics.as_ref().and_then(|m| m.next_deadline()))
            .min();
        let stop = self.stopping.filter(|_| !self.killed_remaining);
        match (respawn, stop) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn spawn(&mut self, i: usize) {
        let kind = self.slots[i].kind;
        // READY waits for this child's Ready (its first configuration applied), also if this
        // attempt fails and a later one starts it.
        self.notify.state.started(i);
        let (mut parent_end, child_end) = match pair::<ToChild, FromChild>() {
            Ok((parent_end, child_end)) => (
                parent_end.with_max_incoming(kad_ipc::MAX_FROM_CHILD),
                child_end,
            ),
            Err(e) => {
                log::error!(
                    "cannot create the {} channel: {e}; retrying in 1 s",
                    kind.label()
                );
                self.slots[i].respawn_at = Some(Instant::now() + Duration::from_secs(1));
                return;
            }
        };
        let child_fd = child_end.as_raw_fd();
        let mut cmd = Command::new(&self.settings.exe);
        cmd.arg0(kind.title())
            .args(self.settings.child_args(kind, self.slots[i].restart))
            .stdin(Stdio::null());
        let (fifo_fds, fifo_env) = self.fifos.inherit();
        if !fifo_fds.is_empty() {
            cmd.env(kad_ipc::fifo::INHERIT_ENV, fifo_env);
        }
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe calls (dup2, fcntl, prctl, getppid, kill).
        unsafe {
            let parent = std::process::id() as libc::pid_t;
            cmd.pre_exec(move || {
                if child_fd == CHILD_IPC_FD {
                    libc::fcntl(child_fd, libc::F_SETFD, 0);
                } else if libc::dup2(child_fd, CHILD_IPC_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The owned notify FIFOs stay open across exec (all above CHILD_IPC_FD).
                for &fd in &fifo_fds {
                    libc::fcntl(fd, libc::F_SETFD, 0);
                }
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGTERM as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                if libc::getppid() != parent {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
                Ok(())
            });
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                log::error!("cannot start the {}: {e}; retrying in 1 s", kind.label());
                self.slots[i].respawn_at = Some(Instant::now() + Duration::from_secs(1));
                return;
            }
        };
        drop(child_end);
        let pid = child.id();
        if let Err(e) = parent_end.send(&ToChild::Reload(Box::new(self.config.clone()))) {
            log::error!(
                "cannot send the configuration to the {} (pid {pid}): {e}",
                kind.label()
            );
        }
        if let Err(e) = self.poll.registry().register(
            &mut parent_end,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::error!("cannot watch the {} channel: {e}", kind.label());
        }
        if kind == ChildKind::Vrrp {
            // A new VRRP child learns the last known script results at once.
            for (name, &ok) in &self.script_status {
                let msg = ToChild::Routed(Routed::ScriptStatus {
                    name: name.clone(),
                    ok,
                });
                if let Err(e) = parent_end.send(&msg) {
                    log::error!("cannot replay script results to the VRRP child: {e}");
                }
            }
        }
        if kind == ChildKind::Checker && !self.instance_states.is_empty() {
            // A new checker learns the instances' states without rerunning their notifies.
            let states = self.instance_states.clone().into_iter().collect();
            if let Err(e) = parent_end.send(&ToChild::InstanceStates(states)) {
                log::error!("cannot replay instance states to the checker: {e}");
            }
        }
        let slot = &mut self.slots[i];
        slot.pid = Some(pid);
        slot.channel = Some(parent_end);
        slot.status.reset();
        slot.started = Instant::now();
        slot.respawn_at = None;
        slot.fatal = false;
        slot.restart = false;
        slot.net_raw = kind == ChildKind::Vrrp || super::needs_net_raw(&self.config);
        log::info!("started {} (pid {pid})", kind.label());
        self.replay_changes(i);
    }

    fn send(&mut self, i: usize, msg: ToChild) {
        let slot = &mut self.slots[i];
        let Some(ch) = slot.channel.as_mut() else {
            return;
        };
        if let Err(e) = ch.send(&msg) {
            log::error!("channel to {} broken ({e}); killing it", slot.kind.label());
            self.kill(i);
        }
    }

    fn kill(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if let Some(mut ch) = slot.channel.take() {
            let _ = self.poll.registry().deregister(&mut ch);
        }
        if let Some(pid) = slot.pid {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    fn on_signals(&mut self) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for sig in pending {
            match sig {
                SIGCHLD => self.reap(),
                SIGHUP => {
                    let _ = self.reload();
                }
                SIGTERM | SIGINT => {
                    log::info!("stopping on signal {sig}");
                    self.begin_stop(0);
                }
                SIGUSR1 => {
                    for i in 0..self.slots.len() {
                        self.send(i, ToChild::Dump);
                    }
                }
                SIGUSR2 => self.send(VRRP, ToChild::DumpStats),
                // keepalived's JSON is the VRRP child's; kad's checker adds keepalived_check.json.
                s if s == sigrtmin2() => {
                    for i in 0..self.slots.len() {
                        self.send(i, ToChild::DumpJson);
                    }
                }
                // keepalived's STATS_CLEAR: the stats file, then the VRRP counters start at 0.
                s if s == crate::compat::stats_clear_signal() => {
                    self.send(VRRP, ToChild::DumpStatsClear)
                }
                // One of the signals keepalived ignores.
                _ => log::debug!("signal {sig} ignored"),
            }
        }
    }

    /// Reloads the configuration file; a refused file's diagnostics come back as `Err`.
    fn reload(&mut self) -> Result<(), Vec<String>> {
        log::info!(
            "reloading configuration from {}",
            self.settings.config_path.display()
        );
        self.notify.reloading();
        let result = self.reload_file();
        self.notify.settle();
        result
    }

    /// The reload itself, between the RELOADING and READY notifications.
    fn reload_file(&mut self) -> Result<(), Vec<String>> {
        let parsed = kad_core::config::parse_file(
            &self.settings.config_path,
            &self.settings.parse_options(),
        );
        let lines = parsed.rendered();
        let Some(config) = parsed.config else {
            let errors = lines.iter().filter(|l| l.contains(": error: ")).count();
            let first = lines
                .iter()
                .find(|l| l.contains(": error: "))
                .cloned()
                .unwrap_or_default();
            log::error!("reload refused, the running configuration stays: {errors} error(s); first: {first}");
            return Err(lines);
        };
        for l in &lines {
            log::warn!("{l}");
        }
        let mut config = config;
        for w in super::apply_script_user(&mut config, &self.settings.config_path, true) {
            log::warn!("{w}");
        }
        self.fifos.reload(&mut config);
        self.config = config;
        self.changes.prune(&self.config);
        self.update_wanted();
        for i in 0..self.slots.len() {
            if self.needs_restart(i) {
                self.restart(i);
            } else if self.slots[i].pid.is_some() {
                self.notify.state.expect(i);
                self.send(i, ToChild::Reload(Box::new(self.config.clone())));
                // An instance or virtual server the reload rebuilt starts without them.
                self.replay_changes(i);
            } else if self.slots[i].wanted
                && self.slots[i].respawn_at.is_none()
                && self.stopping.is_none()
            {
                self.spawn(i);
            }
        }
        Ok(())
    }

    /// A running checker without CAP_NET_RAW cannot take a PING_CHECK the reload added: it
    /// cannot regain the capability, so it is started again with the new configuration.
    fn needs_restart(&self, i: usize) -> bool {
        let slot = &self.slots[i];
        slot.pid.is_some()
            && slot.kind == ChildKind::Checker
            && !self.settings.vrrp_only
            && !slot.net_raw
            && super::needs_net_raw(&self.config)
    }

    /// Kills child `i` (SIGKILL, so a checker leaves the IPVS table in place for its
    /// successor to reconcile) and marks it to be started again as soon as it is reaped (with
    /// `--child-reload-restart`: a reload, so the successor does not apply `lvs_flush`).
    fn restart(&mut self, i: usize) {
        log::info!(
            "the new configuration has a PING_CHECK and the {} does not hold CAP_NET_RAW; restarting it",
            self.slots[i].kind.label()
        );
        self.slots[i].restart = true;
        self.kill(i);
    }

    fn begin_stop(&mut self, status: i32) {
        if self.stopping.is_some() {
            return;
        }
        self.exit_status = status;
        self.notify.stopping();
        self.stopping = Some(Instant::now() + self.config.global.child_wait_time);
        for slot in &mut self.slots {
            slot.respawn_at = None;
        }
        // The VRRP child stops first: its final STOP states reach the checker (notify_stop),
        // which is told to stop once the VRRP child is gone.
        if self.slots[VRRP].pid.is_some() {
            self.send(VRRP, ToChild::Shutdown);
        } else {
            self.send(CHECKER, ToChild::Shutdown);
        }
    }

    fn reap(&mut self) {
        loop {
            use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
            // (pid, exit code, or the signal that killed it)
            let (pid, ended) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, Ok(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, Err(sig as i32)),
                Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return,
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    log::warn!("waitpid: {e}");
                    return;
                }
            };
            let Some(i) = self
                .slots
                .iter()
                .position(|s| s.pid == Some(pid.as_raw() as u32))
            else {
                continue;
            };
            let how = match ended {
                Ok(code) => format!("exited with status {code}"),
                Err(sig) => death_by_signal(self.slots[i].kind, sig),
            };
            let config_exit = ended == Ok(crate::exit::Exit::ChildFatal.code());
            let slot = &mut self.slots[i];
            if let Some(mut ch) = slot.channel.take() {
                let _ = self.poll.registry().deregister(&mut ch);
            }
            slot.pid = None;
            let lived = slot.started.elapsed();
            let label = slot.kind.label();
            log::info!(
                "{label} (pid {pid}) {how} after {:.1} s",
                lived.as_secs_f64()
            );
            if self.stopping.is_some() {
                if i == VRRP {
                    self.send(CHECKER, ToChild::Shutdown);
                }
                continue;
            }
            if slot.restart {
                self.spawn(i);
                continue;
            }
            if self.settings.dont_respawn {
                log::error!("{label} died and -R forbids respawning; stopping");
                self.begin_stop(1);
                continue;
            }
            let fatal = slot.fatal || config_exit;
            match slot.backoff.on_death(lived, fatal) {
                Decision::Stop => {
                    log::error!("{label} cannot run; stopping kad");
                    self.begin_stop(1);
                }
                Decision::Now => {
                    slot.restarts = slot.restarts.saturating_add(1);
                    slot.killed_at = Some(Instant::now());
                    self.spawn(i);
                }
                Decision::After(d) => {
                    slot.restarts = slot.restarts.saturating_add(1);
                    log::warn!("{label} died young; respawning in {} s", d.as_secs());
                    slot.respawn_at = Some(Instant::now() + d);
                }
            }
        }
    }

    fn on_channel(&mut self, i: usize, writable: bool) {
        let mut inbox = Vec::new();
        let mut broken = None;
        if let Some(ch) = self.slots[i].channel.as_mut() {
            if writable {
                if let Err(e) = ch.flush() {
                    broken = Some(e);
                }
            }
            while broken.is_none() {
                match ch.recv() {
                    Ok(Some(m)) => inbox.push(m),
                    Ok(None) => break,
                    Err(e) => broken = Some(e),
                }
            }
        }
        for msg in inbox {
            self.on_message(i, msg);
        }
        match broken {
            None => {}
            // The child is exiting (its SIGCHLD follows): stop watching the channel.
            Some(kad_ipc::IpcError::Closed) => {
                if let Some(mut ch) = self.slots[i].channel.take() {
                    let _ = self.poll.registry().deregister(&mut ch);
                }
            }
            Some(e) => {
                log::warn!(
                    "channel to {} broken ({e}); killing it",
                    self.slots[i].kind.label()
                );
                self.kill(i);
            }
        }
    }

    fn on_message(&mut self, i: usize, msg: FromChild) {
        let label = self.slots[i].kind.label();
        let applied = matches!(msg, FromChild::Ready { .. } | FromChild::Reloaded);
        if applied {
            // This process's start-up (or reload) work is behind it (see settle.rs).
            super::settle::release("parent");
        }
        match msg {
            FromChild::Ready { pid } => match self.slots[i].killed_at.take() {
                Some(t) => log::info!(
                    "{label} (pid {pid}) ready, {:.1} ms after its predecessor died",
                    t.elapsed().as_secs_f64() * 1000.0
                ),
                None => log::info!("{label} (pid {pid}) ready"),
            },
            FromChild::Reloaded => log::info!("{label} applied the new configuration"),
            FromChild::Status { id, status } => self.on_status(i, id, status),
            FromChild::Outcome { id, outcome } => self.on_outcome(i, id, outcome),
            FromChild::Fatal(reason) => {
                log::error!("{label} cannot run: {reason}");
                self.slots[i].fatal = true;
            }
            FromChild::Routed(news) => {
                if !routed_is_known(&self.config, &news) {
                    // Also the last words of an instance a reload just removed: not alarming.
                    log::debug!("{label} sent news of something not configured: {news:?}; dropped");
                    return;
                }
                // Script results go to the VRRP child and are kept for its successor;
                // instance states go to the checker.
                let to = match &news {
                    Routed::ScriptStatus { name, ok } => {
                        self.script_status.insert(name.clone(), *ok);
                        VRRP
                    }
                    Routed::InstanceState { name, state, .. } => {
                        self.instance_states.insert(name.clone(), *state);
                        CHECKER
                    }
                    Routed::MasterRxLowerPri { .. } => CHECKER,
                };
                self.send(to, ToChild::Routed(news));
            }
        }
        if applied {
            // The child applied a configuration: READY=1 if it was the last one owed.
            self.notify.state.applied(i);
            self.notify.settle();
        }
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        if let Some(c) = self.control.as_mut() {
            c.on_timer(now, self.poll.registry());
        }
        if let Some(m) = self.metrics.as_mut() {
            m.on_timer(now, self.poll.registry());
        }
        for i in 0..self.slots.len() {
            if self.slots[i].respawn_at.is_some_and(|t| t <= now) && self.stopping.is_none() {
                self.slots[i].killed_at = Some(now);
                self.spawn(i);
            }
        }
        if let Some(deadline) = self.stopping {
            if now >= deadline && !self.killed_remaining {
                self.killed_remaining = true;
                for i in 0..self.slots.len() {
                    if let Some(pid) = self.slots[i].pid {
                        log::warn!(
                            "{} (pid {pid}) did not stop in time; killing it",
                            self.slots[i].kind.label()
                        );
                        self.kill(i);
                    }
                }
            }
        }
    }
}

/// True if routed news names a configured vrrp_script or instance (the state is an enum): the
/// parent keeps and forwards nothing else, so a child cannot grow its tables or feed the other
/// child names it never configured.
fn routed_is_known(config: &Config, news: &Routed) -> bool {
    match news {
        Routed::ScriptStatus { name, .. } => config.vrrp_scripts.iter().any(|s| s.name == *name),
        Routed::InstanceState { name, .. } | Routed::MasterRxLowerPri { name } => {
            config.vrrp_instances.iter().any(|i| i.name == *name)
        }
    }
}

/// How a child killed by `sig` died, for the log; SIGSYS of the VRRP child is its seccomp
/// filter (the kernel's audit log, type=1326, names the system call).
fn death_by_signal(kind: ChildKind, sig: i32) -> String {
    if sig == libc::SIGSYS && kind == ChildKind::Vrrp {
        "killed by seccomp (SIGSYS): a system call outside the VRRP child's allow-list \
         (the kernel log names it: audit type=1326)"
            .to_string()
    } else {
        format!("killed by signal {sig}")
    }
}

/// Paths of the three pidfiles.
#[derive(Debug, Clone)]
pub struct Pidfiles {
    /// The parent's.
    pub parent: PathBuf,
    /// The VRRP child's.
    pub vrrp: PathBuf,
    /// The checker child's.
    pub checker: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_news_of_configured_scripts_and_instances_is_routed() {
        let path = std::env::temp_dir().join(format!("kad-routed-{}.conf", std::process::id()));
        std::fs::write(
            &path,
            "vrrp_script chk {\n script /bin/true\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n track_script {\n  chk\n }\n}\n",
        )
        .expect("config");
        let config = kad_core::config::parse_file(&path, &Default::default())
            .config
            .expect("valid");
        let _ = std::fs::remove_file(&path);
        let script = |name: &str| Routed::ScriptStatus {
            name: name.into(),
            ok: true,
        };
        let state = |name: &str, state: kad_core::state::VrrpState| Routed::InstanceState {
            name: name.into(),
            state,
            priority: 100,
        };
        assert!(routed_is_known(&config, &script("chk")));
        assert!(!routed_is_known(&config, &script("forged")));
        use kad_core::state::VrrpState::Master;
        assert!(routed_is_known(&config, &state("VI_1", Master)));
        assert!(!routed_is_known(&config, &state("VI_2", Master)));
        let lower = |name: &str| Routed::MasterRxLowerPri { name: name.into() };
        assert!(routed_is_known(&config, &lower("VI_1")));
        assert!(!routed_is_known(&config, &lower("VI_2")));
    }
}
