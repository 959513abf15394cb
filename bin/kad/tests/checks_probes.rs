//! The checker child's other probes against real targets: MISC_CHECK scripts (exit codes,
//! dynamic weight, timeouts), PING_CHECK to a namespace whose link is cut, UDP_CHECK, an SMTP
//! sink, a DNS responder, and a track file. kad runs as root in its own mount namespace
//! (private /tmp and /run); its state is read from the JSON dump. Ignored when built with
//! KAD_SYSTEM_TESTS=0.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::checker::*;
use common::*;

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn misc_check_exit_codes_dynamic_weight_and_timeouts() {
    as_root();
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
        "global_defs {{\n  script_user root\n}}\nvirtual_server 198.51.100.10 80 {{\n  protocol TCP\n  delay_loop 1\n\
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ping_check_follows_a_link_cut_in_a_namespace() {
    as_root();
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
    let config = "virtual_server 198.51.100.10 80 {\n  protocol TCP\n  delay_loop 1\n  real_server 198.51.100.254 80 {\n    PING_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n}\n";
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn udp_check_with_require_reply_and_port_unreachable() {
    as_root();
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn smtp_check_talks_to_a_sink() {
    as_root();
    let mut sink = Server::start(0, smtp_sink(Arc::new(Mutex::new(Vec::new()))));
    let config = format!(
        "virtual_server 198.51.100.10 25 {{\n  protocol TCP\n  delay_loop 1\n\
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn dns_check_needs_a_noerror_answer() {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    as_root();
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
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn file_check_reads_a_track_file() {
    as_root();
    let dir = work_dir();
    let file = dir.join("weight");
    let config = format!(
        "track_file tf {{\n  file {f}\n  weight 2\n  init_file 0 overwrite\n}}\nvirtual_server 198.51.100.10 80 {{\n  protocol TCP\n  delay_loop 1\n\
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
