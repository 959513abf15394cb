//! The kernel's IPVS counters of kad's services, for the metrics: read on demand (one
//! service dump and one destination dump per service, as `ipvsadm -Ln --stats` reads them)
//! and named as the status names virtual and real servers. Services kad did not configure
//! are left out.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use kad_core::config::model::Config;
use kad_ipc::status::{IpvsCounters, IpvsDestStats, IpvsServiceStats};
use kad_ipvs::model::{ServiceKey, Stats, PROTO_SCTP, PROTO_UDP};
use kad_ipvs::Ipvs;

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
    listed
        .into_iter()
        .filter(|(s, _, _)| ours.contains(&s.key))
        .map(|(s, stats, dests)| IpvsServiceStats {
            name: key_name(&s.key),
            counters: counters(stats),
            destinations: dests
                .into_iter()
                .map(|(d, st)| IpvsDestStats {
                    address: SocketAddr::new(d.addr, d.port).to_string(),
                    active_connections: d.active,
                    inactive_connections: d.inactive,
                    counters: counters(st),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kad_ipvs::model::PROTO_TCP;

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
