//! The watchdog's side of the control socket: binds it, carries out each request (status from
//! both children, maintenance to the VRRP child, weight overrides to the checker, reloads
//! itself) and passes the children's answers back to the waiting client. It remembers the
//! maintenance and overrides in force so that a respawned child gets them again (they are
//! lost only when kad itself restarts).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use kad_check::engine::{rs_key, vs_key};
use kad_core::config::Config;

use kad_ipc::control::{Reply, Request};
use kad_ipc::status::{Outcome, Override};
use kad_ipc::ToChild;
use mio::Token;

use super::{Watchdog, CHECKER, VRRP};
use crate::daemon::control::{self, Answer, Control};

/// Request id of a replayed change (its answer matches no client and is dropped).
const REPLAY_ID: u64 = u64::MAX;

/// Maintenance and weight overrides in force.
#[derive(Debug, Default)]
pub(super) struct Changes {
    maintenance: BTreeSet<String>,
    overrides: BTreeMap<(String, String), Override>,
}

fn has_instance(config: &Config, name: &str) -> bool {
    config.vrrp_instances.iter().any(|i| i.name == name)
}

fn has_real_server(config: &Config, vs: &str, rs: &str) -> bool {
    config
        .virtual_servers
        .iter()
        .filter(|v| vs_key(v) == vs)
        .any(|v| v.real_servers.iter().any(|r| rs_key(v, r) == rs))
}

impl Changes {
    /// Notes a change the configuration allows (the child refuses the others).
    fn note(&mut self, config: &Config, request: &Request) {
        match request {
            Request::Maintenance { instance, on } if has_instance(config, instance) => {
                if *on {
                    self.maintenance.insert(instance.clone());
                } else {
                    self.maintenance.remove(instance);
                }
            }
            Request::Drain { vs, rs }
            | Request::Undrain { vs, rs }
            | Request::Weight { vs, rs, .. }
                if has_real_server(config, vs, rs) =>
            {
                let key = (vs.clone(), rs.clone());
                match request {
                    Request::Drain { .. } => self.overrides.insert(key, Override::Drain),
                    Request::Weight { weight, .. } => {
                        self.overrides.insert(key, Override::Weight(*weight))
                    }
                    _ => self.overrides.remove(&key),
                };
            }
            _ => {}
        }
    }

    /// Forgets what a new configuration no longer has (as the children do).
    pub(super) fn prune(&mut self, config: &Config) {
        self.maintenance.retain(|i| has_instance(config, i));
        self.overrides
            .retain(|(vs, rs), _| has_real_server(config, vs, rs));
    }
}

impl Watchdog {
    /// Gives a newly started child the changes in force for it.
    pub(super) fn replay_changes(&mut self, slot: usize) {
        let msgs: Vec<ToChild> = if slot == VRRP {
            let names = self.changes.maintenance.iter();
            names
                .map(|instance| ToChild::Maintenance {
                    id: REPLAY_ID,
                    instance: instance.clone(),
                    on: true,
                })
                .collect()
        } else {
            let all = self.changes.overrides.iter();
            all.map(|((vs, rs), what)| over(REPLAY_ID, vs.clone(), rs.clone(), *what))
                .collect()
        };
        for msg in msgs {
            self.send(slot, msg);
        }
    }

    /// Binds the control socket if one is configured; kad runs on without it if it cannot.
    pub(super) fn open_control(&mut self) {
        let Some(path) = self.settings.control_socket.clone() else {
            return;
        };
        let group = self.settings.control_group.as_deref();
        match Control::bind(&path, group, self.poll.registry()) {
            Ok(c) => {
                log::info!("control socket on {}", path.display());
                self.control = Some(c);
            }
            Err(e) => log::error!("control socket: {e}; running without it"),
        }
    }

    /// The listener or a client is ready.
    pub(super) fn on_control(&mut self, token: Token) {
        let now = Instant::now();
        let Some(c) = self.control.as_mut() else {
            return;
        };
        if token == control::LISTENER {
            c.accept(self.poll.registry(), now);
            return;
        }
        if let Some(p) = c.ready(token, self.poll.registry()) {
            self.carry_out(p.id, p.request, now);
        }
    }

    fn carry_out(&mut self, id: u64, request: Request, now: Instant) {
        log::debug!("control socket: {request:?}");
        let change = request.clone();
        let ask = |slot: usize, msg: ToChild| (vec![slot], msg);
        let (slots, msg) = match request {
            Request::Reload => {
                let reply = match self.reload() {
                    Ok(()) => Reply::Ok,
                    Err(lines) => Reply::Refused(lines),
                };
                return self.reply(id, reply, now);
            }
            Request::Status => {
                let running: Vec<usize> = (0..self.slots.len())
                    .filter(|&i| self.slots[i].channel.is_some())
                    .collect();
                for &i in &running {
                    self.ask_status(i, id, now);
                }
                if let Some(c) = self.control.as_mut() {
                    c.wait_for(id, running, now, self.poll.registry());
                }
                return;
            }
            Request::Maintenance { instance, on } => {
                ask(VRRP, ToChild::Maintenance { id, instance, on })
            }
            Request::Drain { vs, rs } => ask(CHECKER, over(id, vs, rs, Override::Drain)),
            Request::Undrain { vs, rs } => ask(CHECKER, over(id, vs, rs, Override::Clear)),
            Request::Weight { vs, rs, weight } if weight <= 65_535 => {
                ask(CHECKER, over(id, vs, rs, Override::Weight(weight)))
            }
            Request::Weight { weight, .. } => {
                let e = format!("weight {weight} is over IPVS's 65535");
                return self.reply(id, Reply::Error(e), now);
            }
        };
        let slot = slots[0];
        if self.slots[slot].channel.is_none() {
            let e = format!("the {} is not running", self.slots[slot].kind.label());
            return self.reply(id, Reply::Error(e), now);
        }
        self.send(slot, msg);
        self.changes.note(&self.config, &change);
        if let Some(c) = self.control.as_mut() {
            c.wait_for(id, slots, now, self.poll.registry());
        }
    }

    fn reply(&mut self, id: u64, reply: Reply, now: Instant) {
        if let Some(c) = self.control.as_mut() {
            c.reply(id, &reply, now, self.poll.registry());
        }
    }

    /// A child's answer to a control request.
    pub(super) fn on_answer(&mut self, slot: usize, id: u64, answer: Answer) {
        if let Some(c) = self.control.as_mut() {
            c.answer(id, slot, answer, Instant::now(), self.poll.registry());
        }
    }

    /// A child's outcome of a change.
    pub(super) fn on_outcome(&mut self, slot: usize, id: u64, outcome: Outcome) {
        let reply = match outcome {
            Outcome::Done => Reply::Ok,
            Outcome::Refused(e) => Reply::Error(e),
        };
        self.on_answer(slot, id, Answer::Reply(reply));
    }
}

fn over(id: u64, vs: String, rs: String, what: Override) -> ToChild {
    ToChild::Override { id, vs, rs, what }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_follow_requests_and_forget_what_a_reload_removes() {
        let path = std::env::temp_dir().join(format!("kad-changes-{}.conf", std::process::id()));
        let conf = |rs: &str| {
            std::fs::write(
                &path,
                format!(
                    "vrrp_instance VI_1 {{\n interface lo\n virtual_router_id 1\n}}\n\
                     virtual_server 192.0.2.1 80 {{\n protocol TCP\n real_server {rs} 80 {{\n }}\n}}\n"
                ),
            )
            .expect("config");
            let c = kad_core::config::parse_file(&path, &Default::default()).config;
            c.expect("valid")
        };
        let config = conf("192.0.2.2");
        let mut ch = Changes::default();
        let m = |instance: &str, on| Request::Maintenance {
            instance: instance.into(),
            on,
        };
        let drain = |rs: &str| Request::Drain {
            vs: "192.0.2.1:80".into(),
            rs: rs.into(),
        };
        ch.note(&config, &m("VI_1", true));
        ch.note(&config, &m("VI_9", true));
        ch.note(&config, &drain("192.0.2.2:80"));
        ch.note(&config, &drain("192.0.2.3:80"));
        assert_eq!(ch.maintenance.iter().collect::<Vec<_>>(), ["VI_1"]);
        assert_eq!(ch.overrides.len(), 1);
        ch.note(&config, &m("VI_1", false));
        assert!(ch.maintenance.is_empty());
        ch.prune(&conf("192.0.2.3"));
        let _ = std::fs::remove_file(&path);
        assert!(ch.overrides.is_empty(), "the reload removed 192.0.2.2");
    }
}
