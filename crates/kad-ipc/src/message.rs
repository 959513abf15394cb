//! The messages, one enum per direction. The parent routes child-to-child traffic.

use kad_core::config::Config;
use kad_core::state::VrrpState;
use serde::{Deserialize, Serialize};

use crate::status::{Outcome, Override, Status};

/// Parent → child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToChild {
    /// A new, validated configuration (SIGHUP).
    Reload(Box<Config>),
    /// Write the state dump (SIGUSR1).
    Dump,
    /// Write the statistics dump (SIGUSR2).
    DumpStats,
    /// Write the JSON dump (SIGRTMIN+2).
    DumpJson,
    /// Write the statistics dump, then zero the counters (keepalived's STATS_CLEAR, SIGRTMAX-1).
    DumpStatsClear,
    /// Stop cleanly and exit 0.
    Shutdown,
    /// News from the other child, passed on by the parent.
    Routed(Routed),
    /// Checker child: the last known state of each VRRP instance, replayed by the parent to a
    /// new checker (state only: no notify script or mail for them).
    InstanceStates(Vec<(String, VrrpState)>),
    /// Answer with [`FromChild::Status`] carrying the same `id` (control socket).
    Status {
        /// The parent's request number.
        id: u64,
    },
    /// VRRP child: put `instance` in maintenance or take it out; answer [`FromChild::Outcome`].
    Maintenance {
        /// The parent's request number.
        id: u64,
        /// Instance name.
        instance: String,
        /// In or out.
        on: bool,
    },
    /// Checker child: a runtime weight override of one real server; answer
    /// [`FromChild::Outcome`].
    Override {
        /// The parent's request number.
        id: u64,
        /// Virtual server, as the status names it.
        vs: String,
        /// Real server, as the status names it.
        rs: String,
        /// What to do.
        what: Override,
    },
}

/// Child → parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromChild {
    /// The child is up and serving; carries its pid.
    Ready {
        /// The child's process id.
        pid: u32,
    },
    /// The child applied a reload (its dumps now show the new configuration).
    Reloaded,
    /// The child cannot ever run (it exits after sending this); the parent stops.
    Fatal(String),
    /// News for the other child; the parent passes it on unchanged.
    Routed(Routed),
    /// The child's part of the state (answer to [`ToChild::Status`]).
    Status {
        /// The request number.
        id: u64,
        /// The VRRP child fills `vrrp`, the checker `virtual_servers`.
        status: Status,
    },
    /// The outcome of [`ToChild::Maintenance`] or [`ToChild::Override`].
    Outcome {
        /// The request number.
        id: u64,
        /// Done or refused.
        outcome: Outcome,
    },
}

/// Child-to-child news: sent as `FromChild::Routed`, delivered as `ToChild::Routed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Routed {
    /// A vrrp_script result, from the checker to the VRRP child.
    ScriptStatus {
        /// Script name.
        name: String,
        /// True if the script now counts as succeeding.
        ok: bool,
    },
    /// A VRRP instance changed state, from the VRRP child to the checker (notify, mail).
    InstanceState {
        /// Instance name.
        name: String,
        /// New state.
        state: VrrpState,
        /// Effective priority at the change.
        priority: u8,
    },
    /// A MASTER heard a lower priority, from the VRRP child to the checker, which runs the
    /// instance's `notify_master_rx_lower_pri`.
    MasterRxLowerPri {
        /// Instance name.
        name: String,
    },
}
