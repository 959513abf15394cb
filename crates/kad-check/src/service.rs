//! The checker child's [`ChildService`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use kad_core::config::Config;
use kad_core::state::VrrpState;
use kad_ipc::mio::Registry;
use kad_ipc::status::Outcome;
use kad_ipc::{ChildService, FromChild, Routed, ToChild};

use crate::executor::{Alert, Checks};
use crate::fifo::CheckerFifos;
use crate::ipvs_sync::IpvsSync;
use crate::notify::Notifier;
use crate::smtp::{Mail, Sender};
use crate::vrrp_scripts::VrrpScripts;

/// How long a stopping checker lets queued notify scripts take their turns (the parent kills
/// a child that has not stopped after 5 s).
const NOTIFY_AT_STOP: std::time::Duration = std::time::Duration::from_secs(3);

/// What the checker child runs, from the daemon's command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Everything: health checks, IPVS, vrrp_scripts, notify scripts.
    #[default]
    Full,
    /// `-P`: only what the VRRP side needs, vrrp_scripts and VRRP notify scripts (and
    /// smtp_alert); no health check, no IPVS, no checker dumps.
    ScriptsOnly,
    /// `-C`: health checks and IPVS; no vrrp_script (no VRRP child needs one).
    ChecksOnly,
}

/// State of the checker child.
pub struct CheckService {
    mode: Mode,
    /// Shared with the engine: one copy of a large configuration, not two.
    config: Arc<Config>,
    /// Last reported state of each VRRP instance (drives notify scripts later).
    instances: BTreeMap<String, VrrpState>,
    dump_path: PathBuf,
    scripts: Option<VrrpScripts>,
    notifier: Notifier,
    smtp: Sender,
    outbox: Vec<FromChild>,
    engine: Checks,
    ipvs: IpvsSync,
    /// `smtp_server` resolved at load time.
    smtp_addr: Option<std::net::SocketAddr>,
    /// Notify FIFOs (LVS lines) and their scripts.
    fifos: CheckerFifos,
    /// The engine changed the IPVS table since it was last applied.
    table_dirty: bool,
}

impl CheckService {
    /// A service for `config`, dumping to `dump_path` (keepalived: /tmp/keepalived_check.data).
    pub fn new(config: Config, dump_path: PathBuf) -> Self {
        let config = Arc::new(config);
        CheckService {
            mode: Mode::Full,
            // The real engine is built at start(); an empty one until then.
            engine: Checks::default(),
            ipvs: IpvsSync::default(),
            smtp_addr: None,
            config,
            instances: BTreeMap::new(),
            dump_path,
            scripts: None,
            notifier: Notifier::default(),
            smtp: Sender::new(kad_ipc::FIRST_SERVICE_TOKEN),
            outbox: Vec::new(),
            table_dirty: false,
            fifos: CheckerFifos::default(),
        }
    }
}

impl CheckService {
    /// The same service running only what `mode` asks for.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The same service, started by the parent to replace a checker it restarted for a reload
    /// (`reload: true`): `lvs_flush` does not apply then.
    pub fn restarted_for_reload(mut self, reload: bool) -> Self {
        if reload {
            self.ipvs.skip_start_flush();
        }
        self
    }

    /// vrrp_scripts for the current configuration, if this mode runs them.
    fn new_scripts(&self) -> Option<VrrpScripts> {
        (self.mode != Mode::ChecksOnly).then(|| VrrpScripts::new(&self.config, Instant::now()))
    }

    /// smtp_alert for a VRRP state change, when [`vrrp_alert_wanted`] says so.
    fn alert(&mut self, name: &str, state: VrrpState, priority: u8) {
        if !vrrp_alert_wanted(&self.config, name, state) {
            return;
        }
        let router = self.config.global.router_id_or_host();
        self.mail(
            format!("[{router}] VRRP Instance {name} - Entering {state} state"),
            format!("kad on {router}: VRRP instance {name} is now {state} (priority {priority})."),
        );
    }

    /// Sends a mail to `notification_email` through `smtp_server` (if both are set).
    fn mail(&mut self, subject: String, body: String) {
        let g = &self.config.global;
        let Some(server) = g
            .smtp_server
            .as_ref()
            .filter(|_| !g.notification_email.is_empty())
        else {
            return;
        };
        let host = kad_core::config::default_config_id();
        let mail = Mail {
            helo: g.smtp_helo_name.clone().unwrap_or_else(|| host.clone()),
            from: g
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("kad@{host}")),
            to: g.notification_email.clone(),
            subject,
            body,
        };
        let Some(addr) = self.smtp_addr else {
            log::error!(
                "smtp_alert: smtp_server {} has no address; mail dropped",
                server.host
            );
            return;
        };
        self.smtp.send(addr, mail, g.smtp_connect_timeout);
    }

    /// Resolves `smtp_server` once, at load time (a name is looked up here, never while the
    /// loop runs).
    fn resolve_smtp(&mut self) {
        use std::net::ToSocketAddrs;
        self.smtp_addr = self.config.global.smtp_server.as_ref().and_then(|s| {
            match (s.host.as_str(), s.port).to_socket_addrs() {
                Ok(mut addrs) => addrs.next(),
                Err(e) => {
                    log::error!("smtp_server {}: {e}", s.host);
                    None
                }
            }
        });
    }

    /// Passes the engine's alerts to the SMTP client and its table changes to the kernel.
    fn send_alerts(&mut self) {
        for Alert { subject, body } in self.engine.take_alerts() {
            self.mail(subject, body);
        }
        self.fifos.write(self.engine.take_fifo_lines());
        self.table_dirty |= self.engine.take_table_changed();
    }

    /// Applies the IPVS table if anything changed it (or a setting waits): once per loop
    /// iteration however many checks changed it, since the desired table is rebuilt whole.
    fn apply_table(&mut self) {
        let changed = std::mem::take(&mut self.table_dirty);
        if (changed || self.ipvs.settings_pending())
            && self.ipvs.wanted()
            && (!self.config.virtual_servers.is_empty() || self.ipvs.available())
        {
            let want = crate::ipvs_sync::desired(&self.config, &self.engine.destinations());
            self.ipvs.sync(&want);
        }
    }

    /// Starts or stops the connection-sync daemons for the VRRP states known now
    /// (`lvs_sync_daemon`; not under -C, where no VRRP instance runs).
    fn sync_daemons(&mut self) {
        if self.mode == Mode::ChecksOnly {
            return;
        }
        if let Some(want) = crate::sync_daemon::wanted(&self.config, &self.instances) {
            self.ipvs.sync_daemons(&want);
        }
    }

    /// One step of the repair pass (kad extension: every `kad_lvs_repair_interval` and at
    /// SIGUSR1), after what the checks changed reached the kernel.
    fn repair_step(&mut self, now: Instant) {
        if self.mode == Mode::ScriptsOnly || !self.ipvs.repair_due(now) {
            return;
        }
        self.apply_table();
        let fresh = (!self.ipvs.knows_applied())
            .then(|| crate::ipvs_sync::desired(&self.config, &self.engine.destinations()));
        self.ipvs.repair_step(fresh.as_ref(), now);
    }

    /// Opens the notify FIFOs and starts their scripts for the sides this mode runs.
    fn start_fifos(&mut self) {
        let vrrp = self.mode != Mode::ChecksOnly;
        let lvs = self.mode != Mode::ScriptsOnly;
        self.fifos = CheckerFifos::start(&self.config, vrrp, lvs);
    }

    fn start_engine(&mut self) {
        self.resolve_smtp();
        if self.mode == Mode::ScriptsOnly {
            return;
        }
        crate::file_check::init_files(&self.config);
        self.engine.load(self.config.clone(), Instant::now());
        self.ipvs.configure(&self.config.global);
        // Give back to the system what decoding the config and the replaced engine freed.
        // SAFETY: malloc_trim only releases free heap memory; no pointer is invalidated.
        unsafe { libc::malloc_trim(0) };
        if !self.engine.is_empty() {
            log::info!("{} checker(s) scheduled", self.engine.len());
        }
        self.send_alerts();
    }
}

impl ChildService for CheckService {
    fn handle(&mut self, msg: ToChild) -> Vec<FromChild> {
        match msg {
            ToChild::Reload(cfg) => {
                let fifos_changed = cfg.global.fifos != self.config.global.fifos;
                self.config = Arc::new(*cfg);
                if fifos_changed {
                    self.fifos.stop();
                    self.start_fifos();
                }
                self.ipvs.retry_after_reload();
                self.start_engine();
                self.sync_daemons();
                if let Some(old) = self.scripts.take() {
                    self.scripts = self.new_scripts().map(|mut scripts| {
                        scripts.inherit(old);
                        scripts
                    });
                }
                log::info!(
                    "reloaded: {} virtual_server(s)",
                    self.config.virtual_servers.len()
                );
                vec![FromChild::Reloaded]
            }
            // keepalived -P has no checker process, so no checker dumps.
            ToChild::Dump | ToChild::DumpJson if self.mode == Mode::ScriptsOnly => vec![],
            ToChild::Dump => {
                self.ipvs.repair_now(Instant::now());
                let text =
                    crate::dump::data(&self.config, &self.engine.snapshot(), &self.instances);
                match kad_core::dumpfile::write_atomic(&self.dump_path, text.as_bytes()) {
                    Ok(()) => log::info!("wrote {}", self.dump_path.display()),
                    Err(e) => log::error!("cannot write {}: {e}", self.dump_path.display()),
                }
                vec![]
            }
            ToChild::Routed(Routed::InstanceState {
                name,
                state,
                priority,
            }) => {
                self.notifier.on_state(&self.config, &name, state, priority);
                self.alert(&name, state, priority);
                self.instances.insert(name, state);
                self.sync_daemons();
                vec![]
            }
            ToChild::InstanceStates(states) => {
                self.instances.extend(states);
                self.sync_daemons();
                vec![]
            }
            ToChild::Routed(Routed::MasterRxLowerPri { name }) => {
                self.notifier.on_master_rx_lower_pri(&self.config, &name);
                vec![]
            }
            ToChild::DumpJson => {
                let path = self.dump_path.with_extension("json");
                let text =
                    serde_json::to_string_pretty(&self.engine.snapshot()).unwrap_or_default();
                match kad_core::dumpfile::write_atomic(&path, text.as_bytes()) {
                    Ok(()) => log::info!("wrote {}", path.display()),
                    Err(e) => log::error!("cannot write {}: {e}", path.display()),
                }
                vec![]
            }
            ToChild::Status { id } => vec![FromChild::Status {
                id,
                status: kad_ipc::status::Status {
                    virtual_servers: self.engine.status(),
                    checks: self.engine.check_totals(),
                    ipvs: match self.ipvs.kernel() {
                        Some(k) => crate::ipvs_stats::collect(k, &self.config),
                        None => Vec::new(),
                    },
                    ..Default::default()
                },
            }],
            ToChild::Override { id, vs, rs, what } => {
                let outcome = match self.engine.set_override(&vs, &rs, what) {
                    Ok(()) => {
                        self.send_alerts();
                        Outcome::Done
                    }
                    Err(e) => Outcome::Refused(e),
                };
                vec![FromChild::Outcome { id, outcome }]
            }
            ToChild::Maintenance { id, .. } => vec![FromChild::Outcome {
                id,
                outcome: Outcome::Refused("the checker child has no VRRP instance".into()),
            }],
            ToChild::DumpStats
            | ToChild::DumpStatsClear
            | ToChild::Routed(Routed::ScriptStatus { .. })
            | ToChild::Shutdown => vec![],
        }
    }

    fn stop(&mut self) {
        self.engine.stop();
        self.ipvs.remove_all();
        self.notifier.finish(&self.config, NOTIFY_AT_STOP);
        self.fifos.write(self.engine.take_fifo_lines());
        self.fifos.stop();
        log::info!("checker child stopping");
    }

    fn start(&mut self, registry: Registry) {
        match registry.try_clone() {
            Ok(r) => self.engine.set_registry(r),
            Err(e) => log::error!("checkers cannot start: {e}"),
        }
        self.smtp.set_registry(registry);
        self.start_fifos();
        self.start_engine();
        self.sync_daemons();
        self.scripts = self.new_scripts();
        match self.mode {
            Mode::ScriptsOnly => log::info!("script-only mode (-P): no health check, no IPVS"),
            Mode::ChecksOnly => log::info!("checks-only mode (-C): no vrrp_script"),
            Mode::Full => {}
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let scripts = self.scripts.as_ref().and_then(VrrpScripts::next_deadline);
        [
            scripts,
            self.engine.next_deadline(),
            self.notifier.next_deadline(),
            self.fifos.next_deadline(),
            self.smtp.next_deadline(),
            self.ipvs.next_repair(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn ready(&mut self, token: kad_ipc::mio::Token, now: Instant) {
        if self.engine.owns(token) {
            self.engine.ready(token, now);
            self.send_alerts();
        } else if self.smtp.owns(token) {
            self.smtp.ready(token);
        }
    }

    fn on_timer(&mut self, now: Instant) {
        self.engine.on_timer(now);
        self.send_alerts();
        self.repair_step(now);
        self.notifier.on_timer(&self.config, now);
        self.fifos.on_timer(now);
        self.smtp.on_timer(now);
        if let Some(s) = self.scripts.as_mut() {
            for (name, ok) in s.on_timer(now) {
                log::info!(
                    "VRRP_Script({name}) {}",
                    if ok { "succeeded" } else { "failed" }
                );
                self.outbox
                    .push(FromChild::Routed(Routed::ScriptStatus { name, ok }));
            }
        }
    }

    fn end_of_iteration(&mut self) {
        self.apply_table();
    }

    fn outbox(&mut self) -> Vec<FromChild> {
        std::mem::take(&mut self.outbox)
    }
}

/// Whether instance `name` entering `state` is mailed: the instance's `smtp_alert`, else
/// `smtp_alert_vrrp`, else `smtp_alert`; never a FAULT under `no_email_faults`.
fn vrrp_alert_wanted(config: &Config, name: &str, state: VrrpState) -> bool {
    let g = &config.global;
    let Some(inst) = config.vrrp_instances.iter().find(|i| i.name == name) else {
        return false;
    };
    let wanted = inst
        .smtp_alert
        .or(g.smtp_alert_vrrp)
        .or(g.smtp_alert)
        .unwrap_or(false);
    wanted && !(state == VrrpState::Fault && g.no_email_faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let dir = std::env::temp_dir().join(format!("kad-alert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{}.conf", text.len()));
        std::fs::write(&path, text).expect("write config");
        let parsed =
            kad_core::config::parse_file(&path, &kad_core::config::ParseOptions::default());
        std::fs::remove_dir_all(&dir).ok();
        parsed.config.expect("config")
    }

    #[test]
    fn no_email_faults_keeps_fault_mails_back_and_nothing_else() {
        let inst = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n smtp_alert\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n";
        let plain = config(inst);
        let quiet = config(&format!("global_defs {{\n no_email_faults\n}}\n{inst}"));
        for state in [VrrpState::Master, VrrpState::Backup, VrrpState::Fault] {
            assert!(vrrp_alert_wanted(&plain, "VI_1", state), "{state}");
        }
        assert!(vrrp_alert_wanted(&quiet, "VI_1", VrrpState::Master));
        assert!(vrrp_alert_wanted(&quiet, "VI_1", VrrpState::Backup));
        assert!(!vrrp_alert_wanted(&quiet, "VI_1", VrrpState::Fault));
        assert!(!vrrp_alert_wanted(&quiet, "VI_2", VrrpState::Master));
    }
}
