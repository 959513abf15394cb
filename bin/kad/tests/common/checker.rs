//! The checker tests' side of the harness: kad -C in a private mount namespace, its JSON dump
//! read back, and the servers the checks probe (UDP, HTTP, SMTP, scripts).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::{private_tmp_run, wait_until, work_dir, Handler, Kad};

/// Time allowed for a state to flip: delay_loop 1 + connect_timeout 1 + slack for a loaded box.
pub const FLIP: Duration = Duration::from_secs(8);

/// Starts `kad -C` on `config` in a private mount namespace on the host's network.
pub fn checker(config: &str) -> Kad {
    let dir = work_dir();
    std::fs::write(dir.join("kad.conf"), config).expect("config");
    let kad = Kad::spawn(dir, &["--mount"], &private_tmp_run(), &["-C"]);
    wait_until("checker ready", Duration::from_secs(10), || {
        kad.log().contains(") ready")
    });
    kad
}

/// The checker's JSON dump (SIGRTMIN+2), fresh.
pub fn snapshot(kad: &Kad) -> Value {
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
pub fn wait_rs(kad: &Kad, rs: usize, alive: bool) -> Value {
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

pub fn reason(rs: &Value, checker: usize) -> String {
    rs["checkers"][checker]["stats"]["last_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The first virtual server's desired destinations as (port, weight, sorry).
pub fn destinations(kad: &Kad) -> Vec<(u64, u64, bool)> {
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
pub struct UdpServer {
    /// The port it answers on.
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpServer {
    pub fn start(reply: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static) -> UdpServer {
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

    pub fn stop(&mut self) {
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
pub fn read_head(r: &mut impl Read) -> String {
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

pub const BODY: &str = "all good\n";
/// MD5 of BODY.
pub fn body_digest() -> String {
    kad_check::probe::http::md5_hex(BODY.as_bytes())
}

/// HTTP modes: 0 answers 200 with BODY, 1 answers 500, 2 answers 200 with another body,
/// 3 never answers.
pub fn http_handler(mode: Arc<AtomicU8>, hosts: Arc<Mutex<Vec<String>>>) -> Handler {
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
pub fn smtp_sink(mails: Arc<Mutex<Vec<String>>>) -> Handler {
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
pub fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p.display().to_string()
}

/// A script that appends its arguments to `DIR/notes` (read back with [`notes`]).
pub fn note_script(dir: &Path) -> String {
    script(
        dir,
        "note.sh",
        &format!("echo \"$@\" >> {}/notes", dir.display()),
    )
}

pub fn notes(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("notes")).unwrap_or_default()
}

/// Checks run so far by the first checker of real server `rs` of the first virtual server.
pub fn checks_of(kad: &Kad, rs: usize) -> u64 {
    snapshot(kad)["virtual_servers"][0]["real_servers"][rs]["checkers"][0]["stats"]["checks"]
        .as_u64()
        .unwrap_or(0)
}
