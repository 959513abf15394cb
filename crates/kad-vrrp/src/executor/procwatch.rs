//! `vrrp_track_process`, the I/O part: a scan of /proc (every [`SCAN_EVERY`], and once before
//! the instances start) counts the running processes matching each tracker; the pure
//! [`crate::process_track`] applies quorum and delays. keepalived follows process events
//! through the netlink proc connector instead; a short-period scan is far simpler, needs no
//! extra capability or socket, and costs one pass over /proc per period (reading cmdline
//! only when a tracker needs it). A process started and ended between two scans is missed.

use std::time::{Duration, Instant};

use kad_core::config::model::{Config, ParamMatch as CfgMatch};

use crate::process_track::{
    parse_comm, parse_stat_state, running_state, split_cmdline, ParamMatch, ProcSpec, ProcState,
    Quorum,
};

/// How often /proc is scanned.
pub(super) const SCAN_EVERY: Duration = Duration::from_millis(500);
/// At most this many bytes of a /proc file are read.
const READ_MAX: u64 = 64 * 1024;

struct Tracker {
    name: String,
    spec: ProcSpec,
    state: ProcState,
}

/// The trackers of the configuration and when to scan next.
#[derive(Default)]
pub(super) struct ProcWatch {
    trackers: Vec<Tracker>,
    next_scan: Option<Instant>,
}

fn tracker(p: &kad_core::config::model::TrackProcess) -> Tracker {
    Tracker {
        name: p.name.clone(),
        spec: ProcSpec {
            process: p.process.clone(),
            params: p.params.clone(),
            param_match: p.param_match.map(|m| match m {
                CfgMatch::Partial => ParamMatch::Partial,
                CfgMatch::Initial => ParamMatch::Initial,
            }),
            full_command: p.full_command,
        },
        state: ProcState::new(Quorum {
            min: p.quorum,
            max: p.quorum_max,
            fork_delay: p.fork_delay,
            terminate_delay: p.terminate_delay,
        }),
    }
}

/// Reads at most [`READ_MAX`] bytes of a /proc file (None if it is gone or unreadable).
fn read(path: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(READ_MAX)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

impl ProcWatch {
    /// Trackers for `config`: one whose name, match and quorum/delays are unchanged keeps its
    /// status; any other (a reload changing `quorum`, say) is counted afresh at the next scan.
    pub(super) fn new(config: &Config, old: Option<ProcWatch>) -> Self {
        let mut old = old.map(|o| o.trackers).unwrap_or_default();
        let trackers = config
            .track_processes
            .iter()
            .map(|p| {
                let fresh = tracker(p);
                match old.iter().position(|t| {
                    t.name == p.name
                        && t.spec == fresh.spec
                        && t.state.quorum() == fresh.state.quorum()
                }) {
                    Some(k) => old.swap_remove(k),
                    None => fresh,
                }
            })
            .collect();
        ProcWatch {
            trackers,
            next_scan: None,
        }
    }

    /// When the next scan or delayed change is due.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.trackers
            .iter()
            .filter_map(|t| t.state.next_deadline())
            .chain(self.next_scan)
            .min()
    }

    /// Scans /proc if due (always the first time), applies due delays: the changed statuses.
    pub(super) fn poll(&mut self, now: Instant) -> Vec<(String, bool)> {
        if self.trackers.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.next_scan.is_none_or(|at| now >= at) {
            self.next_scan = now.checked_add(SCAN_EVERY);
            let counts = self.count();
            for (t, n) in self.trackers.iter_mut().zip(counts) {
                if let Some(ok) = t.state.update(now, n) {
                    out.push((t.name.clone(), ok));
                }
            }
        }
        for t in &mut self.trackers {
            if let Some(ok) = t.state.on_timer(now) {
                out.push((t.name.clone(), ok));
            }
        }
        out
    }

    /// The number of running processes matching each tracker.
    fn count(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.trackers.len()];
        let cmdline = self.trackers.iter().any(|t| t.spec.needs_cmdline());
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return counts;
        };
        let me = std::process::id();
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Some(stat) = read(&format!("/proc/{pid}/stat")) else {
                continue;
            };
            if !parse_stat_state(&stat).is_some_and(running_state) {
                continue;
            }
            let comm = read(&format!("/proc/{pid}/comm")).unwrap_or_default();
            let raw = if cmdline {
                read(&format!("/proc/{pid}/cmdline")).unwrap_or_default()
            } else {
                Vec::new()
            };
            let argv = split_cmdline(&raw);
            for (t, c) in self.trackers.iter().zip(counts.iter_mut()) {
                if t.spec.matches(parse_comm(&comm), &argv) {
                    *c = c.saturating_add(1);
                }
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use kad_core::config::model::{Config, TrackProcess};

    use super::ProcWatch;

    fn config(quorum: u32) -> Config {
        Config {
            track_processes: vec![TrackProcess {
                name: "haproxy".into(),
                process: "haproxy".into(),
                params: Vec::new(),
                param_match: None,
                weight: 0,
                reverse: false,
                quorum,
                quorum_max: None,
                fork_delay: Duration::ZERO,
                terminate_delay: Duration::ZERO,
                full_command: false,
            }],
            ..Config::default()
        }
    }

    /// A reload keeps an unchanged tracker's status but takes a new quorum at once.
    #[test]
    fn a_reload_changing_the_quorum_takes_effect() {
        let now = Instant::now();
        let mut w = ProcWatch::new(&config(1), None);
        w.trackers[0].state.update(now, 1);
        assert_eq!(w.trackers[0].state.status(), Some(true));
        let kept = ProcWatch::new(&config(1), Some(w));
        assert_eq!(
            kept.trackers[0].state.status(),
            Some(true),
            "unchanged: kept"
        );
        let changed = ProcWatch::new(&config(3), Some(kept));
        assert_eq!(changed.trackers[0].state.quorum().min, 3);
        assert_eq!(changed.trackers[0].state.status(), None, "counted afresh");
    }
}
