//! Timing keywords at virtual server, real server and checker level, and their inheritance.

use std::time::Duration;

use super::super::Ctx;
use crate::config::model::CheckTiming;
use crate::config::reader::Stmt;

/// Timing settings given at one level; `None` means inherit.
#[derive(Debug, Clone, Default)]
pub(super) struct Timing {
    pub(super) delay_loop: Option<Duration>,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) retry: Option<u32>,
    pub(super) delay_before_retry: Option<Duration>,
    pub(super) warmup: Option<Duration>,
    pub(super) alpha: Option<bool>,
}

impl Timing {
    /// Reads `s` if it is a timing keyword; false otherwise.
    pub(super) fn keyword(&mut self, ctx: &mut Ctx, s: &Stmt) -> bool {
        match s.keyword() {
            "delay_loop" => self.delay_loop = positive_timer(ctx, s).or(self.delay_loop),
            "connect_timeout" => {
                self.connect_timeout = positive_timer(ctx, s).or(self.connect_timeout)
            }
            "retry" | "nb_get_retry" => {
                self.retry = ctx.int(s, 0, 1_000_000).map(|v| v as u32).or(self.retry)
            }
            "delay_before_retry" => {
                self.delay_before_retry = ctx.timer(s).or(self.delay_before_retry)
            }
            "warmup" => self.warmup = ctx.timer(s).or(self.warmup),
            "alpha" => self.alpha = Some(ctx.flag(s)),
            _ => return false,
        }
        true
    }

    /// This level's settings over `outer`'s.
    pub(super) fn over(&self, outer: &Timing) -> Timing {
        Timing {
            delay_loop: self.delay_loop.or(outer.delay_loop),
            connect_timeout: self.connect_timeout.or(outer.connect_timeout),
            retry: self.retry.or(outer.retry),
            delay_before_retry: self.delay_before_retry.or(outer.delay_before_retry),
            warmup: self.warmup.or(outer.warmup),
            alpha: self.alpha.or(outer.alpha),
        }
    }

    /// Final values, with keepalived's defaults for anything never set.
    pub(super) fn resolve(&self) -> CheckTiming {
        CheckTiming {
            delay_loop: self.delay_loop.unwrap_or(Duration::from_secs(60)),
            connect_timeout: self.connect_timeout.unwrap_or(Duration::from_secs(5)),
            retry: self.retry.unwrap_or(1),
            delay_before_retry: self.delay_before_retry.unwrap_or(Duration::from_secs(1)),
            warmup: self.warmup,
            alpha: self.alpha.unwrap_or(false),
        }
    }
}

pub(super) fn positive_timer(ctx: &mut Ctx, s: &Stmt) -> Option<Duration> {
    let d = ctx.timer(s)?;
    if d.is_zero() {
        ctx.error(s.pos(), format!("'{}' must be above 0", s.keyword()));
        return None;
    }
    Some(d)
}
