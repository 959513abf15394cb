//! Logging for every kad process: the `log` facade, sent to syslog and, with `-l`, to stderr.
//!
//! Lines are tagged per process as keepalived's are: `kad[PID]`, `kad_vrrp[PID]`,
//! `kad_checker[PID]`. `log` allows one logger per process, and a forked child inherits the
//! parent's, so the child calls [`set_ident`] to retag (and reconnect syslog) after fork.

use std::io::Write;
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};
use syslog::{Facility, Formatter3164, LoggerBackend};

/// How a process logs.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Also write to stderr (`-l`).
    pub console: bool,
    /// Debug-level detail (`-D`).
    pub detail: bool,
    /// `-S N`: local0..local7; [`FACILITY_USER`]: user; `None`: daemon.
    pub facility: Option<u8>,
}

/// `LogOptions::facility` for syslog's `user` facility (`-S user`).
pub const FACILITY_USER: u8 = 8;

/// Set in the environment (by `-G`, and so inherited by the children): no syslog, only the
/// console output `-l` asks for.
pub const NO_SYSLOG_ENV: &str = "KAD_NO_SYSLOG";

struct State {
    ident: String,
    options: LogOptions,
    syslog: Option<syslog::Logger<LoggerBackend, Formatter3164>>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

struct KadLogger;

static LOGGER: KadLogger = KadLogger;

fn facility(n: Option<u8>) -> Facility {
    match n {
        Some(0) => Facility::LOG_LOCAL0,
        Some(1) => Facility::LOG_LOCAL1,
        Some(2) => Facility::LOG_LOCAL2,
        Some(3) => Facility::LOG_LOCAL3,
        Some(4) => Facility::LOG_LOCAL4,
        Some(5) => Facility::LOG_LOCAL5,
        Some(6) => Facility::LOG_LOCAL6,
        Some(7) => Facility::LOG_LOCAL7,
        Some(FACILITY_USER) => Facility::LOG_USER,
        _ => Facility::LOG_DAEMON,
    }
}

fn connect(
    ident: &str,
    options: &LogOptions,
) -> Option<syslog::Logger<LoggerBackend, Formatter3164>> {
    if std::env::var_os(NO_SYSLOG_ENV).is_some() {
        return None;
    }
    syslog::unix(Formatter3164 {
        facility: facility(options.facility),
        hostname: None,
        process: ident.to_string(),
        pid: std::process::id(),
    })
    .ok()
}

/// Installs the logger for this process with `ident` (`kad`, `kad_vrrp`, `kad_checker`).
/// Without a syslog socket (as in some containers) only the console output remains.
pub fn init(ident: &str, options: LogOptions) {
    let level = if options.detail {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    set_state(ident, options);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// Retags this process's log lines (after fork) and reconnects syslog with the new pid.
pub fn set_ident(ident: &str) {
    let options = match STATE.lock() {
        Ok(guard) => guard.as_ref().map(|s| s.options.clone()),
        Err(_) => None,
    };
    if let Some(options) = options {
        set_state(ident, options);
    }
}

fn set_state(ident: &str, options: LogOptions) {
    let syslog = connect(ident, &options);
    if let Ok(mut guard) = STATE.lock() {
        *guard = Some(State {
            ident: ident.to_string(),
            options,
            syslog,
        });
    }
}

impl Log for KadLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let Ok(mut guard) = STATE.lock() else { return };
        let Some(state) = guard.as_mut() else { return };
        let msg = record.args().to_string();
        if state.options.console {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            // One write per line: processes sharing stderr must not interleave within a line.
            let line = format!(
                "{}.{:03} {}[{}]: {}\n",
                now.as_secs(),
                now.subsec_millis(),
                state.ident,
                std::process::id(),
                msg
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        if let Some(s) = state.syslog.as_mut() {
            let _ = match record.level() {
                Level::Error => s.err(&msg),
                Level::Warn => s.warning(&msg),
                Level::Info => s.info(&msg),
                Level::Debug | Level::Trace => s.debug(&msg),
            };
        }
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}
