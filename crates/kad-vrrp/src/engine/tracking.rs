//! Tracking: effective priority and FAULT from `track_script` and `track_interface`
//! (keepalived's weights, `dont_track_primary`), link changes and VIPs removed from under a
//! MASTER (`no_track`).

use std::net::IpAddr;
use std::time::Instant;

use super::Engine;
use crate::instance::{Event, State};

impl Engine {
    /// A vrrp_script result from the checker child; re-evaluates the instances tracking it
    /// (directly or through their sync group).
    pub(super) fn script_status(&mut self, name: &str, ok: bool, now: Instant) {
        self.script_ok.insert(name.to_string(), ok);
        for i in 0..self.instances.len() {
            let own = self.instances[i]
                .cfg
                .track_script
                .iter()
                .any(|t| t.name == name);
            let group = self
                .group_of(i)
                .is_some_and(|g| self.group_tracks_script(g, name));
            if own || group {
                self.evaluate(i, now);
            }
        }
    }

    /// Whether vrrp_script `name` counts as up: its last result, else up unless `init_fail`
    /// (None: no such script).
    pub(super) fn script_up(&self, name: &str) -> Option<bool> {
        let script = self.scripts.get(name)?;
        Some(
            self.script_ok
                .get(name)
                .copied()
                .unwrap_or(!script.init_fail),
        )
    }

    /// `kadctl maintenance`: the instance named `name` goes in or out of maintenance.
    pub(super) fn maintenance(&mut self, name: &str, on: bool, now: Instant) {
        if let Some(i) = self.instances.iter().position(|r| r.cfg.name == name) {
            log::info!(
                "({name}) maintenance {}",
                if on {
                    "on: leaving MASTER, staying BACKUP at priority 0"
                } else {
                    "off"
                }
            );
            self.feed(i, now, Event::Maintenance(on));
        }
    }

    /// A vrrp_track_process status; re-evaluates the instances tracking it (directly or
    /// through their sync group).
    pub(super) fn process_status(&mut self, name: &str, ok: bool, now: Instant) {
        if self.process_ok.insert(name.to_string(), ok) == Some(ok) {
            return;
        }
        log::info!(
            "Track process {name} {}",
            if ok { "quorum reached" } else { "quorum lost" }
        );
        for i in 0..self.instances.len() {
            let own = self.instances[i]
                .cfg
                .track_process
                .iter()
                .any(|t| t.name == name);
            let group = self
                .group_of(i)
                .is_some_and(|g| self.group_tracks_process(g, name));
            if own || group {
                self.evaluate(i, now);
            }
        }
    }

    /// A link went up or down: instances on it, tracking it, or in a sync group tracking it
    /// are re-evaluated.
    pub(super) fn on_link(&mut self, index: u32, name: Option<String>, up: bool, now: Instant) {
        let name = name.or_else(|| {
            self.facts
                .ifaces
                .iter()
                .find(|(_, f)| f.index == index)
                .map(|(n, _)| n.clone())
        });
        let Some(name) = name else { return };
        let iface = self.facts.ifaces.entry(name.clone()).or_default();
        iface.index = index;
        iface.running = up;
        if self.link_up.insert(index, up) == Some(up) {
            return;
        }
        log::info!("interface {name} is {}", if up { "up" } else { "down" });
        for i in 0..self.instances.len() {
            let own = self.instances[i]
                .link
                .is_some_and(|l| self.links[l].index == index);
            let tracked = self.instances[i]
                .cfg
                .track_interface
                .iter()
                .any(|t| t.name == name);
            let group = self
                .group_of(i)
                .is_some_and(|g| self.group_tracks(g, &name));
            if own || tracked || group {
                self.evaluate(i, now);
            }
        }
    }

    /// A VIP deleted from under a MASTER (keepalived 2.2.7, measured): the instance leaves
    /// MASTER (priority 0, all its VIPs removed) and takes over again after its skew time if
    /// no other router does; a `no_track` VIP is left deleted without a word.
    pub(super) fn on_address_deleted(&mut self, index: u32, addr: IpAddr, now: Instant) {
        for i in 0..self.instances.len() {
            let Some(l) = self.instances[i].link else {
                continue;
            };
            if self.instances[i].machine.state() != State::Master {
                continue;
            }
            let Some(v) = self.instances[i]
                .vips
                .iter()
                .find(|v| v.addr == addr)
                .cloned()
            else {
                continue;
            };
            if self.vip_index(i, l, &v) != index {
                continue;
            }
            let cfg = &self.instances[i].cfg;
            let no_track = cfg
                .virtual_ipaddress
                .iter()
                .chain(&cfg.virtual_ipaddress_excluded)
                .any(|c| c.addr == addr && c.no_track);
            if no_track {
                continue;
            }
            log::warn!(
                "({}) virtual address {addr} was removed from under us; leaving MASTER",
                cfg.name
            );
            self.feed(i, now, Event::VipGone);
        }
    }

    /// Effective priority and fault from tracked scripts and interfaces (keepalived's rules):
    /// weight 0 down -> FAULT; a positive weight is added while up, a negative one while down
    /// (`reverse` swaps up and down); the result is clamped to 1..=254 (255 stays 255).
    pub(super) fn evaluate(&mut self, i: usize, now: Instant) {
        let r = &self.instances[i];
        // `dont_track_primary`: faults of the instance's own interface are ignored.
        let mut fault = r
            .link
            .is_none_or(|l| !r.cfg.dont_track_primary && !self.link_running(l));
        let mut delta: i32 = 0;
        let mut apply = |up: bool, weight: i32, reverse: bool| {
            let up = up != reverse;
            match weight {
                0 => fault |= !up,
                w if w > 0 && up => delta = delta.saturating_add(w),
                w if w < 0 && !up => delta = delta.saturating_add(w),
                _ => {}
            }
        };
        // A sync group's track_script counts as each member's own.
        let group_scripts = self
            .group_of(i)
            .map(|g| self.groups[g].track_script.as_slice())
            .unwrap_or_default();
        for t in r.cfg.track_script.iter().chain(group_scripts) {
            let (Some(script), Some(ok)) = (self.scripts.get(&t.name), self.script_up(&t.name))
            else {
                continue;
            };
            let reverse = t.reverse || (t.weight.is_none() && script.weight_reverse);
            apply(ok, t.weight.unwrap_or(script.weight), reverse);
        }
        for t in &r.cfg.track_process {
            let Some(p) = self.processes.get(&t.name) else {
                continue;
            };
            // Not yet counted: the executor's first scan comes before start.
            let ok = self.process_ok.get(&t.name).copied().unwrap_or(false);
            let reverse = t.reverse || (t.weight.is_none() && p.reverse);
            apply(ok, t.weight.unwrap_or(p.weight), reverse);
        }
        for t in &r.cfg.track_interface {
            apply(
                self.facts.running(&t.name),
                t.weight.unwrap_or(0),
                t.reverse,
            );
        }
        let base = i32::from(r.cfg.priority);
        let effective = if base == 255 {
            255
        } else {
            base.saturating_add(delta).clamp(1, 254)
        } as u8;
        if effective != r.machine.priority() {
            log::info!(
                "({}) effective priority {} -> {effective}",
                r.cfg.name,
                r.machine.priority()
            );
            self.feed(i, now, Event::Priority(effective));
        }
        self.instances[i].own_fault = fault;
        match self.group_of(i) {
            Some(g) => {
                // A sync group is in FAULT while any member (or the group's own tracking) is.
                let members = self.groups[g].members.clone();
                let group_down = self.group_tracked_down(g);
                let any = group_down || members.iter().any(|&m| self.instances[m].own_fault);
                for m in members {
                    self.set_fault(m, any, now);
                }
            }
            None => self.set_fault(i, fault, now),
        }
    }

    fn set_fault(&mut self, i: usize, fault: bool, now: Instant) {
        let state = self.instances[i].machine.state();
        if fault && !matches!(state, State::Fault | State::Stop) {
            log::warn!(
                "({}) a tracked script, interface or sync group member is down",
                self.instances[i].cfg.name
            );
            self.feed(i, now, Event::FaultOn);
        } else if !fault && state == State::Fault {
            self.feed(i, now, Event::FaultOff);
        }
    }
}
