//! VRRP under abuse on real links: a thousand kills and link cuts that must settle to one
//! master per VRID with no leaked descriptors, zombies or memory, and a flood of adverts that
//! must not stop the master's own. As root; ignored when built with KAD_SYSTEM_TESTS=0.
//! Addresses: 192.0.2.0/24 inside the test's own namespaces.

mod common;

use std::time::{Duration, Instant};

use common::lab::*;
use common::wire::*;
use common::*;

/// Pids of `parent`'s children whose name is `comm`.
fn children_named(parent: u32, comm: &str) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|c: &u32| {
            std::fs::read_to_string(format!("/proc/{c}/comm"))
                .map(|n| n.trim() == comm)
                .unwrap_or(false)
        })
        .collect()
}

/// Zombie children of `parent`.
fn zombies(parent: u32) -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
            let mut f = after.split_whitespace();
            f.next() == Some("Z") && f.next() == Some(parent.to_string().as_str())
        })
        .count()
}

/// (open descriptors, VmRSS in KB) of a process.
fn fds_rss(pid: u32) -> (usize, u64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0);
    (fds, rss)
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn chaos_of_a_thousand_kills_and_link_cuts_settles_to_one_master_per_vrid() {
    as_root();
    const VIP2: &str = "192.0.2.101";
    let lab = Lab::up();
    lab.add_node3();
    let config = |p1: u8, p2: u8| {
        format!(
            "vrrp_script chk {{\n    script /bin/true\n    interval 1\n}}\n\
             vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {p1}\n    advert_int 1\n    track_script {{\n        chk\n    }}\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\
             vrrp_instance VI_2 {{\n    interface eth0\n    use_vmac\n    virtual_router_id 52\n    priority {p2}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP2}/24\n    }}\n}}\n"
        )
    };
    let nodes = ["1", "2", "3"];
    let prios = [(150, 100), (100, 150), (120, 120)];
    let daemons: Vec<Node> = nodes
        .iter()
        .zip(prios)
        .map(|(n, (a, b))| {
            let conf = lab.config(&format!("chaos{n}.conf"), &config(a, b));
            // Respawn at once: with keepalived's growing delay 1,000 kills would park children.
            lab.kad_with(n, &conf, &["--respawn-window", "0.01"])
        })
        .collect();
    let parents: Vec<u32> = daemons.iter().map(|d| d.proc.id()).collect();
    let one_master = |vip: &str| nodes.iter().filter(|n| lab.holds(n, vip, None)).count() == 1;
    wait_until("a master for each VRID", Duration::from_secs(15), || {
        one_master(VIP) && one_master(VIP2)
    });
    wait_until("every child running", Duration::from_secs(5), || {
        parents.iter().all(|&p| {
            children_named(p, "kad: vrrp").len() == 1
                && children_named(p, "kad: checker").len() == 1
        })
    });
    let before: Vec<(usize, u64)> = parents.iter().map(|&p| fds_rss(p)).collect();
    let child_fds: Vec<usize> = parents
        .iter()
        .map(|&p| fds_rss(children_named(p, "kad: vrrp")[0]).0)
        .collect();

    // 1,000 events, at most 120 s: SIGKILL a VRRP or checker child, cut or heal a link.
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut cut = [false; 3];
    let (mut kills, mut cuts, mut events) = (0, 0, 0);
    while events < 1000 && Instant::now() < deadline {
        let i = (next() % 3) as usize;
        match next() % 10 {
            0..=5 => {
                let title = if next() % 3 == 0 {
                    "kad: checker"
                } else {
                    "kad: vrrp"
                };
                for c in children_named(parents[i], title) {
                    // SAFETY: signalling a child of a daemon this test started.
                    unsafe { libc::kill(c as i32, libc::SIGKILL) };
                    kills += 1;
                }
            }
            6..=7 if !cut[i] => {
                lab.cut(nodes[i]);
                cut[i] = true;
                cuts += 1;
            }
            _ if cut[i] => {
                lab.heal(nodes[i]);
                cut[i] = false;
            }
            _ => {}
        }
        events += 1;
        std::thread::sleep(Duration::from_millis(20 + next() % 40));
    }
    assert_eq!(events, 1000, "the chaos loop ran out of time");
    for (i, n) in nodes.iter().enumerate() {
        if cut[i] {
            lab.heal(n);
        }
    }
    // Settled: one master per VRID with its VIP there only; on every node exactly the one
    // vmac its live VRRP child owns (kad, as keepalived, keeps the vmac of a BACKUP instance
    // up without VIPs), none left behind by a killed child.
    wait_until(
        "one master per VRID after the chaos",
        Duration::from_secs(30),
        || one_master(VIP) && one_master(VIP2),
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        one_master(VIP) && one_master(VIP2),
        "a second master appeared after settling"
    );
    for n in nodes {
        let links = sh_out(&format!("ip -n {} -o link show", lab.ns(n)));
        assert_eq!(
            links.matches("vrrp.52@").count(),
            1,
            "node {n}: not exactly one vmac:\n{links}"
        );
    }
    wait_until("every child back", Duration::from_secs(5), || {
        parents.iter().all(|&p| {
            children_named(p, "kad: vrrp").len() == 1
                && children_named(p, "kad: checker").len() == 1
        })
    });
    for (k, &p) in parents.iter().enumerate() {
        assert_eq!(zombies(p), 0, "node {}: zombies", nodes[k]);
        let (fds, rss) = fds_rss(p);
        assert_eq!(
            fds, before[k].0,
            "node {}: the parent's descriptors changed",
            nodes[k]
        );
        assert!(
            rss < before[k].1 + 1024,
            "node {}: the parent grew from {} to {rss} KB",
            nodes[k],
            before[k].1
        );
        let child = children_named(p, "kad: vrrp")[0];
        assert_eq!(
            fds_rss(child).0,
            child_fds[k],
            "node {}: a new VRRP child has more descriptors",
            nodes[k]
        );
    }
    eprintln!("chaos: {events} events, {kills} child kills, {cuts} link cuts");
    drop(daemons);
}

/// Counts node `src`'s VRRP adverts seen on its switch port `v{port}` during `secs` seconds.
fn count_adverts(
    ns: String,
    port: String,
    src: [u8; 4],
    secs: u64,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        // In the kernel, keep only VRRP from `src`: the flood must not fill the buffer.
        let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
        let mut prog = [
            op(0x20, 0, 0, 26),                      // ld [26]: IPv4 source
            op(0x15, 0, 3, u32::from_be_bytes(src)), // jeq src
            op(0x30, 0, 0, 23),                      // ldb [23]: protocol
            op(0x15, 0, 1, 112),                     // jeq VRRP
            op(0x06, 0, 0, 0xffff),                  // accept
            op(0x06, 0, 0, 0),                       // drop
        ];
        // ETH_P_ALL: the bridge consumes frames before per-protocol sockets see them.
        let fd = packet_socket_in(&ns, libc::ETH_P_ALL as u16, Some(&port), &mut prog);
        let end = Instant::now() + Duration::from_secs(secs);
        let mut seen = 0;
        let mut buf = [0u8; 256];
        while Instant::now() < end {
            if let Some((n, _)) = recv_frame(&fd, &mut buf) {
                if n >= 34 && buf[23] == 112 && buf[26..30] == src {
                    seen += 1;
                }
            }
        }
        seen
    })
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_flood_of_adverts_does_not_stop_the_masters_adverts() {
    as_root();
    let lab = Lab::up();
    let _n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    let n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    lab.wait_master("1", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    // From the client: adverts of another VRID and malformed ones (bad checksum), as fast as
    // one thread can send, for at most 8 s, while node 1's port is watched.
    const SECS: u64 = 8;
    let watch = count_adverts(lab.ns("sw"), "v1".into(), [192, 0, 2, 11], SECS);
    let mut bad = v2_advert_packet(51, 50, 0);
    bad[26] ^= 0xff;
    let floods = [
        blast(lab.ns("c"), v2_advert_packet(52, 50, 0), 5_000_000, SECS),
        blast(lab.ns("c"), bad, 5_000_000, SECS),
    ];
    let t0 = Instant::now();
    let mut taken = false;
    while t0.elapsed() < Duration::from_secs(SECS) {
        taken |= lab.has_vip("2");
        std::thread::sleep(Duration::from_millis(200));
    }
    let sent: u64 = floods.into_iter().map(|f| f.join().expect("sender")).sum();
    let adverts = watch.join().expect("capture");
    eprintln!("flood: {sent} packets in {SECS} s; node 1 sent {adverts} adverts meanwhile");
    assert!(sent > 10_000, "the flood was a flood ({sent} packets)");
    assert!(
        !taken,
        "the backup took over during the flood: {}",
        n2.log()
    );
    assert!(
        !n2.log().contains("Entering MASTER"),
        "the backup took over during the flood: {}",
        n2.log()
    );
    assert!(adverts >= 2, "node 1 kept advertising ({adverts} seen)");
}
