//! The control socket and kadctl against real daemons: two kad nodes in a [`Lab`] of
//! namespaces, each with a control socket in the lab's dir. Status names the master and the
//! real servers; drain/undrain/weight change the wanted weight without a reload; maintenance
//! moves the VIP to the peer and back; a refused reload returns its FILE:LINE diagnostics;
//! garbage, oversized and idle clients get errors or are dropped while kad serves on. As
//! root; ignored when built with KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24 inside the
//! test's own namespaces.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::lab::*;
use common::*;
use serde_json::Value;

/// Node 1's configuration at `priority`: VI_1 plus a virtual server with a real server that
/// has no checker (alive), one whose MISC_CHECK succeeds and one whose TCP_CHECK is refused.
fn config(priority: u8) -> String {
    format!(
        "{}
virtual_server {VIP} 80 {{
    protocol TCP
    delay_loop 1
    lb_kind NAT
    real_server 192.0.2.21 80 {{
        weight 3
    }}
    real_server 192.0.2.22 80 {{
        weight 2
        MISC_CHECK {{
            misc_path /bin/true
        }}
    }}
    real_server 192.0.2.2 80 {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
}}
",
        instance(priority, PASS)
    )
}

fn kadctl(sock: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kadctl"))
        .arg("--socket")
        .arg(sock)
        .args(args)
        .output()
        .expect("run kadctl")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(sock: &Path, args: &[&str]) -> String {
    let o = kadctl(sock, args);
    assert!(o.status.success(), "kadctl {args:?} failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn status(sock: &Path) -> Value {
    serde_json::from_str(&ok(sock, &["status", "--json"])).expect("status JSON")
}

/// The first real server of node `sock`'s virtual server whose address is `rs`.
fn real_server(sock: &Path, rs: &str) -> Value {
    let s = status(sock);
    s["virtual_servers"][0]["real_servers"]
        .as_array()
        .expect("real servers")
        .iter()
        .find(|r| r["address"] == rs)
        .cloned()
        .unwrap_or_else(|| panic!("no {rs} in {s}"))
}

/// One raw exchange on the socket: what the server answers to `bytes`.
fn raw(sock: &Path, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let _ = s.write_all(bytes);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The pid of `parent`'s child titled `title`, if it has one.
fn child_of(parent: u32, title: &str) -> Option<u32> {
    let list = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"));
    list.unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .find(|&c| comm(c) == title)
}

struct Pair {
    lab: Lab,
    socks: [PathBuf; 2],
    confs: [PathBuf; 2],
    nodes: Vec<Node>,
}

fn pair() -> Pair {
    let lab = Lab::up();
    let socks = [lab.dir.join("ctl1.sock"), lab.dir.join("ctl2.sock")];
    let confs = [
        lab.config("n1.conf", &config(150)),
        lab.config("n2.conf", &instance(100, PASS)),
    ];
    let mut nodes = Vec::new();
    for (i, n) in ["1", "2"].into_iter().enumerate() {
        let sock = socks[i].to_string_lossy().into_owned();
        nodes.push(lab.kad_with(n, &confs[i], &["--control-socket", &sock]));
    }
    lab.wait_master("1", Duration::from_secs(15));
    Pair {
        lab,
        socks,
        confs,
        nodes,
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn status_names_the_master_and_real_servers_and_overrides_apply_without_a_reload() {
    as_root();
    let p = pair();
    let [s1, s2] = &p.socks;
    let mode = std::fs::metadata(s1).expect("socket").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o660
    );
    // The peer has heard node 1's adverts.
    wait_until("node 2 hears node 1", Duration::from_secs(10), || {
        status(s2)["vrrp"][0]["master_seen"] == "192.0.2.11"
    });
    let v = &status(s2)["vrrp"][0];
    assert_eq!(v["state"], "BACKUP", "{v}");
    assert_eq!(v["priority"], 100);
    let s = status(s1);
    let v = &s["vrrp"][0];
    assert_eq!(v["name"], "VI_1");
    assert_eq!(v["state"], "MASTER", "{s}");
    assert_eq!(
        (&v["priority"], &v["effective_priority"]),
        (&150.into(), &150.into())
    );
    assert_eq!(v["maintenance"], false);
    assert_eq!(s["virtual_servers"][0]["name"], format!("{VIP}:80"));
    // The checks settle: MISC_CHECK up, TCP_CHECK refused.
    wait_until("both checks ran", Duration::from_secs(15), || {
        real_server(s1, "192.0.2.22:80")["last_check"] == "up"
            && real_server(s1, "192.0.2.2:80")["alive"] == false
    });
    let table = ok(s1, &["status"]);
    for want in [
        "VI_1",
        "MASTER",
        "192.0.2.21:80",
        "192.0.2.22:80",
        "192.0.2.2:80",
    ] {
        assert!(table.contains(want), "{want} missing from\n{table}");
    }
    let rs = real_server(s1, "192.0.2.21:80");
    assert_eq!(
        (&rs["alive"], &rs["weight"], &rs["wanted_weight"]),
        (&true.into(), &3.into(), &3.into())
    );

    // Drain, weight, undrain: the wanted weight follows at once, with no reload.
    let vs = format!("{VIP}:80");
    let mut took = Vec::new();
    for (args, wanted, drained) in [
        (vec!["drain", &vs, "192.0.2.21:80"], 0, true),
        (vec!["weight", &vs, "192.0.2.21:80", "7"], 7, false),
        (vec!["undrain", &vs, "192.0.2.21:80"], 3, false),
    ] {
        let t0 = Instant::now();
        ok(s1, &args);
        let rs = real_server(s1, "192.0.2.21:80");
        took.push(t0.elapsed());
        assert_eq!(rs["wanted_weight"], wanted, "{args:?}: {rs}");
        assert_eq!(rs["drained"], drained, "{args:?}: {rs}");
        assert_eq!(rs["weight"], 3, "{args:?}: {rs}");
    }
    eprintln!("override then status took {took:?}");
    // An override is kept across a reload (the same file) until cleared.
    ok(s1, &["drain", &vs, "192.0.2.22:80"]);
    ok(s1, &["reload"]);
    assert_eq!(real_server(s1, "192.0.2.22:80")["wanted_weight"], 0);
    // A respawned checker is told again.
    let checker = child_of(p.nodes[0].proc.id(), "kad: checker").expect("checker");
    signal(checker, libc::SIGKILL);
    wait_until(
        "the new checker keeps the drain",
        Duration::from_secs(20),
        || {
            let o = kadctl(s1, &["status", "--json"]);
            let Ok(s) = serde_json::from_slice::<Value>(&o.stdout) else {
                return false;
            };
            let rss = s["virtual_servers"][0]["real_servers"].as_array().cloned();
            let rs = rss.unwrap_or_default();
            child_of(p.nodes[0].proc.id(), "kad: checker").is_some_and(|c| c != checker)
                && rs
                    .iter()
                    .any(|r| r["address"] == "192.0.2.22:80" && r["drained"] == true)
        },
    );
    // Unknown servers and weights over IPVS's range are refused.
    for args in [
        vec!["drain", &vs, "192.0.2.99:80"],
        vec!["drain", "192.0.2.99:80", "192.0.2.21:80"],
        vec!["weight", &vs, "192.0.2.21:80", "70000"],
        vec!["maintenance", "VI_9", "on"],
    ] {
        let o = kadctl(s1, &args);
        assert!(!o.status.success(), "{args:?} accepted: {}", text(&o));
    }
    let log = p.nodes[0].log();
    assert_eq!(log.matches("reloading configuration").count(), 1, "{log}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn maintenance_moves_the_vip_to_the_peer_and_back() {
    as_root();
    let p = pair();
    let s1 = &p.socks[0];
    ok(s1, &["maintenance", "VI_1", "on"]);
    let took = p.lab.wait_master("2", Duration::from_secs(10));
    eprintln!("node 2 master {took:?} after maintenance on");
    assert!(!p.lab.has_vip("1"));
    // It stays BACKUP at effective priority 0 (node 2's adverts are at 100, below its 150).
    std::thread::sleep(Duration::from_secs(5));
    assert!(!p.lab.has_vip("1") && p.lab.has_vip("2"));
    let v = &status(s1)["vrrp"][0];
    assert_eq!(v["state"], "BACKUP", "{v}");
    assert_eq!(v["effective_priority"], 0, "{v}");
    assert_eq!(v["maintenance"], true, "{v}");
    // A respawned VRRP child is told again: the node stays out of service.
    let parent = p.nodes[0].proc.id();
    let vrrp = child_of(parent, "kad: vrrp").expect("VRRP child");
    signal(vrrp, libc::SIGKILL);
    wait_until("a new VRRP child", Duration::from_secs(15), || {
        child_of(parent, "kad: vrrp").is_some_and(|c| c != vrrp)
    });
    wait_until("the new child answers", Duration::from_secs(15), || {
        let s = kadctl(s1, &["status", "--json"]);
        s.status.success() && String::from_utf8_lossy(&s.stdout).contains("\"maintenance\": true")
    });
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !p.lab.has_vip("1") && p.lab.has_vip("2"),
        "still in maintenance"
    );
    ok(s1, &["maintenance", "VI_1", "off"]);
    p.lab.wait_master("1", Duration::from_secs(10));
    p.lab.wait_not_master("2", Duration::from_secs(10));
    let v = &status(s1)["vrrp"][0];
    assert_eq!(
        (&v["maintenance"], &v["effective_priority"]),
        (&false.into(), &150.into())
    );
    assert!(!p.nodes[0].log().contains("reloading"), "no reload");
    // A reload that rebuilds the instance (another VRID: alone on it, node 1 would be MASTER
    // with the VIP at once) keeps it in maintenance.
    ok(s1, &["maintenance", "VI_1", "on"]);
    p.lab.wait_master("2", Duration::from_secs(10));
    let rebuilt = config(150).replace("virtual_router_id 51", "virtual_router_id 52");
    std::fs::write(&p.confs[0], rebuilt).expect("write the config");
    ok(s1, &["reload"]);
    wait_until(
        "the reload reaches the VRRP child",
        Duration::from_secs(15),
        || status(s1)["vrrp"][0]["virtual_router_id"] == 52,
    );
    std::thread::sleep(Duration::from_secs(5));
    let v = &status(s1)["vrrp"][0];
    assert_eq!(v["maintenance"], true, "{v}");
    assert!(
        !p.lab.has_vip("1"),
        "the rebuilt instance stays out of service"
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_refused_reload_reports_its_diagnostics_and_bad_clients_get_errors() {
    as_root();
    let p = pair();
    let s1 = &p.socks[0];
    let good = std::fs::read_to_string(&p.confs[0]).expect("conf");
    std::fs::write(
        &p.confs[0],
        good.replace(
            "    priority 150\n",
            "    priority 150\n    virtual_router_id 300\n",
        ),
    )
    .expect("bad conf");
    let o = kadctl(s1, &["reload"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = good
        .lines()
        .position(|l| l.contains("priority 150"))
        .expect("line")
        + 2;
    let want = format!("{}:{line}:", p.confs[0].display());
    assert!(
        err.contains(&want) && err.contains("error"),
        "want {want} in {err}"
    );
    // The running configuration stays; a fixed file reloads.
    assert_eq!(status(s1)["vrrp"][0]["state"], "MASTER");
    std::fs::write(&p.confs[0], &good).expect("conf");
    ok(s1, &["reload"]);

    // Garbage, an unknown verb, an oversized request: an error each, and kad serves on.
    for bad in [
        b"\xff\xfe garbage\n".to_vec(),
        b"{\"Explode\":{}}\n".to_vec(),
        vec![b'x'; 100_000],
    ] {
        let reply = raw(s1, &bad);
        assert!(reply.starts_with("{\"Error\":"), "{reply}");
    }
    // Idle clients beyond the cap are closed; the idle ones are dropped after their timeout.
    let idle: Vec<UnixStream> = (0..40)
        .filter_map(|_| UnixStream::connect(s1).ok())
        .collect();
    let t0 = Instant::now();
    wait_until("status again", Duration::from_secs(30), || {
        kadctl(s1, &["status"]).status.success()
    });
    eprintln!("status served {:?} after 40 idle clients", t0.elapsed());
    drop(idle);
    assert_eq!(status(s1)["vrrp"][0]["state"], "MASTER");
    // A client that sends half a request and stalls does not hold the loop up.
    let mut slow = UnixStream::connect(s1).expect("connect");
    slow.write_all(b"\"Sta").expect("write");
    ok(s1, &["status"]);
    drop(slow);
    assert!(p.lab.has_vip("1"));
    let log = p.nodes[0].log();
    assert!(!log.contains("panicked"), "{log}");
}

/// A NaN timeout is not a panic: kadctl reports the socket it cannot reach and exits 1.
#[test]
fn kadctl_takes_a_nan_timeout_without_panicking() {
    let o = Command::new(env!("CARGO_BIN_EXE_kadctl"))
        .args([
            "--socket",
            "/nonexistent/kad.sock",
            "--timeout",
            "nan",
            "status",
        ])
        .output()
        .expect("run kadctl");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/kad.sock"));
}
