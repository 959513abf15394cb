//! kad-ipvs: the kernel's IPVS table over generic netlink.
//!
//! - [`model`]: services, destinations, a table.
//! - [`wire`]: the IPVS messages byte for byte and the parsers of the replies (pure).
//! - [`socket`]: the family over a neli socket: list, add, edit, delete, flush, info, and the
//!   tcp/tcpfin/udp timeouts (`ipvsadm --set`).
//! - [`reconcile`]: the fewest changes from the kernel's table to the desired one, touching
//!   only kad's services (pure).
//!   The connection-sync daemons too ([`wire::daemon`], [`reconcile::reconcile_daemons`]).
//! - [`listing`]: kad's view in `ipvsadm -Ln`'s layout.
//!
//! Errors: library functions return typed errors ([`socket::IpvsError`]); the caller logs.
#![deny(missing_docs)]

pub mod listing;
pub mod model;
pub mod reconcile;
pub mod socket;
pub mod wire;

pub use model::{Dest, Forward, Service, ServiceKey, Table};
pub use reconcile::{reconcile, reconcile_daemons, Change, DaemonChange};
pub use socket::{Ipvs, IpvsError};
