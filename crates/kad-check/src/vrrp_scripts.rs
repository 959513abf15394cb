//! Runs the `vrrp_script`s that instances or sync groups track, every `interval`, through the
//! [`ScriptRunner`], and turns their exit codes into an up/down state with `rise` / `fall`
//! hysteresis. A state change is reported (to the VRRP child, via the parent). Scripts nobody
//! tracks are not run (keepalived's rule).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kad_core::config::model::{Config, VrrpScript};

use crate::script::{resolve_user, Outcome, RunAs, ScriptRunner};

/// How often finished scripts are reaped while any runs.
const REAP_EVERY: Duration = Duration::from_millis(20);

struct Tracked {
    cfg: VrrpScript,
    run_as: Option<RunAs>,
    next_run: Instant,
    pid: Option<u32>,
    rises: u32,
    falls: u32,
    /// `None` until the first result (unless `init_fail`).
    ok: Option<bool>,
}

/// The scheduler of the checker child's vrrp_scripts.
pub struct VrrpScripts {
    items: Vec<Tracked>,
    runner: ScriptRunner,
    secure: bool,
}

impl VrrpScripts {
    /// Schedules every tracked script of `config`, the first runs spread over one interval.
    pub fn new(config: &Config, now: Instant) -> VrrpScripts {
        let tracked: BTreeSet<&str> = config
            .vrrp_instances
            .iter()
            .flat_map(|i| &i.track_script)
            .chain(config.sync_groups.iter().flat_map(|g| &g.track_script))
            .map(|t| t.name.as_str())
            .collect();
        let g = &config.global;
        let count = tracked.len().max(1) as u32;
        let items = config
            .vrrp_scripts
            .iter()
            .filter(|s| tracked.contains(s.name.as_str()))
            .enumerate()
            .map(|(n, s)| {
                let user = s.script.user.as_deref().or(g.script_user.as_deref());
                let group = s.script.group.as_deref().or(g.script_group.as_deref());
                let run_as = match resolve_user(user, group, g.enable_script_security) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        log::error!("vrrp_script {}: {e}; it is treated as failing", s.name);
                        None
                    }
                };
                Tracked {
                    cfg: s.clone(),
                    run_as,
                    next_run: now + s.interval * n as u32 / count,
                    pid: None,
                    rises: 0,
                    falls: 0,
                    ok: s.init_fail.then_some(false),
                }
            })
            .collect();
        VrrpScripts {
            items,
            runner: ScriptRunner::default(),
            secure: g.enable_script_security,
        }
    }

    /// Takes over the scripts still running under `old` (the set a reload replaces): they are
    /// timed out and reaped here, their results ignored.
    pub fn inherit(&mut self, old: VrrpScripts) {
        self.runner.adopt(old.runner);
    }

    /// Current states known (for a replaying parent and for the dump).
    pub fn states(&self) -> Vec<(String, Option<bool>)> {
        self.items
            .iter()
            .map(|t| (t.cfg.name.clone(), t.ok))
            .collect()
    }

    /// When to call [`VrrpScripts::on_timer`] next.
    pub fn next_deadline(&self) -> Option<Instant> {
        let idle = self
            .items
            .iter()
            .filter(|t| t.pid.is_none())
            .map(|t| t.next_run)
            .min();
        let reap = self.runner.next_reap(REAP_EVERY);
        match (idle, reap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reaps finished scripts, starts due ones; returns the state changes `(name, ok)`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<(String, bool)> {
        let mut changes = Vec::new();
        for (pid, outcome) in self.runner.poll(now) {
            if let Some(t) = self.items.iter_mut().find(|t| t.pid == Some(pid)) {
                t.pid = None;
                let success = outcome == Outcome::Exited(0);
                if let Some(c) = record(t, success) {
                    changes.push(c);
                }
            }
        }
        for t in &mut self.items {
            if t.pid.is_some() || t.next_run > now {
                continue;
            }
            t.next_run = now + t.cfg.interval;
            let started = match t.run_as {
                Some(run_as) => {
                    self.runner
                        .start(&t.cfg.script.command, run_as, t.cfg.timeout, self.secure)
                }
                None => Err(crate::script::ScriptError::Empty),
            };
            match started {
                Ok(pid) => t.pid = Some(pid),
                // Every script slot is taken: not a result; tried again shortly.
                Err(crate::script::ScriptError::Busy) => t.next_run = now + REAP_EVERY * 5,
                Err(e) => {
                    log::warn!("vrrp_script {}: {e}", t.cfg.name);
                    if let Some(c) = record(t, false) {
                        changes.push(c);
                    }
                }
            }
        }
        changes
    }
}

/// Counts one result; a change once `rise` successes or `fall` failures are in a row.
fn record(t: &mut Tracked, success: bool) -> Option<(String, bool)> {
    if success {
        t.rises += 1;
        t.falls = 0;
        if t.ok != Some(true) && t.rises >= t.cfg.rise {
            t.ok = Some(true);
            return Some((t.cfg.name.clone(), true));
        }
    } else {
        t.falls += 1;
        t.rises = 0;
        if t.ok != Some(false) && t.falls >= t.cfg.fall {
            t.ok = Some(false);
            return Some((t.cfg.name.clone(), false));
        }
    }
    None
}
