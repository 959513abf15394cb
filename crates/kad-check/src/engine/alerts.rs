//! Names of services as keepalived writes them, and what a transition announces: its notify
//! script (notify_up/down, quorum_up/down) and its smtp_alert mail text.

use kad_core::config::model::{Config, Protocol, RealServer, Script, ServiceKey, VirtualServer};

use super::effects::Effect;
use crate::script::split_command;
use crate::table;

/// `[addr]:proto:port` as keepalived writes a service.
pub fn fmt_service(addr: std::net::IpAddr, port: u16, vs: &VirtualServer) -> String {
    let proto = match vs.protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    format!("[{addr}]:{proto}:{port}")
}

/// `[addr]:proto:port` of a virtual server (or `FWM n`, `group NAME`).
pub fn fmt_vs(vs: &VirtualServer) -> String {
    match &vs.key {
        ServiceKey::Addr { addr, .. } => fmt_service(*addr, table::vs_port(vs), vs),
        ServiceKey::Fwmark(m) => format!("FWM {m}"),
        ServiceKey::Group(g) => format!("group {g}"),
    }
}

/// `[addr]:proto:port` of a real server (the virtual server's port when it sets none).
pub fn rs_name(vs: &VirtualServer, rs: &RealServer) -> String {
    fmt_service(rs.addr, rs.port.unwrap_or(table::vs_port(vs)), vs)
}

/// True if LVS lines go to a notify FIFO (`lvs_notify_fifo` or `notify_fifo`).
fn wants_fifo(config: &Config) -> bool {
    let f = &config.global.fifos;
    f.all.path.is_some() || f.lvs.path.is_some()
}

/// A notify or quorum script to run.
pub fn notify(script: &Script) -> Effect {
    Effect::RunNotify {
        script: script.clone(),
        argv: split_command(&script.command),
    }
}

/// Runs the notify script (if any) and mails when `smtp_alert` (else `smtp_alert_checker`,
/// else `smtp_alert` of global_defs) asks for it.
fn announce(
    config: &Config,
    script: Option<&Script>,
    smtp_alert: Option<bool>,
    subject: String,
    body: String,
    out: &mut Vec<Effect>,
) {
    if let Some(s) = script {
        out.push(notify(s));
    }
    let g = &config.global;
    if smtp_alert
        .or(g.smtp_alert_checker)
        .or(g.smtp_alert)
        .unwrap_or(false)
    {
        out.push(Effect::Mail { subject, body });
    }
}

/// A real server went up or down: the log line, notify_up/down, the mail.
pub fn server_changed(
    config: &Config,
    router: &str,
    vs: &VirtualServer,
    rs: &RealServer,
    alive: bool,
    out: &mut Vec<Effect>,
) {
    let (name, vname) = (rs_name(vs, rs), fmt_vs(vs));
    out.push(Effect::Log(if alive {
        format!("Adding service {name} to VS {vname}")
    } else {
        format!("Removing service {name} from VS {vname}")
    }));
    let script = if alive {
        &rs.notify_up
    } else {
        &rs.notify_down
    };
    if wants_fifo(config) {
        out.push(Effect::Fifo(kad_core::notify_fifo::rs_line(
            &name, &vname, alive,
        )));
    }
    let state = if alive { "UP" } else { "DOWN" };
    let subject = format!("[{router}] Realserver {name} of virtual server {vname} - {state}");
    let body = format!("=> kad: real server {name} of virtual server {vname} is {state} <=");
    announce(config, script.as_deref(), rs.smtp_alert, subject, body, out);
}

/// A virtual server gained or lost quorum: quorum_up/down and the mail.
pub fn quorum_changed(
    config: &Config,
    router: &str,
    vs: &VirtualServer,
    up: bool,
    alive_weight: i64,
    out: &mut Vec<Effect>,
) {
    let vname = fmt_vs(vs);
    if wants_fifo(config) {
        out.push(Effect::Fifo(kad_core::notify_fifo::vs_line(&vname, up)));
    }
    let script = if up { &vs.quorum_up } else { &vs.quorum_down };
    let state = if up { "UP" } else { "DOWN" };
    let subject = format!("[{router}] Virtualserver {vname} - quorum {state}");
    let body = format!(
        "=> kad: virtual server {vname} quorum is {state} (alive weight {alive_weight}) <="
    );
    announce(config, script.as_deref(), vs.smtp_alert, subject, body, out);
}
