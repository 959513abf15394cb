//! The event loop shared by kad's children: one mio `Poll` over the parent channel and the
//! child's signals. A child plugs in its work as a [`ChildService`].
//!
//! The parent handles SIGHUP, SIGUSR1, SIGUSR2 and SIGRTMIN+2 and sends messages, so a child
//! ignores those signals; SIGTERM and SIGINT (or a `Shutdown` message, or the parent closing
//! the channel) stop it cleanly with exit status 0.

use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook_mio::v1_0::Signals;

use crate::channel::Channel;
use crate::frame::IpcError;
use crate::message::{FromChild, ToChild};

/// Exit status of a child whose channel to the parent broke (the parent respawns it).
pub const EXIT_IPC: i32 = 70;

const CHANNEL: Token = Token(0);
const SIGNALS: Token = Token(1);

/// Ready sources taken from the kernel per wait.
const EVENTS_PER_WAIT: usize = 256;
/// Waits without blocking while batches come full, before the timers run (at most
/// `EVENTS_PER_WAIT * DRAIN_ROUNDS` sources per iteration).
const DRAIN_ROUNDS: usize = 16;

/// Tokens from here up belong to the service's own sources.
pub const FIRST_SERVICE_TOKEN: usize = 16;

/// What a child does: the parent's messages, and optionally sockets and timers of its own.
pub trait ChildService {
    /// Handles one message (never `Shutdown`, which the loop handles); returns the replies.
    fn handle(&mut self, msg: ToChild) -> Vec<FromChild>;
    /// Graceful stop work before the child exits.
    fn stop(&mut self);
    /// Called once before the loop: the service may keep the registry to add its own sources
    /// (tokens from [`FIRST_SERVICE_TOKEN`] up) now and later.
    fn start(&mut self, _registry: mio::Registry) {}
    /// One of the service's own sources is ready.
    fn ready(&mut self, _token: Token, _now: Instant) {}
    /// When the service next wants [`ChildService::on_timer`].
    fn next_deadline(&self) -> Option<Instant> {
        None
    }
    /// A deadline has passed.
    fn on_timer(&mut self, _now: Instant) {}
    /// Called once per loop iteration, after its events and timers: work worth batching over
    /// them (the checker applies its IPVS table here, once for any number of changes).
    /// No default: a wrapper (the parent's `Settling`) must pass it on, not drop it.
    fn end_of_iteration(&mut self);
    /// Messages the service produced on its own (state changes, script results).
    fn outbox(&mut self) -> Vec<FromChild> {
        Vec::new()
    }
}

/// Runs the child's loop until it must stop; returns the exit status.
pub fn serve(mut channel: Channel<ToChild, FromChild>, service: &mut dyn ChildService) -> i32 {
    match run(&mut channel, service) {
        Ok(()) => {
            service.stop();
            // Last words (final state changes) reach the parent before the channel closes.
            for msg in service.outbox() {
                if channel.send(&msg).is_err() {
                    break;
                }
            }
            let deadline = Instant::now() + Duration::from_secs(1);
            while channel.wants_write() && Instant::now() < deadline {
                if channel.flush().is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            0
        }
        Err(e) => {
            log::error!("channel to the parent failed: {e}; exiting");
            EXIT_IPC
        }
    }
}

fn run(
    channel: &mut Channel<ToChild, FromChild>,
    service: &mut dyn ChildService,
) -> Result<(), IpcError> {
    for sig in [SIGHUP, SIGUSR1, SIGUSR2, libc::SIGRTMIN() + 2] {
        // SAFETY: setting a signal's disposition to "ignore" has no handler to be unsafe about.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
    let mut poll = Poll::new().map_err(IpcError::Io)?;
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(IpcError::Io)?;
    poll.registry()
        .register(&mut signals, SIGNALS, Interest::READABLE)
        .map_err(IpcError::Io)?;
    poll.registry()
        .register(channel, CHANNEL, Interest::READABLE | Interest::WRITABLE)
        .map_err(IpcError::Io)?;
    match poll.registry().try_clone() {
        Ok(r) => service.start(r),
        Err(e) => return Err(IpcError::Io(e)),
    }
    channel.send(&FromChild::Ready {
        pid: std::process::id(),
    })?;
    let mut events = Events::with_capacity(EVENTS_PER_WAIT);
    loop {
        // Asked once: the deadline the wait is for is the one compared after it, so a service
        // whose deadline moves cannot make the loop wait for ever without running its timers.
        let deadline = service.next_deadline();
        let mut timeout = deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(60));
        // Every ready source is handled before the timers: after a long step (a large IPVS
        // change, a busy machine) a full batch may leave sockets unread, and a probe whose
        // answer already came must not be timed out for it. Bounded, so timers still run.
        for _ in 0..DRAIN_ROUNDS {
            match poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => break,
                Err(e) => return Err(IpcError::Io(e)),
            }
            if dispatch(&events, &mut signals, channel, service)? == Flow::Stop {
                return Ok(());
            }
            if events.iter().count() < EVENTS_PER_WAIT {
                break;
            }
            timeout = Duration::ZERO;
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) || service.next_deadline().is_some_and(|d| d <= now) {
            service.on_timer(now);
        }
        service.end_of_iteration();
        for msg in service.outbox() {
            channel.send(&msg)?;
        }
    }
}

/// Whether the loop goes on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// Handles one batch of ready sources: a stop signal, the parent's messages, the service's own.
fn dispatch(
    events: &Events,
    signals: &mut Signals,
    channel: &mut Channel<ToChild, FromChild>,
    service: &mut dyn ChildService,
) -> Result<Flow, IpcError> {
    for event in events.iter() {
        match event.token() {
            SIGNALS if signals.pending().next().is_some() => {
                log::info!("stopping on signal");
                return Ok(Flow::Stop);
            }
            CHANNEL => {
                if event.is_writable() {
                    channel.flush()?;
                }
                loop {
                    match channel.recv() {
                        Ok(Some(ToChild::Shutdown)) => return Ok(Flow::Stop),
                        Ok(Some(msg)) => {
                            for reply in service.handle(msg) {
                                send_reply(channel, &reply)?;
                            }
                        }
                        Ok(None) => break,
                        Err(IpcError::Closed) => {
                            log::info!("parent closed the channel; stopping");
                            return Ok(Flow::Stop);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            token => service.ready(token, Instant::now()),
        }
    }
    Ok(Flow::Go)
}

/// Sends `reply` to the parent. A status snapshot that is too large to encode or finds the
/// queue full is dropped with a log line (the client asking for it times out; the parent asks
/// again later): a large table must never cost the child its channel. Any other failure ends
/// the loop as before.
fn send_reply(
    channel: &mut Channel<ToChild, FromChild>,
    reply: &FromChild,
) -> Result<(), IpcError> {
    match channel.send(reply) {
        Err(e @ (IpcError::Encode(_) | IpcError::QueueFull { .. }))
            if matches!(reply, FromChild::Status { .. }) =>
        {
            log::warn!("status reply dropped: {e}");
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Outcome, Status};

    /// A status too large for the channel is dropped; the channel still works; anything else
    /// too large still fails.
    #[test]
    fn an_oversized_status_reply_is_dropped_not_fatal() {
        let (child, mut parent) = crate::channel::pair::<FromChild, ToChild>().expect("socketpair");
        let mut child = child.with_max_outgoing(4096);
        let big = Status {
            vrrp_drops: (0..1000).map(|n| (format!("reason {n}"), n)).collect(),
            ..Status::default()
        };
        let status = FromChild::Status { id: 7, status: big };
        assert!(matches!(child.send(&status), Err(IpcError::Encode(_))));
        send_reply(&mut child, &status).expect("a status reply is dropped, not fatal");
        send_reply(&mut child, &FromChild::Ready { pid: 1 }).expect("the channel still works");
        assert!(matches!(
            parent.recv(),
            Ok(Some(FromChild::Ready { pid: 1 }))
        ));
        let big_log = FromChild::Outcome {
            id: 8,
            outcome: Outcome::Refused("x".repeat(8192)),
        };
        assert!(send_reply(&mut child, &big_log).is_err());
    }

    /// A service with many ready sockets and a timer already due.
    struct ManyReady {
        streams: Vec<(mio::net::UnixStream, mio::net::UnixStream)>,
        seen: usize,
        seen_at_timer: Option<usize>,
        due: Option<Instant>,
    }

    impl ChildService for ManyReady {
        fn handle(&mut self, _msg: ToChild) -> Vec<FromChild> {
            Vec::new()
        }
        fn stop(&mut self) {}
        fn start(&mut self, registry: mio::Registry) {
            for (i, (read, _)) in self.streams.iter_mut().enumerate() {
                registry
                    .register(read, Token(FIRST_SERVICE_TOKEN + i), Interest::READABLE)
                    .expect("register");
            }
        }
        fn ready(&mut self, _token: Token, _now: Instant) {
            self.seen += 1;
        }
        fn next_deadline(&self) -> Option<Instant> {
            self.due
        }
        fn on_timer(&mut self, _now: Instant) {
            self.seen_at_timer.get_or_insert(self.seen);
            self.due = None;
        }
        fn end_of_iteration(&mut self) {}
    }

    /// More ready sockets than one wait returns are all handled before a due timer runs (a
    /// probe whose answer came during a long step must not be timed out; with one wait of 64
    /// events, 64 were).
    #[test]
    fn every_ready_source_is_handled_before_the_timers() {
        use std::io::Write;
        const SOCKETS: usize = 300;
        let streams = (0..SOCKETS)
            .map(|_| {
                let (read, mut write) = mio::net::UnixStream::pair().expect("socketpair");
                write.write_all(b"x").expect("write");
                (read, write)
            })
            .collect();
        let mut service = ManyReady {
            streams,
            seen: 0,
            seen_at_timer: None,
            due: Some(Instant::now()),
        };
        let (child, mut parent) = crate::channel::pair::<FromChild, ToChild>().expect("socketpair");
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            parent.send(&ToChild::Shutdown).expect("send");
            while parent.wants_write() {
                parent.flush().expect("flush");
            }
            parent
        });
        assert_eq!(serve(child, &mut service), 0);
        drop(stopper.join());
        assert_eq!(service.seen_at_timer, Some(SOCKETS));
    }
}
