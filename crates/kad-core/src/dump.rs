//! Text shared by the dump files of both children (keepalived's layout, one item per line).

use std::fmt::Write;

use crate::config::model::{GlobalDefs, Script};

fn opt_bool(v: Option<bool>) -> &'static str {
    match v {
        None => "unset",
        Some(true) => "true",
        Some(false) => "false",
    }
}

/// The `------< Global definitions >------` section.
pub fn global_section(g: &GlobalDefs) -> String {
    let mut s = String::new();
    let router_id = g.router_id_or_host();
    let _ = writeln!(s, "------< Global definitions >------");
    let _ = writeln!(s, " Network namespace = (default)");
    let _ = writeln!(s, " Router ID = {router_id}");
    if let Some(smtp) = &g.smtp_server {
        let _ = writeln!(s, " Smtp server = {}:{}", smtp.host, smtp.port);
        let _ = writeln!(
            s,
            " Smtp server connection timeout = {}",
            g.smtp_connect_timeout.as_secs()
        );
    }
    if let Some(from) = &g.notification_email_from {
        let _ = writeln!(s, " Email notification from = {from}");
    }
    for to in &g.notification_email {
        let _ = writeln!(s, " Email notification = {to}");
    }
    let _ = writeln!(s, " Default smtp_alert = {}", opt_bool(g.smtp_alert));
    let _ = writeln!(
        s,
        " Default smtp_alert_vrrp = {}",
        opt_bool(g.smtp_alert_vrrp)
    );
    let _ = writeln!(
        s,
        " Default smtp_alert_checker = {}",
        opt_bool(g.smtp_alert_checker)
    );
    let _ = writeln!(
        s,
        " Checkers log all failures = {}",
        g.checker_log_all_failures
    );
    let _ = writeln!(s, " Dynamic interfaces = {}", g.dynamic_interfaces);
    let _ = writeln!(s, " LVS flush = {}", g.lvs_flush);
    let _ = writeln!(
        s,
        " LVS flush on stop = {}",
        if g.lvs_flush_on_stop {
            "enabled"
        } else {
            "disabled"
        }
    );
    let _ = writeln!(s, " VRRP IPv4 mcast group = {}", g.vrrp_mcast_group4);
    let _ = writeln!(s, " VRRP IPv6 mcast group = {}", g.vrrp_mcast_group6);
    let _ = writeln!(
        s,
        " Gratuitous ARP delay = {}",
        g.vrrp_garp_master_delay.as_secs()
    );
    let _ = writeln!(s, " Gratuitous ARP repeat = {}", g.vrrp_garp_master_repeat);
    let _ = writeln!(
        s,
        " Gratuitous ARP refresh timer = {}",
        g.vrrp_garp_master_refresh.as_secs()
    );
    let _ = writeln!(
        s,
        " Gratuitous ARP refresh repeat = {}",
        g.vrrp_garp_master_refresh_repeat
    );
    let _ = writeln!(
        s,
        " Gratuitous ARP interval = {:.6}",
        g.vrrp_garp_interval.as_secs_f64()
    );
    let _ = writeln!(
        s,
        " Gratuitous NA interval = {:.6}",
        g.vrrp_gna_interval.as_secs_f64()
    );
    let _ = writeln!(s, " VRRP default protocol version = {}", g.vrrp_version);
    let _ = writeln!(s, " VRRP check unicast_src = {}", g.vrrp_check_unicast_src);
    let _ = writeln!(
        s,
        " VRRP skip check advert addresses = {}",
        g.vrrp_skip_check_adv_addr
    );
    let _ = writeln!(s, " VRRP strict mode = {}", g.vrrp_strict);
    let _ = writeln!(
        s,
        " Script security {}",
        if g.enable_script_security {
            "enabled"
        } else {
            "disabled"
        }
    );
    if let Some(user) = &g.script_user {
        let _ = writeln!(s, " Default script user = {user}");
    }
    s
}

/// A script as keepalived shows it: `'cmd arg'` plus the user if one is set.
pub fn script(sc: &Script) -> String {
    match &sc.user {
        Some(u) => format!("'{}' user {u}", sc.command),
        None => format!("'{}'", sc.command),
    }
}
