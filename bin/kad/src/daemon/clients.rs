//! The parent's bounded client connections, shared by the control socket and the metrics
//! endpoint: accepting under a cap of [`MAX_CONNECTIONS`] (more are closed at once), a token
//! and a deadline per connection, writing a reply out without blocking, closing. The protocol
//! modules keep only what differs: how a request is read and what answers it.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::time::Instant;

use mio::event::Source;
use mio::{Interest, Registry, Token};

/// Clients served at once per listener; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 16;

/// A client's stream.
pub trait ClientStream: Source + Read + Write {
    /// Called once the whole reply is written (an HTTP client reads to the end).
    fn reply_written(&self) {}
}

impl ClientStream for mio::net::UnixStream {}

impl ClientStream for mio::net::TcpStream {
    fn reply_written(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

/// One client: its stream, what it sent so far, the reply being written, its deadline, and
/// the protocol's phase `P`.
pub struct Client<S, P> {
    /// The connection.
    pub stream: S,
    /// What the client sent so far (the protocol reads into it).
    pub input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    /// When the client is closed (or its wait ends) if nothing else happened.
    pub deadline: Instant,
    /// Where the protocol is with this client.
    pub phase: P,
}

impl<S: ClientStream, P> Client<S, P> {
    /// Queues `bytes` as the reply and moves to `phase` (the input is dropped).
    pub fn set_reply(&mut self, bytes: Vec<u8>, phase: P) {
        self.output = bytes;
        self.written = 0;
        self.input = Vec::new();
        self.phase = phase;
    }

    /// Writes what the socket takes; true once all is written (or the client is gone).
    pub fn write_out(&mut self) -> bool {
        loop {
            let Some(rest) = self.output.get(self.written..).filter(|r| !r.is_empty()) else {
                self.stream.reply_written();
                return true;
            };
            match self.stream.write(rest) {
                Ok(0) => return true,
                Ok(n) => self.written = self.written.saturating_add(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return true,
            }
        }
    }
}

/// The connections of one listener, by id (token − `first_token`).
pub struct Clients<S, P> {
    what: &'static str,
    first_token: usize,
    conns: BTreeMap<u64, Client<S, P>>,
    next: u64,
}

impl<S: ClientStream, P> Clients<S, P> {
    /// No connections yet; `what` names the listener in logs, tokens start at `first_token`.
    pub fn new(what: &'static str, first_token: usize) -> Self {
        Clients {
            what,
            first_token,
            conns: BTreeMap::new(),
            next: 0,
        }
    }

    /// Accepts what `accept` gives until it would block: each client is registered with its
    /// token, gets `deadline` and the phase `phase` makes; over [`MAX_CONNECTIONS`], closed.
    pub fn accept(
        &mut self,
        mut accept: impl FnMut() -> std::io::Result<S>,
        registry: &Registry,
        deadline: Instant,
        phase: impl Fn() -> P,
    ) {
        loop {
            let mut stream = match accept() {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("{}: accept: {e}", self.what);
                    return;
                }
            };
            if self.conns.len() >= MAX_CONNECTIONS {
                // Not a warning: a flood of connections must not flood the log.
                log::debug!(
                    "{}: {MAX_CONNECTIONS} clients already; one refused",
                    self.what
                );
                continue;
            }
            let id = self.next;
            self.next = self.next.wrapping_add(1) % (1 << 40);
            let token = Token(self.first_token.saturating_add(id as usize));
            if let Err(e) =
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                log::warn!("{}: cannot watch a client: {e}", self.what);
                continue;
            }
            let client = Client {
                stream,
                input: Vec::new(),
                output: Vec::new(),
                written: 0,
                deadline,
                phase: phase(),
            };
            self.conns.insert(id, client);
        }
    }

    /// The id of the client `token` belongs to, if it is one of these.
    pub fn id(&self, token: Token) -> Option<u64> {
        let id = token.0.checked_sub(self.first_token)? as u64;
        self.conns.contains_key(&id).then_some(id)
    }

    /// Client `id`.
    pub fn get(&self, id: u64) -> Option<&Client<S, P>> {
        self.conns.get(&id)
    }

    /// Client `id`, to change.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Client<S, P>> {
        self.conns.get_mut(&id)
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.conns.values().map(|c| c.deadline).min()
    }

    /// The clients whose deadline passed at `now`.
    pub fn late(&self, now: Instant) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(&id, _)| id)
            .collect()
    }

    /// Writes client `id`'s reply; closes it once written. True if it was closed.
    pub fn flush(&mut self, id: u64, registry: &Registry) -> bool {
        let done = self.conns.get_mut(&id).is_some_and(Client::write_out);
        if done {
            self.close(id, registry);
        }
        done
    }

    /// Closes client `id`.
    pub fn close(&mut self, id: u64, registry: &Registry) {
        if let Some(mut conn) = self.conns.remove(&id) {
            let _ = registry.deregister(&mut conn.stream);
        }
    }
}
