//! Building instances from the configuration, starting them, the reload plan (what is kept,
//! what stops, what starts) and shutdown.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use kad_core::config::model::{AuthType, Config, VirtualAddress, VrrpInstance};

use super::links::LinkSpec;
use super::{Engine, Facts, Pending, Running};
use crate::ah::{self, SeqCounter};
use crate::dump::Stats;
use crate::instance::{Event, Instance, Settings, State};
use crate::vip::Vip;

pub(super) fn vip_of(v: &VirtualAddress) -> Vip {
    Vip {
        addr: v.addr,
        prefix: v.prefix,
        broadcast: v.broadcast,
        label: v.label.clone(),
        scope: v.scope.unwrap_or(0),
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
        lower_prio_no_advert: cfg.lower_prio_no_advert,
        higher_prio_send_advert: cfg.higher_prio_send_advert,
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

impl Engine {
    /// Takes the global settings and scripts of `config`.
    fn configure(&mut self, config: &Config, mut facts: Facts) {
        // The executor reads the interfaces the configuration names; the vmacs of running
        // instances are ours, known since they were created and kept current by link events.
        for r in &self.instances {
            let Some(v) = &r.vmac else { continue };
            if let Some(f) = self.facts.ifaces.get(&v.name) {
                facts
                    .ifaces
                    .entry(v.name.clone())
                    .or_insert_with(|| f.clone());
            }
        }
        self.facts = facts;
        self.scripts = config
            .vrrp_scripts
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect();
        self.processes = config
            .track_processes
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect();
        self.min_garp = config.global.vrrp_min_garp;
        self.pacer.garp_interval = config.global.vrrp_garp_interval;
        self.pacer.gna_interval = config.global.vrrp_gna_interval;
    }

    /// Builds every instance of `config` and starts them once their links are open.
    pub(super) fn start(&mut self, config: &Config, facts: Facts, now: Instant) {
        self.configure(config, facts);
        let delay = config.global.vrrp_startup_delay;
        if !delay.is_zero() {
            log::info!("Delaying startup for {} seconds", delay.as_secs_f64());
            self.startup_at = Some(now + delay);
        }
        self.apply_statics(config);
        for cfg in &config.vrrp_instances {
            let cfg = self.fit_advert(cfg);
            self.build(&cfg, config);
        }
        self.index_groups(config);
        self.pending = Some(Pending {
            instances: (0..self.instances.len()).collect(),
            reload: false,
        });
        self.maybe_start(now);
    }

    /// `cfg` with the VIPs one advert cannot carry on its interface (the one-byte count, the
    /// MTU: [`VrrpInstance::advert_capacity`]) moved to the front of
    /// `virtual_ipaddress_excluded`, as keepalived 2.2.7 does: installed as MASTER, not
    /// advertised, not expected in a received advert.
    fn fit_advert(&self, cfg: &VrrpInstance) -> VrrpInstance {
        let mut cfg = cfg.clone();
        let mtu = self
            .facts
            .ifaces
            .get(&cfg.interface)
            .and_then(|f| f.mtu)
            .unwrap_or(1500);
        let room = cfg.advert_capacity(mtu);
        if cfg.virtual_ipaddress.len() > room {
            log::warn!(
                "({}) Number of VIPs ({}) exceeds maximum/space available in packet (max {room} addresses) - excess moved to eVIPs",
                cfg.name,
                cfg.virtual_ipaddress.len()
            );
            let excess = cfg.virtual_ipaddress.split_off(room);
            cfg.virtual_ipaddress_excluded.splice(0..0, excess);
        }
        cfg
    }

    /// Pushes a running instance for `cfg` (its link opened or shared), not started yet.
    fn build(&mut self, cfg: &VrrpInstance, config: &Config) {
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
        let link = self.link_for(LinkSpec {
            ifname: &cfg.interface,
            group,
            unicast: !peers.is_empty(),
            src,
            iface: None,
        });
        let primary = link
            .map(|l| self.links[l].src)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let ah_key = match &cfg.authentication {
            Some(a) if a.auth_type == AuthType::Ah && cfg.version == 2 && !cfg.ipv6 => {
                Some(ah::Key::new(&a.auth_pass))
            }
            _ => None,
        };
        self.instances.push(Running {
            ah_key,
            ah_seq: SeqCounter::default(),
            vips: vips_of(cfg),
            garp_at: None,
            lower_garp_at: Vec::new(),
            lower_at: None,
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
        });
        let i = self.instances.len() - 1;
        match link {
            // The AH socket goes on the link the instance ends up on (see `vmac_created`).
            Some(l) if cfg.use_vmac.is_some() => self.make_vmac(i, l),
            _ => self.open_ah(i),
        }
    }

    /// Asks for the AH socket of instance `i`'s link (IPv4, `auth_type AH`), joined to its
    /// group unless it is unicast.
    pub(super) fn open_ah(&mut self, i: usize) {
        let r = &self.instances[i];
        let Some(l) = r.link.filter(|_| r.ah_key.is_some()) else {
            return;
        };
        if self.links[l].src.is_ipv6() {
            return;
        }
        let join = match (r.peers.is_empty(), r.group) {
            (true, IpAddr::V4(g)) => Some(g),
            _ => None,
        };
        self.emit(super::Effect::OpenAh { link: l, join });
    }

    /// Starts the pending instances now if no answer is awaited and `vrrp_startup_delay`
    /// has passed.
    pub(super) fn maybe_start(&mut self, now: Instant) {
        if self.awaiting == 0 && self.startup_at.is_none() {
            if let Some(p) = self.pending.take() {
                self.start_pending(p, now);
            }
        }
    }

    /// Starts built instances: each with a running link goes to BACKUP (or MASTER as address
    /// owner), others to FAULT.
    pub(super) fn start_pending(&mut self, p: Pending, now: Instant) {
        for &i in &p.instances {
            if i >= self.instances.len() {
                continue;
            }
            // A respawned child may find the VIPs a killed one left behind: start clean.
            if let Some(l) = self.instances[i].link {
                self.virtual_routes(i, false);
                let vips = self.instances[i].vips.clone();
                self.del_vips(i, l, &vips);
            }
            let r = &self.instances[i];
            let running = r
                .link
                .is_some_and(|l| r.cfg.dont_track_primary || self.link_running(l));
            if !running && self.instances[i].link.is_some() && !p.reload {
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
            if !p.reload {
                self.evaluate(i, now);
            }
        }
        if p.reload {
            for i in 0..self.instances.len() {
                self.evaluate(i, now);
            }
        }
    }

    /// Applies a new configuration without disturbing what did not change: instances are
    /// matched by name; one whose identity (interface, family, VRID, version, interval,
    /// addressing) is unchanged keeps its state, its counters and its VIPs, with added or
    /// removed VIPs applied as a diff; removed instances stop (priority 0 if MASTER); new ones
    /// start.
    pub(super) fn reload(&mut self, config: &Config, facts: Facts, now: Instant) {
        // Group member indices refer to the old instance order; they are rebuilt below.
        self.groups.clear();
        self.configure(config, facts);
        self.apply_statics(config);
        let mut old = std::mem::take(&mut self.instances);
        let mut started = Vec::new();
        for cfg in &config.vrrp_instances {
            let cfg = &self.fit_advert(cfg);
            let same = old
                .iter()
                .position(|r| r.cfg.name == cfg.name && same_identity(&r.cfg, cfg));
            match same {
                Some(pos) => {
                    let r = old.remove(pos);
                    self.keep(r, cfg);
                }
                None => {
                    self.build(cfg, config);
                    log::info!("({}) new instance", cfg.name);
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
        // During vrrp_startup_delay nothing has started yet: all start as on a first start.
        self.pending = Some(match self.startup_at {
            Some(_) => Pending {
                instances: (0..self.instances.len()).collect(),
                reload: false,
            },
            None => Pending {
                instances: started,
                reload: true,
            },
        });
        self.maybe_start(now);
    }

    /// Keeps a running instance with its new configuration; a MASTER applies the VIP diff.
    fn keep(&mut self, mut r: Running, cfg: &VrrpInstance) {
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
        let old_routes = std::mem::take(&mut r.cfg.virtual_routes);
        let old_rules = std::mem::take(&mut r.cfg.virtual_rules);
        r.cfg = cfg.clone();
        r.vips = new_vips;
        self.instances.push(r);
        let i = self.instances.len() - 1;
        if let (State::Master, Some(l)) =
            (self.instances[i].machine.state(), self.instances[i].link)
        {
            self.del_vips(i, l, &gone);
            self.add_vips(i, l, &added);
            self.virtual_routes_diff(i, &old_routes, &old_rules);
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

    /// Stops every instance (masters send priority 0 and drop their VIPs, routes and rules),
    /// then removes the static addresses, routes and rules.
    pub(super) fn shutdown(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            self.feed(i, now, Event::Shutdown);
            self.drop_vmac(i);
        }
        self.drop_statics();
    }
}
