//! systemd's readiness protocol (`Type=notify`), without libsystemd: datagrams of
//! `KEY=VALUE` lines to the unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` for an
//! abstract socket).
//!
//! The parent takes `NOTIFY_SOCKET` out of its environment at start, so no child and no script
//! inherits it, and sends, like keepalived 2.2.7: `READY=1` and `MAINPID=` once every child
//! it started has applied its first configuration; `RELOADING=1` at a reload and `READY=1`
//! once every running child has applied the new one (at once if the file is refused: the old
//! configuration runs on); `STOPPING=1` when it starts to stop. keepalived only does this when
//! its parent is pid 1; kad does it whenever `NOTIFY_SOCKET` is set (a supervisor other than
//! systemd, or a test, can listen too). A send never blocks and never fails the daemon: a
//! lost datagram is logged and forgotten.
//!
//! [`Readiness`] is the sans-I/O part (which message is due when); [`Notifier`] adds the socket.

use std::ffi::OsStr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;

/// The environment variable systemd sets for `Type=notify` services.
pub const ENV: &str = "NOTIFY_SOCKET";

/// Where `NOTIFY_SOCKET` points, or None for a value kad cannot use (empty, relative, or
/// another family such as `vsock:`).
pub fn parse_address(value: &OsStr) -> Option<SocketAddr> {
    let bytes = value.as_bytes();
    match bytes.split_first() {
        Some((b'@', name)) => SocketAddr::from_abstract_name(name).ok(),
        Some((b'/', _)) => SocketAddr::from_pathname(Path::new(value)).ok(),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Starting,
    Ready,
    Reloading,
    Stopping,
}

/// Which notification is due: counts, per child slot, the configurations sent that the child
/// has not yet answered (`Ready` for the first, `Reloaded` for each reload).
#[derive(Debug, Clone)]
pub struct Readiness {
    phase: Phase,
    pending: [u32; 2],
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            phase: Phase::Starting,
            pending: [0; 2],
        }
    }
}

impl Readiness {
    /// A child is being started in `slot`: it owes one answer (`Ready`), and nothing its
    /// predecessor owed.
    pub fn started(&mut self, slot: usize) {
        if let Some(p) = self.pending.get_mut(slot) {
            *p = 1;
        }
    }

    /// The running child in `slot` was sent a new configuration and owes one more answer.
    pub fn expect(&mut self, slot: usize) {
        if let Some(p) = self.pending.get_mut(slot) {
            *p = p.saturating_add(1);
        }
    }

    /// The child in `slot` answered a configuration (`Ready` or `Reloaded`).
    pub fn applied(&mut self, slot: usize) {
        if let Some(p) = self.pending.get_mut(slot) {
            *p = p.saturating_sub(1);
        }
    }

    /// A reload begins: the `RELOADING=1` message, unless kad is stopping.
    pub fn reloading(&mut self) -> Option<&'static str> {
        match self.phase {
            Phase::Stopping => None,
            // Still starting: READY comes once the children have the (new) configuration.
            Phase::Starting => None,
            Phase::Ready | Phase::Reloading => {
                self.phase = Phase::Reloading;
                Some("RELOADING=1")
            }
        }
    }

    /// The `READY=1` message if kad is starting or reloading and no child owes an answer.
    pub fn settle(&mut self, mainpid: u32) -> Option<String> {
        let waiting = matches!(self.phase, Phase::Starting | Phase::Reloading);
        if waiting && self.pending.iter().all(|&p| p == 0) {
            self.phase = Phase::Ready;
            Some(format!("READY=1\nMAINPID={mainpid}"))
        } else {
            None
        }
    }

    /// kad begins to stop: the `STOPPING=1` message, once.
    pub fn stopping(&mut self) -> Option<&'static str> {
        if self.phase == Phase::Stopping {
            return None;
        }
        self.phase = Phase::Stopping;
        Some("STOPPING=1")
    }
}

/// The parent's notifier: [`Readiness`] plus the socket (none without `NOTIFY_SOCKET`).
#[derive(Debug, Default)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    /// What is due when.
    pub state: Readiness,
}

impl Notifier {
    /// Takes `NOTIFY_SOCKET` out of the environment (call it before any child or script
    /// starts) and opens a non-blocking datagram socket for it.
    pub fn from_env() -> Notifier {
        let Some(value) = std::env::var_os(ENV) else {
            return Notifier::default();
        };
        std::env::remove_var(ENV);
        let Some(addr) = parse_address(&value) else {
            log::warn!("{ENV}={value:?} is not a unix socket path or @name; no notifications");
            return Notifier::default();
        };
        Notifier::to(addr)
    }

    /// A notifier sending to `addr` from a non-blocking unbound datagram socket.
    pub fn to(addr: SocketAddr) -> Notifier {
        let sock = UnixDatagram::unbound().and_then(|s| s.set_nonblocking(true).map(|()| s));
        match sock {
            Ok(sock) => Notifier {
                target: Some((sock, addr)),
                state: Readiness::default(),
            },
            Err(e) => {
                log::warn!("cannot open a socket for {ENV}: {e}; no notifications");
                Notifier::default()
            }
        }
    }

    /// Sends `msg` if there is a socket; a failure is logged, never returned.
    pub fn send(&self, msg: &str) {
        let Some((sock, addr)) = &self.target else {
            return;
        };
        match sock.send_to_addr(msg.as_bytes(), addr) {
            Ok(_) => log::debug!("{ENV}: sent {:?}", msg),
            Err(e) => log::warn!("{ENV}: cannot send {:?}: {e}", msg),
        }
    }

    /// Sends `READY=1` if it is due (see [`Readiness::settle`]).
    pub fn settle(&mut self) {
        if let Some(msg) = self.state.settle(std::process::id()) {
            self.send(&msg);
        }
    }

    /// Sends `RELOADING=1` if it is due.
    pub fn reloading(&mut self) {
        if let Some(msg) = self.state.reloading() {
            self.send(msg);
        }
    }

    /// Sends `STOPPING=1` if it is due.
    pub fn stopping(&mut self) {
        if let Some(msg) = self.state.stopping() {
            self.send(msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_paths_or_abstract_names() {
        let p = parse_address(OsStr::new("/run/systemd/notify")).expect("path");
        assert_eq!(p.as_pathname(), Some(Path::new("/run/systemd/notify")));
        let a = parse_address(OsStr::new("@kad/notify")).expect("abstract");
        assert_eq!(a.as_abstract_name(), Some(&b"kad/notify"[..]));
        for bad in ["", "relative", "vsock:2:1234"] {
            assert!(parse_address(OsStr::new(bad)).is_none(), "{bad}");
        }
        // Longer than sun_path: refused, not a panic.
        assert!(parse_address(OsStr::new(&format!("/{}", "x".repeat(200)))).is_none());
        assert!(parse_address(OsStr::new(&format!("@{}", "x".repeat(200)))).is_none());
    }

    #[test]
    fn sends_to_an_abstract_socket_and_never_blocks_or_fails() {
        let name = format!("kad-sdnotify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("name");
        let listener = UnixDatagram::bind_addr(&addr).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let mut n = Notifier::to(parse_address(OsStr::new(&format!("@{name}"))).expect("addr"));
        n.settle();
        let mut buf = [0u8; 256];
        let len = listener.recv(&mut buf).expect("READY arrived");
        let want = format!("READY=1\nMAINPID={}", std::process::id());
        assert_eq!(&buf[..len], want.as_bytes());
        // Nobody reading: the socket's queue fills, sends fail with EAGAIN, nothing blocks.
        for _ in 0..10_000 {
            n.send("STATUS=flood");
        }
        drop(listener);
        // Nobody listening at all: the send fails and is only logged.
        n.stopping();
    }

    #[test]
    fn ready_once_every_child_applied_its_first_configuration() {
        let mut r = Readiness::default();
        r.started(0);
        r.started(1);
        assert_eq!(r.settle(7), None);
        r.applied(0);
        assert_eq!(r.settle(7), None, "the checker has not answered");
        // The checker died before it was ready: its successor owes one answer, not two.
        r.started(1);
        r.applied(1);
        assert_eq!(r.settle(7).as_deref(), Some("READY=1\nMAINPID=7"));
        assert_eq!(r.settle(7), None, "READY is sent once");
        // A respawned child does not make kad "not ready" again.
        r.started(1);
        r.applied(1);
        assert_eq!(r.settle(7), None);
    }

    #[test]
    fn a_reload_before_the_first_answer_is_waited_for_too() {
        let mut r = Readiness::default();
        r.started(0);
        assert_eq!(r.reloading(), None);
        r.expect(0);
        r.applied(0); // Ready
        assert_eq!(r.settle(7), None, "the reload is not applied yet");
        r.applied(0); // Reloaded
        assert!(r.settle(7).is_some());
    }

    #[test]
    fn ready_at_once_without_children() {
        let mut r = Readiness::default();
        assert_eq!(r.settle(1).as_deref(), Some("READY=1\nMAINPID=1"));
    }

    #[test]
    fn reload_is_bracketed_by_reloading_and_ready() {
        let mut r = Readiness::default();
        assert_eq!(r.reloading(), None, "no RELOADING before the first READY");
        assert!(r.settle(1).is_some());
        assert_eq!(r.reloading(), Some("RELOADING=1"));
        r.expect(0);
        r.expect(1);
        assert_eq!(r.settle(1), None);
        r.applied(0);
        assert_eq!(r.settle(1), None);
        r.applied(1);
        assert!(r.settle(1).is_some());
        // A refused file: nothing is sent to the children, READY follows at once.
        assert_eq!(r.reloading(), Some("RELOADING=1"));
        assert!(r.settle(1).is_some());
    }

    #[test]
    fn stopping_is_sent_once_and_ends_everything_else() {
        let mut r = Readiness::default();
        assert_eq!(r.stopping(), Some("STOPPING=1"));
        assert_eq!(r.stopping(), None);
        assert_eq!(r.settle(1), None);
        assert_eq!(r.reloading(), None);
        // An unknown slot is ignored; answers never owed do not wrap.
        r.started(5);
        r.expect(5);
        r.applied(5);
        r.applied(0);
    }
}
