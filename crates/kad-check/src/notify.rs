//! Notify scripts of VRRP instances, run by the checker child when the VRRP child reports a
//! state change (the VRRP child never forks): `notify_master`, `notify_backup`,
//! `notify_fault`, `notify_stop`, then `notify` with keepalived's four extra arguments
//! `INSTANCE <name> <STATE> <priority>`. Run as the script's user, else `script_user`, else
//! `keepalived_script` if it exists, else root (keepalived 2.2.7); never waited for (reaped on timers). The scripts of one
//! instance (or sync group) run one at a time, in the order of its state changes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use kad_core::config::model::{Config, Notify, Script};
use kad_core::state::VrrpState;

use crate::script::{split_command, start_configured, ScriptError, ScriptRunner};

/// keepalived does not time notify scripts out; kad stops one that runs longer than this.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often running notify scripts are reaped.
const REAP_EVERY: Duration = Duration::from_millis(50);
/// Notify scripts one instance (or group) may have waiting; past it the oldest is dropped
/// (logged): a flapping instance cannot queue without bound behind a slow script.
const QUEUE_LIMIT: usize = 64;

/// A notify script waiting its turn.
struct Queued {
    script: Script,
    argv: Vec<String>,
}

impl Queued {
    /// Starts it under `runner` (its own user, else the configured default).
    fn start(&self, runner: &mut ScriptRunner, config: &Config) -> Result<u32, ScriptError> {
        start_configured(
            runner,
            &config.global,
            &self.script,
            &self.argv,
            NOTIFY_TIMEOUT,
        )
    }
}

/// Runs notify scripts: those of one instance (or sync group) one at a time, in the order of
/// the state changes; different instances in parallel.
#[derive(Default)]
pub struct Notifier {
    runner: ScriptRunner,
    /// Last state of each instance, and the state each sync group was last notified for.
    instances: HashMap<String, VrrpState>,
    groups: HashMap<String, VrrpState>,
    /// Scripts waiting, per instance or group (`INSTANCE name` / `GROUP name`).
    queues: HashMap<String, VecDeque<Queued>>,
    /// The queue whose script runs under each pid.
    running: HashMap<u32, String>,
    /// When to try again after every script slot was taken.
    retry_at: Option<Instant>,
}

impl Notifier {
    /// A VRRP instance changed state: queues its scripts for that state, then its sync group's
    /// once every member of the group is in that state, and starts what may start.
    pub fn on_state(&mut self, config: &Config, name: &str, state: VrrpState, priority: u8) {
        let Some(inst) = config.vrrp_instances.iter().find(|i| i.name == name) else {
            return;
        };
        self.instances.insert(name.to_string(), state);
        let prio = priority.to_string();
        self.queue_for(
            &format!("INSTANCE {name}"),
            &inst.notify,
            state,
            &["INSTANCE", name, state.name(), &prio],
        );
        for g in config
            .sync_groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
        {
            let all = g
                .members
                .iter()
                .all(|m| self.instances.get(m) == Some(&state));
            if all && self.groups.get(&g.name) != Some(&state) {
                self.groups.insert(g.name.clone(), state);
                log::info!("VRRP_Group({}) {state}", g.name);
                self.queue_for(
                    &format!("GROUP {}", g.name),
                    &g.notify,
                    state,
                    &["GROUP", &g.name, state.name()],
                );
            }
        }
        self.pump(config, Instant::now());
    }

    /// A MASTER heard a lower priority: queues the instance's `notify_master_rx_lower_pri`
    /// (no extra argument) behind its other scripts.
    pub fn on_master_rx_lower_pri(&mut self, config: &Config, name: &str) {
        let Some(s) = config
            .vrrp_instances
            .iter()
            .find(|i| i.name == name)
            .and_then(|i| i.notify.master_rx_lower_pri.as_ref())
        else {
            return;
        };
        let job = Queued {
            script: s.clone(),
            argv: split_command(&s.command),
        };
        self.enqueue(&format!("INSTANCE {name}"), vec![job]);
        self.pump(config, Instant::now());
    }

    /// Queues the state's script of `n`, then `notify` with keepalived's extra arguments
    /// (`INSTANCE name STATE priority`, or `GROUP name STATE`).
    fn queue_for(&mut self, key: &str, n: &Notify, state: VrrpState, extra: &[&str]) {
        let specific = match state {
            VrrpState::Master => n.master.as_ref(),
            VrrpState::Backup => n.backup.as_ref(),
            VrrpState::Fault => n.fault.as_ref(),
            VrrpState::Stop => n.stop.as_ref(),
            VrrpState::Init => None,
        };
        let mut jobs = Vec::new();
        if let Some(s) = specific {
            jobs.push(Queued {
                script: s.clone(),
                argv: split_command(&s.command),
            });
        }
        if let Some(s) = &n.any {
            let mut argv = split_command(&s.command);
            argv.extend(extra.iter().map(|a| a.to_string()));
            jobs.push(Queued {
                script: s.clone(),
                argv,
            });
        }
        self.enqueue(key, jobs);
    }

    /// Appends `jobs` to queue `key`, dropping the oldest past [`QUEUE_LIMIT`].
    fn enqueue(&mut self, key: &str, jobs: Vec<Queued>) {
        if jobs.is_empty() {
            return;
        }
        let queue = self.queues.entry(key.to_string()).or_default();
        for job in jobs {
            if queue.len() >= QUEUE_LIMIT {
                if let Some(old) = queue.pop_front() {
                    log::warn!(
                        "{key}: {QUEUE_LIMIT} notify scripts waiting; dropped {}",
                        old.script.command
                    );
                }
            }
            queue.push_back(job);
        }
    }

    /// Starts the head of every queue whose previous script has ended.
    fn pump(&mut self, config: &Config, now: Instant) {
        self.retry_at = None;
        let idle: Vec<String> = self
            .queues
            .keys()
            .filter(|k| !self.running.values().any(|r| r == *k))
            .cloned()
            .collect();
        for key in idle {
            let Some(queue) = self.queues.get_mut(&key) else {
                continue;
            };
            while let Some(job) = queue.front() {
                match job.start(&mut self.runner, config) {
                    Ok(pid) => {
                        queue.pop_front();
                        self.running.insert(pid, key.clone());
                        break;
                    }
                    // Every script slot is taken: it stays at the head and is tried again.
                    Err(ScriptError::Busy) => {
                        self.retry_at = Some(now + REAP_EVERY);
                        break;
                    }
                    Err(e) => {
                        log::error!("notify script {}: {e}", job.script.command);
                        queue.pop_front();
                    }
                }
            }
            if queue.is_empty() {
                self.queues.remove(&key);
            }
        }
    }

    /// While scripts run or wait: when to call [`Notifier::on_timer`].
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.runner.next_reap(REAP_EVERY), self.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// At stop: lets the queues run out in order, waiting at most `within` (the parent kills a
    /// child that takes 5 s to stop); what still waits then is started at once. Scripts are
    /// left running when the child exits, as keepalived leaves its notify_stop scripts.
    pub fn finish(&mut self, config: &Config, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.queues.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            self.on_timer(config, Instant::now());
        }
        for (key, queue) in std::mem::take(&mut self.queues) {
            for job in queue {
                log::warn!(
                    "{key}: starting {} without waiting its turn (stopping)",
                    job.script.command
                );
                if let Err(e) = job.start(&mut self.runner, config) {
                    log::error!("notify script {}: {e}", job.script.command);
                }
            }
        }
    }

    /// Reaps finished notify scripts and starts the next of their queues.
    pub fn on_timer(&mut self, config: &Config, now: Instant) {
        for (pid, outcome) in self.runner.poll(now) {
            self.running.remove(&pid);
            log::debug!("notify script (pid {pid}) ended: {outcome:?}");
        }
        self.pump(config, now);
    }
}
