//! One timer per checker in one heap. Rescheduling a checker bumps its generation, so an
//! older entry still in the heap is skipped when it comes due (no search, no removal).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// The checkers' timers.
#[derive(Debug, Default)]
pub struct Scheduler {
    heap: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    generations: Vec<u64>,
    /// Each checker's live timer (what a reload hands on to the next configuration).
    at: Vec<Option<Instant>>,
}

impl Scheduler {
    /// Timers for `checkers` checkers, none set.
    pub fn new(checkers: usize) -> Scheduler {
        Scheduler {
            heap: BinaryHeap::with_capacity(checkers),
            generations: vec![0; checkers],
            at: vec![None; checkers],
        }
    }

    /// Sets checker `i`'s timer to `at` (replacing the one set before).
    pub fn set(&mut self, i: usize, at: Instant) {
        let Some(g) = self.generations.get_mut(i) else {
            return;
        };
        *g += 1;
        self.heap.push(Reverse((at, i, *g)));
        if let Some(a) = self.at.get_mut(i) {
            *a = Some(at);
        }
        self.prune();
    }

    /// Forgets checker `i`'s timer.
    pub fn clear(&mut self, i: usize) {
        if let Some(g) = self.generations.get_mut(i) {
            *g += 1;
        }
        if let Some(a) = self.at.get_mut(i) {
            *a = None;
        }
        self.prune();
    }

    /// Drops replaced timers from the top of the heap, so that [`Scheduler::next`] is a live
    /// one (replaced timers deeper in the heap are dropped when they reach the top).
    fn prune(&mut self) {
        while let Some(&Reverse((_, i, g))) = self.heap.peek() {
            if self.generations.get(i) == Some(&g) {
                return;
            }
            self.heap.pop();
        }
    }

    /// The earliest timer.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Checker `i`'s timer, if one is set.
    pub fn deadline(&self, i: usize) -> Option<Instant> {
        self.at.get(i).copied().flatten()
    }

    /// Takes the next checker whose timer is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<usize> {
        while let Some(&Reverse((at, i, g))) = self.heap.peek() {
            if at > now {
                return None;
            }
            self.heap.pop();
            if self.generations.get(i) == Some(&g) {
                if let Some(a) = self.at.get_mut(i) {
                    *a = None;
                }
                self.prune();
                return Some(i);
            }
        }
        None
    }

    /// Checkers whose timers are due at `now`, without taking them.
    pub fn due(&self, now: Instant) -> impl Iterator<Item = usize> + '_ {
        self.heap
            .iter()
            .filter(move |Reverse((at, i, g))| *at <= now && self.generations.get(*i) == Some(g))
            .map(|Reverse((_, i, _))| *i)
    }
}

/// When checker `i` of `n` first runs: spread evenly by position over `spread` (its `warmup`,
/// else its `delay_loop`), not randomly: deterministic and flat.
pub fn first_run(now: Instant, spread: Duration, i: usize, n: usize) -> Instant {
    now + spread.mul_f64(i as f64 / n.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rescheduled_timer_fires_once_at_its_new_time() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(2);
        s.set(0, t0 + Duration::from_secs(1));
        s.set(1, t0 + Duration::from_secs(2));
        s.set(0, t0 + Duration::from_secs(3));
        assert_eq!(s.pop_due(t0 + Duration::from_secs(1)), None);
        assert_eq!(s.pop_due(t0 + Duration::from_secs(2)), Some(1));
        assert_eq!(s.due(t0 + Duration::from_secs(3)).collect::<Vec<_>>(), [0]);
        assert_eq!(s.pop_due(t0 + Duration::from_secs(3)), Some(0));
        assert_eq!(s.pop_due(t0 + Duration::from_secs(9)), None);
        s.set(1, t0);
        assert_eq!(s.deadline(1), Some(t0));
        s.clear(1);
        assert_eq!(s.deadline(1), None);
        assert_eq!(s.pop_due(t0 + Duration::from_secs(9)), None);
        assert_eq!(s.deadline(0), None);
    }
}
