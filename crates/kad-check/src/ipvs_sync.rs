//! Keeps the kernel's IPVS table in step with the checkers' desired table (kad-ipvs).
//!
//! The first sync reads the kernel's table and reconciles; later ones diff the new desired
//! table against the last one applied, so a checker transition sends just the one change
//! (no table dump per transition). A graceful stop removes kad's services. Without ip_vs in
//! the kernel, one log line says so and the checkers go on (keepalived's checker would exit).

use std::collections::BTreeSet;
use std::net::IpAddr;

use kad_core::config::model::{
    Config, GroupEntry, LvsMethod, Protocol, ServiceKey as CfgKey, VirtualServer,
};
use kad_ipvs::model::{
    flags, Dest, Forward, Service, ServiceKey, Table, PROTO_SCTP, PROTO_TCP, PROTO_UDP,
};
use kad_ipvs::{reconcile, Change, Ipvs};

use crate::table::Destination;

fn forward(m: LvsMethod) -> Forward {
    match m {
        LvsMethod::Nat => Forward::Masq,
        LvsMethod::Dr => Forward::Route,
        LvsMethod::Tun => Forward::Tunnel,
    }
}

/// The IPVS services a virtual server stands for (a group expands to several).
pub fn service_keys(config: &Config, vs: &VirtualServer) -> Vec<ServiceKey> {
    let proto = match vs.protocol {
        Protocol::Tcp => PROTO_TCP,
        Protocol::Udp => PROTO_UDP,
        Protocol::Sctp => PROTO_SCTP,
    };
    match &vs.key {
        CfgKey::Addr { addr, .. } => vec![ServiceKey::Addr {
            proto,
            addr: *addr,
            port: crate::table::vs_port(vs),
        }],
        CfgKey::Fwmark(mark) => vec![ServiceKey::Fwmark {
            mark: *mark,
            ipv6: vs.ipv6,
        }],
        CfgKey::Group(name) => {
            let Some(g) = config
                .virtual_server_groups
                .iter()
                .find(|g| &g.name == name)
            else {
                return vec![];
            };
            let mut keys = Vec::new();
            for e in &g.entries {
                match e {
                    GroupEntry::Fwmark { mark, ipv6 } => keys.push(ServiceKey::Fwmark {
                        mark: *mark,
                        ipv6: *ipv6,
                    }),
                    GroupEntry::Range { first, last, port } => {
                        for addr in range(*first, *last) {
                            keys.push(ServiceKey::Addr {
                                proto,
                                addr,
                                port: port.unwrap_or(0),
                            });
                        }
                    }
                }
            }
            keys
        }
    }
}

/// Addresses from `first` to the one whose last byte (IPv4) or group (IPv6) is `last`.
fn range(first: IpAddr, last: u16) -> Vec<IpAddr> {
    match first {
        IpAddr::V4(a) => {
            let o = a.octets();
            (u16::from(o[3])..=last.min(255))
                .map(|b| IpAddr::from([o[0], o[1], o[2], b as u8]))
                .collect()
        }
        IpAddr::V6(a) => {
            let mut s = a.segments();
            let start = s[7];
            (start..=last)
                .map(|g| {
                    s[7] = g;
                    IpAddr::from(s)
                })
                .collect()
        }
    }
}

/// The IPVS service settings of a virtual server for `key`.
fn service(vs: &VirtualServer, key: ServiceKey) -> Service {
    let mut fl = 0;
    if vs.persistence_timeout.is_some() {
        fl |= flags::PERSISTENT;
    }
    for f in &vs.flags {
        fl |= match f.as_str() {
            "ops" => flags::ONEPACKET,
            "sh-fallback" | "mh-fallback" | "flag-1" => flags::SCHED1,
            "sh-port" | "mh-port" | "flag-2" => flags::SCHED2,
            "flag-3" => flags::SCHED3,
            _ => 0,
        };
    }
    let ipv6 = key.is_ipv6();
    let netmask = match vs.persistence_granularity {
        Some(IpAddr::V4(m)) if !ipv6 => u32::from_ne_bytes(m.octets()),
        _ if ipv6 => 128,
        _ => u32::MAX,
    };
    Service {
        key,
        scheduler: vs.scheduler.clone(),
        flags: fl,
        timeout: vs.persistence_timeout.unwrap_or(0),
        netmask,
        pe_name: vs.persistence_engine.clone(),
    }
}

/// The desired kernel table from the config and each virtual server's destinations.
pub fn desired(config: &Config, destinations: &[&[Destination]]) -> Table {
    let mut t = Table::default();
    for (vs, dests) in config.virtual_servers.iter().zip(destinations) {
        for key in service_keys(config, vs) {
            t.add_service(service(vs, key.clone()));
            for d in dests.iter() {
                let mut dest = Dest::new(d.addr, d.port, forward(d.method), d.weight);
                dest.upper = d.upper_threshold;
                dest.lower = d.lower_threshold;
                t.add_dest(&key, dest);
            }
        }
    }
    t
}

/// The link between the checkers and the kernel.
#[derive(Default)]
pub struct IpvsSync {
    ipvs: Option<Ipvs>,
    tried: bool,
    /// What the kernel holds of kad's, as last applied (`None` before the first sync).
    applied: Option<Table>,
}

impl IpvsSync {
    /// True once the kernel's IPVS was reached.
    pub fn available(&self) -> bool {
        self.ipvs.is_some()
    }

    /// False once IPVS was found missing: no desired table needs building any more.
    pub fn wanted(&self) -> bool {
        !self.tried || self.ipvs.is_some()
    }

    /// A reload tries the kernel again if IPVS was missing (ip_vs may have been loaded since).
    pub fn retry_after_reload(&mut self) {
        if self.ipvs.is_none() {
            self.tried = false;
        }
    }

    /// Brings the kernel to `want`. Returns the number of changes sent.
    pub fn sync(&mut self, want: &Table) -> usize {
        if !self.tried {
            self.tried = true;
            match Ipvs::open() {
                Ok(i) => self.ipvs = Some(i),
                Err(e) => {
                    log::warn!("{e}; checkers keep running, the desired table is in the dumps")
                }
            }
        }
        let Some(ipvs) = self.ipvs.as_mut() else {
            return 0;
        };
        let (base, owned) = match &self.applied {
            Some(t) => (t.clone(), t.services.keys().cloned().collect()),
            None => match ipvs.table() {
                Ok(k) => (k, BTreeSet::new()),
                Err(e) => {
                    log::error!("IPVS: cannot read the kernel table: {e}");
                    return 0;
                }
            },
        };
        let changes = reconcile(want, &base, &owned);
        let failed = ipvs.apply_all(&changes);
        for c in &changes {
            log::debug!("IPVS: {c:?}");
        }
        if failed > 0 {
            // Read the kernel again next time rather than trust a partly applied diff.
            self.applied = None;
        } else {
            self.applied = Some(want.clone());
        }
        changes.len()
    }

    /// Graceful stop: removes kad's services.
    pub fn remove_all(&mut self) {
        let (Some(ipvs), Some(applied)) = (self.ipvs.as_mut(), self.applied.as_ref()) else {
            return;
        };
        let changes: Vec<Change> = applied
            .services
            .keys()
            .map(|k| Change::DelService(k.clone()))
            .collect();
        let failed = ipvs.apply_all(&changes);
        log::info!("IPVS: removed {} service(s) of kad", changes.len() - failed);
        self.applied = None;
    }
}
