//! `ha_suspend`: while a virtual server's address is not on this node, its checks do not run
//! and its states stay as they are. The engine never looks at the node's addresses: the
//! executor tells it ([`super::Event::AddressPresent`]) for the virtual servers that
//! [`super::Engine::addresses_to_check`] names.

use std::net::IpAddr;

use kad_core::config::model::{ServiceKey, VirtualServer};

use super::alerts::fmt_vs;
use super::effects::Effect;

/// The address whose presence decides, if `vs` has `ha_suspend`.
pub fn watched(vs: &VirtualServer) -> Option<IpAddr> {
    match (&vs.key, vs.ha_suspend) {
        (ServiceKey::Addr { addr, .. }, true) => Some(*addr),
        _ => None,
    }
}

/// Applies a presence fact to `suspended`; logs a change.
pub fn apply(vs: &VirtualServer, suspended: &mut bool, present: bool, out: &mut Vec<Effect>) {
    let now_suspended = watched(vs).is_some() && !present;
    if now_suspended == *suspended {
        return;
    }
    *suspended = now_suspended;
    let name = fmt_vs(vs);
    out.push(Effect::Log(if now_suspended {
        format!("VS {name}: address not on this node, checks suspended (ha_suspend)")
    } else {
        format!("VS {name}: address present, checks resumed")
    }));
}
