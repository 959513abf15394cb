//! Checker kinds that talk to the network, each a non-blocking state machine driven by the
//! checker child's mio loop: the engine starts a probe, registers it under a token, calls
//! [`Probe::ready`] on events and [`Probe::timed_out`] at its deadline. No call here blocks;
//! names were resolved when the config was loaded.

pub mod chunked;
pub mod datagram;
pub mod dns;
pub mod http;
pub mod http_response;
pub mod ping;
pub mod smtp;
pub mod smtp_reply;
pub mod stream;
pub mod tls;

use std::io;
use std::net::{IpAddr, SocketAddr};

use kad_core::config::model::{CheckKind, CheckTarget};
use mio::{Registry, Token};
use socket2::{Domain, Protocol, Socket, Type};

use crate::health::Verdict;

/// One check attempt in flight.
pub trait Probe {
    /// Registers the probe's socket with the loop.
    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()>;
    /// Removes the probe's socket from the loop (before it is dropped).
    fn deregister(&mut self, registry: &Registry);
    /// The socket is ready: progress; `Some` when the attempt is decided.
    fn ready(&mut self, registry: &Registry, token: Token) -> Option<Verdict>;
    /// The attempt's deadline passed.
    fn timed_out(&mut self) -> Verdict {
        Verdict::down("timed out")
    }
}

/// What a probe needs besides its checker's settings.
pub struct ProbeContext<'a> {
    /// TLS client settings for SSL_GET (`None`: the SSL block could not be loaded).
    pub tls: Option<&'a tls::TlsContexts>,
    /// HELO name for SMTP_CHECK when the checker sets none.
    pub helo: &'a str,
    /// A number unique to the checker (ICMP identifier, DNS id seed).
    pub ident: u16,
    /// `virtualhost` of the real or virtual server, for HTTP when the checker sets none.
    pub virtualhost: Option<&'a str>,
}

/// Starts an attempt of a network checker kind (`None` for MISC_CHECK and FILE_CHECK, which
/// the engine runs itself). A failure to even start is a finished, failed attempt.
pub fn start(
    kind: &CheckKind,
    target: &CheckTarget,
    ctx: &ProbeContext<'_>,
) -> Option<Result<Box<dyn Probe>, Verdict>> {
    let started: io::Result<Box<dyn Probe>> = match kind {
        CheckKind::Tcp => {
            stream::StreamProbe::connect(target, None, Box::new(stream::ConnectOnly)).map(boxed)
        }
        CheckKind::Http {
            tls,
            urls,
            virtualhost,
            http_protocol,
            enable_sni,
            ..
        } => {
            let vhost = virtualhost.as_deref().or(ctx.virtualhost);
            let dialogue = http::HttpDialogue::new(urls, vhost, target, *http_protocol);
            let tls = match (tls, ctx.tls) {
                (false, _) => None,
                (true, Some(base)) => Some(tls::session(base, vhost, target.addr, *enable_sni)),
                (true, None) => return Some(Err(Verdict::down("no usable SSL context"))),
            };
            stream::StreamProbe::connect(target, tls, Box::new(dialogue)).map(boxed)
        }
        CheckKind::Smtp { helo_name } => {
            let helo = helo_name.as_deref().unwrap_or(ctx.helo);
            stream::StreamProbe::connect(target, None, Box::new(smtp::SmtpDialogue::new(helo)))
                .map(boxed)
        }
        CheckKind::Udp(udp) => datagram::DatagramProbe::udp(target, udp, ctx.ident).map(boxed),
        CheckKind::Dns { query_type, name } => {
            dns::query(target, query_type, name, ctx.ident).map(boxed)
        }
        CheckKind::Ping => ping::PingProbe::start(target, ctx.ident).map(boxed),
        CheckKind::Misc { .. } | CheckKind::File { .. } => return None,
    };
    Some(started.map_err(|e| Verdict::down(format!("cannot start: {e}"))))
}

fn boxed<P: Probe + 'static>(p: P) -> Box<dyn Probe> {
    Box::new(p)
}

/// The address a checker connects to (`port` 0 when none is set).
pub fn peer(target: &CheckTarget) -> SocketAddr {
    SocketAddr::new(target.addr, target.port.unwrap_or(0))
}

/// A non-blocking socket bound as the checker says (`bindto`, `bind_port`, `bind_if`,
/// `fwmark`) and connecting to `target` (for datagram sockets: connected, so only the
/// target's replies and ICMP errors reach it).
pub fn socket(target: &CheckTarget, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let peer = peer(target);
    let domain = match peer.ip() {
        IpAddr::V4(_) => Domain::IPV4,
        IpAddr::V6(_) => Domain::IPV6,
    };
    let s = Socket::new(domain, ty.nonblocking().cloexec(), Some(proto))?;
    if let Some(dev) = &target.bind_if {
        s.bind_device(Some(dev.as_bytes()))?;
    }
    if let Some(mark) = target.fwmark {
        s.set_mark(mark)?;
    }
    if target.bind_addr.is_some() || target.bind_port.is_some() {
        let ip = target.bind_addr.unwrap_or(match domain {
            Domain::IPV6 => IpAddr::from([0u16; 8]),
            _ => IpAddr::from([0u8; 4]),
        });
        if target.bind_port.is_some() {
            s.set_reuse_address(true)?;
        }
        s.bind(&SocketAddr::new(ip, target.bind_port.unwrap_or(0)).into())?;
    }
    match s.connect(&peer.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(s)
}
