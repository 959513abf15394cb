//! The checker child against real servers started by the tests: TCP listeners, an HTTP server
//! that answers 200 / 500 / a wrong body / never, a TLS server with a certificate made here,
//! scripts, an ICMP target in a namespace whose link is cut, a UDP echo, an SMTP sink, a DNS
//! responder, and a track file. kad runs as root in its own mount namespace (private /tmp and
//! /run) on the host's loopback; its state is read from the JSON dump.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Time allowed for a state to flip: delay_loop 1 + connect_timeout 1 + slack for a loaded box.
const FLIP: Duration = Duration::from_secs(8);

/// Starts `kad -C` on `config` in a private mount namespace on the host's network.
fn checker(config: &str) -> Kad {
    let dir = work_dir();
    std::fs::write(dir.join("kad.conf"), config).expect("config");
    let kad = Kad::spawn(
        dir,
        &["--mount"],
        "mount -t tmpfs kadtmp /tmp && mount -t tmpfs kadrun /run",
        &["-C"],
    );
    wait_until("checker ready", Duration::from_secs(10), || {
        kad.log().contains(") ready")
    });
    kad
}

/// The checker's JSON dump (SIGRTMIN+2), fresh.
fn snapshot(kad: &Kad) -> Value {
    let path = kad.path("/tmp/keepalived_check.json");
    let _ = std::fs::remove_file(&path);
    kad.signal(libc::SIGRTMIN() + 2);
    let mut out = Value::Null;
    wait_until(
        "the JSON dump",
        Duration::from_secs(5),
        || match std::fs::read_to_string(&path).map(|t| serde_json::from_str(&t)) {
            Ok(Ok(v)) => {
                out = v;
                true
            }
            _ => false,
        },
    );
    out
}

/// Waits until real server `rs` of the first virtual server is alive (or not); returns it.
fn wait_rs(kad: &Kad, rs: usize, alive: bool) -> Value {
    let deadline = std::time::Instant::now() + FLIP;
    loop {
        let snap = snapshot(kad);
        let last = snap["virtual_servers"][0]["real_servers"][rs].clone();
        if last["alive"] == alive {
            return last;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "real server {rs} never became alive={alive}; last state {last}\nlog:\n{}",
            kad.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn reason(rs: &Value, checker: usize) -> String {
    rs["checkers"][checker]["stats"]["last_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The first virtual server's desired destinations as (port, weight, sorry).
fn destinations(kad: &Kad) -> Vec<(u64, u64, bool)> {
    let snap = snapshot(kad);
    snap["virtual_servers"][0]["destinations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["port"].as_u64().unwrap_or(0),
                        d["weight"].as_u64().unwrap_or(0),
                        d["sorry"] == true,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A UDP server on 127.0.0.1 answering each datagram with what `reply` returns; stopping it
/// closes the port (senders then get ICMP port unreachable).
struct UdpServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpServer {
    fn start(reply: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static) -> UdpServer {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
        let port = sock.local_addr().expect("addr").port();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    if let Some(answer) = reply(&buf[..n]) {
                        let _ = sock.send_to(&answer, from);
                    }
                }
            }
        });
        UdpServer {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for UdpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads an HTTP request head.
fn read_head(r: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match r.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

const BODY: &str = "all good\n";
/// MD5 of BODY.
fn body_digest() -> String {
    kad_check::probe::http::md5_hex(BODY.as_bytes())
}

/// HTTP modes: 0 answers 200 with BODY, 1 answers 500, 2 answers 200 with another body,
/// 3 never answers.
fn http_handler(mode: Arc<AtomicU8>, hosts: Arc<Mutex<Vec<String>>>) -> Handler {
    Arc::new(move |mut s| {
        let head = read_head(&mut s);
        if let Some(h) = head.lines().find(|l| l.starts_with("Host:")) {
            hosts.lock().expect("lock").push(h.to_string());
        }
        let reply = match mode.load(Ordering::Relaxed) {
            0 => format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{BODY}",
                BODY.len()
            ),
            1 => "HTTP/1.0 500 Internal Server Error\r\n\r\n".to_string(),
            2 => "HTTP/1.0 200 OK\r\n\r\nsomething else".to_string(),
            _ => {
                std::thread::sleep(Duration::from_secs(4));
                return;
            }
        };
        let _ = s.write_all(reply.as_bytes());
    })
}

/// An SMTP sink: answers every command, keeps every DATA section.
fn smtp_sink(mails: Arc<Mutex<Vec<String>>>) -> Handler {
    Arc::new(move |s| {
        let mut w = match s.try_clone() {
            Ok(w) => w,
            Err(_) => return,
        };
        let mut r = BufReader::new(s);
        let _ = w.write_all(b"220 sink ESMTP\r\n");
        let mut data: Option<String> = None;
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if let Some(d) = data.as_mut() {
                if line == ".\r\n" {
                    mails.lock().expect("lock").push(std::mem::take(d));
                    data = None;
                    let _ = w.write_all(b"250 queued\r\n");
                } else {
                    d.push_str(&line);
                }
                continue;
            }
            let cmd = line.to_ascii_uppercase();
            let reply: &[u8] = if cmd.starts_with("DATA") {
                data = Some(String::new());
                b"354 go on\r\n"
            } else if cmd.starts_with("QUIT") {
                let _ = w.write_all(b"221 bye\r\n");
                return;
            } else {
                b"250 ok\r\n"
            };
            let _ = w.write_all(reply);
        }
    })
}

/// A script file in the test's work dir (root-owned 0755, so script security accepts it).
fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p.display().to_string()
}

/// A script that appends its arguments to `DIR/notes` (read back with [`notes`]).
fn note_script(dir: &Path) -> String {
    script(
        dir,
        "note.sh",
        &format!("echo \"$@\" >> {}/notes", dir.display()),
    )
}

fn notes(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("notes")).unwrap_or_default()
}

#[test]
fn tcp_check_follows_its_listener_with_notify_alerts_and_inhibit() {
    if !system_tests_enabled() {
        return;
    }
    let mut plain = Server::start(0, accept_only());
    let mut inhibited = Server::start(0, accept_only());
    let mails = Arc::new(Mutex::new(Vec::new()));
    let sink = Server::start(0, smtp_sink(mails.clone()));
    let dir = work_dir();
    let note = note_script(&dir);
    let config = format!(
        "global_defs {{\n  script_user root\n  notification_email {{\n    ops@example.org\n  }}\n  smtp_server 127.0.0.1 {sink}\n  router_id lb-test\n}}\n\
         virtual_server 198.51.100.10 80 {{\n  delay_loop 1\n  smtp_alert\n\
           real_server 127.0.0.1 {a} {{\n    notify_up \"{note} up {a}\"\n    notify_down \"{note} down {a}\"\n    smtp_alert\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n\
           real_server 127.0.0.1 {b} {{\n    weight 3\n    inhibit_on_failure\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n",
        sink = sink.port,
        a = plain.port,
        b = inhibited.port,
    );
    let (a, b) = (plain.port, inhibited.port);
    let kad = checker(&config);
    let rs = wait_rs(&kad, 0, true);
    wait_until("a first check", FLIP, || {
        snapshot(&kad)["virtual_servers"][0]["real_servers"][0]["checkers"][0]["stats"]["checks"]
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    assert_eq!(rs["weight"], 1);
    assert_eq!(
        destinations(&kad),
        [(u64::from(a), 1, false), (u64::from(b), 3, false)]
    );

    plain.stop();
    inhibited.stop();
    let rs = wait_rs(&kad, 0, false);
    assert!(reason(&rs, 0).contains("refused"), "{rs}");
    wait_rs(&kad, 1, false);
    // The plain server left the table; the inhibited one stays at weight 0.
    assert_eq!(destinations(&kad), [(u64::from(b), 0, false)]);
    assert!(kad.log().contains(&format!(
        "Removing service [127.0.0.1]:tcp:{a} from VS [198.51.100.10]:tcp:80"
    )));
    wait_until("notify_down", FLIP, || {
        notes(&dir).contains(&format!("down {a}"))
    });
    wait_until("the DOWN mail", FLIP, || {
        mails.lock().expect("lock").iter().any(|m| {
            m.contains(&format!("Subject: [lb-test] Realserver [127.0.0.1]:tcp:{a} of virtual server [198.51.100.10]:tcp:80 - DOWN"))
        })
    });

    let _plain = Server::start(a, accept_only());
    let _inhibited = Server::start(b, accept_only());
    wait_rs(&kad, 0, true);
    wait_rs(&kad, 1, true);
    wait_until("notify_up", FLIP, || {
        notes(&dir).contains(&format!("up {a}"))
    });
    wait_until("the UP mail", FLIP, || {
        mails.lock().expect("lock").iter().any(|m| {
            m.contains(&format!(
                "[127.0.0.1]:tcp:{a} of virtual server [198.51.100.10]:tcp:80 - UP"
            ))
        })
    });
    // This kernel has no ip_vs: said once, and the checkers went on regardless.
    assert_eq!(
        kad.log().matches("IPVS not available: ").count(),
        1,
        "{}",
        kad.log()
    );
    // The text dump shows the same state.
    kad.signal(libc::SIGUSR1);
    let data = kad.path("/tmp/keepalived_check.data");
    wait_until("the text dump", Duration::from_secs(5), || data.exists());
    let text = std::fs::read_to_string(&data).unwrap_or_default();
    assert!(
        text.contains(&format!("RS = 127.0.0.1:{a}, weight = 1")),
        "{text}"
    );
    assert!(text.contains("state = UP, failures in a row = 0"), "{text}");
    assert!(text.contains("checks = "), "{text}");
}

#[test]
fn http_get_judges_status_digest_and_silence() {
    if !system_tests_enabled() {
        return;
    }
    let mode = Arc::new(AtomicU8::new(0));
    let hosts = Arc::new(Mutex::new(Vec::new()));
    let server = Server::start(0, http_handler(mode.clone(), hosts.clone()));
    let config = format!(
        "virtual_server 198.51.100.10 80 {{\n  delay_loop 1\n  virtualhost www.example.org\n\
           real_server 127.0.0.1 {p} {{\n    HTTP_GET {{\n      url {{\n        path /health\n        digest {d}\n        status_code 200\n      }}\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n",
        p = server.port,
        d = body_digest()
    );
    let kad = checker(&config);
    wait_until("a first GET", FLIP, || {
        !hosts.lock().expect("lock").is_empty()
    });
    assert_eq!(
        hosts.lock().expect("lock")[0],
        format!("Host: www.example.org:{}", server.port)
    );
    wait_rs(&kad, 0, true);

    mode.store(1, Ordering::Relaxed);
    let rs = wait_rs(&kad, 0, false);
    assert_eq!(reason(&rs, 0), "/health returned status 500");
    mode.store(0, Ordering::Relaxed);
    wait_rs(&kad, 0, true);
    mode.store(2, Ordering::Relaxed);
    let rs = wait_rs(&kad, 0, false);
    assert!(reason(&rs, 0).contains("digest"), "{rs}");
    mode.store(0, Ordering::Relaxed);
    wait_rs(&kad, 0, true);
    mode.store(3, Ordering::Relaxed);
    let rs = wait_rs(&kad, 0, false);
    assert_eq!(reason(&rs, 0), "timed out");
}

/// A TLS server (certificate made here) answering every GET with BODY.
fn tls_server() -> Server {
    let cert = rcgen::generate_simple_self_signed(vec!["check.example.org".to_string()])
        .expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server config");
    let config = Arc::new(config);
    Server::start(
        0,
        Arc::new(move |s| {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, s);
            let head = read_head(&mut tls);
            if head.is_empty() {
                return;
            }
            let reply = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{BODY}",
                BODY.len()
            );
            let _ = tls.write_all(reply.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }),
    )
}

#[test]
fn ssl_get_checks_over_tls_without_verifying_by_default() {
    if !system_tests_enabled() {
        return;
    }
    let mut server = tls_server();
    let port = server.port;
    let config = format!(
        "virtual_server 198.51.100.10 443 {{\n  delay_loop 1\n\
           real_server 127.0.0.1 {port} {{\n    SSL_GET {{\n      url {{\n        path /\n        digest {d}\n      }}\n      enable_sni\n      virtualhost check.example.org\n      connect_timeout 1\n      retry 0\n      alpha\n    }}\n  }}\n}}\n",
        d = body_digest()
    );
    let kad = checker(&config);
    // alpha: starts down, comes up on the first good check.
    let rs = wait_rs(&kad, 0, true);
    assert_eq!(reason(&rs, 0), "status 200");
    server.stop();
    let rs = wait_rs(&kad, 0, false);
    assert!(reason(&rs, 0).contains("refused"), "{rs}");
}

#[test]
fn misc_check_exit_codes_dynamic_weight_and_timeouts() {
    if !system_tests_enabled() {
        return;
    }
    let dir = work_dir();
    let marker = format!("kadhang{}", std::process::id());
    let code_file = dir.join("code");
    std::fs::write(&code_file, "0").expect("code");
    let exit_with = script(
        &dir,
        "exit.sh",
        &format!("exit $(cat {})", code_file.display()),
    );
    let hang = script(&dir, "hang.sh", &format!("sleep 30 {marker} & sleep 30"));
    let config = format!(
        "global_defs {{\n  script_user root\n}}\nvirtual_server 198.51.100.10 80 {{\n  delay_loop 1\n\
           real_server 192.0.2.1 80 {{\n    weight 3\n    MISC_CHECK {{\n      misc_path {exit_with}\n      misc_dynamic\n      retry 0\n    }}\n  }}\n\
           real_server 192.0.2.2 80 {{\n    MISC_CHECK {{\n      misc_path \"{hang} {marker}\"\n      misc_timeout 1\n      retry 0\n    }}\n  }}\n}}\n"
    );
    let kad = checker(&config);
    let rs = wait_rs(&kad, 0, true);
    assert_eq!(rs["weight"], 3);
    std::fs::write(&code_file, "1").expect("code");
    let rs = wait_rs(&kad, 0, false);
    assert_eq!(reason(&rs, 0), "exit 1");
    std::fs::write(&code_file, "7").expect("code");
    let rs = wait_rs(&kad, 0, true);
    assert_eq!(reason(&rs, 0), "exit 7: weight 5");
    assert_eq!(rs["weight"], 5);
    assert!(kad.log().contains("Changing weight") || rs["weight"] == 5);

    let rs = wait_rs(&kad, 1, false);
    assert_eq!(reason(&rs, 0), "timed out; its process group was killed");
    // The background child of the hung script died with its process group.
    std::thread::sleep(Duration::from_millis(300));
    let leftovers = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c).contains(&marker)
                        && !String::from_utf8_lossy(&c).contains("hang.sh")
                })
                .unwrap_or(false)
        })
        .count();
    // At most the one started by the attempt in flight right now.
    assert!(
        leftovers <= 1,
        "{leftovers} stray sleeps survived their timeout"
    );
}

#[test]
fn ping_check_follows_a_link_cut_in_a_namespace() {
    if !system_tests_enabled() {
        return;
    }
    let id = std::process::id() % 100_000;
    let (ns, host_if, ns_if) = (
        format!("kadping{id}"),
        format!("kph{id}"),
        format!("kpn{id}"),
    );
    let sh = |cmd: &str| {
        let ok = std::process::Command::new("sh")
            .args(["-c", cmd])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "{cmd}");
    };
    struct Cleanup(String, String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::process::Command::new("sh")
                .args([
                    "-c",
                    &format!(
                        "ip link del {} 2>/dev/null; ip netns del {} 2>/dev/null",
                        self.1, self.0
                    ),
                ])
                .status();
        }
    }
    let _cleanup = Cleanup(ns.clone(), host_if.clone());
    sh(&format!(
        "ip netns add {ns} && ip link add {host_if} type veth peer name {ns_if} && ip link set {ns_if} netns {ns} \
         && ip addr add 198.51.100.253/30 dev {host_if} && ip link set {host_if} up \
         && ip -n {ns} addr add 198.51.100.254/30 dev {ns_if} && ip -n {ns} link set {ns_if} up && ip -n {ns} link set lo up"
    ));
    let config = "virtual_server 198.51.100.10 80 {\n  delay_loop 1\n  real_server 198.51.100.254 80 {\n    PING_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n}\n";
    let kad = checker(config);
    let rs = wait_rs(&kad, 0, true);
    wait_until("an echo reply", FLIP, || {
        reason(&wait_rs(&kad, 0, true), 0) == "echo reply"
    });
    drop(rs);
    sh(&format!("ip -n {ns} link set {ns_if} down"));
    let rs = wait_rs(&kad, 0, false);
    assert!(!reason(&rs, 0).is_empty());
    sh(&format!("ip -n {ns} link set {ns_if} up"));
    wait_rs(&kad, 0, true);
}

#[test]
fn udp_check_with_require_reply_and_port_unreachable() {
    if !system_tests_enabled() {
        return;
    }
    let mut echo = UdpServer::start(|query| Some(query.to_vec()));
    let port = echo.port;
    let config = format!(
        "virtual_server 198.51.100.10 53 {{\n  delay_loop 1\n  protocol UDP\n\
           real_server 127.0.0.1 {port} {{\n    UDP_CHECK {{\n      payload 6b616421\n      require_reply 6b61\n      min_reply_length 4\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n"
    );
    let kad = checker(&config);
    wait_until("a matching reply", FLIP, || {
        reason(&wait_rs(&kad, 0, true), 0) == "reply of 4 bytes matches"
    });
    echo.stop();
    let rs = wait_rs(&kad, 0, false);
    assert_eq!(reason(&rs, 0), "port unreachable");
}

#[test]
fn smtp_check_talks_to_a_sink() {
    if !system_tests_enabled() {
        return;
    }
    let mut sink = Server::start(0, smtp_sink(Arc::new(Mutex::new(Vec::new()))));
    let config = format!(
        "virtual_server 198.51.100.10 25 {{\n  delay_loop 1\n\
           real_server 127.0.0.1 {p} {{\n    SMTP_CHECK {{\n      helo_name lb.example.org\n      connect_timeout 1\n      retry 0\n      alpha\n    }}\n  }}\n}}\n",
        p = sink.port
    );
    let kad = checker(&config);
    let rs = wait_rs(&kad, 0, true);
    assert_eq!(reason(&rs, 0), "SMTP banner, HELO and QUIT answered");
    sink.stop();
    wait_rs(&kad, 0, false);
}

#[test]
fn dns_check_needs_a_noerror_answer() {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    if !system_tests_enabled() {
        return;
    }
    let failing = Arc::new(AtomicBool::new(false));
    let flag = failing.clone();
    let responder = UdpServer::start(move |query| {
        let mut m = Message::from_vec(query).ok()?;
        m.set_message_type(MessageType::Response);
        if flag.load(Ordering::Relaxed) {
            m.set_response_code(ResponseCode::ServFail);
        }
        m.to_vec().ok()
    });
    let port = responder.port;
    let config = format!(
        "virtual_server 198.51.100.10 53 {{\n  delay_loop 1\n  protocol UDP\n\
           real_server 127.0.0.1 {port} {{\n    DNS_CHECK {{\n      type A\n      name www.example.org\n      connect_timeout 1\n      retry 0\n      alpha\n    }}\n  }}\n}}\n"
    );
    let kad = checker(&config);
    let rs = wait_rs(&kad, 0, true);
    assert!(reason(&rs, 0).starts_with("NOERROR"), "{rs}");
    failing.store(true, Ordering::Relaxed);
    let rs = wait_rs(&kad, 0, false);
    assert_eq!(reason(&rs, 0), "rcode Server Failure");
    drop(responder);
}

#[test]
fn quorum_loss_brings_in_the_sorry_server_and_runs_quorum_scripts() {
    if !system_tests_enabled() {
        return;
    }
    let mut one = Server::start(0, accept_only());
    let two = Server::start(0, accept_only());
    let dir = work_dir();
    let note = note_script(&dir);
    let config = format!(
        "global_defs {{\n  script_user root\n}}\nvirtual_server 198.51.100.10 80 {{\n  delay_loop 1\n  quorum 2\n  hysteresis 0\n\
           quorum_up \"{note} quorum-up\"\n  quorum_down \"{note} quorum-down\"\n  sorry_server 192.0.2.99 8080\n\
           real_server 127.0.0.1 {a} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n\
           real_server 127.0.0.1 {b} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n",
        a = one.port,
        b = two.port
    );
    let a = one.port;
    let kad = checker(&config);
    wait_rs(&kad, 0, true);
    assert_eq!(destinations(&kad).len(), 2);
    one.stop();
    wait_rs(&kad, 0, false);
    wait_until("quorum_down", FLIP, || notes(&dir).contains("quorum-down"));
    assert_eq!(destinations(&kad), [(8080, 1, true)]);
    assert!(kad
        .log()
        .contains("Lost quorum 2-0=2 > 1 for VS [198.51.100.10]:tcp:80"));
    let _one = Server::start(a, accept_only());
    wait_rs(&kad, 0, true);
    wait_until("quorum_up", FLIP, || notes(&dir).contains("quorum-up"));
    let d = destinations(&kad);
    assert_eq!(d.len(), 2);
    assert!(d.iter().all(|&(_, w, sorry)| w == 1 && !sorry), "{d:?}");
    drop(two);
}

#[test]
fn file_check_reads_a_track_file() {
    if !system_tests_enabled() {
        return;
    }
    let dir = work_dir();
    let file = dir.join("weight");
    let config = format!(
        "track_file tf {{\n  file {f}\n  weight 2\n  init_file 0 overwrite\n}}\nvirtual_server 198.51.100.10 80 {{\n  delay_loop 1\n\
           real_server 192.0.2.1 80 {{\n    weight 1\n    FILE_CHECK {{\n      track_file tf\n      dynamic\n    }}\n  }}\n\
           real_server 192.0.2.2 80 {{\n    FILE_CHECK {{\n      track_file tf\n      weight 0\n    }}\n  }}\n}}\n",
        f = file.display()
    );
    let kad = checker(&config);
    // init_file wrote 0: both up, no weight change.
    wait_until("a first read", FLIP, || {
        reason(&wait_rs(&kad, 1, true), 0) == "value 0"
    });
    std::fs::write(&file, "3\n").expect("write");
    let rs = wait_rs(&kad, 1, false);
    assert_eq!(reason(&rs, 0), "value 3");
    wait_until("weight 1 + 3 × 2", FLIP, || {
        snapshot(&kad)["virtual_servers"][0]["real_servers"][0]["weight"] == 7
    });
}

#[test]
fn reload_keeps_the_state_of_unchanged_checkers() {
    if !system_tests_enabled() {
        return;
    }
    let mut gone = Server::start(0, accept_only());
    let added = Server::start(0, accept_only());
    let rs = |port: u16| {
        format!("  real_server 127.0.0.1 {port} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n")
    };
    let vs =
        |body: String| format!("virtual_server 198.51.100.10 80 {{\n  delay_loop 1\n{body}}}\n");
    let kad = checker(&vs(rs(gone.port)));
    gone.stop();
    let before = wait_rs(&kad, 0, false);
    let checks = before["checkers"][0]["stats"]["checks"]
        .as_u64()
        .unwrap_or(0);
    // Reload with a second real server: the first stays down (no alpha would make a new
    // checker start up), its counters go on, and the new one is checked.
    std::fs::write(
        kad.dir.join("kad.conf"),
        vs(rs(gone.port) + &rs(added.port)),
    )
    .expect("config");
    kad.signal(libc::SIGHUP);
    wait_until("the reload", FLIP, || {
        kad.log().contains("reloaded: 1 virtual_server")
    });
    let snap = snapshot(&kad);
    let first = &snap["virtual_servers"][0]["real_servers"][0];
    assert_eq!(first["alive"], false, "{snap}");
    assert!(
        first["checkers"][0]["stats"]["checks"]
            .as_u64()
            .unwrap_or(0)
            >= checks
    );
    wait_until("a check of the new server", FLIP, || {
        reason(&wait_rs(&kad, 1, true), 0) == "connected"
    });
}

#[test]
fn connect_ip_connect_port_bindto_and_bind_port_are_honoured() {
    if !system_tests_enabled() {
        return;
    }
    // The address comes from accept(): the checker resets the connection at once, after
    // which getpeername on the accepted socket would fail.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let peers = Arc::new(Mutex::new(Vec::new()));
    let seen = peers.clone();
    std::thread::spawn(move || {
        while let Ok((_, from)) = listener.accept() {
            seen.lock().expect("lock").push(from);
        }
    });
    let config = format!(
        "virtual_server 198.51.100.10 80 {{\n  delay_loop 1\n\
           real_server 192.0.2.7 80 {{\n    TCP_CHECK {{\n      connect_ip 127.0.0.1\n      connect_port {port}\n      bindto 127.0.0.2\n      bind_port 40999\n      connect_timeout 1\n      retry 0\n      alpha\n    }}\n  }}\n}}\n"
    );
    let kad = checker(&config);
    wait_rs(&kad, 0, true);
    wait_until("the accept", FLIP, || {
        !peers.lock().expect("lock").is_empty()
    });
    let first = peers.lock().expect("lock").first().copied();
    assert_eq!(first, Some("127.0.0.2:40999".parse().expect("addr")));
}

#[test]
fn list_ipvs_says_when_the_kernel_has_no_ipvs() {
    if !system_tests_enabled() || std::path::Path::new("/proc/net/ip_vs").exists() {
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kad"))
        .arg("--list-ipvs")
        .output()
        .expect("kad");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("kad: IPVS not available: "));
}

#[test]
fn retries_come_before_down_and_omega_runs_notifiers_at_stop() {
    if !system_tests_enabled() {
        return;
    }
    let mut gone = Server::start(0, accept_only());
    let stays = Server::start(0, accept_only());
    let dir = work_dir();
    let note = note_script(&dir);
    let config = format!(
        "global_defs {{\n  script_user root\n}}\nvirtual_server 198.51.100.10 80 {{\n  delay_loop 1\n  omega\n  quorum_down \"{note} quorum-down\"\n\
           real_server 127.0.0.1 {a} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 2\n      delay_before_retry 0.2\n    }}\n  }}\n\
           real_server 127.0.0.1 {b} {{\n    notify_down \"{note} down {b}\"\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n}}\n",
        a = gone.port,
        b = stays.port
    );
    let mut kad = checker(&config);
    wait_until("a first check", FLIP, || {
        snapshot(&kad)["virtual_servers"][0]["real_servers"][0]["checkers"][0]["stats"]["checks"]
            .as_u64()
            .unwrap_or(0)
            > 0
    });
    gone.stop();
    wait_rs(&kad, 0, false);
    let log = kad.log();
    let first = log.find("retry 1 of 2").expect("first retry logged");
    let second = log.find("retry 2 of 2").expect("second retry logged");
    let down = log
        .find(&format!("Removing service [127.0.0.1]:tcp:{}", gone.port))
        .expect("removal");
    assert!(first < second && second < down, "{log}");
    // omega: at a graceful stop the server still up gets its notify_down, the VS its quorum_down.
    kad.signal(libc::SIGTERM);
    assert_eq!(kad.wait_exit(Duration::from_secs(10)), Some(0));
    wait_until("omega notifiers", FLIP, || {
        let n = notes(&dir);
        n.contains(&format!("down {}", stays.port)) && n.contains("quorum-down")
    });
}

#[test]
fn hysteresis_holds_quorum_and_an_inhibited_sorry_server_waits_at_weight_zero() {
    if !system_tests_enabled() {
        return;
    }
    let mut servers: Vec<Server> = (0..3).map(|_| Server::start(0, accept_only())).collect();
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let rs: String = ports
        .iter()
        .map(|p| format!("  real_server 127.0.0.1 {p} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n"))
        .collect();
    let config = format!(
        "virtual_server 198.51.100.10 80 {{\n  delay_loop 1\n  quorum 2\n  hysteresis 1\n  sorry_server 192.0.2.99 8080\n  sorry_server_inhibit\n{rs}}}\n"
    );
    let kad = checker(&config);
    let quorum = |kad: &Kad| snapshot(kad)["virtual_servers"][0]["quorum_up"] == true;
    let sorry = |kad: &Kad| destinations(kad).into_iter().find(|d| d.2).map(|d| d.1);
    assert!(quorum(&kad));
    assert_eq!(
        sorry(&kad),
        Some(0),
        "an inhibited sorry server waits at weight 0"
    );
    // Weight 3 → 2 → 1: still at or above quorum − hysteresis = 1.
    for (i, server) in servers.iter_mut().take(2).enumerate() {
        server.stop();
        wait_rs(&kad, i, false);
        assert!(quorum(&kad), "quorum held with {} alive", 2 - i);
    }
    servers[2].stop();
    wait_rs(&kad, 2, false);
    wait_until("quorum lost at weight 0", FLIP, || !quorum(&kad));
    assert_eq!(sorry(&kad), Some(1));
    // Coming back: 1 and 2 are below quorum + hysteresis = 3; the third restores it.
    let mut back = Vec::new();
    for (i, &port) in ports.iter().enumerate() {
        back.push(Server::start(port, accept_only()));
        wait_rs(&kad, i, true);
        if i < 2 {
            assert!(
                !quorum(&kad),
                "quorum regained too early with {} alive",
                i + 1
            );
        }
    }
    wait_until("quorum regained at weight 3", FLIP, || quorum(&kad));
    assert_eq!(sorry(&kad), Some(0));
}

#[test]
fn ha_suspend_checks_only_while_the_virtual_address_is_here() {
    if !system_tests_enabled() {
        return;
    }
    // Its own network namespace: the test adds the virtual address there.
    let dir = work_dir();
    let config = "virtual_server 192.0.2.77 80 {\n  delay_loop 1\n  ha_suspend\n  real_server 192.0.2.1 80 {\n    MISC_CHECK {\n      misc_path /bin/true\n    }\n  }\n}\n";
    std::fs::write(dir.join("kad.conf"), config).expect("config");
    let kad = Kad::spawn(
        dir,
        &["--mount", "--net"],
        "mount -t tmpfs kadtmp /tmp && mount -t tmpfs kadrun /run && ip link set lo up",
        &["-C"],
    );
    wait_until("checker ready", Duration::from_secs(10), || {
        kad.log().contains(") ready")
    });
    let checks = |kad: &Kad| {
        let snap = snapshot(kad);
        let vs = &snap["virtual_servers"][0];
        (
            vs["suspended"] == true,
            vs["real_servers"][0]["checkers"][0]["stats"]["checks"]
                .as_u64()
                .unwrap_or(0),
        )
    };
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        checks(&kad),
        (true, 0),
        "no check while 192.0.2.77 is elsewhere"
    );
    assert!(kad.log().contains("checks suspended (ha_suspend)"));
    let added = std::process::Command::new("nsenter")
        .args([
            "-t",
            &kad.pid.to_string(),
            "-n",
            "ip",
            "addr",
            "add",
            "192.0.2.77/32",
            "dev",
            "lo",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(added, "adding the virtual address in kad's namespace");
    wait_until("checks resumed", FLIP, || {
        let (suspended, n) = checks(&kad);
        !suspended && n > 0
    });
    assert!(kad.log().contains("address present, checks resumed"));
}

/// Checks run so far by the first checker of real server `rs` of the first virtual server.
fn checks_of(kad: &Kad, rs: usize) -> u64 {
    snapshot(kad)["virtual_servers"][0]["real_servers"][rs]["checkers"][0]["stats"]["checks"]
        .as_u64()
        .unwrap_or(0)
}

/// Issue 13 item 2: a chunk size of 2^64-1 crashed the checker child on every check (it was
/// respawned and crashed again). Now that server is DOWN, the child lives on, and the healthy
/// server next to it keeps being checked.
#[test]
fn http_get_survives_a_chunk_size_of_two_to_the_64() {
    if !system_tests_enabled() {
        return;
    }
    let healthy = Server::start(
        0,
        http_handler(Arc::new(AtomicU8::new(0)), Arc::new(Mutex::new(Vec::new()))),
    );
    let hostile = Server::start(
        0,
        Arc::new(|mut s| {
            read_head(&mut s);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nall good\r\n",
            );
        }),
    );
    let url = format!(
        "url {{\n        path /health\n        digest {}\n        status_code 200\n      }}",
        body_digest()
    );
    let config = format!(
        "virtual_server 198.51.100.10 80 {{\n  delay_loop 1\n\
           real_server 127.0.0.1 {h} {{\n    HTTP_GET {{\n      {url}\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n\
           real_server 127.0.0.1 {x} {{\n    HTTP_GET {{\n      {url}\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n",
        h = healthy.port,
        x = hostile.port,
    );
    let kad = checker(&config);
    let child = kad.wait_child("kad: checker", None);
    let rs = wait_rs(&kad, 1, false);
    assert!(reason(&rs, 0).contains("chunk"), "{rs}");
    // Both servers are checked again several times by the same child.
    let (healthy_before, hostile_before) = (checks_of(&kad, 0), checks_of(&kad, 1));
    wait_until("three more checks of each server", FLIP * 2, || {
        checks_of(&kad, 0) >= healthy_before + 3 && checks_of(&kad, 1) >= hostile_before + 3
    });
    let rs = wait_rs(&kad, 0, true);
    assert_eq!(reason(&rs, 0), "status 200");
    assert_eq!(
        wait_rs(&kad, 1, false)["alive"],
        false,
        "the hostile server stays DOWN"
    );
    assert_eq!(kad.child("kad: checker"), Some(child), "{}", kad.log());
    let log = kad.log();
    assert!(
        !log.contains("panicked") && !log.contains("respawning"),
        "{log}"
    );
}

/// A TLS server (certificate made here) answering every GET with `body` in one write.
fn tls_server_sending(body: Vec<u8>) -> Server {
    let cert = rcgen::generate_simple_self_signed(vec!["check.example.org".to_string()])
        .expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server config");
    let config = Arc::new(config);
    Server::start(
        0,
        Arc::new(move |s| {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, s);
            if read_head(&mut tls).is_empty() {
                return;
            }
            let mut reply =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
            reply.extend_from_slice(&body);
            let _ = tls.write_all(&reply);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }),
    )
}

/// Issue 13 item 3: a body of more than rustls' 16 KiB plaintext buffer in one burst made
/// SSL_GET fail with "received plaintext buffer full"; a 40 KiB body is now read and digested.
#[test]
fn ssl_get_reads_a_40_kib_body_sent_in_one_burst() {
    if !system_tests_enabled() {
        return;
    }
    let body: Vec<u8> = (0..40 * 1024u32).map(|i| b'a' + (i % 26) as u8).collect();
    let digest = kad_check::probe::http::md5_hex(&body);
    let server = tls_server_sending(body);
    let config = format!(
        "virtual_server 198.51.100.10 443 {{\n  delay_loop 1\n\
           real_server 127.0.0.1 {p} {{\n    SSL_GET {{\n      url {{\n        path /\n        digest {digest}\n        status_code 200\n      }}\n      connect_timeout 2\n      retry 0\n      alpha\n    }}\n  }}\n}}\n",
        p = server.port,
    );
    let kad = checker(&config);
    // alpha: starts down, comes up only on a good check.
    wait_until("a first SSL_GET", FLIP, || checks_of(&kad, 0) > 0);
    let rs = wait_rs(&kad, 0, true);
    assert_eq!(reason(&rs, 0), "status 200");
}
