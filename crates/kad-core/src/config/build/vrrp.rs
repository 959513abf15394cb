//! `vrrp_script`, `vrrp_sync_group` and `vrrp_instance` blocks.

use std::time::Duration;

use super::global::set;
use super::{Ctx, RefKind};
use crate::config::model::{
    AuthType, Authentication, GarpTiming, GlobalDefs, InitialState, Notify, Script, SyncGroup,
    TrackFile, Tracked, UnicastPeer, VirtualAddress, Vmac, VrrpInstance, VrrpScript,
};
use crate::config::reader::Stmt;
use crate::config::values::{parse_int_in, parse_ip, parse_ip_prefix};

/// Longest VRRPv2 password; keepalived truncates longer ones.
const AUTH_PASS_MAX: usize = 8;

/// Instance keywords keepalived accepts that kad does not implement (warned, ignored).
const INSTANCE_UNSUPPORTED: &[&str] = &[
    "vrf",
    "use_vmac_addr",
    "use_ipvlan",
    "native_ipv6",
    "track_file",
    "track_process",
    "track_bfd",
    "track_src_ip",
    "unicast_fault_no_peer",
    "old_unicast_checksum",
    "garp_extra_if",
    "debug",
    "notify_deleted",
    "notify_priority_changes",
    "kernel_rx_buf_size",
    "linkbeat_use_polling",
    "global_tracking",
    "sync_group_tracking_weight",
    "promote_secondaries",
    "virtual_ipaddress_ipvs",
];

/// `vrrp_script NAME { … }` (content at `level`).
pub(super) fn vrrp_script(ctx: &mut Ctx, head: &Stmt, level: usize) -> Option<VrrpScript> {
    let name = block_name(ctx, head, "a script name")?;
    let mut script: Option<Script> = None;
    let mut out = VrrpScript {
        name,
        script: Script {
            command: String::new(),
            user: None,
            group: None,
        },
        interval: Duration::from_secs(1),
        timeout: Duration::ZERO,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
    };
    let mut timeout = None;
    let mut user: Option<(String, Option<String>)> = None;
    while let Some(s) = ctx.reader.next(level) {
        match s.keyword() {
            "script" => script = ctx.script(&s),
            "interval" => set(&mut out.interval, ctx.timer(&s)),
            "timeout" => timeout = ctx.timer(&s),
            "weight" => {
                ctx.max_args(&s, 2);
                set(
                    &mut out.weight,
                    ctx.value(&s, 0, "a weight -253..253", |v| {
                        parse_int_in(v, -253, 253).map(|v| v as i32)
                    }),
                );
                out.weight_reverse = reverse_word(ctx, &s, 1);
            }
            "rise" => set(&mut out.rise, ctx.int(&s, 1, 1_000_000).map(|v| v as u32)),
            "fall" => set(&mut out.fall, ctx.int(&s, 1, 1_000_000).map(|v| v as u32)),
            "user" => {
                ctx.max_args(&s, 2);
                if let Some(u) = ctx.value(&s, 0, "a user name", |v| Ok(v.to_string())) {
                    user = Some((u, s.args().get(1).map(|w| w.text.to_string())));
                }
            }
            "init_fail" => out.init_fail = ctx.bare(&s),
            _ => ctx.unknown(&s, "in vrrp_script"),
        }
    }
    let Some(mut script) = script else {
        // keepalived removes such a script with a warning; instances tracking it then ignore it.
        ctx.warning(
            head.pos(),
            format!("vrrp_script '{}' has no 'script' to run; removed", out.name),
        );
        return None;
    };
    if let Some((u, g)) = user {
        script.user = Some(u);
        script.group = g;
    }
    out.script = script;
    out.timeout = timeout.unwrap_or(out.interval);
    if out.interval.is_zero() {
        ctx.error(
            head.pos(),
            format!("vrrp_script '{}': interval must be above 0", out.name),
        );
        return None;
    }
    Some(out)
}

/// `vrrp_sync_group NAME { … }`.
pub(super) fn sync_group(ctx: &mut Ctx, head: &Stmt, level: usize) -> Option<SyncGroup> {
    let name = block_name(ctx, head, "a group name")?;
    let mut g = SyncGroup {
        name,
        members: Vec::new(),
        track_interface: Vec::new(),
        track_script: Vec::new(),
        notify: Notify::default(),
        smtp_alert: None,
    };
    while let Some(s) = ctx.reader.next(level) {
        match s.keyword() {
            "group" => {
                if ctx.need_block(&s) {
                    g.members = ctx
                        .word_list(level + 1)
                        .into_iter()
                        .map(|w| w.text.into())
                        .collect();
                }
            }
            "track_interface" => g.track_interface = tracked_list(ctx, &s, level + 1, None),
            "track_script" => {
                g.track_script = tracked_list(ctx, &s, level + 1, Some(RefKind::Script))
            }
            "smtp_alert" => g.smtp_alert = Some(ctx.flag(&s)),
            "global_tracking"
            | "sync_group_tracking_weight"
            | "track_file"
            | "track_process"
            | "track_bfd"
            | "notify_deleted"
            | "notify_priority_changes" => ctx.unsupported(&s),
            _ => {
                if !notify_keyword(ctx, &s, &mut g.notify) {
                    ctx.unknown(&s, "in vrrp_sync_group");
                }
            }
        }
    }
    if g.members.is_empty() {
        ctx.warning(
            head.pos(),
            format!("sync group '{}' has no members", g.name),
        );
    }
    Some(g)
}

/// Handles the `notify*` keywords shared by instances and groups; false if `s` is not one.
fn notify_keyword(ctx: &mut Ctx, s: &Stmt, n: &mut Notify) -> bool {
    let slot = match s.keyword() {
        "notify_master" => &mut n.master,
        "notify_backup" => &mut n.backup,
        "notify_fault" => &mut n.fault,
        "notify_stop" => &mut n.stop,
        "notify" => &mut n.any,
        "notify_master_rx_lower_pri" => &mut n.master_rx_lower_pri,
        _ => return false,
    };
    *slot = ctx.script(s);
    true
}

/// `track_file NAME { … }` (content at `level`).
pub(super) fn track_file(ctx: &mut Ctx, head: &Stmt, level: usize) -> Option<TrackFile> {
    let name = block_name(ctx, head, "a track_file name")?;
    let mut out = TrackFile {
        name,
        file: String::new(),
        weight: 1,
        reverse: false,
        init: None,
    };
    while let Some(s) = ctx.reader.next(level) {
        match s.keyword() {
            "file" => set(&mut out.file, ctx.string(&s, "a file path")),
            "weight" => {
                ctx.max_args(&s, 2);
                set(
                    &mut out.weight,
                    ctx.value(&s, 0, "a weight -254..254", |v| parse_int_in(v, -254, 254)),
                );
                out.reverse = reverse_word(ctx, &s, 1);
            }
            "init_file" => {
                ctx.max_args(&s, 2);
                let mut value = 0;
                let mut overwrite = false;
                for w in s.args() {
                    match w.text.as_str() {
                        "overwrite" => overwrite = true,
                        v => match parse_int_in(v, i64::from(i32::MIN), i64::from(i32::MAX)) {
                            Ok(n) => value = n,
                            Err(e) => ctx.error(w.pos, format!("'init_file': {e}")),
                        },
                    }
                }
                out.init = Some((value, overwrite));
            }
            _ => ctx.unknown(&s, "in track_file"),
        }
    }
    if out.file.is_empty() {
        ctx.error(head.pos(), "track_file needs a 'file'");
        return None;
    }
    Some(out)
}

/// The block's name argument (`vrrp_instance NAME {`), with the block required.
fn block_name(ctx: &mut Ctx, head: &Stmt, expected: &str) -> Option<String> {
    ctx.max_args(head, 1);
    let name = match head.args().first() {
        Some(w) => w.text.to_string(),
        None => {
            ctx.error(
                head.pos(),
                format!("'{}' expects {expected}", head.keyword()),
            );
            return None;
        }
    };
    if !ctx.need_block(head) {
        return None;
    }
    Some(name)
}

/// `reverse` / `noreverse` / `no_reverse` at argument `i`.
fn reverse_word(ctx: &mut Ctx, s: &Stmt, i: usize) -> bool {
    match s.args().get(i).map(|w| (w.text.as_str(), w.pos)) {
        None => false,
        Some(("reverse", _)) => true,
        Some(("noreverse" | "no_reverse", _)) => false,
        Some((other, pos)) => {
            ctx.error(
                pos,
                format!("expected 'reverse' or 'noreverse', found '{other}'"),
            );
            false
        }
    }
}

/// A `track_interface` / `track_script` block: `NAME [weight N] [reverse]` per line.
fn tracked_list(ctx: &mut Ctx, head: &Stmt, level: usize, kind: Option<RefKind>) -> Vec<Tracked> {
    let mut out = Vec::new();
    if !ctx.need_block(head) {
        return out;
    }
    while let Some(s) = ctx.reader.next(level) {
        ctx.no_block(&s);
        let mut t = Tracked {
            name: s.keyword().to_string(),
            weight: None,
            reverse: false,
        };
        let args = s.args();
        let mut i = 0;
        while i < args.len() {
            match args[i].text.as_str() {
                "weight" => {
                    let limit = 253;
                    match args.get(i + 1) {
                        Some(w) => {
                            t.weight = ctx.parse_word(&s, w, |v| {
                                parse_int_in(v, -limit, limit).map(|v| v as i32)
                            })
                        }
                        None => ctx.error(args[i].pos, "'weight' expects an integer -253..253"),
                    }
                    i += 2;
                }
                "reverse" => {
                    t.reverse = true;
                    i += 1;
                }
                "noreverse" | "no_reverse" => i += 1,
                other => {
                    let pos = args[i].pos;
                    ctx.warning(
                        pos,
                        format!("unexpected '{other}' after '{}'; ignored", t.name),
                    );
                    i += 1;
                }
            }
        }
        match kind {
            Some(kind) => ctx.refer(kind, &t.name, s.pos()),
            None => ctx.check_interface(&t.name, s.pos(), "tracked interface"),
        }
        out.push(t);
    }
    out
}

/// An address line of `virtual_ipaddress`: `ADDR[/P] [brd X] [dev D] [scope S] [label L] …`.
fn virtual_address(ctx: &mut Ctx, s: &Stmt) -> Option<VirtualAddress> {
    ctx.no_block(s);
    let (addr, prefix) = match parse_ip_prefix(s.keyword()) {
        Ok(v) => v,
        Err(msg) => {
            ctx.error(s.pos(), format!("virtual address: {msg}"));
            return None;
        }
    };
    let mut va = VirtualAddress {
        addr,
        prefix,
        broadcast: None,
        dev: None,
        scope: None,
        label: None,
        peer: None,
        no_track: false,
        flags: Vec::new(),
    };
    let args = s.args();
    let mut i = 0;
    while i < args.len() {
        let word = args[i].text.as_str();
        let takes_value = matches!(
            word,
            "brd" | "dev" | "scope" | "label" | "peer" | "preferred_lft"
        );
        let value = if takes_value {
            match args.get(i + 1) {
                Some(v) => Some(v),
                None => {
                    ctx.error(args[i].pos, format!("'{word}' expects a value"));
                    return None;
                }
            }
        } else {
            None
        };
        match (word, value) {
            ("brd", Some(v)) => va.broadcast = ctx.parse_word(s, v, parse_ip),
            ("dev", Some(v)) => va.dev = Some(v.text.to_string()),
            ("scope", Some(v)) => {
                let ok = matches!(
                    v.text.as_str(),
                    "host" | "link" | "site" | "global" | "nowhere"
                ) || v.text.parse::<u8>().is_ok();
                if ok {
                    va.scope = Some(v.text.to_string());
                } else {
                    ctx.error(
                        v.pos,
                        format!(
                            "expected scope host|link|site|global|nowhere or 0..255, found '{}'",
                            v.text
                        ),
                    );
                }
            }
            ("label", Some(v)) => va.label = Some(v.text.to_string()),
            ("peer", Some(v)) => va.peer = ctx.parse_word(s, v, parse_ip),
            ("preferred_lft", Some(_)) => {}
            ("no_track", _) => va.no_track = true,
            (
                "home" | "-nodad" | "nodad" | "noprefixroute" | "mngtmpaddr" | "autojoin"
                | "use_vmac",
                _,
            ) => va.flags.push(word.to_string()),
            _ => {
                ctx.error(
                    args[i].pos,
                    format!("unexpected '{word}' in virtual address (expected brd, dev, scope, label, peer, no_track, home, -nodad, noprefixroute, mngtmpaddr or autojoin)"),
                );
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    Some(va)
}

fn address_block(ctx: &mut Ctx, head: &Stmt, level: usize) -> Vec<VirtualAddress> {
    let mut out = Vec::new();
    if ctx.need_block(head) {
        while let Some(s) = ctx.reader.next(level) {
            if let Some(va) = virtual_address(ctx, &s) {
                out.push(va);
            }
        }
    }
    out
}

fn line_block(ctx: &mut Ctx, head: &Stmt, level: usize) -> Vec<String> {
    let mut out = Vec::new();
    if ctx.need_block(head) {
        while let Some(s) = ctx.reader.next(level) {
            ctx.no_block(&s);
            out.push(
                s.words
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    out
}

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
    while let Some(s) = ctx.reader.next(level) {
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
                ctx.warning(
                    s.pos(),
                    "'virtual_routes' are read but not yet applied by kad (see docs/CONFIGURATION.md)",
                );
                inst.virtual_routes = line_block(ctx, &s, level + 1);
            }
            "virtual_rules" => {
                ctx.warning(
                    s.pos(),
                    "'virtual_rules' are read but not yet applied by kad (see docs/CONFIGURATION.md)",
                );
                inst.virtual_rules = line_block(ctx, &s, level + 1);
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
            "smtp_alert" => inst.smtp_alert = Some(ctx.flag(&s)),
            "accept" => inst.accept = Some(ctx.bare(&s)),
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
            kw if INSTANCE_UNSUPPORTED.contains(&kw) => ctx.unsupported(&s),
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
    while let Some(s) = ctx.reader.next(level) {
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
