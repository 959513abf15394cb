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
    let mut config = String::from("virtual_server 198.51.100.10 80 {\n  delay_loop 1\n");
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
