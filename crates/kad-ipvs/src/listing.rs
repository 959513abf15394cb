//! A table in `ipvsadm -Ln`'s layout, character for character (as ipvsadm 1.31 prints it),
//! sorted as ipvsadm sorts by default: services by fwmark (address services first), family,
//! protocol, address, port; destinations by family, address, port.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

use crate::model::{flags, Dest, Forward, Service, ServiceKey, PROTO_SCTP, PROTO_TCP, PROTO_UDP};

fn endpoint(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V6(a) => format!("[{a}]:{port}"),
        IpAddr::V4(a) => format!("{a}:{port}"),
    }
}

fn forward(f: Forward) -> String {
    match f {
        Forward::Masq => "Masq".into(),
        Forward::Local => "Local".into(),
        Forward::Tunnel => "Tunnel".into(),
        Forward::Route => "Route".into(),
        Forward::Bypass => "Bypass".into(),
        Forward::Unknown(n) => format!("{n}"),
    }
}

/// The scheduler flags as ipvsadm names them for this scheduler.
fn sched_flags(scheduler: &str, f: u32) -> Vec<&'static str> {
    let names: [&'static str; 3] = match scheduler {
        "sh" => ["sh-fallback", "sh-port", "flag-3"],
        "mh" => ["mh-fallback", "mh-port", "flag-3"],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    [flags::SCHED1, flags::SCHED2, flags::SCHED3]
        .iter()
        .zip(names)
        .filter(|(bit, _)| f & **bit != 0)
        .map(|(_, n)| n)
        .collect()
}

/// One service line.
pub fn service_line(s: &Service) -> String {
    let mut line = match &s.key {
        ServiceKey::Addr { proto, addr, port } => {
            let p = match *proto {
                PROTO_TCP => "TCP".to_string(),
                PROTO_UDP => "UDP".to_string(),
                PROTO_SCTP => "SCTP".to_string(),
                n => n.to_string(),
            };
            format!("{p:<4} {} {}", endpoint(*addr, *port), s.scheduler)
        }
        ServiceKey::Fwmark { mark, ipv6 } => {
            let fam = if *ipv6 { " IPv6" } else { "" };
            format!("FWM  {mark}{fam} {}", s.scheduler)
        }
    };
    let sf = sched_flags(&s.scheduler, s.flags);
    if !sf.is_empty() {
        let _ = write!(line, " ({})", sf.join(","));
    }
    if s.flags & flags::PERSISTENT != 0 {
        let _ = write!(line, " persistent {}", s.timeout);
        if s.key.is_ipv6() {
            if s.netmask != 128 {
                let _ = write!(line, " mask {}", s.netmask);
            }
        } else if s.netmask != u32::MAX {
            let _ = write!(line, " mask {}", Ipv4Addr::from(u32::from_be(s.netmask)));
        }
    }
    if let Some(pe) = &s.pe_name {
        let _ = write!(line, " pe {pe}");
    }
    if s.flags & flags::ONEPACKET != 0 {
        line.push_str(" ops");
    }
    line
}

/// ipvsadm's service order.
fn service_order(k: &ServiceKey) -> (u32, bool, u16, Option<IpAddr>, u16) {
    match k {
        ServiceKey::Addr { proto, addr, port } => (0, addr.is_ipv6(), *proto, Some(*addr), *port),
        ServiceKey::Fwmark { mark, ipv6 } => (*mark, *ipv6, 0, None, 0),
    }
}

/// One destination line.
pub fn dest_line(d: &Dest) -> String {
    format!(
        "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
        endpoint(d.addr, d.port),
        forward(d.forward),
        d.weight,
        d.active,
        d.inactive
    )
}

/// The whole listing: header (from `GET_INFO`'s version and table size), then each service
/// followed by its destinations.
pub fn render(version: u32, table_size: u32, entries: &[(Service, Vec<Dest>)]) -> String {
    let mut out = format!(
        "IP Virtual Server version {}.{}.{} (size={table_size})\n\
         Prot LocalAddress:Port Scheduler Flags\n\
         \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        (version >> 16) & 0xff,
        (version >> 8) & 0xff,
        version & 0xff
    );
    let mut sorted: Vec<&(Service, Vec<Dest>)> = entries.iter().collect();
    sorted.sort_by_key(|(s, _)| service_order(&s.key));
    for (s, dests) in sorted {
        out.push_str(&service_line(s));
        out.push('\n');
        let mut dests: Vec<&Dest> = dests.iter().collect();
        dests.sort_by_key(|d| (d.addr.is_ipv6(), d.addr, d.port));
        for d in dests {
            out.push_str(&dest_line(d));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as ipvsadm 1.31 printed them in the ip_vs VM (trailing blanks included).
    #[test]
    fn lines_match_ipvsadm() {
        let v4 = |a: [u8; 4]| IpAddr::from(a);
        let svc = |key, sched: &str, fl, timeout, netmask| Service {
            key,
            scheduler: sched.into(),
            flags: fl,
            timeout,
            netmask,
            pe_name: None,
        };
        let tcp = ServiceKey::Addr {
            proto: PROTO_TCP,
            addr: v4([192, 0, 2, 1]),
            port: 80,
        };
        assert_eq!(
            service_line(&svc(tcp, "rr", 0, 0, u32::MAX)),
            "TCP  192.0.2.1:80 rr"
        );
        let udp = ServiceKey::Addr {
            proto: PROTO_UDP,
            addr: v4([192, 0, 2, 2]),
            port: 53,
        };
        assert_eq!(
            service_line(&svc(
                udp,
                "wlc",
                flags::PERSISTENT | flags::ONEPACKET,
                360,
                u32::from_be_bytes([255, 255, 255, 0]).to_be()
            )),
            "UDP  192.0.2.2:53 wlc persistent 360 mask 255.255.255.0 ops"
        );
        let sctp = ServiceKey::Addr {
            proto: PROTO_SCTP,
            addr: v4([192, 0, 2, 3]),
            port: 9,
        };
        assert_eq!(
            service_line(&svc(sctp, "mh", flags::SCHED2, 0, u32::MAX)),
            "SCTP 192.0.2.3:9 mh (mh-port)"
        );
        let v6 = ServiceKey::Addr {
            proto: PROTO_TCP,
            addr: "2001:db8::1".parse().unwrap(),
            port: 443,
        };
        assert_eq!(
            service_line(&svc(v6, "sh", flags::SCHED1 | flags::SCHED2, 0, 128)),
            "TCP  [2001:db8::1]:443 sh (sh-fallback,sh-port)"
        );
        let fw = ServiceKey::Fwmark {
            mark: 5,
            ipv6: false,
        };
        assert_eq!(
            service_line(&svc(fw, "wlc", flags::PERSISTENT, 360, u32::MAX)),
            "FWM  5 wlc persistent 360"
        );
        let fw6 = ServiceKey::Fwmark {
            mark: 6,
            ipv6: true,
        };
        assert_eq!(service_line(&svc(fw6, "rr", 0, 0, 128)), "FWM  6 IPv6 rr");
        let d = Dest::new(v4([198, 51, 100, 7]), 8080, Forward::Masq, 2);
        assert_eq!(
            dest_line(&d),
            "  -> 198.51.100.7:8080            Masq    2      0          0         "
        );
        let d = Dest::new(v4([198, 51, 100, 9]), 80, Forward::Tunnel, 65535);
        assert_eq!(
            dest_line(&d),
            "  -> 198.51.100.9:80              Tunnel  65535  0          0         "
        );
        let d = Dest::new("2001:db8::2".parse().unwrap(), 443, Forward::Masq, 1);
        assert_eq!(
            dest_line(&d),
            "  -> [2001:db8::2]:443            Masq    1      0          0         "
        );
        assert!(render(0x010201, 4096, &[])
            .starts_with("IP Virtual Server version 1.2.1 (size=4096)\n"));
    }
}
