//! Unsolicited neighbour advertisements for IPv6 virtual addresses, as keepalived 2.2.7 sends
//! them (its captures): from the VIP to ff02::1, hop limit 255, Override flag only, with the
//! target link-layer address option. Sent on a raw ICMPv6 socket (the kernel fills in the
//! checksum; [`message`] computes it too, so the bytes can be compared with the capture).

use crate::packet::{finish, fold};
use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

use socket2::{Domain, Protocol, Socket, Type};

/// All-nodes multicast.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The 32-byte ICMPv6 neighbour advertisement for `target` at `mac`, checksum for `src → dst`.
pub fn message(target: Ipv6Addr, mac: [u8; 6], src: Ipv6Addr, dst: Ipv6Addr) -> [u8; 32] {
    let mut m = [0u8; 32];
    m[0] = 136; // neighbour advertisement
    m[4] = 0x20; // Override
    m[8..24].copy_from_slice(&target.octets());
    m[24] = 2; // target link-layer address option
    m[25] = 1; // 8 bytes
    m[26..32].copy_from_slice(&mac);
    let mut sum = fold(0, &src.octets());
    sum = fold(sum, &dst.octets());
    sum = fold(sum, &(m.len() as u32).to_be_bytes());
    sum = fold(sum, &[0, 0, 0, 58]);
    sum = fold(sum, &m);
    m[2..4].copy_from_slice(&finish(sum).to_be_bytes());
    m
}

/// Sends one unsolicited NA for `vip` (which must already be on the interface) on `ifname`.
pub fn send(ifname: &str, ifindex: u32, mac: [u8; 6], vip: Ipv6Addr) -> io::Result<()> {
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    s.bind_device(Some(ifname.as_bytes()))?;
    s.bind(&SocketAddr::V6(SocketAddrV6::new(vip, 0, 0, 0)).into())?;
    s.set_multicast_if_v6(ifindex)?;
    s.set_multicast_hops_v6(255)?;
    let m = message(vip, mac, vip, ALL_NODES);
    s.send_to(
        &m,
        &SocketAddr::V6(SocketAddrV6::new(ALL_NODES, 0, 0, ifindex)).into(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_keepalived_capture() {
        // ICMPv6 part of the vrrp-v3-ipv6 "na" golden frame.
        let golden = "880035222000000020010db800000000000000000000010002010200c000020b";
        let bytes: Vec<u8> = (0..golden.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&golden[i..i + 2], 16).expect("hex"))
            .collect();
        let vip: Ipv6Addr = "2001:db8::100".parse().expect("ip");
        let m = message(vip, [0x02, 0x00, 0xc0, 0x00, 0x02, 0x0b], vip, ALL_NODES);
        assert_eq!(m.to_vec(), bytes);
    }
}
