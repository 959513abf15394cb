//! When to fork a dead child again: keepalived 2.2.7's rule, measured on its VRRP child.
//!
//! A child that dies after running longer than the window (60 s) is forked again at once. A
//! child that dies sooner is forked again after a delay that starts at 0 and then doubles from
//! 1 s up to 60 s (keepalived measured: 0 s, 1 s, 2 s, 4 s, 8 s for five quick deaths in a
//! row). A child that reports it can never run stops the parent instead.

use std::time::Duration;

/// Longest delay between respawns.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// keepalived's window: a child that ran longer than this died "late".
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// What the parent does about a dead child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Fork it again now.
    Now,
    /// Fork it again after this delay.
    After(Duration),
    /// It cannot ever run: stop the parent.
    Stop,
}

/// Backoff state of one child.
#[derive(Debug, Clone)]
pub struct Backoff {
    window: Duration,
    next: Duration,
}

impl Backoff {
    /// A fresh state; `window` is keepalived's 60 s unless `--respawn-window` says otherwise.
    pub fn new(window: Duration) -> Self {
        Backoff {
            window,
            next: Duration::ZERO,
        }
    }

    /// Decides for a child that ran for `lived`; `fatal` if it said it can never run.
    pub fn on_death(&mut self, lived: Duration, fatal: bool) -> Decision {
        if fatal {
            return Decision::Stop;
        }
        if lived > self.window {
            self.next = Duration::ZERO;
        }
        let delay = self.next;
        self.next = if delay.is_zero() {
            Duration::from_secs(1)
        } else {
            (delay * 2).min(MAX_DELAY)
        };
        if delay.is_zero() {
            Decision::Now
        } else {
            Decision::After(delay)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_secs(2);

    #[test]
    fn quick_deaths_back_off_like_keepalived() {
        let mut b = Backoff::new(DEFAULT_WINDOW);
        let seen: Vec<Decision> = (0..9).map(|_| b.on_death(QUICK, false)).collect();
        let secs = |s| Decision::After(Duration::from_secs(s));
        assert_eq!(
            seen,
            [
                Decision::Now,
                secs(1),
                secs(2),
                secs(4),
                secs(8),
                secs(16),
                secs(32),
                secs(60),
                secs(60)
            ]
        );
    }

    #[test]
    fn a_long_life_resets_the_backoff() {
        let mut b = Backoff::new(DEFAULT_WINDOW);
        b.on_death(QUICK, false);
        b.on_death(QUICK, false);
        assert_eq!(b.on_death(Duration::from_secs(61), false), Decision::Now);
        assert_eq!(
            b.on_death(QUICK, false),
            Decision::After(Duration::from_secs(1))
        );
    }

    #[test]
    fn zero_window_respawns_every_death_at_once() {
        let mut b = Backoff::new(Duration::ZERO);
        for _ in 0..10 {
            assert_eq!(b.on_death(Duration::from_millis(5), false), Decision::Now);
        }
    }

    #[test]
    fn fatal_stops() {
        let mut b = Backoff::new(DEFAULT_WINDOW);
        assert_eq!(b.on_death(Duration::from_secs(100), true), Decision::Stop);
    }
}
