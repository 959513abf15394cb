//! `global_defs { … }`.

use super::Ctx;
use crate::config::model::{GlobalDefs, SmtpServer};
use crate::config::values::{parse_ip, parse_port};

/// Keywords keepalived accepts in global_defs that kad does not implement (warned, ignored).
const UNSUPPORTED: &[&str] = &[
    "tmp_config_directory",
    "config_save_dir",
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "bfd_process_name",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "lvs_sync_daemon",
    "lvs_timeouts",
    "vrrp_garp_extra_if",
    "vrrp_down_timer_adverts",
    "vrrp_iptables",
    "vrrp_ipsets",
    "nftables",
    "nftables_priority",
    "nftables_ifindex",
    "nftables_counters",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "vrrp_priority",
    "checker_priority",
    "bfd_priority",
    "vrrp_no_swap",
    "checker_no_swap",
    "bfd_no_swap",
    "vrrp_rt_priority",
    "checker_rt_priority",
    "bfd_rt_priority",
    "vrrp_rlimit_rttime",
    "checker_rlimit_rttime",
    "bfd_rlimit_rttime",
    "vrrp_cpu_affinity",
    "checker_cpu_affinity",
    "bfd_cpu_affinity",
    "snmp_socket",
    "enable_snmp_vrrp",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "enable_dbus",
    "dbus_service_name",
    "vmac_prefix",
    "vmac_addr_prefix",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "rs_init_notifies",
    "no_checker_emails",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "umask",
    "random_seed",
    "reload_check_config",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "include_check",
    "data_use_instance",
    "log_unknown_vrids",
    "disable_local_igmp",
    "fifo_write_vrrp_states_on_reload",
    "vrrp_notify_priority_changes",
    "vrrp_track_process",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "bfd_rlimit_rtime",
    "checker_log_all_failures_in_file",
    "vrrp_lower_prio_no_advert_all",
    "smtp_alert_bfd",
    "notify_email_once",
];

/// Reads the body of `global_defs` at `level` into `g`.
pub(super) fn global_defs(ctx: &mut Ctx, level: usize, g: &mut GlobalDefs) {
    while let Some(s) = ctx.reader.next(level) {
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
                g.lvs_flush_on_stop = true;
            }
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
            kw if UNSUPPORTED.contains(&kw) => ctx.unsupported(&s),
            _ => ctx.unknown(&s, "in global_defs"),
        }
    }
}

/// `*_notify_fifo PATH [user [group]]`: the path (an owner is warned about and not applied).
fn fifo_path(
    ctx: &mut Ctx,
    s: &crate::config::reader::Stmt,
    f: &mut crate::config::model::NotifyFifo,
) {
    if let Some(script) = ctx.script(s) {
        if let Some(w) = s.args().get(1) {
            ctx.warning(
                w.pos,
                format!(
                    "'{}': the FIFO's owner is not applied by kad (it is created 0600, root)",
                    s.keyword()
                ),
            );
        }
        f.path = Some(script.command);
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
