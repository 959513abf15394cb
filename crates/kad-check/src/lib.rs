//! kad-check: the checker child's work.
//!
//! [`service::CheckService`] is the child's service: configuration and reloads, the VRRP
//! instance states it is told of (notify scripts, smtp_alert), the dumps. The health checks
//! run in [`engine::Engine`], a pure state machine (events with an explicit `now` in, effects
//! out), carried out by [`executor::Checks`] (probes in the mio loop, scripts, track files);
//! [`ipvs_sync`] brings the kernel's IPVS table to what the checks decided, repairs it when
//! someone changed kad's services by hand, and runs the connection-sync daemons
//! [`sync_daemon`] asks for. Tracked
//! vrrp_scripts run in [`vrrp_scripts`], VRRP notify scripts in [`notify`].
#![deny(missing_docs)]

pub mod dump;
pub mod engine;
pub mod executor;
pub mod fifo;
pub mod file_check;
pub mod health;
pub mod ipvs_stats;
pub mod ipvs_sync;
pub mod notify;
pub mod probe;
pub mod repair_pace;
pub mod script;
pub mod script_user;
pub mod service;
pub mod smtp;
pub mod snapshot;
pub mod sync_daemon;
pub mod table;
pub mod vrrp_scripts;

pub use service::{CheckService, Mode};
