//! A reload keeps what is known: checkers found in both configurations (same virtual server,
//! real server, checker position, kind and target) keep their state, counters and dynamic
//! weight; virtual servers found in both keep their quorum state (keepalived's rule).
//! Attempts in flight under the old configuration are forgotten (the executor drops them).

use std::collections::HashMap;

use super::alerts::{fmt_vs, rs_name};
use super::{Engine, Slot};

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
    /// scheduling ([`super::Event::Start`]).
    pub(super) fn inherit(&mut self, old: &Engine) {
        self.inherit_overrides(old);
        self.totals = old.totals.clone();
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
            let slot = &mut self.slots[i];
            slot.health.up = was.health.up;
            slot.stats = was.stats.clone();
            slot.last_end = was.last_end;
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
        let quorum: HashMap<String, bool> = old
            .config
            .virtual_servers
            .iter()
            .zip(&old.vs)
            .map(|(vs, st)| (fmt_vs(vs), st.quorum.up))
            .collect();
        for (vs, st) in self.config.virtual_servers.iter().zip(&mut self.vs) {
            if let Some(&up) = quorum.get(&fmt_vs(vs)) {
                st.quorum.up = up;
            }
        }
    }
}
