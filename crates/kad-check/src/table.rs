//! The desired IPVS table: what the checkers decided each virtual server should forward to.
//! kad-ipvs reconciles the kernel with it; until then (and when the kernel has no ip_vs) it is
//! kept in memory and shown in the dumps.

use std::net::IpAddr;

use kad_core::config::model::{LvsMethod, VirtualServer};
use serde::Serialize;

use crate::health::ServerHealth;

/// One destination of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// Address.
    pub addr: IpAddr,
    /// Port (0 for a port-less service).
    pub port: u16,
    /// Forwarding method.
    pub method: LvsMethod,
    /// Weight (0: inhibited, kept but given no new connections).
    pub weight: u32,
    /// `uthreshold` (0: none).
    pub upper_threshold: u32,
    /// `lthreshold` (0: none).
    pub lower_threshold: u32,
    /// True for the sorry server.
    pub sorry: bool,
}

/// The port of a virtual server (0 for fwmark, group or port-less services).
pub fn vs_port(vs: &VirtualServer) -> u16 {
    match &vs.key {
        kad_core::config::model::ServiceKey::Addr { port, .. } => port.unwrap_or(0),
        _ => 0,
    }
}

/// The destinations a virtual server should have now.
///
/// With quorum (or without a sorry server): every alive real server at its weight, and failed
/// ones with `inhibit_on_failure` at weight 0. Without quorum and with a sorry server: the
/// sorry server alone (real servers with `inhibit_on_failure` stay at weight 0). A sorry server
/// not in use stays at weight 0 with `sorry_server_inhibit`.
pub fn destinations(
    vs: &VirtualServer,
    servers: &[ServerHealth],
    quorum_up: bool,
) -> Vec<Destination> {
    let vs_port = vs_port(vs);
    let sorry_in_use = !quorum_up && vs.sorry_server.is_some();
    let mut out = Vec::with_capacity(vs.real_servers.len() + 1);
    for (rs, health) in vs.real_servers.iter().zip(servers) {
        let weight = if health.alive() && !sorry_in_use {
            health.weight()
        } else if rs.inhibit_on_failure {
            0
        } else {
            continue;
        };
        out.push(Destination {
            addr: rs.addr,
            port: rs.port.unwrap_or(vs_port),
            method: rs.lvs_method,
            weight,
            upper_threshold: rs.upper_threshold.unwrap_or(0),
            lower_threshold: rs.lower_threshold.unwrap_or(0),
            sorry: false,
        });
    }
    if let Some(sorry) = &vs.sorry_server {
        if sorry_in_use || sorry.inhibit {
            out.push(Destination {
                addr: sorry.addr,
                port: sorry.port.unwrap_or(vs_port),
                method: sorry.lvs_method,
                weight: u32::from(sorry_in_use),
                upper_threshold: 0,
                lower_threshold: 0,
                sorry: true,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kad_core::config::model::{Protocol, RealServer, ServiceKey, SorryServer};

    fn rs(last: u8, inhibit: bool) -> RealServer {
        RealServer {
            addr: IpAddr::from([192, 0, 2, last]),
            port: None,
            weight: 2,
            lvs_method: LvsMethod::Dr,
            inhibit_on_failure: inhibit,
            notify_up: None,
            notify_down: None,
            upper_threshold: None,
            lower_threshold: None,
            smtp_alert: None,
            virtualhost: None,
            checkers: vec![],
        }
    }

    fn vs(sorry_inhibit: Option<bool>) -> VirtualServer {
        VirtualServer {
            key: ServiceKey::Addr {
                addr: IpAddr::from([198, 51, 100, 1]),
                port: Some(80),
            },
            protocol: Protocol::Tcp,
            scheduler: "wlc".into(),
            lvs_method: LvsMethod::Dr,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            flags: vec![],
            ha_suspend: false,
            virtualhost: None,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: sorry_inhibit.map(|inhibit| {
                Box::new(SorryServer {
                    addr: IpAddr::from([192, 0, 2, 99]),
                    port: Some(8080),
                    lvs_method: LvsMethod::Nat,
                    inhibit,
                })
            }),
            smtp_alert: None,
            omega: false,
            ipv6: false,
            real_servers: vec![rs(1, false), rs(2, true)],
        }
    }

    fn health(up: [bool; 2]) -> Vec<ServerHealth> {
        up.iter().map(|&u| ServerHealth::new(2, vec![u])).collect()
    }

    fn summary(d: &[Destination]) -> Vec<(u8, u16, u32)> {
        d.iter()
            .map(|d| match d.addr {
                IpAddr::V4(a) => (a.octets()[3], d.port, d.weight),
                IpAddr::V6(_) => (0, d.port, d.weight),
            })
            .collect()
    }

    #[test]
    fn failed_servers_leave_or_get_weight_zero() {
        let v = vs(None);
        assert_eq!(
            summary(&destinations(&v, &health([true, true]), true)),
            [(1, 80, 2), (2, 80, 2)]
        );
        assert_eq!(
            summary(&destinations(&v, &health([false, false]), true)),
            [(2, 80, 0)]
        );
    }

    #[test]
    fn the_sorry_server_replaces_everyone_without_quorum() {
        let v = vs(Some(false));
        assert_eq!(
            summary(&destinations(&v, &health([true, true]), true)),
            [(1, 80, 2), (2, 80, 2)]
        );
        assert_eq!(
            summary(&destinations(&v, &health([false, false]), false)),
            [(2, 80, 0), (99, 8080, 1)]
        );
        let v = vs(Some(true));
        assert_eq!(
            summary(&destinations(&v, &health([true, false]), true)),
            [(1, 80, 2), (2, 80, 0), (99, 8080, 0)]
        );
    }
}
