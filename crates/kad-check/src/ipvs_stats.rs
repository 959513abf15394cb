//! The kernel's IPVS counters of kad's services, for the metrics: read on demand (one
//! service dump and one destination dump per service, as `ipvsadm -Ln --stats` reads them)
//! and named as the status names virtual and real servers. Services kad did not configure
//! are left out. At most [`MAX_ENTRIES`] services and destinations are reported, so that the
//! snapshot stays well inside the channel's bound on a child's message
//! ([`kad_ipc::MAX_FROM_CHILD`]; an oversized answer would break the checker's channel).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use kad_core::config::model::Config;
use kad_ipc::status::{IpvsCounters, IpvsDestStats, IpvsServiceStats};
use kad_ipvs::model::{Dest, Service, ServiceKey, Stats, PROTO_SCTP, PROTO_UDP};
use kad_ipvs::Ipvs;

/// The kernel's services with their counters, and their destinations with theirs.
type Listed = Vec<(Service, Stats, Vec<(Dest, Stats)>)>;

/// Most services plus destinations one snapshot carries (about 90 bytes each on the channel).
pub const MAX_ENTRIES: usize = 10_000;

/// A service as the status names virtual servers: `IP:PORT` (`[IPv6]:PORT`), with `/udp` or
/// `/sctp` for those protocols, or `fwmark:N`.
pub fn key_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { proto, addr, port } => {
            let base = SocketAddr::new(*addr, *port).to_string();
            match *proto {
                PROTO_UDP => format!("{base}/udp"),
                PROTO_SCTP => format!("{base}/sctp"),
                _ => base,
            }
        }
        ServiceKey::Fwmark { mark, .. } => format!("fwmark:{mark}"),
    }
}

fn counters(s: Stats) -> IpvsCounters {
    IpvsCounters {
        connections: s.connections,
        packets_in: s.packets_in,
        packets_out: s.packets_out,
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
    }
}

/// The counters of every kernel service `config` configures (empty if the kernel cannot be
/// read; logged at debug level).
pub fn collect(ipvs: &mut Ipvs, config: &Config) -> Vec<IpvsServiceStats> {
    let ours: BTreeSet<ServiceKey> = config
        .virtual_servers
        .iter()
        .flat_map(|vs| crate::ipvs_sync::service_keys(config, vs))
        .collect();
    let listed = match ipvs.list_stats() {
        Ok(l) => l,
        Err(e) => {
            log::debug!("IPVS counters: {e}");
            return Vec::new();
        }
    };
    named(listed, &ours, MAX_ENTRIES)
}

/// What the kernel listed, as the status names it: `ours` only, at most `max` services plus
/// destinations.
fn named(listed: Listed, ours: &BTreeSet<ServiceKey>, max: usize) -> Vec<IpvsServiceStats> {
    let mut left = max;
    let mut out = Vec::new();
    for (s, stats, dests) in listed.into_iter().filter(|(s, _, _)| ours.contains(&s.key)) {
        let Some(rest) = left.checked_sub(1) else {
            break;
        };
        let take = dests.len().min(rest);
        left = rest.saturating_sub(take);
        out.push(IpvsServiceStats {
            name: key_name(&s.key),
            counters: counters(stats),
            destinations: dests
                .into_iter()
                .take(take)
                .map(|(d, st)| IpvsDestStats {
                    address: SocketAddr::new(d.addr, d.port).to_string(),
                    active_connections: d.active,
                    inactive_connections: d.inactive,
                    counters: counters(st),
                })
                .collect(),
        });
    }
    if left == 0 {
        log::debug!("IPVS counters: only the first {max} services and destinations reported");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kad_ipvs::model::PROTO_TCP;

    fn tcp(last: u8) -> ServiceKey {
        ServiceKey::Addr {
            proto: PROTO_TCP,
            addr: [192, 0, 2, last].into(),
            port: 80,
        }
    }

    #[test]
    fn only_our_services_are_reported_up_to_the_cap() {
        use kad_ipvs::model::Forward;
        let svc = |last| Service {
            key: tcp(last),
            scheduler: "rr".into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        };
        let dest = |last| {
            let d = Dest::new([198, 51, 100, last].into(), 80, Forward::Masq, 1);
            let st = Stats {
                connections: u64::from(last),
                ..Default::default()
            };
            (d, st)
        };
        let listed = || -> Listed {
            vec![
                (svc(1), Stats::default(), vec![dest(1), dest(2), dest(3)]),
                (svc(9), Stats::default(), vec![dest(4)]),
                (svc(2), Stats::default(), vec![dest(5)]),
            ]
        };
        let ours: BTreeSet<ServiceKey> = [tcp(1), tcp(2)].into();
        let all = named(listed(), &ours, 100);
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["192.0.2.1:80", "192.0.2.2:80"], "not 192.0.2.9");
        assert_eq!(all[0].destinations.len(), 3);
        assert_eq!(all[0].destinations[2].address, "198.51.100.3:80");
        assert_eq!(all[0].destinations[2].counters.connections, 3);
        let capped = named(listed(), &ours, 3);
        assert_eq!(capped.len(), 1);
        assert_eq!(
            capped[0].destinations.len(),
            2,
            "1 service + 2 destinations = 3"
        );
        assert!(named(listed(), &ours, 0).is_empty());
    }

    #[test]
    fn services_are_named_as_the_status_names_them() {
        let tcp = ServiceKey::Addr {
            proto: PROTO_TCP,
            addr: "2001:db8::1".parse().expect("v6"),
            port: 443,
        };
        assert_eq!(key_name(&tcp), "[2001:db8::1]:443");
        let udp = ServiceKey::Addr {
            proto: PROTO_UDP,
            addr: [192, 0, 2, 1].into(),
            port: 53,
        };
        assert_eq!(key_name(&udp), "192.0.2.1:53/udp");
        let fw = ServiceKey::Fwmark {
            mark: 9,
            ipv6: false,
        };
        assert_eq!(key_name(&fw), "fwmark:9");
    }
}
