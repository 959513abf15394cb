//! The watchdog's side of the control socket: binds it, carries out each request (status from
//! both children, maintenance to the VRRP child, weight overrides to the checker, reloads
//! itself) and passes the children's answers back to the waiting client.

use std::time::Instant;

use kad_ipc::control::{Reply, Request};
use kad_ipc::status::{Outcome, Override};
use kad_ipc::ToChild;
use mio::Token;

use super::{Watchdog, CHECKER, VRRP};
use crate::daemon::control::{self, Answer, Control};

impl Watchdog {
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
                    self.send(i, ToChild::Status { id });
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
