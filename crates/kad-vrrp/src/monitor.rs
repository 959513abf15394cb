//! The rtnetlink monitor (keepalived's "netlink reflector"): link up/down on the interfaces
//! instances run on, and addresses deleted from under a MASTER (which it puts back).
//! Two subscribed sockets, links and addresses, each non-blocking and polled by the loop.

use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

use neli::consts::rtnl::{Ifa, Iff, Rtm};
use neli::consts::socket::NlFamily;
use neli::nl::NlPayload;
use neli::rtnl::{Ifaddrmsg, Ifinfomsg};
use neli::socket::synchronous::NlSocketHandle;
use neli::utils::Groups;

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

    /// Everything waiting on both sockets.
    pub fn drain(&self) -> Vec<NetEvent> {
        let mut out = Vec::new();
        while let Ok((msgs, _)) = self.links.recv::<Rtm, Ifinfomsg>() {
            for m in msgs.flatten() {
                if let NlPayload::Payload(info) = m.nl_payload() {
                    let flags = *info.ifi_flags();
                    out.push(NetEvent::Link {
                        index: *info.ifi_index() as u32,
                        up: *m.nl_type() != Rtm::Dellink
                            && flags.contains(Iff::UP)
                            && flags.contains(Iff::RUNNING),
                    });
                }
            }
        }
        while let Ok((msgs, _)) = self.addrs.recv::<Rtm, Ifaddrmsg>() {
            for m in msgs.flatten() {
                if *m.nl_type() != Rtm::Deladdr {
                    continue;
                }
                if let NlPayload::Payload(a) = m.nl_payload() {
                    let handle = a.rtattrs().get_attr_handle();
                    let bytes = handle
                        .get_attribute(Ifa::Local)
                        .or_else(|| handle.get_attribute(Ifa::Address))
                        .map(|attr| attr.rta_payload().as_ref().to_vec());
                    let addr = match bytes.as_deref() {
                        Some(&[a, b, c, d]) => Some(IpAddr::from([a, b, c, d])),
                        Some(b) if b.len() == 16 => {
                            let mut o = [0u8; 16];
                            o.copy_from_slice(b);
                            Some(IpAddr::from(o))
                        }
                        _ => None,
                    };
                    if let Some(addr) = addr {
                        out.push(NetEvent::AddressDeleted {
                            index: *a.ifa_index(),
                            addr,
                        });
                    }
                }
            }
        }
        out
    }
}
