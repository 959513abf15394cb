//! The control socket (`--control-socket`, served by the parent in its event loop): accepts
//! `kadctl`'s connections, reads one request line each ([`kad_ipc::control`]), and writes one
//! reply line. Everything is non-blocking and bounded: at most
//! [`MAX_CONNECTIONS`](super::clients::MAX_CONNECTIONS) clients (more are closed at once), a
//! request of at most [`MAX_REQUEST`] bytes, [`IO_TIMEOUT`] to send it and to read the reply,
//! [`CHILD_TIMEOUT`] for the children's answers. A bad request gets an error reply; nothing a
//! client sends can stop the loop.
//!
//! This module only moves bytes; the watchdog carries requests out (it owns the children) and
//! hands the answers back with [`Control::answer`].

use std::io::{ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kad_ipc::control::{parse_request, Reply, Request, MAX_REQUEST};
use kad_ipc::status::Status;
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use super::clients::{Client, Clients};

/// Default socket path.
pub const DEFAULT_PATH: &str = "/run/kad/kad.sock";
/// The listener's token.
pub const LISTENER: Token = Token(101);
/// Connections get tokens from here up.
pub const FIRST_CONNECTION: usize = 1 << 20;
/// Time a client has to send its request, and to read the reply.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Time the children have to answer a request.
pub const CHILD_TIMEOUT: Duration = Duration::from_secs(3);

/// What a connection waits for.
enum Phase {
    /// Its request.
    Reading,
    /// The children's answers: the slots still to answer, and the status gathered so far.
    Waiting { left: Vec<usize>, status: Status },
    /// The reply to leave.
    Writing,
}

type Conn = Client<UnixStream, Phase>;

/// A request read off a connection, for the watchdog to carry out.
pub struct Pending {
    /// The connection (answer with this id).
    pub id: u64,
    /// What it asks.
    pub request: Request,
}

/// The listening socket and its connections.
pub struct Control {
    listener: UnixListener,
    path: PathBuf,
    conns: Clients<UnixStream, Phase>,
}

/// How a child answered a request.
pub enum Answer {
    /// Its part of the status.
    Status(Status),
    /// The reply to send as is (unless another child still has to answer).
    Reply(Reply),
}

impl Control {
    /// Binds `path` (mode 0660, group `group` if given) and registers it. A stale socket
    /// file is replaced; a socket another process still serves is left alone (error).
    pub fn bind(path: &Path, group: Option<&str>, registry: &Registry) -> Result<Control, String> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
            }
        }
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(format!("{} is served by another process", path.display()));
            }
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove stale {}: {e}", path.display()))?;
        }
        let gid = match group {
            Some(g) => Some(
                nix::unistd::Group::from_name(g)
                    .ok()
                    .flatten()
                    .ok_or(format!("no group {g}"))?
                    .gid,
            ),
            None => None,
        };
        // No moment with looser permissions than 0660: bind under umask 0117.
        // SAFETY: umask only sets this (single-threaded) process's file creation mask.
        let old = unsafe { libc::umask(0o117) };
        let bound = UnixListener::bind(path);
        // SAFETY: as above, putting the previous mask back.
        unsafe { libc::umask(old) };
        let mut listener = bound.map_err(|e| format!("cannot bind {}: {e}", path.display()))?;
        if let Some(gid) = gid {
            nix::unistd::chown(path, None, Some(gid))
                .map_err(|e| format!("cannot chown {}: {e}", path.display()))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
            .map_err(|e| format!("cannot chmod {}: {e}", path.display()))?;
        registry
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
        Ok(Control {
            listener,
            path: path.to_path_buf(),
            conns: Clients::new("control socket", FIRST_CONNECTION),
        })
    }

    /// Removes the socket file (at stop).
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// Accepts waiting clients; those over
    /// [`MAX_CONNECTIONS`](super::clients::MAX_CONNECTIONS) are closed at once.
    pub fn accept(&mut self, registry: &Registry, now: Instant) {
        let listener = &self.listener;
        let accept = || listener.accept().map(|(stream, _)| stream);
        self.conns
            .accept(accept, registry, now + IO_TIMEOUT, || Phase::Reading);
    }

    /// A client's socket is ready: reads its request (returned once whole) or writes its reply.
    pub fn ready(&mut self, token: Token, registry: &Registry) -> Option<Pending> {
        let id = self.conns.id(token)?;
        let conn = self.conns.get_mut(id)?;
        let mut pending = None;
        if matches!(conn.phase, Phase::Reading) {
            match read_request(conn) {
                Ok(None) => {}
                Ok(Some(line)) => match parse_request(&line) {
                    Ok(request) => pending = Some(Pending { id, request }),
                    Err(e) => set_reply(conn, &Reply::Error(e)),
                },
                Err(e) => set_reply(conn, &Reply::Error(e)),
            }
        }
        if matches!(conn.phase, Phase::Writing) {
            self.conns.flush(id, registry);
        }
        pending
    }

    /// Marks connection `id` as waiting for the children in `slots` (none: reply at once with
    /// an empty status).
    pub fn wait_for(&mut self, id: u64, slots: Vec<usize>, now: Instant, registry: &Registry) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.deadline = now + CHILD_TIMEOUT;
        conn.phase = Phase::Waiting {
            left: slots,
            status: Status::default(),
        };
        self.settle(id, now, registry);
    }

    /// Replies `reply` to connection `id` at once.
    pub fn reply(&mut self, id: u64, reply: &Reply, now: Instant, registry: &Registry) {
        if let Some(conn) = self.conns.get_mut(id) {
            set_reply(conn, reply);
            conn.deadline = now + IO_TIMEOUT;
            self.conns.flush(id, registry);
        }
    }

    /// Child `slot` answered request `id`.
    pub fn answer(&mut self, id: u64, slot: usize, answer: Answer, now: Instant, reg: &Registry) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let Phase::Waiting { left, status } = &mut conn.phase else {
            return;
        };
        if !left.contains(&slot) {
            return;
        }
        left.retain(|&s| s != slot);
        match answer {
            Answer::Status(part) => status.merge(part),
            Answer::Reply(reply) => {
                self.reply(id, &reply, now, reg);
                return;
            }
        }
        self.settle(id, now, reg);
    }

    /// Replies with the gathered status once no child is left to answer.
    fn settle(&mut self, id: u64, now: Instant, registry: &Registry) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if let Phase::Waiting { left, status } = &mut conn.phase {
            if left.is_empty() {
                let reply = Reply::Status(std::mem::take(status));
                self.reply(id, &reply, now, registry);
            }
        }
    }

    /// The earliest client deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.conns.next_deadline()
    }

    /// Closes clients too slow to send or read, and answers those whose children did not.
    pub fn on_timer(&mut self, now: Instant, registry: &Registry) {
        for id in self.conns.late(now) {
            let waiting = self
                .conns
                .get(id)
                .is_some_and(|c| matches!(c.phase, Phase::Waiting { .. }));
            if waiting {
                let reply = Reply::Error("a child did not answer in time".into());
                self.reply(id, &reply, now, registry);
            } else {
                log::debug!("control socket: a client timed out");
                self.conns.close(id, registry);
            }
        }
    }
}

/// Reads what the client sent: `Ok(Some(line))` once a newline (or the end of its stream)
/// ends the request, `Ok(None)` while more is to come, `Err` when it is too long.
fn read_request(conn: &mut Conn) -> Result<Option<Vec<u8>>, String> {
    let mut buf = [0u8; 1024];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => {
                return if conn.input.is_empty() {
                    Err("empty request".into())
                } else {
                    Ok(Some(std::mem::take(&mut conn.input)))
                };
            }
            Ok(n) => {
                let got = buf.get(..n).unwrap_or_default();
                if let Some(end) = got.iter().position(|&b| b == b'\n') {
                    conn.input
                        .extend_from_slice(got.get(..end).unwrap_or_default());
                    if conn.input.len() > MAX_REQUEST {
                        return Err(format!("request over {MAX_REQUEST} bytes"));
                    }
                    return Ok(Some(std::mem::take(&mut conn.input)));
                }
                conn.input.extend_from_slice(got);
                if conn.input.len() > MAX_REQUEST {
                    return Err(format!("request over {MAX_REQUEST} bytes"));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

fn set_reply(conn: &mut Conn, reply: &Reply) {
    let mut line = serde_json::to_vec(reply).unwrap_or_else(|_| b"{\"Error\":\"?\"}".to_vec());
    line.push(b'\n');
    conn.set_reply(line, Phase::Writing);
}
