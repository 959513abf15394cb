//! The VRRP protocol state, shared by the VRRP child (its state machine), the IPC messages and
//! the checker (notify scripts, mails, dumps): one enum, never a string on the way.

use serde::{Deserialize, Serialize};

/// A VRRP instance's state (RFC 5798's Initialize, Backup, Master, plus keepalived's Fault and
/// Stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VrrpState {
    /// Not started (RFC "Initialize").
    Init,
    /// Listening to a master.
    Backup,
    /// Forwarding for the virtual addresses and advertising.
    Master,
    /// A tracked interface or script is down.
    Fault,
    /// Stopped for good.
    Stop,
}

impl VrrpState {
    /// keepalived's name (as notify scripts and dumps show it).
    pub fn name(self) -> &'static str {
        match self {
            VrrpState::Init => "INIT",
            VrrpState::Backup => "BACKUP",
            VrrpState::Master => "MASTER",
            VrrpState::Fault => "FAULT",
            VrrpState::Stop => "STOP",
        }
    }
}

impl std::fmt::Display for VrrpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
