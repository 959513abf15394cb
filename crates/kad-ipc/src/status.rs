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
    /// The virtual addresses (`virtual_ipaddress`).
    pub vips: Vec<String>,
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
