//! Gives back the pages of code that ran only at start-up once a child has settled.
//!
//! Every kad process is a fresh exec of the binary, and the kernel maps code 16 pages around
//! each page it faults in. After start-up (argument and configuration handling, building the
//! engines, the first state changes) a child keeps about 2 MB of the binary and 1.3 MB of libc
//! mapped, of which its steady loop uses a few hundred KB. [`Settling`] wraps a child's
//! service and, [`SETTLE`] after the service starts and again after each reload, unmaps the
//! clean file pages ([`super::sys::release_file_pages`]); what the loop still runs is faulted
//! back in from the page cache. The parent does the same when a child reports it is ready or
//! has applied a reload.

use std::time::{Duration, Instant};

use kad_ipc::mio::{Registry, Token};
use kad_ipc::{ChildService, FromChild, ToChild};

use super::sys;

/// How long after start (or a reload) a child is taken to have settled: past the first
/// master-down timer and the second gratuitous-ARP burst (garp_master_delay, 5 s) of a
/// VRRP instance at advert_int 1.
pub const SETTLE: Duration = Duration::from_secs(10);

/// Unmaps start-up code, logging (at debug level) how much address space it covered.
pub fn release(who: &str) {
    match sys::release_file_pages() {
        Ok(bytes) => log::debug!("{who}: released {} KB of start-up pages", bytes / 1024),
        Err(e) => log::warn!("{who}: cannot release start-up pages: {e}"),
    }
}

/// A child's service plus one extra deadline: when to release start-up pages.
pub struct Settling<S> {
    inner: S,
    release_at: Option<Instant>,
}

impl<S: ChildService> Settling<S> {
    /// Wraps `inner`; the release is armed when the loop starts the service.
    pub fn new(inner: S) -> Self {
        Settling {
            inner,
            release_at: None,
        }
    }
}

impl<S: ChildService> ChildService for Settling<S> {
    fn handle(&mut self, msg: ToChild) -> Vec<FromChild> {
        if matches!(msg, ToChild::Reload(_)) {
            self.release_at = Some(Instant::now() + SETTLE);
        }
        self.inner.handle(msg)
    }

    fn stop(&mut self) {
        self.inner.stop();
    }

    fn start(&mut self, registry: Registry) {
        self.release_at = Some(Instant::now() + SETTLE);
        self.inner.start(registry);
    }

    fn ready(&mut self, token: Token, now: Instant) {
        self.inner.ready(token, now);
    }

    fn next_deadline(&self) -> Option<Instant> {
        match (self.inner.next_deadline(), self.release_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The inner service is always called (the loop may call it before its own deadline
    /// anyway, so services check their timers against `now`).
    fn on_timer(&mut self, now: Instant) {
        if self.release_at.is_some_and(|t| t <= now) {
            self.release_at = None;
            release("child");
        }
        self.inner.on_timer(now);
    }

    fn end_of_iteration(&mut self) {
        self.inner.end_of_iteration();
    }

    fn outbox(&mut self) -> Vec<FromChild> {
        self.inner.outbox()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service with one timer that records when it was called.
    struct Timed {
        deadline: Option<Instant>,
        timer_calls: usize,
        handled: usize,
    }

    impl ChildService for Timed {
        fn handle(&mut self, _msg: ToChild) -> Vec<FromChild> {
            self.handled += 1;
            vec![FromChild::Reloaded]
        }
        fn stop(&mut self) {}
        fn next_deadline(&self) -> Option<Instant> {
            self.deadline
        }
        fn on_timer(&mut self, _now: Instant) {
            self.timer_calls += 1;
        }
        fn end_of_iteration(&mut self) {}
    }

    fn registry() -> Registry {
        let poll = kad_ipc::mio::Poll::new().expect("poll");
        poll.registry().try_clone().expect("registry")
    }

    #[test]
    fn the_release_is_due_settle_after_start_and_passes_the_timer_on() {
        let far = Instant::now() + Duration::from_secs(3600);
        let mut s = Settling::new(Timed {
            deadline: Some(far),
            timer_calls: 0,
            handled: 0,
        });
        assert_eq!(s.next_deadline(), Some(far), "nothing armed before start");
        let before = Instant::now();
        s.start(registry());
        let due = s.next_deadline().expect("armed");
        assert!(due >= before + SETTLE && due < far);
        s.on_timer(due);
        assert_eq!(s.inner.timer_calls, 1, "the service's timer ran too");
        assert_eq!(
            s.next_deadline(),
            Some(far),
            "released once, then only the service's"
        );
    }

    #[test]
    fn a_reload_arms_the_release_again() {
        let mut s = Settling::new(Timed {
            deadline: None,
            timer_calls: 0,
            handled: 0,
        });
        s.start(registry());
        let first = s.next_deadline().expect("armed");
        s.on_timer(first);
        assert_eq!(s.next_deadline(), None);
        let replies = s.handle(ToChild::Shutdown);
        assert_eq!(s.next_deadline(), None, "only a reload re-arms");
        assert_eq!(
            (s.inner.handled, replies.len()),
            (1, 1),
            "messages reach the service"
        );
        s.handle(ToChild::Reload(Box::default()));
        assert!(s.next_deadline().is_some_and(|d| d >= first));
        assert_eq!(s.inner.handled, 2);
    }
}
