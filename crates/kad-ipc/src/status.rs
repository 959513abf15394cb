//! The state snapshot the control socket reports (and a metrics endpoint can reuse): what the
//! VRRP child says of its instances and the checker child of its virtual and real servers.
//! The parent asks each child over its channel ([`crate::ToChild::Status`]) and joins the
//! answers. Serialised with bincode on the channel and as JSON on the control socket, so
//! every field is a plain value (no `skip_serializing_if`).

use serde::{Deserialize, Serialize};

/// The whole daemon's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// VRRP instances, in configuration order (empty without a VRRP child).
    pub vrrp: Vec<VrrpStatus>,
    /// Virtual servers, in configuration order (empty without health checks).
    pub virtual_servers: Vec<VsStatus>,
    /// VRRP packets dropped before any instance took them, by reason (VRRP child).
    pub vrrp_drops: Vec<(String, u64)>,
    /// Health checks by kind (`TCP_CHECK`, `HTTP_GET`, …), summed over every checker (checker).
    pub checks: Vec<CheckKindStats>,
    /// The kernel's IPVS counters of kad's services (checker; empty without IPVS).
    pub ipvs: Vec<IpvsServiceStats>,
}

impl Status {
    /// Adds a child's part to the whole.
    pub fn merge(&mut self, part: Status) {
        self.vrrp.extend(part.vrrp);
        self.virtual_servers.extend(part.virtual_servers);
        self.vrrp_drops.extend(part.vrrp_drops);
        self.checks.extend(part.checks);
        self.ipvs.extend(part.ipvs);
    }
}

/// Upper bounds (seconds) of the check latency histogram's buckets; `+Inf` follows.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The finished checks of one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckKindStats {
    /// `TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`, ….
    pub kind: String,
    /// Attempts finished.
    pub checks: u64,
    /// Attempts that failed.
    pub failures: u64,
    /// Attempts per latency bucket ([`LATENCY_BUCKETS`], then one for longer), not cumulative.
    pub buckets: Vec<u64>,
    /// Summed duration of every attempt, in seconds.
    pub latency_sum: f64,
}

/// The kernel's counters of one IPVS service and its destinations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpvsServiceStats {
    /// The virtual server as the status names it (`IP:PORT`, `…/udp`, `fwmark:N`).
    pub name: String,
    /// The service's counters.
    pub counters: IpvsCounters,
    /// Each destination: `IP:PORT`, its active and inactive connections, its counters.
    pub destinations: Vec<IpvsDestStats>,
}

/// One IPVS destination's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpvsDestStats {
    /// `IP:PORT` (`[IPv6]:PORT`).
    pub address: String,
    /// Active connections now.
    pub active_connections: u32,
    /// Inactive connections now.
    pub inactive_connections: u32,
    /// Totals since the destination was added.
    pub counters: IpvsCounters,
}

/// The totals the kernel keeps per IPVS service and destination (`IPVS_STATS_ATTR_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsCounters {
    /// Connections scheduled.
    pub connections: u64,
    /// Packets in (client to real server).
    pub packets_in: u64,
    /// Packets out (real server to client; NAT only).
    pub packets_out: u64,
    /// Bytes in.
    pub bytes_in: u64,
    /// Bytes out.
    pub bytes_out: u64,
}

/// One VRRP instance's counters, named as keepalived's JSON dump names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpCounters {
    /// Adverts received.
    pub advert_rcvd: u64,
    /// Adverts sent.
    pub advert_sent: u64,
    /// Transitions to MASTER.
    pub become_master: u64,
    /// Transitions out of MASTER.
    pub release_master: u64,
    /// Packets of a bad length.
    pub packet_len_err: u64,
    /// Adverts with another interval.
    pub advert_interval_err: u64,
    /// Packets with a TTL other than 255.
    pub ip_ttl_err: u64,
    /// Packets of an unknown type.
    pub invalid_type_rcvd: u64,
    /// Adverts with another address list.
    pub addr_list_err: u64,
    /// Unknown authentication type.
    pub invalid_authtype: u64,
    /// Authentication type differs.
    pub authtype_mismatch: u64,
    /// Authentication failed.
    pub auth_failure: u64,
    /// Priority-0 adverts received.
    pub pri_zero_rcvd: u64,
    /// Priority-0 adverts sent.
    pub pri_zero_sent: u64,
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpStatus {
    /// Instance name.
    pub name: String,
    /// `MASTER`, `BACKUP`, `FAULT`, `INIT` or `STOP`.
    pub state: String,
    /// Configured priority.
    pub priority: u8,
    /// Priority advertised now (after tracking; 0 in maintenance).
    pub effective_priority: u8,
    /// Put in maintenance by `kadctl maintenance NAME on`.
    pub maintenance: bool,
    /// `interface`.
    pub interface: String,
    /// `virtual_router_id`.
    pub virtual_router_id: u8,
    /// The virtual addresses (`virtual_ipaddress`), `ADDR/PREFIX`.
    pub vips: Vec<String>,
    /// The interface of each virtual address (its `dev`, else `interface`), as `vips`.
    pub vip_interfaces: Vec<String>,
    /// The instance's counters.
    pub counters: VrrpCounters,
    /// Address of the master last heard (a BACKUP's master; empty if none).
    pub master_seen: String,
}

/// One virtual server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VsStatus {
    /// `IP:PORT` (`[IPv6]:PORT`), with `/udp` or `/sctp` for those protocols, or `fwmark:N`.
    pub name: String,
    /// Quorum held.
    pub quorum_up: bool,
    /// Real servers in configuration order.
    pub real_servers: Vec<RsStatus>,
}

/// One real server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RsStatus {
    /// `IP:PORT` (`[IPv6]:PORT`).
    pub address: String,
    /// Every checker up.
    pub alive: bool,
    /// The weight the configuration and the checkers give it.
    pub weight: u32,
    /// The weight kad wants in IPVS: `weight` unless overridden (0 when drained).
    pub wanted_weight: u32,
    /// Drained by `kadctl drain` (wanted weight 0).
    pub drained: bool,
    /// A `kadctl weight` override in force (-1: none).
    pub weight_override: i64,
    /// Result of the last check: `up`, `down (REASON)`, or empty before the first.
    pub last_check: String,
    /// Duration of the last check in milliseconds (0 before the first).
    pub last_latency_ms: f64,
}

/// A runtime override of one real server's weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Override {
    /// Weight 0 (drain), until cleared.
    Drain,
    /// This weight, until cleared.
    Weight(u32),
    /// No override: the configured and checked weight again.
    Clear,
}

/// What a child answers to a control request that changes something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Done.
    Done,
    /// Refused, with the reason (unknown instance, virtual or real server).
    Refused(String),
}
