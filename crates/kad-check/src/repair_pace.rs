//! When the periodic IPVS repair (kad extension) reads the kernel's table back. Pure: the
//! caller gives the clock and says how long each step took.
//!
//! A pass reads kad's services in steps of at most [`STEP`] services (two netlink requests
//! each). After a step the pace waits [`PAUSE_FACTOR`] times as long as the step took, so
//! reading back a large table costs at most about 5 % of the checker's time and never holds
//! its loop for long: at 10,000 services one pass is 157 short steps, not one 10,001-dump
//! stall during which every probe in flight would time out. The next pass starts
//! `kad_lvs_repair_interval` after the last one ended; SIGUSR1 starts one at once.

use std::time::{Duration, Instant};

/// Services read back per step.
pub const STEP: usize = 64;
/// A step of duration `d` is followed by a pause of `PAUSE_FACTOR * d` (≤ 5 % duty).
pub const PAUSE_FACTOR: u32 = 19;

/// The repair's schedule: passes, and the steps of the pass under way.
#[derive(Debug)]
pub struct RepairPace<K> {
    interval: Duration,
    next: Option<Instant>,
    /// The services the pass under way has still to read, last first.
    left: Vec<K>,
    in_pass: bool,
}

impl<K> Default for RepairPace<K> {
    fn default() -> Self {
        RepairPace {
            interval: Duration::ZERO,
            next: None,
            left: Vec::new(),
            in_pass: false,
        }
    }
}

impl<K> RepairPace<K> {
    /// Passes every `interval` (zero: only when asked), the first one `interval` after `now`;
    /// a pass under way is dropped.
    pub fn configure(&mut self, interval: Duration, now: Instant) {
        self.interval = interval;
        self.left.clear();
        self.in_pass = false;
        self.next = (!interval.is_zero()).then(|| now + interval);
    }

    /// A pass at once (SIGUSR1); a pass under way goes on at once.
    pub fn start_now(&mut self, now: Instant) {
        self.next = Some(now);
    }

    /// When the next step is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.next
    }

    /// True when a step is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        self.next.is_some_and(|t| t <= now)
    }

    /// The services to read now, if a step is due; a pass starts with the services `keys`
    /// gives. The next step waits for [`RepairPace::step_done`].
    pub fn take_step(&mut self, now: Instant, keys: impl FnOnce() -> Vec<K>) -> Option<Vec<K>> {
        if !self.is_due(now) {
            return None;
        }
        if !self.in_pass {
            self.left = keys();
            self.left.reverse();
            self.in_pass = true;
        }
        let n = self.left.len().min(STEP);
        let mut step = self.left.split_off(self.left.len() - n);
        step.reverse();
        self.next = None;
        Some(step)
    }

    /// The step taken at `now`'s side ended after `took`: the next step after the pause, or
    /// the next pass after the interval once every service was read.
    pub fn step_done(&mut self, now: Instant, took: Duration) {
        if self.left.is_empty() {
            self.in_pass = false;
            self.next = (!self.interval.is_zero()).then(|| now + self.interval);
        } else {
            self.next = Some(now + took.saturating_mul(PAUSE_FACTOR));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_pass_reads_every_service_in_paced_steps_then_waits_the_interval() {
        let t0 = Instant::now();
        let mut pace = RepairPace::default();
        pace.configure(Duration::from_secs(10), t0);
        assert_eq!(pace.take_step(t0, || (0..150).collect()), None);
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(pace.next_due(), Some(t1));
        let first = pace.take_step(t1, || (0..150).collect()).expect("due");
        assert_eq!(first, (0..64).collect::<Vec<_>>());
        assert_eq!(pace.next_due(), None, "no step before the last one is done");
        pace.step_done(t1 + 5 * MS, 5 * MS);
        assert_eq!(
            pace.next_due(),
            Some(t1 + 100 * MS),
            "19 times the step's 5 ms"
        );
        let t2 = t1 + 100 * MS;
        let keys_again = || -> Vec<i32> { panic!("a pass under way keeps its list") };
        assert_eq!(
            pace.take_step(t2, keys_again),
            Some((64..128).collect::<Vec<_>>())
        );
        pace.step_done(t2, 2 * MS);
        let t3 = t2 + 38 * MS;
        assert_eq!(
            pace.take_step(t3, keys_again),
            Some((128..150).collect::<Vec<_>>())
        );
        pace.step_done(t3, MS);
        assert_eq!(pace.next_due(), Some(t3 + Duration::from_secs(10)));
        let t4 = t3 + Duration::from_secs(10);
        assert_eq!(pace.take_step(t4, || vec![7]), Some(vec![7]), "a new pass");
    }

    #[test]
    fn without_an_interval_only_sigusr1_starts_a_pass() {
        let t0 = Instant::now();
        let mut pace = RepairPace::default();
        pace.configure(Duration::ZERO, t0);
        assert_eq!(pace.next_due(), None);
        pace.start_now(t0);
        assert_eq!(pace.take_step(t0, || vec![1, 2]), Some(vec![1, 2]));
        pace.step_done(t0, MS);
        assert_eq!(pace.next_due(), None);
    }

    #[test]
    fn a_reload_drops_the_pass_under_way() {
        let t0 = Instant::now();
        let mut pace = RepairPace::default();
        pace.configure(Duration::from_secs(1), t0);
        let t1 = t0 + Duration::from_secs(1);
        pace.take_step(t1, || (0..100).collect::<Vec<i32>>());
        pace.step_done(t1, MS);
        pace.configure(Duration::from_secs(1), t1);
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(pace.take_step(t2, || vec![5]), Some(vec![5]));
    }

    #[test]
    fn an_empty_table_ends_its_pass_at_once() {
        let t0 = Instant::now();
        let mut pace = RepairPace::<u8>::default();
        pace.configure(Duration::from_secs(2), t0);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(pace.take_step(t1, Vec::new), Some(vec![]));
        pace.step_done(t1, Duration::ZERO);
        assert_eq!(pace.next_due(), Some(t1 + Duration::from_secs(2)));
    }
}
