//! systemd's readiness protocol: kad started with `NOTIFY_SOCKET` naming a datagram socket
//! this test bound sends `READY=1` (with `MAINPID`) once its instance runs, `RELOADING=1` then
//! `READY=1` around a SIGHUP reload, `STOPPING=1` at SIGTERM, and neither its children nor a
//! script inherit the variable.
//! As root in the test's own namespaces (192.0.2.0/24 on a veth link); ignored when built with
//! KAD_SYSTEM_TESTS=0.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use common::*;

/// The next datagram, as text (panics after a generous timeout).
fn next(sock: &UnixDatagram, kad: &Kad) -> String {
    let mut buf = [0u8; 4096];
    match sock.recv(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => panic!("no notification ({e}); kad's log:\n{}", kad.log()),
    }
}

fn config(script: &Path, priority: u8) -> String {
    format!(
        "vrrp_script chk {{\n    script \"{}\"\n    interval 1\n}}\n\
         vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n\
         \x20   track_script {{\n        chk\n    }}\n    virtual_ipaddress {{\n        192.0.2.100/24\n    }}\n}}\n",
        script.display()
    )
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ready_reloading_stopping_reach_notify_socket_and_scripts_do_not_see_it() {
    use std::os::unix::fs::PermissionsExt;
    as_root();
    let dir = work_dir();
    let env_out = dir.join("script-env.txt");
    let script = dir.join("env.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > {0}.new && mv {0}.new {0}\n",
            env_out.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(dir.join("kad.conf"), config(&script, 100)).expect("config");
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let setup = format!(
        "{} && ip link add eth0 type veth peer name eth1 && ip link set eth1 up && ip link set eth0 up && ip addr add 192.0.2.11/24 dev eth0 && export NOTIFY_SOCKET={}",
        private_dirs(),
        sock_path.display()
    );
    let mut kad = Kad::spawn_in(dir.clone(), &setup, &[]);

    // Start: READY once the instance runs (both children applied the configuration).
    let ready = next(&sock, &kad);
    assert_eq!(ready, format!("READY=1\nMAINPID={}", kad.pid));
    let log = kad.log();
    assert!(log.contains("(VI_1) Entering BACKUP STATE"), "{log}");
    assert_eq!(log.matches(") ready").count(), 2, "{log}");

    // Neither child inherited NOTIFY_SOCKET (only the parent speaks for kad) ...
    let children = kad.children();
    assert_eq!(children.len(), 2, "{children:?}");
    for child in children {
        let environ = std::fs::read(format!("/proc/{child}/environ")).expect("environ");
        let environ = String::from_utf8_lossy(&environ);
        assert!(environ.contains("PATH="), "{environ}");
        assert!(
            !environ.contains("NOTIFY_SOCKET"),
            "child {child}: {environ}"
        );
    }
    // ... and the tracked script ran without it.
    wait_until("the script ran", Duration::from_secs(20), || {
        env_out.exists()
    });
    let env = std::fs::read_to_string(&env_out).expect("env");
    assert!(env.contains("PATH="), "{env}");
    assert!(!env.contains("NOTIFY_SOCKET"), "{env}");

    // SIGHUP: RELOADING, then READY once both children applied the new file.
    std::fs::write(dir.join("kad.conf"), config(&script, 120)).expect("config");
    kad.signal(libc::SIGHUP);
    assert_eq!(next(&sock, &kad), "RELOADING=1");
    assert_eq!(next(&sock, &kad), format!("READY=1\nMAINPID={}", kad.pid));
    assert_eq!(
        kad.log().matches("applied the new configuration").count(),
        2,
        "{}",
        kad.log()
    );

    // A refused file: RELOADING, READY at once (the old configuration runs on).
    std::fs::write(
        dir.join("kad.conf"),
        "vrrp_instance VI_1 {\n priority 999\n}\n",
    )
    .expect("config");
    kad.signal(libc::SIGHUP);
    assert_eq!(next(&sock, &kad), "RELOADING=1");
    assert_eq!(next(&sock, &kad), format!("READY=1\nMAINPID={}", kad.pid));
    assert!(kad.log().contains("reload refused"), "{}", kad.log());

    // SIGTERM: STOPPING, then a clean exit.
    kad.signal(libc::SIGTERM);
    assert_eq!(next(&sock, &kad), "STOPPING=1");
    assert_eq!(kad.wait_exit(Duration::from_secs(30)), Some(0));
    let _ = std::fs::remove_file(&sock_path);
}
