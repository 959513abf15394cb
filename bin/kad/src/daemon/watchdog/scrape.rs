//! The watchdog's side of the metrics endpoint: binds it, asks the running children for
//! their status when a scrape comes (as the control socket's `status` does) and adds what
//! only the parent knows (which children answered, how often each was restarted).

use std::time::Instant;

use kad_ipc::metrics::ChildInfo;
use kad_ipc::status::Status;
use kad_ipc::ToChild;
use mio::Token;

use super::{ChildKind, Watchdog};
use crate::daemon::control::Answer;
use crate::daemon::metrics::{self, Metrics};

fn name(kind: ChildKind) -> &'static str {
    match kind {
        ChildKind::Vrrp => "vrrp",
        ChildKind::Checker => "checker",
    }
}

impl Watchdog {
    /// Binds `--metrics-listen` (a failure is logged; kad runs without metrics).
    pub(super) fn open_metrics(&mut self) {
        let Some(addr) = self.settings.metrics_listen else {
            return;
        };
        match Metrics::bind(addr, self.poll.registry()) {
            Ok(m) => {
                log::info!("metrics on http://{addr}/metrics");
                self.metrics = Some(m);
            }
            Err(e) => log::error!("metrics: {e}; running without them"),
        }
    }

    /// The listener or a client is ready.
    pub(super) fn on_metrics(&mut self, token: Token) {
        let now = Instant::now();
        let Some(m) = self.metrics.as_mut() else {
            return;
        };
        if token == metrics::LISTENER {
            m.accept(self.poll.registry(), now);
            return;
        }
        let Some(id) = m.ready(token, self.poll.registry(), now) else {
            return;
        };
        let wanted: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].wanted)
            .collect();
        let ask: Vec<usize> = wanted
            .iter()
            .copied()
            .filter(|&i| self.slots[i].channel.is_some())
            .collect();
        let children = wanted
            .iter()
            .map(|&i| {
                let s = &self.slots[i];
                let info = ChildInfo {
                    name: name(s.kind),
                    up: false,
                    restarts: s.restarts,
                };
                (i, info)
            })
            .collect();
        for &i in &ask {
            self.ask_status(i, id, now);
        }
        if let Some(m) = self.metrics.as_mut() {
            m.wait_for(id, ask, children, now, self.poll.registry());
        }
    }

    /// Asks child `i` for its status on behalf of request `id` (coalesced: see
    /// [`super::status_asks`]).
    pub(super) fn ask_status(&mut self, i: usize, id: u64, now: Instant) {
        if self.slots[i].status.ask(id, now) {
            self.send(i, ToChild::Status { id });
        }
    }

    /// A child's status: for every scrape and control client waiting for it.
    pub(super) fn on_status(&mut self, slot: usize, id: u64, status: Status) {
        for waiter in self.slots[slot].status.answered(id) {
            let status = status.clone();
            if Metrics::owns(waiter) {
                if let Some(m) = self.metrics.as_mut() {
                    m.answer(waiter, slot, status, Instant::now(), self.poll.registry());
                }
            } else {
                self.on_answer(slot, waiter, Answer::Status(status));
            }
        }
    }
}
