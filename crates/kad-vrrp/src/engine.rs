//! The VRRP child's runtime: turns configured instances into [`Instance`] state machines and
//! carries out their actions on real sockets (adverts), rtnetlink (VIPs) and AF_PACKET (GARP).
//! IPv4 (VRRPv2 and v3) today; an instance it cannot run is reported and left in FAULT.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use kad_core::config::model::{AuthType, Config, VrrpInstance};
use kad_ipc::mio::{unix::SourceFd, Interest, Registry, Token};

use crate::dump::Stats;
use crate::garp::ArpSocket;
use crate::instance::{Action, Event, Instance, Settings, State};
use crate::net::{parse_ipv4, Vrrp4};
use crate::packet::{Advert, Auth, DecodeError};
use crate::vip::{Netlink, Vip};

/// One interface the engine sends and listens on.
struct Link {
    name: String,
    index: u32,
    mac: [u8; 6],
    src: Ipv4Addr,
    sock: Vrrp4,
}

/// One running instance.
pub struct Running {
    /// Its configuration.
    pub cfg: VrrpInstance,
    /// Its state machine.
    pub machine: Instance,
    /// Its counters.
    pub stats: Stats,
    link: Option<usize>,
    group: Ipv4Addr,
    vips: Vec<Vip>,
}

/// All instances of the VRRP child.
pub struct Engine {
    links: Vec<Link>,
    /// The instances, in configuration order.
    pub instances: Vec<Running>,
    netlink: Option<Netlink>,
    arp: Option<ArpSocket>,
    first_token: usize,
    buf: Vec<u8>,
    /// Drops that match no instance, by reason.
    pub drops: HashMap<&'static str, u64>,
    /// State changes not yet reported to the parent.
    pub changes: Vec<(String, State)>,
}

fn mac_of(ifname: &str) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{ifname}/address")).ok()?;
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for b in mac.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    Some(mac)
}

fn primary_v4(ifname: &str) -> Option<Ipv4Addr> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        if ifa.interface_name != ifname {
            return None;
        }
        ifa.address?.as_sockaddr_in().map(|s| s.ip())
    })
}

fn vip_of(v: &kad_core::config::model::VirtualAddress) -> Vip {
    let scope = match v.scope.as_deref() {
        Some("host") => 254,
        Some("link") => 253,
        Some("site") => 200,
        Some("nowhere") => 255,
        Some(n) => n.parse().unwrap_or(0),
        None => 0,
    };
    Vip {
        addr: v.addr,
        prefix: v.prefix,
        broadcast: v.broadcast,
        label: v.label.clone(),
        scope,
    }
}

impl Engine {
    /// Builds the engine for `config`, opening sockets and registering them from `first_token`.
    /// Problems are logged; affected instances stay in FAULT.
    pub fn new(config: &Config, registry: &Registry, first_token: usize) -> Engine {
        let netlink = Netlink::open()
            .map_err(|e| log::error!("{e}; VIPs cannot be managed"))
            .ok();
        let arp = ArpSocket::open()
            .map_err(|e| log::error!("cannot open the ARP socket: {e}"))
            .ok();
        let mut e = Engine {
            links: Vec::new(),
            instances: Vec::new(),
            netlink,
            arp,
            first_token,
            buf: vec![0u8; 65536],
            drops: HashMap::new(),
            changes: Vec::new(),
        };
        for cfg in &config.vrrp_instances {
            let group = match cfg.mcast_dst_ip.unwrap_or(config.global.vrrp_mcast_group4) {
                IpAddr::V4(g) => g,
                IpAddr::V6(_) => Ipv4Addr::new(224, 0, 0, 18),
            };
            let link = if cfg.ipv6 {
                log::error!(
                    "({}) IPv6 VRRP is not implemented yet; instance stays in FAULT",
                    cfg.name
                );
                None
            } else {
                e.link_for(
                    &cfg.interface,
                    group,
                    cfg.mcast_src_ip.or(cfg.unicast_src_ip),
                    registry,
                )
            };
            let primary = link
                .map(|l| IpAddr::V4(e.links[l].src))
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let machine = Instance::new(Settings {
                priority: cfg.priority,
                advert_int: cfg.advert_int,
                preempt: !cfg.nopreempt,
                preempt_delay: cfg.preempt_delay,
                primary,
                down_timer_adverts: cfg.down_timer_adverts,
            });
            e.instances.push(Running {
                vips: cfg.virtual_ipaddress.iter().map(vip_of).collect(),
                cfg: cfg.clone(),
                machine,
                stats: Stats::default(),
                link,
                group,
            });
        }
        e
    }

    fn link_for(
        &mut self,
        ifname: &str,
        group: Ipv4Addr,
        src: Option<IpAddr>,
        registry: &Registry,
    ) -> Option<usize> {
        if let Some(i) = self.links.iter().position(|l| l.name == ifname) {
            return Some(i);
        }
        let index = match nix::net::if_::if_nametoindex(ifname) {
            Ok(i) => i,
            Err(e) => {
                log::error!("interface {ifname}: {e}; its instances stay in FAULT");
                return None;
            }
        };
        let src = match src {
            Some(IpAddr::V4(a)) => Some(a),
            _ => primary_v4(ifname),
        };
        let Some(src) = src else {
            log::error!("interface {ifname} has no IPv4 address; its instances stay in FAULT");
            return None;
        };
        let mac = mac_of(ifname).unwrap_or([0; 6]);
        let sock = match Vrrp4::open(ifname, index, src, group) {
            Ok(s) => s,
            Err(e) => {
                log::error!("cannot open VRRP sockets on {ifname}: {e}");
                return None;
            }
        };
        let token = Token(self.first_token + self.links.len());
        if let Err(e) = registry.register(&mut SourceFd(&sock.rx_fd()), token, Interest::READABLE) {
            log::error!("cannot watch {ifname}: {e}");
            return None;
        }
        self.links.push(Link {
            name: ifname.to_string(),
            index,
            mac,
            src,
            sock,
        });
        Some(self.links.len() - 1)
    }

    /// Starts every instance that has a working link; others go to FAULT.
    pub fn start(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            // A respawned child may find the VIPs a killed one left behind: start clean.
            if let Some(l) = self.instances[i].link {
                self.remove_vips(i, l);
            }
            let ev = if self.instances[i].link.is_some() {
                Event::Start
            } else {
                Event::FaultOn
            };
            self.feed(i, now, ev);
        }
    }

    /// Stops every instance (masters send priority 0 and drop their VIPs).
    pub fn shutdown(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            self.feed(i, now, Event::Shutdown);
        }
    }

    /// The earliest timer of any instance.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.instances
            .iter()
            .filter_map(|r| r.machine.next_deadline())
            .min()
    }

    /// Delivers timer events that are due.
    pub fn on_timer(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            if self.instances[i]
                .machine
                .next_deadline()
                .is_some_and(|d| d <= now)
            {
                self.feed(i, now, Event::Timer);
            }
        }
    }

    /// Reads every waiting packet on the link of `token`.
    pub fn ready(&mut self, token: Token, now: Instant) {
        let Some(l) = token
            .0
            .checked_sub(self.first_token)
            .filter(|&l| l < self.links.len())
        else {
            return;
        };
        loop {
            let n = match self.links[l].sock.recv(&mut self.buf) {
                Ok(Some(n)) => n,
                Ok(None) => return,
                Err(e) => {
                    log::warn!("receive on {}: {e}", self.links[l].name);
                    return;
                }
            };
            let packet = self.buf[..n].to_vec();
            self.receive(l, &packet, now);
        }
    }

    fn count_drop(&mut self, reason: &'static str) {
        *self.drops.entry(reason).or_insert(0) += 1;
    }

    fn receive(&mut self, l: usize, packet: &[u8], now: Instant) {
        let Some(meta) = parse_ipv4(packet) else {
            self.count_drop("bad_ip_header");
            return;
        };
        if meta.src == self.links[l].src {
            return;
        }
        let msg = &packet[meta.payload_at..meta.payload_end];
        let advert = match Advert::parse(msg, IpAddr::V4(meta.src), IpAddr::V4(meta.dst)) {
            Ok(a) => a,
            Err(e) => {
                let vrid = msg.get(1).copied();
                self.drop_decode(l, vrid, &e);
                return;
            }
        };
        let Some(i) = self
            .instances
            .iter()
            .position(|r| r.link == Some(l) && r.cfg.vrid == advert.vrid && !r.cfg.ipv6)
        else {
            self.count_drop("unknown_vrid");
            return;
        };
        let r = &mut self.instances[i];
        r.stats.advert_rcvd += 1;
        if meta.ttl != 255 {
            r.stats.ip_ttl_err += 1;
            log::warn!(
                "({}) advert from {} with TTL {}; dropped",
                r.cfg.name,
                meta.src,
                meta.ttl
            );
            return;
        }
        if advert.version != r.cfg.version {
            r.stats.invalid_type_rcvd += 1;
            log::warn!(
                "({}) advert from {} is VRRPv{}, we run v{}; dropped",
                r.cfg.name,
                meta.src,
                advert.version,
                r.cfg.version
            );
            return;
        }
        if r.cfg.version == 2 {
            let want = match &r.cfg.authentication {
                Some(a) if a.auth_type == AuthType::Pass => Auth::pass(&a.auth_pass),
                Some(_) => Auth::Ah,
                None => Auth::None,
            };
            if std::mem::discriminant(&want) != std::mem::discriminant(&advert.auth) {
                r.stats.authtype_mismatch += 1;
                log::warn!(
                    "({}) advert from {} has another authentication type; dropped",
                    r.cfg.name,
                    meta.src
                );
                return;
            }
            if want != advert.auth {
                r.stats.auth_failure += 1;
                log::warn!(
                    "({}) advert from {} failed authentication; dropped",
                    r.cfg.name,
                    meta.src
                );
                return;
            }
            let ours = (r.cfg.advert_int.as_millis() / 10) as u16;
            if advert.interval_cs != ours {
                r.stats.advert_interval_err += 1;
                log::warn!(
                    "({}) advert interval mismatch from {}: {} cs, ours {ours} cs; dropped",
                    r.cfg.name,
                    meta.src,
                    advert.interval_cs
                );
                return;
            }
        }
        if advert.priority == 0 {
            r.stats.pri_zero_rcvd += 1;
        }
        let ev = Event::Advert {
            src: IpAddr::V4(meta.src),
            priority: advert.priority,
            interval: std::time::Duration::from_millis(u64::from(advert.interval_cs) * 10),
        };
        self.feed(i, now, ev);
    }

    fn drop_decode(&mut self, l: usize, vrid: Option<u8>, e: &DecodeError) {
        match self
            .instances
            .iter_mut()
            .find(|r| r.link == Some(l) && Some(r.cfg.vrid) == vrid)
        {
            Some(r) => {
                match e {
                    DecodeError::Truncated(_) | DecodeError::Length { .. } => {
                        r.stats.packet_len_err += 1
                    }
                    DecodeError::Type(_) | DecodeError::Version(_) => {
                        r.stats.invalid_type_rcvd += 1
                    }
                    DecodeError::Checksum { .. } | DecodeError::Family => {
                        r.stats.packet_len_err += 1
                    }
                }
                log::warn!("({}) dropped a malformed advert: {e}", r.cfg.name);
            }
            None => self.count_drop(e.counter()),
        }
    }

    /// Feeds one event to instance `i` and carries out its actions.
    fn feed(&mut self, i: usize, now: Instant, ev: Event) {
        let actions = self.instances[i].machine.handle(now, ev);
        for a in actions {
            self.act(i, a);
        }
    }

    fn act(&mut self, i: usize, action: Action) {
        let Some(l) = self.instances[i].link else {
            if let Action::Transition { to, .. } = action {
                log::info!(
                    "({}) Entering {} STATE",
                    self.instances[i].cfg.name,
                    to.name()
                );
                self.changes.push((self.instances[i].cfg.name.clone(), to));
            }
            return;
        };
        match action {
            Action::SendAdvert { priority } => self.send_advert(i, l, priority),
            Action::AddAddresses => {
                if let Some(nl) = &self.netlink {
                    for v in &self.instances[i].vips {
                        let dev = self.instances[i]
                            .cfg
                            .virtual_ipaddress
                            .iter()
                            .find(|c| c.addr == v.addr)
                            .and_then(|c| c.dev.clone());
                        let index = dev
                            .and_then(|d| nix::net::if_::if_nametoindex(d.as_str()).ok())
                            .unwrap_or(self.links[l].index);
                        if let Err(e) = nl.add(index, v) {
                            log::error!("({}) {e}", self.instances[i].cfg.name);
                        }
                    }
                }
            }
            Action::RemoveAddresses => self.remove_vips(i, l),
            Action::Announce => {
                let r = &self.instances[i];
                let repeat = r.cfg.garp.master_repeat.max(1);
                if let Some(arp) = &self.arp {
                    for v in &r.vips {
                        if let IpAddr::V4(a) = v.addr {
                            for _ in 0..repeat {
                                if let Err(e) = arp.send(self.links[l].index, self.links[l].mac, a)
                                {
                                    log::warn!("({}) gratuitous ARP for {a}: {e}", r.cfg.name);
                                }
                            }
                        }
                    }
                }
            }
            Action::Transition { from, to } => {
                let r = &mut self.instances[i];
                if to == State::Master {
                    r.stats.become_master += 1;
                }
                if from == State::Master {
                    r.stats.release_master += 1;
                }
                log::info!("({}) Entering {} STATE", r.cfg.name, to.name());
                self.changes.push((r.cfg.name.clone(), to));
            }
        }
    }

    fn remove_vips(&mut self, i: usize, l: usize) {
        if let Some(nl) = &self.netlink {
            for v in &self.instances[i].vips {
                let dev = self.instances[i]
                    .cfg
                    .virtual_ipaddress
                    .iter()
                    .find(|c| c.addr == v.addr)
                    .and_then(|c| c.dev.clone());
                let index = dev
                    .and_then(|d| nix::net::if_::if_nametoindex(d.as_str()).ok())
                    .unwrap_or(self.links[l].index);
                if let Err(e) = nl.del(index, v) {
                    log::warn!("({}) {e}", self.instances[i].cfg.name);
                }
            }
        }
    }

    fn send_advert(&mut self, i: usize, l: usize, priority: u8) {
        let r = &mut self.instances[i];
        let auth = match (&r.cfg.authentication, r.cfg.version) {
            (Some(a), 2) if a.auth_type == AuthType::Pass => Auth::pass(&a.auth_pass),
            _ => Auth::None,
        };
        let advert = Advert {
            version: r.cfg.version,
            vrid: r.cfg.vrid,
            priority,
            interval_cs: (r.cfg.advert_int.as_millis() / 10) as u16,
            addresses: r.cfg.virtual_ipaddress.iter().map(|v| v.addr).collect(),
            auth,
        };
        let src = IpAddr::V4(self.links[l].src);
        let dst = IpAddr::V4(r.group);
        let msg = advert.emit(src, dst);
        match self.links[l].sock.send(r.group, &msg) {
            Ok(()) => {
                r.stats.advert_sent += 1;
                if priority == 0 {
                    r.stats.pri_zero_sent += 1;
                }
            }
            Err(e) => log::warn!("({}) sending advert: {e}", r.cfg.name),
        }
    }
}
