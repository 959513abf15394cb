//! The checker child's notify FIFOs: LVS lines (`RS … UP`, `VS … DOWN`) to `lvs_notify_fifo`
//! and `notify_fifo`, and the `*_notify_fifo_script`s, each started once with its FIFO's path
//! as last argument (the FIFO is created first) and sent SIGTERM at stop, as keepalived does.

use std::time::{Duration, Instant};

use kad_core::config::model::{Config, NotifyFifo};
use kad_ipc::fifo::{ensure, FifoSet};

use crate::script::{split_command, start_configured, ScriptRunner};

/// A FIFO script is a long-lived reader: it is not timed out (ten years).
const NO_TIMEOUT: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How often ended FIFO scripts are reaped.
const REAP_EVERY: Duration = Duration::from_millis(500);

/// The open LVS FIFOs and the FIFO scripts started.
#[derive(Default)]
pub struct CheckerFifos {
    paths: Vec<String>,
    set: FifoSet,
    runner: ScriptRunner,
    pids: Vec<u32>,
}

impl CheckerFifos {
    /// Opens the LVS FIFOs (when `lvs`) and starts the scripts of the FIFOs whose side runs
    /// here: `vrrp_notify_fifo_script` when `vrrp`, `lvs_notify_fifo_script` when `lvs`,
    /// `notify_fifo_script` always.
    pub fn start(config: &Config, vrrp: bool, lvs: bool) -> Self {
        let f = &config.global.fifos;
        let paths: Vec<String> = if lvs {
            [&f.all.path, &f.lvs.path]
                .into_iter()
                .flatten()
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let mut me = CheckerFifos {
            set: FifoSet::open(paths.iter().map(String::as_str)),
            paths,
            ..Default::default()
        };
        for (fifo, wanted) in [(&f.all, true), (&f.vrrp, vrrp), (&f.lvs, lvs)] {
            if wanted {
                me.start_script(config, fifo);
            }
        }
        me
    }

    fn start_script(&mut self, config: &Config, fifo: &NotifyFifo) {
        let (Some(path), Some(script)) = (&fifo.path, &fifo.script) else {
            return;
        };
        if let Err(e) = ensure(std::path::Path::new(path)) {
            log::error!("notify FIFO {path}: {e}");
            return;
        }
        let mut argv = split_command(&script.command);
        argv.push(path.clone());
        match start_configured(&mut self.runner, &config.global, script, &argv, NO_TIMEOUT) {
            Ok(pid) => self.pids.push(pid),
            Err(e) => log::error!("notify FIFO script {}: {e}", script.command),
        }
    }

    /// Writes LVS lines to every LVS FIFO.
    pub fn write(&mut self, lines: Vec<String>) {
        let to: Vec<&str> = self.paths.iter().map(String::as_str).collect();
        for line in lines {
            self.set.write_to(&to, &line);
        }
    }

    /// When ended scripts are next reaped.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.runner.next_reap(REAP_EVERY)
    }

    /// Reaps FIFO scripts that ended (logged: keepalived does not restart them either).
    pub fn on_timer(&mut self, now: Instant) {
        for (pid, outcome) in self.runner.poll(now) {
            self.pids.retain(|p| *p != pid);
            log::warn!("notify FIFO script (pid {pid}) ended: {outcome:?}");
        }
    }

    /// Stop: SIGTERM to the scripts' process groups, then the FIFOs are closed (those
    /// created here removed).
    pub fn stop(&mut self) {
        for pid in self.pids.drain(..) {
            if let Ok(p) = i32::try_from(pid) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
        self.set.close();
    }
}
