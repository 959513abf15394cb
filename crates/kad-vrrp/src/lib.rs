//! kad-vrrp: VRRP (v2 and v3, IPv4 and IPv6, keepalived-compatible), run by the VRRP child.
//!
//! Pure parts: [`packet`] (the VRRP codec), [`ah`] (IPsec AH for VRRPv2), [`instance`] (the
//! RFC 5798 state machine) and [`engine`] (everything around the instances: links, validation
//! and drop accounting, tracking, sync groups, GARP/NA pacing, vmacs, reload plans), which
//! takes inputs with an explicit `now` and returns effects. I/O: [`executor`] carries the
//! effects out on the sockets of [`net`], rtnetlink ([`vip`], [`route`], [`monitor`]), [`garp`] and [`na`];
//! [`service`] is the child's IPC side, [`dump`] writes keepalived's dump files and [`status`]
//! answers the control socket.
#![deny(missing_docs)]

pub mod ah;
pub mod drop_reason;
pub mod dump;
pub mod engine;
pub mod executor;
pub mod garp;
pub mod instance;
pub mod monitor;
pub mod na;
pub mod net;
pub mod packet;
pub mod process_track;
pub mod route;
pub mod service;
pub mod status;
pub mod vip;
pub mod vmac_rx;

pub use service::VrrpService;
