//! Notify scripts of VRRP instances, run by the checker child when the VRRP child reports a
//! state change (the VRRP child never forks): `notify_master`, `notify_backup`,
//! `notify_fault`, `notify_stop`, then `notify` with keepalived's four extra arguments
//! `INSTANCE <name> <STATE> <priority>`. Run as the script's user, else `script_user`, else
//! `keepalived_script`, else `nobody`; never waited for (reaped on timers).

use std::time::{Duration, Instant};

use kad_core::config::model::{Config, Notify, Script};

use crate::script::{split_command, start_configured, ScriptRunner};

/// keepalived does not time notify scripts out; kad stops one that runs longer than this.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often running notify scripts are reaped.
const REAP_EVERY: Duration = Duration::from_millis(50);

/// Runs notify scripts.
#[derive(Default)]
pub struct Notifier {
    runner: ScriptRunner,
    /// Last state of each instance, and the state each sync group was last notified for.
    instances: std::collections::HashMap<String, String>,
    groups: std::collections::HashMap<String, String>,
}

impl Notifier {
    /// A VRRP instance changed state: runs its scripts for that state, then its sync group's
    /// once every member of the group is in that state.
    pub fn on_state(&mut self, config: &Config, name: &str, state: &str, priority: u8) {
        let Some(inst) = config.vrrp_instances.iter().find(|i| i.name == name) else {
            return;
        };
        self.instances.insert(name.to_string(), state.to_string());
        let prio = priority.to_string();
        self.run_for(
            config,
            &inst.notify,
            state,
            &["INSTANCE", name, state, &prio],
        );
        for g in config
            .sync_groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
        {
            let all = g
                .members
                .iter()
                .all(|m| self.instances.get(m).map(String::as_str) == Some(state));
            if all && self.groups.get(&g.name).map(String::as_str) != Some(state) {
                self.groups.insert(g.name.clone(), state.to_string());
                log::info!("VRRP_Group({}) {state}", g.name);
                self.run_for(config, &g.notify, state, &["GROUP", &g.name, state]);
            }
        }
    }

    /// Runs the state's script of `n`, then `notify` with keepalived's extra arguments
    /// (`INSTANCE name STATE priority`, or `GROUP name STATE`).
    fn run_for(&mut self, config: &Config, n: &Notify, state: &str, extra: &[&str]) {
        let specific = match state {
            "MASTER" => n.master.as_ref(),
            "BACKUP" => n.backup.as_ref(),
            "FAULT" => n.fault.as_ref(),
            "STOP" => n.stop.as_ref(),
            _ => None,
        };
        if let Some(s) = specific {
            self.run(config, s, split_command(&s.command));
        }
        if let Some(s) = &n.any {
            let mut argv = split_command(&s.command);
            argv.extend(extra.iter().map(|a| a.to_string()));
            self.run(config, s, argv);
        }
    }

    fn run(&mut self, config: &Config, script: &Script, argv: Vec<String>) {
        let started = start_configured(
            &mut self.runner,
            &config.global,
            script,
            &argv,
            NOTIFY_TIMEOUT,
        );
        if let Err(e) = started {
            log::error!("notify script {}: {e}", script.command);
        }
    }

    /// While scripts run: when to reap them.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.runner.next_reap(REAP_EVERY)
    }

    /// Reaps finished notify scripts.
    pub fn on_timer(&mut self, now: Instant) {
        for (pid, outcome) in self.runner.poll(now) {
            log::debug!("notify script (pid {pid}) ended: {outcome:?}");
        }
    }
}
