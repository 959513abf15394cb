//! `vrrp_strict` (global) and `strict_mode` (per instance): keepalived's strict RFC compliance,
//! enforced as keepalived 2.2.7 does at run time: what strict mode forbids is reset, with a
//! warning naming the instance (keepalived's `-t` counts these as errors; kad runs with the
//! corrections, as keepalived's daemon does). An instance without any VIP is an error.

use std::net::IpAddr;
use std::time::Duration;

use super::Ctx;
use crate::config::model::{Config, InitialState};

fn link_local(a: IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// Applies strict mode to every instance that has it.
pub(super) fn apply(ctx: &mut Ctx, cfg: &mut Config) {
    let global = cfg.global.vrrp_strict;
    for (i, inst) in cfg.vrrp_instances.iter_mut().enumerate() {
        if !inst.strict_mode.unwrap_or(global) {
            continue;
        }
        let pos = ctx.instance_pos.get(i).copied().unwrap_or_default();
        let name = inst.name.clone();
        let mut warn = |msg: &str| ctx.warning(pos, format!("({name}) {msg}"));
        if inst.initial_state == InitialState::Master && inst.priority != 255 {
            warn("strict mode: state MASTER needs priority 255 (the address owner); starting as BACKUP");
            inst.initial_state = InitialState::Backup;
        }
        if inst.authentication.take().is_some() {
            warn("strict mode does not support authentication; ignored");
        }
        if !inst.preempt_delay.is_zero() {
            warn("preempt_delay is incompatible with strict mode; reset to 0");
            inst.preempt_delay = Duration::ZERO;
        }
        if !inst.unicast_peers.is_empty() {
            warn("strict mode does not allow unicast peers; they are ignored (multicast)");
            inst.unicast_peers.clear();
        }
        if inst.version == 2 && inst.accept == Some(true) {
            warn("accept mode for VRRP version 2 does not comply with RFC 3768; reset");
            inst.accept = Some(false);
        }
        if inst.accept.is_none() {
            inst.accept = Some(inst.priority == 255);
        }
        if inst.ipv6
            && inst
                .virtual_ipaddress
                .first()
                .is_some_and(|v| !link_local(v.addr))
        {
            warn("strict mode: the first IPv6 VIP should be link local");
        }
        if inst.vmac_xmit_base {
            warn("strict mode: vmac_xmit_base cannot be used; cleared");
            inst.vmac_xmit_base = false;
        }
        if inst.higher_prio_send_advert {
            warn("strict mode: higher_prio_send_advert cannot be set; cleared");
            inst.higher_prio_send_advert = false;
        }
        inst.lower_prio_no_advert = true;
        if inst.virtual_ipaddress.is_empty() {
            ctx.error(
                pos,
                format!(
                    "({}) strict mode: at least one virtual_ipaddress is required",
                    inst.name
                ),
            );
        }
    }
}
