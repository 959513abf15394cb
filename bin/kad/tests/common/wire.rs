//! Raw frames for the VRRP tests: GARPs captured on a node, VRRPv2 adverts forged and sent
//! from the client namespace.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Moves the calling thread (only) into namespace `ns` and opens an AF_PACKET socket there that
/// receives `proto` (an ETH_P_* number), bound to `ifname` when one is given, with the classic
/// BPF `filter` attached when it is not empty, and a 100 ms receive timeout (so a capture loop
/// sees its deadline).
pub fn packet_socket_in(
    ns: &str,
    proto: u16,
    ifname: Option<&str>,
    filter: &mut [libc::sock_filter],
) -> OwnedFd {
    let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns");
    // SAFETY: setns moves this thread (only) into the test's network namespace; the socket is
    // new and owned here; bind and setsockopt read structs owned here, with their sizes.
    unsafe {
        assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto.to_be()));
        assert!(fd >= 0, "AF_PACKET socket");
        let fd = OwnedFd::from_raw_fd(fd);
        if let Some(ifname) = ifname {
            let name = std::ffi::CString::new(ifname).expect("name");
            let index = libc::if_nametoindex(name.as_ptr());
            assert!(index > 0, "no {ifname} in {ns}");
            let mut at: libc::sockaddr_ll = std::mem::zeroed();
            at.sll_family = libc::AF_PACKET as u16;
            at.sll_protocol = proto.to_be();
            at.sll_ifindex = index as i32;
            let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            let rc = libc::bind(
                fd.as_raw_fd(),
                (&at as *const libc::sockaddr_ll).cast(),
                len,
            );
            assert_eq!(rc, 0, "bind");
        }
        if !filter.is_empty() {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_mut_ptr(),
            };
            let rc = libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&prog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as u32,
            );
            assert_eq!(rc, 0, "filter");
        }
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
        fd
    }
}

/// One frame from `fd` into `buf` (up to the 100 ms timeout): its length and the kernel's
/// packet type (PACKET_OUTGOING for frames the interface sent), or None.
pub fn recv_frame(fd: &OwnedFd, buf: &mut [u8]) -> Option<(usize, u8)> {
    // SAFETY: recvfrom into buffers owned here, with their sizes.
    unsafe {
        let mut from: libc::sockaddr_ll = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        let n = libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            0,
            (&mut from as *mut libc::sockaddr_ll).cast(),
            &mut len,
        );
        usize::try_from(n).ok().map(|n| (n, from.sll_pkttype))
    }
}

/// Captures gratuitous ARPs for `VIP` in namespace `ns` for `secs`: (arrival, frame).
pub fn capture_garps(ns: String, secs: u64) -> std::thread::JoinHandle<Vec<(Instant, Vec<u8>)>> {
    std::thread::spawn(move || {
        let fd = packet_socket_in(&ns, 0x0806, None, &mut []);
        let end = Instant::now() + Duration::from_secs(secs);
        let vip: [u8; 4] = [192, 0, 2, 100];
        let mut got = Vec::new();
        let mut buf = [0u8; 128];
        while Instant::now() < end {
            if let Some((n, _)) = recv_frame(&fd, &mut buf) {
                if n >= 42 && buf[28..32] == vip && buf[38..42] == vip {
                    got.push((Instant::now(), buf[..42].to_vec()));
                }
            }
        }
        got
    })
}

/// Internet checksum (RFC 1071).
pub fn inet_sum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A VRRPv2 advert for VRID `vrid` from 192.0.2.2 to 224.0.0.18 with `auth_type` and no
/// authentication data, IPv4 header (TTL 255, protocol 112) included.
pub fn v2_advert_packet(vrid: u8, priority: u8, auth_type: u8) -> Vec<u8> {
    let mut v = vec![0x21, vrid, priority, 1, auth_type, 1, 0, 0, 192, 0, 2, 100];
    v.extend_from_slice(&[0; 8]);
    let sum = inet_sum(&v);
    v[6..8].copy_from_slice(&sum.to_be_bytes());
    let total = (20 + v.len()) as u16;
    let mut ip = vec![
        0x45, 0xc0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 2, 224, 0, 0, 18,
    ];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&v);
    ip
}

/// Sends `packet` (IPv4 header included) out of eth0 of namespace `ns` as fast as it can,
/// at most `count` times and for at most `secs` seconds; returns how many went out.
pub fn blast(ns: String, packet: Vec<u8>, count: u64, secs: u64) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns");
        // SAFETY: moving this thread (only) into the test's own namespace; a raw socket and
        // sendto on buffers owned here.
        unsafe {
            use std::os::fd::AsRawFd;
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
            let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW);
            assert!(fd >= 0, "raw socket");
            let dev = b"eth0\0";
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                dev.as_ptr().cast(),
                dev.len() as u32,
            );
            let mut to: libc::sockaddr_in = std::mem::zeroed();
            to.sin_family = libc::AF_INET as u16;
            to.sin_addr.s_addr = u32::from_ne_bytes([224, 0, 0, 18]);
            let end = Instant::now() + Duration::from_secs(secs);
            let mut sent = 0u64;
            while sent < count && (!sent.is_multiple_of(1024) || Instant::now() < end) {
                let n = libc::sendto(
                    fd,
                    packet.as_ptr().cast(),
                    packet.len(),
                    0,
                    (&to as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as u32,
                );
                if n > 0 {
                    sent += 1;
                } else if Instant::now() >= end {
                    break;
                }
            }
            libc::close(fd);
            sent
        }
    })
}

/// Captures every frame interface `ifname` of namespace `ns` receives (not those it sends)
/// for `secs`: the first 64 bytes of each (Ethernet header first). On a switch port this is
/// every frame the node behind it sends.
pub fn capture_frames(
    ns: String,
    ifname: &'static str,
    secs: u64,
) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    std::thread::spawn(move || {
        let fd = packet_socket_in(&ns, libc::ETH_P_ALL as u16, Some(ifname), &mut []);
        let end = Instant::now() + Duration::from_secs(secs);
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while Instant::now() < end && got.len() < 100_000 {
            match recv_frame(&fd, &mut buf) {
                Some((n, kind)) if n >= 14 && kind != libc::PACKET_OUTGOING => {
                    got.push(buf[..n.min(64)].to_vec());
                }
                _ => {}
            }
        }
        got
    })
}
