//! Virtual addresses (`virtual_ipaddress`, `virtual_ipaddress_excluded`, `static_ipaddress`),
//! route and rule blocks.

use super::super::Ctx;
use crate::config::model::VirtualAddress;
use crate::config::reader::Stmt;
use crate::config::route::{parse_route, parse_rule, Route, Rule, DEFAULT_RULE_PRIORITY};
use crate::config::values::{parse_ip, parse_ip_prefix};

/// An address line of `virtual_ipaddress`: `ADDR[/P] [brd X] [dev D] [scope S] [label L] …`.
pub(super) fn virtual_address(ctx: &mut Ctx, s: &Stmt) -> Option<VirtualAddress> {
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
                let scope = match v.text.as_str() {
                    "global" => Some(0),
                    "site" => Some(200),
                    "link" => Some(253),
                    "host" => Some(254),
                    "nowhere" => Some(255),
                    n => n.parse::<u8>().ok(),
                };
                if scope.is_some() {
                    va.scope = scope;
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
    if va.addr.is_ipv6() && va.scope.take().is_some() {
        // keepalived 2.2.7: "Cannot specify scope for IPv6 addresses (…) - ignoring scope".
        ctx.warning(
            s.pos(),
            format!(
                "cannot specify scope for IPv6 addresses ({}/{}); scope ignored, as keepalived does",
                va.addr, va.prefix
            ),
        );
    }
    Some(va)
}

pub(in crate::config::build) fn address_block(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
) -> Vec<VirtualAddress> {
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

/// A `virtual_routes` / `static_routes` block: one route per line; a line kad cannot apply is
/// skipped with a warning naming the problem.
pub(in crate::config::build) fn route_block(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
) -> Vec<Route> {
    let mut out = Vec::new();
    if ctx.need_block(head) {
        while let Some(s) = ctx.reader.next(level) {
            ctx.no_block(&s);
            let words: Vec<&str> = s.words.iter().map(|w| w.text.as_str()).collect();
            match parse_route(&words) {
                Ok(r) => out.push(r),
                Err(e) => ctx.warning(s.pos(), format!("{e}; route ignored")),
            }
        }
    }
    out
}

/// A `virtual_rules` / `static_rules` block: one rule per line; a line kad cannot apply is
/// skipped with a warning. A rule without a priority gets keepalived's 16384 and its warning.
pub(in crate::config::build) fn rule_block(ctx: &mut Ctx, head: &Stmt, level: usize) -> Vec<Rule> {
    let mut out = Vec::new();
    if ctx.need_block(head) {
        while let Some(s) = ctx.reader.next(level) {
            ctx.no_block(&s);
            let words: Vec<&str> = s.words.iter().map(|w| w.text.as_str()).collect();
            match parse_rule(&words) {
                Ok((r, defaulted)) => {
                    if defaulted {
                        ctx.warning(
                            s.pos(),
                            format!(
                                "Rule has no preference specified - setting to {DEFAULT_RULE_PRIORITY}. \
                                 This is probably not what you want."
                            ),
                        );
                    }
                    out.push(r);
                }
                Err(e) => ctx.warning(s.pos(), format!("{e}; rule ignored")),
            }
        }
    }
    out
}
