//! `vrrp_track_process NAME { … }` (`man 5 keepalived.conf`).

use super::super::global::set;
use super::super::Ctx;
use super::blocks::{block_name, reverse_word};
use crate::config::model::{ParamMatch, TrackProcess};
use crate::config::reader::Stmt;
use crate::config::values::parse_int_in;

/// Reads a `vrrp_track_process` block; None (an error) without `process`.
pub(in crate::config::build) fn track_process(
    ctx: &mut Ctx,
    head: &Stmt,
    level: usize,
) -> Option<TrackProcess> {
    let name = block_name(ctx, head, "a vrrp_track_process name")?;
    let mut out = TrackProcess {
        name,
        process: String::new(),
        params: Vec::new(),
        param_match: None,
        weight: 1,
        reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay: std::time::Duration::ZERO,
        terminate_delay: std::time::Duration::ZERO,
        full_command: false,
    };
    while let Some(s) = ctx.reader.next(level) {
        match s.keyword() {
            "process" => {
                let mut words = s.args().iter().map(|w| w.text.to_string());
                match words.next() {
                    Some(p) if !p.is_empty() => {
                        out.process = p;
                        out.params = words.collect();
                    }
                    _ => ctx.error(s.pos(), "'process' expects a process name"),
                }
            }
            "param_match" => {
                ctx.max_args(&s, 1);
                out.param_match = ctx.value(&s, 0, "initial or partial", |v| match v {
                    "initial" => Ok(ParamMatch::Initial),
                    "partial" => Ok(ParamMatch::Partial),
                    _ => Err(format!("'{v}' is not initial or partial")),
                });
            }
            "weight" => {
                ctx.max_args(&s, 2);
                set(
                    &mut out.weight,
                    ctx.value(&s, 0, "a weight -254..254", |v| {
                        parse_int_in(v, -254, 254).map(|v| v as i32)
                    }),
                );
                out.reverse = reverse_word(ctx, &s, 1);
            }
            "quorum" => set(&mut out.quorum, ctx.int(&s, 1, 65535).map(|v| v as u32)),
            "quorum_max" => out.quorum_max = ctx.int(&s, 0, 65535).map(|v| v as u32),
            "fork_delay" => set(&mut out.fork_delay, ctx.timer(&s)),
            "terminate_delay" => set(&mut out.terminate_delay, ctx.timer(&s)),
            "delay" => {
                if let Some(d) = ctx.timer(&s) {
                    out.fork_delay = d;
                    out.terminate_delay = d;
                }
            }
            "full_command" => out.full_command = ctx.bare(&s),
            _ => ctx.unknown(&s, "in vrrp_track_process"),
        }
    }
    if out.process.is_empty() {
        ctx.error(head.pos(), "vrrp_track_process needs a 'process'");
        return None;
    }
    Some(out)
}
