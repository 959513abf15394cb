//! The health rules, written once for every checker kind (pure: no I/O, no clock).
//!
//! - A checker is up or down. A success brings it up at once. A failure of an up checker is
//!   retried `retry` times, `delay_before_retry` apart, before it counts; then the checker is
//!   down. Between rounds it waits `delay_loop`. `alpha` starts it down.
//! - A real server is alive when every one of its checkers is up; its weight is the configured
//!   weight plus what dynamic checkers (misc_dynamic, FILE_CHECK dynamic) add.
//! - A virtual server has quorum while the summed weight of its alive real servers stays at or
//!   above `quorum - hysteresis`; it regains it at `quorum + hysteresis`.

use std::time::Duration;

use compact_str::CompactString;
use kad_core::config::model::CheckTiming;
use smallvec::SmallVec;

/// The result of one check attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// True if the server passed.
    pub ok: bool,
    /// What happened, for logs and the dump ("connected", "status 500", "timed out"); short
    /// reasons are stored inline (no allocation per check).
    pub reason: CompactString,
    /// For dynamic checkers: the weight change this result asks for.
    pub weight_delta: Option<i64>,
}

impl Verdict {
    /// A pass.
    pub fn up(reason: impl Into<CompactString>) -> Verdict {
        Verdict {
            ok: true,
            reason: reason.into(),
            weight_delta: None,
        }
    }

    /// A failure.
    pub fn down(reason: impl Into<CompactString>) -> Verdict {
        Verdict {
            ok: false,
            reason: reason.into(),
            weight_delta: None,
        }
    }
}

/// The retry rule of one checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerHealth {
    /// Current state.
    pub up: bool,
    /// Failures of this round so far (while still up).
    pub failures: u32,
    retry: u32,
    delay_loop: Duration,
    delay_before_retry: Duration,
}

impl CheckerHealth {
    /// A checker with `timing`, up unless `alpha`.
    pub fn new(timing: &CheckTiming) -> CheckerHealth {
        CheckerHealth {
            up: !timing.alpha,
            failures: 0,
            retry: timing.retry,
            delay_loop: timing.delay_loop,
            delay_before_retry: timing.delay_before_retry,
        }
    }

    /// Counts one result: returns the new state if it changed, and when to check next.
    pub fn record(&mut self, ok: bool) -> (Option<bool>, Duration) {
        if ok {
            self.failures = 0;
            let changed = (!self.up).then_some(true);
            self.up = true;
            return (changed, self.delay_loop);
        }
        if self.up && self.failures < self.retry {
            self.failures += 1;
            return (None, self.delay_before_retry);
        }
        self.failures = 0;
        let changed = self.up.then_some(false);
        self.up = false;
        (changed, self.delay_loop)
    }
}

/// A real server's aggregate of its checkers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHealth {
    /// Configured weight.
    pub base_weight: i64,
    /// State of each checker (inline for the usual one or two: no allocation per server).
    pub checkers_up: SmallVec<[bool; 4]>,
    /// Weight change asked by each checker (dynamic checkers only).
    pub deltas: SmallVec<[i64; 2]>,
}

impl ServerHealth {
    /// A real server with `weight` and checkers in the given initial states.
    pub fn new(weight: i64, checkers_up: Vec<bool>) -> ServerHealth {
        let n = checkers_up.len();
        ServerHealth {
            base_weight: weight,
            checkers_up: checkers_up.into(),
            deltas: smallvec::smallvec![0; n],
        }
    }

    /// True when every checker is up (a server without checkers is always alive).
    pub fn alive(&self) -> bool {
        self.checkers_up.iter().all(|&u| u)
    }

    /// The weight to program: configured plus dynamic changes, within IPVS's 0..=65535.
    pub fn weight(&self) -> u32 {
        let w = self.base_weight + self.deltas.iter().sum::<i64>();
        w.clamp(0, 65_535) as u32
    }
}

/// Quorum of a virtual server, with hysteresis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    /// `quorum`.
    pub quorum: i64,
    /// `hysteresis`.
    pub hysteresis: i64,
    /// Whether quorum is held now.
    pub up: bool,
}

impl Quorum {
    /// Quorum rules; starts held (the first [`Quorum::update`] decides).
    pub fn new(quorum: u32, hysteresis: u32) -> Quorum {
        Quorum {
            quorum: i64::from(quorum),
            hysteresis: i64::from(hysteresis),
            up: true,
        }
    }

    /// Applies the alive weight sum; returns the new state if it changed.
    pub fn update(&mut self, alive_weight: i64) -> Option<bool> {
        if self.up && alive_weight < self.quorum - self.hysteresis {
            self.up = false;
            return Some(false);
        }
        if !self.up && alive_weight >= self.quorum + self.hysteresis {
            self.up = true;
            return Some(true);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(retry: u32, alpha: bool) -> CheckTiming {
        CheckTiming {
            delay_loop: Duration::from_secs(6),
            connect_timeout: Duration::from_secs(2),
            retry,
            delay_before_retry: Duration::from_secs(1),
            warmup: None,
            alpha,
        }
    }

    #[test]
    fn failures_are_retried_before_an_up_checker_goes_down() {
        let mut c = CheckerHealth::new(&timing(2, false));
        assert!(c.up);
        assert_eq!(c.record(false), (None, Duration::from_secs(1)));
        assert_eq!(c.record(false), (None, Duration::from_secs(1)));
        assert_eq!(c.record(false), (Some(false), Duration::from_secs(6)));
        // Down: each failure waits a full delay_loop, no retries.
        assert_eq!(c.record(false), (None, Duration::from_secs(6)));
        // One success brings it back at once.
        assert_eq!(c.record(true), (Some(true), Duration::from_secs(6)));
    }

    #[test]
    fn a_success_resets_the_retry_count() {
        let mut c = CheckerHealth::new(&timing(1, false));
        assert_eq!(c.record(false).0, None);
        assert_eq!(c.record(true).0, None);
        assert_eq!(c.record(false).0, None);
        assert_eq!(c.record(false).0, Some(false));
    }

    #[test]
    fn alpha_starts_down_and_retry_zero_fails_at_once() {
        let mut c = CheckerHealth::new(&timing(0, true));
        assert!(!c.up);
        assert_eq!(c.record(true).0, Some(true));
        assert_eq!(c.record(false).0, Some(false));
    }

    #[test]
    fn a_server_is_alive_when_all_checkers_are_and_weights_add_up() {
        let mut s = ServerHealth::new(3, vec![true, true]);
        assert!(s.alive());
        s.deltas[1] = 7;
        assert_eq!(s.weight(), 10);
        s.deltas[1] = -20;
        assert_eq!(s.weight(), 0);
        s.checkers_up[0] = false;
        assert!(!s.alive());
        assert!(ServerHealth::new(1, vec![]).alive());
    }

    #[test]
    fn quorum_has_hysteresis() {
        let mut q = Quorum::new(4, 1);
        assert_eq!(q.update(3), None); // 3 >= 4 - 1
        assert_eq!(q.update(2), Some(false));
        assert_eq!(q.update(4), None); // needs 4 + 1
        assert_eq!(q.update(5), Some(true));
        let mut q = Quorum::new(1, 0);
        assert_eq!(q.update(0), Some(false));
        assert_eq!(q.update(1), Some(true));
    }
}
