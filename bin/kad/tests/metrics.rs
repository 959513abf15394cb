//! The metrics endpoint against real daemons: two kad nodes in a [`Lab`] of namespaces, each
//! with `--metrics-listen 127.0.0.1:9650` inside its own namespace, node 1 checking a real
//! TCP server (python3's http.server in the client namespace, 192.0.2.2:8080). Each scrape
//! is parsed by the Prometheus Python client's own text parser
//! (`prometheus_client.parser.text_string_to_metric_families`, from PyPI), run inside the
//! node's namespace. As root; ignored when built with KAD_SYSTEM_TESTS=0. Addresses:
//! 192.0.2.0/24 inside the test's own namespaces and their loopbacks.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::lab::*;
use common::*;
use serde_json::Value;

const PORT: u16 = 9650;

/// Parses a scrape with the real Prometheus parser; prints `[[name, labels, value], ...]`
/// (samples of every family, histogram samples with their suffixes) as JSON.
const SCRAPE: &str = r#"
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
# No proxy from the environment: the endpoint is on this namespace's loopback.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
r = opener.open("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=20)
assert r.status == 200, r.status
assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
text = r.read().decode()
out = []
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;

/// A slow client: sends a request head one byte a second and reports whether the server
/// closed the connection before the head ended (it never does end: 60 bytes at most).
const SLOWLORIS: &str = r#"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
head = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 40
for b in head:
    try:
        s.send(bytes([b]))
        s.settimeout(1)
        if s.recv(100) == b"":
            print("closed"); sys.exit(0)
    except socket.timeout:
        continue
    except OSError:
        print("closed"); sys.exit(0)
print("still open")
"#;

/// Sends `argv[2]` bytes of a head that never ends and prints what came back: the status
/// line, `reset`, or `closed` (never a 200).
const OVERSIZED: &str = r#"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * int(sys.argv[2]))
except OSError:
    pass
try:
    got = s.recv(200)
    print(got.split(b"\r\n")[0].decode() if got else "closed")
except ConnectionResetError:
    print("reset")
"#;

/// Holds `argv[2]` idle connections, then sends a whole request on one more and prints its
/// status line, or `refused` if the server closed it unanswered (over its cap).
const FLOOD: &str = r#"
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
idle = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(n)]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
    got = s.recv(200)
except OSError:
    got = b""
print(got.split(b"\r\n")[0].decode() if got else "refused")
"#;

/// One raw request; prints the status line of the answer.
const RAW: &str = r#"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
print(s.recv(200).split(b"\r\n")[0].decode())
"#;

fn python(lab: &Lab, n: &str, code: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &lab.ns(n), "python3", "-c", code])
        .args(args);
    c
}

fn run_python(lab: &Lab, n: &str, code: &str, args: &[&str]) -> String {
    let o = python(lab, n, code, args).output().expect("python3");
    assert!(
        o.status.success(),
        "python3 failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Node `n`'s samples, as the Prometheus parser read them.
fn scrape(lab: &Lab, n: &str) -> Vec<(String, Value, f64)> {
    let out = run_python(lab, n, SCRAPE, &[&PORT.to_string()]);
    let v: Value = serde_json::from_str(&out).expect("parser output");
    v.as_array()
        .expect("samples")
        .iter()
        .map(|s| {
            (
                s[0].as_str().unwrap_or_default().to_string(),
                s[1].clone(),
                s[2].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// The value of the sample `name` whose labels include every pair of `labels`.
fn value(samples: &[(String, Value, f64)], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l[k] == *v))
        .map(|(_, _, v)| *v)
}

fn config(priority: u8) -> String {
    format!(
        "{}
virtual_server {VIP} 80 {{
    delay_loop 1
    protocol TCP
    lb_kind NAT
    real_server 192.0.2.2 8080 {{
        weight 5
        TCP_CHECK {{
            connect_timeout 2
            retry 0
        }}
    }}
}}
",
        instance(priority, PASS)
    )
}

/// python3's http.server on 192.0.2.2:8080 in the client namespace.
fn real_server(lab: &Lab) -> Child {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns("c"),
            "python3",
            "-m",
            "http.server",
        ])
        .args(["8080", "--bind", "192.0.2.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("http.server")
}

/// The pid of `parent`'s child whose comm is `title`.
fn child_of(parent: u32, title: &str) -> Option<u32> {
    let list = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"));
    list.unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .find(|&c| comm(c) == title)
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn metrics_carry_each_instance_and_real_server_and_survive_hostile_clients() {
    as_root();
    let lab = Lab::up();
    let mut server = real_server(&lab);
    let listen = format!("127.0.0.1:{PORT}");
    let c1 = lab.config("n1.conf", &config(150));
    let c2 = lab.config("n2.conf", &instance(100, PASS));
    let n1 = lab.kad_with(
        "1",
        &c1,
        &["--no-control-socket", "--metrics-listen", &listen],
    );
    let _n2 = lab.kad_with(
        "2",
        &c2,
        &["--no-control-socket", "--metrics-listen", &listen],
    );
    lab.wait_master("1", Duration::from_secs(15));

    let vrrp_state = |n: &str| {
        let s = scrape(&lab, n);
        let labels = [
            ("iname", "VI_1"),
            ("intf", "eth0"),
            ("vrid", "51"),
            ("ip_address", "192.0.2.100/24"),
        ];
        value(&s, "keepalived_vrrp_state", &labels)
    };
    // Node 2 reports BACKUP (1) once it has heard node 1; node 1 MASTER (2).
    wait_until("node 2 scrapes as BACKUP", Duration::from_secs(15), || {
        vrrp_state("2") == Some(1.0)
    });
    assert_eq!(vrrp_state("1"), Some(2.0));

    let rs = [
        ("virtual_server", "192.0.2.100:80"),
        ("real_server", "192.0.2.2:8080"),
    ];
    wait_until("the real server up", Duration::from_secs(20), || {
        value(&scrape(&lab, "1"), "kad_real_server_up", &rs) == Some(1.0)
    });
    let s = scrape(&lab, "1");
    assert_eq!(value(&s, "kad_real_server_weight", &rs), Some(5.0));
    let labels = [("iname", "VI_1"), ("state", "MASTER")];
    let sent = value(&s, "keepalived_advertisements_sent_total", &labels);
    assert!(sent.is_some_and(|n| n >= 1.0), "adverts sent: {sent:?}");
    let became = value(&s, "keepalived_become_master_total", &labels);
    assert_eq!(became, Some(1.0));
    let tcp = [("kind", "TCP_CHECK")];
    let checks = value(&s, "kad_checks_total", &tcp).expect("TCP_CHECK counted");
    assert!(checks >= 1.0);
    assert_eq!(
        value(&s, "kad_check_duration_seconds_count", &tcp),
        Some(checks)
    );
    let inf = [("kind", "TCP_CHECK"), ("le", "+Inf")];
    assert_eq!(
        value(&s, "kad_check_duration_seconds_bucket", &inf),
        Some(checks)
    );
    for child in ["vrrp", "checker"] {
        assert_eq!(value(&s, "kad_child_up", &[("child", child)]), Some(1.0));
        let restarts = value(&s, "kad_child_restarts_total", &[("child", child)]);
        assert_eq!(restarts, Some(0.0), "{child}");
    }
    assert_eq!(value(&s, "keepalived_up", &[]), Some(1.0));

    // The real server stops: its checker fails and the metric follows.
    let _ = server.kill();
    let _ = server.wait();
    wait_until("the real server down", Duration::from_secs(20), || {
        value(&scrape(&lab, "1"), "kad_real_server_up", &rs) == Some(0.0)
    });
    let s = scrape(&lab, "1");
    assert_eq!(value(&s, "kad_real_server_weight", &rs), Some(0.0));
    let failures = value(&s, "kad_check_failures_total", &tcp);
    assert!(failures.is_some_and(|n| n >= 1.0), "failures: {failures:?}");

    // A slow client is dropped at the read timeout while normal scrapes go on.
    let port = PORT.to_string();
    let slow = python(&lab, "1", SLOWLORIS, &[&port])
        .stdout(Stdio::piped())
        .spawn()
        .expect("slowloris");
    for _ in 0..3 {
        assert_eq!(
            vrrp_state("1"),
            Some(2.0),
            "a scrape beside the slow client"
        );
    }
    let out = slow.wait_with_output().expect("slowloris ends");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "closed");

    // An oversized head is refused (431) or cut; never served.
    let answer = run_python(&lab, "1", OVERSIZED, &[&port, "20000"]);
    assert!(
        [
            "HTTP/1.1 431 Request Header Fields Too Large",
            "reset",
            "closed"
        ]
        .contains(&answer.as_str()),
        "oversized head answered {answer}"
    );
    // A flood: the 17th connection beside 16 idle ones is closed unanswered; once they are
    // gone, scrapes work again.
    assert_eq!(run_python(&lab, "1", FLOOD, &[&port, "16"]), "refused");
    assert_eq!(
        run_python(&lab, "1", FLOOD, &[&port, "15"]),
        "HTTP/1.1 200 OK",
        "15 idle clients leave room for a scrape"
    );
    assert_eq!(vrrp_state("1"), Some(2.0), "serving after the flood");
    // Other paths and methods.
    let raw = |req: &str| run_python(&lab, "1", RAW, &[&port, req]);
    assert_eq!(raw("GET / HTTP/1.1\\r\\n\\r\\n"), "HTTP/1.1 404 Not Found");
    assert_eq!(
        raw("PUT /metrics HTTP/1.1\\r\\n\\r\\n"),
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(raw("GARBAGE\\r\\n\\r\\n"), "HTTP/1.1 400 Bad Request");
    assert_eq!(vrrp_state("1"), Some(2.0), "still serving");

    // A checker that dies is counted once the watchdog has started it again.
    let parent = n1.proc.id();
    let checker = child_of(parent, "kad: checker").expect("checker child");
    signal(checker, libc::SIGKILL);
    wait_until(
        "the checker's restart counted",
        Duration::from_secs(20),
        || {
            let s = scrape(&lab, "1");
            value(&s, "kad_child_restarts_total", &[("child", "checker")]) == Some(1.0)
                && value(&s, "kad_child_up", &[("child", "checker")]) == Some(1.0)
        },
    );
}
