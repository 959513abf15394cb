//! A fast target for the checker benchmark: `check_target ADDR:PORT [http] [THREADS]` accepts
//! connections on a listener (bind 0.0.0.0 to serve every 127.x.y.z) and closes them; with
//! `http` it reads a request head first and answers `200 OK`. Blocking accept on a few
//! threads: enough for tens of thousands of checks a second. Runs until killed.
//! With `CHECK_TARGET_LOG=FILE`, every accept appends `UNIX_SECONDS LOCAL_ADDR` to FILE (one
//! line per check: make bench-reload reads each real server's check times from it).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let http = args.next().as_deref() == Some("http");
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(2);
    let listener = match TcpListener::bind(&addr) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("check_target: bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    let log = std::env::var_os("CHECK_TARGET_LOG").map(|p| {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p);
        Arc::new(Mutex::new(f.unwrap_or_else(|e| {
            eprintln!("check_target: {}: {e}", p.to_string_lossy());
            std::process::exit(1);
        })))
    });
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let l = listener.clone();
            let log = log.clone();
            std::thread::spawn(move || loop {
                let Ok((mut s, _)) = l.accept() else {
                    continue;
                };
                if let (Some(log), Ok(local)) = (log.as_ref(), s.local_addr()) {
                    let t = SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(0.0);
                    if let Ok(mut f) = log.lock() {
                        let _ = writeln!(f, "{t:.6} {}", local.ip());
                    }
                }
                if http {
                    let mut buf = [0u8; 2048];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 8192 {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}
