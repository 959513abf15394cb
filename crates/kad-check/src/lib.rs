//! kad-check: the checker child's work.
//!
//! Today: the child's service (configuration, reloads, instance states reported by the VRRP
//! child, the `/tmp/keepalived_check.data` dump). The checkers themselves, scheduling, the
//! script runner and IPVS arrive with their issues; until then every real server is shown as
//! configured, with no check result.
#![deny(missing_docs)]

pub mod dump;
pub mod engine;
pub mod executor;
pub mod file_check;
pub mod health;
pub mod ipvs_sync;
pub mod notify;
pub mod probe;
pub mod script;
pub mod service;
pub mod smtp;
pub mod snapshot;
pub mod table;
pub mod vrrp_scripts;

pub use service::CheckService;
