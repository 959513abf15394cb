//! Property tests of the metrics endpoint's pure parts: the request-head parser (what anyone
//! who can reach `--metrics-listen` may send) never panics, never accepts a head over its
//! bound, and accepts a well-formed GET of /metrics however it is cut into reads; label
//! escaping always yields a value a Prometheus parser reads back to the original. 256 cases
//! per property in `make test`; `make fuzz` raises PROPTEST_CASES.

use kad_ipc::http::{parse_head, Head, MAX_HEAD};
use kad_ipc::metrics::escape_label;
use proptest::prelude::*;

const SEEDS: [&[u8]; 4] = [
    b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9650\r\nAccept: text/plain\r\n\r\n",
    b"GET /metrics?name[]=x HTTP/1.0\n\n",
    b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /other HTTP/1.1\r\n\r\n",
];

/// Reads back an escaped label value as the text format defines it.
fn unescape(v: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = v.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next()? {
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                _ => return None,
            },
            '"' | '\n' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

proptest! {
    #[test]
    fn random_bytes_never_panic_nor_pass_the_bound(
        bytes in proptest::collection::vec(any::<u8>(), 0..3 * MAX_HEAD)
    ) {
        let r = parse_head(&bytes);
        if r == Head::Metrics {
            let end = bytes.windows(2).position(|w| w == b"\n\n").unwrap_or(usize::MAX);
            let end4 = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(usize::MAX);
            prop_assert!(end.min(end4) <= MAX_HEAD);
        }
    }

    #[test]
    fn mutated_heads_never_panic(
        seed in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        cut in any::<usize>(),
    ) {
        let mut head = SEEDS[seed].to_vec();
        for (at, v) in edits {
            let n = head.len();
            head[at % n] = v;
        }
        let keep = cut % (head.len() + 1);
        let _ = parse_head(&head[..keep]);
        let _ = parse_head(&head);
    }

    #[test]
    fn a_get_of_metrics_is_partial_until_its_end_whatever_the_headers(
        headers in proptest::collection::vec(("[A-Za-z-]{1,20}", "[ -~]{0,60}"), 0..20),
        split in any::<usize>(),
    ) {
        let mut head = b"GET /metrics HTTP/1.1\r\n".to_vec();
        for (k, v) in &headers {
            head.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let at = split % head.len();
        prop_assert_eq!(parse_head(&head[..at]), Head::Partial);
        prop_assert_eq!(parse_head(&head), Head::Metrics);
    }

    #[test]
    fn escaped_labels_read_back(v in any::<String>()) {
        let e = escape_label(&v);
        prop_assert!(!e.contains('\n'));
        prop_assert_eq!(unescape(&e), Some(v));
    }
}
