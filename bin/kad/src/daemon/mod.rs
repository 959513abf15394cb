//! The daemon: the parent watchdog ([`watchdog`]) and the child entry point ([`run_child`]).
//!
//! The parent re-executes its own binary for each child (`kad --child vrrp|checker`), with the
//! child's end of a socketpair on descriptor 3. A fresh image means a child inherits no signal
//! handlers, no poll state and no allocations from the parent; its configuration arrives as the
//! first message on the channel. Error policy: problems are logged where they happen; only the
//! exit status leaves this module.

pub mod clients;
pub mod control;
pub mod fifo_owner;
pub mod metrics;
pub mod pidfile;
pub mod respawn;
pub mod sdnotify;
pub mod seccomp;
pub mod settle;
pub mod sys;
pub mod watchdog;

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kad_core::config::model::CheckKind;
use kad_core::config::{Config, ParseOptions, Parsed};
use kad_core::logging::LogOptions;
use kad_ipc::{Channel, FromChild, ToChild};

use crate::cli::Cli;
use crate::exit::Exit;

/// Which child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// VRRP.
    Vrrp,
    /// Checkers.
    Checker,
}

impl ChildKind {
    /// Every kind, in the order of the watchdog's slots.
    pub const ALL: [ChildKind; 2] = [ChildKind::Vrrp, ChildKind::Checker];

    /// This kind's index in [`ChildKind::ALL`] (the watchdog's slot).
    pub const fn slot(self) -> usize {
        match self {
            ChildKind::Vrrp => 0,
            ChildKind::Checker => 1,
        }
    }

    /// Process title (argv[0] and comm).
    pub fn title(self) -> &'static str {
        match self {
            ChildKind::Vrrp => "kad: vrrp",
            ChildKind::Checker => "kad: checker",
        }
    }

    /// Name in log lines.
    pub fn label(self) -> &'static str {
        match self {
            ChildKind::Vrrp => "VRRP child",
            ChildKind::Checker => "checker child",
        }
    }

    fn ident(self) -> &'static str {
        match self {
            ChildKind::Vrrp => "kad_vrrp",
            ChildKind::Checker => "kad_checker",
        }
    }

    /// The child's bounding set, held in full until its configuration arrives.
    fn capabilities(self) -> &'static [u32] {
        use sys::cap::*;
        match self {
            ChildKind::Vrrp => &[NET_ADMIN, NET_RAW],
            ChildKind::Checker => &[NET_ADMIN, NET_RAW, SETUID, SETGID, KILL],
        }
    }

    /// What the child goes on holding once it has `config`: the checker gives up CAP_NET_RAW
    /// unless a PING_CHECK needs raw ICMP sockets and it runs health checks (it stays in the
    /// bounding set for scripts run as root, as keepalived's scripts have it).
    fn held_capabilities(self, config: &Config, mode: kad_check::Mode) -> Vec<u32> {
        let all = self.capabilities();
        let ping = needs_net_raw(config) && mode != kad_check::Mode::ScriptsOnly;
        match self {
            ChildKind::Checker if !ping => all
                .iter()
                .copied()
                .filter(|&c| c != sys::cap::NET_RAW)
                .collect(),
            _ => all.to_vec(),
        }
    }
}

/// True if the checker needs CAP_NET_RAW for `config`: some real server has a PING_CHECK
/// (raw ICMP and ICMPv6 sockets). Every other checker uses ordinary sockets.
pub fn needs_net_raw(config: &Config) -> bool {
    config
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .any(|c| c.kind == CheckKind::Ping)
}

/// Narrows a child once its configuration is known: the checker drops what it does not
/// need; the VRRP child gets no_new_privs and its seccomp allow-list.
fn confine(kind: ChildKind, config: &Config, mode: kad_check::Mode) -> Result<(), String> {
    sys::hold_only(&kind.held_capabilities(config, mode))
        .map_err(|e| format!("cannot drop capabilities: {e}"))?;
    if kind == ChildKind::Vrrp {
        sys::set_no_new_privs().map_err(|e| format!("cannot set no_new_privs: {e}"))?;
        seccomp::confine_vrrp().map_err(|e| {
            format!(
                "cannot install the seccomp filter: {e} (set {}=1 to run without it)",
                seccomp::ESCAPE_ENV
            )
        })?;
    }
    Ok(())
}

/// What the parent needs from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This binary, re-executed for each child.
    pub exe: PathBuf,
    /// The configuration file.
    pub config_path: PathBuf,
    /// `-i`.
    pub config_id: String,
    /// `-P`.
    pub vrrp_only: bool,
    /// `-C`.
    pub check_only: bool,
    /// `-R`.
    pub dont_respawn: bool,
    /// `--respawn-window`.
    pub respawn_window: Duration,
    /// Logging flags passed on to children.
    pub log: LogOptions,
    /// Pidfile paths.
    pub pidfiles: watchdog::Pidfiles,
    /// `--control-socket` (None with `--no-control-socket`).
    pub control_socket: Option<PathBuf>,
    /// `--control-socket-group`.
    pub control_group: Option<String>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl Settings {
    fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            config_id: self.config_id.clone(),
            interface_exists: Some(crate::check::interface_exists),
        }
    }

    /// The arguments of child `kind`; `reload_restart`: it replaces a checker the parent
    /// restarted for a reload (such a checker does not apply `lvs_flush`).
    fn child_args(&self, kind: ChildKind, reload_restart: bool) -> Vec<String> {
        let mut a = vec![
            "--child".to_string(),
            match kind {
                ChildKind::Vrrp => "vrrp".into(),
                ChildKind::Checker => "checker".into(),
            },
        ];
        let pidfile = match kind {
            ChildKind::Vrrp => &self.pidfiles.vrrp,
            ChildKind::Checker => &self.pidfiles.checker,
        };
        a.push(format!("--child-pidfile={}", pidfile.display()));
        if self.log.console {
            a.push("-l".into());
        }
        if self.log.detail {
            a.push("-D".into());
        }
        if let Some(f) = self.log.facility {
            a.push(format!("-S{f}"));
        }
        // The checker learns its mode from the daemon's own flags (see `checker_mode`).
        if kind == ChildKind::Checker {
            if self.vrrp_only {
                a.push("-P".into());
            } else if self.check_only {
                a.push("-C".into());
            }
            if reload_restart {
                a.push("--child-reload-restart".into());
            }
        }
        a
    }
}

/// The checker's mode for the daemon's `-P` / `-C`: with `-P` it runs only the scripts the
/// VRRP side needs (vrrp_script, notify), with `-C` only health checks and IPVS.
pub fn checker_mode(vrrp_only: bool, check_only: bool) -> kad_check::Mode {
    match (vrrp_only, check_only) {
        (true, _) => kad_check::Mode::ScriptsOnly,
        (false, true) => kad_check::Mode::ChecksOnly,
        (false, false) => kad_check::Mode::Full,
    }
}

/// Applies keepalived's default script user to `config` (kad_check::script_user: root unless
/// `script_user` or a `keepalived_script` user exists; with enable_script_security and no
/// default user, scripts are removed) and returns its warnings, naming the config file.
pub fn apply_script_user(config: &mut Config, path: &Path, at_start: bool) -> Vec<String> {
    let exists = kad_check::script_user::default_user_exists();
    kad_check::script_user::apply(config, exists, at_start)
        .into_iter()
        .map(|w| format!("{}: warning: {w}", path.display()))
        .collect()
}

fn log_options(cli: &Cli) -> LogOptions {
    LogOptions {
        console: cli.log_console,
        detail: cli.log_detail,
        facility: cli.log_facility,
    }
}

/// Starts the parent: validates the config, takes the pidfile, detaches, runs the watchdog.
pub fn run_parent(cli: &Cli, config_id: String) -> i32 {
    // Descriptors inherited from whoever started kad never reach a child or a script.
    if let Err(e) = kad_ipc::hygiene::cloexec_from(3) {
        eprintln!("kad: cannot set close-on-exec on inherited descriptors: {e}");
        return Exit::Failure.code();
    }
    let config_path = cli.config_path();
    let settings = Settings {
        exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe")),
        config_path: config_path.clone(),
        config_id,
        vrrp_only: cli.vrrp_only,
        check_only: cli.check_only,
        dont_respawn: cli.dont_respawn,
        respawn_window: Duration::from_secs_f64(cli.respawn_window.max(0.0)),
        log: log_options(cli),
        control_socket: (!cli.no_control_socket).then(|| cli.control_socket.clone()),
        control_group: cli.control_socket_group.clone(),
        metrics_listen: cli.metrics_listen,
        pidfiles: watchdog::Pidfiles {
            parent: cli
                .pid_file
                .clone()
                .unwrap_or_else(|| PathBuf::from("/run/kad.pid")),
            vrrp: cli
                .vrrp_pid_file
                .clone()
                .unwrap_or_else(|| PathBuf::from("/run/kad_vrrp.pid")),
            checker: cli
                .checkers_pid_file
                .clone()
                .unwrap_or_else(|| PathBuf::from("/run/kad_checker.pid")),
        },
    };
    let parsed: Parsed = kad_core::config::parse_file(&config_path, &settings.parse_options());
    for line in parsed.rendered() {
        eprintln!("{line}");
    }
    let Some(mut config) = parsed.config else {
        eprintln!("kad: {} has errors; not starting", config_path.display());
        return Exit::Failure.code();
    };
    if let Some(pid) = pidfile::live_owner(&settings.pidfiles.parent) {
        eprintln!(
            "kad: already running with pid {pid} (pidfile {}); not starting a second one",
            settings.pidfiles.parent.display()
        );
        return Exit::Failure.code();
    }
    if !cli.dont_fork {
        if let Err(e) = sys::daemonize() {
            eprintln!("kad: cannot detach: {e}");
            return Exit::Failure.code();
        }
    }
    kad_core::logging::init("kad", settings.log.clone());
    sys::set_process_name("kad");
    sys::raise_open_file_ceiling(kad_check::executor::open_files_wanted(&config));
    // Taken out of the environment before any child or script starts.
    let notify = sdnotify::Notifier::from_env();
    if let Err(e) = pidfile::take(&settings.pidfiles.parent) {
        log::error!(
            "cannot take pidfile {}: {e}",
            settings.pidfiles.parent.display()
        );
        return Exit::Failure.code();
    }
    log::info!(
        "kad {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        config_path.display()
    );
    for w in apply_script_user(&mut config, &config_path, true) {
        log::warn!("{w}");
    }
    if cli.dump_conf {
        crate::check::log_config(&config);
    }
    let pidfiles = settings.pidfiles.clone();
    let status = match watchdog::Watchdog::new(settings, config, notify) {
        Ok(w) => w.run(),
        Err(e) => {
            log::error!("cannot set up the event loop: {e}");
            Exit::Failure.code()
        }
    };
    let me = std::process::id();
    pidfile::remove_if_ours(&pidfiles.parent, me);
    for p in [&pidfiles.vrrp, &pidfiles.checker] {
        let _ = std::fs::remove_file(p);
    }
    log::info!("kad stopped (exit status {status})");
    status
}

/// A child's life: title, logging, capabilities, configuration, pidfile, service loop.
pub fn run_child(cli: &Cli, kind: ChildKind) -> i32 {
    sys::set_process_name(kind.title());
    kad_core::logging::init(kind.ident(), log_options(cli));
    if let Err(e) = sys::set_parent_death_signal(libc::SIGTERM) {
        log::warn!("cannot set the parent-death signal: {e}");
    }
    if let Err(e) = sys::keep_only_capabilities(kind.capabilities()) {
        log::error!("cannot drop capabilities: {e}");
        return Exit::ChildFatal.code();
    }
    // SAFETY: the parent put our end of the socketpair on this descriptor before exec, and
    // nothing else in this process owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(watchdog::CHILD_IPC_FD) };
    // Nothing this child owns may reach a program it executes: the channel (dup2 cleared its
    // flag) and anything else inherited.
    if let Err(e) = kad_ipc::hygiene::cloexec_from(watchdog::CHILD_IPC_FD) {
        log::error!("cannot set close-on-exec on inherited descriptors: {e}");
        return Exit::ChildFatal.code();
    }
    // The notify FIFOs with an owner, which the parent opened for us.
    kad_ipc::fifo::adopt_inherited();
    let mut channel: Channel<ToChild, FromChild> =
        Channel::from_fd(fd).with_max_outgoing(kad_ipc::MAX_FROM_CHILD);
    let config = match channel.recv_timeout(Duration::from_secs(30)) {
        Ok(Some(ToChild::Reload(cfg))) => *cfg,
        Ok(other) => {
            log::error!("expected the configuration from the parent, got {other:?}");
            return Exit::ChildIpc.code();
        }
        Err(e) => {
            log::error!("no configuration from the parent: {e}");
            return Exit::ChildIpc.code();
        }
    };
    let mode = checker_mode(cli.vrrp_only, cli.check_only);
    if let Err(e) = confine(kind, &config, mode) {
        log::error!("{e}");
        return Exit::ChildFatal.code();
    }
    let pidfile = cli.child_pidfile.clone();
    if let Some(p) = &pidfile {
        if let Err(e) = pidfile::write(p, std::process::id()) {
            log::warn!("cannot write pidfile {}: {e}", p.display());
        }
    }
    log::info!("{} started", kind.label());
    let status = match kind {
        ChildKind::Vrrp => {
            let service = kad_vrrp::VrrpService::new(config, Default::default());
            kad_ipc::serve(channel, &mut settle::Settling::new(service))
        }
        ChildKind::Checker => {
            let service =
                kad_check::CheckService::new(config, PathBuf::from("/tmp/keepalived_check.data"))
                    .with_mode(mode)
                    .restarted_for_reload(cli.child_reload_restart);
            kad_ipc::serve(channel, &mut settle::Settling::new(service))
        }
    };
    if let Some(p) = &pidfile {
        pidfile::remove_if_ours(p, std::process::id());
    }
    status
}
