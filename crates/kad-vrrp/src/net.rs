//! Raw VRRP sockets (IP protocol 112) for IPv4 and IPv6, and the IPv4 header check on receive.
//!
//! Like keepalived, one socket receives (bound to the interface, joined to the multicast group)
//! and one sends (bound to the interface and the primary address, TTL 255 or `unicast_ttl`, TOS 0xc0 as
//! keepalived's captures show, no multicast loop). An IPv4 link with an `auth_type AH`
//! instance also gets one raw socket for IP protocol 51 (AH) that receives and, with
//! IP_HDRINCL, sends: the AH ICV covers the IPv4 header, so kad writes that header itself.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::AsRawFd;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use crate::ah::PROTO_AH;
use crate::packet::PROTO_VRRP;

/// A received IPv4 packet's header facts and where the VRRP message starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Meta {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// TTL (VRRP requires 255).
    pub ttl: u8,
    /// Offset of the payload.
    pub payload_at: usize,
    /// End of the payload (from the total length).
    pub payload_end: usize,
}

/// Checks an IPv4 header as a raw socket hands it over; `None` if it is not a sane packet of
/// IP protocol `proto`.
pub fn parse_ipv4(packet: &[u8], proto: u8) -> Option<Ipv4Meta> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if ihl < 20 || total < ihl || total > packet.len() || packet[9] != proto {
        return None;
    }
    Some(Ipv4Meta {
        src: Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]),
        dst: Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]),
        ttl: packet[8],
        payload_at: ihl,
        payload_end: total,
    })
}

/// True if the IPv4 header at the start of `packet` (length from its IHL) checksums to 0. A raw
/// socket never delivers a header that fails (the kernel checks it); an AF_PACKET socket on a
/// vmac does not check, so [`Vrrp4`] checks what it reads there.
pub fn ipv4_header_checksum_ok(packet: &[u8]) -> bool {
    let ihl = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
    packet
        .get(..ihl)
        .filter(|h| h.len() >= 20)
        .is_some_and(|h| crate::packet::internet_checksum(h) == 0)
}

/// Reads from a vmac's AF_PACKET socket: a frame whose IPv4 header checksum fails is handed on
/// empty, so the engine drops and counts it as a bad IP header.
fn recv_checked(sock: &Socket, buf: &mut [u8]) -> io::Result<Option<usize>> {
    Ok(recv_on(sock, buf)?.map(|n| {
        if buf.get(..n).is_some_and(ipv4_header_checksum_ok) {
            n
        } else {
            0
        }
    }))
}

/// The VRRP sockets of one interface (IPv4).
pub struct Vrrp4 {
    rx: Socket,
    tx: Socket,
    /// Protocol 51, opened by [`Vrrp4::open_ah`]: receives AH adverts, sends with IP_HDRINCL.
    ah: Option<Socket>,
    /// On a vmac: the AH receiver ([`crate::vmac_rx`]); `ah` then only sends.
    ah_rx: Option<Socket>,
    /// The interface is a vmac: multicast is received with [`crate::vmac_rx`] sockets, which
    /// join groups without an IGMP report from the virtual MAC.
    vmac: bool,
}

fn recv_on(sock: &Socket, buf: &mut [u8]) -> io::Result<Option<usize>> {
    match (&*sock).read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

impl Vrrp4 {
    /// Opens the sockets on `ifname` with source `src`, joined to `group` if one is given
    /// (unicast-only instances join nothing); `vmac` when the interface is a vmac.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        src: Ipv4Addr,
        group: Option<Ipv4Addr>,
        vmac: bool,
    ) -> io::Result<Vrrp4> {
        let proto = Some(Protocol::from(i32::from(PROTO_VRRP)));
        let rx = if vmac {
            crate::vmac_rx::open(ifindex, PROTO_VRRP)?
        } else {
            let rx = Socket::new(Domain::IPV4, Type::RAW, proto)?;
            rx.bind_device(Some(ifname.as_bytes()))?;
            rx.set_nonblocking(true)?;
            rx.set_cloexec(true)?;
            rx
        };
        if let Some(group) = group {
            join_on(&rx, vmac, ifindex, group)?;
        }
        let tx = Socket::new(Domain::IPV4, Type::RAW, proto)?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        tx.bind(&SocketAddr::new(IpAddr::V4(src), 0).into())?;
        // Bound to the device, the socket's multicast leaves through it; IP_MULTICAST_IF by
        // address would name another device when `src` belongs to the base of a vmac.
        tx.set_multicast_ttl_v4(255)?;
        tx.set_ttl_v4(255)?;
        tx.set_multicast_loop_v4(false)?;
        tx.set_tos_v4(0xc0)?;
        tx.set_nonblocking(true)?;
        tx.set_cloexec(true)?;
        Ok(Vrrp4 {
            rx,
            tx,
            ah: None,
            ah_rx: None,
            vmac,
        })
    }

    /// Opens the AH socket (once; later calls only join `group`) and returns its descriptor
    /// when it was opened now, for the poll loop.
    pub fn open_ah(
        &mut self,
        ifname: &str,
        ifindex: u32,
        group: Option<Ipv4Addr>,
    ) -> io::Result<Option<std::os::fd::RawFd>> {
        if let Some(ah) = &self.ah {
            if let Some(group) = group {
                join_on(self.ah_rx.as_ref().unwrap_or(ah), self.vmac, ifindex, group)?;
            }
            return Ok(None);
        }
        let ah = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(PROTO_AH))),
        )?;
        ah.bind_device(Some(ifname.as_bytes()))?;
        ah.set_header_included_v4(true)?;
        ah.set_multicast_loop_v4(false)?;
        ah.set_nonblocking(true)?;
        ah.set_cloexec(true)?;
        let rx = if self.vmac {
            let rx = crate::vmac_rx::open(ifindex, PROTO_AH)?;
            let fd = rx.as_raw_fd();
            self.ah_rx = Some(rx);
            fd
        } else {
            ah.as_raw_fd()
        };
        if let Some(group) = group {
            join_on(
                self.ah_rx.as_ref().unwrap_or(&ah),
                self.vmac,
                ifindex,
                group,
            )?;
        }
        self.ah = Some(ah);
        Ok(Some(rx))
    }

    /// Sends a whole IPv4 packet (header included) on the AH socket.
    pub fn send_ah(&self, dst: Ipv4Addr, packet: &[u8]) -> io::Result<()> {
        let Some(ah) = &self.ah else {
            return Err(io::Error::other("no AH socket on this link"));
        };
        ah.send_to(packet, &SocketAddr::new(IpAddr::V4(dst), 0).into())
            .map(|_| ())
    }

    /// Reads one AH packet (IP header included); `Ok(None)` when nothing is waiting.
    pub fn recv_ah(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match (self.ah_rx.as_ref(), self.ah.as_ref()) {
            (Some(vmac_rx), _) => recv_checked(vmac_rx, buf),
            (None, Some(ah)) => recv_on(ah, buf),
            (None, None) => Ok(None),
        }
    }

    /// Joins `group` later (a multicast instance on a link a unicast one opened).
    pub fn join(&self, ifindex: u32, group: Ipv4Addr) -> io::Result<()> {
        join_on(&self.rx, self.vmac, ifindex, group)?;
        match self.ah_rx.as_ref().or(self.ah.as_ref()) {
            Some(ah) => join_on(ah, self.vmac, ifindex, group),
            None => Ok(()),
        }
    }

    /// Sends a VRRP message to `dst`; a unicast `dst` gets TTL `ttl` (`unicast_ttl`), a
    /// multicast one the socket's multicast TTL 255.
    pub fn send(&self, dst: Ipv4Addr, ttl: u8, msg: &[u8]) -> io::Result<()> {
        if !dst.is_multicast() && self.tx.ttl_v4()? != u32::from(ttl) {
            self.tx.set_ttl_v4(u32::from(ttl))?;
        }
        self.tx
            .send_to(msg, &SocketAddr::new(IpAddr::V4(dst), 0).into())
            .map(|_| ())
    }

    /// Reads one packet (IP header included) into `buf`; `Ok(None)` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if self.vmac {
            recv_checked(&self.rx, buf)
        } else {
            recv_on(&self.rx, buf)
        }
    }

    /// The receive socket's descriptor, for the poll loop.
    pub fn rx_fd(&self) -> std::os::fd::RawFd {
        self.rx.as_raw_fd()
    }
}

/// Joins `group` on `sock`: at the link level on a vmac ([`crate::vmac_rx::join`]), else at
/// the IP level.
fn join_on(sock: &Socket, vmac: bool, ifindex: u32, group: Ipv4Addr) -> io::Result<()> {
    if vmac {
        crate::vmac_rx::join(sock, ifindex, group)
    } else {
        join4(sock, ifindex, group)
    }
}

/// Joins `group` on `sock` (already joined is fine).
fn join4(sock: &Socket, ifindex: u32, group: Ipv4Addr) -> io::Result<()> {
    match sock.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex)) {
        Err(e) if e.raw_os_error() != Some(libc::EADDRINUSE) => Err(e),
        _ => Ok(()),
    }
}

/// What a received IPv6 VRRP packet's ancillary data says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Meta {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address (from IPV6_PKTINFO).
    pub dst: Ipv6Addr,
    /// Hop limit (VRRP requires 255).
    pub hop_limit: u8,
    /// Length of the VRRP message.
    pub len: usize,
}

/// The VRRP sockets of one interface (IPv6): the kernel strips the IPv6 header, so the source,
/// destination and hop limit come from recvmsg.
pub struct Vrrp6 {
    rx: Socket,
    tx: Socket,
    ifindex: u32,
}

fn set_int_opt(sock: &Socket, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: setsockopt reads one c_int we own.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Vrrp6 {
    /// Opens the sockets on `ifname` with source `src`, joined to `group` if one is given.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        src: Ipv6Addr,
        group: Option<Ipv6Addr>,
    ) -> io::Result<Vrrp6> {
        let proto = Some(Protocol::from(i32::from(PROTO_VRRP)));
        let rx = Socket::new(Domain::IPV6, Type::RAW, proto)?;
        rx.bind_device(Some(ifname.as_bytes()))?;
        if let Some(group) = group {
            rx.join_multicast_v6(&group, ifindex)?;
        }
        set_int_opt(&rx, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        set_int_opt(&rx, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
        rx.set_nonblocking(true)?;
        rx.set_cloexec(true)?;
        let tx = Socket::new(Domain::IPV6, Type::RAW, proto)?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        tx.bind(&SocketAddr::V6(SocketAddrV6::new(src, 0, 0, ifindex)).into())?;
        tx.set_multicast_if_v6(ifindex)?;
        tx.set_multicast_hops_v6(255)?;
        tx.set_unicast_hops_v6(255)?;
        tx.set_multicast_loop_v6(false)?;
        set_int_opt(&tx, libc::IPPROTO_IPV6, libc::IPV6_TCLASS, 0xc0)?;
        tx.set_nonblocking(true)?;
        tx.set_cloexec(true)?;
        Ok(Vrrp6 { rx, tx, ifindex })
    }

    /// Joins `group` later (see [`Vrrp4::join`]).
    pub fn join(&self, group: Ipv6Addr) -> io::Result<()> {
        match self.rx.join_multicast_v6(&group, self.ifindex) {
            Err(e) if e.raw_os_error() != Some(libc::EADDRINUSE) => Err(e),
            _ => Ok(()),
        }
    }

    /// Sends a VRRP message to `dst` on this interface; a unicast `dst` gets hop limit `ttl`
    /// (`unicast_ttl`), a multicast one the socket's multicast hop limit 255.
    pub fn send(&self, dst: Ipv6Addr, ttl: u8, msg: &[u8]) -> io::Result<()> {
        if !dst.is_multicast() && self.tx.unicast_hops_v6()? != u32::from(ttl) {
            self.tx.set_unicast_hops_v6(u32::from(ttl))?;
        }
        self.tx
            .send_to(
                msg,
                &SocketAddr::V6(SocketAddrV6::new(dst, 0, 0, self.ifindex)).into(),
            )
            .map(|_| ())
    }

    /// Reads one VRRP message into `buf`; `Ok(None)` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Ipv6Meta>> {
        // SAFETY: all structures below are plain data owned by this frame; recvmsg writes at
        // most the lengths given; control messages are walked with the CMSG_* macros within
        // msg_controllen.
        unsafe {
            let mut from: libc::sockaddr_in6 = std::mem::zeroed();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut control = [0u64; 16];
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as u32;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control);
            let n = libc::recvmsg(self.rx.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT);
            if n < 0 {
                let e = io::Error::last_os_error();
                return if e.kind() == io::ErrorKind::WouldBlock {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
            let mut dst = Ipv6Addr::UNSPECIFIED;
            let mut hop_limit = 0u8;
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                let c = &*cmsg;
                if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
                    let info: libc::in6_pktinfo =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    dst = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                } else if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_HOPLIMIT {
                    let v: i32 = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    hop_limit = v.clamp(0, 255) as u8;
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
            Ok(Some(Ipv6Meta {
                src: Ipv6Addr::from(from.sin6_addr.s6_addr),
                dst,
                hop_limit,
                len: n as usize,
            }))
        }
    }

    /// The receive socket's descriptor, for the poll loop.
    pub fn rx_fd(&self) -> std::os::fd::RawFd {
        self.rx.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checks() {
        // From keepalived's v2 capture (Ethernet header removed).
        let pkt: Vec<u8> = [
            0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x87, 192, 0, 2, 11,
            224, 0, 0, 18,
        ]
        .into_iter()
        .chain([0u8; 20])
        .collect();
        let m = parse_ipv4(&pkt, PROTO_VRRP).expect("valid");
        assert_eq!(
            (m.src, m.dst, m.ttl, m.payload_at, m.payload_end),
            (
                Ipv4Addr::new(192, 0, 2, 11),
                Ipv4Addr::new(224, 0, 0, 18),
                255,
                20,
                40
            )
        );
        assert!(parse_ipv4(&pkt[..19], PROTO_VRRP).is_none());
        let mut bad = pkt.clone();
        bad[9] = 17;
        assert!(parse_ipv4(&bad, PROTO_VRRP).is_none(), "not VRRP");
        let mut bad = pkt.clone();
        bad[3] = 0xff;
        assert!(
            parse_ipv4(&bad, PROTO_VRRP).is_none(),
            "total length beyond the buffer"
        );
        let mut bad = pkt.clone();
        bad[0] = 0x43;
        assert!(
            parse_ipv4(&bad, PROTO_VRRP).is_none(),
            "header length below 20"
        );
        // The captured header's checksum holds; one flipped bit, a short or empty one does not.
        assert!(ipv4_header_checksum_ok(&pkt));
        let mut bad = pkt.clone();
        bad[8] ^= 1;
        assert!(!ipv4_header_checksum_ok(&bad));
        assert!(!ipv4_header_checksum_ok(&pkt[..19]));
        assert!(!ipv4_header_checksum_ok(&[]));
    }
}
