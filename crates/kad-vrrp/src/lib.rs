//! kad-vrrp: VRRP, run by the VRRP child.
//!
//! Today it holds the child's service: the configuration it was given (and reloads), the last
//! known vrrp_script results, and the dump files (`/tmp/keepalived.data`, `.stats`, `.json`) in
//! keepalived's layout. The codec, the RFC 5798 state machine, VIPs and GARP/NA arrive with the
//! VRRP issue; until then every instance is in state INIT with zero counters.
#![deny(missing_docs)]

pub mod ah;
pub mod dump;
pub mod engine;
pub mod executor;
pub mod garp;
pub mod instance;
pub mod monitor;
pub mod na;
pub mod net;
pub mod packet;
pub mod service;
pub mod vip;

pub use service::VrrpService;
