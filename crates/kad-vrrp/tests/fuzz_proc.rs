//! Property tests of the /proc parsers of `vrrp_track_process`: any bytes in
//! /proc/PID/cmdline, comm or stat give an answer, never a panic. 256 cases per property in
//! `make test`; `make fuzz` raises PROPTEST_CASES.

use kad_vrrp::process_track::{parse_comm, parse_stat_state, split_cmdline, ParamMatch, ProcSpec};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_proc_contents_are_parsed_without_panic(
        cmdline in proptest::collection::vec(any::<u8>(), 0..512),
        comm in proptest::collection::vec(any::<u8>(), 0..64),
        stat in proptest::collection::vec(any::<u8>(), 0..256),
        params in proptest::collection::vec("[a-z\\x00-]{0,6}", 0..4),
        pm in 0u8..4,
        full in any::<bool>(),
    ) {
        let argv = split_cmdline(&cmdline);
        // Splitting then joining with NULs gives the contents back (trailing NUL aside).
        let joined = argv.join(&0u8);
        prop_assert!(cmdline.starts_with(&joined));
        let _ = parse_stat_state(&stat);
        let param_match = match pm {
            0 => None,
            1 => Some(ParamMatch::Exact),
            2 => Some(ParamMatch::Partial),
            _ => Some(ParamMatch::Initial),
        };
        let spec = ProcSpec { process: "p".into(), params, param_match, full_command: full };
        let _ = spec.matches(parse_comm(&comm), &argv);
    }
}
