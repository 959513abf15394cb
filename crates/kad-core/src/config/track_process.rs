//! The model of a `vrrp_track_process NAME { … }` block (kept apart from `model.rs` for size).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `param_match initial|partial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamMatch {
    /// The first n parameters match exactly; the process may have more.
    Partial,
    /// As partial, and the last configured parameter need only start the process's.
    Initial,
}

/// `vrrp_track_process NAME { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcess {
    /// The name instances refer to.
    pub name: String,
    /// `process` first word: the process name (argv\[0\] with parameters or `full_command`).
    pub process: String,
    /// `process` further words.
    pub params: Vec<String>,
    /// `param_match` (given without parameters: the process must have none).
    pub param_match: Option<ParamMatch>,
    /// `weight` (default 1).
    pub weight: i32,
    /// `weight … reverse`.
    pub reverse: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `quorum_max`.
    pub quorum_max: Option<u32>,
    /// `fork_delay` (or `delay`).
    pub fork_delay: Duration,
    /// `terminate_delay` (or `delay`).
    pub terminate_delay: Duration,
    /// `full_command`.
    pub full_command: bool,
}
