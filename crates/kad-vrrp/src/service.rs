//! The VRRP child's [`ChildService`]: configuration, reloads, script results, dumps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::time::Instant;

use kad_core::config::Config;
use kad_ipc::mio::{Registry, Token};
use kad_ipc::status::Outcome;
use kad_ipc::{ChildService, FromChild, Routed, ToChild, FIRST_SERVICE_TOKEN};

use crate::dump;
use crate::executor::Executor;

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
    /// The mio registry until the executor takes it.
    registry: Option<Registry>,
    exec: Option<Executor>,
}

impl VrrpService {
    /// A service for `config`, dumping to `paths`.
    pub fn new(config: Config, paths: DumpPaths) -> Self {
        VrrpService {
            config,
            scripts: BTreeMap::new(),
            paths,
            registry: None,
            exec: None,
        }
    }

    /// Builds and starts the engine for the current configuration.
    fn start_engine(&mut self) {
        if let Some(registry) = self.registry.take() {
            let exec = Executor::new(&self.config, registry, FIRST_SERVICE_TOKEN, Instant::now());
            self.exec = Some(exec);
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
                match self.exec.as_mut() {
                    Some(exec) => exec.reload(&self.config, Instant::now()),
                    None => self.start_engine(),
                }
                log::info!(
                    "reloaded: {} vrrp_instance(s)",
                    self.config.vrrp_instances.len()
                );
                vec![FromChild::Reloaded]
            }
            ToChild::Dump => {
                self.write(
                    &self.paths.data,
                    dump::data(
                        &self.config,
                        &self.scripts,
                        self.exec.as_ref().map(Executor::engine),
                    ),
                );
                vec![]
            }
            ToChild::DumpStats => {
                self.write(
                    &self.paths.stats,
                    dump::stats(&self.config, self.exec.as_ref().map(Executor::engine)),
                );
                vec![]
            }
            ToChild::DumpStatsClear => {
                self.write(
                    &self.paths.stats,
                    dump::stats(&self.config, self.exec.as_ref().map(Executor::engine)),
                );
                if let Some(e) = self.exec.as_mut() {
                    e.clear_stats();
                }
                log::info!("VRRP statistics cleared");
                vec![]
            }
            ToChild::DumpJson => {
                self.write(
                    &self.paths.json,
                    dump::json(&self.config, self.exec.as_ref().map(Executor::engine)),
                );
                vec![]
            }
            ToChild::Routed(Routed::ScriptStatus { name, ok }) => {
                if let Some(e) = self.exec.as_mut() {
                    e.script_status(&name, ok, Instant::now());
                }
                self.scripts.insert(name, ok);
                vec![]
            }
            ToChild::Status { id } => {
                let vrrp =
                    crate::status::vrrp(&self.config, self.exec.as_ref().map(Executor::engine));
                vec![FromChild::Status {
                    id,
                    status: kad_ipc::status::Status {
                        vrrp,
                        vrrp_drops: crate::status::drops(self.exec.as_ref().map(Executor::engine)),
                        ..Default::default()
                    },
                }]
            }
            ToChild::Maintenance { id, instance, on } => {
                let known = self
                    .config
                    .vrrp_instances
                    .iter()
                    .any(|i| i.name == instance);
                let outcome = match self.exec.as_mut() {
                    Some(e) if known => {
                        e.maintenance(&instance, on, Instant::now());
                        Outcome::Done
                    }
                    _ => Outcome::Refused(format!("no vrrp_instance {instance}")),
                };
                vec![FromChild::Outcome { id, outcome }]
            }
            ToChild::Override { id, .. } => vec![FromChild::Outcome {
                id,
                outcome: Outcome::Refused("the VRRP child has no real servers".into()),
            }],
            ToChild::Routed(Routed::InstanceState { .. } | Routed::MasterRxLowerPri { .. })
            | ToChild::InstanceStates(_)
            | ToChild::Shutdown => vec![],
        }
    }

    fn stop(&mut self) {
        log::info!("VRRP child stopping");
        if let Some(exec) = self.exec.as_mut() {
            exec.shutdown(Instant::now());
        }
    }

    fn start(&mut self, registry: Registry) {
        self.registry = Some(registry);
        self.start_engine();
    }

    fn ready(&mut self, token: Token, now: Instant) {
        if let Some(e) = self.exec.as_mut() {
            e.ready(token, now);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.exec.as_ref().and_then(Executor::next_deadline)
    }

    fn on_timer(&mut self, now: Instant) {
        if let Some(e) = self.exec.as_mut() {
            e.on_timer(now);
        }
    }

    fn end_of_iteration(&mut self) {}

    fn outbox(&mut self) -> Vec<FromChild> {
        let Some(e) = self.exec.as_mut() else {
            return Vec::new();
        };
        let lower = e
            .take_lower_pri()
            .into_iter()
            .map(|name| FromChild::Routed(Routed::MasterRxLowerPri { name }));
        e.take_changes()
            .into_iter()
            .map(|(name, state, priority)| {
                FromChild::Routed(Routed::InstanceState {
                    name,
                    state,
                    priority,
                })
            })
            .chain(lower)
            .collect()
    }
}
