//! `vrrp_sync_group`: members move together (one becoming MASTER pulls the BACKUP members
//! up, one falling back to BACKUP pulls the MASTER members down) and are in FAULT together.

use std::time::Instant;

use kad_core::config::model::{Config, Tracked};

use super::Engine;
use crate::instance::{Event, State};

/// A `vrrp_sync_group`, resolved to instance indices.
pub(super) struct SyncGroup {
    pub(super) members: Vec<usize>,
    track_interface: Vec<String>,
    /// The group's vrrp_track_processes: any without quorum puts every member in FAULT
    /// (keepalived requires weight 0 on a group).
    track_process: Vec<String>,
    /// The group's vrrp_scripts: each member tracks them as its own (measured on keepalived
    /// 2.2.7: a weight moves every member's priority, a weight-0 script down is FAULT).
    pub(super) track_script: Vec<Tracked>,
}

impl Engine {
    /// The group's own tracked interfaces: any down puts every member in FAULT.
    pub(super) fn group_tracked_down(&self, g: usize) -> bool {
        self.groups[g]
            .track_interface
            .iter()
            .any(|n| !self.facts.running(n))
            || self.groups[g]
                .track_process
                .iter()
                .any(|n| !self.process_ok.get(n).copied().unwrap_or(false))
    }

    /// True when group `g` tracks vrrp_script `name`.
    pub(super) fn group_tracks_script(&self, g: usize, name: &str) -> bool {
        self.groups[g].track_script.iter().any(|t| t.name == name)
    }

    /// True when group `g` tracks vrrp_track_process `name`.
    pub(super) fn group_tracks_process(&self, g: usize, name: &str) -> bool {
        self.groups[g].track_process.iter().any(|n| n == name)
    }

    /// True when group `g` tracks interface `name`.
    pub(super) fn group_tracks(&self, g: usize, name: &str) -> bool {
        self.groups[g].track_interface.iter().any(|n| n == name)
    }

    /// Recomputes the member indices of every sync group (after start or reload).
    pub(super) fn index_groups(&mut self, config: &Config) {
        self.groups = config
            .sync_groups
            .iter()
            .map(|g| SyncGroup {
                members: g
                    .members
                    .iter()
                    .filter_map(|m| self.instances.iter().position(|r| &r.cfg.name == m))
                    .collect(),
                track_interface: g.track_interface.iter().map(|t| t.name.clone()).collect(),
                track_process: g.track_process.iter().map(|t| t.name.clone()).collect(),
                track_script: g.track_script.clone(),
            })
            .collect();
    }

    /// The sync group instance `i` belongs to.
    pub(super) fn group_of(&self, i: usize) -> Option<usize> {
        self.groups.iter().position(|g| g.members.contains(&i))
    }

    /// Moves the other members of `i`'s group after `i` went from `from` to `to`.
    pub(super) fn follow_group(&mut self, i: usize, from: State, to: State, now: Instant) {
        if self.propagating {
            return;
        }
        let Some(g) = self.group_of(i) else { return };
        let event = match (from, to) {
            (_, State::Master) => Event::GroupMaster,
            (State::Master, State::Backup) => Event::GroupBackup,
            _ => return,
        };
        self.propagating = true;
        for m in self.groups[g].members.clone() {
            if m != i {
                self.feed(m, now, event);
            }
        }
        self.propagating = false;
    }
}
