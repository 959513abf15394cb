//! The rtnetlink monitor (keepalived's "netlink reflector"): link up/down on the interfaces
//! instances run on, and addresses deleted from under a MASTER (which then leaves MASTER
//! unless the VIP is `no_track`).
//! Two subscribed sockets, links and addresses, each non-blocking and polled by the loop.

use std::io::Cursor;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

use neli::consts::rtnl::{Ifa, Iff, Rtm};
use neli::consts::socket::NlFamily;
use neli::nl::{NlPayload, Nlmsghdr};
use neli::rtnl::{Ifaddrmsg, Ifinfomsg};
use neli::socket::synchronous::NlSocketHandle;
use neli::utils::Groups;
use neli::FromBytes;

use crate::vip::NlError;

/// rtnetlink multicast groups (linux/rtnetlink.h).
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV6_IFADDR: u32 = 9;

/// What the kernel reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetEvent {
    /// An interface is running (up with carrier) or not.
    Link {
        /// Interface index.
        index: u32,
        /// True when IFF_UP and IFF_RUNNING are set.
        up: bool,
    },
    /// An address was removed from an interface.
    AddressDeleted {
        /// Interface index.
        index: u32,
        /// The address.
        addr: IpAddr,
    },
}

/// The two monitor sockets.
pub struct Monitor {
    links: NlSocketHandle,
    addrs: NlSocketHandle,
}

fn nonblocking(fd: RawFd) -> Result<(), NlError> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own; no memory is passed.
    let rc = unsafe {
        libc::fcntl(
            fd,
            libc::F_SETFL,
            libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
        )
    };
    if rc < 0 {
        return Err(NlError(format!(
            "O_NONBLOCK: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

impl Monitor {
    /// Subscribes to link and address changes.
    pub fn open() -> Result<Monitor, NlError> {
        let open = |groups: &[u32]| {
            let s = NlSocketHandle::connect(NlFamily::Route, None, Groups::new_groups(groups))
                .map_err(|e| NlError(format!("netlink monitor: {e}")))?;
            nonblocking(s.as_raw_fd())?;
            Ok::<_, NlError>(s)
        };
        Ok(Monitor {
            links: open(&[RTNLGRP_LINK])?,
            addrs: open(&[RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR])?,
        })
    }

    /// Descriptors to poll: links, addresses.
    pub fn fds(&self) -> [RawFd; 2] {
        [self.links.as_raw_fd(), self.addrs.as_raw_fd()]
    }

    /// Everything waiting on both sockets. The datagrams are read raw and decoded by
    /// [`decode_links`] / [`decode_addrs`], which check every message's length before neli
    /// parses it (neli's own receive path panics on a length below the header's).
    pub fn drain(&self) -> Vec<NetEvent> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        for (fd, decode_one) in [
            (
                self.links.as_raw_fd(),
                decode_links as fn(&[u8]) -> Vec<NetEvent>,
            ),
            (self.addrs.as_raw_fd(), decode_addrs),
        ] {
            loop {
                // SAFETY: receiving into our own buffer of the given length, without blocking.
                let n = unsafe {
                    libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
                };
                if n <= 0 {
                    break;
                }
                out.extend(decode_one(&buf[..n as usize]));
            }
        }
        out
    }
}

/// The event of one link message.
fn link_event(m: &Nlmsghdr<Rtm, Ifinfomsg>) -> Option<NetEvent> {
    let NlPayload::Payload(info) = m.nl_payload() else {
        return None;
    };
    let flags = *info.ifi_flags();
    Some(NetEvent::Link {
        index: *info.ifi_index() as u32,
        up: *m.nl_type() != Rtm::Dellink && flags.contains(Iff::UP) && flags.contains(Iff::RUNNING),
    })
}

/// The event of one address message (only deletions matter).
fn addr_event(m: &Nlmsghdr<Rtm, Ifaddrmsg>) -> Option<NetEvent> {
    if *m.nl_type() != Rtm::Deladdr {
        return None;
    }
    let NlPayload::Payload(a) = m.nl_payload() else {
        return None;
    };
    let handle = a.rtattrs().get_attr_handle();
    let bytes = handle
        .get_attribute(Ifa::Local)
        .or_else(|| handle.get_attribute(Ifa::Address))
        .map(|attr| attr.rta_payload().as_ref().to_vec())?;
    let addr = match bytes.as_slice() {
        &[a, b, c, d] => IpAddr::from([a, b, c, d]),
        b if b.len() == 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(b);
            IpAddr::from(o)
        }
        _ => return None,
    };
    Some(NetEvent::AddressDeleted {
        index: *a.ifa_index(),
        addr,
    })
}

/// Decodes the messages of one datagram with `event`. Each message's `nlmsg_len` is checked
/// (at least a header, at most what is left) and neli parses exactly those bytes; a malformed
/// message ends the datagram.
fn decode<P>(
    buf: &[u8],
    types: [u16; 2],
    event: fn(&Nlmsghdr<Rtm, P>) -> Option<NetEvent>,
) -> Vec<NetEvent>
where
    P: neli::Size + neli::FromBytesWithInput<Input = usize>,
{
    const HEADER: usize = 16;
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= HEADER {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < HEADER || len > rest.len() {
            break;
        }
        // Only the message types asked for reach neli (its error-message parser panics on
        // inconsistent lengths; errors and DONE carry nothing the monitor needs).
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if types.contains(&kind) {
            if let Ok(m) = Nlmsghdr::<Rtm, P>::from_bytes(&mut Cursor::new(&rest[..len])) {
                out.extend(event(&m));
            }
        }
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
    }
    out
}

/// The events in one datagram of the link socket (the same decoding as [`Monitor::drain`]).
pub fn decode_links(buf: &[u8]) -> Vec<NetEvent> {
    decode(buf, [libc::RTM_NEWLINK, libc::RTM_DELLINK], link_event)
}

/// The events in one datagram of the address socket.
pub fn decode_addrs(buf: &[u8]) -> Vec<NetEvent> {
    decode(buf, [libc::RTM_NEWADDR, libc::RTM_DELADDR], addr_event)
}
