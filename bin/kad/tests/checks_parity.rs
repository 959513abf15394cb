//! Checker parity with keepalived 2.2.7 (issue 16): HTTP_GET `regex`, `regex_no_match`,
//! `regex_options`, `regex_min_offset` and `regex_max_offset` against real HTTP servers, and
//! SMTP_CHECK `host` sub-blocks against real SMTP sinks, all on the host's loopback (the
//! checker child runs as root in its own mount namespace; its state is read from the JSON
//! dump). Ignored when built with KAD_SYSTEM_TESTS=0.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::checker::*;
use common::*;

/// 5000 bytes of `x`, then the status line the regexes look for.
fn body() -> String {
    format!("{}status: OK\n", "x".repeat(5000))
}

fn server() -> Server {
    Server::start(
        0,
        Arc::new(|mut s| {
            read_head(&mut s);
            let body = body();
            let _ = s.write_all(
                format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }),
    )
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn http_get_regex_options_judge_the_body() {
    as_root();
    // (url options, alive, reason contains)
    let cases: [(&str, bool, &str); 8] = [
        ("regex \"status: (OK|FINE)\"", true, "status 200"),
        (
            "regex \"status: BROKEN\"",
            false,
            "does not match the regex",
        ),
        ("regex BROKEN\n        regex_no_match", true, "status 200"),
        (
            "regex \"status: ok\"\n        regex_options caseless",
            true,
            "status 200",
        ),
        (
            "regex status\n        regex_max_offset 100",
            false,
            "does not match",
        ),
        (
            "regex ^xxstatus\n        regex_min_offset 4998\n        regex_max_offset 5000",
            true,
            "status 200",
        ),
        (
            "regex OK\n        regex_no_match",
            false,
            "matches the regex (regex_no_match)",
        ),
        (
            "regex \"^x{5000}status: OK$\"\n        regex_options multiline",
            true,
            "status 200",
        ),
    ];
    let servers: Vec<Server> = cases.iter().map(|_| server()).collect();
    let mut config =
        String::from("virtual_server 198.51.100.10 80 {\n  protocol TCP\n  delay_loop 1\n");
    for ((opts, _, _), s) in cases.iter().zip(&servers) {
        config.push_str(&format!(
            "  real_server 127.0.0.1 {} {{\n    HTTP_GET {{\n      url {{\n        path /health\n        {opts}\n      }}\n      connect_timeout 2\n      retry 0\n    }}\n  }}\n",
            s.port
        ));
    }
    config.push_str("}\n");
    let kad = checker(&config);
    wait_until("every server checked twice", FLIP * 2, || {
        (0..cases.len()).all(|i| checks_of(&kad, i) >= 2)
    });
    let snap = snapshot(&kad);
    for (i, (opts, alive, why)) in cases.iter().enumerate() {
        let rs = &snap["virtual_servers"][0]["real_servers"][i];
        assert_eq!(rs["alive"], *alive, "case {i} ({opts}): {rs}");
        assert!(reason(rs, 0).contains(why), "case {i} ({opts}): {rs}");
    }
    let log = kad.log();
    assert!(!log.contains("not supported"), "{log}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn smtp_check_host_blocks_are_checkers_of_their_own() {
    as_root();
    let own = Server::start(0, smtp_sink(Arc::new(Mutex::new(Vec::new()))));
    let mut host = Server::start(0, smtp_sink(Arc::new(Mutex::new(Vec::new()))));
    let config = format!(
        "virtual_server 198.51.100.10 25 {{\n  delay_loop 1\n\
           real_server 127.0.0.1 {p} {{\n    SMTP_CHECK {{\n      helo_name lb.example.org\n      connect_timeout 1\n      retry 0\n      alpha\n\
             host {{\n        connect_ip 127.0.0.1\n        connect_port {h}\n      }}\n    }}\n  }}\n}}\n",
        p = own.port,
        h = host.port,
    );
    let kad = checker(&config);
    let rs = wait_rs(&kad, 0, true);
    // keepalived 2.2.7 makes 1 + N checkers of an SMTP_CHECK with N host blocks.
    assert_eq!(rs["checkers"].as_array().map(Vec::len), Some(2), "{rs}");
    assert_eq!(reason(&rs, 1), "SMTP banner, HELO and QUIT answered");
    // The host's server alone going away brings the real server down.
    host.stop();
    wait_rs(&kad, 0, false);
}

/// SSL `password` decrypts an encrypted (PKCS#8, openssl `-topk8 -v2 aes-256-cbc`) client key:
/// the TLS server below accepts only clients with a certificate from its CA, so SSL_GET passes
/// only if the key was decrypted and the certificate sent.
#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ssl_password_decrypts_the_client_key() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    as_root();
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(vec!["kad test CA".to_string()]).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let client_key = KeyPair::generate().expect("key");
    let client = CertificateParams::new(vec!["client.example.org".to_string()])
        .expect("params")
        .signed_by(&client_key, &ca, &ca_key)
        .expect("client certificate");
    let dir = work_dir();
    let plain_key = dir.join("client.key");
    let enc_key = dir.join("client.enc.key");
    let cert_file = dir.join("client.pem");
    std::fs::write(&plain_key, client_key.serialize_pem()).expect("key");
    std::fs::write(&cert_file, client.pem()).expect("cert");
    let out = std::process::Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:s3cret",
            "-in",
        ])
        .arg(&plain_key)
        .arg("-out")
        .arg(&enc_key)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&plain_key).expect("rm");
    assert!(std::fs::read_to_string(&enc_key)
        .expect("key")
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).expect("root");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .expect("verifier");
    let server_cert = rcgen::generate_simple_self_signed(vec!["check.example.org".to_string()])
        .expect("certificate");
    let server_key =
        rustls::pki_types::PrivateKeyDer::Pkcs8(server_cert.key_pair.serialize_der().into());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_cert.cert.der().clone()], server_key)
            .expect("server config"),
    );
    let server = Server::start(
        0,
        Arc::new(move |s| {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, s);
            if read_head(&mut tls).is_empty() {
                return;
            }
            let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }),
    );
    let config = format!(
        "SSL {{\n  certificate {}\n  key {}\n  password s3cret\n}}\n\
         virtual_server 198.51.100.10 443 {{\n  protocol TCP\n  delay_loop 1\n\
           real_server 127.0.0.1 {p} {{\n    SSL_GET {{\n      url {{\n        path /\n        status_code 200\n      }}\n      connect_timeout 2\n      retry 0\n      alpha\n    }}\n  }}\n}}\n",
        cert_file.display(),
        enc_key.display(),
        p = server.port,
    );
    let kad = checker(&config);
    wait_until("a first SSL_GET", FLIP, || checks_of(&kad, 0) > 0);
    let rs = wait_rs(&kad, 0, true);
    assert_eq!(reason(&rs, 0), "status 200", "{}", kad.log());
}
