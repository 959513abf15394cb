//! Replays of one checker's life: retries, alpha/omega, warmup, probe timeouts, the script cap.
//! See `replay/mod.rs` for the script format.

mod replay;
use replay::replay;

/// One real server behind one TCP_CHECK: retry 2, delay_before_retry 1, connect_timeout 3.
const TCP: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 3
      retry 2
      delay_before_retry 1
    }
  }
}
";

#[test]
fn an_up_checker_is_retried_before_it_goes_down() {
    replay(
        &[("a", TCP)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@0 next
  next 3
@0.5 down #0 connection refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed (connection refused), retry 1 of 2
@0.5 next
  next 1.5
@1.5 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@1.6 down #0 connection refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed (connection refused), retry 2 of 2
@2.6 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@5.6 timer
  time out #0
@5.6 down #0 timed out
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: timed out
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: (none)
  log Lost quorum 1-0=1 > 0 for VS [198.51.100.1]:tcp:80
@5.6 next
  next 11.6
@11.6 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@11.7 down #0 connection refused
@11.7 next
  next 17.7
@17.7 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@17.8 ok #0 connected
  log TCP_CHECK on [192.0.2.1]:tcp:80 succeeded: connected
  log Adding service [192.0.2.1]:tcp:80 to VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w1
  log Gained quorum 1+0=1 <= 1 for VS [198.51.100.1]:tcp:80
@17.8 next
  next 23.8
"#,
    );
}

#[test]
fn a_late_result_after_the_timeout_is_ignored_and_a_success_resets_the_retries() {
    replay(
        &[("a", TCP)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@3 timer
  time out #0
@3 down #0 timed out
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed (timed out), retry 1 of 2
@3.2 ok #0 connected
@4 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@4.1 ok #0 connected
@10.1 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@10.2 down #0 connection refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed (connection refused), retry 1 of 2
"#,
    );
}

/// `alpha`: the checker starts down; `omega`: at stop, the down notifiers of what is up run.
const ALPHA_OMEGA: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  omega
  quorum_down /bin/quorum-down
  real_server 192.0.2.1 80 {
    weight 1
    notify_up \"/bin/note up 1\"
    notify_down \"/bin/note down 1\"
    TCP_CHECK {
      alpha
      retry 0
    }
  }
  real_server 192.0.2.2 80 {
    weight 1
    notify_down \"/bin/note down 2\"
    TCP_CHECK {
      alpha
      retry 0
    }
  }
}
";

#[test]
fn alpha_starts_down_and_omega_runs_the_down_notifiers_at_stop() {
    replay(
        &[("a", ALPHA_OMEGA)],
        r#"
@0 start
  log Lost quorum 1-0=1 > 0 for VS [198.51.100.1]:tcp:80
  notify /bin/quorum-down
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@0.1 ok #0 connected
  log TCP_CHECK on [192.0.2.1]:tcp:80 succeeded: connected
  log Adding service [192.0.2.1]:tcp:80 to VS [198.51.100.1]:tcp:80
  notify /bin/note up 1
  ipvs vs0: 192.0.2.1:80 w1
  log Gained quorum 1+0=1 <= 1 for VS [198.51.100.1]:tcp:80
@3 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@3.1 down #1 connection refused
@4 stop
  notify /bin/note down 1
  notify /bin/quorum-down
@4 next
  next none
"#,
    );
}

/// Four checkers; `warmup 4` spreads their first attempts one second apart.
const WARMUP: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 60
  real_server 192.0.2.1 80 { TCP_CHECK { warmup 4 } }
  real_server 192.0.2.2 80 { TCP_CHECK { warmup 4 } }
  real_server 192.0.2.3 80 { TCP_CHECK { warmup 4 } }
  real_server 192.0.2.4 80 { TCP_CHECK { warmup 4 } }
}
";

#[test]
fn first_attempts_are_spread_over_warmup() {
    replay(
        &[("a", WARMUP)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1 192.0.2.2:80 w1 192.0.2.3:80 w1 192.0.2.4:80 w1
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@0 next
  next 1
@0.9 timer
@1 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@2.5 timer
  probe #2 TCP_CHECK 192.0.2.3:80
@3 timer
  probe #3 TCP_CHECK 192.0.2.4:80
@3 next
  next 5
"#,
    );
}

/// A MISC_CHECK (misc_timeout 5).
const MISC: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 {
    weight 1
    MISC_CHECK {
      misc_path \"/bin/check 192.0.2.1\"
      misc_timeout 5
      retry 0
    }
  }
}
";

#[test]
fn a_script_refused_as_busy_is_retried_shortly_and_not_counted() {
    replay(
        &[("a", MISC)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1
@0 timer
  script #0 /bin/check 192.0.2.1 timeout 5s
@0 busy #0
@0 next
  next 0.1
@0.1 timer
  script #0 /bin/check 192.0.2.1 timeout 5s
@0.1 busy #0
@0.2 timer
  script #0 /bin/check 192.0.2.1 timeout 5s
@0.3 exit #0 0
@0.3 next
  next 6.3
@6.3 timer
  script #0 /bin/check 192.0.2.1 timeout 5s
@6.3 refused #0 /bin/check: no such file
  log MISC_CHECK on [192.0.2.1]:tcp:80 failed: cannot start script: /bin/check: no such file
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: (none)
  log Lost quorum 1-0=1 > 0 for VS [198.51.100.1]:tcp:80
@12.3 timer
  script #0 /bin/check 192.0.2.1 timeout 5s
@12.4 exit #0 0
  log MISC_CHECK on [192.0.2.1]:tcp:80 succeeded: exit 0
  log Adding service [192.0.2.1]:tcp:80 to VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w1
  log Gained quorum 1+0=1 <= 1 for VS [198.51.100.1]:tcp:80
@18.4 timer
  script #0 /bin/check 192.0.2.1 timeout 5s
@23.4 timeout #0
  log MISC_CHECK on [192.0.2.1]:tcp:80 failed: timed out; its process group was killed
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: (none)
  log Lost quorum 1-0=1 > 0 for VS [198.51.100.1]:tcp:80
"#,
    );
}
