//! `vrrp_script`, `vrrp_sync_group`, `track_file` and `vrrp_instance` blocks: the instance here,
//! the other blocks in [`blocks`], virtual addresses in [`address`].

use std::time::Duration;

mod address;
mod blocks;
mod process;

use super::global::set;
use super::{Ctx, RefKind};
use crate::config::keywords::Block;
use crate::config::model::{
    AuthType, Authentication, GarpTiming, GlobalDefs, InitialState, Notify, UnicastPeer, Vmac,
    VrrpInstance,
};
use crate::config::reader::Stmt;
use crate::config::values::parse_ip;
pub(super) use address::{address_block, route_block, rule_block};
use blocks::{block_name, notify_keyword, tracked_list};
pub(super) use blocks::{sync_group, track_file, vrrp_script};
pub(super) use process::track_process;

/// Longest VRRPv2 password; keepalived truncates longer ones.
const AUTH_PASS_MAX: usize = 8;

/// `vrrp_instance NAME { … }`.
pub(super) fn instance(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
    global: &GlobalDefs,
) -> Option<VrrpInstance> {
    let name = block_name(ctx, head, "an instance name")?;
    let mut inst = VrrpInstance {
        name,
        initial_state: InitialState::Backup,
        interface: String::new(),
        vrid: 0,
        priority: 100,
        advert_int: Duration::from_secs(1),
        version: global.vrrp_version,
        ipv6: false,
        nopreempt: false,
        preempt_delay: Duration::ZERO,
        authentication: None,
        virtual_ipaddress: Vec::new(),
        virtual_ipaddress_excluded: Vec::new(),
        mcast_src_ip: None,
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        unicast_ttl: None,
        mcast_dst_ip: None,
        use_vmac: None,
        vmac_xmit_base: false,
        dont_track_primary: false,
        track_interface: Vec::new(),
        track_script: Vec::new(),
        track_process: Vec::new(),
        notify: Notify::default(),
        smtp_alert: None,
        accept: None,
        strict_mode: None,
        check_unicast_src: global.vrrp_check_unicast_src,
        skip_check_adv_addr: global.vrrp_skip_check_adv_addr,
        garp: GarpTiming {
            master_delay: global.vrrp_garp_master_delay,
            master_repeat: global.vrrp_garp_master_repeat,
            lower_prio_delay: global
                .vrrp_garp_lower_prio_delay
                .unwrap_or(global.vrrp_garp_master_delay),
            lower_prio_repeat: global
                .vrrp_garp_lower_prio_repeat
                .unwrap_or(global.vrrp_garp_master_repeat),
            master_refresh: global.vrrp_garp_master_refresh,
            master_refresh_repeat: global.vrrp_garp_master_refresh_repeat,
        },
        lower_prio_no_advert: global.vrrp_lower_prio_no_advert,
        higher_prio_send_advert: global.vrrp_higher_prio_send_advert,
        down_timer_adverts: 3,
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
    };
    let mut interface = None;
    let mut vrid = None;
    let mut version_set = false;
    let mut advert_pos = head.pos();
    let mut state_master_pos = None;
    while let Some(s) = ctx.next(level, Block::Instance) {
        match s.keyword() {
            "state" => {
                ctx.max_args(&s, 1);
                let state = ctx.value(&s, 0, "MASTER or BACKUP", |v| match v {
                    "MASTER" => Ok(InitialState::Master),
                    "BACKUP" => Ok(InitialState::Backup),
                    _ => Err(format!("expected MASTER or BACKUP, found '{v}'")),
                });
                if let Some(st) = state {
                    inst.initial_state = st;
                    if st == InitialState::Master {
                        state_master_pos = Some(s.pos());
                    }
                }
            }
            "interface" => {
                interface = ctx.string(&s, "an interface name");
                if let Some(i) = &interface {
                    ctx.check_interface(i, s.args()[0].pos, "interface");
                }
            }
            "virtual_router_id" => {
                ctx.pending_vrid_pos = Some(s.pos());
                vrid = ctx.int(&s, 1, 255).map(|v| v as u8);
                if vrid.is_none() {
                    vrid = Some(0);
                }
            }
            "priority" => set(&mut inst.priority, ctx.int(&s, 1, 255).map(|v| v as u8)),
            "advert_int" => {
                advert_pos = s.pos();
                set(&mut inst.advert_int, ctx.timer(&s));
            }
            "version" => {
                version_set = true;
                set(&mut inst.version, ctx.int(&s, 2, 3).map(|v| v as u8));
            }
            "nopreempt" => inst.nopreempt = ctx.bare(&s),
            "preempt" => inst.nopreempt = !ctx.bare(&s),
            "preempt_delay" => {
                if let Some(d) = ctx.timer(&s) {
                    if d > Duration::from_secs(1000) {
                        ctx.error(s.pos(), "'preempt_delay': expected 0 to 1000 seconds");
                    } else {
                        inst.preempt_delay = d;
                    }
                }
            }
            "authentication" => {
                if ctx.need_block(&s) {
                    inst.authentication = authentication(ctx, &s, level + 1);
                }
            }
            "virtual_ipaddress" => {
                let mut v = address_block(ctx, &s, level + 1);
                inst.virtual_ipaddress.append(&mut v);
            }
            "virtual_ipaddress_excluded" => {
                let mut v = address_block(ctx, &s, level + 1);
                inst.virtual_ipaddress_excluded.append(&mut v);
            }
            "virtual_routes" => {
                let mut v = route_block(ctx, &s, level + 1);
                inst.virtual_routes.append(&mut v);
            }
            "virtual_rules" => {
                let mut v = rule_block(ctx, &s, level + 1);
                inst.virtual_rules.append(&mut v);
            }
            "mcast_src_ip" => inst.mcast_src_ip = ip_arg(ctx, &s),
            "unicast_src_ip" => inst.unicast_src_ip = ip_arg(ctx, &s),
            "mcast_dst_ip" => inst.mcast_dst_ip = ip_arg(ctx, &s),
            "unicast_peer" => {
                if ctx.need_block(&s) {
                    inst.unicast_peers = unicast_peers(ctx, level + 1);
                }
            }
            "unicast_ttl" => inst.unicast_ttl = ctx.int(&s, 0, 255).map(|v| v as u8),
            "use_vmac" => {
                ctx.max_args(&s, 2);
                ctx.no_block(&s);
                inst.use_vmac = Some(Vmac {
                    name: s.args().first().map(|w| w.text.to_string()),
                    mac: s.args().get(1).map(|w| w.text.to_string()),
                });
            }
            "vmac_xmit_base" => inst.vmac_xmit_base = ctx.bare(&s),
            "dont_track_primary" => inst.dont_track_primary = ctx.bare(&s),
            "track_interface" => inst.track_interface = tracked_list(ctx, &s, level + 1, None),
            "track_script" => {
                inst.track_script = tracked_list(ctx, &s, level + 1, Some(RefKind::Script))
            }
            "track_process" => {
                inst.track_process = tracked_list(ctx, &s, level + 1, Some(RefKind::Process))
            }
            "smtp_alert" => inst.smtp_alert = Some(ctx.flag(&s)),
            "accept" => inst.accept = Some(ctx.bare(&s)),
            // keepalived drops traffic to the VIPs with nftables; kad installs no rule (the
            // keyword table warns at this line).
            "no_accept" => inst.accept = Some(!ctx.bare(&s)),
            "strict_mode" => inst.strict_mode = Some(ctx.flag(&s)),
            "check_unicast_src" => inst.check_unicast_src = ctx.bare(&s),
            "skip_check_adv_addr" => inst.skip_check_adv_addr = ctx.flag(&s),
            "garp_master_delay" => set(&mut inst.garp.master_delay, ctx.timer(&s)),
            "garp_master_repeat" => set(
                &mut inst.garp.master_repeat,
                ctx.int(&s, 0, 255).map(|v| v as u32),
            ),
            "garp_lower_prio_delay" => set(&mut inst.garp.lower_prio_delay, ctx.timer(&s)),
            "garp_lower_prio_repeat" => set(
                &mut inst.garp.lower_prio_repeat,
                ctx.int(&s, 0, 255).map(|v| v as u32),
            ),
            "garp_master_refresh" => set(&mut inst.garp.master_refresh, ctx.timer(&s)),
            "garp_master_refresh_repeat" => set(
                &mut inst.garp.master_refresh_repeat,
                ctx.int(&s, 1, 255).map(|v| v as u32),
            ),
            "lower_prio_no_advert" => inst.lower_prio_no_advert = ctx.flag(&s),
            "higher_prio_send_advert" => inst.higher_prio_send_advert = ctx.flag(&s),
            "down_timer_adverts" => set(
                &mut inst.down_timer_adverts,
                ctx.int(&s, 1, 100).map(|v| v as u32),
            ),
            kw if ctx.is_unsupported(Block::Instance, kw) => {}
            _ => {
                if !notify_keyword(ctx, &s, &mut inst.notify) {
                    ctx.unknown(&s, "in vrrp_instance");
                }
            }
        }
    }
    finish_instance(
        ctx,
        head,
        inst,
        interface,
        vrid,
        version_set,
        advert_pos,
        state_master_pos,
        global,
    )
}

#[allow(clippy::too_many_arguments)]
fn finish_instance(
    ctx: &mut Ctx,
    head: &Stmt,
    mut inst: VrrpInstance,
    interface: Option<String>,
    vrid: Option<u8>,
    version_set: bool,
    advert_pos: crate::config::diag::Pos,
    state_master_pos: Option<crate::config::diag::Pos>,
    global: &GlobalDefs,
) -> Option<VrrpInstance> {
    let mut ok = true;
    match interface.or_else(|| global.default_interface.clone()) {
        Some(i) => inst.interface = i,
        None => {
            ctx.error(
                head.pos(),
                format!("vrrp_instance '{}' has no 'interface' (and global_defs has no default_interface)", inst.name),
            );
            ok = false;
        }
    }
    match vrid {
        Some(0) => ok = false,
        Some(v) => inst.vrid = v,
        None => {
            ctx.error(
                head.pos(),
                format!(
                    "vrrp_instance '{}' has no 'virtual_router_id' (expected 1..255)",
                    inst.name
                ),
            );
            ok = false;
        }
    }
    // keepalived 2.2.7: "(VI_1) Ignoring track_interface eth0 since own interface".
    let own = inst.interface.clone();
    if inst.track_interface.iter().any(|t| t.name == own) {
        ctx.warning(
            head.pos(),
            format!(
                "({}) ignoring track_interface {own} since it is the instance's own interface, as keepalived does",
                inst.name
            ),
        );
        inst.track_interface.retain(|t| t.name != own);
    }
    if inst.virtual_ipaddress.is_empty() {
        ctx.warning(
            head.pos(),
            format!("vrrp_instance '{}' has no virtual_ipaddress", inst.name),
        );
    }
    inst.ipv6 = inst
        .virtual_ipaddress
        .first()
        .is_some_and(|v| v.addr.is_ipv6());
    let mixed: Vec<String> = inst
        .virtual_ipaddress
        .iter()
        .filter(|v| v.addr.is_ipv6() != inst.ipv6)
        .map(|v| v.addr.to_string())
        .collect();
    if !mixed.is_empty() {
        ctx.error(
            head.pos(),
            format!(
                "vrrp_instance '{}' mixes IPv4 and IPv6 in virtual_ipaddress ({}); put the other family in virtual_ipaddress_excluded",
                inst.name,
                mixed.join(", ")
            ),
        );
        ok = false;
    }
    if inst.ipv6 && inst.version == 2 {
        if version_set {
            ctx.warning(
                head.pos(),
                format!(
                    "vrrp_instance '{}': VRRPv2 cannot carry IPv6; using version 3",
                    inst.name
                ),
            );
        }
        inst.version = 3;
    }
    if inst.version == 2 {
        let secs = inst.advert_int.as_secs_f64();
        if !(1.0..=255.0).contains(&secs) || inst.advert_int.subsec_micros() != 0 {
            let rounded = secs.round().clamp(1.0, 255.0);
            ctx.warning(
                advert_pos,
                format!("VRRPv2 advert_int must be whole seconds 1..255; using {rounded}"),
            );
            inst.advert_int = Duration::from_secs(rounded as u64);
        }
    } else {
        let centis = (inst.advert_int.as_micros() as f64 / 10_000.0).round();
        if !(1.0..=4095.0).contains(&centis) {
            ctx.error(
                advert_pos,
                "VRRPv3 advert_int must be 0.01 to 40.95 seconds",
            );
            ok = false;
        } else {
            inst.advert_int = Duration::from_millis(centis as u64 * 10);
        }
    }
    if inst.authentication.is_some() && inst.version == 3 {
        ctx.warning(
            head.pos(),
            format!(
                "vrrp_instance '{}': VRRPv3 has no authentication; 'authentication' ignored",
                inst.name
            ),
        );
        inst.authentication = None;
    }
    // keepalived 2.2.7 says the same at `-t` and moves the excess to eVIPs at start. `kad -t`
    // does not read the interface, so it assumes a 1500-byte MTU; the daemon uses the real one.
    let room = inst.advert_capacity(1500);
    if inst.virtual_ipaddress.len() > room {
        ctx.warning(
            head.pos(),
            format!(
                "({}) Number of VIPs ({}) exceeds maximum/space available in packet (max {room} addresses at MTU 1500) - the excess will be moved to virtual_ipaddress_excluded (installed, not advertised), as keepalived does",
                inst.name,
                inst.virtual_ipaddress.len()
            ),
        );
    }
    if let Some(pos) = state_master_pos {
        if inst.nopreempt {
            ctx.warning(
                pos,
                "'nopreempt' has no effect with 'state MASTER'; use 'state BACKUP'",
            );
        }
    }
    for p in &inst.unicast_peers {
        if p.addr.is_ipv6() != inst.ipv6 && !inst.virtual_ipaddress.is_empty() {
            ctx.error(
                head.pos(),
                format!(
                    "unicast_peer {} is not of the instance's address family",
                    p.addr
                ),
            );
            ok = false;
        }
    }
    ok.then_some(inst)
}

fn ip_arg(ctx: &mut Ctx, s: &Stmt) -> Option<std::net::IpAddr> {
    ctx.max_args(s, 1);
    ctx.value(s, 0, "an IP address", parse_ip)
}

fn authentication(ctx: &mut Ctx, head: &Stmt, level: usize) -> Option<Authentication> {
    let mut auth_type = None;
    let mut pass = None;
    while let Some(s) = ctx.next(level, Block::Authentication) {
        match s.keyword() {
            "auth_type" => {
                ctx.max_args(&s, 1);
                auth_type = ctx.value(&s, 0, "PASS or AH", |v| match v {
                    "PASS" => Ok(AuthType::Pass),
                    "AH" => Ok(AuthType::Ah),
                    _ => Err(format!("expected auth_type PASS or AH, found '{v}'")),
                });
            }
            "auth_pass" => {
                ctx.max_args(&s, 1);
                if let Some(mut p) = ctx.value(&s, 0, "a password", |v| Ok(v.to_string())) {
                    if p.len() > AUTH_PASS_MAX {
                        ctx.warning(
                            s.args()[0].pos,
                            format!("auth_pass is longer than {AUTH_PASS_MAX} characters; truncated to the first {AUTH_PASS_MAX}, as keepalived does"),
                        );
                        let mut cut = AUTH_PASS_MAX;
                        while !p.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        p.truncate(cut);
                    }
                    pass = Some(p);
                }
            }
            _ => ctx.unknown(&s, "in authentication"),
        }
    }
    match (auth_type, pass) {
        (Some(auth_type), Some(auth_pass)) => Some(Authentication {
            auth_type,
            auth_pass,
        }),
        (Some(_), None) => {
            ctx.error(head.pos(), "authentication has auth_type but no auth_pass");
            None
        }
        (None, Some(auth_pass)) => Some(Authentication {
            auth_type: AuthType::Pass,
            auth_pass,
        }),
        (None, None) => None,
    }
}

fn unicast_peers(ctx: &mut Ctx, level: usize) -> Vec<UnicastPeer> {
    let mut out = Vec::new();
    while let Some(s) = ctx.reader.next(level) {
        ctx.no_block(&s);
        let Ok(addr) = parse_ip(s.keyword()) else {
            ctx.error(
                s.pos(),
                format!(
                    "unicast_peer: expected an IP address, found '{}'",
                    s.keyword()
                ),
            );
            continue;
        };
        let mut peer = UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
        };
        let args = s.args();
        let mut i = 0;
        while i < args.len() {
            let which = args[i].text.as_str();
            let ttl = args.get(i + 1).and_then(|w| w.text.parse::<u8>().ok());
            match (which, ttl) {
                ("min_ttl", Some(t)) => peer.min_ttl = Some(t),
                ("max_ttl", Some(t)) => peer.max_ttl = Some(t),
                _ => ctx.error(
                    args[i].pos,
                    format!("unicast_peer: expected 'min_ttl N' or 'max_ttl N' (0..255), found '{which}'"),
                ),
            }
            i += 2;
        }
        out.push(peer);
    }
    out
}
