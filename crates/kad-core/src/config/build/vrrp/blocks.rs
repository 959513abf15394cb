//! `vrrp_script`, `vrrp_sync_group` and `track_file` blocks, and the pieces instances share
//! with them (block names, notify keywords, tracked lists).

use std::time::Duration;

use super::super::global::set;
use super::super::{Ctx, RefKind};
use crate::config::keywords::Block;
use crate::config::model::{Notify, Script, SyncGroup, TrackFile, Tracked, VrrpScript};
use crate::config::reader::Stmt;
use crate::config::values::parse_int_in;

/// `vrrp_script NAME { … }` (content at `level`).
pub(in crate::config::build) fn vrrp_script(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
) -> Option<VrrpScript> {
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
    while let Some(s) = ctx.next(level, Block::Script) {
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
pub(in crate::config::build) fn sync_group(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
) -> Option<SyncGroup> {
    let name = block_name(ctx, head, "a group name")?;
    let mut g = SyncGroup {
        name,
        members: Vec::new(),
        track_interface: Vec::new(),
        track_script: Vec::new(),
        track_process: Vec::new(),
        notify: Notify::default(),
        smtp_alert: None,
    };
    while let Some(s) = ctx.next(level, Block::SyncGroup) {
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
            "track_process" => {
                g.track_process = tracked_list(ctx, &s, level + 1, Some(RefKind::Process))
            }
            "smtp_alert" => g.smtp_alert = Some(ctx.flag(&s)),
            kw if ctx.is_unsupported(Block::SyncGroup, kw) => {}
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
pub(super) fn notify_keyword(ctx: &mut Ctx, s: &Stmt, n: &mut Notify) -> bool {
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
pub(in crate::config::build) fn track_file(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
) -> Option<TrackFile> {
    let name = block_name(ctx, head, "a track_file name")?;
    let mut out = TrackFile {
        name,
        file: String::new(),
        weight: 1,
        reverse: false,
        init: None,
    };
    while let Some(s) = ctx.next(level, Block::TrackFile) {
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
pub(in crate::config::build) fn block_name(
    ctx: &mut Ctx,
    head: &Stmt,
    expected: &str,
) -> Option<String> {
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
pub(in crate::config::build) fn reverse_word(ctx: &mut Ctx, s: &Stmt, i: usize) -> bool {
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
pub(super) fn tracked_list(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
    kind: Option<RefKind>,
) -> Vec<Tracked> {
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
