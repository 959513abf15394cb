//! Property tests of what a child or the parent reads from its socketpair: any sequence of
//! datagrams given to the reassembler, and any reassembled payload given to the message
//! decoder, is an error or a message, never a panic or an allocation past the bound. 256 cases
//! per property in `make test`; `make fuzz` raises PROPTEST_CASES.

use kad_ipc::channel::{decode, encode};
use kad_ipc::frame::{split, Reassembler, DEFAULT_MAX_MESSAGE};
use kad_ipc::{FromChild, Routed, ToChild};
use proptest::prelude::*;

/// Valid messages of both directions, as mutation seeds.
fn seeds() -> Vec<Vec<u8>> {
    let to: Vec<ToChild> = vec![
        ToChild::Dump,
        ToChild::Routed(Routed::ScriptStatus {
            name: "chk_web".into(),
            ok: true,
        }),
        ToChild::Reload(Box::default()),
        ToChild::Override {
            id: 7,
            vs: "192.0.2.1:80".into(),
            rs: "192.0.2.2:80".into(),
            what: kad_ipc::status::Override::Weight(3),
        },
    ];
    let from: Vec<FromChild> = vec![
        FromChild::Ready { pid: 4242 },
        FromChild::Status {
            id: 3,
            status: kad_ipc::status::Status {
                vrrp: Vec::new(),
                virtual_servers: vec![kad_ipc::status::VsStatus {
                    name: "192.0.2.1:80".into(),
                    quorum_up: true,
                    real_servers: Vec::new(),
                }],
                ..Default::default()
            },
        },
        FromChild::Routed(Routed::InstanceState {
            name: "VI_1".into(),
            state: kad_core::state::VrrpState::Master,
            priority: 100,
        }),
    ];
    to.iter()
        .map(|m| encode(m, DEFAULT_MAX_MESSAGE).expect("encode"))
        .chain(
            from.iter()
                .map(|m| encode(m, DEFAULT_MAX_MESSAGE).expect("encode")),
        )
        .collect()
}

fn feed(datagrams: &[Vec<u8>], max: usize) {
    let mut r = Reassembler::new(max);
    for d in datagrams {
        match r.push(d) {
            Ok(Some(payload)) => {
                assert!(payload.len() <= max);
                let _ = decode::<ToChild>(&payload);
                let _ = decode::<FromChild>(&payload);
            }
            Ok(None) => {}
            Err(_) => r = Reassembler::new(max),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_datagrams_never_panic(datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..6)) {
        feed(&datagrams, 1 << 16);
    }

    #[test]
    fn mutated_frames_never_panic(seed in 0usize..5, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), cut in any::<usize>()) {
        let mut frames = split(&seeds()[seed]);
        for (at, v) in flips {
            let count = frames.len();
            let f = &mut frames[at % count];
            let n = f.len();
            f[at % n] = v;
        }
        let last = frames.len() - 1;
        let keep = cut % (frames[last].len() + 1);
        frames[last].truncate(keep);
        feed(&frames, DEFAULT_MAX_MESSAGE);
    }

    #[test]
    fn random_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<ToChild>(&payload);
        let _ = decode::<FromChild>(&payload);
    }

    #[test]
    fn mutated_payloads_never_panic(seed in 0usize..5, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let mut payload = seeds()[seed].clone();
        for (at, v) in flips {
            let n = payload.len();
            payload[at % n] = v;
        }
        let _ = decode::<ToChild>(&payload);
        let _ = decode::<FromChild>(&payload);
    }
}
