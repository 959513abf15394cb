//! The VRRP child's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`): every state change
//! as keepalived 2.2.7's lines ([`kad_core::notify_fifo`]), never blocking the loop.

use kad_core::config::model::Config;
use kad_core::notify_fifo::VrrpLines;
use kad_ipc::fifo::FifoSet;

use crate::instance::State;

/// The open FIFOs and the sync-group bookkeeping of the lines.
#[derive(Debug, Default)]
pub(super) struct VrrpFifos {
    paths: Vec<String>,
    set: FifoSet,
    lines: VrrpLines,
}

/// The FIFO paths VRRP lines go to.
fn paths(config: &Config) -> Vec<String> {
    let f = &config.global.fifos;
    [&f.all.path, &f.vrrp.path]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

impl VrrpFifos {
    /// Opens (creating if missing) the FIFOs of `config`.
    pub(super) fn new(config: &Config) -> Self {
        let paths = paths(config);
        VrrpFifos {
            set: FifoSet::open(paths.iter().map(String::as_str)),
            paths,
            lines: VrrpLines::new(config),
        }
    }

    /// A new configuration: reopens the FIFOs if their paths changed.
    pub(super) fn reload(&mut self, config: &Config) {
        self.lines.reload(config);
        let new = paths(config);
        if new != self.paths {
            self.set.close();
            self.set = FifoSet::open(new.iter().map(String::as_str));
            self.paths = new;
        }
    }

    /// Writes the lines of one state change.
    pub(super) fn on_state(&mut self, name: &str, state: State, priority: u8) {
        if self.set.is_empty() {
            return;
        }
        let to: Vec<&str> = self.paths.iter().map(String::as_str).collect();
        for line in self.lines.on_state(name, state, priority) {
            self.set.write_to(&to, &line);
        }
    }

    /// Closes the FIFOs (removing those this child created).
    pub(super) fn close(&mut self) {
        self.set.close();
    }
}
