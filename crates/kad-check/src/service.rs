//! The checker child's [`ChildService`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use kad_core::config::Config;
use kad_ipc::{ChildService, FromChild, ToChild};

/// State of the checker child.
pub struct CheckService {
    config: Config,
    /// Last reported state of each VRRP instance (drives notify scripts later).
    instances: BTreeMap<String, String>,
    dump_path: PathBuf,
}

impl CheckService {
    /// A service for `config`, dumping to `dump_path` (keepalived: /tmp/keepalived_check.data).
    pub fn new(config: Config, dump_path: PathBuf) -> Self {
        CheckService {
            config,
            instances: BTreeMap::new(),
            dump_path,
        }
    }
}

impl ChildService for CheckService {
    fn handle(&mut self, msg: ToChild) -> Vec<FromChild> {
        match msg {
            ToChild::Reload(cfg) => {
                self.config = *cfg;
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
            ToChild::InstanceState { name, state } => {
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
}
