//! Receiving IPv4 VRRP (or AH) on a vmac without an IP multicast join.
//!
//! Joining 224.0.0.18 on the vmac at the IP level makes the kernel send IGMP reports from
//! the vmac, with the virtual MAC as source: a BACKUP would teach the switches that the VIP's
//! MAC lives on it. keepalived 2.2.7 moves those reports onto the base interface with an
//! nftables rule; kad instead never joins at the IP level on a vmac: it reads the vmac with an
//! AF_PACKET socket (SOCK_DGRAM, so each read is one IPv4 packet, as from a raw IP socket),
//! filtered in the kernel to incoming packets of one IP protocol, and adds the group's MAC
//! (01:00:5e:…) to the vmac's receive filter with PACKET_ADD_MEMBERSHIP, which sends nothing.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd};

use socket2::Socket;

const ETH_P_IP: u16 = 0x0800;

/// Classic BPF: drop our own outgoing packets, frames for another host's MAC, and anything
/// but IP protocol `proto`.
fn filter(proto: u8) -> [libc::sock_filter; 7] {
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let pkttype = (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32;
    [
        op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, pkttype),
        op(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            4,
            0,
            u32::from(libc::PACKET_OUTGOING),
        ),
        op(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            3,
            0,
            u32::from(libc::PACKET_OTHERHOST),
        ),
        // The IPv4 header's protocol byte (a SOCK_DGRAM filter sees the network header).
        op(libc::BPF_LD | libc::BPF_B | libc::BPF_ABS, 0, 0, 9),
        op(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            0,
            1,
            u32::from(proto),
        ),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0xffff),
        op(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
    ]
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// An AF_PACKET socket on interface `ifindex` that reads the IPv4 packets of protocol `proto`
/// it receives (non-blocking, close-on-exec).
pub fn open(ifindex: u32, proto: u8) -> io::Result<Socket> {
    let eth = i32::from(ETH_P_IP.to_be());
    // SAFETY: plain socket calls on a descriptor owned from here on by the returned Socket;
    // every structure passed is owned by this frame and given with its exact size.
    unsafe {
        let fd = libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            eth,
        );
        check(fd)?;
        let sock = Socket::from_raw_fd(fd);
        let prog = filter(proto);
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr().cast_mut(),
        };
        check(libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        ))?;
        let mut at: libc::sockaddr_ll = std::mem::zeroed();
        at.sll_family = libc::AF_PACKET as u16;
        at.sll_protocol = ETH_P_IP.to_be();
        at.sll_ifindex = ifindex as i32;
        check(libc::bind(
            fd,
            (&at as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        ))?;
        Ok(sock)
    }
}

/// Adds the MAC of IPv4 group `group` to interface `ifindex`'s receive filter for `sock`
/// (no IGMP report; undone when the socket closes).
pub fn join(sock: &Socket, ifindex: u32, group: Ipv4Addr) -> io::Result<()> {
    let g = group.octets();
    let mut mreq = libc::packet_mreq {
        mr_ifindex: ifindex as i32,
        mr_type: libc::PACKET_MR_MULTICAST as u16,
        mr_alen: 6,
        mr_address: [0; 8],
    };
    mreq.mr_address[..6].copy_from_slice(&[0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]]);
    // SAFETY: setsockopt reads the packet_mreq owned by this frame.
    check(unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            (&mreq as *const libc::packet_mreq).cast(),
            std::mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
        )
    })
}
