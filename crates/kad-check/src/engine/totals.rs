//! Finished checks by kind, for the metrics: attempts, failures and a latency histogram
//! ([`kad_ipc::status::LATENCY_BUCKETS`]). Kept across reloads (a reload starts new checkers,
//! not new totals), lost when the checker child restarts.

use std::collections::BTreeMap;
use std::time::Duration;

use kad_ipc::status::{CheckKindStats, LATENCY_BUCKETS};

/// The totals of every kind seen so far.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    kinds: BTreeMap<&'static str, CheckKindStats>,
}

impl Totals {
    /// Counts one finished attempt of `kind` that took `latency`.
    pub fn record(&mut self, kind: &'static str, ok: bool, latency: Duration) {
        let t = self.kinds.entry(kind).or_insert_with(|| CheckKindStats {
            kind: kind.to_string(),
            buckets: vec![0; LATENCY_BUCKETS.len() + 1],
            ..Default::default()
        });
        t.checks = t.checks.saturating_add(1);
        t.failures = t.failures.saturating_add(u64::from(!ok));
        let secs = latency.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(n) = t.buckets.get_mut(bucket) {
            *n = n.saturating_add(1);
        }
        t.latency_sum += secs;
    }

    /// Every kind, sorted by name.
    pub fn list(&self) -> Vec<CheckKindStats> {
        self.kinds.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_land_in_the_first_bucket_that_holds_them() {
        let mut t = Totals::default();
        t.record("TCP_CHECK", true, Duration::from_micros(500));
        t.record("TCP_CHECK", false, Duration::from_millis(1));
        t.record("TCP_CHECK", false, Duration::from_secs(60));
        t.record("HTTP_GET", true, Duration::from_millis(30));
        let l = t.list();
        assert_eq!(l.len(), 2);
        let tcp = &l[1];
        assert_eq!(
            (tcp.kind.as_str(), tcp.checks, tcp.failures),
            ("TCP_CHECK", 3, 2)
        );
        assert_eq!(tcp.buckets[0], 2, "0.5 ms and 1 ms are <= 0.001 s");
        assert_eq!(
            tcp.buckets[LATENCY_BUCKETS.len()],
            1,
            "60 s is over every bound"
        );
        assert_eq!(l[0].buckets[5], 1, "30 ms is <= 0.05 s");
    }
}
