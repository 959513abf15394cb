//! The VRRP child's [`ChildService`]: configuration, reloads, script results, dumps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kad_core::config::Config;
use kad_ipc::{ChildService, FromChild, ToChild};

use crate::dump;

/// Where the VRRP child writes its dumps (keepalived's paths).
#[derive(Debug, Clone)]
pub struct DumpPaths {
    /// SIGUSR1: state dump.
    pub data: PathBuf,
    /// SIGUSR2: statistics.
    pub stats: PathBuf,
    /// SIGRTMIN+2: JSON.
    pub json: PathBuf,
}

impl Default for DumpPaths {
    fn default() -> Self {
        DumpPaths {
            data: PathBuf::from("/tmp/keepalived.data"),
            stats: PathBuf::from("/tmp/keepalived.stats"),
            json: PathBuf::from("/tmp/keepalived.json"),
        }
    }
}

/// State of the VRRP child.
pub struct VrrpService {
    config: Config,
    /// Last known result of each vrrp_script (kept across checker restarts).
    scripts: BTreeMap<String, bool>,
    paths: DumpPaths,
}

impl VrrpService {
    /// A service for `config`, dumping to `paths`.
    pub fn new(config: Config, paths: DumpPaths) -> Self {
        VrrpService {
            config,
            scripts: BTreeMap::new(),
            paths,
        }
    }

    fn write(&self, path: &std::path::Path, text: String) {
        if let Err(e) = kad_core::dumpfile::write_atomic(path, text.as_bytes()) {
            log::error!("cannot write {}: {e}", path.display());
        } else {
            log::info!("wrote {}", path.display());
        }
    }
}

impl ChildService for VrrpService {
    fn handle(&mut self, msg: ToChild) -> Vec<FromChild> {
        match msg {
            ToChild::Reload(cfg) => {
                self.config = *cfg;
                log::info!(
                    "reloaded: {} vrrp_instance(s)",
                    self.config.vrrp_instances.len()
                );
                vec![FromChild::Reloaded]
            }
            ToChild::Dump => {
                self.write(&self.paths.data, dump::data(&self.config, &self.scripts));
                vec![]
            }
            ToChild::DumpStats => {
                self.write(&self.paths.stats, dump::stats(&self.config));
                vec![]
            }
            ToChild::DumpJson => {
                self.write(&self.paths.json, dump::json(&self.config));
                vec![]
            }
            ToChild::ScriptStatus { name, ok } => {
                self.scripts.insert(name, ok);
                vec![]
            }
            ToChild::InstanceState { .. } | ToChild::Shutdown => vec![],
        }
    }

    fn stop(&mut self) {
        log::info!("VRRP child stopping");
    }
}
