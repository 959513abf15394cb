//! IPVS against a real ip_vs kernel: each test re-runs itself inside a throw-away qemu VM
//! (tests/ipvs-vm/run-in-vm; the guest sees this machine's files) and checks the kernel's
//! table with ipvsadm there. Ignored (not passed) when built with KAD_SYSTEM_TESTS=0.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use common::vm::{inside_vm, ipvsadm};
use common::*;
use kad_ipvs::model::{
    flags, Dest, Forward, Service, ServiceKey, Table, PROTO_SCTP, PROTO_TCP, PROTO_UDP,
};
use kad_ipvs::{reconcile, Change, Ipvs};

/// Starts `kad -n -l -C` on `config` in a fresh directory (in the guest); returns the process,
/// the directory and the config path.
fn start_checker(
    name: &str,
    config: &str,
) -> (std::process::Child, std::path::PathBuf, std::path::PathBuf) {
    let kad_bin = std::env::var("KAD_BIN").expect("KAD_BIN");
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("kad.conf");
    std::fs::write(&conf, config).expect("config");
    let log = std::fs::File::create(dir.join("kad.log")).expect("log");
    let kad = Command::new(&kad_bin)
        .args(["-n", "-l", "-C", "-f"])
        .arg(&conf)
        .stderr(log)
        .spawn()
        .expect("kad");
    (kad, dir, conf)
}

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::from(a)
}

fn svc(key: ServiceKey, sched: &str, fl: u32, timeout: u32, netmask: u32) -> Service {
    Service {
        key,
        scheduler: sched.into(),
        flags: fl,
        timeout,
        netmask,
        pe_name: None,
    }
}

fn tcp(last: u8, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        proto: PROTO_TCP,
        addr: v4([192, 0, 2, last]),
        port,
    }
}

/// kad's listing of the kernel table, as `kad --list-ipvs` prints it.
fn kad_listing(ipvs: &mut Ipvs) -> String {
    let (version, size) = ipvs.info().expect("info");
    kad_ipvs::listing::render(version, size, &ipvs.list().expect("list"))
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn every_netlink_command_against_the_kernel() {
    if !inside_vm("every_netlink_command_against_the_kernel") {
        return;
    }
    let mut ipvs = Ipvs::open().expect("IPVS family");
    assert_eq!(ipvs.info().expect("info").0, 0x010201);
    ipvs.flush().expect("flush");
    let udp = ServiceKey::Addr {
        proto: PROTO_UDP,
        addr: v4([192, 0, 2, 2]),
        port: 53,
    };
    let sctp = ServiceKey::Addr {
        proto: PROTO_SCTP,
        addr: v4([192, 0, 2, 3]),
        port: 9,
    };
    let v6 = ServiceKey::Addr {
        proto: PROTO_TCP,
        addr: "2001:db8::1".parse().unwrap(),
        port: 443,
    };
    let fw = ServiceKey::Fwmark {
        mark: 5,
        ipv6: false,
    };
    let fw6 = ServiceKey::Fwmark {
        mark: 6,
        ipv6: true,
    };
    let mask24 = u32::from_ne_bytes([255, 255, 255, 0]);
    let services = [
        svc(tcp(1, 80), "rr", 0, 0, u32::MAX),
        svc(
            udp.clone(),
            "wlc",
            flags::PERSISTENT | flags::ONEPACKET,
            360,
            mask24,
        ),
        svc(sctp, "mh", flags::SCHED2, 0, u32::MAX),
        svc(v6.clone(), "sh", flags::SCHED1 | flags::SCHED2, 0, 128),
        svc(fw.clone(), "wlc", flags::PERSISTENT, 360, u32::MAX),
        svc(fw6, "rr", 0, 0, 128),
    ];
    for s in &services {
        ipvs.apply(&Change::AddService(s.clone()))
            .expect("add service");
    }
    let mut thresholds = Dest::new(v4([198, 51, 100, 8]), 80, Forward::Route, 0);
    thresholds.upper = 100;
    thresholds.lower = 10;
    let dests = [
        (
            tcp(1, 80),
            Dest::new(v4([198, 51, 100, 7]), 8080, Forward::Masq, 2),
        ),
        (tcp(1, 80), thresholds),
        (
            tcp(1, 80),
            Dest::new(v4([198, 51, 100, 9]), 80, Forward::Tunnel, 65535),
        ),
        (udp, Dest::new(v4([198, 51, 100, 10]), 53, Forward::Masq, 1)),
        (
            v6,
            Dest::new("2001:db8::2".parse().unwrap(), 443, Forward::Masq, 1),
        ),
        (fw, Dest::new(v4([198, 51, 100, 11]), 0, Forward::Route, 1)),
    ];
    for (k, d) in &dests {
        ipvs.apply(&Change::AddDest(k.clone(), d.clone()))
            .expect("add dest");
    }
    // kad's reading of the table, printed as ipvsadm prints it, character for character.
    let theirs = ipvsadm(&["-Ln"]);
    print!("{theirs}");
    assert_eq!(kad_listing(&mut ipvs), theirs);
    let kad_bin = std::env::var("KAD_BIN").expect("KAD_BIN");
    let out = Command::new(&kad_bin)
        .arg("--list-ipvs")
        .output()
        .expect("kad --list-ipvs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), theirs);
    // Everything read back as written (thresholds too, which -Ln does not show).
    let table = ipvs.table().expect("table");
    assert_eq!(table.services.len(), services.len());
    for s in &services {
        assert_eq!(&table.services[&s.key].0, s);
    }
    for (k, d) in &dests {
        assert_eq!(&table.services[k].1[&(d.addr, d.port)], d);
    }
    assert!(ipvsadm(&["-Ln", "--thresholds"]).contains("100        10"));

    // Edit a service and a destination, delete a destination and a service.
    ipvs.apply(&Change::EditService(svc(tcp(1, 80), "wrr", 0, 0, u32::MAX)))
        .expect("edit service");
    let mut heavier = dests[0].1.clone();
    heavier.weight = 7;
    ipvs.apply(&Change::EditDest(tcp(1, 80), heavier))
        .expect("edit dest");
    ipvs.apply(&Change::DelDest(tcp(1, 80), dests[2].1.clone()))
        .expect("del dest");
    ipvs.apply(&Change::DelService(services[2].key.clone()))
        .expect("del service");
    let after = ipvsadm(&["-Ln"]);
    assert!(
        after.contains("TCP  192.0.2.1:80 wrr\n  -> 198.51.100.7:8080            Masq    7 "),
        "{after}"
    );
    assert!(!after.contains("198.51.100.9:80"), "{after}");
    assert!(!after.contains("SCTP"), "{after}");
    assert_eq!(kad_listing(&mut ipvs), after);
    // A duplicate add is refused with the kernel's error, not a panic.
    assert!(ipvs
        .apply(&Change::AddService(services[0].clone()))
        .is_err());
    ipvs.flush().expect("flush");
    assert_eq!(ipvsadm(&["-Ln"]).lines().count(), 3);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn reconcile_applies_minimal_changes_to_kads_services_only() {
    if !inside_vm("reconcile_applies_minimal_changes_to_kads_services_only") {
        return;
    }
    let mut ipvs = Ipvs::open().expect("IPVS family");
    ipvs.flush().expect("flush");
    ipvsadm(&["-A", "-t", "192.0.2.99:80", "-s", "rr"]);
    ipvsadm(&["-a", "-t", "192.0.2.99:80", "-r", "198.51.100.99:80", "-g"]);
    let mut want = Table::default();
    for last in 1..=3u8 {
        want.add_service(svc(tcp(last, 80), "wlc", 0, 0, u32::MAX));
        for r in 1..=4u8 {
            want.add_dest(
                &tcp(last, 80),
                Dest::new(v4([198, 51, 100, r]), 80, Forward::Route, 1),
            );
        }
    }
    let kernel = ipvs.table().expect("table");
    let first = reconcile(&want, &kernel, &BTreeSet::new());
    assert_eq!(first.len(), 3 + 12);
    assert_eq!(ipvs.apply_all(&first), 0);
    // In one batch, a refused change (a duplicate) does not stop the others.
    let extra = svc(tcp(50, 80), "rr", 0, 0, u32::MAX);
    let batch = [
        Change::AddService(svc(tcp(1, 80), "wlc", 0, 0, u32::MAX)),
        Change::AddService(extra),
    ];
    assert_eq!(ipvs.apply_all(&batch), 1);
    assert!(ipvsadm(&["-Ln"]).contains("TCP  192.0.2.50:80 rr"));
    // Now: one weight changes, one service goes away.
    let owned: BTreeSet<_> = want.services.keys().cloned().collect();
    let mut next = want.clone();
    next.services.remove(&tcp(3, 80));
    next.add_dest(
        &tcp(1, 80),
        Dest::new(v4([198, 51, 100, 2]), 80, Forward::Route, 0),
    );
    let kernel = ipvs.table().expect("table");
    let changes = reconcile(&next, &kernel, &owned);
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(ipvs.apply_all(&changes), 0);
    let kernel = ipvs.table().expect("table");
    assert!(reconcile(&next, &kernel, &owned).is_empty());
    let text = ipvsadm(&["-Ln"]);
    assert!(
        text.contains("TCP  192.0.2.99:80 rr"),
        "the foreign service stays: {text}"
    );
    assert!(!text.contains("192.0.2.3:80"), "{text}");
    assert_eq!(
        ipvs.apply_all(&kad_ipvs::reconcile::remove_owned(&kernel, &owned)),
        0
    );
    let text = ipvsadm(&["-Ln"]);
    assert!(
        text.contains("192.0.2.99:80") && !text.contains("192.0.2.1:80"),
        "{text}"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn the_daemon_drives_ipvs_from_its_checks() {
    if !inside_vm("the_daemon_drives_ipvs_from_its_checks") {
        return;
    }
    ipvsadm(&["-C"]);
    ipvsadm(&["-A", "-t", "192.0.2.99:80", "-s", "rr"]);
    let mut plain = Server::start(0, accept_only());
    let mut inhibited = Server::start(0, accept_only());
    let (a, b) = (plain.port, inhibited.port);
    let (mut kad, dir, _) = start_checker(
        "kad-ipvs-daemon",
        &format!(
            "virtual_server 192.0.2.1 80 {{\n  protocol TCP\n  delay_loop 1\n  lb_algo wrr\n  lb_kind NAT\n\
               real_server 127.0.0.1 {a} {{\n    weight 2\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n\
               real_server 127.0.0.2 {b} {{\n    inhibit_on_failure\n    TCP_CHECK {{\n      connect_ip 127.0.0.1\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n"
        ),
    );
    let show = || ipvsadm(&["-Ln"]);
    let dest_a = format!("127.0.0.1:{a}");
    let dest_b = format!("127.0.0.2:{b}");
    let flip = Duration::from_secs(30);
    wait_until("both destinations", flip, || {
        let t = show();
        t.contains("TCP  192.0.2.1:80 wrr")
            && t.contains(&format!("{dest_a:<28} Masq    2 "))
            && t.contains(&dest_b)
    });
    plain.stop();
    inhibited.stop();
    wait_until("a removed, b at weight 0", flip, || {
        let t = show();
        !t.contains(&dest_a) && t.contains(&format!("{dest_b:<28} Masq    0 "))
    });
    let _plain = Server::start(a, accept_only());
    let _inhibited = Server::start(b, accept_only());
    wait_until("both back", flip, || {
        let t = show();
        t.contains(&format!("{dest_a:<28} Masq    2 "))
            && t.contains(&format!("{dest_b:<28} Masq    1 "))
    });
    // SIGTERM: kad's service goes, the foreign one stays.
    signal(kad.id(), libc::SIGTERM);
    let status = kad.wait().expect("wait");
    assert!(status.success(), "{status}");
    let t = show();
    assert!(
        !t.contains("192.0.2.1:80") && t.contains("192.0.2.99:80"),
        "{t}"
    );
    let log = std::fs::read_to_string(dir.join("kad.log")).unwrap_or_default();
    assert!(!log.contains("IPVS not available"), "{log}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn groups_fwmarks_and_reloads_reach_the_kernel() {
    if !inside_vm("groups_fwmarks_and_reloads_reach_the_kernel") {
        return;
    }
    let kad_bin = std::env::var("KAD_BIN").expect("KAD_BIN");
    ipvsadm(&["-C"]);
    ipvsadm(&["-A", "-u", "192.0.2.99:53", "-s", "rr"]);
    let one = Server::start(0, accept_only());
    let two = Server::start(0, accept_only());
    let rs = |port: u16| {
        format!("  real_server 127.0.0.1 {port} {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n")
    };
    // NAT: both real servers share an address, so under DR or TUN (the service's port for
    // every destination) they would be one destination.
    let config = |servers: String| {
        format!(
            "virtual_server_group web {{\n  192.0.2.10-11 80\n  fwmark 7\n}}\n\
             virtual_server group web {{\n  protocol TCP\n  delay_loop 1\n  lb_algo sh\n  lb_kind NAT\n  persistence_timeout 120\n  sh-port\n{servers}}}\n"
        )
    };
    let (mut kad, _, conf) =
        start_checker("kad-ipvs-groups", &config(rs(one.port) + &rs(two.port)));
    let flip = Duration::from_secs(30);
    let a = format!("127.0.0.1:{}", one.port);
    let b = format!("127.0.0.1:{}", two.port);
    wait_until("three services with two destinations each", flip, || {
        let t = ipvsadm(&["-Ln"]);
        t.matches(&a).count() == 3 && t.matches(&b).count() == 3
    });
    let t = ipvsadm(&["-Ln"]);
    for line in [
        "TCP  192.0.2.10:80 sh (sh-port) persistent 120",
        "TCP  192.0.2.11:80 sh (sh-port) persistent 120",
        "FWM  7 sh (sh-port) persistent 120",
    ] {
        assert!(t.contains(line), "{line} missing in\n{t}");
    }
    let out = Command::new(&kad_bin)
        .arg("--list-ipvs")
        .output()
        .expect("kad --list-ipvs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), t);
    // Reload without the second real server: it leaves all three services, nothing else moves.
    std::fs::write(&conf, config(rs(one.port))).expect("config");
    signal(kad.id(), libc::SIGHUP);
    wait_until("the second destination gone", flip, || {
        let t = ipvsadm(&["-Ln"]);
        t.matches(&b).count() == 0 && t.matches(&a).count() == 3
    });
    assert!(ipvsadm(&["-Ln"]).contains("UDP  192.0.2.99:53 rr"));
    signal(kad.id(), libc::SIGTERM);
    assert!(kad.wait().expect("wait").success());
    let t = ipvsadm(&["-Ln"]);
    assert!(
        !t.contains("192.0.2.10") && !t.contains("FWM") && t.contains("192.0.2.99:53"),
        "{t}"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn kadctl_drain_and_weight_reach_the_kernel_without_a_reload() {
    if !inside_vm("kadctl_drain_and_weight_reach_the_kernel_without_a_reload") {
        return;
    }
    let kadctl = std::env::var("KAD_CTL_BIN").expect("KAD_CTL_BIN");
    let kad_bin = std::env::var("KAD_BIN").expect("KAD_BIN");
    let dir = std::env::temp_dir().join("kad-ipvs-kadctl");
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("kad.conf");
    let sock = dir.join("kad.sock");
    std::fs::write(
        &conf,
        "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  lb_algo wrr\n  lb_kind NAT\n\
           real_server 127.0.0.1 8080 {\n    weight 3\n  }\n}\n",
    )
    .expect("config");
    let log = std::fs::File::create(dir.join("kad.log")).expect("log");
    let mut kad = Command::new(&kad_bin)
        .args(["-n", "-l", "-C", "-f"])
        .arg(&conf)
        .arg("--control-socket")
        .arg(&sock)
        .stderr(log)
        .spawn()
        .expect("kad");
    let dest = "127.0.0.1:8080";
    let weight_is = |w: u32| {
        let line = format!("{dest:<28} Masq    {w} ");
        move || ipvsadm(&["-Ln"]).contains(&line)
    };
    let flip = Duration::from_secs(30);
    wait_until("the destination at weight 3", flip, weight_is(3));
    for (args, w) in [
        (vec!["drain", "192.0.2.1:80", dest], 0),
        (vec!["weight", "192.0.2.1:80", dest, "7"], 7),
        (vec!["undrain", "192.0.2.1:80", dest], 3),
    ] {
        let out = Command::new(&kadctl)
            .arg("--socket")
            .arg(&sock)
            .args(&args)
            .output()
            .expect("kadctl");
        assert!(out.status.success(), "{args:?}: {out:?}");
        let took = wait_until(&format!("weight {w} in the kernel"), flip, weight_is(w));
        eprintln!("{args:?}: kernel weight {w} after {took:?}");
    }
    signal(kad.id(), libc::SIGTERM);
    assert!(kad.wait().expect("wait").success());
    let log = std::fs::read_to_string(dir.join("kad.log")).unwrap_or_default();
    assert!(!log.contains("reloading"), "{log}");
}

/// One scrape of `http://127.0.0.1:port/metrics`: the body, or an empty string while kad
/// does not listen yet.
fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// The value of the first line of `text` that starts with `prefix` (name and labels).
fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn metrics_carry_the_kernels_ipvs_counters() {
    if !inside_vm("metrics_carry_the_kernels_ipvs_counters") {
        return;
    }
    let kad_bin = std::env::var("KAD_BIN").expect("KAD_BIN");
    let dir = std::env::temp_dir().join("kad-ipvs-metrics");
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = dir.join("kad.conf");
    let real = Server::start(0, accept_only());
    let port = 9650;
    // The virtual address is local, so a local client's connection goes through IPVS.
    Command::new("ip")
        .args(["addr", "add", "192.0.2.1/32", "dev", "lo"])
        .status()
        .expect("ip addr");
    std::fs::write(
        &conf,
        format!(
            "virtual_server 192.0.2.1 80 {{\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n\
               real_server 127.0.0.1 {} {{\n    weight 4\n  }}\n}}\n",
            real.port
        ),
    )
    .expect("config");
    let log = std::fs::File::create(dir.join("kad.log")).expect("log");
    let mut kad = Command::new(&kad_bin)
        .args(["-n", "-l", "-C", "--no-control-socket", "-f"])
        .arg(&conf)
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .stderr(log)
        .spawn()
        .expect("kad");
    let dest = format!(
        "{{virtual_server=\"192.0.2.1:80\",real_server=\"127.0.0.1:{}\"}}",
        real.port
    );
    let flip = Duration::from_secs(30);
    wait_until("the destination in the metrics", flip, || {
        metric(
            &scrape(port),
            &format!("kad_ipvs_destination_connections_total{dest}"),
        ) == Some(0.0)
    });
    for _ in 0..3 {
        let _ = std::net::TcpStream::connect_timeout(
            &"192.0.2.1:80".parse().expect("addr"),
            Duration::from_secs(5),
        );
    }
    wait_until("three connections counted", flip, || {
        let text = scrape(port);
        let svc = "kad_ipvs_service_connections_total{virtual_server=\"192.0.2.1:80\"}";
        metric(&text, svc) == Some(3.0)
            && metric(
                &text,
                &format!("kad_ipvs_destination_connections_total{dest}"),
            ) == Some(3.0)
            && metric(
                &text,
                &format!("kad_ipvs_destination_incoming_packets_total{dest}"),
            )
            .is_some_and(|n| n >= 3.0)
    });
    eprintln!("{}", ipvsadm(&["-Ln", "--stats"]));
    signal(kad.id(), libc::SIGTERM);
    assert!(kad.wait().expect("wait").success());
}
