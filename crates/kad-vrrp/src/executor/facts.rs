//! Reading the [`Facts`] the engine needs from the system: for each interface the
//! configuration names, its index (ioctl), MAC, MTU and running state (sysfs) and primary
//! addresses (getifaddrs).

use std::collections::BTreeSet;

use kad_core::config::model::Config;

use crate::engine::{Facts, Iface};

/// True unless the interface is administratively down or has no carrier.
pub(super) fn interface_running(ifname: &str) -> bool {
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

fn mtu_of(ifname: &str) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{ifname}/mtu")).ok()?;
    text.trim().parse().ok()
}

/// What `ifname` looks like now, or None if there is no such interface.
pub(super) fn iface(ifname: &str) -> Option<Iface> {
    let mut all = read(&[ifname]);
    all.ifaces.remove(ifname)
}

/// The interfaces in `names` that exist.
fn read(names: &[&str]) -> Facts {
    let mut facts = Facts::default();
    for &name in names {
        match nix::net::if_::if_nametoindex(name) {
            Ok(index) => {
                let iface = Iface {
                    index,
                    mac: mac_of(name).unwrap_or([0; 6]),
                    running: interface_running(name),
                    ipv4: None,
                    ipv6_ll: None,
                    mtu: mtu_of(name),
                };
                facts.ifaces.insert(name.to_string(), iface);
            }
            Err(e) => log::debug!("interface {name}: {e}"),
        }
    }
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for ifa in addrs {
            let (Some(f), Some(a)) = (facts.ifaces.get_mut(&ifa.interface_name), ifa.address)
            else {
                continue;
            };
            if let (None, Some(v4)) = (f.ipv4, a.as_sockaddr_in()) {
                f.ipv4 = Some(v4.ip());
            }
            let ll = a
                .as_sockaddr_in6()
                .map(|s| s.ip())
                .filter(|ip| ip.segments()[0] & 0xffc0 == 0xfe80);
            if let (None, Some(v6)) = (f.ipv6_ll, ll) {
                f.ipv6_ll = Some(v6);
            }
        }
    }
    facts
}

/// The interfaces `config` names: instances' interfaces, tracked interfaces (of instances and
/// sync groups), the `dev` of virtual and static addresses and of routes.
pub(super) fn gather(config: &Config) -> Facts {
    let mut names = BTreeSet::new();
    for i in &config.vrrp_instances {
        names.insert(i.interface.as_str());
        names.extend(i.track_interface.iter().map(|t| t.name.as_str()));
        names.extend(
            i.virtual_ipaddress
                .iter()
                .chain(&i.virtual_ipaddress_excluded)
                .filter_map(|v| v.dev.as_deref()),
        );
        names.extend(i.virtual_routes.iter().filter_map(|r| r.dev.as_deref()));
    }
    names.extend(
        config
            .static_ipaddress
            .iter()
            .filter_map(|v| v.dev.as_deref()),
    );
    names.extend(config.static_routes.iter().filter_map(|r| r.dev.as_deref()));
    for g in &config.sync_groups {
        names.extend(g.track_interface.iter().map(|t| t.name.as_str()));
    }
    let names: Vec<&str> = names.into_iter().collect();
    read(&names)
}
