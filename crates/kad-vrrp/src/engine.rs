//! The VRRP child's runtime: turns configured instances into [`Instance`] state machines and
//! carries out their actions on real sockets (adverts), rtnetlink (VIPs), AF_PACKET (GARP) and
//! ICMPv6 (NA). IPv4 (VRRPv2 and v3) and IPv6 (v3); an instance it cannot run is reported and
//! left in FAULT.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use kad_core::config::model::{AuthType, Config, VirtualAddress, VrrpInstance, VrrpScript};
use kad_ipc::mio::{unix::SourceFd, Interest, Registry, Token};

mod receive;

use receive::Source;
pub use receive::PACKETS_PER_WAKEUP;

use crate::ah::{self, SeqCounter};
use crate::dump::Stats;
use crate::garp::ArpSocket;
use crate::instance::{Action, Event, Instance, Settings, State};
use crate::monitor::{Monitor, NetEvent};
use crate::net::{Vrrp4, Vrrp6};
use crate::packet::{Advert, Auth};
use crate::vip::{Netlink, Vip};

/// The VRRP sockets of a link, by family.
enum Sock {
    V4(Vrrp4),
    V6(Vrrp6),
}

/// One interface and family the engine sends and listens on.
struct Link {
    name: String,
    index: u32,
    mac: [u8; 6],
    src: IpAddr,
    sock: Sock,
    /// IPv4 identification of the next AH packet (kad writes the header under AH).
    ip_id: u16,
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
    /// Periodic GARP/NA while MASTER (garp_master_refresh).
    refresh_at: Option<Instant>,
    /// `auth_type AH` (VRRPv2 over IPv4): the HMAC key.
    ah_key: Option<ah::Key>,
    /// AH sequence numbers, sent and received (keepalived's one counter).
    ah_seq: SeqCounter,
}

/// Where gratuitous ARPs / NAs go out: interface index, its MAC, its name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Port {
    index: u32,
    mac: [u8; 6],
    name: String,
}

/// The macvlan interface of a `use_vmac` instance.
struct VmacLink {
    name: String,
    index: u32,
    mac: [u8; 6],
}

/// A `vrrp_sync_group`, resolved to instance indices.
struct SyncGroup {
    members: Vec<usize>,
    track_interface: Vec<String>,
}

impl SyncGroup {
    /// The group's own tracked interfaces: any down puts every member in FAULT.
    fn tracked_down(&self) -> bool {
        self.track_interface.iter().any(|n| !interface_running(n))
    }
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
    /// State changes (instance, new state, effective priority) not yet reported to the parent.
    pub changes: Vec<(String, State, u8)>,
    /// Last time a drop of each (instance, reason) was logged: one line per 10 s at most.
    logged: HashMap<(usize, &'static str), Instant>,
    min_garp: bool,
    monitor: Option<Monitor>,
    /// Last known running state of each interface index seen by the monitor.
    link_up: HashMap<u32, bool>,
    /// vrrp_script definitions by name, and the last result of each (from the checker child).
    scripts: HashMap<String, VrrpScript>,
    script_ok: HashMap<String, bool>,
    /// Sync groups with member indices; `propagating` stops a group move from echoing.
    groups: Vec<SyncGroup>,
    propagating: bool,
    /// GARP/NA packets waiting for their turn: (when, link, address).
    announce_queue: VecDeque<(Instant, Port, IpAddr)>,
    /// `vrrp_garp_interval` and `vrrp_gna_interval`: spacing of GARPs / NAs on one interface.
    garp_interval: Duration,
    gna_interval: Duration,
    /// Sockets with packets left after a bounded read, and since when.
    backlog: Vec<Source>,
    backlog_at: Option<Instant>,
}

/// Tokens: `first_token` and `first_token + 1` are the monitor's; then two per link: its VRRP
/// socket, its AH socket.
const MONITOR_TOKENS: usize = 2;

/// True unless the interface is administratively down or has no carrier.
fn interface_running(ifname: &str) -> bool {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/sys/class/net/{ifname}/{f}")).unwrap_or_default()
    };
    let flags = u32::from_str_radix(read("flags").trim().trim_start_matches("0x"), 16).unwrap_or(0);
    let up = flags & libc::IFF_UP as u32 != 0;
    up && read("carrier").trim() != "0"
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

/// The interface's first IPv4 address, or (IPv6) its link-local address.
fn primary(ifname: &str, ipv6: bool) -> Option<IpAddr> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        if ifa.interface_name != ifname {
            return None;
        }
        let a = ifa.address?;
        if ipv6 {
            a.as_sockaddr_in6()
                .map(|s| s.ip())
                .filter(|ip| ip.segments()[0] & 0xffc0 == 0xfe80)
                .map(IpAddr::V6)
        } else {
            a.as_sockaddr_in().map(|s| IpAddr::V4(s.ip()))
        }
    })
}

fn vip_of(v: &VirtualAddress) -> Vip {
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

/// The addresses an instance installs as MASTER.
fn vips_of(cfg: &VrrpInstance) -> Vec<Vip> {
    cfg.virtual_ipaddress
        .iter()
        .chain(&cfg.virtual_ipaddress_excluded)
        .map(vip_of)
        .collect()
}

fn settings_of(cfg: &VrrpInstance, primary: IpAddr) -> Settings {
    Settings {
        priority: cfg.priority,
        advert_int: cfg.advert_int,
        preempt: !cfg.nopreempt,
        preempt_delay: cfg.preempt_delay,
        primary,
        down_timer_adverts: cfg.down_timer_adverts,
    }
}

/// What must stay the same for a reloaded instance to keep running undisturbed.
fn same_identity(a: &VrrpInstance, b: &VrrpInstance) -> bool {
    a.interface == b.interface
        && a.vrid == b.vrid
        && a.version == b.version
        && a.ipv6 == b.ipv6
        && a.advert_int == b.advert_int
        && a.unicast_src_ip == b.unicast_src_ip
        && a.mcast_src_ip == b.mcast_src_ip
        && a.mcast_dst_ip == b.mcast_dst_ip
        && a.unicast_peers == b.unicast_peers
        && a.authentication == b.authentication
}

fn interval_cs(d: Duration) -> u16 {
    (d.as_millis() / 10).min(u128::from(u16::MAX)) as u16
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
            logged: HashMap::new(),
            min_garp: config.global.vrrp_min_garp,
            monitor: None,
            link_up: HashMap::new(),
            announce_queue: VecDeque::new(),
            scripts: config
                .vrrp_scripts
                .iter()
                .map(|s| (s.name.clone(), s.clone()))
                .collect(),
            script_ok: HashMap::new(),
            groups: Vec::new(),
            propagating: false,
            garp_interval: config.global.vrrp_garp_interval,
            gna_interval: config.global.vrrp_gna_interval,
            backlog: Vec::new(),
            backlog_at: None,
        };
        match Monitor::open() {
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
                e.monitor = Some(m);
            }
            Err(err) => log::error!("{err}; link changes will not be noticed"),
        }
        for cfg in &config.vrrp_instances {
            let r = e.build(cfg, config, registry);
            e.instances.push(r);
        }
        e.index_groups(config);
        e
    }

    /// A running instance for `cfg` (its link opened or shared), not started yet.
    fn build(&mut self, cfg: &VrrpInstance, config: &Config, registry: &Registry) -> Running {
        let default_group = if cfg.ipv6 {
            config.global.vrrp_mcast_group6
        } else {
            config.global.vrrp_mcast_group4
        };
        let group = cfg
            .mcast_dst_ip
            .filter(|g| g.is_ipv6() == cfg.ipv6)
            .unwrap_or(default_group);
        let peers: Vec<IpAddr> = cfg.unicast_peers.iter().map(|p| p.addr).collect();
        let src = if peers.is_empty() {
            cfg.mcast_src_ip
        } else {
            cfg.unicast_src_ip
        };
        let mut link = self.link_for(&cfg.interface, group, !peers.is_empty(), src, registry);
        // use_vmac: the instance lives on its macvlan (receive, send, VIPs, GARP) with the base
        // interface's address as source. It must receive there: the kernel hands multicast from
        // a peer whose vmac has the same virtual MAC to the local vmac only, not to the base.
        let mut vmac = None;
        if let (Some(v), Some(base)) = (&cfg.use_vmac, link) {
            vmac = self.make_vmac(cfg, v, base);
            if let (Some(vm), false) = (&vmac, cfg.vmac_xmit_base) {
                let src = Some(self.links[base].src);
                link = self.link_for(&vm.name, group, !peers.is_empty(), src, registry);
            }
        }
        let primary = link
            .map(|l| self.links[l].src)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let ah_key = match &cfg.authentication {
            Some(a) if a.auth_type == AuthType::Ah && cfg.version == 2 && !cfg.ipv6 => {
                Some(ah::Key::new(&a.auth_pass))
            }
            _ => None,
        };
        if let (Some(_), Some(l)) = (&ah_key, link) {
            let join = peers.is_empty().then_some(group);
            self.open_ah(l, join, registry);
        }
        let mut r = Running {
            ah_key,
            ah_seq: SeqCounter::default(),
            vips: vips_of(cfg),
            garp_at: None,
            refresh_at: None,
            peers,
            split_brain_logged: false,
            own_fault: false,
            vmac: None,
            machine: Instance::new(settings_of(cfg, primary)),
            cfg: cfg.clone(),
            stats: Stats::default(),
            link,
            group,
        };
        r.vmac = vmac;
        r
    }

    /// Applies a new configuration without disturbing what did not change: instances are
    /// matched by name; one whose identity (interface, family, VRID, version, interval,
    /// addressing) is unchanged keeps its state, its counters and its VIPs, with added or
    /// removed VIPs applied as a diff; removed instances stop (priority 0 if MASTER); new ones
    /// start.
    pub fn reload(&mut self, config: &Config, registry: &Registry, now: Instant) {
        // Group member indices refer to the old instance order; they are rebuilt below.
        self.groups.clear();
        self.scripts = config
            .vrrp_scripts
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect();
        self.min_garp = config.global.vrrp_min_garp;
        self.garp_interval = config.global.vrrp_garp_interval;
        self.gna_interval = config.global.vrrp_gna_interval;
        let mut old = std::mem::take(&mut self.instances);
        let mut started = Vec::new();
        for cfg in &config.vrrp_instances {
            let same = old
                .iter()
                .position(|r| r.cfg.name == cfg.name && same_identity(&r.cfg, cfg));
            match same {
                Some(pos) => {
                    let mut r = old.remove(pos);
                    let new_vips = vips_of(cfg);
                    let gone: Vec<Vip> = r
                        .vips
                        .iter()
                        .filter(|v| !new_vips.contains(v))
                        .cloned()
                        .collect();
                    let added: Vec<Vip> = new_vips
                        .iter()
                        .filter(|v| !r.vips.contains(v))
                        .cloned()
                        .collect();
                    let primary = r
                        .link
                        .map(|l| self.links[l].src)
                        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                    r.machine.reconfigure(settings_of(cfg, primary));
                    r.cfg = cfg.clone();
                    r.vips = new_vips;
                    self.instances.push(r);
                    let i = self.instances.len() - 1;
                    if let (State::Master, Some(l)) =
                        (self.instances[i].machine.state(), self.instances[i].link)
                    {
                        for v in &gone {
                            let index = self.vip_index(i, l, v);
                            if let Some(Err(e)) = self.netlink.as_ref().map(|nl| nl.del(index, v)) {
                                log::warn!("({}) {e}", cfg.name);
                            }
                        }
                        for v in &added {
                            let index = self.vip_index(i, l, v);
                            if let Some(Err(e)) = self.netlink.as_ref().map(|nl| nl.add(index, v)) {
                                log::error!("({}) {e}", cfg.name);
                            }
                        }
                    }
                    if !gone.is_empty() || !added.is_empty() {
                        log::info!(
                            "({}) reloaded: {} VIP(s) added, {} removed",
                            cfg.name,
                            added.len(),
                            gone.len()
                        );
                    }
                }
                None => {
                    let r = self.build(cfg, config, registry);
                    log::info!("({}) new instance", cfg.name);
                    self.instances.push(r);
                    started.push(self.instances.len() - 1);
                }
            }
        }
        // Removed (or re-identified) instances stop as on shutdown.
        let keep = self.instances.len();
        self.instances.append(&mut old);
        for i in keep..self.instances.len() {
            log::info!("({}) removed by the reload", self.instances[i].cfg.name);
            self.feed(i, now, Event::Shutdown);
            self.drop_vmac(i);
        }
        self.instances.truncate(keep);
        self.index_groups(config);
        for i in started {
            if let Some(l) = self.instances[i].link {
                self.remove_vips(i, l);
            }
            let running = self.instances[i]
                .link
                .is_some_and(|l| interface_running(&self.links[l].name));
            self.feed(
                i,
                now,
                if running {
                    Event::Start
                } else {
                    Event::FaultOn
                },
            );
        }
        for i in 0..self.instances.len() {
            self.evaluate(i, now);
        }
    }

    /// A vrrp_script result from the checker child; re-evaluates the instances tracking it.
    pub fn script_status(&mut self, name: &str, ok: bool, now: Instant) {
        self.script_ok.insert(name.to_string(), ok);
        for i in 0..self.instances.len() {
            if self.instances[i]
                .cfg
                .track_script
                .iter()
                .any(|t| t.name == name)
            {
                self.evaluate(i, now);
            }
        }
    }

    /// Effective priority and fault from tracked scripts and interfaces (keepalived's rules):
    /// weight 0 down -> FAULT; a positive weight is added while up, a negative one while down
    /// (`reverse` swaps up and down); the result is clamped to 1..=254 (255 stays 255).
    fn evaluate(&mut self, i: usize, now: Instant) {
        let r = &self.instances[i];
        let mut fault = r.link.is_none_or(|l| !self.link_running(l));
        let mut delta: i32 = 0;
        let mut apply = |up: bool, weight: i32, reverse: bool| {
            let up = up != reverse;
            match weight {
                0 => fault |= !up,
                w if w > 0 && up => delta += w,
                w if w < 0 && !up => delta += w,
                _ => {}
            }
        };
        for t in &r.cfg.track_script {
            let Some(script) = self.scripts.get(&t.name) else {
                continue;
            };
            let ok = self
                .script_ok
                .get(&t.name)
                .copied()
                .unwrap_or(!script.init_fail);
            let reverse = t.reverse || (t.weight.is_none() && script.weight_reverse);
            apply(ok, t.weight.unwrap_or(script.weight), reverse);
        }
        for t in &r.cfg.track_interface {
            apply(interface_running(&t.name), t.weight.unwrap_or(0), t.reverse);
        }
        let base = i32::from(r.cfg.priority);
        let effective = if base == 255 {
            255
        } else {
            (base + delta).clamp(1, 254)
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
                let group_down = self.groups[g].tracked_down();
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

    /// The sync group instance `i` belongs to.
    fn group_of(&self, i: usize) -> Option<usize> {
        self.groups.iter().position(|g| g.members.contains(&i))
    }

    /// Creates the instance's macvlan (removing a stale one of that name first: a killed child
    /// may have left it), named `vrrp.VRID` unless configured, with the VRRP virtual MAC.
    fn make_vmac(
        &mut self,
        cfg: &VrrpInstance,
        v: &kad_core::config::model::Vmac,
        l: usize,
    ) -> Option<VmacLink> {
        let name = v
            .name
            .clone()
            .unwrap_or_else(|| format!("vrrp.{}", cfg.vrid));
        let mac = [0, 0, 0x5e, 0, if cfg.ipv6 { 2 } else { 1 }, cfg.vrid];
        let nl = self.netlink.as_ref()?;
        if let Ok(stale) = nix::net::if_::if_nametoindex(name.as_str()) {
            if let Err(e) = nl.delete_link(stale) {
                log::warn!("({}) {e}", cfg.name);
            }
        }
        if let Err(e) = nl.create_macvlan(&name, self.links[l].index, mac) {
            log::error!("({}) {e}", cfg.name);
            return None;
        }
        let index = nix::net::if_::if_nametoindex(name.as_str()).ok()?;
        // Only the vmac may answer ARP for the VIPs, with the virtual MAC.
        let base = &self.links[l].name;
        // And the base interface must not announce a VIP as the sender of its own requests.
        let _ = std::fs::write(format!("/proc/sys/net/ipv4/conf/{base}/arp_ignore"), "1");
        let _ = std::fs::write(format!("/proc/sys/net/ipv4/conf/{base}/arp_announce"), "2");
        log::info!(
            "({}) created {name} with MAC 00:00:5e:00:0{}:{:02x}",
            cfg.name,
            mac[4],
            mac[5]
        );
        Some(VmacLink { name, index, mac })
    }

    /// Deletes the macvlan of instance `i`, if it has one.
    fn drop_vmac(&mut self, i: usize) {
        if let (Some(v), Some(nl)) = (self.instances[i].vmac.take(), self.netlink.as_ref()) {
            if let Err(e) = nl.delete_link(v.index) {
                log::warn!("({}) removing {}: {e}", self.instances[i].cfg.name, v.name);
            }
        }
    }

    /// Recomputes the member indices of every sync group (after start or reload).
    fn index_groups(&mut self, config: &Config) {
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
            })
            .collect();
    }

    /// Members of a sync group move together: one becoming MASTER pulls the BACKUP members
    /// up, one falling back to BACKUP pulls the MASTER members down.
    fn follow_group(&mut self, i: usize, from: State, to: State) {
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
        let now = Instant::now();
        for m in self.groups[g].members.clone() {
            if m != i {
                self.feed(m, now, event);
            }
        }
        self.propagating = false;
    }

    fn link_running(&self, l: usize) -> bool {
        self.link_up
            .get(&self.links[l].index)
            .copied()
            .unwrap_or_else(|| interface_running(&self.links[l].name))
    }

    fn link_for(
        &mut self,
        ifname: &str,
        group: IpAddr,
        unicast: bool,
        src: Option<IpAddr>,
        registry: &Registry,
    ) -> Option<usize> {
        let ipv6 = group.is_ipv6();
        let join = (!unicast).then_some(group);
        if let Some(i) = self
            .links
            .iter()
            .position(|l| l.name == ifname && l.src.is_ipv6() == ipv6)
        {
            let joined = match (&self.links[i].sock, join) {
                (Sock::V4(s), Some(IpAddr::V4(g))) => s.join(self.links[i].index, g),
                (Sock::V6(s), Some(IpAddr::V6(g))) => s.join(g),
                _ => Ok(()),
            };
            if let Err(e) = joined {
                log::error!("cannot join {group} on {ifname}: {e}");
            }
            return Some(i);
        }
        let index = match nix::net::if_::if_nametoindex(ifname) {
            Ok(i) => i,
            Err(e) => {
                log::error!("interface {ifname}: {e}; its instances stay in FAULT");
                return None;
            }
        };
        let src = src
            .filter(|s| s.is_ipv6() == ipv6)
            .or_else(|| primary(ifname, ipv6));
        let Some(src) = src else {
            let what = if ipv6 { "IPv6 link-local" } else { "IPv4" };
            log::error!("interface {ifname} has no {what} address; its instances stay in FAULT");
            return None;
        };
        let mac = mac_of(ifname).unwrap_or([0; 6]);
        let opened = match (src, group) {
            (IpAddr::V4(s), IpAddr::V4(_)) => {
                let g = join.and_then(|g| match g {
                    IpAddr::V4(g) => Some(g),
                    IpAddr::V6(_) => None,
                });
                Vrrp4::open(ifname, index, s, g).map(Sock::V4)
            }
            (IpAddr::V6(s), IpAddr::V6(_)) => {
                let g = join.and_then(|g| match g {
                    IpAddr::V6(g) => Some(g),
                    IpAddr::V4(_) => None,
                });
                Vrrp6::open(ifname, index, s, g).map(Sock::V6)
            }
            _ => Err(std::io::Error::other(
                "source and group of different families",
            )),
        };
        let sock = match opened {
            Ok(s) => s,
            Err(e) => {
                log::error!("cannot open VRRP sockets on {ifname}: {e}");
                return None;
            }
        };
        let fd = match &sock {
            Sock::V4(s) => s.rx_fd(),
            Sock::V6(s) => s.rx_fd(),
        };
        let token = Token(self.first_token + MONITOR_TOKENS + 2 * self.links.len());
        if let Err(e) = registry.register(&mut SourceFd(&fd), token, Interest::READABLE) {
            log::error!("cannot watch {ifname}: {e}");
            return None;
        }
        self.links.push(Link {
            name: ifname.to_string(),
            index,
            mac,
            src,
            sock,
            ip_id: 0,
        });
        Some(self.links.len() - 1)
    }

    /// Opens (or joins `group` on) the AH socket of IPv4 link `l` and watches it.
    fn open_ah(&mut self, l: usize, group: Option<IpAddr>, registry: &Registry) {
        let group = match group {
            Some(IpAddr::V4(g)) => Some(g),
            _ => None,
        };
        let link = &mut self.links[l];
        let Sock::V4(s) = &mut link.sock else {
            return;
        };
        match s.open_ah(&link.name, link.index, group) {
            Ok(Some(fd)) => {
                let token = Token(self.first_token + MONITOR_TOKENS + 2 * l + 1);
                if let Err(e) = registry.register(&mut SourceFd(&fd), token, Interest::READABLE) {
                    log::error!("cannot watch the AH socket of {}: {e}", link.name);
                }
            }
            Ok(None) => {}
            Err(e) => log::error!("cannot open the AH socket on {}: {e}", link.name),
        }
    }

    /// Starts every instance that has a working link; others go to FAULT.
    pub fn start(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            // A respawned child may find the VIPs a killed one left behind: start clean.
            if let Some(l) = self.instances[i].link {
                self.remove_vips(i, l);
            }
            let running = self.instances[i]
                .link
                .is_some_and(|l| interface_running(&self.links[l].name));
            if !running && self.instances[i].link.is_some() {
                log::warn!(
                    "({}) interface {} is down; FAULT until it comes up",
                    self.instances[i].cfg.name,
                    self.instances[i].cfg.interface
                );
            }
            let ev = if running {
                Event::Start
            } else {
                Event::FaultOn
            };
            self.feed(i, now, ev);
            self.evaluate(i, now);
        }
    }

    /// Stops every instance (masters send priority 0 and drop their VIPs).
    pub fn shutdown(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            self.feed(i, now, Event::Shutdown);
            self.drop_vmac(i);
        }
    }

    /// The earliest timer of any instance (protocol timers and GARP bursts).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.instances
            .iter()
            .flat_map(|r| [r.machine.next_deadline(), r.garp_at, r.refresh_at])
            .flatten()
            .chain(self.announce_queue.front().map(|(t, _, _)| *t))
            .chain(self.backlog_at)
            .min()
    }

    /// Delivers timer events that are due, then reads the sockets a flood left waiting.
    pub fn on_timer(&mut self, now: Instant) {
        self.run_timers(now);
        self.drain_backlog(now);
    }

    fn run_timers(&mut self, now: Instant) {
        while self
            .announce_queue
            .front()
            .is_some_and(|(t, _, _)| *t <= now)
        {
            if let Some((_, port, addr)) = self.announce_queue.pop_front() {
                self.send_announcement(&port, addr);
            }
        }
        for i in 0..self.instances.len() {
            let master = self.instances[i].machine.state() == State::Master;
            if self.instances[i].garp_at.is_some_and(|t| t <= now) {
                self.instances[i].garp_at = None;
                if let (true, Some(l)) = (master, self.instances[i].link) {
                    self.announce(i, l);
                }
            }
            if self.instances[i].refresh_at.is_some_and(|t| t <= now) {
                let every = self.instances[i].cfg.garp.master_refresh;
                self.instances[i].refresh_at = master.then_some(now + every);
                if let (true, Some(l)) = (master, self.instances[i].link) {
                    self.announce(i, l);
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
    }

    fn on_net_event(&mut self, ev: NetEvent, now: Instant) {
        match ev {
            NetEvent::Link { index, up } => {
                let was = self.link_up.insert(index, up);
                if was == Some(up) {
                    return;
                }
                let name = nix::net::if_::if_indextoname(index)
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
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
                    if own || tracked {
                        self.evaluate(i, now);
                    }
                }
            }
            NetEvent::AddressDeleted { index, addr } => {
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
                    log::warn!(
                        "({}) virtual address {addr} was removed from under us; adding it back",
                        self.instances[i].cfg.name
                    );
                    if let Some(Err(e)) = self.netlink.as_ref().map(|nl| nl.add(index, &v)) {
                        log::error!("({}) {e}", self.instances[i].cfg.name);
                    }
                }
            }
        }
    }

    /// Feeds one event to instance `i` and carries out its actions.
    fn feed(&mut self, i: usize, now: Instant, ev: Event) {
        let actions = self.instances[i].machine.handle(now, ev);
        for a in actions {
            self.act(i, a);
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
            .and_then(|d| nix::net::if_::if_nametoindex(d).ok())
            .unwrap_or(default)
    }

    fn act(&mut self, i: usize, action: Action) {
        if let Action::Transition { from, to } = action {
            let r = &mut self.instances[i];
            if to == State::Master {
                r.stats.become_master += 1;
            }
            if from == State::Master {
                r.stats.release_master += 1;
                r.split_brain_logged = false;
            }
            log::info!("({}) Entering {} STATE", r.cfg.name, to.name());
            self.changes
                .push((r.cfg.name.clone(), to, r.machine.priority()));
            self.follow_group(i, from, to);
            return;
        }
        let Some(l) = self.instances[i].link else {
            return;
        };
        match action {
            Action::SendAdvert { priority } => self.send_advert(i, l, priority),
            Action::AddAddresses => {
                for v in &self.instances[i].vips {
                    let index = self.vip_index(i, l, v);
                    if let Some(Err(e)) = self.netlink.as_ref().map(|nl| nl.add(index, v)) {
                        log::error!("({}) {e}", self.instances[i].cfg.name);
                    }
                }
            }
            Action::RemoveAddresses => self.remove_vips(i, l),
            Action::Announce => {
                self.announce(i, l);
                let now = Instant::now();
                let g = &self.instances[i].cfg.garp;
                let (delay, refresh) = (g.master_delay, g.master_refresh);
                let r = &mut self.instances[i];
                r.garp_at = (!delay.is_zero() && !self.min_garp).then_some(now + delay);
                r.refresh_at = (!refresh.is_zero()).then_some(now + refresh);
            }
            Action::Transition { .. } => {}
        }
    }

    /// Queues a burst of GARPs/NAs for instance `i`'s addresses, spaced by the configured
    /// intervals (packets with no spacing go out at once).
    fn announce(&mut self, i: usize, l: usize) {
        let r = &self.instances[i];
        let repeat = if self.min_garp {
            1
        } else {
            r.cfg.garp.master_repeat.max(1)
        };
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
        let now = Instant::now();
        // Pace after whatever is already queued on this interface.
        let last = |v6: bool, step: Duration| {
            self.announce_queue
                .iter()
                .rev()
                .find(|(_, p, a)| p.index == port.index && a.is_ipv6() == v6)
                .map(|(t, _, _)| *t + step)
                .unwrap_or(now)
        };
        let mut next4 = last(false, self.garp_interval);
        let mut next6 = last(true, self.gna_interval);
        let addrs: Vec<IpAddr> = r.vips.iter().map(|v| v.addr).collect();
        for _ in 0..repeat {
            for &addr in &addrs {
                let (slot, step) = if addr.is_ipv4() {
                    (&mut next4, self.garp_interval)
                } else {
                    (&mut next6, self.gna_interval)
                };
                if step.is_zero() && *slot <= now {
                    self.send_announcement(&port, addr);
                } else {
                    self.announce_queue.push_back((*slot, port.clone(), addr));
                    *slot += step;
                }
            }
        }
        self.announce_queue
            .make_contiguous()
            .sort_by_key(|(t, _, _)| *t);
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

    fn remove_vips(&mut self, i: usize, l: usize) {
        for v in &self.instances[i].vips {
            let index = self.vip_index(i, l, v);
            if let Some(Err(e)) = self.netlink.as_ref().map(|nl| nl.del(index, v)) {
                log::warn!("({}) {e}", self.instances[i].cfg.name);
            }
        }
    }

    fn send_advert(&mut self, i: usize, l: usize, priority: u8) {
        let r = &mut self.instances[i];
        let auth = match (&r.cfg.authentication, r.cfg.version) {
            (Some(a), 2) if a.auth_type == AuthType::Pass => Auth::pass(&a.auth_pass),
            _ if r.ah_key.is_some() => Auth::Ah,
            _ => Auth::None,
        };
        let seq = r.ah_key.as_ref().map(|_| r.ah_seq.next_send());
        let advert = Advert {
            version: r.cfg.version,
            vrid: r.cfg.vrid,
            priority,
            interval_cs: interval_cs(r.cfg.advert_int),
            addresses: r.cfg.virtual_ipaddress.iter().map(|v| v.addr).collect(),
            auth,
        };
        let targets: Vec<IpAddr> = if r.peers.is_empty() {
            vec![r.group]
        } else {
            r.peers.clone()
        };
        let mut sent = Ok(());
        for dst in targets {
            // The v3 checksum covers the destination: one message per peer.
            let msg = advert.emit(self.links[l].src, dst);
            let link = &mut self.links[l];
            let one = match (&link.sock, dst, link.src, &r.ah_key, seq) {
                (Sock::V4(s), IpAddr::V4(d), IpAddr::V4(src), Some(key), Some(seq)) => {
                    link.ip_id = link.ip_id.wrapping_add(1).max(1);
                    let seal = ah::Seal {
                        src,
                        dst: d,
                        id: link.ip_id,
                        seq,
                    };
                    s.send_ah(d, &ah::seal(key, &seal, &msg))
                }
                (Sock::V4(s), IpAddr::V4(d), ..) => s.send(d, &msg),
                (Sock::V6(s), IpAddr::V6(d), ..) => s.send(d, &msg),
                _ => Err(std::io::Error::other("destination of another family")),
            };
            if one.is_err() {
                sent = one;
            }
        }
        match sent {
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
