//! What comes out of the engine: [`Effect`]s the executor carries out, in order.

use crate::drop_reason::DropReason;
use std::net::{IpAddr, Ipv4Addr};

use super::input::Source;
use crate::instance::State;
use crate::vip::Vip;
use kad_core::config::route::{Route, Rule};

/// Where gratuitous ARPs / NAs go out: interface index, its MAC, its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Interface index.
    pub index: u32,
    /// Source MAC.
    pub mac: [u8; 6],
    /// Interface name.
    pub name: String,
}

/// Something for the executor to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open the VRRP sockets of a new link (numbered in order from 0), joined to `join`, and
    /// watch them; answer with [`super::Input::LinkOpened`].
    OpenLink {
        /// The link's number.
        link: usize,
        /// Interface name.
        ifname: String,
        /// Interface index.
        index: u32,
        /// Source address of our adverts.
        src: IpAddr,
        /// Multicast group to join (none for unicast-only instances).
        join: Option<IpAddr>,
        /// The interface is a vmac: IPv4 groups are joined at the link level only, so no IGMP
        /// report leaves with the virtual MAC (see [`crate::vmac_rx`]).
        vmac: bool,
    },
    /// Join one more multicast group on an open link.
    JoinGroup {
        /// The link.
        link: usize,
        /// The group.
        group: IpAddr,
    },
    /// Open (once) the AH socket of an IPv4 link, joined to `join`, and watch it.
    OpenAh {
        /// The link.
        link: usize,
        /// Multicast group to join.
        join: Option<Ipv4Addr>,
    },
    /// Read at most `max` packets from a socket, each as [`super::Input::Packet`], then
    /// [`super::Input::ReadDone`].
    Read {
        /// The socket.
        source: Source,
        /// The bound.
        max: usize,
    },
    /// Send an advert: one packet per destination, on the link's VRRP socket (or its AH
    /// socket, the IPv4 header included, when `ah`); answer with [`super::Input::Sent`].
    SendAdvert {
        /// The instance's name (for the answer).
        instance: String,
        /// The link.
        link: usize,
        /// The advert's priority.
        priority: u8,
        /// Sealed in AH (IPv4 header, AH, VRRP).
        ah: bool,
        /// TTL / hop limit of unicast packets (`unicast_ttl`); multicast always leaves with 255.
        ttl: u8,
        /// Destination and bytes of each packet.
        packets: Vec<(IpAddr, Vec<u8>)>,
    },
    /// Add virtual addresses: (interface index, address).
    AddVips {
        /// The instance's name, for logs.
        instance: String,
        /// What goes where.
        vips: Vec<(u32, Vip)>,
    },
    /// Remove virtual addresses: (interface index, address).
    DelVips {
        /// The instance's name, for logs.
        instance: String,
        /// What goes where.
        vips: Vec<(u32, Vip)>,
    },
    /// Add (`add`) or remove routes and rules (`virtual_*` of an instance, or `static_*`
    /// with `instance` "static"): when adding, routes then rules; when removing, rules first.
    Routes {
        /// The instance's name, for logs.
        instance: String,
        /// Add, or remove.
        add: bool,
        /// Each route with the index of its `dev`, if it names one.
        routes: Vec<(Option<u32>, Route)>,
        /// The rules.
        rules: Vec<Rule>,
    },
    /// Send one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr` on `port`.
    Garp {
        /// Where.
        port: Port,
        /// The address announced.
        addr: IpAddr,
    },
    /// Create the macvlan of a `use_vmac` instance (removing a stale one of that name first)
    /// with keepalived 2.2.7's sysctls on it and on its base (no IPv6 on the vmac of an IPv4
    /// instance, set before the link comes up), then bring it up; answer with
    /// [`super::Input::VmacCreated`].
    CreateVmac {
        /// The instance (for the answer).
        instance: usize,
        /// The instance's name, for logs.
        owner: String,
        /// The macvlan's name.
        name: String,
        /// Index of the base interface.
        base: u32,
        /// Name of the base interface.
        base_name: String,
        /// Its MAC (the VRRP virtual MAC).
        mac: [u8; 6],
        /// The instance is IPv4: the vmac gets no IPv6 (no link-local, MLD or RS from it).
        ipv4: bool,
    },
    /// Delete a macvlan.
    DeleteVmac {
        /// The instance's name, for logs.
        owner: String,
        /// The macvlan's name.
        name: String,
        /// Its index.
        index: u32,
    },
    /// An instance changed state: tell the parent (notify scripts, SNMP, logs there).
    StateChange {
        /// The instance.
        name: String,
        /// The new state.
        state: State,
        /// Its effective priority.
        priority: u8,
    },
    /// A MASTER heard a lower priority: run the instance's `notify_master_rx_lower_pri`
    /// (the parent passes it to the checker child).
    MasterRxLowerPri {
        /// The instance.
        instance: String,
    },
    /// A packet was dropped (already counted); `log` is set when a line is due (at most one
    /// per instance and reason every 10 s).
    Drop {
        /// The instance it was for, if known.
        instance: Option<String>,
        /// Why (the counter's name).
        reason: DropReason,
        /// The line to log.
        log: Option<String>,
    },
}
