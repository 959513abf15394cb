//! Announce pacing: the GARP / unsolicited NA bursts of a new MASTER (`garp_master_repeat`
//! packets per address, one burst more after `garp_master_delay`, again every
//! `garp_master_refresh`), spaced per interface by `vrrp_garp_interval` (IPv4) and
//! `vrrp_gna_interval` (IPv6). Packets with no spacing go out at once.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{Effect, Engine, Port};

/// Most GARP/NA packets waiting; past it a burst loses the rest (bursts cannot pile up
/// without bound, whatever triggers them).
const MAX_QUEUED: usize = 4096;

/// GARP/NA packets waiting for their turn, in time order.
#[derive(Default)]
pub(super) struct Pacer {
    queue: VecDeque<(Instant, Port, IpAddr)>,
    /// `vrrp_garp_interval` and `vrrp_gna_interval`.
    pub(super) garp_interval: Duration,
    pub(super) gna_interval: Duration,
}

impl Pacer {
    /// When the first queued packet is due.
    pub(super) fn next(&self) -> Option<Instant> {
        self.queue.front().map(|(t, _, _)| *t)
    }

    /// The packets due at `now`, taken off the queue.
    pub(super) fn due(&mut self, now: Instant) -> Vec<(Port, IpAddr)> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|(t, _, _)| *t <= now) {
            if let Some((_, port, addr)) = self.queue.pop_front() {
                out.push((port, addr));
            }
        }
        out
    }

    /// Plans `repeat` rounds of `addrs` on `port` after whatever is queued there already;
    /// returns the packets to send at once.
    fn plan(&mut self, port: &Port, addrs: &[IpAddr], repeat: u32, now: Instant) -> Vec<IpAddr> {
        let last = |v6: bool, step: Duration| {
            self.queue
                .iter()
                .rev()
                .find(|(_, p, a)| p.index == port.index && a.is_ipv6() == v6)
                .map(|(t, _, _)| *t + step)
                .unwrap_or(now)
        };
        let mut next4 = last(false, self.garp_interval);
        let mut next6 = last(true, self.gna_interval);
        let mut now_out = Vec::new();
        for _ in 0..repeat {
            for &addr in addrs {
                let (slot, step) = if addr.is_ipv4() {
                    (&mut next4, self.garp_interval)
                } else {
                    (&mut next6, self.gna_interval)
                };
                if step.is_zero() && *slot <= now {
                    now_out.push(addr);
                } else if self.queue.len() < MAX_QUEUED {
                    self.queue.push_back((*slot, port.clone(), addr));
                    *slot += step;
                }
            }
        }
        self.queue.make_contiguous().sort_by_key(|(t, _, _)| *t);
        now_out
    }
}

impl Engine {
    /// A burst of `repeat` GARPs/NAs per address of instance `i` on link `l` (or its vmac);
    /// one with `vrrp_min_garp`.
    pub(super) fn announce(&mut self, i: usize, l: usize, repeat: u32, now: Instant) {
        let r = &self.instances[i];
        let repeat = if self.min_garp { 1 } else { repeat.max(1) };
        // A vmac instance announces from the vmac, with the virtual MAC.
        let port = match &r.vmac {
            Some(v) => Port {
                index: v.index,
                mac: v.mac,
                name: v.name.clone(),
            },
            None => {
                let link = &self.links[l];
                Port {
                    index: link.index,
                    mac: link.mac,
                    name: link.name.clone(),
                }
            }
        };
        let addrs: Vec<IpAddr> = r.vips.iter().map(|v| v.addr).collect();
        for addr in self.pacer.plan(&port, &addrs, repeat, now) {
            self.emit(Effect::Garp {
                port: port.clone(),
                addr,
            });
        }
    }
}

impl Engine {
    /// A MASTER heard a lower priority (keepalived 2.2.7, measured): a log line, a burst of
    /// `garp_lower_prio_repeat` GARPs/NAs at once and another `garp_lower_prio_delay` later
    /// (one pending per advert, at most [`LOWER_BURSTS`]), `notify_master_rx_lower_pri`.
    /// A flood of lower-priority adverts gets this at most once per advert interval (the
    /// GARPs would multiply it).
    pub(super) fn heard_lower(
        &mut self,
        i: usize,
        l: usize,
        src: IpAddr,
        priority: u8,
        answered: bool,
        now: Instant,
    ) {
        let r = &mut self.instances[i];
        if r.lower_at.is_some_and(|t| now < t + r.cfg.advert_int) {
            return;
        }
        r.lower_at = Some(now);
        let r = &self.instances[i];
        let suffix = if answered {
            ", forcing new election"
        } else {
            ""
        };
        log::info!(
            "({}) Received advert from {src} with lower priority {priority}, ours {}{suffix}",
            r.cfg.name,
            r.machine.priority()
        );
        if r.cfg.notify.master_rx_lower_pri.is_some() {
            let instance = r.cfg.name.clone();
            self.emit(Effect::MasterRxLowerPri { instance });
        }
        let r = &self.instances[i];
        let (repeat, delay) = (r.cfg.garp.lower_prio_repeat, r.cfg.garp.lower_prio_delay);
        if repeat == 0 {
            return;
        }
        self.announce(i, l, repeat, now);
        let r = &mut self.instances[i];
        if !delay.is_zero() && !self.min_garp && r.lower_garp_at.len() < LOWER_BURSTS {
            r.lower_garp_at.push(now + delay);
        }
    }
}

/// Most delayed lower-priority GARP bursts pending per instance (a flood of lower-priority
/// adverts must not grow the list without bound).
const LOWER_BURSTS: usize = 16;
