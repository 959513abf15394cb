//! Notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` and their `_script`s)
//! against keepalived 2.2.7 run on the same config in the same namespace. As root in the
//! test's own namespaces (192.0.2.0/24); ignored when built with KAD_SYSTEM_TESTS=0.

mod common;

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::lab::*;
use common::*;

/// Global FIFO lines and a one-member sync group around VI_1 (priority 150).
fn config(global: &str) -> String {
    format!(
        "global_defs {{\n{global}\n}}\nvrrp_sync_group G1 {{\n    group {{\n        VI_1\n    }}\n}}\n{}",
        instance(150, "")
    )
}

/// Reads what a non-blocking reader `fifo` holds, until `want` lines came or 20 s passed.
fn read_lines(fifo: &mut std::fs::File, got: &mut String, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while got.lines().count() < want && Instant::now() < deadline {
        match fifo.read(&mut buf) {
            Ok(n) if n > 0 => got.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    got.lines().map(str::to_string).collect()
}

/// Opens `path` for reading without blocking once it exists.
fn reader(path: &Path) -> std::fs::File {
    wait_until("the FIFO exists", Duration::from_secs(15), || path.exists());
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .expect("open FIFO")
}

/// Starts `daemon` on a config writing to `fifo` (no reader until MASTER), reads its lines at
/// MASTER (buffered in the pipe meanwhile) and after its stop.
fn lines_of(lab: &Lab, fifo: &Path, mut node: Node) -> Vec<String> {
    lab.wait_master("1", Duration::from_secs(20));
    let mut r = reader(fifo);
    let mut got = String::new();
    read_lines(&mut r, &mut got, 4);
    node.term();
    let lines = read_lines(&mut r, &mut got, 6);
    assert!(
        !fifo.exists(),
        "a FIFO the daemon created is removed at its stop"
    );
    lines
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn vrrp_lines_are_keepalived_s_and_reach_the_fifo_script() {
    as_root();
    let lab = Lab::up();
    // keepalived 2.2.7 first, alone on the link.
    let ka_fifo = lab.dir.join("ka.fifo");
    let conf = lab.config(
        "ka.conf",
        &config(&format!("    vrrp_notify_fifo {}", ka_fifo.display())),
    );
    let ka = lines_of(&lab, &ka_fifo, lab.keepalived("1", &conf));
    assert_eq!(
        ka,
        [
            "GROUP \"G1\" BACKUP 0",
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "GROUP \"G1\" MASTER 0",
            "INSTANCE \"VI_1\" STOP 150",
            "GROUP \"G1\" STOP 0",
        ],
        "keepalived 2.2.7"
    );
    // kad on the same config: the same lines on vrrp_notify_fifo, and on notify_fifo, read
    // by notify_fifo_script which gets the FIFO's path as its argument.
    let fifo = lab.dir.join("vrrp.fifo");
    let all = lab.dir.join("all.fifo");
    let out = lab.dir.join("script.out");
    let script = lab.dir.join("reader.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"arg $*\" > {0}.arg\nexec cat \"$1\" >> {0}\n",
            out.display()
        ),
    )
    .expect("script");
    sh(&format!("chmod 755 {}", script.display()));
    let conf = lab.config(
        "kad.conf",
        &config(&format!(
            "    vrrp_notify_fifo {}\n    notify_fifo {}\n    notify_fifo_script {}",
            fifo.display(),
            all.display(),
            script.display()
        )),
    );
    let node = lab.kad("1", &conf);
    wait_until("the script read 4 lines", Duration::from_secs(20), || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.lines().count() >= 4)
    });
    let kad = lines_of(&lab, &fifo, node);
    assert_eq!(kad, ka, "kad's lines against keepalived's");
    let read = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(read.starts_with(&ka[..4].join("\n")), "{read}");
    let arg = std::fs::read_to_string(format!("{}.arg", out.display())).unwrap_or_default();
    assert_eq!(arg.trim(), format!("arg {}", all.display()));
    assert!(!all.exists(), "notify_fifo, created by kad, is removed");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn lvs_lines_come_from_the_checker_and_a_full_fifo_never_stops_vrrp() {
    as_root();
    let lab = Lab::up();
    // A FIFO made beforehand (kept at the end) that nobody reads, filled to the brim: every
    // line kad writes to it is dropped and counted, and VRRP goes on.
    let full = lab.dir.join("full.fifo");
    sh(&format!("mkfifo {}", full.display()));
    let mut filler = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&full)
        .expect("open");
    let block = [b'x'; 4096];
    let mut filled = 0usize;
    while filled < 1 << 20 {
        match std::io::Write::write(&mut filler, &block) {
            Ok(n) => filled += n,
            Err(_) => break,
        }
    }
    assert!(filled < 1 << 20, "the pipe never filled");
    let lvs = lab.dir.join("lvs.fifo");
    let conf = lab.config(
        "kad.conf",
        &format!(
            "global_defs {{\n    lvs_notify_fifo {}\n    vrrp_notify_fifo {}\n}}\n{}virtual_server 192.0.2.11 8080 {{\n    delay_loop 1\n    protocol TCP\n    real_server 192.0.2.11 9999 {{\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n}}\n",
            lvs.display(),
            full.display(),
            instance(150, "")
        ),
    );
    let mut node = lab.kad("1", &conf);
    let mut r = reader(&lvs);
    let mut got = String::new();
    let down = read_lines(&mut r, &mut got, 2);
    assert_eq!(
        down,
        [
            "RS [192.0.2.11]:tcp:9999 [192.0.2.11]:tcp:8080 DOWN",
            "VS [192.0.2.11]:tcp:8080 DOWN",
        ],
        "{}",
        node.log()
    );
    // The real server comes up.
    let server = lab.dir.join("server.py");
    std::fs::write(
        &server,
        "import socket, time\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('192.0.2.11', 9999))\ns.listen(64)\ns.settimeout(1)\nend = time.time() + 60\nwhile time.time() < end:\n    try:\n        s.accept()[0].close()\n    except OSError:\n        pass\n",
    )
    .expect("server");
    let mut srv = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.ns("1"), "python3"])
        .arg(&server)
        .spawn()
        .expect("server");
    let up = read_lines(&mut r, &mut got, 4);
    let _ = srv.kill();
    let _ = srv.wait();
    assert_eq!(
        up[2..],
        [
            "RS [192.0.2.11]:tcp:9999 [192.0.2.11]:tcp:8080 UP",
            "VS [192.0.2.11]:tcp:8080 UP",
        ],
        "{}",
        node.log()
    );
    lab.wait_master("1", Duration::from_secs(20));
    node.term();
    let log = node.log();
    assert!(
        log.contains(&format!("notify FIFO {}: full", full.display())),
        "{log}"
    );
    assert!(full.exists(), "a FIFO found there is kept");
    drop(filler);
    assert!(!lvs.exists(), "a FIFO kad created is removed");
}

/// What a daemon made of `*_notify_fifo PATH USER [GROUP]` (see [`owned_fifos`]).
#[derive(Debug, PartialEq)]
struct Owned {
    /// Mode (with the file type), uid and gid of the FIFO created for `nobody nogroup`.
    created: (u32, u32, u32),
    /// The same for `notify_fifo … nobody` (the user's primary group).
    default_group: (u32, u32, u32),
    /// The same for a FIFO made beforehand (root, 0644), and whether it exists after stop.
    kept: (u32, u32, u32, bool),
    /// The uid and the lines of the `vrrp_notify_fifo_script` run as `nobody`.
    script: (String, Vec<String>),
    /// Whether the FIFO of an unknown user was made, and the created one exists after stop.
    ghost_made: bool,
    /// Whether the daemon logged the unknown owner ("invalid user/group").
    ghost_logged: bool,
    created_after_stop: bool,
}

fn meta(p: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).expect("stat FIFO");
    (m.mode(), m.uid(), m.gid())
}

/// A directory `name` in the lab any user can enter, with an `out` directory any user can write
/// (where the FIFO scripts, run as another user, leave what they read).
fn reader_dirs(lab: &Lab, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let d = lab.dir.join(name);
    let out = d.join("out");
    std::fs::create_dir_all(&out).expect("dir");
    sh(&format!(
        "chmod 755 {} && chmod 777 {}",
        d.display(),
        out.display()
    ));
    (d, out)
}

/// Runs `daemon` (`kad` or `keepalived`) with owned FIFOs in a directory of its own and
/// reports what it made of them.
fn owned_fifos(lab: &Lab, daemon: &str) -> Owned {
    let (d, out) = reader_dirs(lab, &format!("owned-{daemon}"));
    let script = d.join("reader.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nid -u > {0}/uid\nexec cat \"$1\" >> {0}/lines 2>> {0}/err\n",
            out.display()
        ),
    )
    .expect("script");
    sh(&format!("chmod 755 {}", script.display()));
    let (created, all, kept, ghost) = (
        d.join("vrrp.fifo"),
        d.join("all.fifo"),
        d.join("lvs.fifo"),
        d.join("ghost.fifo"),
    );
    sh(&format!("mkfifo -m 644 {}", kept.display()));
    let global = format!(
        "    vrrp_notify_fifo {} nobody nogroup\n    vrrp_notify_fifo_script {} nobody\n    notify_fifo {} nobody\n    lvs_notify_fifo {} nobody nogroup\n",
        created.display(),
        script.display(),
        all.display(),
        kept.display()
    );
    let conf = lab.config(&format!("{daemon}-owned.conf"), &config(&global));
    let mut node = if daemon == "kad" {
        lab.kad("1", &conf)
    } else {
        lab.keepalived("1", &conf)
    };
    lab.wait_master("1", Duration::from_secs(20));
    let (m, kept_meta) = (meta(&created), meta(&kept));
    let default_group = meta(&all);
    // The script's lines (compared below, so a script that could not read fails there).
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && !std::fs::read_to_string(out.join("lines")).is_ok_and(|s| s.lines().count() >= 4)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let script_seen = (
        std::fs::read_to_string(out.join("uid"))
            .unwrap_or_default()
            .trim()
            .to_string(),
        std::fs::read_to_string(out.join("lines"))
            .unwrap_or_default()
            .lines()
            .take(4)
            .map(str::to_string)
            .collect(),
    );
    // An unknown user: the FIFO is ignored (never made), as are its lines.
    let ghost_conf = lab.config(
        &format!("{daemon}-ghost.conf"),
        &config(&format!(
            "    vrrp_notify_fifo {} nosuchuser",
            ghost.display()
        )),
    );
    node.term();
    eprintln!("{daemon} log:\n{}", node.log());
    let kept_after = kept.exists();
    let created_after_stop = created.exists();
    let mut ghost_node = if daemon == "kad" {
        lab.kad("1", &ghost_conf)
    } else {
        lab.keepalived("1", &ghost_conf)
    };
    lab.wait_master("1", Duration::from_secs(20));
    let ghost_made = ghost.exists();
    ghost_node.term();
    let ghost_log = ghost_node.log();
    eprintln!("{daemon} ghost log:\n{ghost_log}");
    let _ = std::fs::remove_dir_all(&d);
    Owned {
        created: m,
        default_group,
        kept: (kept_meta.0, kept_meta.1, kept_meta.2, kept_after),
        script: script_seen,
        ghost_made,
        ghost_logged: ghost_log.to_lowercase().contains("invalid user/group"),
        created_after_stop,
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_fifo_owner_is_applied_as_keepalived_does_and_its_script_reads_as_that_user() {
    as_root();
    let lab = Lab::up();
    let ka = owned_fifos(&lab, "keepalived");
    let fifo = libc::S_IFIFO;
    assert_eq!(
        ka,
        Owned {
            created: (fifo | 0o600, 65534, 65534),
            default_group: (fifo | 0o600, 65534, 65534),
            kept: (fifo | 0o644, 0, 0, true),
            script: (
                "65534".into(),
                vec![
                    "GROUP \"G1\" BACKUP 0".into(),
                    "INSTANCE \"VI_1\" BACKUP 150".into(),
                    "INSTANCE \"VI_1\" MASTER 150".into(),
                    "GROUP \"G1\" MASTER 0".into(),
                ]
            ),
            ghost_made: false,
            ghost_logged: true,
            created_after_stop: false,
        },
        "keepalived 2.2.7"
    );
    let kad = owned_fifos(&lab, "kad");
    assert_eq!(kad, ka, "kad against keepalived 2.2.7");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn an_owned_fifo_is_reopened_by_the_checker_after_a_reload() {
    as_root();
    let lab = Lab::up();
    let (d, out) = reader_dirs(&lab, "owned-reload");
    let script = |n: u32| {
        let p = d.join(format!("reader{n}.sh"));
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nid -u > {0}/uid{n}\nexec cat \"$1\" >> {0}/lines{n}\n",
                out.display()
            ),
        )
        .expect("script");
        sh(&format!("chmod 755 {}", p.display()));
        p
    };
    let (all, lvs) = (d.join("all.fifo"), d.join("lvs.fifo"));
    // The checker writes LVS lines to both FIFOs, opened through the parent (owned by nobody).
    let conf = |n: u32| {
        config(&format!(
            "    notify_fifo {} nobody\n    lvs_notify_fifo {} nobody\n    notify_fifo_script {} nobody\n",
            all.display(),
            lvs.display(),
            script(n).display()
        ))
    };
    let path = lab.config("kad-reload.conf", &conf(1));
    let mut node = lab.kad("1", &path);
    lab.wait_master("1", Duration::from_secs(20));
    wait_until("the script read 4 lines", Duration::from_secs(20), || {
        std::fs::read_to_string(out.join("lines1")).is_ok_and(|s| s.lines().count() >= 4)
    });
    // A reload that changes the FIFOs' settings: the checker closes and reopens them and
    // restarts the script.
    lab.config("kad-reload.conf", &conf(2));
    // SAFETY: signalling a process this test started.
    unsafe { libc::kill(node.proc.id() as i32, libc::SIGHUP) };
    wait_until("the new script started", Duration::from_secs(20), || {
        out.join("uid2").exists()
    });
    wait_until("the reload applied", Duration::from_secs(20), || {
        node.log().matches("applied the new configuration").count() >= 2
    });
    let log = node.log();
    assert!(
        !log.contains("notify FIFO /") && !log.contains("Permission denied"),
        "every FIFO reopened without an error:\n{log}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("uid2"))
            .unwrap_or_default()
            .trim(),
        "65534"
    );
    node.term();
    assert!(
        !all.exists() && !lvs.exists(),
        "the FIFOs kad created are removed"
    );
    let _ = std::fs::remove_dir_all(&d);
}
