//! kad-ipc: the channel between kad's parent and each child.
//!
//! One `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)` per child. A message is a typed enum
//! ([`message`]) encoded with bincode and cut into datagrams by [`frame`]: each datagram has a
//! header (magic, protocol version, flags, total length) so the receiver checks the length
//! against its bound before allocating anything. [`channel::Channel`] is the non-blocking end,
//! registered in a mio `Poll`.
//!
//! Error policy: every decoding problem is an [`IpcError`] returned to the caller, who treats
//! the connection as broken (the parent restarts the child); nothing here panics or logs.
//!
//! The metrics endpoint's pure parts live here too: [`http`] (the bounded request parser)
//! and [`metrics`] (the text exposition of a [`status::Status`]).
//!
//! [`fifo`] also lives here: the notify FIFOs both children write (keepalived's
//! `notify_fifo`s), non-blocking, dropping and counting what does not fit.
#![deny(missing_docs)]

pub mod channel;
pub mod child;
pub mod control;
pub mod fifo;
pub mod frame;
pub mod http;
pub mod hygiene;
pub mod message;
pub mod metrics;
pub mod status;

pub use channel::Channel;
pub use child::{serve, ChildService, EXIT_IPC, FIRST_SERVICE_TOKEN};
pub use frame::{IpcError, MAX_FROM_CHILD};
pub use message::{FromChild, Routed, ToChild};
pub use mio;
