//! Links (one per interface and family: the sockets instances share) and the macvlans of
//! `use_vmac` instances. Opening and creating are effects; the engine waits for their answers
//! ([`Input::LinkOpened`](super::Input::LinkOpened),
//! [`Input::VmacCreated`](super::Input::VmacCreated)) before it starts the instances.

use std::net::IpAddr;
use std::time::Instant;

use super::input::Iface;
use super::{Effect, Engine};

/// One interface and family the engine sends and listens on.
pub(super) struct Link {
    pub(super) name: String,
    pub(super) index: u32,
    pub(super) mac: [u8; 6],
    pub(super) src: IpAddr,
    /// IPv4 identification of the next AH packet (kad writes the header under AH).
    pub(super) ip_id: u16,
    /// Its sockets could not be opened: no instance uses it, a later build opens a new one.
    pub(super) failed: bool,
}

/// The macvlan interface of a `use_vmac` instance.
pub(super) struct VmacLink {
    pub(super) name: String,
    pub(super) index: u32,
    pub(super) mac: [u8; 6],
}

/// Where a link is: the interface and, for a vmac, what the executor does not know yet.
pub(super) struct LinkSpec<'a> {
    pub(super) ifname: &'a str,
    pub(super) group: IpAddr,
    pub(super) unicast: bool,
    pub(super) src: Option<IpAddr>,
    /// A vmac just created: its facts (it was not there when the facts were read).
    pub(super) iface: Option<&'a Iface>,
}

impl Engine {
    /// The link of `spec`: an open one on that interface and family (joined to the group), or
    /// a new one (opened by the executor). None when the interface or its address is missing.
    pub(super) fn link_for(&mut self, spec: LinkSpec<'_>) -> Option<usize> {
        let LinkSpec {
            ifname,
            group,
            unicast,
            src,
            iface,
        } = spec;
        let ipv6 = group.is_ipv6();
        let join = (!unicast).then_some(group);
        if let Some(i) = self
            .links
            .iter()
            .position(|l| !l.failed && l.name == ifname && l.src.is_ipv6() == ipv6)
        {
            if let Some(group) = join {
                self.emit(Effect::JoinGroup { link: i, group });
            }
            return Some(i);
        }
        let known = iface.or_else(|| self.facts.ifaces.get(ifname)).cloned();
        let Some(known) = known else {
            log::error!("interface {ifname}: no such device; its instances stay in FAULT");
            return None;
        };
        let src = src
            .filter(|s| s.is_ipv6() == ipv6)
            .or_else(|| self.facts.primary(ifname, ipv6));
        let Some(src) = src else {
            let what = if ipv6 { "IPv6 link-local" } else { "IPv4" };
            log::error!("interface {ifname} has no {what} address; its instances stay in FAULT");
            return None;
        };
        let link = self.links.len();
        self.links.push(Link {
            name: ifname.to_string(),
            index: known.index,
            mac: known.mac,
            src,
            ip_id: 0,
            failed: false,
        });
        self.awaiting += 1;
        self.emit(Effect::OpenLink {
            link,
            ifname: ifname.to_string(),
            index: known.index,
            src,
            join,
            vmac: iface.is_some(),
        });
        Some(link)
    }

    /// The executor's answer to [`Effect::OpenLink`]: a link that failed takes its instances
    /// with it (they stay in FAULT).
    pub(super) fn link_opened(&mut self, l: usize, ok: bool, now: Instant) {
        if !ok {
            if let Some(link) = self.links.get_mut(l) {
                link.failed = true;
            }
            for r in &mut self.instances {
                if r.link == Some(l) {
                    r.link = None;
                }
            }
        }
        self.answered(now);
    }

    /// Asks for instance `i`'s macvlan on link `l`: named `vrrp.VRID` unless configured, with
    /// the VRRP virtual MAC.
    pub(super) fn make_vmac(&mut self, i: usize, l: usize) {
        let cfg = &self.instances[i].cfg;
        let Some(v) = &cfg.use_vmac else { return };
        let name = v
            .name
            .clone()
            .unwrap_or_else(|| format!("vrrp.{}", cfg.vrid));
        let mac = [0, 0, 0x5e, 0, if cfg.ipv6 { 2 } else { 1 }, cfg.vrid];
        self.awaiting += 1;
        let effect = Effect::CreateVmac {
            instance: i,
            owner: cfg.name.clone(),
            name,
            base: self.links[l].index,
            base_name: self.links[l].name.clone(),
            mac,
            ipv4: !cfg.ipv6,
        };
        self.emit(effect);
    }

    /// The executor's answer to [`Effect::CreateVmac`]: the instance lives on its macvlan
    /// (receive, send, VIPs, GARP) with the base interface's address as source, unless
    /// `vmac_xmit_base`. It must receive there: the kernel hands multicast from a peer whose
    /// vmac has the same virtual MAC to the local vmac only, not to the base.
    pub(super) fn vmac_created(&mut self, i: usize, iface: Option<Iface>, now: Instant) {
        if let (Some(iface), Some(r)) = (iface, self.instances.get(i)) {
            let Some(v) = &r.cfg.use_vmac else {
                self.answered(now);
                return;
            };
            let name = v
                .name
                .clone()
                .unwrap_or_else(|| format!("vrrp.{}", r.cfg.vrid));
            let mac = [0, 0, 0x5e, 0, if r.cfg.ipv6 { 2 } else { 1 }, r.cfg.vrid];
            let (group, unicast, xmit_base) = (r.group, !r.peers.is_empty(), r.cfg.vmac_xmit_base);
            log::info!(
                "({}) created {name} with MAC 00:00:5e:00:0{}:{:02x}",
                r.cfg.name,
                mac[4],
                mac[5]
            );
            let base = r.link;
            self.facts.ifaces.insert(name.clone(), iface.clone());
            self.instances[i].vmac = Some(VmacLink {
                name: name.clone(),
                index: iface.index,
                mac,
            });
            if let (Some(base), false) = (base, xmit_base) {
                let src = Some(self.links[base].src);
                let link = self.link_for(LinkSpec {
                    ifname: &name,
                    group,
                    unicast,
                    src,
                    iface: Some(&iface),
                });
                self.instances[i].link = link;
            }
        }
        if i < self.instances.len() {
            self.open_ah(i);
        }
        self.answered(now);
    }

    /// Deletes the macvlan of instance `i`, if it has one.
    pub(super) fn drop_vmac(&mut self, i: usize) {
        if let Some(v) = self.instances[i].vmac.take() {
            self.facts.ifaces.remove(&v.name);
            let owner = self.instances[i].cfg.name.clone();
            self.emit(Effect::DeleteVmac {
                owner,
                name: v.name,
                index: v.index,
            });
        }
    }

    /// True while link `l`'s interface runs.
    pub(super) fn link_running(&self, l: usize) -> bool {
        self.facts.running(&self.links[l].name)
    }

    /// One answer came; once none is awaited, the pending instances start.
    fn answered(&mut self, now: Instant) {
        self.awaiting = self.awaiting.saturating_sub(1);
        self.maybe_start(now);
    }
}
