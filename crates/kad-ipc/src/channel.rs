//! [`Channel`]: one end of a `SOCK_SEQPACKET` socketpair, non-blocking, typed by direction.
//!
//! `send` queues a message's datagrams and writes what the socket takes; the rest waits for
//! [`Channel::flush`] (register WRITABLE interest while [`Channel::wants_write`] is true).
//! `recv` returns whole messages. Any [`IpcError`] means the connection is broken.

use std::collections::VecDeque;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use bincode::Options;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::MsgFlags;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::frame::{split, IpcError, Reassembler, CHUNK, DEFAULT_MAX_MESSAGE, HEADER};

/// Encodes one message payload (bincode, at most `max` bytes).
pub fn encode<T: Serialize>(msg: &T, max: usize) -> Result<Vec<u8>, IpcError> {
    codec(max)
        .serialize(msg)
        .map_err(|e| IpcError::Encode(e.to_string()))
}

/// Decodes one reassembled message payload (bincode, bounded by the payload's own size).
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, IpcError> {
    codec(payload.len().max(1))
        .deserialize(payload)
        .map_err(|e| IpcError::Decode(e.to_string()))
}

/// A typed, non-blocking end of a parent/child socketpair: receives `In`, sends `Out`.
pub struct Channel<In, Out> {
    fd: OwnedFd,
    reassembler: Reassembler,
    max: usize,
    out: VecDeque<Vec<u8>>,
    /// Bytes in `out`, and their bound: a peer that stops reading breaks the channel instead
    /// of growing this side's memory without end.
    queued: usize,
    max_queued: usize,
    recv_buf: Vec<u8>,
    _types: PhantomData<fn(Out) -> In>,
}

/// Creates a connected pair: `(a, b)` where `a` sends `A2B` and `b` sends `B2A`.
pub fn pair<A2B, B2A>() -> io::Result<(Channel<B2A, A2B>, Channel<A2B, B2A>)>
where
    A2B: Serialize + DeserializeOwned,
    B2A: Serialize + DeserializeOwned,
{
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
    )?;
    Ok((Channel::from_fd(a), Channel::from_fd(b)))
}

/// Bytes a channel sending messages of up to `max` bytes may hold queued.
fn queue_bound(max: usize) -> usize {
    max.saturating_mul(2).max(1 << 20)
}

fn codec(max: usize) -> impl Options {
    bincode::DefaultOptions::new().with_limit(max as u64)
}

impl<In, Out> Channel<In, Out>
where
    In: DeserializeOwned,
    Out: Serialize,
{
    /// Wraps a connected, non-blocking SEQPACKET socket.
    pub fn from_fd(fd: OwnedFd) -> Self {
        Channel {
            fd,
            reassembler: Reassembler::new(DEFAULT_MAX_MESSAGE),
            max: DEFAULT_MAX_MESSAGE,
            out: VecDeque::new(),
            queued: 0,
            max_queued: queue_bound(DEFAULT_MAX_MESSAGE),
            recv_buf: vec![0; HEADER + CHUNK + 1],
            _types: PhantomData,
        }
    }

    /// Sets the largest message accepted or sent.
    pub fn with_max_message(self, max: usize) -> Self {
        self.with_max_incoming(max).with_max_outgoing(max)
    }

    /// Sets the largest message accepted (checked on the first datagram, before allocating).
    pub fn with_max_incoming(mut self, max: usize) -> Self {
        self.reassembler = Reassembler::new(max);
        self
    }

    /// Sets the largest message sent; at most twice that (and at least 1 MiB) waits queued.
    pub fn with_max_outgoing(mut self, max: usize) -> Self {
        self.max = max;
        self.max_queued = queue_bound(max);
        self
    }

    /// Queues `msg` and writes as much as the socket takes now. A message that would take the
    /// queue over its bound is refused with [`IpcError::QueueFull`] (the peer is not reading).
    pub fn send(&mut self, msg: &Out) -> Result<(), IpcError> {
        let payload = encode(msg, self.max)?;
        let after = self.queued.saturating_add(payload.len());
        if after > self.max_queued {
            return Err(IpcError::QueueFull {
                queued: self.queued,
                max: self.max_queued,
            });
        }
        for d in split(&payload) {
            self.queued = self.queued.saturating_add(d.len());
            self.out.push_back(d);
        }
        self.flush().map(|_| ())
    }

    /// Writes queued datagrams; `Ok(true)` when nothing is left queued.
    pub fn flush(&mut self) -> Result<bool, IpcError> {
        while let Some(d) = self.out.front() {
            let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
            match nix::sys::socket::send(self.fd.as_raw_fd(), d, flags) {
                Ok(_) => {}
                Err(Errno::EAGAIN) => return Ok(false),
                Err(Errno::EINTR) => continue,
                Err(Errno::EPIPE | Errno::ECONNRESET) => return Err(IpcError::Closed),
                Err(e) => return Err(IpcError::Io(e.into())),
            }
            if let Some(d) = self.out.pop_front() {
                self.queued = self.queued.saturating_sub(d.len());
            }
        }
        Ok(true)
    }

    /// True while datagrams wait for the socket to become writable.
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// The next whole message, `Ok(None)` if none is complete yet.
    pub fn recv(&mut self) -> Result<Option<In>, IpcError> {
        loop {
            let n = match nix::sys::socket::recv(
                self.fd.as_raw_fd(),
                &mut self.recv_buf,
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(n) => n,
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR) => continue,
                Err(Errno::ECONNRESET) => return Err(IpcError::Closed),
                Err(e) => return Err(IpcError::Io(e.into())),
            };
            if n == 0 {
                return Err(IpcError::Closed);
            }
            if n > HEADER + CHUNK {
                return Err(IpcError::Sequence("datagram larger than any sender makes"));
            }
            if let Some(payload) = self.reassembler.push(&self.recv_buf[..n])? {
                return decode(&payload).map(Some);
            }
        }
    }

    /// Waits up to `timeout` for a whole message (for start-up and shutdown handshakes).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<In>, IpcError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.recv()? {
                return Ok(Some(m));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            let wait = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            match nix::poll::poll(&mut fds, wait) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(IpcError::Io(e.into())),
            }
        }
    }
}

impl<In, Out> AsRawFd for Channel<In, Out> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl<In, Out> mio::event::Source for Channel<In, Out> {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        mio::unix::SourceFd(&self.fd.as_raw_fd()).register(r, t, i)
    }
    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        mio::unix::SourceFd(&self.fd.as_raw_fd()).reregister(r, t, i)
    }
    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.fd.as_raw_fd()).deregister(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{FromChild, Routed, ToChild};
    use kad_core::config::Config;

    type ParentEnd = Channel<FromChild, ToChild>;
    type ChildEnd = Channel<ToChild, FromChild>;

    fn channels() -> (ParentEnd, ChildEnd) {
        pair::<ToChild, FromChild>().expect("socketpair")
    }

    /// Sends everything, draining the other end as needed (for messages over the socket buffer).
    fn deliver<I: DeserializeOwned, O: Serialize, I2: DeserializeOwned, O2: Serialize>(
        tx: &mut Channel<I, O>,
        rx: &mut Channel<I2, O2>,
        msg: &O,
    ) -> I2 {
        tx.send(msg).expect("send");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(m) = rx.recv().expect("recv") {
                assert!(!tx.wants_write());
                return m;
            }
            tx.flush().expect("flush");
            assert!(Instant::now() < deadline, "message never arrived");
        }
    }

    fn big_config(n: usize) -> Config {
        let dir = std::env::temp_dir().join(format!("kad-ipc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!(
                "virtual_server 192.0.2.{} {} {{\n protocol TCP\n real_server 198.51.100.1 {} {{\n  HTTP_GET {{\n   url {{\n    path /h\n   }}\n  }}\n }}\n}}\n",
                1 + i / 250,
                1024 + i % 250,
                2000 + i % 1000
            ));
        }
        // One file per call: tests of this binary run in parallel in one process.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("big-{call}.conf"));
        std::fs::write(&path, text).expect("write");
        let parsed = kad_core::config::parse_file(&path, &Default::default());
        parsed.config.expect("valid big config")
    }

    #[test]
    fn every_message_round_trips() {
        let (mut parent, mut child) = channels();
        let to_child = [
            ToChild::Reload(Box::default()),
            ToChild::Dump,
            ToChild::DumpStats,
            ToChild::DumpJson,
            ToChild::DumpStatsClear,
            ToChild::Shutdown,
            ToChild::Routed(Routed::ScriptStatus {
                name: "chk".into(),
                ok: true,
            }),
            ToChild::Routed(Routed::InstanceState {
                name: "VI_1".into(),
                state: kad_core::state::VrrpState::Master,
                priority: 150,
            }),
        ];
        for m in &to_child {
            assert_eq!(&deliver(&mut parent, &mut child, m), m);
        }
        let from_child = [
            FromChild::Ready { pid: 42 },
            FromChild::Reloaded,
            FromChild::Fatal("no".into()),
            FromChild::Routed(Routed::ScriptStatus {
                name: "chk".into(),
                ok: false,
            }),
            FromChild::Routed(Routed::InstanceState {
                name: "VI_1".into(),
                state: kad_core::state::VrrpState::Backup,
                priority: 150,
            }),
            FromChild::Routed(Routed::MasterRxLowerPri {
                name: "VI_1".into(),
            }),
        ];
        for m in &from_child {
            assert_eq!(&deliver(&mut child, &mut parent, m), m);
        }
    }

    #[test]
    fn a_ten_thousand_server_reload_gets_through() {
        let cfg = big_config(10_000);
        let (mut parent, mut child) = channels();
        let got = deliver(
            &mut parent,
            &mut child,
            &ToChild::Reload(Box::new(cfg.clone())),
        );
        assert_eq!(got, ToChild::Reload(Box::new(cfg)));
    }

    fn raw_send(ch: &impl AsRawFd, bytes: &[u8]) {
        let n = nix::sys::socket::send(ch.as_raw_fd(), bytes, MsgFlags::empty()).expect("send");
        assert_eq!(n, bytes.len());
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![1, 2, 3], "Truncated"),
            (
                [b"XXXX".as_slice(), &[1, 0, 3, 0, 0, 0, 0, 0]].concat(),
                "BadMagic",
            ),
            (
                [b"KAD1".as_slice(), &[2, 0, 3, 0, 0, 0, 0, 0]].concat(),
                "BadVersion",
            ),
            (
                [b"KAD1".as_slice(), &[1, 0, 3, 0, 0xff, 0xff, 0xff, 0x7f]].concat(),
                "TooLarge",
            ),
            (
                [b"KAD1".as_slice(), &[1, 0, 2, 0, 4, 0, 0, 0, 1, 2, 3, 4]].concat(),
                "Sequence",
            ),
            (
                [
                    b"KAD1".as_slice(),
                    &[1, 0, 3, 0, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
                ]
                .concat(),
                "Decode",
            ),
        ];
        for (bytes, want) in cases {
            let (parent, mut child) = channels();
            raw_send(&parent, &bytes);
            let err = child.recv().expect_err("must be rejected");
            assert!(format!("{err:?}").starts_with(want), "{want}: got {err:?}");
        }
    }

    #[test]
    fn closed_peer_is_reported() {
        let (parent, mut child) = channels();
        drop(parent);
        assert!(matches!(child.recv(), Err(IpcError::Closed)));
        let (mut parent, child) = channels();
        drop(child);
        assert!(matches!(parent.send(&ToChild::Dump), Err(IpcError::Closed)));
    }

    #[test]
    fn a_peer_that_stops_reading_fills_a_bounded_queue_then_breaks_the_channel() {
        let (parent, _child) = channels();
        let mut parent = parent.with_max_outgoing(64 << 10);
        let mut refused = None;
        let msg = ToChild::Reload(Box::new(big_config(20)));
        // The socket buffer takes some; the queue takes 1 MiB more; then a refusal.
        for n in 0..100_000 {
            if let Err(e) = parent.send(&msg) {
                refused = Some((n, e));
                break;
            }
        }
        let (n, e) = refused.expect("the queue never filled");
        assert!(
            matches!(e, IpcError::QueueFull { max, .. } if max == 1 << 20),
            "{e}"
        );
        assert!(n > 0);
        assert!(parent.queued <= parent.max_queued);
    }

    #[test]
    fn a_receiver_refuses_a_message_over_its_incoming_bound() {
        let (parent, child) = channels();
        let mut child = child.with_max_incoming(64);
        let mut parent = parent;
        parent
            .send(&ToChild::Reload(Box::new(big_config(5))))
            .expect("send");
        assert!(matches!(child.recv(), Err(IpcError::TooLarge { .. })));
    }

    #[test]
    fn sender_respects_its_own_bound() {
        let (parent, _child) = channels();
        let mut parent = parent.with_max_message(64);
        let cfg = big_config(5);
        assert!(matches!(
            parent.send(&ToChild::Reload(Box::new(cfg))),
            Err(IpcError::Encode(_))
        ));
    }
}
