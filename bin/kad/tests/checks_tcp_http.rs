//! The checker child against real TCP, HTTP and TLS servers started by the tests: TCP_CHECK
//! with notify alerts and inhibit, HTTP_GET status / digest / silence, SSL_GET with a
//! certificate made here, hostile chunk sizes and a 40 KiB burst, connect_ip / bindto. kad
//! runs as root in its own mount namespace (private /tmp and /run) on the host's loopback;
//! its state is read from the JSON dump. Ignored when built with KAD_SYSTEM_TESTS=0.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::checker::*;
use common::*;

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn tcp_check_follows_its_listener_with_notify_alerts_and_inhibit() {
    as_root();
    let mut plain = Server::start(0, accept_only());
    let mut inhibited = Server::start(0, accept_only());
    let mails = Arc::new(Mutex::new(Vec::new()));
    let sink = Server::start(0, smtp_sink(mails.clone()));
    let dir = work_dir();
    let note = note_script(&dir);
    let config = format!(
        "global_defs {{\n  script_user root\n  notification_email {{\n    ops@example.org\n  }}\n  smtp_server 127.0.0.1 {sink}\n  router_id lb-test\n}}\n\
         virtual_server 198.51.100.10 80 {{\n  protocol TCP\n  delay_loop 1\n  smtp_alert\n\
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn http_get_judges_status_digest_and_silence() {
    as_root();
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ssl_get_checks_over_tls_without_verifying_by_default() {
    as_root();
    let mut server = tls_server();
    let port = server.port;
    let config = format!(
        "virtual_server 198.51.100.10 443 {{\n  protocol TCP\n  delay_loop 1\n\
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn connect_ip_connect_port_bindto_and_bind_port_are_honoured() {
    as_root();
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
        "virtual_server 198.51.100.10 80 {{\n  protocol TCP\n  delay_loop 1\n\
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

/// Issue 13 item 2: a chunk size of 2^64-1 crashed the checker child on every check (it was
/// respawned and crashed again). Now that server is DOWN, the child lives on, and the healthy
/// server next to it keeps being checked.
#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn http_get_survives_a_chunk_size_of_two_to_the_64() {
    as_root();
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ssl_get_reads_a_40_kib_body_sent_in_one_burst() {
    as_root();
    let body: Vec<u8> = (0..40 * 1024u32).map(|i| b'a' + (i % 26) as u8).collect();
    let digest = kad_check::probe::http::md5_hex(&body);
    let server = tls_server_sending(body);
    let config = format!(
        "virtual_server 198.51.100.10 443 {{\n  protocol TCP\n  delay_loop 1\n\
           real_server 127.0.0.1 {p} {{\n    SSL_GET {{\n      url {{\n        path /\n        digest {digest}\n        status_code 200\n      }}\n      connect_timeout 2\n      retry 0\n      alpha\n    }}\n  }}\n}}\n",
        p = server.port,
    );
    let kad = checker(&config);
    // alpha: starts down, comes up only on a good check.
    wait_until("a first SSL_GET", FLIP, || checks_of(&kad, 0) > 0);
    let rs = wait_rs(&kad, 0, true);
    assert_eq!(reason(&rs, 0), "status 200");
}
