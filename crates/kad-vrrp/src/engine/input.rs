//! What goes into the engine: [`Input`]s, the frames they carry, and the [`Facts`] about the
//! system (interfaces, their addresses and whether they run) that the executor reads for it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kad_core::config::Config;

/// Where a packet was read: a link's VRRP socket or its AH socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source {
    /// The link (as numbered by [`super::Effect::OpenLink`]).
    pub link: usize,
    /// True for the link's AH socket (IPv4 protocol 51).
    pub ah: bool,
}

/// One packet as read from a socket.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A whole IPv4 packet (header included) from a VRRP or AH socket.
    V4(&'a [u8]),
    /// An IPv6 VRRP message; the kernel keeps the header, recvmsg tells its fields.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address (IPV6_PKTINFO).
        dst: Ipv6Addr,
        /// Hop limit.
        hop_limit: u8,
        /// The VRRP message.
        payload: &'a [u8],
    },
}

/// What one interface looks like, as the executor read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Iface {
    /// Interface index.
    pub index: u32,
    /// Hardware address.
    pub mac: [u8; 6],
    /// Administratively up with carrier.
    pub running: bool,
    /// Its first IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Its IPv6 link-local address.
    pub ipv6_ll: Option<Ipv6Addr>,
    /// Its MTU (None: unknown, 1500 assumed); bounds the VIPs one advert carries.
    pub mtu: Option<u32>,
}

/// The interfaces the configuration names, by name (missing: no such interface).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Interfaces by name.
    pub ifaces: HashMap<String, Iface>,
}

impl Facts {
    /// True when the interface exists and runs.
    pub fn running(&self, name: &str) -> bool {
        self.ifaces.get(name).is_some_and(|i| i.running)
    }

    /// The interface's index.
    pub fn index(&self, name: &str) -> Option<u32> {
        self.ifaces.get(name).map(|i| i.index)
    }

    /// The interface's primary address of a family: its first IPv4 address, or its IPv6
    /// link-local address.
    pub fn primary(&self, name: &str, ipv6: bool) -> Option<IpAddr> {
        let i = self.ifaces.get(name)?;
        if ipv6 {
            i.ipv6_ll.map(IpAddr::V6)
        } else {
            i.ipv4.map(IpAddr::V4)
        }
    }
}

/// An event for the engine. Each is handled at an explicit `now`.
#[derive(Debug)]
pub enum Input<'a> {
    /// Build and start every instance of `config` (the child's first configuration).
    Start {
        /// The configuration.
        config: &'a Config,
        /// The interfaces it names.
        facts: Facts,
    },
    /// Apply a new configuration (see [`super::Engine`]'s reload rules).
    Reload {
        /// The configuration.
        config: &'a Config,
        /// The interfaces it names.
        facts: Facts,
    },
    /// Stop every instance (masters send priority 0 and drop their VIPs).
    Shutdown,
    /// [`super::Engine::next_deadline`] has passed (or the loop woke anyway).
    Timer,
    /// A socket has packets waiting; the engine answers with [`super::Effect::Read`].
    Readable(Source),
    /// One packet read for a [`super::Effect::Read`].
    Packet {
        /// Where it was read.
        source: Source,
        /// The packet.
        frame: Frame<'a>,
    },
    /// A packet that could not be read whole (truncated by the kernel or unreadable).
    BadFrame(Source),
    /// The end of a [`super::Effect::Read`]: `more` when the bound was reached with packets
    /// possibly left.
    ReadDone {
        /// Where.
        source: Source,
        /// Packets may be left.
        more: bool,
    },
    /// A link changed (from the netlink monitor).
    Link {
        /// Interface index.
        index: u32,
        /// Its name, if it still has one.
        name: Option<String>,
        /// Up with carrier.
        up: bool,
    },
    /// An address was removed from an interface (from the netlink monitor).
    AddressDeleted {
        /// Interface index.
        index: u32,
        /// The address.
        addr: IpAddr,
    },
    /// A vrrp_track_process status (its quorum held or not, delays applied).
    Process {
        /// The vrrp_track_process name.
        name: &'a str,
        /// Its status.
        ok: bool,
    },
    /// A vrrp_script result from the checker child.
    Script {
        /// The script's name.
        name: &'a str,
        /// Its result.
        ok: bool,
    },
    /// `kadctl maintenance NAME on|off` (an unknown name changes nothing).
    Maintenance {
        /// The instance's name.
        name: &'a str,
        /// In or out.
        on: bool,
    },
    /// The outcome of [`super::Effect::OpenLink`].
    LinkOpened {
        /// The link.
        link: usize,
        /// Its sockets are open and watched.
        ok: bool,
    },
    /// The outcome of [`super::Effect::CreateVmac`]: the new interface, or None if it failed.
    VmacCreated {
        /// The instance.
        instance: usize,
        /// The macvlan as read after creating it.
        iface: Option<Iface>,
    },
    /// The outcome of [`super::Effect::SendAdvert`].
    Sent {
        /// The instance's name (a removed one may have sent its last advert).
        instance: String,
        /// The advert's priority.
        priority: u8,
        /// The error of a failed send.
        error: Option<String>,
    },
}
