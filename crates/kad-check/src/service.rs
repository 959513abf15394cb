//! The checker child's [`ChildService`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use kad_core::config::Config;
use kad_ipc::mio::Registry;
use kad_ipc::{ChildService, FromChild, Routed, ToChild};

use crate::notify::Notifier;
use crate::smtp::{Mail, Sender};
use crate::vrrp_scripts::VrrpScripts;

/// State of the checker child.
pub struct CheckService {
    config: Config,
    /// Last reported state of each VRRP instance (drives notify scripts later).
    instances: BTreeMap<String, String>,
    dump_path: PathBuf,
    scripts: Option<VrrpScripts>,
    notifier: Notifier,
    smtp: Sender,
    outbox: Vec<FromChild>,
}

impl CheckService {
    /// A service for `config`, dumping to `dump_path` (keepalived: /tmp/keepalived_check.data).
    pub fn new(config: Config, dump_path: PathBuf) -> Self {
        CheckService {
            config,
            instances: BTreeMap::new(),
            dump_path,
            scripts: None,
            notifier: Notifier::default(),
            smtp: Sender::new(kad_ipc::FIRST_SERVICE_TOKEN),
            outbox: Vec::new(),
        }
    }
}

impl CheckService {
    /// smtp_alert for a VRRP state change (instance setting, else smtp_alert_vrrp, else smtp_alert).
    fn alert(&mut self, name: &str, state: &str, priority: u8) {
        let g = &self.config.global;
        let Some(inst) = self.config.vrrp_instances.iter().find(|i| i.name == name) else {
            return;
        };
        let wanted = inst
            .smtp_alert
            .or(g.smtp_alert_vrrp)
            .or(g.smtp_alert)
            .unwrap_or(false);
        let Some(server) = g
            .smtp_server
            .as_ref()
            .filter(|_| wanted && !g.notification_email.is_empty())
        else {
            return;
        };
        let host = kad_core::config::default_config_id();
        let router = g.router_id.clone().unwrap_or_else(|| host.clone());
        let mail = Mail {
            helo: g.smtp_helo_name.clone().unwrap_or_else(|| host.clone()),
            from: g
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("kad@{host}")),
            to: g.notification_email.clone(),
            subject: format!("[{router}] VRRP Instance {name} - Entering {state} state"),
            body: format!(
                "kad on {router}: VRRP instance {name} is now {state} (priority {priority})."
            ),
        };
        self.smtp
            .send(&server.host, server.port, mail, g.smtp_connect_timeout);
    }
}

impl ChildService for CheckService {
    fn handle(&mut self, msg: ToChild) -> Vec<FromChild> {
        match msg {
            ToChild::Reload(cfg) => {
                self.config = *cfg;
                if self.scripts.is_some() {
                    self.scripts = Some(VrrpScripts::new(&self.config, Instant::now()));
                }
                log::info!(
                    "reloaded: {} virtual_server(s)",
                    self.config.virtual_servers.len()
                );
                vec![FromChild::Reloaded]
            }
            ToChild::Dump => {
                let text = crate::dump::data(&self.config, &self.instances);
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
                self.notifier
                    .on_state(&self.config, &name, &state, priority);
                self.alert(&name, &state, priority);
                self.instances.insert(name, state);
                vec![]
            }
            ToChild::DumpStats
            | ToChild::DumpJson
            | ToChild::Routed(Routed::ScriptStatus { .. })
            | ToChild::Shutdown => vec![],
        }
    }

    fn stop(&mut self) {
        log::info!("checker child stopping");
    }

    fn start(&mut self, registry: Registry) {
        self.smtp.set_registry(registry);
        self.scripts = Some(VrrpScripts::new(&self.config, Instant::now()));
    }

    fn next_deadline(&self) -> Option<Instant> {
        let scripts = self.scripts.as_ref().and_then(VrrpScripts::next_deadline);
        [
            scripts,
            self.notifier.next_deadline(),
            self.smtp.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn ready(&mut self, token: kad_ipc::mio::Token, _now: Instant) {
        if self.smtp.owns(token) {
            self.smtp.ready(token);
        }
    }

    fn on_timer(&mut self, now: Instant) {
        self.notifier.on_timer(now);
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

    fn outbox(&mut self) -> Vec<FromChild> {
        std::mem::take(&mut self.outbox)
    }
}
