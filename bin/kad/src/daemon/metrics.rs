//! The metrics endpoint (`--metrics-listen ADDR:PORT`, served by the parent in its event
//! loop): `GET /metrics` answers the Prometheus text exposition of a fresh status snapshot,
//! gathered from both children as the control socket gathers it. One request per connection,
//! answered, then closed. Everything is non-blocking and bounded: at most
//! [`MAX_CONNECTIONS`](super::clients::MAX_CONNECTIONS) clients (more are closed at once), a
//! request head of at most
//! [`kad_ipc::http::MAX_HEAD`] bytes, [`READ_TIMEOUT`] from accept to its end (a client
//! sending a byte now and then gains nothing), [`WRITE_TIMEOUT`] to take the reply,
//! [`CHILD_TIMEOUT`] for the children (then the reply carries what came, with
//! `kad_child_up 0` for the silent child).
//!
//! This module only moves bytes; the watchdog asks the children and passes their answers on
//! with [`Metrics::answer`].

use std::io::{ErrorKind, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kad_ipc::http::{parse_head, response, Head, MAX_HEAD};
use kad_ipc::metrics::{render, ChildInfo};
use kad_ipc::status::Status;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use super::clients::{Client, Clients};

/// The listener's token.
pub const LISTENER: Token = Token(102);
/// Connections get tokens from here up (above the control socket's).
pub const FIRST_CONNECTION: usize = 1 << 44;
/// Request ids of scrapes start here (the control socket's are small numbers).
pub const FIRST_ID: u64 = 1 << 62;
/// Time a client has, from accept, to send its whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the reply.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time the children have to answer.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(3);

enum Phase {
    Reading,
    /// The children still to answer (slot, name), the status so far, what the parent knows.
    Waiting {
        left: Vec<usize>,
        status: Status,
        children: Vec<(usize, ChildInfo)>,
    },
    Writing,
}

type Conn = Client<TcpStream, Phase>;

/// The listening socket and its connections.
pub struct Metrics {
    listener: TcpListener,
    conns: Clients<TcpStream, Phase>,
}

impl Metrics {
    /// Binds `addr` and registers it.
    pub fn bind(addr: SocketAddr, registry: &Registry) -> Result<Metrics, String> {
        let mut listener =
            TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        registry
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(|e| format!("cannot watch {addr}: {e}"))?;
        Ok(Metrics {
            listener,
            conns: Clients::new("metrics", FIRST_CONNECTION),
        })
    }

    /// True if `id` is a scrape's request id.
    pub fn owns(id: u64) -> bool {
        (FIRST_ID..u64::MAX).contains(&id)
    }

    /// Accepts waiting clients; those over
    /// [`MAX_CONNECTIONS`](super::clients::MAX_CONNECTIONS) are closed at once.
    pub fn accept(&mut self, registry: &Registry, now: Instant) {
        let listener = &self.listener;
        let accept = || listener.accept().map(|(stream, _)| stream);
        self.conns
            .accept(accept, registry, now + READ_TIMEOUT, || Phase::Reading);
    }

    /// A client's socket is ready: reads its head (returns the scrape's request id once it
    /// asks for `/metrics`) or writes its reply.
    pub fn ready(&mut self, token: Token, registry: &Registry, now: Instant) -> Option<u64> {
        let id = self.conns.id(token)?;
        let conn = self.conns.get_mut(id)?;
        let mut scrape = None;
        if matches!(conn.phase, Phase::Reading) {
            match read_head(conn) {
                Ok(Head::Partial) => {}
                Ok(Head::Metrics) => scrape = Some(FIRST_ID + id),
                Ok(Head::Reject(code)) => {
                    log::debug!("metrics: request refused with {code}");
                    set_reply(conn, response(code, ""), now);
                }
                Err(()) => {
                    self.conns.close(id, registry);
                    return None;
                }
            }
        }
        if matches!(conn.phase, Phase::Writing) {
            self.conns.flush(id, registry);
        }
        scrape
    }

    /// Scrape `id` waits for the children in `ask`; `children` is what the parent knows of
    /// each wanted child (slot, info with `up` false until it answers).
    pub fn wait_for(
        &mut self,
        id: u64,
        ask: Vec<usize>,
        children: Vec<(usize, ChildInfo)>,
        now: Instant,
        registry: &Registry,
    ) {
        let Some(key) = id.checked_sub(FIRST_ID) else {
            return;
        };
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        conn.deadline = now + CHILD_TIMEOUT;
        conn.phase = Phase::Waiting {
            left: ask,
            status: Status::default(),
            children,
        };
        self.settle(key, false, now, registry);
    }

    /// Child `slot` answered scrape `id` with its part of the status.
    pub fn answer(&mut self, id: u64, slot: usize, part: Status, now: Instant, reg: &Registry) {
        let Some(key) = id.checked_sub(FIRST_ID) else {
            return;
        };
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let Phase::Waiting {
            left,
            status,
            children,
        } = &mut conn.phase
        else {
            return;
        };
        if !left.contains(&slot) {
            return;
        }
        left.retain(|&s| s != slot);
        status.merge(part);
        for (s, info) in children.iter_mut() {
            if *s == slot {
                info.up = true;
            }
        }
        self.settle(key, false, now, reg);
    }

    /// Renders the reply once no child is left to answer (or `anyway`, at the deadline).
    fn settle(&mut self, key: u64, anyway: bool, now: Instant, registry: &Registry) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if let Phase::Waiting {
            left,
            status,
            children,
        } = &mut conn.phase
        {
            if left.is_empty() || anyway {
                let infos: Vec<ChildInfo> = children.iter().map(|(_, c)| c.clone()).collect();
                let body = render(status, &infos);
                set_reply(conn, response(200, &body), now);
                self.conns.flush(key, registry);
            }
        }
    }

    /// The earliest client deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.conns.next_deadline()
    }

    /// Closes clients too slow to send or read; answers scrapes whose children were silent.
    pub fn on_timer(&mut self, now: Instant, registry: &Registry) {
        for key in self.conns.late(now) {
            let waiting = self
                .conns
                .get(key)
                .is_some_and(|c| matches!(c.phase, Phase::Waiting { .. }));
            if waiting {
                log::warn!("metrics: a child did not answer in time; serving what came");
                self.settle(key, true, now, registry);
            } else {
                log::debug!("metrics: a client timed out");
                self.conns.close(key, registry);
            }
        }
    }
}

/// Reads what the client sent (never more than one byte past [`MAX_HEAD`]) and decides;
/// `Err` when the client closed or broke the connection before its head ended.
fn read_head(conn: &mut Conn) -> Result<Head, ()> {
    let mut buf = [0u8; 1024];
    loop {
        let room = (MAX_HEAD + 1)
            .saturating_sub(conn.input.len())
            .min(buf.len());
        if room == 0 {
            return Ok(parse_head(&conn.input));
        }
        let chunk = buf.get_mut(..room).ok_or(())?;
        match conn.stream.read(chunk) {
            Ok(0) => return Err(()),
            Ok(n) => {
                conn.input
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                match parse_head(&conn.input) {
                    Head::Partial => {}
                    decided => return Ok(decided),
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Head::Partial),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Err(()),
        }
    }
}

fn set_reply(conn: &mut Conn, bytes: Vec<u8>, now: Instant) {
    conn.deadline = now + WRITE_TIMEOUT;
    conn.set_reply(bytes, Phase::Writing);
}
