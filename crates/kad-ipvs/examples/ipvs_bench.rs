//! `make bench-ipvs` (run inside the ip_vs VM): programs KAD_BENCH_SERVICES (10,000) services × 4 destinations
//! from an empty table with kad-ipvs, then changes the weight of 1 % of the destinations;
//! the same with `ipvsadm -R` in the same run. Prints times and netlink messages sent.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Instant;

use kad_ipvs::model::{Dest, Forward, Service, ServiceKey, Table, PROTO_TCP};
use kad_ipvs::{reconcile, Ipvs};

fn vip(i: usize) -> IpAddr {
    IpAddr::from([
        10,
        (i / 65536) as u8 + 100,
        (i / 256 % 256) as u8,
        (i % 256) as u8,
    ])
}

fn rip(i: usize, r: usize) -> IpAddr {
    IpAddr::from([172, 16 + r as u8, (i / 256 % 256) as u8, (i % 256) as u8])
}

fn table(n: usize, bumped: usize) -> Table {
    let mut t = Table::default();
    for i in 0..n {
        let key = ServiceKey::Addr {
            proto: PROTO_TCP,
            addr: vip(i),
            port: 80,
        };
        t.add_service(Service {
            key: key.clone(),
            scheduler: "wlc".into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        });
        for r in 0..4 {
            // The first `bumped` destinations (1 %) get weight 2.
            let w = if i * 4 + r < bumped { 2 } else { 1 };
            t.add_dest(&key, Dest::new(rip(i, r), 80, Forward::Route, w));
        }
    }
    t
}

fn ipvsadm_restore(rules: &str) -> f64 {
    let t0 = Instant::now();
    let mut child = Command::new("ipvsadm")
        .arg("-R")
        .stdin(Stdio::piped())
        .spawn()
        .expect("ipvsadm");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(rules.as_bytes()).expect("rules");
    }
    assert!(child.wait().expect("wait").success());
    t0.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("KAD_BENCH_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let bumped = n * 4 / 100;
    let mut ipvs = Ipvs::open().expect("IPVS");
    ipvs.flush().expect("flush");
    let want = table(n, 0);
    let t0 = Instant::now();
    let empty = ipvs.table().expect("dump");
    let changes = reconcile(&want, &empty, &Default::default());
    assert_eq!(ipvs.apply_all(&changes), 0);
    let full = t0.elapsed().as_secs_f64();
    let full_msgs = ipvs.messages_sent;
    assert_eq!(ipvs.table().expect("dump").dest_count(), n * 4);

    // 1 %: the daemon's path (diff against the table it applied last), then the same change
    // found by dumping the kernel first.
    let next = table(n, bumped);
    let owned = want.services.keys().cloned().collect();
    let before = ipvs.messages_sent;
    let t0 = Instant::now();
    let changes = reconcile(&next, &want, &owned);
    assert_eq!(ipvs.apply_all(&changes), 0);
    let delta = t0.elapsed().as_secs_f64();
    let delta_msgs = ipvs.messages_sent - before;
    let before = ipvs.messages_sent;
    let t0 = Instant::now();
    let kernel = ipvs.table().expect("dump");
    let changes = reconcile(&want, &kernel, &owned);
    assert_eq!(changes.len(), bumped);
    assert_eq!(ipvs.apply_all(&changes), 0);
    let delta_dump = t0.elapsed().as_secs_f64();
    let delta_dump_msgs = ipvs.messages_sent - before;

    ipvs.flush().expect("flush");
    let mut rules = String::new();
    for i in 0..n {
        rules.push_str(&format!("-A -t {}:80 -s wlc\n", vip(i)));
        for r in 0..4 {
            rules.push_str(&format!(
                "-a -t {}:80 -r {}:80 -g -w 1\n",
                vip(i),
                rip(i, r)
            ));
        }
    }
    let ipvsadm_full = ipvsadm_restore(&rules);
    let mut edits = String::new();
    for k in 0..bumped {
        let (i, r) = (k / 4, k % 4);
        edits.push_str(&format!(
            "-e -t {}:80 -r {}:80 -g -w 2\n",
            vip(i),
            rip(i, r)
        ));
    }
    let ipvsadm_delta = ipvsadm_restore(&edits);
    ipvs.flush().expect("flush");

    println!(
        "table: {n} services x 4 destinations ({} destinations); 1 % change = {bumped} weights",
        n * 4
    );
    println!("  from empty   kad {full:8.3} s, {full_msgs} netlink requests   ipvsadm -R {ipvsadm_full:8.3} s   ratio {:.2}x", full / ipvsadm_full);
    println!("  1 % weights  kad {delta:8.3} s, {delta_msgs} requests (diff against the last applied table)   ipvsadm -R {ipvsadm_delta:8.3} s   ratio {:.2}x", delta / ipvsadm_delta);
    println!("               kad {delta_dump:8.3} s, {delta_dump_msgs} requests (dump of the kernel table, then the diff)");
}
