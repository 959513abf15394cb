//! An attempt's life: started when its timer is due, ended by a result, counted by the retry
//! rule (`crate::health`), and what that changes: the real server's state and weight, the
//! virtual server's quorum and destinations, with their log lines, notifies and mails.

use std::time::{Duration, Instant};

use kad_core::config::model::CheckKind;

use super::alerts::{self, fmt_vs, rs_name};
use super::effects::Effect;
use super::{scheduler, Engine, Running};
use crate::health::Verdict;
use crate::script::{split_command, Outcome, ScriptError};
use crate::table;

/// A MISC_CHECK refused because every script slot is taken is tried again after this long.
pub const BUSY_RETRY: Duration = Duration::from_millis(100);

impl Engine {
    /// Quorum from the initial states, first attempts spread over warmup (checkers a reload
    /// handed a timer or an attempt in flight keep it).
    pub(super) fn start(&mut self, now: Instant) {
        for v in 0..self.vs.len() {
            self.evaluate_vs(v);
        }
        let n = self.slots.len();
        for i in 0..n {
            let kept = self.timers.deadline(i).is_some()
                || self
                    .slots
                    .get(i)
                    .is_some_and(|s| s.running != Running::Idle);
            let Some(ck) = self.checker(i).filter(|_| !kept) else {
                continue;
            };
            let spread = ck.timing.warmup.unwrap_or(ck.timing.delay_loop);
            self.timers.set(i, scheduler::first_run(now, spread, i, n));
        }
    }

    /// Starts due attempts, times out late probes; a suspended virtual server's checks wait
    /// another `delay_loop`.
    pub(super) fn on_timer(&mut self, now: Instant) {
        while let Some(i) = self.timers.pop_due(now) {
            let Some(slot) = self.slots.get(i) else {
                continue;
            };
            let suspended = self.vs.get(slot.vs).is_some_and(|v| v.suspended);
            match slot.running {
                Running::Idle if suspended => {
                    if let Some(delay) = self.checker(i).map(|c| c.timing.delay_loop) {
                        self.timers.set(i, now + delay);
                    }
                }
                Running::Idle => self.begin(i, now),
                Running::Probe(_) => self.out.push(Effect::TimeOutProbe { checker: i }),
                Running::Script(_) => {} // the runner kills it at its timeout
            }
        }
    }

    /// Starts an attempt of checker `i`.
    fn begin(&mut self, i: usize, now: Instant) {
        let Some(ck) = self.checker(i) else {
            return;
        };
        let effect = match &ck.kind {
            CheckKind::Misc {
                script, timeout, ..
            } => Effect::StartScript {
                checker: i,
                script: (**script).clone(),
                argv: split_command(&script.command),
                timeout: timeout.unwrap_or(ck.timing.delay_loop),
            },
            kind => Effect::StartProbe {
                checker: i,
                kind: crate::dump::checker_name(kind),
                target: crate::probe::peer(&ck.target),
            },
        };
        let timeout = ck.timing.connect_timeout;
        if let Effect::StartProbe { .. } = effect {
            self.slots[i].running = Running::Probe(now);
            self.timers.set(i, now + timeout);
        } else {
            self.slots[i].running = Running::Script(now);
            self.timers.clear(i);
        }
        self.out.push(effect);
    }

    /// A MISC_CHECK could not start.
    pub(super) fn refused(&mut self, i: usize, error: ScriptError, now: Instant) {
        if error == ScriptError::Busy {
            // Every script slot is taken: not an attempt; tried again shortly.
            self.slots[i].running = Running::Idle;
            self.timers.set(i, now + BUSY_RETRY);
        } else {
            self.finish(i, Verdict::down(error.to_string()), now);
        }
    }

    /// A MISC_CHECK's exit: 0 is up; with `misc_dynamic`, 2..=255 is up at weight code − 2.
    pub(super) fn misc_verdict(&self, i: usize, outcome: Outcome) -> Verdict {
        let dynamic = matches!(
            self.checker(i).map(|c| &c.kind),
            Some(CheckKind::Misc { dynamic: true, .. })
        );
        let base = self
            .slots
            .get(i)
            .and_then(|s| {
                let rs = self
                    .config
                    .virtual_servers
                    .get(s.vs)?
                    .real_servers
                    .get(s.rs)?;
                Some(i64::from(rs.weight))
            })
            .unwrap_or(0);
        match outcome {
            Outcome::Exited(0) => Verdict::up("exit 0"),
            Outcome::Exited(code @ 2..=255) if dynamic => Verdict {
                ok: true,
                reason: format!("exit {code}: weight {}", code - 2).into(),
                weight_delta: Some(i64::from(code) - 2 - base),
            },
            Outcome::Exited(code) => Verdict::down(format!("exit {code}")),
            Outcome::Signaled(sig) => Verdict::down(format!("killed by signal {sig}")),
            Outcome::TimedOut => Verdict::down("timed out; its process group was killed"),
        }
    }

    /// An attempt ended: counts it, applies the rules, schedules the next.
    pub(super) fn finish(&mut self, i: usize, v: Verdict, now: Instant) {
        let config = self.config.clone();
        let slot = &mut self.slots[i];
        let started = match std::mem::replace(&mut slot.running, Running::Idle) {
            Running::Probe(t) | Running::Script(t) => Some(t),
            Running::Idle => None,
        };
        let st = &mut slot.stats;
        st.checks += 1;
        st.failures += u64::from(!v.ok);
        st.last_ok = Some(v.ok);
        let took = started
            .map(|t| now.saturating_duration_since(t))
            .unwrap_or_default();
        st.last_latency_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        slot.last_end = Some(now);
        let (changed, delay) = slot.health.record(v.ok);
        let (vi, ri, ci) = (slot.vs, slot.rs, slot.ck);
        if changed.is_some() {
            slot.stats.transitions += 1;
        }
        let vs = &config.virtual_servers[vi];
        let rs = &vs.real_servers[ri];
        let ck = &rs.checkers[ci];
        self.totals
            .record(crate::dump::checker_name(&ck.kind), v.ok, took);
        let what = || {
            format!(
                "{} on {}",
                crate::dump::checker_name(&ck.kind),
                rs_name(vs, rs)
            )
        };
        match changed {
            Some(true) => self
                .out
                .push(Effect::Log(format!("{} succeeded: {}", what(), v.reason))),
            Some(false) => self
                .out
                .push(Effect::Log(format!("{} failed: {}", what(), v.reason))),
            None if !v.ok && (ck.log_all_failures || slot.health.up) => {
                self.out.push(Effect::Log(format!(
                    "{} failed ({}), retry {} of {}",
                    what(),
                    v.reason,
                    slot.health.failures,
                    ck.timing.retry
                )))
            }
            None => {}
        }
        let up = slot.health.up;
        slot.stats.last_reason = v.reason;
        let server = &mut self.vs[vi].servers[ri];
        let was_alive = server.alive();
        let old_weight = server.weight();
        if let Some(c) = server.checkers_up.get_mut(ci) {
            *c = up;
        }
        if let (true, Some(d), Some(slot_delta)) = (v.ok, v.weight_delta, server.deltas.get_mut(ci))
        {
            *slot_delta = d;
        }
        let (alive, weight) = (server.alive(), server.weight());
        self.timers.set(i, now + delay);
        if alive != was_alive {
            let router = self.router().to_string();
            alerts::server_changed(&config, &router, vs, rs, alive, &mut self.out);
        }
        if alive && was_alive && weight != old_weight {
            self.out.push(Effect::Log(format!(
                "Changing weight from {old_weight} to {weight} for {} of VS {}",
                rs_name(vs, rs),
                fmt_vs(vs)
            )));
        }
        if alive != was_alive || weight != old_weight {
            self.evaluate_vs(vi);
        }
    }

    /// Recomputes a virtual server's quorum and destinations.
    pub(super) fn evaluate_vs(&mut self, vi: usize) {
        let config = self.config.clone();
        let Some(vs) = config.virtual_servers.get(vi) else {
            return;
        };
        let st = &mut self.vs[vi];
        let alive_weight = st.alive_weight();
        let change = st.quorum.update(alive_weight);
        let mut table = table::destinations(vs, &st.servers, st.quorum.up);
        self.apply_overrides(vi, &mut table);
        let st = &mut self.vs[vi];
        if table != st.table {
            st.table = table.clone();
            self.out.push(Effect::Destinations { vs: vi, table });
        }
        let Some(up) = change else {
            return;
        };
        let q = &st.quorum;
        let vname = fmt_vs(vs);
        self.out.push(Effect::Log(if up {
            format!(
                "Gained quorum {}+{}={} <= {alive_weight} for VS {vname}",
                q.quorum,
                q.hysteresis,
                q.quorum + q.hysteresis
            )
        } else {
            format!(
                "Lost quorum {}-{}={} > {alive_weight} for VS {vname}",
                q.quorum,
                q.hysteresis,
                q.quorum - q.hysteresis
            )
        }));
        let router = self.router().to_string();
        alerts::quorum_changed(&config, &router, vs, up, alive_weight, &mut self.out);
    }

    /// Graceful stop: forgets attempts; with `omega`, runs the down notifiers of what was up.
    pub(super) fn stop(&mut self) {
        for (i, s) in self.slots.iter_mut().enumerate() {
            s.running = Running::Idle;
            self.timers.clear(i);
        }
        let config = self.config.clone();
        for (vs, st) in config.virtual_servers.iter().zip(&self.vs) {
            if !vs.omega {
                continue;
            }
            for (rs, h) in vs.real_servers.iter().zip(&st.servers) {
                if let (true, Some(s)) = (h.alive(), rs.notify_down.as_deref()) {
                    self.out.push(alerts::notify(s));
                }
            }
            if let (true, Some(s)) = (st.quorum.up, vs.quorum_down.as_deref()) {
                self.out.push(alerts::notify(s));
            }
        }
    }
}
