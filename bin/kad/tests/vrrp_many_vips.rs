//! 300 VIPs in one instance beside keepalived 2.2.7: an advert carries at most 255 addresses
//! (one count byte), the rest are installed but not advertised, on both daemons alike
//! (docs/reference/keepalived-2.2.7.md section 10). As root; ignored when built with
//! KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24, 198.51.100.0/23 and 2001:db8::/32 inside the
//! test's own namespaces.

mod common;

use std::time::Duration;

use common::lab::*;
use common::*;

/// The 300th VIP: beyond the 255 an advert carries.
const LAST: &str = "198.51.101.49";

/// VRID 51 on eth0 with 300 VIPs: VIP/24, then 198.51.100.1-250 and 198.51.101.1-49 (/32).
fn many(priority: u8) -> String {
    let mut vips = format!("        {VIP}/24\n");
    for i in 0..299 {
        vips.push_str(&format!(
            "        198.51.{}.{}/32\n",
            100 + i / 250,
            i % 250 + 1
        ));
    }
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn many_vips_keepalived_master_kad_backup() {
    as_root();
    let lab = Lab::up();
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &many(150)));
    let kad = lab.kad("2", &lab.config("n2.conf", &many(100)));
    lab.wait_master("1", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(5));
    // The old kad expected all 300 in keepalived's 255-address adverts, dropped every one
    // and became a second master.
    assert!(
        !lab.has_vip("2"),
        "kad heard keepalived's 255-address adverts and stayed backup:\n{}",
        kad.log()
    );
    assert!(!kad.log().contains("dropped"), "{}", kad.log());
    assert!(
        kad.log().contains("excess moved to eVIPs"),
        "kad says what it moved:\n{}",
        kad.log()
    );
    ka.crash();
    sh(&format!(
        "ip -n {} addr flush dev eth0 scope global",
        lab.ns("1")
    ));
    lab.wait_master("2", Duration::from_secs(8));
    wait_until(
        "kad installs the excluded VIPs too",
        Duration::from_secs(10),
        || lab.holds("2", LAST, Some("eth0")),
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn many_vips_kad_master_keepalived_backup() {
    as_root();
    let lab = Lab::up();
    let capture = common::wire::capture_frames(lab.ns("sw"), "v1", 12);
    let _kad = lab.kad("1", &lab.config("n1.conf", &many(150)));
    let ka = lab.keepalived("2", &lab.config("n2.conf", &many(100)));
    lab.wait_master("1", Duration::from_secs(10));
    wait_until("kad installs all 300 VIPs", Duration::from_secs(10), || {
        lab.holds("1", LAST, Some("eth0"))
    });
    std::thread::sleep(Duration::from_secs(4));
    // The old kad's count byte wrapped (44 for 1200 bytes of addresses): keepalived dropped
    // every advert and became a second master.
    assert!(
        !lab.has_vip("2"),
        "keepalived heard kad's adverts and stayed backup:\n{}",
        ka.log()
    );
    let frames = capture.join().expect("capture");
    // IPv4 (0x0800), protocol 112: (IP total length, VRRP address count).
    let adverts: Vec<(u16, u8)> = frames
        .iter()
        .filter(|f| f.get(12..14) == Some(&[0x08, 0x00][..]) && f.get(23) == Some(&112))
        .filter_map(|f| Some((u16::from_be_bytes([*f.get(16)?, *f.get(17)?]), *f.get(37)?)))
        .collect();
    assert!(!adverts.is_empty(), "no advert captured from kad");
    // keepalived 2.2.7 sends the same: 255 addresses, IP length 1056 (VRRP 1036).
    assert!(
        adverts.iter().all(|a| *a == (1056, 255)),
        "kad's adverts (IP length, count): {adverts:?}"
    );
}

/// VRRPv3 over IPv6 with 100 VIPs (VIP6/64, then 2001:db8:1::1-63 /128).
fn many6(priority: u8) -> String {
    let mut vips = format!("        {VIP6}/64\n");
    for i in 1..100 {
        vips.push_str(&format!("        2001:db8:1::{i:x}/128\n"));
    }
    format!(
        "vrrp_instance VI_6 {{\n    version 3\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn many_vips_v3_ipv6_kad_master_keepalived_backup() {
    as_root();
    let lab = Lab::up();
    let capture = common::wire::capture_frames(lab.ns("sw"), "v1", 12);
    let _kad = lab.kad("1", &lab.config("n1.conf", &many6(150)));
    let ka = lab.keepalived("2", &lab.config("n2.conf", &many6(100)));
    lab.wait_master6("1", Duration::from_secs(10));
    wait_until("kad installs all 100 VIPs", Duration::from_secs(10), || {
        lab.holds("1", "2001:db8:1::63", Some("eth0"))
    });
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !lab.has_vip6("2"),
        "keepalived heard kad's adverts and stayed backup:\n{}",
        ka.log()
    );
    let frames = capture.join().expect("capture");
    // IPv6 (0x86dd), next header 112: (payload length, VRRP address count).
    let adverts: Vec<(u16, u8)> = frames
        .iter()
        .filter(|f| f.get(12..14) == Some(&[0x86, 0xdd][..]) && f.get(20) == Some(&112))
        .filter_map(|f| Some((u16::from_be_bytes([*f.get(18)?, *f.get(19)?]), *f.get(57)?)))
        .collect();
    assert!(!adverts.is_empty(), "no advert captured from kad");
    // keepalived 2.2.7 at MTU 1500: 89 addresses, payload 1432 (8 + 89 x 16).
    assert!(
        adverts.iter().all(|a| *a == (1432, 89)),
        "kad's adverts (payload length, count): {adverts:?}"
    );
}
