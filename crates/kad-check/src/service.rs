//! The checker child's [`ChildService`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use kad_core::config::Config;
use kad_ipc::mio::Registry;
use kad_ipc::{ChildService, FromChild, ToChild};

use crate::notify::Notifier;
use crate::vrrp_scripts::VrrpScripts;

/// State of the checker child.
pub struct CheckService {
    config: Config,
    /// Last reported state of each VRRP instance (drives notify scripts later).
    instances: BTreeMap<String, String>,
    dump_path: PathBuf,
    scripts: Option<VrrpScripts>,
    notifier: Notifier,
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
            outbox: Vec::new(),
        }
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
            ToChild::InstanceState {
                name,
                state,
                priority,
            } => {
                self.notifier
                    .on_state(&self.config, &name, &state, priority);
                self.instances.insert(name, state);
                vec![]
            }
            ToChild::DumpStats
            | ToChild::DumpJson
            | ToChild::ScriptStatus { .. }
            | ToChild::Shutdown => vec![],
        }
    }

    fn stop(&mut self) {
        log::info!("checker child stopping");
    }

    fn start(&mut self, _registry: Registry) {
        self.scripts = Some(VrrpScripts::new(&self.config, Instant::now()));
    }

    fn next_deadline(&self) -> Option<Instant> {
        let scripts = self.scripts.as_ref().and_then(VrrpScripts::next_deadline);
        match (scripts, self.notifier.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_timer(&mut self, now: Instant) {
        self.notifier.on_timer(now);
        if let Some(s) = self.scripts.as_mut() {
            for (name, ok) in s.on_timer(now) {
                log::info!(
                    "VRRP_Script({name}) {}",
                    if ok { "succeeded" } else { "failed" }
                );
                self.outbox.push(FromChild::ScriptStatus { name, ok });
            }
        }
    }

    fn outbox(&mut self) -> Vec<FromChild> {
        std::mem::take(&mut self.outbox)
    }
}
