//! The checker child's cap on scripts running at once, alone in its own test binary: it fills
//! the process-wide count, which would refuse the scripts of any test running beside it.

mod common;

use std::time::Duration;

use common::{as_root, run_to_end};
use kad_check::script::{
    running_everywhere, Outcome, RunAs, ScriptError, ScriptRunner, MAX_RUNNING_SCRIPTS,
};

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn past_the_global_cap_scripts_wait_and_adopted_scripts_are_still_timed_out() {
    as_root();
    let root = RunAs { uid: 0, gid: 0 };
    let sleep = ["/bin/sleep".to_string(), "30".to_string()];
    let mut first = ScriptRunner::default();
    let mut busy = false;
    for _ in 0..=MAX_RUNNING_SCRIPTS {
        match first.start_argv(&sleep, root, Duration::from_millis(500), false) {
            Ok(_) => {}
            Err(ScriptError::Busy) => {
                busy = true;
                break;
            }
            Err(e) => panic!("cannot start: {e}"),
        }
    }
    assert!(busy, "the cap of {MAX_RUNNING_SCRIPTS} was never reached");
    assert!(first.running() > MAX_RUNNING_SCRIPTS / 2);
    assert!(running_everywhere() >= first.running());
    // A reload replaces the runner: the new one takes the scripts over.
    let started = first.running();
    let mut second = ScriptRunner::default();
    second.adopt(std::mem::take(&mut first));
    assert_eq!(second.running(), started);
    let ended = run_to_end(&mut second, Duration::from_secs(30));
    assert_eq!(ended.len(), started);
    assert!(ended.iter().all(|(_, o)| *o == Outcome::TimedOut));
    let pid = second
        .start_argv(
            &["/bin/true".to_string()],
            root,
            Duration::from_secs(5),
            false,
        )
        .expect("a slot is free again");
    assert_eq!(
        run_to_end(&mut second, Duration::from_secs(10)),
        [(pid, Outcome::Exited(0))]
    );
}
