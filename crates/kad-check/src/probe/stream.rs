//! TCP-based checkers (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK): a non-blocking connection,
//! optionally TLS, carrying a [`Dialogue`] that decides what to send and what the replies mean.

use std::io::{self, Read, Write};
use std::time::Duration;

use kad_core::config::model::CheckTarget;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::pki_types::ServerName;
use socket2::{Protocol, Type};

use super::Probe;
use crate::health::Verdict;

/// What the dialogue wants next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing yet: wait for more data.
    Wait,
    /// Send these bytes.
    Send(Vec<u8>),
    /// The attempt is decided.
    Done(Verdict),
    /// This exchange passed; open a new connection for the next one (HTTP's next URL).
    Reconnect,
}

/// The most TLS reads in a row that give no plaintext (handshake, empty records) in one
/// wakeup: a handshake needs a few.
const MAX_EMPTY_READS: u32 = 1024;

/// What one read gave.
enum Input {
    /// This many bytes of plaintext.
    Read(usize),
    /// The server closed.
    Closed,
    /// Nothing more for now.
    Blocked,
}

/// The application side of a stream checker.
pub trait Dialogue {
    /// The connection (and, for TLS, the handshake's start) is up.
    fn connected(&mut self) -> Step;
    /// Bytes arrived (`eof`: the server closed its side).
    fn received(&mut self, data: &[u8], eof: bool) -> Step;
}

/// TCP_CHECK: a completed connect is a pass.
pub struct ConnectOnly;

impl Dialogue for ConnectOnly {
    fn connected(&mut self) -> Step {
        Step::Done(Verdict::up("connected"))
    }
    fn received(&mut self, _: &[u8], _: bool) -> Step {
        Step::Wait
    }
}

/// TLS settings of one connection.
pub type TlsSession = (std::sync::Arc<rustls::ClientConfig>, ServerName<'static>);

/// A stream checker's connection.
pub struct StreamProbe {
    target: CheckTarget,
    tls: Option<TlsSession>,
    sock: TcpStream,
    session: Option<rustls::ClientConnection>,
    connected: bool,
    out: Vec<u8>,
    dialogue: Box<dyn Dialogue>,
}

fn open(target: &CheckTarget) -> io::Result<TcpStream> {
    let s = super::socket(target, Type::STREAM, Protocol::TCP)?;
    Ok(TcpStream::from_std(s.into()))
}

impl StreamProbe {
    /// Starts connecting to `target`.
    pub fn connect(
        target: &CheckTarget,
        tls: Option<TlsSession>,
        dialogue: Box<dyn Dialogue>,
    ) -> io::Result<StreamProbe> {
        Ok(StreamProbe {
            target: target.clone(),
            tls,
            sock: open(target)?,
            session: None,
            connected: false,
            out: Vec::new(),
            dialogue,
        })
    }

    /// Checks whether the connect finished: `Ok(true)` connected, `Ok(false)` still pending.
    fn connect_done(&mut self) -> io::Result<bool> {
        if let Some(e) = self.sock.take_error()? {
            return Err(e);
        }
        match self.sock.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.session {
            Some(s) => s.writer().write_all(bytes),
            None => {
                self.out.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Writes what is queued; stops at WouldBlock.
    fn flush(&mut self) -> io::Result<()> {
        if let Some(s) = &mut self.session {
            while s.wants_write() {
                match s.write_tls(&mut self.sock) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            return Ok(());
        }
        while !self.out.is_empty() {
            match self.sock.write(&self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads into `buf` what is available, at most `buf.len()` bytes: `Read(n)` plaintext
    /// bytes (0 when TLS records carried none), `Closed`, or `Blocked` when nothing more
    /// is there. For TLS the plaintext rustls decrypted is drained before any more records are
    /// read, so its plaintext buffer (16 KiB) never fills, however large the burst.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Input> {
        let Some(s) = &mut self.session else {
            return match self.sock.read(buf) {
                Ok(0) => Ok(Input::Closed),
                Ok(n) => Ok(Input::Read(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Input::Blocked),
                Err(e) => Err(e),
            };
        };
        match s.reader().read(buf) {
            Ok(0) => return Ok(Input::Closed), // close_notify
            Ok(n) => return Ok(Input::Read(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Input::Closed),
            Err(e) => return Err(e),
        }
        // No plaintext left: read more records.
        match s.read_tls(&mut self.sock) {
            Ok(0) => Ok(Input::Closed),
            Ok(_) => {
                s.process_new_packets()
                    .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
                Ok(Input::Read(0))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Input::Blocked),
            Err(e) => Err(e),
        }
    }

    /// Applies a dialogue step; `Some` when decided.
    fn apply(
        &mut self,
        step: Step,
        registry: &Registry,
        token: Token,
    ) -> io::Result<Option<Verdict>> {
        match step {
            Step::Wait => Ok(None),
            Step::Done(v) => Ok(Some(v)),
            Step::Send(bytes) => {
                self.send(&bytes)?;
                self.flush()?;
                Ok(None)
            }
            Step::Reconnect => {
                let _ = registry.deregister(&mut self.sock);
                self.sock = open(&self.target)?;
                self.session = None;
                self.connected = false;
                self.out.clear();
                registry.register(
                    &mut self.sock,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                Ok(None)
            }
        }
    }

    fn progress(&mut self, registry: &Registry, token: Token) -> io::Result<Option<Verdict>> {
        if !self.connected {
            if !self.connect_done()? {
                return Ok(None);
            }
            self.connected = true;
            if let Some((cfg, name)) = &self.tls {
                let s = rustls::ClientConnection::new(cfg.clone(), name.clone())
                    .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
                self.session = Some(s);
            }
            let step = self.dialogue.connected();
            if let Some(v) = self.apply(step, registry, token)? {
                return Ok(Some(v));
            }
        }
        self.flush()?;
        // Each piece read goes to the dialogue at once: nothing accumulates here, and the
        // dialogue's own bounds end a server that sends without end.
        let mut buf = [0u8; 16 * 1024];
        let mut empty_reads = 0u32;
        loop {
            let (data, eof) = match self.read_some(&mut buf)? {
                Input::Blocked => break,
                Input::Read(0) if empty_reads >= MAX_EMPTY_READS => {
                    return Ok(Some(Verdict::down("TLS records without data")));
                }
                Input::Read(0) => {
                    empty_reads += 1;
                    self.flush()?; // TLS handshake messages
                    continue;
                }
                Input::Read(n) => {
                    empty_reads = 0;
                    (buf.get(..n).unwrap_or_default(), false)
                }
                Input::Closed => (&[][..], true),
            };
            let step = self.dialogue.received(data, eof);
            let reconnect = step == Step::Reconnect;
            if let Some(v) = self.apply(step, registry, token)? {
                return Ok(Some(v));
            }
            if reconnect {
                return Ok(None);
            }
            if eof {
                return Ok(Some(Verdict::down("connection closed by the server")));
            }
        }
        self.flush()?;
        Ok(None)
    }
}

impl Probe for StreamProbe {
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut self.sock,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    fn deregister(&mut self, _: &Registry) {
        // No epoll_ctl(DEL): the socket is closed right after, which removes it from the
        // epoll set (it is never duplicated), one system call fewer per check.
        // A checker has nothing more to say: reset instead of leaving TIME_WAIT behind on the
        // director for every check (10,000 checks a second would exhaust ephemeral ports).
        let sock = socket2::SockRef::from(&self.sock);
        let _ = sock.set_linger(Some(Duration::ZERO));
    }

    fn ready(&mut self, registry: &Registry, token: Token) -> Option<Verdict> {
        match self.progress(registry, token) {
            Ok(v) => v,
            Err(e) if !self.connected => Some(Verdict::down(format!("connect: {e}"))),
            Err(e) => Some(Verdict::down(e.to_string())),
        }
    }
}
