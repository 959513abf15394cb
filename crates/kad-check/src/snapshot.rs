//! What the dumps show of the checkers: a snapshot of every virtual server, real server and
//! checker (serialized as keepalived_check.json; rendered by `dump` as keepalived_check.data).

use serde::Serialize;

use crate::table::Destination;

/// Counters and the last result of one checker, for the dumps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckStats {
    /// Attempts finished.
    pub checks: u64,
    /// Attempts that failed.
    pub failures: u64,
    /// Up/down changes.
    pub transitions: u64,
    /// Result of the last attempt.
    pub last_ok: Option<bool>,
    /// Why (e.g. "status 500", "timed out").
    pub last_reason: compact_str::CompactString,
    /// Duration of the last attempt, in microseconds.
    pub last_latency_us: u64,
    /// When the last attempt ended (Unix seconds).
    pub last_at: u64,
}

/// Everything the dumps show.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Virtual servers in config order.
    pub virtual_servers: Vec<VsSnapshot>,
}

/// One virtual server's state.
#[derive(Debug, Clone, Serialize)]
pub struct VsSnapshot {
    /// `[addr]:proto:port`.
    pub name: String,
    /// Quorum held.
    pub quorum_up: bool,
    /// `ha_suspend` in effect (the virtual address is not on this node).
    pub suspended: bool,
    /// Summed weight of alive real servers.
    pub alive_weight: i64,
    /// The desired IPVS destinations.
    pub destinations: Vec<Destination>,
    /// Real servers.
    pub real_servers: Vec<RsSnapshot>,
}

/// One real server's state.
#[derive(Debug, Clone, Serialize)]
pub struct RsSnapshot {
    /// `[addr]:proto:port`.
    pub name: String,
    /// Every checker up.
    pub alive: bool,
    /// Effective weight.
    pub weight: u32,
    /// Checkers.
    pub checkers: Vec<CheckerSnapshot>,
}

/// One checker's state.
#[derive(Debug, Clone, Serialize)]
pub struct CheckerSnapshot {
    /// `TCP_CHECK`, `HTTP_GET`, ….
    pub kind: &'static str,
    /// Where it connects.
    pub target: String,
    /// Up or down.
    pub up: bool,
    /// Failures counted towards `retry`.
    pub failures_in_a_row: u32,
    /// An attempt is in flight.
    pub running: bool,
    /// Counters and last result.
    pub stats: CheckStats,
}
