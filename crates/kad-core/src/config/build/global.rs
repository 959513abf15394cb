//! `global_defs { … }`.

use super::Ctx;
use crate::config::keywords::Block;
use crate::config::model::{GlobalDefs, LvsSyncDaemon, LvsTimeouts, SmtpServer};
use crate::config::reader::Stmt;
use crate::config::values::{parse_int_in, parse_ip, parse_port};

/// Reads the body of `global_defs` at `level` into `g`.
pub(super) fn global_defs(ctx: &mut Ctx, level: usize, g: &mut GlobalDefs) {
    while let Some(s) = ctx.next(level, Block::Global) {
        match s.keyword() {
            "router_id" => g.router_id = ctx.string(&s, "a router name"),
            "notification_email" => {
                if ctx.need_block(&s) {
                    g.notification_email = ctx
                        .word_list(level + 1)
                        .into_iter()
                        .map(|w| w.text.into())
                        .collect();
                }
            }
            "notification_email_from" => {
                g.notification_email_from = ctx.string(&s, "an e-mail address")
            }
            "smtp_server" => {
                ctx.max_args(&s, 2);
                if let Some(host) = ctx.value(&s, 0, "a host or address", |v| Ok(v.to_string())) {
                    let port = match s.args().get(1) {
                        Some(w) => ctx.parse_word(&s, w, parse_port),
                        None => Some(25),
                    };
                    if let Some(port) = port {
                        g.smtp_server = Some(SmtpServer { host, port });
                    }
                }
            }
            "smtp_helo_name" => g.smtp_helo_name = ctx.string(&s, "a host name"),
            "smtp_connect_timeout" => set(&mut g.smtp_connect_timeout, ctx.timer(&s)),
            "smtp_alert" => g.smtp_alert = Some(ctx.flag(&s)),
            "smtp_alert_vrrp" => g.smtp_alert_vrrp = Some(ctx.flag(&s)),
            "smtp_alert_checker" => g.smtp_alert_checker = Some(ctx.flag(&s)),
            "no_email_faults" => g.no_email_faults = ctx.bare(&s),
            "checker_log_all_failures" => g.checker_log_all_failures = ctx.flag(&s),
            "default_interface" => g.default_interface = ctx.string(&s, "an interface name"),
            "vrrp_mcast_group4" => {
                let v = ctx.value(&s, 0, "an IPv4 multicast address", |v| {
                    parse_ip(v).and_then(|a| match a {
                        std::net::IpAddr::V4(a4) if a4.is_multicast() => Ok(a),
                        _ => Err(format!("expected an IPv4 multicast address, found '{v}'")),
                    })
                });
                set(&mut g.vrrp_mcast_group4, v);
            }
            "vrrp_mcast_group6" => {
                let v = ctx.value(&s, 0, "an IPv6 multicast address", |v| {
                    parse_ip(v).and_then(|a| match a {
                        std::net::IpAddr::V6(a6) if a6.is_multicast() => Ok(a),
                        _ => Err(format!("expected an IPv6 multicast address, found '{v}'")),
                    })
                });
                set(&mut g.vrrp_mcast_group6, v);
            }
            "vrrp_version" => set(&mut g.vrrp_version, ctx.int(&s, 2, 3).map(|v| v as u8)),
            "vrrp_strict" => g.vrrp_strict = ctx.bare(&s),
            "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = ctx.bare(&s),
            "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = ctx.flag(&s),
            "vrrp_garp_master_delay" => set(&mut g.vrrp_garp_master_delay, ctx.timer(&s)),
            "vrrp_garp_master_repeat" => set(
                &mut g.vrrp_garp_master_repeat,
                ctx.int(&s, 0, 255).map(|v| v as u32),
            ),
            "vrrp_garp_lower_prio_delay" => g.vrrp_garp_lower_prio_delay = ctx.timer(&s),
            "vrrp_garp_lower_prio_repeat" => {
                g.vrrp_garp_lower_prio_repeat = ctx.int(&s, 0, 255).map(|v| v as u32)
            }
            "vrrp_garp_master_refresh" => set(&mut g.vrrp_garp_master_refresh, ctx.timer(&s)),
            "vrrp_garp_master_refresh_repeat" => set(
                &mut g.vrrp_garp_master_refresh_repeat,
                ctx.int(&s, 1, 255).map(|v| v as u32),
            ),
            "vrrp_garp_interval" => set(&mut g.vrrp_garp_interval, ctx.timer(&s)),
            "vrrp_gna_interval" => set(&mut g.vrrp_gna_interval, ctx.timer(&s)),
            "vrrp_min_garp" => g.vrrp_min_garp = ctx.flag(&s),
            "vrrp_startup_delay" => set(&mut g.vrrp_startup_delay, ctx.timer(&s)),
            "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = ctx.flag(&s),
            "vrrp_higher_prio_send_advert" => g.vrrp_higher_prio_send_advert = ctx.flag(&s),
            "script_user" => {
                ctx.max_args(&s, 2);
                g.script_user = ctx.value(&s, 0, "a user name", |v| Ok(v.to_string()));
                g.script_group = s.args().get(1).map(|w| w.text.to_string());
            }
            "enable_script_security" => g.enable_script_security = ctx.bare(&s),
            "lvs_flush" => g.lvs_flush = ctx.bare(&s),
            "lvs_flush_on_stop" => {
                ctx.max_args(&s, 1);
                match s.args().first() {
                    None => g.lvs_flush_on_stop = true,
                    Some(w) if w.text == "VS" => g.lvs_flush_on_stop_vs = true,
                    Some(w) => ctx.error(
                        w.pos,
                        format!(
                            "'lvs_flush_on_stop': expected nothing or VS, found '{}'",
                            w.text
                        ),
                    ),
                }
            }
            "lvs_timeouts" => lvs_timeouts(ctx, &s, &mut g.lvs_timeouts),
            "lvs_sync_daemon" => set_opt(&mut g.lvs_sync_daemon, lvs_sync_daemon(ctx, &s)),
            "kad_lvs_repair_interval" => set(
                &mut g.lvs_repair_interval,
                ctx.int(&s, 0, 86_400)
                    .map(|v| std::time::Duration::from_secs(v as u64)),
            ),
            "child_wait_time" => set(&mut g.child_wait_time, ctx.timer(&s)),
            "dynamic_interfaces" => {
                ctx.max_args(&s, 1);
                g.dynamic_interfaces = true;
            }
            "max_auto_priority" => {
                ctx.max_args(&s, 1);
                g.max_auto_priority = match s.args().first() {
                    Some(w) => ctx.parse_word(&s, w, |v| {
                        crate::config::values::parse_int_in(v, -1, 99).map(|v| v as i32)
                    }),
                    None => Some(99),
                };
            }
            "notify_fifo" => fifo_path(ctx, &s, &mut g.fifos.all),
            "vrrp_notify_fifo" => fifo_path(ctx, &s, &mut g.fifos.vrrp),
            "lvs_notify_fifo" => fifo_path(ctx, &s, &mut g.fifos.lvs),
            "notify_fifo_script" => set_opt(&mut g.fifos.all.script, ctx.script(&s)),
            "vrrp_notify_fifo_script" => set_opt(&mut g.fifos.vrrp.script, ctx.script(&s)),
            "lvs_notify_fifo_script" => set_opt(&mut g.fifos.lvs.script, ctx.script(&s)),
            kw if ctx.is_unsupported(Block::Global, kw) => {}
            _ => ctx.unknown(&s, "in global_defs"),
        }
    }
}

/// `*_notify_fifo PATH [user [group]]`: the path and the owner of a FIFO kad creates.
fn fifo_path(
    ctx: &mut Ctx,
    s: &crate::config::reader::Stmt,
    f: &mut crate::config::model::NotifyFifo,
) {
    if let Some(script) = ctx.script(s) {
        f.path = Some(script.command);
        f.user = script.user;
        f.group = script.group;
    }
}

/// Stores a parsed value if there is one.
fn set_opt<T>(slot: &mut Option<T>, v: Option<T>) {
    if v.is_some() {
        *slot = v;
    }
}

/// Stores a parsed value; a value that failed to parse leaves the default (its error is logged).
pub(super) fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Longest IPVS timeout in seconds (the kernel keeps `seconds * HZ` in an int).
const MAX_LVS_TIMEOUT: i64 = 2_147_483;

/// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`: at least one, each 1..2147483 seconds.
fn lvs_timeouts(ctx: &mut Ctx, s: &Stmt, t: &mut LvsTimeouts) {
    ctx.no_block(s);
    let args = s.args();
    if args.is_empty() {
        ctx.error(
            s.pos(),
            "'lvs_timeouts' expects tcp, tcpfin or udp followed by seconds",
        );
        return;
    }
    for pair in args.chunks(2) {
        let name = &pair[0];
        let slot = match name.text.as_str() {
            "tcp" => &mut t.tcp,
            "tcpfin" => &mut t.tcpfin,
            "udp" => &mut t.udp,
            other => {
                ctx.error(
                    name.pos,
                    format!("'lvs_timeouts': expected tcp, tcpfin or udp, found '{other}'"),
                );
                continue;
            }
        };
        let Some(value) = pair.get(1) else {
            ctx.error(
                name.pos,
                format!("'lvs_timeouts': '{}' needs a number of seconds", name.text),
            );
            continue;
        };
        if let Some(v) = ctx.parse_word(s, value, |v| parse_int_in(v, 1, MAX_LVS_TIMEOUT)) {
            *slot = Some(v as u32);
        }
    }
}

/// `lvs_sync_daemon IFACE [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`
/// (ranges as keepalived 2.2.7's man page gives them).
fn lvs_sync_daemon(ctx: &mut Ctx, s: &Stmt) -> Option<LvsSyncDaemon> {
    let interface = ctx.value(s, 0, "an interface name", |v| Ok(v.to_string()))?;
    let mut d = LvsSyncDaemon {
        interface,
        instance: None,
        id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let args = s.args();
    let mut i = 1;
    while let Some(w) = args.get(i) {
        let option = w.text.as_str();
        let takes_value = matches!(option, "inst" | "id" | "maxlen" | "port" | "ttl" | "group");
        if !takes_value {
            if d.instance.is_none() {
                d.instance = Some(option.to_string());
            } else {
                ctx.error(w.pos, format!("'lvs_sync_daemon': unexpected '{option}'"));
            }
            i += 1;
            continue;
        }
        let Some(v) = args.get(i + 1) else {
            ctx.error(
                w.pos,
                format!("'lvs_sync_daemon': '{option}' needs a value"),
            );
            break;
        };
        let int = |min, max| move |t: &str| parse_int_in(t, min, max);
        match option {
            "inst" => d.instance = Some(v.text.to_string()),
            "id" => d.id = ctx.parse_word(s, v, int(0, 255)).map(|n| n as u8),
            "maxlen" => d.maxlen = ctx.parse_word(s, v, int(1, 65_507)).map(|n| n as u16),
            "port" => d.port = ctx.parse_word(s, v, int(1, 65_535)).map(|n| n as u16),
            "ttl" => d.ttl = ctx.parse_word(s, v, int(1, 255)).map(|n| n as u8),
            _ => {
                d.group = ctx.parse_word(s, v, |t| {
                    parse_ip(t).and_then(|a| {
                        if a.is_multicast() {
                            Ok(a)
                        } else {
                            Err(format!("expected a multicast address, found '{t}'"))
                        }
                    })
                })
            }
        }
        i += 2;
    }
    Some(d)
}
