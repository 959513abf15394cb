//! IPVS services and destinations as kad and the kernel see them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

/// `IPPROTO_TCP`.
pub const PROTO_TCP: u16 = 6;
/// `IPPROTO_UDP`.
pub const PROTO_UDP: u16 = 17;
/// `IPPROTO_SCTP`.
pub const PROTO_SCTP: u16 = 132;

/// Service flags (linux/ip_vs.h `IP_VS_SVC_F_*`).
pub mod flags {
    /// Persistent service.
    pub const PERSISTENT: u32 = 0x0001;
    /// Set by the kernel on services in its hash table.
    pub const HASHED: u32 = 0x0002;
    /// One-packet scheduling (`ops`).
    pub const ONEPACKET: u32 = 0x0004;
    /// Scheduler flag 1 (`sh-fallback`, `mh-fallback`, `flag-1`).
    pub const SCHED1: u32 = 0x0008;
    /// Scheduler flag 2 (`sh-port`, `mh-port`, `flag-2`).
    pub const SCHED2: u32 = 0x0010;
    /// Scheduler flag 3 (`flag-3`).
    pub const SCHED3: u32 = 0x0020;
}

/// What identifies a service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ServiceKey {
    /// Protocol, address and port.
    Addr {
        /// IP protocol number.
        proto: u16,
        /// Virtual address.
        addr: IpAddr,
        /// Port (0: all ports, persistent).
        port: u16,
    },
    /// Firewall mark.
    Fwmark {
        /// The mark.
        mark: u32,
        /// IPv6 rather than IPv4.
        ipv6: bool,
    },
}

impl ServiceKey {
    /// True for an IPv6 service.
    pub fn is_ipv6(&self) -> bool {
        match self {
            ServiceKey::Addr { addr, .. } => addr.is_ipv6(),
            ServiceKey::Fwmark { ipv6, .. } => *ipv6,
        }
    }
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Identity.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, …).
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` (without HASHED).
    pub flags: u32,
    /// Persistence timeout in seconds (0: none).
    pub timeout: u32,
    /// Persistence netmask: an IPv4 mask as a big-endian u32, or an IPv6 prefix length.
    pub netmask: u32,
    /// Persistence engine (`sip`).
    pub pe_name: Option<String>,
}

/// Forwarding method (`IP_VS_CONN_F_*` & `IP_VS_CONN_F_FWD_MASK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Forward {
    /// Masquerading (NAT).
    Masq,
    /// Local node.
    Local,
    /// IP-in-IP tunnel.
    Tunnel,
    /// Direct routing.
    Route,
    /// Bypass.
    Bypass,
    /// Another value.
    Unknown(u32),
}

impl Forward {
    /// The kernel's number.
    pub fn code(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel => 2,
            Forward::Route => 3,
            Forward::Bypass => 4,
            Forward::Unknown(n) => n,
        }
    }

    /// From the kernel's number.
    pub fn from_code(n: u32) -> Forward {
        match n & 7 {
            0 => Forward::Masq,
            1 => Forward::Local,
            2 => Forward::Tunnel,
            3 => Forward::Route,
            4 => Forward::Bypass,
            n => Forward::Unknown(n),
        }
    }
}

/// A destination (real server) of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dest {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// Weight.
    pub weight: u32,
    /// Upper connection threshold (0: none).
    pub upper: u32,
    /// Lower connection threshold.
    pub lower: u32,
    /// Active connections (read from the kernel; ignored when comparing).
    pub active: u32,
    /// Inactive connections (read from the kernel; ignored when comparing).
    pub inactive: u32,
}

impl Dest {
    /// A destination with no connections counted.
    pub fn new(addr: IpAddr, port: u16, forward: Forward, weight: u32) -> Dest {
        Dest {
            addr,
            port,
            forward,
            weight,
            upper: 0,
            lower: 0,
            active: 0,
            inactive: 0,
        }
    }

    /// True if the settings kad controls are the same (counters aside).
    pub fn same_settings(&self, other: &Dest) -> bool {
        self.forward == other.forward
            && self.weight == other.weight
            && self.upper == other.upper
            && self.lower == other.lower
    }
}

/// The totals the kernel keeps per service and destination (read, never written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Connections scheduled.
    pub connections: u64,
    /// Packets in.
    pub packets_in: u64,
    /// Packets out.
    pub packets_out: u64,
    /// Bytes in.
    pub bytes_in: u64,
    /// Bytes out.
    pub bytes_out: u64,
}

/// The destinations of one service by (address, port).
pub type Dests = BTreeMap<(IpAddr, u16), Dest>;

/// A whole table: services with their destinations, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Services by key, each with its destinations.
    pub services: BTreeMap<ServiceKey, (Service, Dests)>,
}

impl Table {
    /// Adds (or replaces) a service with no destinations.
    pub fn add_service(&mut self, s: Service) {
        self.services.insert(s.key.clone(), (s, BTreeMap::new()));
    }

    /// Adds a destination to the service `key` (ignored if the service is absent).
    pub fn add_dest(&mut self, key: &ServiceKey, d: Dest) {
        if let Some((_, dests)) = self.services.get_mut(key) {
            dests.insert((d.addr, d.port), d);
        }
    }

    /// Number of destinations in all.
    pub fn dest_count(&self) -> usize {
        self.services.values().map(|(_, d)| d.len()).sum()
    }
}
