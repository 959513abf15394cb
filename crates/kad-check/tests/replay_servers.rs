//! Replays of what checker results change: quorum and hysteresis, the sorry server and
//! inhibit_on_failure, dynamic weights, reloads, ha_suspend and smtp_alert mails.
//! See `replay/mod.rs` for the script format.

mod replay;
use replay::replay;

/// Weights 2, 1, 1; quorum 3 with hysteresis 1: lost below 2, regained at 4.
const QUORUM: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  quorum 3
  hysteresis 1
  quorum_up \"/bin/quorum up\"
  quorum_down \"/bin/quorum down\"
  real_server 192.0.2.1 80 { weight 2
    TCP_CHECK { retry 0 } }
  real_server 192.0.2.2 80 { weight 1
    TCP_CHECK { retry 0 } }
  real_server 192.0.2.3 80 { weight 1
    TCP_CHECK { retry 0 } }
}
";

#[test]
fn quorum_is_lost_and_regained_with_hysteresis() {
    replay(
        &[("a", QUORUM)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w2 192.0.2.2:80 w1 192.0.2.3:80 w1
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@0.1 ok #0
@2 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@2.1 down #1 refused
  log TCP_CHECK on [192.0.2.2]:tcp:80 failed: refused
  log Removing service [192.0.2.2]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w2 192.0.2.3:80 w1
@4 timer
  probe #2 TCP_CHECK 192.0.2.3:80
@4.1 down #2 refused
  log TCP_CHECK on [192.0.2.3]:tcp:80 failed: refused
  log Removing service [192.0.2.3]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w2
@6.1 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@6.2 down #0 refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: refused
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: (none)
  log Lost quorum 3-1=2 > 0 for VS [198.51.100.1]:tcp:80
  notify /bin/quorum down
@8.1 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@8.2 ok #1
  log TCP_CHECK on [192.0.2.2]:tcp:80 succeeded: ok
  log Adding service [192.0.2.2]:tcp:80 to VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.2:80 w1
@10.1 timer
  probe #2 TCP_CHECK 192.0.2.3:80
@10.2 ok #2
  log TCP_CHECK on [192.0.2.3]:tcp:80 succeeded: ok
  log Adding service [192.0.2.3]:tcp:80 to VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.2:80 w1 192.0.2.3:80 w1
@12.2 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@12.3 ok #0
  log TCP_CHECK on [192.0.2.1]:tcp:80 succeeded: ok
  log Adding service [192.0.2.1]:tcp:80 to VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w2 192.0.2.2:80 w1 192.0.2.3:80 w1
  log Gained quorum 3+1=4 <= 4 for VS [198.51.100.1]:tcp:80
  notify /bin/quorum up
"#,
    );
}

/// quorum 2; a sorry server (sorry_server_inhibit: kept at weight 0 while unused); the first
/// real server has inhibit_on_failure.
const SORRY: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  quorum 2
  sorry_server 192.0.2.99 8080
  sorry_server_inhibit
  real_server 192.0.2.1 80 { weight 1
    inhibit_on_failure
    TCP_CHECK { retry 0 } }
  real_server 192.0.2.2 80 { weight 1
    TCP_CHECK { retry 0 } }
}
";

#[test]
fn the_sorry_server_takes_over_without_quorum_and_failed_servers_are_inhibited() {
    replay(
        &[("a", SORRY)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1 192.0.2.2:80 w1 192.0.2.99:8080 w0 sorry
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@0.1 down #0 refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: refused
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w0 192.0.2.99:8080 w1 sorry
  log Lost quorum 2-0=2 > 1 for VS [198.51.100.1]:tcp:80
@3 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@3.1 down #1 refused
  log TCP_CHECK on [192.0.2.2]:tcp:80 failed: refused
  log Removing service [192.0.2.2]:tcp:80 from VS [198.51.100.1]:tcp:80
@6.1 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@6.2 ok #0
  log TCP_CHECK on [192.0.2.1]:tcp:80 succeeded: ok
  log Adding service [192.0.2.1]:tcp:80 to VS [198.51.100.1]:tcp:80
@9.1 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@9.2 ok #1
  log TCP_CHECK on [192.0.2.2]:tcp:80 succeeded: ok
  log Adding service [192.0.2.2]:tcp:80 to VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w1 192.0.2.2:80 w1 192.0.2.99:8080 w0 sorry
  log Gained quorum 2+0=2 <= 2 for VS [198.51.100.1]:tcp:80
"#,
    );
}

/// misc_dynamic (weight = exit status − 2) and FILE_CHECK dynamic (weight + value × 2).
const DYNAMIC: &str = "
track_file load {
  file /nonexistent/kad-replay-load
  weight 2
}
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 { weight 1
    MISC_CHECK { misc_path /bin/weigh
      misc_dynamic } }
  real_server 192.0.2.2 80 { weight 1
    FILE_CHECK { track_file load
      dynamic } }
}
";

#[test]
fn dynamic_checkers_change_the_weight() {
    replay(
        &[("a", DYNAMIC)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1 192.0.2.2:80 w1
@0 timer
  script #0 /bin/weigh timeout 6s
@0 exit #0 5
  log Changing weight from 1 to 3 for [192.0.2.1]:tcp:80 of VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w3 192.0.2.2:80 w1
@3 timer
  probe #1 FILE_CHECK 192.0.2.2:80
@3 file #1 3
  log Changing weight from 1 to 7 for [192.0.2.2]:tcp:80 of VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w3 192.0.2.2:80 w7
@6 timer
  script #0 /bin/weigh timeout 6s
@6 exit #0 0
@9 timer
  probe #1 FILE_CHECK 192.0.2.2:80
@9 file #1 -1
  log Changing weight from 7 to 0 for [192.0.2.2]:tcp:80 of VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w3 192.0.2.2:80 w0
@12 timer
  script #0 /bin/weigh timeout 6s
@12 exit #0 1
  log MISC_CHECK on [192.0.2.1]:tcp:80 failed (exit 1), retry 1 of 1
"#,
    );
}

/// Two real servers; after the reload the first is kept, the second replaced by a third.
const RELOAD_A: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 { TCP_CHECK { retry 0 } }
  real_server 192.0.2.2 80 { TCP_CHECK { retry 0 } }
}
";
const RELOAD_B: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 { TCP_CHECK { retry 0 } }
  real_server 192.0.2.3 80 { TCP_CHECK { retry 0 } }
}
";

#[test]
fn a_reload_keeps_the_state_of_unchanged_checkers() {
    replay(
        &[("a", RELOAD_A), ("b", RELOAD_B)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1 192.0.2.2:80 w1
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@0.1 down #0 refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: refused
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.2:80 w1
@5 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@5 reload b
  ipvs vs0: 192.0.2.3:80 w1
@5 down #1 late result of the old probe
// #0 keeps its schedule: due 6 s after its last attempt ended, not re-run at the reload.
@5 timer
@5 next
  next 6.1
@6.1 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@6.2 ok #0
  log TCP_CHECK on [192.0.2.1]:tcp:80 succeeded: ok
  log Adding service [192.0.2.1]:tcp:80 to VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w1 192.0.2.3:80 w1
@8 timer
  probe #1 TCP_CHECK 192.0.2.3:80
"#,
    );
}

const HA_SUSPEND: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  ha_suspend
  real_server 192.0.2.1 80 { TCP_CHECK { retry 0 } }
}
";

#[test]
fn ha_suspend_stops_checks_while_the_address_is_elsewhere() {
    replay(
        &[("a", HA_SUSPEND)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1
@0 ask
  ask vs0 198.51.100.1
@0 present vs0 no
  log VS [198.51.100.1]:tcp:80: address not on this node, checks suspended (ha_suspend)
@0 timer
@0 next
  next 6
@5 ask
@6 ask
  ask vs0 198.51.100.1
@6 present vs0 no
@6 timer
@12 present vs0 yes
  log VS [198.51.100.1]:tcp:80: address present, checks resumed
@12 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@12.1 down #0 refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: refused
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: (none)
  log Lost quorum 1-0=1 > 0 for VS [198.51.100.1]:tcp:80
"#,
    );
}

const MAIL: &str = "
global_defs {
  router_id lb1
  notification_email { ops@example.org }
  smtp_server 127.0.0.1
  smtp_alert
}
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 {
    weight 1
    TCP_CHECK { retry 0 }
  }
  real_server 192.0.2.2 80 {
    weight 1
    smtp_alert off
    TCP_CHECK { retry 0 }
  }
}
";

#[test]
fn a_real_server_going_down_sends_its_alert_mail() {
    replay(
        &[("a", MAIL)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w1 192.0.2.2:80 w1
@0 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@0.1 down #0 connection refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: connection refused
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  mail "[lb1] Realserver [192.0.2.1]:tcp:80 of virtual server [198.51.100.1]:tcp:80 - DOWN" "=> kad: real server [192.0.2.1]:tcp:80 of virtual server [198.51.100.1]:tcp:80 is DOWN <="
  ipvs vs0: 192.0.2.2:80 w1
@3 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@3.1 down #1 connection refused
  log TCP_CHECK on [192.0.2.2]:tcp:80 failed: connection refused
  log Removing service [192.0.2.2]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: (none)
  log Lost quorum 1-0=1 > 0 for VS [198.51.100.1]:tcp:80
  mail "[lb1] Virtualserver [198.51.100.1]:tcp:80 - quorum DOWN" "=> kad: virtual server [198.51.100.1]:tcp:80 quorum is DOWN (alive weight 0) <="
"#,
    );
}
