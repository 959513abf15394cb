//! Status requests to one child, coalesced: at most one `ToChild::Status` is in flight per
//! child, and its answer serves every scrape or `kadctl status` that asked meanwhile. A burst
//! of clients therefore costs the child one snapshot (one IPVS dump) and one reply, never a
//! queue of large replies that could fill its channel.

use std::time::{Duration, Instant};

/// After this long without an answer, the next request is sent again (the child may have
/// dropped a reply it could not send).
const RESEND_AFTER: Duration = Duration::from_secs(5);
/// Waiters kept at the most (each client's own deadline answers it anyway).
const MAX_WAITERS: usize = 64;

/// One child's pending status requests.
#[derive(Debug, Default)]
pub(super) struct StatusAsks {
    /// The request id sent to the child, and when.
    in_flight: Option<(u64, Instant)>,
    /// Everyone waiting for the next answer (request ids of scrapes and control clients).
    waiters: Vec<u64>,
}

impl StatusAsks {
    /// Request `id` wants the child's status; returns true when it must be sent to the child
    /// (nothing recent in flight), false when it waits for the answer already asked for.
    pub(super) fn ask(&mut self, id: u64, now: Instant) -> bool {
        if self.waiters.len() >= MAX_WAITERS {
            self.waiters.remove(0);
        }
        self.waiters.push(id);
        match self.in_flight {
            Some((_, at)) if now.saturating_duration_since(at) < RESEND_AFTER => false,
            _ => {
                self.in_flight = Some((id, now));
                true
            }
        }
    }

    /// The child answered request `id`: the requests that answer serves (all waiters if `id`
    /// is the one in flight or an earlier one still waiting, else just `id`).
    pub(super) fn answered(&mut self, id: u64) -> Vec<u64> {
        let ours = self.in_flight.is_some_and(|(f, _)| f == id) || self.waiters.contains(&id);
        if !ours {
            return vec![id];
        }
        self.in_flight = None;
        std::mem::take(&mut self.waiters)
    }

    /// A new child: nothing it was asked before will be answered.
    pub(super) fn reset(&mut self) {
        *self = StatusAsks::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_sends_one_request_and_one_answer_serves_all() {
        let mut a = StatusAsks::default();
        let t = Instant::now();
        assert!(a.ask(1, t));
        assert!(!a.ask(2, t));
        assert!(!a.ask(3, t + Duration::from_secs(1)));
        assert_eq!(a.answered(1), vec![1, 2, 3]);
        // The next one goes out again.
        assert!(a.ask(4, t + Duration::from_secs(2)));
        assert_eq!(a.answered(4), vec![4]);
    }

    #[test]
    fn an_unanswered_request_is_sent_again_after_a_while_and_waiters_are_bounded() {
        let mut a = StatusAsks::default();
        let t = Instant::now();
        assert!(a.ask(1, t));
        assert!(a.ask(2, t + RESEND_AFTER));
        for id in 3..200 {
            a.ask(id, t + RESEND_AFTER);
        }
        let served = a.answered(2);
        assert_eq!(served.len(), MAX_WAITERS);
        assert_eq!(served.last(), Some(&199));
        // A late answer to a forgotten request serves only itself.
        assert_eq!(a.answered(1), vec![1]);
    }
}
