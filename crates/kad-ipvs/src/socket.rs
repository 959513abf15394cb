//! The IPVS generic-netlink family over a neli socket: resolve "IPVS", send requests, collect
//! replies and acknowledgements. Blocking, one request at a time (the kernel answers at once;
//! a dump of a large table arrives in several datagrams).

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;

use crate::model::{Dest, Service, ServiceKey, Stats, Table};
use crate::reconcile::Change;
use crate::wire::daemon::{self, Role, SyncDaemon};
use crate::wire::{self, cmd, Reply, WireError};
use std::io::Cursor;
use std::os::fd::AsRawFd;

use neli::{Size, ToBytes};

/// Why an IPVS operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsError {
    /// The kernel has no IPVS (module not loaded or not built).
    Unavailable(String),
    /// The netlink socket failed.
    Netlink(String),
    /// The kernel refused a request.
    Kernel {
        /// What was asked.
        what: String,
        /// errno.
        errno: i32,
    },
    /// A reply could not be read.
    Wire(WireError),
}

impl std::fmt::Display for IpvsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IpvsError::Unavailable(why) => write!(f, "IPVS not available: {why}"),
            IpvsError::Netlink(e) => write!(f, "netlink: {e}"),
            IpvsError::Kernel { what, errno } => {
                write!(f, "{what}: {}", std::io::Error::from_raw_os_error(*errno))
            }
            IpvsError::Wire(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for IpvsError {}

impl From<WireError> for IpvsError {
    fn from(e: WireError) -> Self {
        IpvsError::Wire(e)
    }
}

/// A connection to the kernel's IPVS.
pub struct Ipvs {
    sock: NlSocketHandle,
    family: u16,
    /// Requests sent so far (for benchmarks and logs).
    pub messages_sent: u64,
    next_seq: u32,
    /// The receive buffer, allocated once (a 10,000-service table read is 10,001 dumps).
    rx: Vec<u8>,
}

/// A socket error, naming the request it belongs to.
fn in_context(what: &str, e: IpvsError) -> IpvsError {
    match e {
        IpvsError::Netlink(m) => IpvsError::Netlink(format!("{what}: {m}")),
        e => e,
    }
}

/// Receive buffer size. The kernel sizes a dump's datagrams by the largest buffer a socket
/// has offered (at most 32 KiB, never more than offered), and clears what it allocates: 16 KiB
/// holds about 100 destinations per datagram at half the kernel's cost per dump of 32 KiB.
const RX_BUFFER: usize = 16 * 1024;

/// Changes sent in one datagram by [`Ipvs::apply_all`].
pub const BATCH: usize = 64;

impl Ipvs {
    /// Opens a generic netlink socket and resolves the "IPVS" family.
    pub fn open() -> Result<Ipvs, IpvsError> {
        let sock = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| IpvsError::Netlink(format!("connect: {e}")))?;
        let mut ipvs = Ipvs {
            sock,
            family: wire::GENL_ID_CTRL,
            messages_sent: 0,
            next_seq: 1,
            rx: vec![0u8; RX_BUFFER],
        };
        let reply = match ipvs.request("resolve the IPVS family", wire::get_family("IPVS"), false) {
            Ok(r) => r,
            Err(IpvsError::Kernel { errno, .. }) if errno == libc::ENOENT => {
                return Err(IpvsError::Unavailable(
                    "the kernel has no IPVS generic netlink family (ip_vs not loaded?)".into(),
                ))
            }
            Err(e) => return Err(e),
        };
        let first = reply
            .first()
            .ok_or_else(|| IpvsError::Unavailable("no answer for the IPVS family".into()))?;
        ipvs.family = wire::parse_family(first)?;
        ipvs.messages_sent = 0;
        Ok(ipvs)
    }

    /// One netlink message for the IPVS family (neli builds the header).
    fn encode(&self, flags: NlmF, seq: u32, payload: Vec<u8>) -> Result<Vec<u8>, IpvsError> {
        let msg = NlmsghdrBuilder::default()
            .nl_type(self.family)
            .nl_flags(flags)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(Buffer::from(payload)))
            .build()
            .map_err(|e| IpvsError::Netlink(e.to_string()))?;
        let mut bytes = Cursor::new(vec![0u8; msg.padded_size()]);
        msg.to_bytes(&mut bytes)
            .map_err(|e| IpvsError::Netlink(e.to_string()))?;
        Ok(bytes.into_inner())
    }

    /// Sends one datagram of `count` requests.
    fn send_datagram(&mut self, datagram: &[u8], count: usize) -> Result<(), IpvsError> {
        // SAFETY: sending our own buffer of the given length on our own socket.
        let sent = unsafe {
            libc::send(
                self.sock.as_raw_fd(),
                datagram.as_ptr().cast(),
                datagram.len(),
                0,
            )
        };
        if sent < 0 {
            return Err(IpvsError::Netlink(format!(
                "send: {}",
                std::io::Error::last_os_error()
            )));
        }
        self.messages_sent += count as u64;
        Ok(())
    }

    /// Receives one datagram of replies into the socket's buffer; returns what came. Replies
    /// are read raw and split by `wire::netlink_messages`, which checks every length (neli's
    /// parser of error messages panics on inconsistent ones).
    fn recv_datagram(&mut self) -> Result<&[u8], IpvsError> {
        let fd = self.sock.as_raw_fd();
        loop {
            // SAFETY: receiving into our own buffer of the given length on our own socket.
            let n = unsafe { libc::recv(fd, self.rx.as_mut_ptr().cast(), self.rx.len(), 0) };
            if n >= 0 {
                return Ok(self.rx.get(..n as usize).unwrap_or_default());
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(IpvsError::Netlink(format!("receive: {e}")));
            }
        }
    }

    fn next_seq(&mut self, count: usize) -> u32 {
        let base = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(count as u32);
        base
    }

    /// Sends one request; returns the payloads of the replies (all parts of a dump).
    fn request(
        &mut self,
        what: &str,
        payload: Vec<u8>,
        dump: bool,
    ) -> Result<Vec<Vec<u8>>, IpvsError> {
        let mut flags = NlmF::REQUEST | NlmF::ACK;
        if dump {
            flags |= NlmF::DUMP;
        }
        let seq = self.next_seq(1);
        let msg = self.encode(flags, seq, payload)?;
        self.send_datagram(&msg, 1)
            .map_err(|e| in_context(what, e))?;
        let mut out = Vec::new();
        loop {
            let got = self.recv_datagram().map_err(|e| in_context(what, e))?;
            for (_, reply) in wire::netlink_messages(got)? {
                match reply {
                    Reply::Error(errno) => {
                        return Err(IpvsError::Kernel {
                            what: what.to_string(),
                            errno,
                        })
                    }
                    Reply::Ack if !dump => return Ok(out),
                    Reply::Done => return Ok(out),
                    Reply::Data(p) => out.push(p.to_vec()),
                    Reply::Ack => {}
                }
            }
        }
    }

    /// `(version, connection table size)`.
    pub fn info(&mut self) -> Result<(u32, u32), IpvsError> {
        let r = self.request("get IPVS info", wire::bare(cmd::GET_INFO), false)?;
        let first = r
            .first()
            .ok_or_else(|| WireError("empty info reply".into()))?;
        Ok(wire::parse_info(first)?)
    }

    /// Every service in the kernel.
    pub fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        self.request("list services", wire::bare(cmd::GET_SERVICE), true)?
            .iter()
            .map(|p| wire::parse_service(p).map_err(IpvsError::from))
            .collect()
    }

    /// Every service with its destinations, in the kernel's order (as `ipvsadm -Ln` lists).
    pub fn list(&mut self) -> Result<Vec<(Service, Vec<Dest>)>, IpvsError> {
        let mut out = Vec::new();
        for s in self.services()? {
            let dests = self.dests(&s.key)?;
            out.push((s, dests));
        }
        Ok(out)
    }

    /// The destinations of service `key` (one dump).
    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, IpvsError> {
        let ipv6 = key.is_ipv6();
        self.request(
            "list destinations",
            wire::service_key(cmd::GET_DEST, key),
            true,
        )?
        .iter()
        .map(|p| wire::parse_dest(p, ipv6).map_err(IpvsError::from))
        .collect()
    }

    /// Every service with its totals, and each destination with its totals.
    #[allow(clippy::type_complexity)]
    pub fn list_stats(&mut self) -> Result<Vec<(Service, Stats, Vec<(Dest, Stats)>)>, IpvsError> {
        let mut out = Vec::new();
        let services = self.request("list services", wire::bare(cmd::GET_SERVICE), true)?;
        for p in &services {
            let s = wire::parse_service(p)?;
            let stats = wire::parse_service_stats(p)?;
            let replies = self.request(
                "list destinations",
                wire::service_key(cmd::GET_DEST, &s.key),
                true,
            )?;
            let mut dests = Vec::with_capacity(replies.len());
            for r in &replies {
                dests.push((
                    wire::parse_dest(r, s.key.is_ipv6())?,
                    wire::parse_dest_stats(r)?,
                ));
            }
            out.push((s, stats, dests));
        }
        Ok(out)
    }

    /// The services `keys` as the kernel has them, with their destinations (a key the kernel
    /// does not have is left out): two requests per service, however large the whole table.
    pub fn read_services(&mut self, keys: &[ServiceKey]) -> Result<Table, IpvsError> {
        let mut t = Table::default();
        for key in keys {
            let svc = match self.request(
                "get service",
                wire::service_key(cmd::GET_SERVICE, key),
                false,
            ) {
                Ok(r) => match r.first() {
                    Some(p) => wire::parse_service(p)?,
                    None => continue,
                },
                Err(IpvsError::Kernel { errno, .. })
                    if errno == libc::ESRCH || errno == libc::ENOENT =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            let dests = self.dests(key)?;
            let got = svc.key.clone();
            t.add_service(svc);
            for d in dests {
                t.add_dest(&got, d);
            }
        }
        Ok(t)
    }

    /// The kernel's whole table.
    pub fn table(&mut self) -> Result<Table, IpvsError> {
        let mut t = Table::default();
        for (s, dests) in self.list()? {
            let key = s.key.clone();
            t.add_service(s);
            for d in dests {
                t.add_dest(&key, d);
            }
        }
        Ok(t)
    }

    /// Applies one change.
    pub fn apply(&mut self, change: &Change) -> Result<(), IpvsError> {
        let (what, payload) = describe(change);
        self.request(&what, payload, false).map(|_| ())
    }

    /// Applies changes in order; returns how many failed (each is logged). The requests go
    /// out in batches of [`BATCH`] netlink messages per datagram (the kernel handles them in
    /// order, each with its own acknowledgement), so a large table is one system call per
    /// batch instead of two per change.
    pub fn apply_all(&mut self, changes: &[Change]) -> usize {
        changes
            .chunks(BATCH)
            .map(|chunk| self.apply_batch(chunk))
            .sum()
    }

    fn apply_batch(&mut self, chunk: &[Change]) -> usize {
        match self.try_batch(chunk) {
            Ok(failed) => failed,
            Err((e, unanswered)) => {
                log::error!("IPVS: {e}");
                unanswered
            }
        }
    }

    /// Sends `chunk` in one datagram and counts the refusals (each logged); on a socket or
    /// framing error, the error and how many changes are failed or unanswered.
    fn try_batch(&mut self, chunk: &[Change]) -> Result<usize, (IpvsError, usize)> {
        let base = self.next_seq(chunk.len());
        let mut datagram = Vec::new();
        for (i, change) in chunk.iter().enumerate() {
            let seq = base.wrapping_add(i as u32);
            let msg = self
                .encode(NlmF::REQUEST | NlmF::ACK, seq, describe(change).1)
                .map_err(|e| (e, chunk.len()))?;
            datagram.extend_from_slice(&msg);
        }
        self.send_datagram(&datagram, chunk.len())
            .map_err(|e| (e, chunk.len()))?;
        let (mut answered, mut failed) = (0, 0);
        while answered < chunk.len() {
            let lost = |e| (e, failed + chunk.len() - answered);
            let got = self.recv_datagram().map_err(lost)?;
            let replies = wire::netlink_messages(got).map_err(|e| lost(e.into()))?;
            for (seq, reply) in replies {
                match reply {
                    Reply::Ack => answered += 1,
                    Reply::Error(errno) => {
                        answered += 1;
                        failed += 1;
                        let i = seq.wrapping_sub(base) as usize;
                        let what = chunk.get(i).map(|c| describe(c).0).unwrap_or_default();
                        log::error!("IPVS: {}", IpvsError::Kernel { what, errno });
                    }
                    Reply::Data(_) | Reply::Done => {}
                }
            }
        }
        Ok(failed)
    }

    /// The tcp, tcpfin and udp timeouts (`ipvsadm -L --timeout`).
    pub fn timeouts(&mut self) -> Result<wire::Timeouts, IpvsError> {
        let r = self.request("get IPVS timeouts", wire::bare(cmd::GET_CONFIG), false)?;
        let first = r
            .first()
            .ok_or_else(|| WireError("empty config reply".into()))?;
        Ok(wire::parse_timeouts(first)?)
    }

    /// Sets the timeouts (`ipvsadm --set`); a 0 leaves that one unchanged.
    pub fn set_timeouts(&mut self, t: wire::Timeouts) -> Result<(), IpvsError> {
        self.request("set IPVS timeouts", wire::set_timeouts(t), false)
            .map(|_| ())
    }

    /// The running connection-sync daemons (`ipvsadm -L --daemon`).
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        self.request("list sync daemons", wire::bare(cmd::GET_DAEMON), true)?
            .iter()
            .map(|p| daemon::parse_daemon(p).map_err(IpvsError::from))
            .collect()
    }

    /// Starts a connection-sync daemon (`ipvsadm --start-daemon`).
    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        let what = format!("start the {} sync daemon on {}", d.role.name(), d.interface);
        self.request(&what, daemon::new_daemon(d), false)
            .map(|_| ())
    }

    /// Stops the `role` connection-sync daemon (`ipvsadm --stop-daemon`).
    pub fn stop_daemon(&mut self, role: Role) -> Result<(), IpvsError> {
        let what = format!("stop the {} sync daemon", role.name());
        self.request(&what, daemon::del_daemon(role), false)
            .map(|_| ())
    }

    /// Removes every service (`ipvsadm -C`).
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        self.request("flush", wire::bare(cmd::FLUSH), false)
            .map(|_| ())
    }
}

/// A change as logs show it (`add service TCP 192.0.2.1:80`, `edit 198.51.100.1:80 of …`).
pub fn describe_change(change: &Change) -> String {
    describe(change).0
}

/// What a change asks of the kernel: its description for logs and its message.
fn describe(change: &Change) -> (String, Vec<u8>) {
    match change {
        Change::AddService(s) => (
            format!("add service {}", show(&s.key)),
            wire::service(cmd::NEW_SERVICE, s),
        ),
        Change::EditService(s) => (
            format!("edit service {}", show(&s.key)),
            wire::service(cmd::SET_SERVICE, s),
        ),
        Change::DelService(k) => (
            format!("delete service {}", show(k)),
            wire::service_key(cmd::DEL_SERVICE, k),
        ),
        Change::AddDest(k, d) => (
            format!("add {}:{} to {}", d.addr, d.port, show(k)),
            wire::dest(cmd::NEW_DEST, k, d),
        ),
        Change::EditDest(k, d) => (
            format!("edit {}:{} of {}", d.addr, d.port, show(k)),
            wire::dest(cmd::SET_DEST, k, d),
        ),
        Change::DelDest(k, d) => (
            format!("delete {}:{} from {}", d.addr, d.port, show(k)),
            wire::dest(cmd::DEL_DEST, k, d),
        ),
    }
}

/// A service key as logs show it.
pub fn show(k: &ServiceKey) -> String {
    match k {
        ServiceKey::Addr { proto, addr, port } => {
            let p = match *proto {
                crate::model::PROTO_TCP => "TCP",
                crate::model::PROTO_UDP => "UDP",
                crate::model::PROTO_SCTP => "SCTP",
                _ => "proto",
            };
            match addr {
                std::net::IpAddr::V6(a) => format!("{p} [{a}]:{port}"),
                a => format!("{p} {a}:{port}"),
            }
        }
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}
