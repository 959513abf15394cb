//! Replays of a reload (SIGHUP) seen from the checker engine: what does not change in the
//! file does not change in the engine. An unchanged checker keeps its state, its retry round,
//! its timer and its attempt in flight (renumbered when virtual servers move in the file); an
//! unchanged virtual server emits no table change, so the IPVS diff names only what changed.
//! See `replay/mod.rs` for the script format.

mod replay;
use replay::replay;

/// Two virtual servers; checkers #0 (192.0.2.1), #1 (192.0.2.2), #2 (192.0.2.3).
const BEFORE: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 { TCP_CHECK { retry 1
    delay_before_retry 1 } }
  real_server 192.0.2.2 80 { TCP_CHECK { retry 1
    delay_before_retry 1 } }
}
virtual_server 198.51.100.2 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.3 80 { TCP_CHECK { retry 0 } }
}
";

/// A new virtual server first (so the unchanged one moves: its checkers become #1 and #2),
/// the unchanged one, and the second with its real server replaced (#3).
const AFTER: &str = "
virtual_server 198.51.100.9 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.9 80 { TCP_CHECK { retry 0 } }
}
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 { TCP_CHECK { retry 1
    delay_before_retry 1 } }
  real_server 192.0.2.2 80 { TCP_CHECK { retry 1
    delay_before_retry 1 } }
}
virtual_server 198.51.100.2 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.4 80 { TCP_CHECK { retry 0 } }
}
";

#[test]
fn a_reload_keeps_unchanged_checkers_schedule_attempts_and_table() {
    replay(
        &[("before", BEFORE), ("after", AFTER)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1 192.0.2.2:80 w1
  ipvs vs1: 192.0.2.3:80 w1
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@0.1 down #0 refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed (refused), retry 1 of 1
// #0 retries at 1.1; #1's first attempt is due at 2.
@1.1 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@2 timer
  probe #1 TCP_CHECK 192.0.2.2:80
// Both attempts are in flight. Only the new and the changed virtual server emit a table:
// nothing for 198.51.100.1 (now vs1), so no IPVS change for it.
@2.05 reload after
  ipvs vs0: 192.0.2.9:80 w1
  ipvs vs2: 192.0.2.4:80 w1
// The attempts in flight go on under the new numbers: 192.0.2.1 is #1 and its result ends
// the retry round it was in (down, not "retry 1 of 1" again); 192.0.2.2 is #2.
@2.1 down #1 refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: refused
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs1: 192.0.2.2:80 w1
@2.1 down #2 refused
  log TCP_CHECK on [192.0.2.2]:tcp:80 failed (refused), retry 1 of 1
// Only the new checker (#0) starts at the reload; nothing of the unchanged one is repeated.
@2.2 timer
  probe #0 TCP_CHECK 192.0.2.9:80
@2.3 ok #0
@3 timer
@3.1 timer
  probe #2 TCP_CHECK 192.0.2.2:80
@3.2 ok #2
@6.55 timer
  probe #3 TCP_CHECK 192.0.2.4:80
@8.1 timer
  probe #1 TCP_CHECK 192.0.2.1:80
"#,
    );
}
