//! Property tests of the control socket's request decoder (what any local client with access
//! to the socket may send): random bytes, mutated valid requests and oversized lines are a
//! request or an error, never a panic. 256 cases per property in `make test`; `make fuzz`
//! raises PROPTEST_CASES.

use kad_ipc::control::{parse_request, Request, MAX_REQUEST};
use proptest::prelude::*;

fn seeds() -> Vec<Vec<u8>> {
    [
        Request::Status,
        Request::Reload,
        Request::Maintenance {
            instance: "VI_1".into(),
            on: true,
        },
        Request::Weight {
            vs: "[2001:db8::1]:80/udp".into(),
            rs: "[2001:db8::2]:80".into(),
            weight: 65_535,
        },
    ]
    .iter()
    .map(|r| serde_json::to_vec(r).expect("encode"))
    .collect()
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2 * MAX_REQUEST)) {
        let r = parse_request(&bytes);
        if bytes.len() > MAX_REQUEST {
            prop_assert!(r.is_err());
        }
    }

    #[test]
    fn mutated_requests_never_panic(
        seed in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = seeds()[seed].clone();
        for (at, b) in edits {
            let n = bytes.len();
            if n > 0 {
                bytes[at % n] = b;
            }
        }
        let keep = cut % (bytes.len() + 1);
        bytes.truncate(keep);
        let _ = parse_request(&bytes);
    }
}

#[test]
fn every_seed_decodes() {
    for s in seeds() {
        assert!(parse_request(&s).is_ok());
    }
}
