//! What a VRRP configuration drives on real links: reloads that leave other instances alone,
//! track_script and track_interface weights and faults, notify scripts, sync groups (two and
//! three nodes) and SMTP alerts. As root; ignored when built with KAD_SYSTEM_TESTS=0.
//! Addresses: 192.0.2.0/24 inside the test's own namespaces.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::lab::*;
use common::*;

fn named(name: &str, vrid: u8, vip: &str) -> String {
    format!("vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    priority 150\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n")
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn reload_changes_other_instances_without_a_flap() {
    as_root();
    let lab = Lab::up();
    let conf = lab.config(
        "n1.conf",
        &format!(
            "{}{}",
            named("VI_1", 51, VIP),
            named("VI_2", 52, "192.0.2.101")
        ),
    );
    let n1 = lab.kad("1", &conf);
    let on1 = |ip: &str| lab.holds("1", ip, Some("eth0"));
    wait_until("both instances master", Duration::from_secs(8), || {
        on1("192.0.2.100") && on1("192.0.2.101")
    });
    // A client pings VI_1's VIP every 50 ms across the reload.
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns("c"),
            "ping",
            "-n",
            "-i",
            "0.05",
            "-c",
            "80",
            "-W",
            "1",
            VIP,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ping");
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::write(
        &conf,
        format!(
            "{}{}{}",
            named("VI_1", 51, VIP),
            named("VI_2", 52, "192.0.2.102"),
            named("VI_3", 53, "192.0.2.103")
        ),
    )
    .expect("rewrite");
    // SAFETY: signalling the kad parent this test started.
    unsafe { libc::kill(n1.proc.id() as i32, libc::SIGHUP) };
    let out = ping.wait_with_output().expect("ping result");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("80 packets transmitted, 80 received, 0% packet loss"),
        "{text}"
    );
    wait_until(
        "VI_2 moved to .102, VI_3 master",
        Duration::from_secs(8),
        || on1("192.0.2.102") && !on1("192.0.2.101") && on1("192.0.2.103"),
    );
    let log = n1.log();
    assert_eq!(
        log.matches("(VI_1) Entering").count(),
        2,
        "VI_1 went BACKUP then MASTER once, no flap:\n{log}"
    );
    assert_eq!(
        log.matches("(VI_2) Entering").count(),
        2,
        "VI_2 kept its state:\n{log}"
    );
    assert!(
        log.contains("(VI_2) reloaded: 1 VIP(s) added, 1 removed"),
        "{log}"
    );
    assert!(log.contains("(VI_3) new instance"), "{log}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn track_script_and_track_interface_drive_priority_and_fault() {
    as_root();
    let lab = Lab::up();
    // Scripts run inside kad's namespaces (its own /tmp): the flag files live in the lab's
    // directory, which the default script user (root, or keepalived_script) can reach.
    let flags = lab.dir.join("flags");
    std::fs::create_dir_all(&flags).expect("flag dir");
    let healthy = flags.join("healthy");
    let alive = flags.join("alive");
    std::fs::write(&healthy, "").expect("flag");
    std::fs::write(&alive, "").expect("flag");
    let n1_conf = format!(
        "vrrp_script chk_health {{\n    script \"/usr/bin/test -f {}\"\n    interval 0.2\n    weight -60\n    fall 2\n    rise 2\n}}\nvrrp_script chk_alive {{\n    script \"/usr/bin/test -f {}\"\n    interval 0.2\n}}\n{}",
        healthy.display(),
        alive.display(),
        instance(150, "    track_script {\n        chk_health\n        chk_alive\n    }\n    track_interface {\n        lo\n    }\n")
    );
    let n1 = lab.kad("1", &lab.config("n1.conf", &n1_conf));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    lab.wait_master("1", Duration::from_secs(8));
    // A failing weighted script lowers node 1 to 90 < 100: node 2 takes over.
    std::fs::remove_file(&healthy).expect("unflag");
    wait_until(
        "node 2 master after chk_health fails",
        Duration::from_secs(8),
        || lab.has_vip("2") && !lab.has_vip("1"),
    );
    assert!(
        n1.log().contains("(VI_1) effective priority 150 -> 90"),
        "{}",
        n1.log()
    );
    std::fs::write(&healthy, "").expect("flag");
    wait_until("node 1 master again", Duration::from_secs(8), || {
        lab.has_vip("1") && !lab.has_vip("2")
    });
    // A failing unweighted (weight 0) script means FAULT.
    std::fs::remove_file(&alive).expect("unflag");
    wait_until("node 1 in FAULT", Duration::from_secs(5), || {
        n1.log().contains("(VI_1) Entering FAULT STATE")
    });
    wait_until("node 2 master", Duration::from_secs(8), || {
        lab.has_vip("2") && !lab.has_vip("1")
    });
    std::fs::write(&alive, "").expect("flag");
    wait_until("node 1 back and master", Duration::from_secs(10), || {
        lab.has_vip("1") && !lab.has_vip("2")
    });
    // A tracked interface (no weight) going down means FAULT too.
    sh(&format!("ip -n {} link set lo down", lab.ns("1")));
    wait_until(
        "node 2 master after lo went down on node 1",
        Duration::from_secs(8),
        || lab.has_vip("2") && !lab.has_vip("1"),
    );
    sh(&format!("ip -n {} link set lo up", lab.ns("1")));
    lab.wait_master("1", Duration::from_secs(10));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn notify_scripts_run_as_the_script_user_with_keepalived_arguments() {
    as_root();
    let lab = Lab::up();
    let (out, script) = lab.recording_script("notify", true);
    let extra = format!(
        "    notify_master \"{s} master-event\"\n    notify_backup \"{s} backup-event\"\n    notify_stop \"{s} stop-event\"\n    notify {s}\n",
        s = script.display()
    );
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, &extra)));
    lab.wait_master("1", Duration::from_secs(8));
    // keepalived 2.2.7's default script user: keepalived_script where it exists, else root.
    let default_user = sh_out("id -u keepalived_script 2>/dev/null || echo 0")
        .trim()
        .to_string();
    let nobody = &default_user;
    wait_until("notify lines", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        [
            format!("{nobody} backup-event"),
            format!("{nobody} INSTANCE VI_1 BACKUP 150"),
            format!("{nobody} master-event"),
            format!("{nobody} INSTANCE VI_1 MASTER 150"),
        ]
        .iter()
        .all(|l| text.lines().any(|x| x == l))
    });
    // keepalived's warnings about the default: scripts without enable_script_security.
    let log = n1.log();
    assert!(
        log.contains(
            "warning: SECURITY VIOLATION - scripts are being executed but script_security not enabled."
        ),
        "{log}"
    );
    if default_user == "0" {
        assert!(
            log.contains("warning: Script user 'keepalived_script' does not exist"),
            "{log}"
        );
    }
    // A clean stop runs notify_stop (and notify with STOP) before kad exits.
    n1.term();
    wait_until("stop notifications", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        text.lines().any(|l| l == format!("{nobody} stop-event"))
            && text
                .lines()
                .any(|l| l == format!("{nobody} INSTANCE VI_1 STOP 150"))
    });
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn sync_group_members_move_together() {
    as_root();
    let lab = Lab::up();
    let (out, notify) = lab.recording_script("group", false);
    let notify = notify.display().to_string();
    let group = |prio: u8, track_lo: bool| {
        let track = if track_lo {
            "    track_interface {\n        lo\n    }\n"
        } else {
            ""
        };
        format!(
            "vrrp_sync_group G {{\n    group {{\n        VI_A\n        VI_B\n    }}\n    notify {notify}\n}}\n\
             vrrp_instance VI_A {{\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\
             vrrp_instance VI_B {{\n    interface eth0\n    virtual_router_id 52\n    priority {prio}\n    advert_int 1\n{track}    virtual_ipaddress {{\n        192.0.2.101/24\n    }}\n}}\n"
        )
    };
    let n1 = lab.kad("1", &lab.config("n1.conf", &group(150, true)));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &group(100, false)));
    let holds = |n: &str, ip: &str| lab.holds(n, ip, Some("eth0"));
    wait_until("node 1 master of both", Duration::from_secs(8), || {
        holds("1", VIP) && holds("1", "192.0.2.101")
    });
    // Only VI_B tracks lo; the group takes VI_A down with it.
    sh(&format!("ip -n {} link set lo down", lab.ns("1")));
    wait_until("node 2 master of both", Duration::from_secs(8), || {
        holds("2", VIP)
            && holds("2", "192.0.2.101")
            && !holds("1", VIP)
            && !holds("1", "192.0.2.101")
    });
    let log = n1.log();
    assert!(log.contains("(VI_A) Entering FAULT STATE"), "{log}");
    sh(&format!("ip -n {} link set lo up", lab.ns("1")));
    wait_until(
        "node 1 master of both again",
        Duration::from_secs(10),
        || {
            holds("1", VIP)
                && holds("1", "192.0.2.101")
                && !holds("2", VIP)
                && !holds("2", "192.0.2.101")
        },
    );
    // The group's notify ran once per group state, with GROUP <name> <STATE> (node 1 only
    // writes here; node 2 runs the same script on its own transitions too).
    wait_until("group notifications", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        ["GROUP G MASTER", "GROUP G FAULT"]
            .iter()
            .all(|line| text.lines().any(|l| l == *line))
    });
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_sync_group_across_three_nodes_moves_as_one() {
    as_root();
    let lab = Lab::up();
    lab.add_node3();
    let group = |prio: u8| {
        format!(
            "vrrp_sync_group G {{\n    group {{\n        VI_A\n        VI_B\n    }}\n}}\n\
             vrrp_instance VI_A {{\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\
             vrrp_instance VI_B {{\n    interface eth0\n    virtual_router_id 52\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        192.0.2.101/24\n    }}\n}}\n"
        )
    };
    let holds = |n: &str, ip: &str| lab.holds(n, ip, Some("eth0"));
    let both = |n: &str| holds(n, VIP) && holds(n, "192.0.2.101");
    let none = |n: &str| !holds(n, VIP) && !holds(n, "192.0.2.101");
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &group(150)));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &group(100)));
    let _n3 = lab.kad("3", &lab.config("n3.conf", &group(50)));
    wait_until("node 1 holds both", Duration::from_secs(8), || both("1"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(none("2") && none("3"));
    n1.term();
    wait_until("node 2 holds both", Duration::from_secs(4), || {
        both("2") && none("1")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(none("3"), "the group did not split across nodes 2 and 3");
}

/// A minimal SMTP sink at 192.0.2.2:2525 in namespace `ns`: accepts mails for `secs` and
/// returns each one's transcript (commands and data as received).
fn smtp_sink(ns: String, secs: u64) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns");
        // SAFETY: moves only this thread into the test's network namespace.
        unsafe {
            use std::os::fd::AsRawFd;
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
        }
        let listener = std::net::TcpListener::bind("192.0.2.2:2525").expect("bind sink");
        listener.set_nonblocking(true).expect("nonblocking");
        let end = Instant::now() + Duration::from_secs(secs);
        let mut mails = Vec::new();
        while Instant::now() < end {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            stream.set_nonblocking(false).expect("blocking");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut w = stream.try_clone().expect("clone");
            let mut r = BufReader::new(stream);
            let mut transcript = String::new();
            let _ = w.write_all(b"220 sink ESMTP\r\n");
            let mut in_data = false;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                transcript.push_str(&line);
                let reply: &[u8] = if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        b"250 queued\r\n"
                    } else {
                        b""
                    }
                } else if line.starts_with("DATA") {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if line.starts_with("QUIT") {
                    let _ = w.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = w.write_all(reply);
                line.clear();
            }
            mails.push(transcript);
        }
        mails
    })
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn smtp_alert_mails_each_transition() {
    as_root();
    let lab = Lab::up();
    let sink = smtp_sink(lab.ns("c"), 8);
    std::thread::sleep(Duration::from_millis(200));
    let conf = format!(
        "global_defs {{\n    router_id lb1\n    notification_email {{\n        ops@example.org\n    }}\n    notification_email_from kad@example.org\n    smtp_server 192.0.2.2 2525\n    smtp_connect_timeout 5\n}}\n{}",
        instance(150, "    smtp_alert\n")
    );
    let _n1 = lab.kad("1", &lab.config("n1.conf", &conf));
    lab.wait_master("1", Duration::from_secs(8));
    let mails = sink.join().expect("sink");
    assert_eq!(mails.len(), 2, "{mails:#?}");
    for (mail, state) in mails.iter().zip(["BACKUP", "MASTER"]) {
        assert!(
            mail.contains("MAIL FROM:<kad@example.org>\r\n")
                && mail.contains("RCPT TO:<ops@example.org>\r\n"),
            "{mail}"
        );
        assert!(
            mail.contains(&format!(
                "Subject: [lb1] VRRP Instance VI_1 - Entering {state} state\r\n"
            )),
            "{mail}"
        );
        assert!(mail.ends_with("QUIT\r\n"), "{mail}");
    }
}
