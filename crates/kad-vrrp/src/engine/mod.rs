//! The VRRP engine, sans I/O: every configured instance as an [`Instance`] state machine plus
//! what surrounds it (links, packet validation, tracking, sync groups, GARP/NA pacing, vmacs,
//! reload plans). [`Engine::handle`] takes an [`Input`] at an explicit `now` and returns the
//! [`Effect`]s to carry out; it never opens a socket, reads sysfs or the clock. The
//! [`crate::executor`] owns the sockets, netlink, sysfs and mio and feeds the engine.
//!
//! Files, one job each: [`input`] and [`effect`] (the boundary), `links` (links and vmacs),
//! `lifecycle` (build, start, reload plan, shutdown), `receive` (bounded reads, validation,
//! drop accounting), `tracking` (priorities and FAULT from scripts and interfaces), `sync`
//! (sync groups), `announce` (GARP/NA pacing), `advert` (our adverts, AH sealing), `routes` (virtual and
//! static routes and rules, static addresses).

use crate::drop_reason::DropReason;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use kad_core::config::model::{VrrpInstance, VrrpScript};

mod advert;
mod announce;
pub mod effect;
pub mod input;
mod lifecycle;
mod links;
mod receive;
mod routes;
mod sync;
mod tracking;

pub use effect::{Effect, Port};
pub use input::{Facts, Frame, Iface, Input, Source};
pub use receive::PACKETS_PER_WAKEUP;

use crate::ah::{self, SeqCounter};
use crate::dump::Stats;
use crate::instance::{Action, Event, Instance, State};
use crate::vip::Vip;

use announce::Pacer;
use links::{Link, VmacLink};
use sync::SyncGroup;

/// One running instance.
pub struct Running {
    /// Its configuration.
    pub cfg: VrrpInstance,
    /// Its state machine.
    pub machine: Instance,
    /// Its counters.
    pub stats: Stats,
    link: Option<usize>,
    group: IpAddr,
    /// `unicast_peer`: adverts go to each, and only these may send ours.
    peers: Vec<IpAddr>,
    /// Set once a split brain was logged; cleared when the instance leaves MASTER.
    split_brain_logged: bool,
    /// Its own tracked scripts or interfaces are down (before sync-group propagation).
    own_fault: bool,
    /// `use_vmac`: the macvlan interface carrying its VIPs (and adverts unless vmac_xmit_base).
    vmac: Option<VmacLink>,
    /// Addresses installed as MASTER: virtual_ipaddress, then virtual_ipaddress_excluded.
    vips: Vec<Vip>,
    /// Second GARP/NA burst after becoming MASTER (garp_master_delay).
    garp_at: Option<Instant>,
    /// Second GARP/NA bursts after lower-priority adverts (garp_lower_prio_delay), in order.
    lower_garp_at: Vec<Instant>,
    /// The last reaction to a lower-priority advert (at most one per advert interval).
    lower_at: Option<Instant>,
    /// Periodic GARP/NA while MASTER (garp_master_refresh).
    refresh_at: Option<Instant>,
    /// `auth_type AH` (VRRPv2 over IPv4): the HMAC key.
    ah_key: Option<ah::Key>,
    /// AH sequence numbers, sent and received (keepalived's one counter).
    ah_seq: SeqCounter,
}

impl Running {
    /// The last AH sequence number sent or accepted.
    pub fn ah_seq(&self) -> u32 {
        self.ah_seq.last()
    }
}

/// Instances built but not started: they wait for their links and vmacs to open.
struct Pending {
    /// Their indices.
    instances: Vec<usize>,
    /// A reload (every instance is evaluated after the start) or the first start (each is
    /// evaluated as it starts).
    reload: bool,
}

/// All instances of the VRRP child.
pub struct Engine {
    links: Vec<Link>,
    /// The instances, in configuration order.
    pub instances: Vec<Running>,
    /// Drops that match no instance, by reason.
    pub drops: HashMap<DropReason, u64>,
    /// Last time a drop of each (instance, reason) was logged: one line per 10 s at most.
    logged: HashMap<(usize, DropReason), Instant>,
    facts: Facts,
    /// Last running state of each interface index the monitor reported.
    link_up: HashMap<u32, bool>,
    min_garp: bool,
    /// vrrp_script definitions by name, and the last result of each (from the checker child).
    scripts: HashMap<String, VrrpScript>,
    script_ok: HashMap<String, bool>,
    /// vrrp_track_process definitions by name, and the status of each (from the executor's
    /// /proc scans).
    processes: HashMap<String, kad_core::config::model::TrackProcess>,
    process_ok: HashMap<String, bool>,
    /// Sync groups with member indices; `propagating` stops a group move from echoing.
    groups: Vec<SyncGroup>,
    propagating: bool,
    /// GARP/NA packets waiting for their turn.
    pacer: Pacer,
    /// Sockets with packets left after a bounded read, and since when.
    backlog: Vec<Source>,
    backlog_at: Option<Instant>,
    /// Instances waiting for [`Input::LinkOpened`] / [`Input::VmacCreated`] answers.
    pending: Option<Pending>,
    /// Answers still expected.
    awaiting: usize,
    /// `vrrp_startup_delay`: the first start waits until then.
    startup_at: Option<Instant>,
    /// What `static_ipaddress` / `static_routes` / `static_rules` installed.
    statics: routes::Statics,
    out: Vec<Effect>,
}

fn interval_cs(d: Duration) -> u16 {
    (d.as_millis() / 10).min(u128::from(u16::MAX)) as u16
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine with no instance; [`Input::Start`] gives it its configuration.
    pub fn new() -> Engine {
        Engine {
            links: Vec::new(),
            instances: Vec::new(),
            drops: HashMap::new(),
            logged: HashMap::new(),
            facts: Facts::default(),
            link_up: HashMap::new(),
            min_garp: false,
            scripts: HashMap::new(),
            script_ok: HashMap::new(),
            processes: HashMap::new(),
            process_ok: HashMap::new(),
            groups: Vec::new(),
            propagating: false,
            pacer: Pacer::default(),
            backlog: Vec::new(),
            backlog_at: None,
            pending: None,
            awaiting: 0,
            startup_at: None,
            statics: routes::Statics::default(),
            out: Vec::new(),
        }
    }

    /// Handles one input at `now`; returns what to do, in order.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Effect> {
        match input {
            Input::Start { config, facts } => self.start(config, facts, now),
            Input::Reload { config, facts } => self.reload(config, facts, now),
            Input::Shutdown => self.shutdown(now),
            Input::Timer => self.on_timer(now),
            Input::Readable(source) => self.readable(source),
            Input::Packet { source, frame } => self.packet(source, frame, now),
            Input::BadFrame(_) => self.count_drop(DropReason::BadIpHeader),
            Input::ReadDone { source, more } => self.read_done(source, more, now),
            Input::Link { index, name, up } => self.on_link(index, name, up, now),
            Input::AddressDeleted { index, addr } => self.on_address_deleted(index, addr, now),
            Input::Script { name, ok } => self.script_status(name, ok, now),
            Input::Maintenance { name, on } => self.maintenance(name, on, now),
            Input::Process { name, ok } => self.process_status(name, ok, now),
            Input::LinkOpened { link, ok } => self.link_opened(link, ok, now),
            Input::VmacCreated { instance, iface } => self.vmac_created(instance, iface, now),
            Input::Sent {
                instance,
                priority,
                error,
            } => self.sent(&instance, priority, error),
        }
        std::mem::take(&mut self.out)
    }

    /// The earliest timer: protocol timers, GARP bursts and paced GARPs, and "at once" while
    /// a socket has packets left from a bounded read.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.instances
            .iter()
            .flat_map(|r| {
                let lower = r.lower_garp_at.first().copied();
                [r.machine.next_deadline(), r.garp_at, r.refresh_at, lower]
            })
            .flatten()
            .chain(self.pacer.next())
            .chain(self.backlog_at)
            .chain(self.startup_at)
            .min()
    }

    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&Running> {
        self.instances.iter().find(|r| r.cfg.name == name)
    }

    fn emit(&mut self, e: Effect) {
        self.out.push(e);
    }

    /// Delivers timer events that are due, then asks for the sockets a flood left waiting.
    fn on_timer(&mut self, now: Instant) {
        if self.startup_at.is_some_and(|t| t <= now) {
            self.startup_at = None;
            self.maybe_start(now);
        }
        for (port, addr) in self.pacer.due(now) {
            self.emit(Effect::Garp { port, addr });
        }
        for i in 0..self.instances.len() {
            let master = self.instances[i].machine.state() == State::Master;
            if self.instances[i].garp_at.is_some_and(|t| t <= now) {
                self.instances[i].garp_at = None;
                if let (true, Some(l)) = (master, self.instances[i].link) {
                    let repeat = self.instances[i].cfg.garp.master_repeat;
                    self.announce(i, l, repeat, now);
                }
            }
            while self.instances[i]
                .lower_garp_at
                .first()
                .is_some_and(|t| *t <= now)
            {
                self.instances[i].lower_garp_at.remove(0);
                if let (true, Some(l)) = (master, self.instances[i].link) {
                    let repeat = self.instances[i].cfg.garp.lower_prio_repeat;
                    self.announce(i, l, repeat, now);
                }
            }
            if self.instances[i].refresh_at.is_some_and(|t| t <= now) {
                let every = self.instances[i].cfg.garp.master_refresh;
                self.instances[i].refresh_at = master.then_some(now + every);
                if let (true, Some(l)) = (master, self.instances[i].link) {
                    let repeat = self.instances[i].cfg.garp.master_refresh_repeat;
                    self.announce(i, l, repeat, now);
                }
            }
            if self.instances[i]
                .machine
                .next_deadline()
                .is_some_and(|d| d <= now)
            {
                self.feed(i, now, Event::Timer);
            }
        }
        self.drain_backlog();
    }

    /// Feeds one event to instance `i` and carries out its actions.
    fn feed(&mut self, i: usize, now: Instant, ev: Event) {
        let actions = self.instances[i].machine.handle(now, ev);
        for a in actions {
            self.act(i, a, now);
        }
    }

    /// The interface index a VIP goes on (`dev` or the instance's interface).
    fn vip_index(&self, i: usize, l: usize, vip: &Vip) -> u32 {
        let default = self.instances[i]
            .vmac
            .as_ref()
            .map(|v| v.index)
            .unwrap_or(self.links[l].index);
        self.instances[i]
            .cfg
            .virtual_ipaddress
            .iter()
            .chain(&self.instances[i].cfg.virtual_ipaddress_excluded)
            .find(|c| c.addr == vip.addr)
            .and_then(|c| c.dev.as_deref())
            .and_then(|d| self.facts.index(d))
            .unwrap_or(default)
    }

    /// `vips` of instance `i` (on link `l`) with the interface each goes on.
    fn placed(&self, i: usize, l: usize, vips: &[Vip]) -> Vec<(u32, Vip)> {
        vips.iter()
            .map(|v| (self.vip_index(i, l, v), v.clone()))
            .collect()
    }

    fn add_vips(&mut self, i: usize, l: usize, vips: &[Vip]) {
        if vips.is_empty() {
            return;
        }
        let vips = self.placed(i, l, vips);
        let instance = self.instances[i].cfg.name.clone();
        self.emit(Effect::AddVips { instance, vips });
    }

    fn del_vips(&mut self, i: usize, l: usize, vips: &[Vip]) {
        if vips.is_empty() {
            return;
        }
        let vips = self.placed(i, l, vips);
        let instance = self.instances[i].cfg.name.clone();
        self.emit(Effect::DelVips { instance, vips });
    }

    fn act(&mut self, i: usize, action: Action, now: Instant) {
        if let Action::Transition { from, to } = action {
            let r = &mut self.instances[i];
            if to == State::Master {
                r.stats.become_master += 1;
            }
            if from == State::Master {
                r.stats.release_master += 1;
                r.split_brain_logged = false;
                r.lower_garp_at.clear();
            }
            log::info!("({}) Entering {} STATE", r.cfg.name, to.name());
            let change = Effect::StateChange {
                name: r.cfg.name.clone(),
                state: to,
                priority: r.machine.priority(),
            };
            self.emit(change);
            self.follow_group(i, from, to, now);
            return;
        }
        let Some(l) = self.instances[i].link else {
            return;
        };
        match action {
            Action::SendAdvert { priority } => self.send_advert(i, l, priority),
            Action::AddAddresses => {
                let vips = self.instances[i].vips.clone();
                self.add_vips(i, l, &vips);
                self.virtual_routes(i, true);
            }
            Action::RemoveAddresses => {
                self.virtual_routes(i, false);
                let vips = self.instances[i].vips.clone();
                self.del_vips(i, l, &vips);
            }
            Action::HeardLower {
                src,
                priority,
                answered,
            } => self.heard_lower(i, l, src, priority, answered, now),
            Action::Announce => {
                let repeat = self.instances[i].cfg.garp.master_repeat;
                self.announce(i, l, repeat, now);
                let g = &self.instances[i].cfg.garp;
                let (delay, refresh) = (g.master_delay, g.master_refresh);
                let min_garp = self.min_garp;
                let r = &mut self.instances[i];
                r.garp_at = (!delay.is_zero() && !min_garp).then_some(now + delay);
                r.refresh_at = (!refresh.is_zero()).then_some(now + refresh);
            }
            Action::Transition { .. } => {}
        }
    }
}
