//! A reload keeps what is known: checkers found in both configurations (same virtual server,
//! real server, checker position, kind and target) keep their state, counters and dynamic
//! weight; virtual servers found in both keep their quorum state, `ha_suspend` state and
//! destinations (keepalived's rule), so an unchanged virtual server emits no table change.
//! A checker whose settings are all unchanged also keeps its schedule and its attempt in
//! flight: the executor hands the probe or script on ([`Engine::take_moved`]), so a reload
//! neither delays nor repeats its checks. Other attempts in flight are forgotten (the executor
//! drops them).

use std::collections::HashMap;

use super::alerts::{fmt_vs, rs_name};
use super::{Engine, Running, Slot};

/// What identifies a checker across configurations.
fn key(e: &Engine, s: &Slot) -> Option<String> {
    let vs = e.config.virtual_servers.get(s.vs)?;
    let rs = vs.real_servers.get(s.rs)?;
    let ck = rs.checkers.get(s.ck)?;
    Some(format!(
        "{} {} {} {} {:?}",
        fmt_vs(vs),
        rs_name(vs, rs),
        s.ck,
        crate::dump::checker_name(&ck.kind),
        ck.target
    ))
}

impl Engine {
    /// Takes over the states of `old` that this configuration still has. Call before
    /// scheduling ([`super::Event::Start`]): checkers given a timer here keep it.
    pub(super) fn inherit(&mut self, old: &Engine) {
        self.inherit_overrides(old);
        self.totals = old.totals.clone();
        self.moved.clear();
        let known: HashMap<String, usize> = old
            .slots
            .iter()
            .enumerate()
            .filter_map(|(j, s)| Some((key(old, s)?, j)))
            .collect();
        for i in 0..self.slots.len() {
            let Some(j) = key(self, &self.slots[i]).and_then(|k| known.get(&k).copied()) else {
                continue;
            };
            let was = &old.slots[j];
            let delta = old
                .vs
                .get(was.vs)
                .and_then(|v| v.servers.get(was.rs))
                .and_then(|s| s.deltas.get(was.ck).copied())
                .unwrap_or(0);
            let same = self.checker(i).is_some() && self.checker(i) == old.checker(j);
            let slot = &mut self.slots[i];
            slot.health.up = was.health.up;
            slot.stats = was.stats.clone();
            slot.last_end = was.last_end;
            if same {
                // Same settings: the same retry round, the same timer, the same attempt.
                slot.health.failures = was.health.failures;
                slot.running = was.running;
                if let Some(at) = old.timers.deadline(j) {
                    self.timers.set(i, at);
                }
                if was.running != Running::Idle {
                    self.moved.push((j, i));
                }
            }
            let Some(server) = self
                .vs
                .get_mut(slot.vs)
                .and_then(|v| v.servers.get_mut(slot.rs))
            else {
                continue;
            };
            if let Some(up) = server.checkers_up.get_mut(slot.ck) {
                *up = was.health.up;
            }
            if let Some(d) = server.deltas.get_mut(slot.ck) {
                *d = delta;
            }
        }
        let by_name: HashMap<String, usize> = old
            .config
            .virtual_servers
            .iter()
            .enumerate()
            .map(|(v, vs)| (fmt_vs(vs), v))
            .collect();
        for (vs, st) in self.config.virtual_servers.iter().zip(&mut self.vs) {
            let Some(was) = by_name.get(&fmt_vs(vs)).and_then(|&v| old.vs.get(v)) else {
                continue;
            };
            st.quorum.up = was.quorum.up;
            st.suspended = was.suspended;
            st.table = was.table.clone();
        }
    }

    /// The attempts in flight a reload handed on, as (old checker, new checker); the
    /// executor moves their probes and scripts to the new index. Empty after the call.
    pub fn take_moved(&mut self) -> Vec<(usize, usize)> {
        std::mem::take(&mut self.moved)
    }
}
