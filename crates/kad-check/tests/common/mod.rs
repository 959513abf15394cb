//! Shared by the script runner's root-only test binaries.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use kad_check::script::{Outcome, ScriptRunner};

/// Panics unless root: a system test fails loudly rather than skip (KAD_SYSTEM_TESTS=0 at build
/// time marks it ignored instead, see build.rs).
pub fn as_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "system tests run as root (KAD_SYSTEM_TESTS=0 marks them ignored)"
    );
}

pub fn run_to_end(r: &mut ScriptRunner, limit: Duration) -> Vec<(u32, Outcome)> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    while r.running() > 0 {
        assert!(Instant::now() < deadline, "scripts still running");
        out.extend(r.poll(Instant::now()));
        std::thread::sleep(Duration::from_millis(5));
    }
    out
}
