//! `vrrp_track_process`, the pure part: which process matches (`process`, parameters,
//! `param_match`, `full_command`, as `man 5 keepalived.conf` says), the parsers of what
//! /proc tells about a process (never panicking on odd contents), and the quorum/delay state
//! of one tracked process with an injected clock.

use std::time::{Duration, Instant};

/// Longest process name the kernel keeps (`/proc/PID/comm`, TASK_COMM_LEN - 1).
pub const COMM_LEN: usize = 15;

/// How parameters are compared (`param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamMatch {
    /// Every parameter, and no more (the default when parameters are given).
    Exact,
    /// The first n parameters; the process may have more.
    Partial,
    /// As partial, and the last configured parameter need only start the process's.
    Initial,
}

/// What a tracked process must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcSpec {
    /// `process` first word: the name (or argv\[0\] with parameters or `full_command`).
    pub process: String,
    /// `process` further words.
    pub params: Vec<String>,
    /// `param_match`, if given (given without parameters: the process must have none).
    pub param_match: Option<ParamMatch>,
    /// `full_command`: compare argv\[0\] instead of the process name.
    pub full_command: bool,
}

impl ProcSpec {
    /// True if it needs the command line (not just the name).
    pub fn needs_cmdline(&self) -> bool {
        self.full_command || !self.params.is_empty() || self.param_match.is_some()
    }

    /// True if a process named `comm` (from /proc/PID/comm) with command line `argv` matches.
    pub fn matches(&self, comm: &[u8], argv: &[&[u8]]) -> bool {
        if !self.needs_cmdline() {
            let want = self.process.as_bytes();
            let want = want.get(..COMM_LEN).unwrap_or(want);
            return comm == want;
        }
        let Some((first, args)) = argv.split_first() else {
            return false;
        };
        if *first != self.process.as_bytes() {
            return false;
        }
        let want = &self.params;
        match self.param_match.unwrap_or(ParamMatch::Exact) {
            _ if want.is_empty() => args.is_empty(),
            ParamMatch::Exact => {
                args.len() == want.len() && args.iter().zip(want).all(|(a, w)| *a == w.as_bytes())
            }
            ParamMatch::Partial => {
                args.len() >= want.len() && args.iter().zip(want).all(|(a, w)| *a == w.as_bytes())
            }
            ParamMatch::Initial => {
                let n = want.len();
                args.len() >= n
                    && args.iter().zip(want).enumerate().all(|(k, (a, w))| {
                        if k + 1 == n {
                            a.starts_with(w.as_bytes())
                        } else {
                            *a == w.as_bytes()
                        }
                    })
            }
        }
    }
}

/// The words of /proc/PID/cmdline (NUL-separated; a trailing NUL ends the last word).
pub fn split_cmdline(raw: &[u8]) -> Vec<&[u8]> {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(|b| *b == 0).collect()
}

/// The name in /proc/PID/comm (its trailing newline removed).
pub fn parse_comm(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\n").unwrap_or(raw)
}

/// The state letter of /proc/PID/stat (`pid (comm) S …`; comm may hold spaces and
/// parentheses, so the state follows the last `)`).
pub fn parse_stat_state(raw: &[u8]) -> Option<u8> {
    let close = raw.iter().rposition(|b| *b == b')')?;
    let rest = raw.get(close.checked_add(1)?..)?;
    let mut words = rest.split(|b| *b == b' ').filter(|w| !w.is_empty());
    words.next().and_then(|w| w.first().copied())
}

/// True if a process in this /proc/PID/stat state counts as running (not a zombie, not
/// dead: keepalived does not count them).
pub fn running_state(state: u8) -> bool {
    !matches!(state, b'Z' | b'X' | b'x')
}

/// Quorum and delays of one `vrrp_track_process`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quorum {
    /// `quorum` (default 1).
    pub min: u32,
    /// `quorum_max` (default: no maximum).
    pub max: Option<u32>,
    /// `fork_delay`: how long a gained quorum must hold before it counts.
    pub fork_delay: Duration,
    /// `terminate_delay`: how long a lost quorum must last before it counts.
    pub terminate_delay: Duration,
}

impl Default for Quorum {
    fn default() -> Self {
        Quorum {
            min: 1,
            max: None,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }
}

/// The reported status of one tracked process: up while the number of matching processes
/// is within the quorum, with the delays applied to changes after the first count.
#[derive(Debug, Clone)]
pub struct ProcState {
    quorum: Quorum,
    /// The status reported (None before the first count).
    reported: Option<bool>,
    /// A change waiting for its delay: the new status and when it takes effect.
    pending: Option<(bool, Instant)>,
}

impl ProcState {
    /// A tracker not yet counted.
    pub fn new(quorum: Quorum) -> Self {
        ProcState {
            quorum,
            reported: None,
            pending: None,
        }
    }

    /// The quorum and delays this tracker counts with.
    pub fn quorum(&self) -> Quorum {
        self.quorum
    }

    /// The status reported so far (None before the first count).
    pub fn status(&self) -> Option<bool> {
        self.reported
    }

    /// When a pending change takes effect.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.map(|(_, at)| at)
    }

    /// `count` matching processes run at `now`: the new status if it changes now. The first
    /// count (the start-up scan) takes effect at once.
    pub fn update(&mut self, now: Instant, count: usize) -> Option<bool> {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let ok = count >= self.quorum.min && self.quorum.max.is_none_or(|m| count <= m);
        let Some(reported) = self.reported else {
            self.reported = Some(ok);
            return Some(ok);
        };
        if ok == reported {
            self.pending = None;
            return None;
        }
        if matches!(self.pending, Some((p, _)) if p == ok) {
            return self.on_timer(now);
        }
        let delay = if ok {
            self.quorum.fork_delay
        } else {
            self.quorum.terminate_delay
        };
        if delay.is_zero() {
            self.reported = Some(ok);
            self.pending = None;
            return Some(ok);
        }
        self.pending = Some((ok, now.checked_add(delay).unwrap_or(now)));
        None
    }

    /// Applies a pending change whose delay is over: the new status, if any.
    pub fn on_timer(&mut self, now: Instant) -> Option<bool> {
        let (ok, at) = self.pending?;
        if now < at {
            return None;
        }
        self.pending = None;
        self.reported = Some(ok);
        Some(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(process: &str, params: &[&str], pm: Option<ParamMatch>, full: bool) -> ProcSpec {
        ProcSpec {
            process: process.into(),
            params: params.iter().map(|p| p.to_string()).collect(),
            param_match: pm,
            full_command: full,
        }
    }

    #[test]
    fn names_match_exactly_not_as_a_pattern() {
        let s = spec("ssh", &[], None, false);
        assert!(s.matches(b"ssh", &[]));
        assert!(
            !s.matches(b"sshd", &[]),
            "pgrep ssh matches sshd; track_process does not"
        );
        // A name past 15 characters is compared as the kernel keeps it.
        let long = spec("kad-tracked-sleeper", &[], None, false);
        assert!(long.matches(b"kad-tracked-sle", &[]));
    }

    #[test]
    fn parameters_exact_partial_initial_and_none() {
        let argv: [&[u8]; 3] = [b"/usr/sbin/haproxy", b"-f", b"/etc/haproxy.cfg"];
        assert!(spec(
            "/usr/sbin/haproxy",
            &["-f", "/etc/haproxy.cfg"],
            None,
            false
        )
        .matches(b"haproxy", &argv));
        assert!(!spec("/usr/sbin/haproxy", &["-f"], None, false).matches(b"haproxy", &argv));
        assert!(spec(
            "/usr/sbin/haproxy",
            &["-f"],
            Some(ParamMatch::Partial),
            false
        )
        .matches(b"haproxy", &argv));
        assert!(spec(
            "/usr/sbin/haproxy",
            &["-f", "/etc/hap"],
            Some(ParamMatch::Initial),
            false
        )
        .matches(b"haproxy", &argv));
        assert!(!spec(
            "/usr/sbin/haproxy",
            &["-f", "/etc/hap"],
            Some(ParamMatch::Partial),
            false
        )
        .matches(b"haproxy", &argv));
        // param_match without parameters: the process must have none.
        let bare = spec("/usr/sbin/haproxy", &[], Some(ParamMatch::Partial), false);
        assert!(!bare.matches(b"haproxy", &argv));
        assert!(bare.matches(b"haproxy", &argv[..1]));
        // full_command compares argv[0], not the name.
        let full = spec("/usr/sbin/haproxy", &[], None, true);
        assert!(full.matches(b"other", &argv[..1]));
        assert!(!full.matches(b"haproxy", &[]));
    }

    #[test]
    fn proc_files_with_odd_contents() {
        assert_eq!(
            split_cmdline(b"a\0b c\0\0d\0"),
            [&b"a"[..], b"b c", b"", b"d"]
        );
        assert!(split_cmdline(b"").is_empty());
        assert_eq!(split_cmdline(b"no-nul"), [&b"no-nul"[..]]);
        assert_eq!(parse_comm(b"sleep\n"), b"sleep");
        assert_eq!(parse_stat_state(b"42 (a) b) (c) Z 1 2"), Some(b'Z'));
        assert_eq!(parse_stat_state(b"42 (x"), None);
        assert_eq!(parse_stat_state(b"42 (x)"), None);
        assert!(!running_state(b'Z') && running_state(b'S'));
    }

    #[test]
    fn quorum_and_delays_with_an_injected_clock() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let mut p = ProcState::new(Quorum {
            min: 2,
            max: Some(3),
            fork_delay: Duration::from_secs(2),
            terminate_delay: Duration::from_secs(5),
        });
        // The start-up scan counts at once.
        assert_eq!(p.update(s(0), 1), Some(false));
        // Quorum gained: up only after fork_delay.
        assert_eq!(p.update(s(1), 2), None);
        assert_eq!(p.next_deadline(), Some(s(3)));
        assert_eq!(p.on_timer(s(2)), None);
        assert_eq!(p.on_timer(s(3)), Some(true));
        // Lost and regained within terminate_delay: no change at all.
        assert_eq!(p.update(s(4), 1), None);
        assert_eq!(p.update(s(6), 2), None);
        assert_eq!(p.next_deadline(), None);
        assert_eq!(p.on_timer(s(20)), None);
        // Too many (quorum_max 3): down after terminate_delay.
        assert_eq!(p.update(s(21), 4), None);
        assert_eq!(p.update(s(25), 4), None);
        assert_eq!(p.update(s(26), 4), Some(false));
        assert_eq!(p.status(), Some(false));
        // Without delays a change is immediate.
        let mut q = ProcState::new(Quorum::default());
        assert_eq!(q.update(s(0), 0), Some(false));
        assert_eq!(q.update(s(1), 1), Some(true));
        assert_eq!(q.update(s(2), 0), Some(false));
    }
}
