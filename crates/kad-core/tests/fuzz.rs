//! Property test: random and mutated configurations never panic the parser, and it always
//! returns either a model (no errors) or at least one positioned error.
//!
//! Bounded in `make test` (256 cases per property); `make fuzz` raises PROPTEST_CASES.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use kad_core::config::route::{parse_route, parse_rule};
use kad_core::config::{parse_file, ParseOptions, Severity};
use proptest::prelude::*;

/// Sample text the mutations start from: every construct the parser knows.
const SEED: &str = r#"global_defs {
    router_id lab
    notification_email { a@example.org }
    smtp_server 192.0.2.1 25
    lvs_timeouts tcp 900 tcpfin 30 udp 60
    lvs_flush_on_stop VS
}
$BASE=192.0.2
@node1 $PRIO=150
vrrp_script chk { script "/bin/true"
    interval 1
    weight -20 }
vrrp_sync_group G { group { VI_1 } }
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority ${PRIO}
    authentication { auth_type PASS
        auth_pass 'se"cr"et' }
    virtual_ipaddress {
        ~SEQ(N, 1, 3) ${BASE}.1${N}/24 dev eth0
    }
    track_script { chk weight 5 }
    virtual_routes { 0.0.0.0/0 via 192.0.2.1 dev eth0
        192.0.2.0/24 dev eth0 src 192.0.2.11 table 1 metric 5 mtu lock 1400 }
    virtual_rules { from 192.0.2.11 table 1 priority 100 }
}
static_ipaddress { 198.51.100.9/24 dev eth0 }
static_routes { blackhole 203.0.113.0/24 }
static_rules { not to 203.0.113.5 fwmark 0x10/0xff iif eth0 table 7 priority 300 }
virtual_server_group VSG { 192.0.2.1-5 80
    10.7.8.8/30 81
    10.7.8.250-10.7.9.2 82
    fwmark 7 }
virtual_server 192.0.2.100 80 {
    lb_algo wrr
    lb_kind NAT
    real_server 198.51.100.1 80 { HTTP_GET { url { path / status_code 200-299
        regex "ok|fine"
        regex_options caseless
        regex_max_offset 100 } } }
    real_server 198.51.100.3 25 { SMTP_CHECK { host { connect_port 2525 } } }
    real_server 198.51.100.2 80 { MISC_CHECK { misc_path "/bin/x a" misc_dynamic } }
}
"#;

fn parse_text(text: &str) -> kad_core::config::Parsed {
    static N: AtomicU64 = AtomicU64::new(0);
    let path: PathBuf = std::env::temp_dir().join(format!(
        "kad-fuzz-{}-{}.conf",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).expect("write temp config");
    let parsed = parse_file(
        &path,
        &ParseOptions {
            config_id: "node1".into(),
            interface_exists: None,
        },
    );
    let _ = std::fs::remove_file(&path);
    parsed
}

fn check_outcome(text: &str) {
    let parsed = parse_text(text);
    let errors: Vec<_> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(
        parsed.config.is_some(),
        errors.is_empty(),
        "a model must come exactly when there is no error"
    );
    for d in &parsed.diagnostics {
        assert!(d.pos.line >= 1 && d.pos.col >= 1, "unpositioned: {d:?}");
        assert!((d.pos.file as usize) < parsed.files.all().len());
        assert!(!d.message.is_empty());
    }
}

/// One edit applied to the seed text.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Duplicate { at: usize, len: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("\n".to_string()),
        Just("$".to_string()),
        Just("${BASE}".to_string()),
        Just("@node1 ".to_string()),
        Just("~SEQ(X,1,2) ".to_string()),
        Just("include ".to_string()),
        Just("#".to_string()),
        Just("999999999999".to_string()),
        Just("-1".to_string()),
        Just("2001:db8::1/129".to_string()),
        "[ -~]{0,8}",
    ];
    prop_oneof![
        (0usize..2000, 0usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (0usize..2000, token).prop_map(|(at, text)| Edit::Insert { at, text }),
        (0usize..2000, 0usize..80).prop_map(|(at, len)| Edit::Duplicate { at, len }),
    ]
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for e in edits {
        let n = bytes.len().max(1);
        match e {
            Edit::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(bytes.len());
                bytes.drain(at.min(bytes.len())..end);
            }
            Edit::Insert { at, text } => {
                let at = (at % n).min(bytes.len());
                bytes.splice(at..at, text.bytes());
            }
            Edit::Duplicate { at, len } => {
                let at = (at % n).min(bytes.len());
                let end = (at + len).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A word of a route or rule line: a keyword, an address, a number, or anything.
fn route_word() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "via",
            "gw",
            "src",
            "to",
            "from",
            "dev",
            "oif",
            "iif",
            "table",
            "metric",
            "scope",
            "protocol",
            "proto",
            "tos",
            "onlink",
            "mtu",
            "lock",
            "advmss",
            "blackhole",
            "throw",
            "inet6",
            "inet",
            "not",
            "fwmark",
            "priority",
            "goto",
            "suppress_prefixlength",
            "default",
            "all",
            "no_track",
            "nexthop",
            "main",
            "link",
            "4294967296",
            "0x",
        ])
        .prop_map(String::from),
        "(192\\.0\\.2\\.[0-9]{1,3}|2001:db8::[0-9a-f]{1,4})(/[0-9]{1,3})?",
        "[0-9]{1,11}(/[0-9a-fx]{1,10})?",
        "[ -~]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "[ -~\n\t{}]{0,400}") {
        check_outcome(&text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_outcome(&String::from_utf8_lossy(&bytes));
    }

    /// Route and rule lines: keywords in any order, with or without values, or junk.
    #[test]
    fn route_and_rule_words_never_panic(words in proptest::collection::vec(route_word(), 0..12)) {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let _ = parse_route(&words);
        let _ = parse_rule(&words);
    }

    #[test]
    fn group_address_ranges_never_panic_and_stay_bounded(text in "[0-9a-f.:/-]{0,44}") {
        use kad_core::config::values::{address_range, range_addresses, MAX_RANGE_ADDRESSES};
        if let Ok((first, last)) = address_range(&text) {
            prop_assert_eq!(first.is_ipv4(), last.is_ipv4());
            let n = range_addresses(first, last).count() as u128;
            prop_assert!((1..=MAX_RANGE_ADDRESSES).contains(&n), "{text}: {n}");
            prop_assert_eq!(range_addresses(first, last).last(), Some(last));
        }
    }

    #[test]
    fn structured_group_ranges_are_exact(a in any::<u32>(), b in any::<u32>(), p in 0u8..=34, form in 0u8..3) {
        use kad_core::config::values::{address_range, range_addresses, MAX_RANGE_ADDRESSES};
        use std::net::Ipv4Addr;
        let (fa, fb) = (Ipv4Addr::from(a), Ipv4Addr::from(b));
        let text = match form {
            0 => format!("{fa}/{p}"),
            1 => format!("{fa}-{fb}"),
            _ => format!("{fa}-{}", b & 0xff),
        };
        if let Ok((first, last)) = address_range(&text) {
            let n = range_addresses(first, last).count() as u128;
            prop_assert!((1..=MAX_RANGE_ADDRESSES).contains(&n), "{text}: {n}");
            prop_assert_eq!(range_addresses(first, last).next(), Some(first));
            prop_assert_eq!(range_addresses(first, last).last(), Some(last));
        }
    }

    #[test]
    fn mutated_configs_never_panic(edits in proptest::collection::vec(edit(), 1..8)) {
        check_outcome(&apply(SEED, &edits));
    }
}

#[test]
fn the_seed_itself_is_valid() {
    let parsed = parse_text(SEED);
    assert!(parsed.config.is_some(), "{:#?}", parsed.rendered());
}
