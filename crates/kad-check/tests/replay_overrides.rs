//! Replays of runtime weight overrides (`kadctl drain`, `undrain`, `weight`): applied to the
//! table at once, kept while the real server fails and comes back and across a reload that
//! keeps it, cleared by `undrain`; unknown names change nothing. See `replay/mod.rs`.

mod replay;
use replay::{config, replay};

use std::time::Instant;

use kad_check::engine::{Engine, Event};
use kad_ipc::status::Override;

const TWO: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 { weight 2
    TCP_CHECK { retry 0 } }
  real_server 192.0.2.2 80 { weight 1
    TCP_CHECK { retry 0 } }
}
";

/// TWO with a third real server and UDP virtual server: the reload keeps the first one's
/// overrides.
const THREE: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  real_server 192.0.2.1 80 { weight 2
    TCP_CHECK { retry 0 } }
  real_server 192.0.2.2 80 { weight 1
    TCP_CHECK { retry 0 } }
  real_server 192.0.2.3 80 { weight 1
    TCP_CHECK { retry 0 } }
}
virtual_server 198.51.100.1 53 {
  protocol UDP
  real_server 192.0.2.1 53 { weight 1 }
}
";

#[test]
fn drain_and_weight_change_the_table_at_once_and_survive_failures_and_reloads() {
    replay(
        &[("a", TWO), ("b", THREE)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w2 192.0.2.2:80 w1
@1 drain 198.51.100.1:80 192.0.2.1:80
  log Draining 192.0.2.1:80 in VS 198.51.100.1:80 (weight 0 until undrained)
  ipvs vs0: 192.0.2.1:80 w0 192.0.2.2:80 w1
@1 weight 198.51.100.1:80 192.0.2.2:80 7
  log Weight of 192.0.2.2:80 in VS 198.51.100.1:80 set to 7 until cleared
  ipvs vs0: 192.0.2.1:80 w0 192.0.2.2:80 w7
// Unknown names change nothing.
@1 drain 198.51.100.1:81 192.0.2.1:80
@1 drain 198.51.100.1:80 192.0.2.9:80
@2 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@2.1 down #0 refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: refused
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.2:80 w7
@8.1 timer
  probe #1 TCP_CHECK 192.0.2.2:80
  probe #0 TCP_CHECK 192.0.2.1:80
@8.2 ok #0
  log TCP_CHECK on [192.0.2.1]:tcp:80 succeeded: ok
  log Adding service [192.0.2.1]:tcp:80 to VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w0 192.0.2.2:80 w7
@9 reload b
  ipvs vs0: 192.0.2.1:80 w0 192.0.2.2:80 w7 192.0.2.3:80 w1
  ipvs vs1: 192.0.2.1:53 w1
@10 weight 198.51.100.1:53/udp 192.0.2.1:53 3
  log Weight of 192.0.2.1:53 in VS 198.51.100.1:53/udp set to 3 until cleared
  ipvs vs1: 192.0.2.1:53 w3
@11 undrain 198.51.100.1:80 192.0.2.1:80
  log Override of 192.0.2.1:80 in VS 198.51.100.1:80 cleared
  ipvs vs0: 192.0.2.1:80 w2 192.0.2.2:80 w7 192.0.2.3:80 w1
@12 reload a
  ipvs vs0: 192.0.2.1:80 w2 192.0.2.2:80 w7
"#,
    );
}

/// Two real servers with inhibit_on_failure, a sorry server, quorum 3 (both needed).
const INHIBIT: &str = "
virtual_server 198.51.100.1 80 {
  protocol TCP
  delay_loop 6
  quorum 3
  sorry_server 192.0.2.9 80
  real_server 192.0.2.1 80 { weight 2
    inhibit_on_failure
    TCP_CHECK { retry 0 } }
  real_server 192.0.2.2 80 { weight 1
    inhibit_on_failure
    TCP_CHECK { retry 0 } }
}
";

#[test]
fn an_override_never_revives_a_failed_inhibited_server_nor_beats_the_sorry_server() {
    replay(
        &[("a", INHIBIT)],
        r#"
@0 start
  ipvs vs0: 192.0.2.1:80 w2 192.0.2.2:80 w1
@1 weight 198.51.100.1:80 192.0.2.1:80 5
  log Weight of 192.0.2.1:80 in VS 198.51.100.1:80 set to 5 until cleared
  ipvs vs0: 192.0.2.1:80 w5 192.0.2.2:80 w1
// Quorum lost: the sorry server takes over, the alive real server stays at 0 (not 5).
@2 timer
  probe #0 TCP_CHECK 192.0.2.1:80
@3 timer
  probe #1 TCP_CHECK 192.0.2.2:80
@3.1 down #1 refused
  log TCP_CHECK on [192.0.2.2]:tcp:80 failed: refused
  log Removing service [192.0.2.2]:tcp:80 from VS [198.51.100.1]:tcp:80
  ipvs vs0: 192.0.2.1:80 w0 192.0.2.2:80 w0 192.0.2.9:80 w1 sorry
  log Lost quorum 3-0=3 > 2 for VS [198.51.100.1]:tcp:80
// Failed and inhibited: 0, whatever the override.
@3.2 down #0 refused
  log TCP_CHECK on [192.0.2.1]:tcp:80 failed: refused
  log Removing service [192.0.2.1]:tcp:80 from VS [198.51.100.1]:tcp:80
@4 undrain 198.51.100.1:80 192.0.2.1:80
  log Override of 192.0.2.1:80 in VS 198.51.100.1:80 cleared
@4 weight 198.51.100.1:80 192.0.2.1:80 5
  log Weight of 192.0.2.1:80 in VS 198.51.100.1:80 set to 5 until cleared
"#,
    );
}

#[test]
fn the_status_shows_weight_wanted_weight_and_drained() {
    let now = Instant::now();
    let mut engine = Engine::new(config(TWO), "testhost".into());
    engine.handle(now, Event::Start);
    let over = |vs: &str, rs: &str, what| Event::Override {
        vs: vs.into(),
        rs: rs.into(),
        what,
    };
    engine.handle(
        now,
        over("198.51.100.1:80", "192.0.2.1:80", Override::Drain),
    );
    engine.handle(
        now,
        over("198.51.100.1:80", "192.0.2.2:80", Override::Weight(9)),
    );
    let status = engine.status();
    let vs = &status[0];
    assert_eq!(vs.name, "198.51.100.1:80");
    let [a, b] = &vs.real_servers[..] else {
        panic!("two real servers: {vs:?}");
    };
    assert_eq!(a.address, "192.0.2.1:80");
    assert_eq!((a.weight, a.wanted_weight, a.drained), (2, 0, true));
    assert_eq!(b.address, "192.0.2.2:80");
    assert_eq!(
        (b.weight, b.wanted_weight, b.drained, b.weight_override),
        (1, 9, false, 9)
    );
    assert_eq!(
        engine.find_real_server("198.51.100.1:80", "192.0.2.3:80"),
        None
    );
}
