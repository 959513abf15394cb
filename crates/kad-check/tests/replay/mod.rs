//! Replays of the checker engine: a readable event script in, the expected effects out. No
//! root, no sockets, no processes, no clock: the script says when each event happens.
//!
//! A script is a list of events, each followed by the effects it must produce (indented, one
//! per line, in order, compared exactly with [`Effect`]'s `Display`):
//!
//! ```text
//! @0 start                       Event::Start on the first configuration
//!   ipvs vs0: 192.0.2.1:80 w1
//! @0 timer                       Event::Timer
//!   probe #0 TCP_CHECK 192.0.2.1:80
//! @0.5 down #0 refused           ProbeDone, failed, reason "refused"
//! @0.5 ok #0                     ProbeDone, passed
//! @1 file #0 3                   ProbeDone of a FILE_CHECK whose file holds 3
//! @1 exit #0 2                   ScriptEnded, exit status 2 (`timeout #0`: timed out)
//! @1 busy #0                     ScriptRefused(Busy)   (`refused #0 why`: Spawn(why))
//! @2 present vs0 no              AddressPresent
//! @3 reload b                    Reload with the configuration named b
//! @4 stop                        Stop
//! @4 drain VS RS                 Override Drain (`undrain VS RS`: Clear, `weight VS RS N`)
//! @4 next                        (a question) prints `next <secs>`: the engine's deadline
//! @4 ask                         (a question) prints `ask vs<n> <addr>` per ha_suspend address
//! ```
//!
//! A mismatch fails with the whole actual transcript, in the same format.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kad_check::engine::{Effect, Engine, Event};
use kad_check::health::Verdict;
use kad_check::script::{Outcome, ScriptError};
use kad_core::config::{parse_file, Config, ParseOptions};

/// Parses a keepalived.conf text (written to a temporary file: the parser reads files).
pub fn config(text: &str) -> Arc<Config> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "kad-replay-{}-{}.conf",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).expect("write the config");
    let parsed = parse_file(&path, &ParseOptions::default());
    let _ = std::fs::remove_file(&path);
    let rendered = parsed.rendered();
    Arc::new(
        parsed
            .config
            .unwrap_or_else(|| panic!("bad config: {rendered:?}")),
    )
}

fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}", ms / 1000)
    } else {
        format!("{}", d.as_secs_f64())
    }
}

fn checker(word: Option<&str>) -> usize {
    word.and_then(|w| w.strip_prefix('#'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("want #N, got {word:?}"))
}

/// Runs `script` against `configs` (the first is the one started; `reload NAME` names the
/// others) and asserts the effects.
pub fn replay(configs: &[(&str, &str)], script: &str) {
    let configs: Vec<(&str, Arc<Config>)> = configs.iter().map(|(n, t)| (*n, config(t))).collect();
    let t0 = Instant::now();
    let mut engine = Engine::new(configs[0].1.clone(), "testhost".into());
    let mut last = t0;
    let mut actual = String::new();
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in script.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if line.starts_with('@') {
            steps.push((line.to_string(), Vec::new()));
        } else {
            steps
                .last_mut()
                .unwrap_or_else(|| panic!("an effect before any event: {line}"))
                .1
                .push(line.to_string());
        }
    }
    let mut failed = false;
    for (event_line, expected) in &steps {
        let mut words = event_line[1..].split_whitespace();
        let at: f64 = words
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("bad time in {event_line}"));
        let now = t0 + Duration::from_secs_f64(at);
        assert!(now >= last, "time goes back at {event_line}");
        last = now;
        let verb = words
            .next()
            .unwrap_or_else(|| panic!("no event: {event_line}"));
        let rest: Vec<&str> = words.collect();
        let arg = |n: usize| rest.get(n).copied();
        let text = || rest.get(1..).map(|r| r.join(" ")).unwrap_or_default();
        let event = match verb {
            "start" => Some(Event::Start),
            "timer" => Some(Event::Timer),
            "stop" => Some(Event::Stop),
            "ok" => Some(Event::ProbeDone {
                checker: checker(arg(0)),
                verdict: Verdict::up(if text().is_empty() {
                    "ok".into()
                } else {
                    text()
                }),
            }),
            "down" => Some(Event::ProbeDone {
                checker: checker(arg(0)),
                verdict: Verdict::down(text()),
            }),
            "file" => {
                let i = checker(arg(0));
                let value = arg(1).and_then(|v| v.parse().ok()).expect("file #N VALUE");
                let kind = &engine.checker(i).expect("no such checker").kind;
                let verdict =
                    kad_check::file_check::verdict_for_value(engine.config(), kind, value);
                Some(Event::ProbeDone {
                    checker: i,
                    verdict,
                })
            }
            "exit" => Some(Event::ScriptEnded {
                checker: checker(arg(0)),
                outcome: Outcome::Exited(
                    arg(1).and_then(|v| v.parse().ok()).expect("exit #N CODE"),
                ),
            }),
            "timeout" => Some(Event::ScriptEnded {
                checker: checker(arg(0)),
                outcome: Outcome::TimedOut,
            }),
            "busy" => Some(Event::ScriptRefused {
                checker: checker(arg(0)),
                error: ScriptError::Busy,
            }),
            "refused" => Some(Event::ScriptRefused {
                checker: checker(arg(0)),
                error: ScriptError::Spawn(text()),
            }),
            "present" => Some(Event::AddressPresent {
                vs: arg(0)
                    .and_then(|v| v.strip_prefix("vs"))
                    .and_then(|v| v.parse().ok())
                    .expect("present vsN yes|no"),
                present: arg(1) == Some("yes"),
            }),
            "reload" => {
                let name = arg(0).expect("reload NAME");
                let cfg = configs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .unwrap_or_else(|| panic!("no configuration {name}"));
                Some(Event::Reload(cfg.1.clone()))
            }
            "drain" | "undrain" | "weight" => {
                use kad_ipc::status::Override;
                let what = match verb {
                    "drain" => Override::Drain,
                    "undrain" => Override::Clear,
                    _ => Override::Weight(arg(2).and_then(|w| w.parse().ok()).expect("weight N")),
                };
                Some(Event::Override {
                    vs: arg(0).expect("VS").to_string(),
                    rs: arg(1).expect("RS").to_string(),
                    what,
                })
            }
            "next" | "ask" => None,
            other => panic!("unknown event {other} in {event_line}"),
        };
        let got: Vec<String> = match (event, verb) {
            (Some(e), _) => engine
                .handle(now, e)
                .iter()
                .map(Effect::to_string)
                .collect(),
            (None, "next") => vec![match engine.next_deadline() {
                Some(t) => format!("next {}", secs(t.saturating_duration_since(t0))),
                None => "next none".into(),
            }],
            (None, _) => engine
                .addresses_to_check(now)
                .iter()
                .map(|(v, a)| format!("ask vs{v} {a}"))
                .collect(),
        };
        actual.push_str(event_line);
        actual.push('\n');
        for g in &got {
            actual.push_str("  ");
            actual.push_str(g);
            actual.push('\n');
        }
        if &got != expected {
            failed = true;
            actual.push_str("  // ^ expected:\n");
            for e in expected {
                actual.push_str("  //   ");
                actual.push_str(e);
                actual.push('\n');
            }
        }
    }
    assert!(!failed, "replay differs; actual transcript:\n{actual}");
}
