//! Raw VRRP sockets (IP protocol 112) for IPv4, and the IPv4 header check on receive.
//!
//! Like keepalived, one socket receives (bound to the interface, joined to the multicast group)
//! and one sends (bound to the interface and the primary address, TTL 255, TOS 0xc0 as
//! keepalived's captures show, no multicast loop).

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

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

/// Checks an IPv4 header as a raw socket hands it over; `None` if it is not a sane VRRP packet.
pub fn parse_ipv4(packet: &[u8]) -> Option<Ipv4Meta> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if ihl < 20 || total < ihl || total > packet.len() || packet[9] != PROTO_VRRP {
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

/// The VRRP sockets of one interface (IPv4).
pub struct Vrrp4 {
    rx: Socket,
    tx: Socket,
}

impl Vrrp4 {
    /// Opens the sockets on `ifname` with source `src`, joined to `group`.
    pub fn open(ifname: &str, ifindex: u32, src: Ipv4Addr, group: Ipv4Addr) -> io::Result<Vrrp4> {
        let proto = Some(Protocol::from(i32::from(PROTO_VRRP)));
        let rx = Socket::new(Domain::IPV4, Type::RAW, proto)?;
        rx.bind_device(Some(ifname.as_bytes()))?;
        rx.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))?;
        rx.set_nonblocking(true)?;
        rx.set_cloexec(true)?;
        let tx = Socket::new(Domain::IPV4, Type::RAW, proto)?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        tx.bind(&SocketAddr::new(IpAddr::V4(src), 0).into())?;
        tx.set_multicast_if_v4(&src)?;
        tx.set_multicast_ttl_v4(255)?;
        tx.set_ttl_v4(255)?;
        tx.set_multicast_loop_v4(false)?;
        tx.set_tos_v4(0xc0)?;
        tx.set_nonblocking(true)?;
        tx.set_cloexec(true)?;
        Ok(Vrrp4 { rx, tx })
    }

    /// Sends a VRRP message to `dst`.
    pub fn send(&self, dst: Ipv4Addr, msg: &[u8]) -> io::Result<()> {
        self.tx
            .send_to(msg, &SocketAddr::new(IpAddr::V4(dst), 0).into())
            .map(|_| ())
    }

    /// Reads one packet (IP header included) into `buf`; `Ok(None)` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match (&self.rx).read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
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
        let m = parse_ipv4(&pkt).expect("valid");
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
        assert!(parse_ipv4(&pkt[..19]).is_none());
        let mut bad = pkt.clone();
        bad[9] = 17;
        assert!(parse_ipv4(&bad).is_none(), "not VRRP");
        let mut bad = pkt.clone();
        bad[3] = 0xff;
        assert!(parse_ipv4(&bad).is_none(), "total length beyond the buffer");
        let mut bad = pkt;
        bad[0] = 0x43;
        assert!(parse_ipv4(&bad).is_none(), "header length below 20");
    }
}
