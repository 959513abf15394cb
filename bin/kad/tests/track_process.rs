//! `vrrp_track_process` / `track_process`: a real process, killed and started again, moves the
//! instance to FAULT and back, or changes its priority by the weight. As root in the test's
//! own namespaces (192.0.2.0/24); ignored when built with KAD_SYSTEM_TESTS=0.

mod common;

use std::process::{Child, Command};
use std::time::Duration;

use common::lab::*;
use common::*;

/// A `sleep` whose /proc/PID/comm is `name` (a copy of the binary under that name).
fn sleeper(lab: &Lab, name: &str) -> Child {
    let bin = lab.dir.join(name);
    if !bin.exists() {
        std::fs::copy(sh_out("command -v sleep").trim(), &bin).expect("copy sleep");
    }
    Command::new(&bin)
        .arg("600")
        .spawn()
        .expect("start sleeper")
}

/// A `sleep` whose argv[0] is `name` (`exec -a`), its comm still `sleep`.
fn renamed_sleep(name: &str) -> Child {
    Command::new("bash")
        .args(["-c", &format!("exec -a {name} sleep 600")])
        .spawn()
        .expect("start sleep")
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_tracked_process_with_weight_0_leaves_fault_when_it_runs_again() {
    as_root();
    let lab = Lab::up();
    let name = format!("kadtp{}", std::process::id() % 100000);
    let proc1 = sleeper(&lab, &name);
    let conf = lab.config(
        "n1.conf",
        &format!(
            "vrrp_track_process tp {{\n    process {name}\n    weight 0\n}}\n{}",
            instance(150, "    track_process {\n        tp\n    }\n")
        ),
    );
    let n1 = lab.kad("1", &conf);
    lab.wait_master("1", Duration::from_secs(20));
    stop(proc1);
    wait_until("FAULT", Duration::from_secs(20), || {
        n1.log().contains("(VI_1) Entering FAULT STATE")
    });
    assert!(!lab.has_vip("1"), "{}", n1.log());
    let proc2 = sleeper(&lab, &name);
    lab.wait_master("1", Duration::from_secs(20));
    stop(proc2);
    let log = n1.log();
    assert!(log.contains("Track process tp quorum lost"), "{log}");
    assert!(log.contains("Track process tp quorum reached"), "{log}");
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn a_tracked_full_command_moves_the_priority_by_its_weight() {
    as_root();
    let lab = Lab::up();
    let name = format!("kad-tp-full-{}", std::process::id());
    let conf = lab.config(
        "n1.conf",
        &format!(
            "vrrp_track_process tp {{\n    process {name} 600\n    full_command\n    weight -60\n}}\n{}",
            instance(150, "    track_process {\n        tp\n    }\n")
        ),
    );
    let n1 = lab.kad("1", &conf);
    wait_until(
        "priority 90 without the process",
        Duration::from_secs(20),
        || n1.log().contains("(VI_1) effective priority 150 -> 90"),
    );
    let p = renamed_sleep(&name);
    wait_until("priority 150 with it", Duration::from_secs(20), || {
        n1.log().contains("(VI_1) effective priority 90 -> 150")
    });
    stop(p);
    wait_until("priority 90 again", Duration::from_secs(20), || {
        n1.log()
            .matches("(VI_1) effective priority 150 -> 90")
            .count()
            >= 2
    });
}
