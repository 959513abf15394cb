//! The executor: the thin I/O shell around the sans-I/O [`Engine`]. It owns the VRRP and AH
//! sockets of each link, the rtnetlink socket (VIPs, vmacs), the ARP socket, the netlink
//! monitor, mio registrations and the clock; it feeds the engine [`Input`]s and carries out
//! the [`Effect`]s it returns, answering those that have an outcome (a link opened, a vmac
//! created, an advert sent) with the matching input.

mod facts;
mod fifo;
mod procwatch;
mod vmac;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use kad_core::config::model::Config;
use kad_core::config::route::{Route, Rule};
use kad_ipc::mio::{unix::SourceFd, Interest, Registry, Token};

use crate::engine::{Effect, Engine, Frame, Input, Port, Source};
use crate::garp::ArpSocket;
use crate::instance::State;
use crate::monitor::{Monitor, NetEvent};
use crate::net::{Vrrp4, Vrrp6};
use crate::vip::Netlink;

/// Tokens: `first_token` and `first_token + 1` are the monitor's; then two per link: its VRRP
/// socket, its AH socket.
const MONITOR_TOKENS: usize = 2;

/// The VRRP sockets of a link, by family.
enum Sock {
    V4(Vrrp4),
    V6(Vrrp6),
}

/// A link as the executor knows it: its interface and its sockets (None if they failed).
struct LinkSocks {
    name: String,
    index: u32,
    sock: Option<Sock>,
}

/// The engine and everything it must not touch.
pub struct Executor {
    engine: Engine,
    links: Vec<LinkSocks>,
    netlink: Option<Netlink>,
    arp: Option<ArpSocket>,
    monitor: Option<Monitor>,
    registry: Registry,
    first_token: usize,
    buf: Vec<u8>,
    /// State changes (instance, new state, effective priority) not yet reported to the parent.
    changes: Vec<(String, State, u8)>,
    /// Instances whose `notify_master_rx_lower_pri` is due, not yet reported to the parent.
    lower_pri: Vec<String>,
    /// `notify_fifo` / `vrrp_notify_fifo`.
    fifos: fifo::VrrpFifos,
    /// `vrrp_track_process`: /proc scans.
    procs: procwatch::ProcWatch,
}

impl Executor {
    /// Opens netlink, the ARP socket and the monitor (tokens from `first_token`), then starts
    /// the engine with `config`. Problems are logged; affected instances stay in FAULT.
    pub fn new(config: &Config, registry: Registry, first_token: usize, now: Instant) -> Self {
        let netlink = Netlink::open()
            .map_err(|e| log::error!("{e}; VIPs cannot be managed"))
            .ok();
        let arp = ArpSocket::open()
            .map_err(|e| log::error!("cannot open the ARP socket: {e}"))
            .ok();
        let monitor = match Monitor::open() {
            Ok(m) => {
                for (k, fd) in m.fds().into_iter().enumerate() {
                    if let Err(err) = registry.register(
                        &mut SourceFd(&fd),
                        Token(first_token + k),
                        Interest::READABLE,
                    ) {
                        log::error!("cannot watch netlink: {err}");
                    }
                }
                Some(m)
            }
            Err(err) => {
                log::error!("{err}; link changes will not be noticed");
                None
            }
        };
        let mut x = Executor {
            engine: Engine::new(),
            links: Vec::new(),
            netlink,
            arp,
            monitor,
            registry,
            first_token,
            buf: vec![0u8; 65536],
            changes: Vec::new(),
            lower_pri: Vec::new(),
            fifos: fifo::VrrpFifos::new(config),
            procs: procwatch::ProcWatch::new(config, None),
        };
        // The first scan comes before the instances start (keepalived's start-up scan).
        x.poll_procs(now);
        let facts = facts::gather(config);
        x.run(now, Input::Start { config, facts });
        x
    }

    /// The engine (for dumps).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Zeroes every instance's counters (keepalived's STATS_CLEAR).
    pub fn clear_stats(&mut self) {
        for i in &mut self.engine.instances {
            i.stats = Default::default();
        }
    }

    /// Applies a new configuration.
    pub fn reload(&mut self, config: &Config, now: Instant) {
        self.fifos.reload(config);
        self.procs = procwatch::ProcWatch::new(config, Some(std::mem::take(&mut self.procs)));
        self.poll_procs(now);
        let facts = facts::gather(config);
        self.run(now, Input::Reload { config, facts });
    }

    /// A vrrp_script result from the checker child.
    pub fn script_status(&mut self, name: &str, ok: bool, now: Instant) {
        self.run(now, Input::Script { name, ok });
    }

    /// `kadctl maintenance`: the instance goes in or out of maintenance.
    pub fn maintenance(&mut self, name: &str, on: bool, now: Instant) {
        self.run(now, Input::Maintenance { name, on });
    }

    /// Stops every instance.
    pub fn shutdown(&mut self, now: Instant) {
        self.run(now, Input::Shutdown);
        self.fifos.close();
    }

    /// The engine's next deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.engine.next_deadline(), self.procs.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Scans /proc for tracked processes if due; feeds the statuses that changed.
    fn poll_procs(&mut self, now: Instant) {
        for (name, ok) in self.procs.poll(now) {
            self.run(now, Input::Process { name: &name, ok });
        }
    }

    /// Delivers due timers.
    pub fn on_timer(&mut self, now: Instant) {
        self.poll_procs(now);
        self.run(now, Input::Timer);
    }

    /// State changes not yet reported to the parent.
    pub fn take_changes(&mut self) -> Vec<(String, State, u8)> {
        std::mem::take(&mut self.changes)
    }

    /// Instances whose `notify_master_rx_lower_pri` is due, not yet reported to the parent.
    pub fn take_lower_pri(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lower_pri)
    }

    /// The descriptor of `token` is readable: the monitor's events, or a link's packets.
    pub fn ready(&mut self, token: Token, now: Instant) {
        let Some(k) = token.0.checked_sub(self.first_token) else {
            return;
        };
        if k < MONITOR_TOKENS {
            let events = self
                .monitor
                .as_ref()
                .map(Monitor::drain)
                .unwrap_or_default();
            for ev in events {
                let input = match ev {
                    NetEvent::Link { index, up } => Input::Link {
                        index,
                        name: nix::net::if_::if_indextoname(index)
                            .ok()
                            .map(|n| n.to_string_lossy().into_owned()),
                        up,
                    },
                    NetEvent::AddressDeleted { index, addr } => {
                        Input::AddressDeleted { index, addr }
                    }
                };
                self.run(now, input);
            }
            return;
        }
        let k = k - MONITOR_TOKENS;
        let source = Source {
            link: k / 2,
            ah: k % 2 == 1,
        };
        self.run(now, Input::Readable(source));
    }

    /// Feeds one input and carries out its effects, then feeds the answers they bring (a link
    /// opened, a vmac created, an advert sent) once the whole list is done: effects are
    /// carried out in the order the engine gave them.
    fn run(&mut self, now: Instant, input: Input<'_>) {
        let mut answers = VecDeque::new();
        for effect in self.engine.handle(now, input) {
            answers.extend(self.carry_out(now, effect));
        }
        while let Some(answer) = answers.pop_front() {
            for effect in self.engine.handle(now, answer) {
                answers.extend(self.carry_out(now, effect));
            }
        }
    }

    /// Carries out one effect; the answer the engine expects, if any.
    fn carry_out(&mut self, now: Instant, effect: Effect) -> Option<Input<'static>> {
        match effect {
            Effect::OpenLink {
                link,
                ifname,
                index,
                src,
                join,
                vmac,
            } => {
                let ok = self.open_link(link, ifname, index, src, join, vmac);
                return Some(Input::LinkOpened { link, ok });
            }
            Effect::JoinGroup { link, group } => self.join(link, group),
            Effect::OpenAh { link, join } => self.open_ah(link, join),
            Effect::Read { source, max } => self.read(source, max, now),
            Effect::SendAdvert {
                instance,
                link,
                priority,
                ah,
                ttl,
                packets,
            } => {
                let error = self.send_advert(link, ah, ttl, &packets).err();
                return Some(Input::Sent {
                    instance,
                    priority,
                    error,
                });
            }
            Effect::AddVips { instance, vips } => {
                for (index, v) in &vips {
                    if let Some(Err(e)) = self.netlink.as_ref().map(|nl| nl.add(*index, v)) {
                        log::error!("({instance}) {e}");
                    }
                }
            }
            Effect::DelVips { instance, vips } => {
                for (index, v) in &vips {
                    if let Some(Err(e)) = self.netlink.as_ref().map(|nl| nl.del(*index, v)) {
                        log::warn!("({instance}) {e}");
                    }
                }
            }
            Effect::Routes {
                instance,
                add,
                routes,
                rules,
            } => self.routes(&instance, add, &routes, &rules),
            Effect::Garp { port, addr } => self.send_announcement(&port, addr),
            Effect::CreateVmac {
                instance,
                owner,
                name,
                base,
                base_name,
                mac,
                ipv4,
            } => {
                let iface = self.create_vmac(&owner, &name, base, &base_name, mac, ipv4);
                return Some(Input::VmacCreated { instance, iface });
            }
            Effect::DeleteVmac { owner, name, index } => {
                if let Some(Err(e)) = self.netlink.as_ref().map(|nl| nl.delete_link(index)) {
                    log::warn!("({owner}) removing {name}: {e}");
                }
            }
            Effect::StateChange {
                name,
                state,
                priority,
            } => {
                self.fifos.on_state(&name, state, priority);
                self.changes.push((name, state, priority));
            }
            Effect::MasterRxLowerPri { instance } => self.lower_pri.push(instance),
            Effect::Drop { log, .. } => {
                if let Some(line) = log {
                    log::warn!("{line}");
                }
            }
        }
        None
    }

    /// Opens and watches the VRRP sockets of link `link`.
    fn open_link(
        &mut self,
        link: usize,
        ifname: String,
        index: u32,
        src: IpAddr,
        join: Option<IpAddr>,
        vmac: bool,
    ) -> bool {
        let opened = match (src, join) {
            (IpAddr::V4(s), None) => Vrrp4::open(&ifname, index, s, None, vmac).map(Sock::V4),
            (IpAddr::V4(s), Some(IpAddr::V4(g))) => {
                Vrrp4::open(&ifname, index, s, Some(g), vmac).map(Sock::V4)
            }
            (IpAddr::V6(s), None) => Vrrp6::open(&ifname, index, s, None).map(Sock::V6),
            (IpAddr::V6(s), Some(IpAddr::V6(g))) => {
                Vrrp6::open(&ifname, index, s, Some(g)).map(Sock::V6)
            }
            _ => Err(std::io::Error::other(
                "source and group of different families",
            )),
        };
        let sock = match opened {
            Ok(s) => {
                let fd = match &s {
                    Sock::V4(s) => s.rx_fd(),
                    Sock::V6(s) => s.rx_fd(),
                };
                let token = Token(self.first_token + MONITOR_TOKENS + 2 * link);
                match self
                    .registry
                    .register(&mut SourceFd(&fd), token, Interest::READABLE)
                {
                    Ok(()) => Some(s),
                    Err(e) => {
                        log::error!("cannot watch {ifname}: {e}");
                        None
                    }
                }
            }
            Err(e) => {
                log::error!("cannot open VRRP sockets on {ifname}: {e}");
                None
            }
        };
        let ok = sock.is_some();
        let entry = LinkSocks {
            name: ifname,
            index,
            sock,
        };
        if link < self.links.len() {
            self.links[link] = entry;
        } else {
            self.links.push(entry);
        }
        ok
    }

    fn join(&self, link: usize, group: IpAddr) {
        let Some(l) = self.links.get(link) else {
            return;
        };
        let joined = match (&l.sock, group) {
            (Some(Sock::V4(s)), IpAddr::V4(g)) => s.join(l.index, g),
            (Some(Sock::V6(s)), IpAddr::V6(g)) => s.join(g),
            _ => Ok(()),
        };
        if let Err(e) = joined {
            log::error!("cannot join {group} on {}: {e}", l.name);
        }
    }

    /// Opens (or joins `group` on) the AH socket of an IPv4 link and watches it.
    fn open_ah(&mut self, link: usize, group: Option<std::net::Ipv4Addr>) {
        let token = Token(self.first_token + MONITOR_TOKENS + 2 * link + 1);
        let Some(l) = self.links.get_mut(link) else {
            return;
        };
        let Some(Sock::V4(s)) = &mut l.sock else {
            return;
        };
        match s.open_ah(&l.name, l.index, group) {
            Ok(Some(fd)) => {
                if let Err(e) =
                    self.registry
                        .register(&mut SourceFd(&fd), token, Interest::READABLE)
                {
                    log::error!("cannot watch the AH socket of {}: {e}", l.name);
                }
            }
            Ok(None) => {}
            Err(e) => log::error!("cannot open the AH socket on {}: {e}", l.name),
        }
    }

    /// Reads at most `max` packets from one socket, feeding each to the engine.
    fn read(&mut self, source: Source, max: usize, now: Instant) {
        // The buffer is moved out while the packets are handled (they need `&mut self`), so no
        // packet is copied; it is put back afterwards.
        let mut buf = std::mem::take(&mut self.buf);
        let mut more = true;
        for _ in 0..max {
            let Some(sock) = self.links.get(source.link).and_then(|l| l.sock.as_ref()) else {
                more = false;
                break;
            };
            let got = match (sock, source.ah) {
                (Sock::V4(s), false) => s.recv(&mut buf).map(|r| r.map(|n| (n, None))),
                (Sock::V4(s), true) => s.recv_ah(&mut buf).map(|r| r.map(|n| (n, None))),
                (Sock::V6(s), _) => s.recv(&mut buf).map(|r| r.map(|m| (m.len, Some(m)))),
            };
            match got {
                Ok(None) => {
                    more = false;
                    break;
                }
                Ok(Some((n, meta))) => {
                    let input = match (buf.get(..n.min(buf.len())), meta) {
                        (Some(p), None) => Input::Packet {
                            source,
                            frame: Frame::V4(p),
                        },
                        (Some(p), Some(m)) => Input::Packet {
                            source,
                            frame: Frame::V6 {
                                src: m.src,
                                dst: m.dst,
                                hop_limit: m.hop_limit,
                                payload: p,
                            },
                        },
                        (None, _) => Input::BadFrame(source),
                    };
                    self.run(now, input);
                }
                Err(e) => {
                    let name = self.links.get(source.link).map(|l| l.name.as_str());
                    log::warn!("receive on {}: {e}", name.unwrap_or("?"));
                    more = false;
                    break;
                }
            }
        }
        self.buf = buf;
        self.run(now, Input::ReadDone { source, more });
    }

    /// Sends the packets of one advert; the last error if any failed.
    fn send_advert(
        &self,
        link: usize,
        ah: bool,
        ttl: u8,
        packets: &[(IpAddr, Vec<u8>)],
    ) -> Result<(), String> {
        let sock = self.links.get(link).and_then(|l| l.sock.as_ref());
        let mut sent = Ok(());
        for (dst, bytes) in packets {
            let one = match (sock, dst, ah) {
                (Some(Sock::V4(s)), IpAddr::V4(d), true) => s.send_ah(*d, bytes),
                (Some(Sock::V4(s)), IpAddr::V4(d), false) => s.send(*d, ttl, bytes),
                (Some(Sock::V6(s)), IpAddr::V6(d), _) => s.send(*d, ttl, bytes),
                (None, ..) => Err(std::io::Error::other("the link has no socket")),
                _ => Err(std::io::Error::other("destination of another family")),
            };
            if let Err(e) = one {
                sent = Err(e.to_string());
            }
        }
        sent
    }

    /// Adds routes then rules, or removes rules then routes; each failure is logged.
    fn routes(&self, owner: &str, add: bool, routes: &[(Option<u32>, Route)], rules: &[Rule]) {
        let Some(nl) = self.netlink.as_ref() else {
            return;
        };
        let route = |(oif, r): &(Option<u32>, Route)| {
            if let Err(e) = nl.route(add, *oif, r) {
                log::error!("({owner}) {} {e}", if add { "adding" } else { "removing" });
            }
        };
        let rule = |r: &Rule| {
            if let Err(e) = nl.rule(add, r) {
                log::error!("({owner}) {} {e}", if add { "adding" } else { "removing" });
            }
        };
        if add {
            routes.iter().for_each(route);
            rules.iter().for_each(rule);
        } else {
            rules.iter().for_each(rule);
            routes.iter().for_each(route);
        }
    }

    fn send_announcement(&self, port: &Port, addr: IpAddr) {
        let sent = match (addr, &self.arp) {
            (IpAddr::V4(a), Some(arp)) => arp.send(port.index, port.mac, a),
            (IpAddr::V6(a), _) => crate::na::send(&port.name, port.index, port.mac, a),
            (IpAddr::V4(_), None) => Ok(()),
        };
        if let Err(e) = sent {
            log::warn!("announcing {addr} on {}: {e}", port.name);
        }
    }

    /// Creates a vmac (removing a stale one of that name first: a killed child may have left
    /// it), sets keepalived's sysctls on it and its base while it is down, brings it up and
    /// returns what it looks like.
    fn create_vmac(
        &self,
        owner: &str,
        name: &str,
        base: u32,
        base_name: &str,
        mac: [u8; 6],
        ipv4: bool,
    ) -> Option<crate::engine::Iface> {
        let nl = self.netlink.as_ref()?;
        if let Ok(stale) = nix::net::if_::if_nametoindex(name) {
            if let Err(e) = nl.delete_link(stale) {
                log::warn!("({owner}) {e}");
            }
        }
        if let Err(e) = nl.create_macvlan(name, base, mac) {
            log::error!("({owner}) {e}");
            return None;
        }
        for (path, value) in vmac::sysctls(name, base_name, ipv4) {
            if let Err(e) = std::fs::write(&path, value) {
                log::warn!("({owner}) cannot set {path} to {value}: {e}");
            }
        }
        let index = match nix::net::if_::if_nametoindex(name) {
            Ok(index) => index,
            Err(e) => {
                log::error!("({owner}) {name} vanished after its creation: {e}");
                return None;
            }
        };
        if let Err(e) = nl.set_up(index) {
            log::error!("({owner}) {e}");
        }
        log::info!("({owner}) Success creating VMAC interface {name}");
        facts::iface(name)
    }
}
