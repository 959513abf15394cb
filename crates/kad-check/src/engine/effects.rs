//! What goes into the engine ([`Event`]) and what comes out ([`Effect`]). Effects print as one
//! readable line each (the replay tests compare those lines).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kad_core::config::model::{Config, Script};

use crate::health::Verdict;
use crate::script::{Outcome, ScriptError};
use crate::table::Destination;

/// Something that happened, for the engine to act on (always with the `now` it happened at).
#[derive(Debug, Clone)]
pub enum Event {
    /// Starts the schedule: quorum from the initial states, first attempts spread over warmup.
    Start,
    /// Replaces the configuration: checkers and virtual servers found in both keep their
    /// state (keepalived's rule); attempts in flight are forgotten; then as [`Event::Start`].
    Reload(Arc<Config>),
    /// Timers may be due: starts due attempts, times out late probes.
    Timer,
    /// A probe of checker `checker` ended (or could not start, or a FILE_CHECK was read).
    ProbeDone {
        /// Checker index.
        checker: usize,
        /// Its result.
        verdict: Verdict,
    },
    /// The MISC_CHECK script of `checker` ended.
    ScriptEnded {
        /// Checker index.
        checker: usize,
        /// How it ended.
        outcome: Outcome,
    },
    /// The MISC_CHECK script of `checker` could not start ([`ScriptError::Busy`]: not an
    /// attempt, tried again shortly; anything else: a failed attempt).
    ScriptRefused {
        /// Checker index.
        checker: usize,
        /// Why.
        error: ScriptError,
    },
    /// `ha_suspend`: whether virtual server `vs`'s address is on this node now.
    AddressPresent {
        /// Virtual server index.
        vs: usize,
        /// True if the address is local.
        present: bool,
    },
    /// `kadctl drain`/`undrain`/`weight`: a runtime override of one real server's weight
    /// (named as [`super::vs_key`] and [`super::rs_key`] name them; unknown names do nothing).
    Override {
        /// Virtual server.
        vs: String,
        /// Real server.
        rs: String,
        /// What to do.
        what: kad_ipc::status::Override,
    },
    /// Graceful stop: forgets attempts in flight; with `omega`, runs the down notifiers of
    /// what was up.
    Stop,
}

/// Something the executor must do for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start a network probe (or read the track file of a FILE_CHECK) for `checker`; answer
    /// with [`Event::ProbeDone`].
    StartProbe {
        /// Checker index.
        checker: usize,
        /// Its kind (`TCP_CHECK`, …), for the record.
        kind: &'static str,
        /// Where it connects.
        target: SocketAddr,
    },
    /// The probe of `checker` is past its `connect_timeout`: drop it and answer with
    /// [`Event::ProbeDone`] carrying its timeout verdict.
    TimeOutProbe {
        /// Checker index.
        checker: usize,
    },
    /// Start the MISC_CHECK script of `checker`; answer with [`Event::ScriptEnded`] or
    /// [`Event::ScriptRefused`].
    StartScript {
        /// Checker index.
        checker: usize,
        /// The script (for its user and group).
        script: Script,
        /// Its arguments, split.
        argv: Vec<String>,
        /// Kill it after this long.
        timeout: Duration,
    },
    /// Run a notify or quorum script; nobody waits for it.
    RunNotify {
        /// The script.
        script: Script,
        /// Its arguments, split.
        argv: Vec<String>,
    },
    /// Send an smtp_alert mail.
    Mail {
        /// Subject line.
        subject: String,
        /// Body text.
        body: String,
    },
    /// Virtual server `vs` should now forward to `table` (the kernel's IPVS table follows).
    Destinations {
        /// Virtual server index.
        vs: usize,
        /// Its desired destinations.
        table: Vec<Destination>,
    },
    /// A line for the log (transitions, quorum, ha_suspend): worth an info line.
    Log(String),
    /// A line for the notify FIFOs (`lvs_notify_fifo`, `notify_fifo`): `RS … UP`, `VS … DOWN`.
    Fifo(String),
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::StartProbe {
                checker,
                kind,
                target,
            } => write!(f, "probe #{checker} {kind} {target}"),
            Effect::TimeOutProbe { checker } => write!(f, "time out #{checker}"),
            Effect::StartScript {
                checker,
                argv,
                timeout,
                ..
            } => write!(
                f,
                "script #{checker} {} timeout {}",
                argv.join(" "),
                secs(*timeout)
            ),
            Effect::RunNotify { argv, .. } => write!(f, "notify {}", argv.join(" ")),
            Effect::Mail { subject, body } => write!(f, "mail {subject:?} {body:?}"),
            Effect::Destinations { vs, table } => {
                write!(f, "ipvs vs{vs}:")?;
                if table.is_empty() {
                    return write!(f, " (none)");
                }
                for d in table {
                    let sorry = if d.sorry { " sorry" } else { "" };
                    write!(
                        f,
                        " {} w{}{sorry}",
                        SocketAddr::new(d.addr, d.port),
                        d.weight
                    )?;
                }
                Ok(())
            }
            Effect::Log(line) => write!(f, "log {line}"),
            Effect::Fifo(line) => write!(f, "fifo {line}"),
        }
    }
}

/// `1.5s`, `60s`, `100ms`: a duration as a script writes it.
pub fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}
