//! Turns statements into the typed [`Config`], reporting every problem with its position.
//!
//! One module per area: [`global`] (global_defs), [`vrrp`] (scripts, sync groups, instances),
//! [`lvs`] (virtual server groups, virtual servers, real servers, checkers). This module holds the
//! shared helpers for reading values and the checks that span blocks (names referred to, VRIDs).

mod global;
mod lvs;
mod strict;
mod vrrp;

use std::collections::HashMap;

use super::diag::Pos;
use super::keywords::{self, Block, Status};
use super::model::Config;
use super::reader::{Reader, Stmt, Word};

/// Builder state: the statement reader plus what cross-block checks need.
pub(crate) struct Ctx {
    reader: Reader,
    /// Position of each vrrp_instance, parallel to `Config::vrrp_instances`.
    instance_pos: Vec<Pos>,
    /// Position of each instance's `virtual_router_id` line, parallel to `instance_pos`.
    vrid_pos: Vec<Pos>,
    /// The `virtual_router_id` line of the instance being built (taken when it is pushed).
    pending_vrid_pos: Option<Pos>,
    /// Position of each vrrp_script, parallel to `Config::vrrp_scripts`.
    script_pos: Vec<Pos>,
    /// Position of each sync group, parallel to `Config::sync_groups`.
    group_pos: Vec<Pos>,
    /// Position of each virtual server group, parallel to `Config::virtual_server_groups`.
    vsg_pos: Vec<Pos>,
    /// Names referred to: (kind, name, where).
    references: Vec<(RefKind, String, Pos)>,
    /// Probe for interfaces named in the config (warnings only).
    interface_exists: Option<fn(&str) -> bool>,
}

/// What kind of name a reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefKind {
    Script,
    Process,
    VirtualServerGroup,
}

/// Builds a [`Config`] from the statements of `reader`. Diagnostics stay in the reader.
pub(crate) fn build(
    reader: Reader,
    interface_exists: Option<fn(&str) -> bool>,
) -> (Config, Reader) {
    let mut ctx = Ctx {
        interface_exists,
        reader,
        instance_pos: Vec::new(),
        vrid_pos: Vec::new(),
        pending_vrid_pos: None,
        script_pos: Vec::new(),
        group_pos: Vec::new(),
        vsg_pos: Vec::new(),
        references: Vec::new(),
    };
    let mut cfg = Config::default();
    while let Some(s) = ctx.next(0, Block::Top) {
        match s.keyword() {
            "global_defs" => {
                if ctx.need_block(&s) {
                    global::global_defs(&mut ctx, 1, &mut cfg.global);
                }
            }
            "vrrp_script" => {
                if let Some(script) = vrrp::vrrp_script(&mut ctx, &s, 1) {
                    ctx.script_pos.push(s.pos());
                    cfg.vrrp_scripts.push(script);
                }
            }
            "vrrp_track_process" => {
                if let Some(t) = vrrp::track_process(&mut ctx, &s, 1) {
                    cfg.track_processes.push(t);
                }
            }
            "track_file" | "vrrp_track_file" => {
                if let Some(t) = vrrp::track_file(&mut ctx, &s, 1) {
                    cfg.track_files.push(t);
                }
            }
            "vrrp_sync_group" => {
                if let Some(group) = vrrp::sync_group(&mut ctx, &s, 1) {
                    ctx.group_pos.push(s.pos());
                    cfg.sync_groups.push(group);
                }
            }
            "vrrp_instance" => {
                ctx.pending_vrid_pos = None;
                if let Some(inst) = vrrp::instance(&mut ctx, &s, 1, &cfg.global) {
                    ctx.instance_pos.push(s.pos());
                    let vrid_at = ctx.pending_vrid_pos.take().unwrap_or(s.pos());
                    ctx.vrid_pos.push(vrid_at);
                    cfg.vrrp_instances.push(inst);
                }
            }
            "virtual_server_group" => {
                if let Some(g) = lvs::virtual_server_group(&mut ctx, &s, 1) {
                    ctx.vsg_pos.push(s.pos());
                    cfg.virtual_server_groups.push(g);
                }
            }
            "virtual_server" => {
                if let Some(vs) =
                    lvs::virtual_server(&mut ctx, &s, 1, cfg.global.checker_log_all_failures)
                {
                    cfg.virtual_servers.push(vs);
                }
            }
            "SSL" => {
                if ctx.need_block(&s) {
                    cfg.ssl = Some(lvs::ssl_context(&mut ctx, 1));
                }
            }
            // Global settings keepalived also accepts outside global_defs.
            "child_wait_time" => {
                if let Some(v) = ctx.value(&s, 0, "a time in seconds", super::values::parse_timer) {
                    cfg.global.child_wait_time = v;
                }
            }
            "static_ipaddress" => {
                for a in vrrp::address_block(&mut ctx, &s, 1) {
                    if a.dev.is_some() {
                        cfg.static_ipaddress.push(a);
                    } else {
                        let msg = format!("static address {} has no 'dev'; ignored", a.addr);
                        ctx.warning(s.pos(), msg);
                    }
                }
            }
            "static_routes" => {
                let mut v = vrrp::route_block(&mut ctx, &s, 1);
                cfg.static_routes.append(&mut v);
            }
            "static_rules" => {
                let mut v = vrrp::rule_block(&mut ctx, &s, 1);
                cfg.static_rules.append(&mut v);
            }
            kw if ctx.is_unsupported(Block::Top, kw) => {}
            _ => ctx.unknown(&s, "at top level"),
        }
    }
    ctx.check_references(&mut cfg);
    strict::apply(&mut ctx, &mut cfg);
    cfg.virtual_servers.shrink_to_fit();
    cfg.vrrp_instances.shrink_to_fit();
    (cfg, ctx.reader)
}

impl Ctx {
    /// The next statement of the block at `level`, warning first (at its position) if the
    /// keyword table says `block` does not act on it.
    fn next(&mut self, level: usize, block: Block) -> Option<Stmt> {
        let s = self.reader.next(level)?;
        if let Some(msg) = keywords::warning(block, s.keyword()) {
            self.warning(s.pos(), msg);
        }
        Some(s)
    }

    /// True if the table lists `kw` as not supported in `block` ([`Ctx::next`] warned).
    fn is_unsupported(&self, block: Block, kw: &str) -> bool {
        keywords::status(block, kw) == Some(Status::Unsupported)
    }

    fn error(&mut self, pos: Pos, msg: impl Into<String>) {
        self.reader.diags().error(pos, msg);
    }

    fn warning(&mut self, pos: Pos, msg: impl Into<String>) {
        self.reader.diags().warning(pos, msg);
    }

    /// Reads argument `i` (0-based, after the keyword) with `parse`; reports a missing or bad
    /// value as an error naming what was expected.
    fn value<T>(
        &mut self,
        s: &Stmt,
        i: usize,
        expected: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.no_block(s);
        self.head_value(s, i, expected, parse)
    }

    /// Like [`Ctx::value`], for the head of a block (`real_server ADDR PORT {`).
    fn head_value<T>(
        &mut self,
        s: &Stmt,
        i: usize,
        expected: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match s.args().get(i) {
            None => {
                self.error(s.pos(), format!("'{}' expects {expected}", s.keyword()));
                None
            }
            Some(w) => self.parse_word(s, w, parse),
        }
    }

    fn parse_word<T>(
        &mut self,
        s: &Stmt,
        w: &Word,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(&w.text) {
            Ok(v) => Some(v),
            Err(msg) => {
                self.error(w.pos, format!("'{}': {msg}", s.keyword()));
                None
            }
        }
    }

    /// The single string argument of `s`, warning about extra words.
    fn string(&mut self, s: &Stmt, expected: &str) -> Option<String> {
        self.max_args(s, 1);
        self.value(s, 0, expected, |v| Ok(v.to_string()))
    }

    /// A keyword with an optional boolean: bare means `true`.
    fn flag(&mut self, s: &Stmt) -> bool {
        self.max_args(s, 1);
        if s.args().is_empty() {
            self.no_block(s);
            return true;
        }
        self.value(s, 0, "a boolean", super::values::parse_bool)
            .unwrap_or(false)
    }

    /// A keyword that takes no value at all.
    fn bare(&mut self, s: &Stmt) -> bool {
        self.no_block(s);
        self.max_args(s, 0);
        true
    }

    /// An integer argument in `min..=max`.
    fn int(&mut self, s: &Stmt, min: i64, max: i64) -> Option<i64> {
        self.max_args(s, 1);
        self.value(s, 0, &format!("an integer between {min} and {max}"), |v| {
            super::values::parse_int_in(v, min, max)
        })
    }

    /// A timer argument (seconds, fractions allowed).
    fn timer(&mut self, s: &Stmt) -> Option<std::time::Duration> {
        self.max_args(s, 1);
        self.value(s, 0, "a time in seconds", super::values::parse_timer)
    }

    /// `SCRIPT [user [group]]`.
    fn script(&mut self, s: &Stmt) -> Option<super::model::Script> {
        self.max_args(s, 3);
        let command = self.value(s, 0, "a script path or a quoted command", |v| {
            if v.trim().is_empty() {
                Err("the script is empty".into())
            } else {
                Ok(v.to_string())
            }
        })?;
        Some(super::model::Script {
            command,
            user: s.args().get(1).map(|w| w.text.to_string()),
            group: s.args().get(2).map(|w| w.text.to_string()),
        })
    }

    /// Warns that words after the first `n` arguments are ignored.
    fn max_args(&mut self, s: &Stmt, n: usize) {
        if let Some(extra) = s.args().get(n) {
            let pos = extra.pos;
            let text = extra.text.clone();
            self.warning(
                pos,
                format!("'{}': extra argument '{text}' ignored", s.keyword()),
            );
        }
    }

    /// Warns (once) if a keyword that takes no block was given one; the block is skipped.
    fn no_block(&mut self, s: &Stmt) {
        if s.block {
            self.warning(
                s.pos(),
                format!("'{}' takes no '{{' block; block ignored", s.keyword()),
            );
        }
    }

    /// Errors if a keyword that needs a block has none.
    fn need_block(&mut self, s: &Stmt) -> bool {
        if !s.block {
            self.error(s.pos(), format!("'{}' expects a '{{' block", s.keyword()));
        }
        s.block
    }

    /// Every word of every statement of the block at `level` (lists such as `group { … }`).
    fn word_list(&mut self, level: usize) -> Vec<Word> {
        let mut out = Vec::new();
        while let Some(s) = self.reader.next(level) {
            self.no_block(&s);
            out.extend(s.words);
        }
        out
    }

    /// An unknown keyword: warning, and its block (if any) is skipped (keepalived's behaviour).
    fn unknown(&mut self, s: &Stmt, place: &str) {
        self.warning(
            s.pos(),
            format!("unknown keyword '{}' {place}; ignored", s.keyword()),
        );
    }

    /// Warns if `name` is not an interface of this machine (only when a probe was given).
    fn check_interface(&mut self, name: &str, pos: Pos, what: &str) {
        if let Some(exists) = self.interface_exists {
            if !exists(name) {
                self.warning(
                    pos,
                    format!("{what} '{name}' does not exist on this machine (the instance waits in FAULT until it appears)"),
                );
            }
        }
    }

    fn refer(&mut self, kind: RefKind, name: &str, pos: Pos) {
        self.references.push((kind, name.to_string(), pos));
    }

    /// Checks that span blocks: duplicate names, names referred to, VRIDs per interface.
    fn check_references(&mut self, cfg: &mut Config) {
        let instance_names = first_positions(
            cfg.vrrp_instances.iter().map(|i| i.name.as_str()),
            &self.instance_pos,
        );
        self.report_duplicates("vrrp_instance", &instance_names.1);
        let script_names = first_positions(
            cfg.vrrp_scripts.iter().map(|s| s.name.as_str()),
            &self.script_pos,
        );
        self.report_duplicates("vrrp_script", &script_names.1);
        let group_names = first_positions(
            cfg.sync_groups.iter().map(|g| g.name.as_str()),
            &self.group_pos,
        );
        self.report_duplicates("vrrp_sync_group", &group_names.1);
        let vsg_names = first_positions(
            cfg.virtual_server_groups.iter().map(|g| g.name.as_str()),
            &self.vsg_pos,
        );
        self.report_duplicates("virtual_server_group", &vsg_names.1);

        for (kind, name, pos) in std::mem::take(&mut self.references) {
            match kind {
                RefKind::Script if !script_names.0.contains_key(&name) => self.warning(
                    pos,
                    format!("track_script '{name}' is not a defined vrrp_script; ignored"),
                ),
                RefKind::Process if !cfg.track_processes.iter().any(|p| p.name == name) => self
                    .warning(
                        pos,
                        format!(
                            "track_process '{name}' is not a defined vrrp_track_process; ignored"
                        ),
                    ),
                RefKind::VirtualServerGroup if !vsg_names.0.contains_key(&name) => self.error(
                    pos,
                    format!("virtual_server group '{name}' is not a defined virtual_server_group"),
                ),
                _ => {}
            }
        }
        let known_scripts: Vec<String> = cfg.vrrp_scripts.iter().map(|s| s.name.clone()).collect();
        let known: Vec<String> = cfg.track_processes.iter().map(|p| p.name.clone()).collect();
        for inst in &mut cfg.vrrp_instances {
            inst.track_process.retain(|t| known.contains(&t.name));
        }
        for group in &mut cfg.sync_groups {
            group.track_process.retain(|t| known.contains(&t.name));
        }
        for inst in &mut cfg.vrrp_instances {
            inst.track_script
                .retain(|t| known_scripts.contains(&t.name));
        }
        for group in &mut cfg.sync_groups {
            group
                .track_script
                .retain(|t| known_scripts.contains(&t.name));
        }

        // Sync group members must exist and belong to one group only.
        let mut member_of: HashMap<String, String> = HashMap::new();
        for (gi, group) in cfg.sync_groups.iter_mut().enumerate() {
            let pos = self.group_pos[gi];
            let mut kept = Vec::new();
            for m in std::mem::take(&mut group.members) {
                if !instance_names.0.contains_key(&m) {
                    self.reader.diags().warning(
                        pos,
                        format!("sync group '{}' names vrrp_instance '{m}', which is not defined; ignored", group.name),
                    );
                } else if let Some(other) = member_of.get(&m) {
                    self.reader.diags().error(
                        pos,
                        format!(
                            "vrrp_instance '{m}' is in sync group '{}' and already in '{other}'",
                            group.name
                        ),
                    );
                } else {
                    member_of.insert(m.clone(), group.name.clone());
                    kept.push(m);
                }
            }
            group.members = kept;
        }

        // The same VRID twice on one interface and address family.
        let mut seen: HashMap<(String, u8, bool), usize> = HashMap::new();
        for (i, inst) in cfg.vrrp_instances.iter().enumerate() {
            let key = (inst.interface.clone(), inst.vrid, inst.ipv6);
            if let Some(&first) = seen.get(&key) {
                let first_pos = self.vrid_pos[first];
                let msg = format!(
                    "virtual_router_id {} is used twice on interface {} for {}: by '{}' (line {}) and '{}'",
                    inst.vrid,
                    inst.interface,
                    if inst.ipv6 { "IPv6" } else { "IPv4" },
                    cfg.vrrp_instances[first].name,
                    first_pos.line,
                    inst.name
                );
                // At the second instance's virtual_router_id line (keepalived's place).
                let pos = self.vrid_pos[i];
                self.reader.diags().error(pos, msg);
            } else {
                seen.insert(key, i);
            }
        }
    }

    fn report_duplicates(&mut self, what: &str, dups: &[(String, Pos, Pos)]) {
        for (name, first, again) in dups {
            self.error(
                *again,
                format!(
                    "{what} '{name}' is defined twice (first at line {})",
                    first.line
                ),
            );
        }
    }
}

/// Maps each name to its first position and lists repeats as (name, first, repeat).
#[allow(clippy::type_complexity)]
fn first_positions<'a>(
    names: impl Iterator<Item = &'a str>,
    positions: &[Pos],
) -> (HashMap<String, Pos>, Vec<(String, Pos, Pos)>) {
    let mut map = HashMap::new();
    let mut dups = Vec::new();
    for (name, &pos) in names.zip(positions) {
        match map.get(name) {
            Some(&first) => dups.push((name.to_string(), first, pos)),
            None => {
                map.insert(name.to_string(), pos);
            }
        }
    }
    (map, dups)
}
