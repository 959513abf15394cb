//! The lines keepalived 2.2.7 writes to its notify FIFOs (pure; the writing is
//! `kad_ipc::fifo`). Measured on keepalived 2.2.7 with a sync group `G1` of `VI_1`:
//!
//! ```text
//! GROUP "G1" BACKUP 0
//! INSTANCE "VI_1" BACKUP 100
//! INSTANCE "VI_1" MASTER 100
//! GROUP "G1" MASTER 0
//! INSTANCE "VI_1" STOP 100
//! GROUP "G1" STOP 0
//! ```
//!
//! LVS lines follow `man 5 keepalived.conf`: `VS [192.168.201.15]:tcp:80 UP` and
//! `RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN`.

use std::collections::HashMap;

use crate::config::Config;
use crate::state::VrrpState;

/// `INSTANCE "name" STATE prio`.
pub fn instance_line(name: &str, state: VrrpState, priority: u8) -> String {
    format!("INSTANCE \"{name}\" {} {priority}", state.name())
}

/// `GROUP "name" STATE 0` (a group's line always carries priority 0).
pub fn group_line(name: &str, state: VrrpState) -> String {
    format!("GROUP \"{name}\" {} 0", state.name())
}

/// `VS <service> UP|DOWN` (a virtual server gained or lost quorum).
pub fn vs_line(vs: &str, up: bool) -> String {
    format!("VS {vs} {}", if up { "UP" } else { "DOWN" })
}

/// `RS <real server> <virtual server> UP|DOWN`.
pub fn rs_line(rs: &str, vs: &str, up: bool) -> String {
    format!("RS {rs} {vs} {}", if up { "UP" } else { "DOWN" })
}

/// Turns instance state changes into FIFO lines, with the sync groups' lines: a group's
/// line is written once every member is in the new state (its first BACKUP comes before
/// the first member's line, as keepalived writes it at start).
#[derive(Debug, Default)]
pub struct VrrpLines {
    /// Members of each sync group.
    groups: Vec<(String, Vec<String>)>,
    instances: HashMap<String, VrrpState>,
    group_state: HashMap<String, VrrpState>,
}

impl VrrpLines {
    /// Lines for the sync groups of `config`.
    pub fn new(config: &Config) -> Self {
        let mut lines = VrrpLines::default();
        lines.reload(config);
        lines
    }

    /// Takes the sync groups of a new configuration; states already known are kept.
    pub fn reload(&mut self, config: &Config) {
        self.groups = config
            .sync_groups
            .iter()
            .map(|g| (g.name.clone(), g.members.clone()))
            .collect();
    }

    /// Instance `name` entered `state` with `priority`: the lines to write, in order.
    pub fn on_state(&mut self, name: &str, state: VrrpState, priority: u8) -> Vec<String> {
        self.instances.insert(name.to_string(), state);
        let mut before = Vec::new();
        let mut after = Vec::new();
        for (g, members) in self
            .groups
            .iter()
            .filter(|(_, m)| m.iter().any(|m| m == name))
        {
            let last = self.group_state.get(g).copied();
            if last == Some(state) {
                continue;
            }
            if last.is_none() && state == VrrpState::Backup {
                before.push(group_line(g, state));
            } else if members
                .iter()
                .all(|m| self.instances.get(m) == Some(&state))
            {
                after.push(group_line(g, state));
            } else {
                continue;
            }
            self.group_state.insert(g.clone(), state);
        }
        before.push(instance_line(name, state, priority));
        before.extend(after);
        before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::SyncGroup;

    fn config(groups: &[(&str, &[&str])]) -> Config {
        let mut c = Config::default();
        for (name, members) in groups {
            c.sync_groups.push(SyncGroup {
                name: name.to_string(),
                members: members.iter().map(|m| m.to_string()).collect(),
                track_interface: Vec::new(),
                track_script: Vec::new(),
                track_process: Vec::new(),
                notify: Default::default(),
                smtp_alert: None,
            });
        }
        c
    }

    #[test]
    fn one_member_group_writes_keepalived_s_measured_sequence() {
        let mut l = VrrpLines::new(&config(&[("G1", &["VI_1"])]));
        let mut out = Vec::new();
        for (s, p) in [
            (VrrpState::Backup, 100),
            (VrrpState::Master, 100),
            (VrrpState::Stop, 100),
        ] {
            out.extend(l.on_state("VI_1", s, p));
        }
        assert_eq!(
            out,
            [
                "GROUP \"G1\" BACKUP 0",
                "INSTANCE \"VI_1\" BACKUP 100",
                "INSTANCE \"VI_1\" MASTER 100",
                "GROUP \"G1\" MASTER 0",
                "INSTANCE \"VI_1\" STOP 100",
                "GROUP \"G1\" STOP 0",
            ]
        );
    }

    #[test]
    fn a_group_line_waits_for_every_member_and_is_not_repeated() {
        let mut l = VrrpLines::new(&config(&[("G", &["A", "B"])]));
        assert_eq!(l.on_state("A", VrrpState::Backup, 50).len(), 2);
        assert_eq!(l.on_state("B", VrrpState::Backup, 50).len(), 1);
        assert_eq!(
            l.on_state("A", VrrpState::Master, 50),
            ["INSTANCE \"A\" MASTER 50"]
        );
        assert_eq!(
            l.on_state("B", VrrpState::Master, 50),
            ["INSTANCE \"B\" MASTER 50", "GROUP \"G\" MASTER 0"]
        );
        assert_eq!(
            l.on_state("C", VrrpState::Fault, 7),
            ["INSTANCE \"C\" FAULT 7"]
        );
    }

    #[test]
    fn lvs_lines_follow_the_man_page() {
        assert_eq!(
            vs_line("[192.0.2.1]:tcp:80", true),
            "VS [192.0.2.1]:tcp:80 UP"
        );
        assert_eq!(
            rs_line("[192.0.2.9]:tcp:80", "[192.0.2.1]:tcp:80", false),
            "RS [192.0.2.9]:tcp:80 [192.0.2.1]:tcp:80 DOWN"
        );
    }
}
