//! Property tests of the notify-FIFO descriptor list a child reads from its environment
//! (`KAD_NOTIFY_FIFO_FDS`, written by the parent): any text is a list of `(fd, path)` pairs
//! with fd ≥ 16 and absolute paths, never a panic; what the parent writes reads back. 256 cases
//! per property in `make test`; `make fuzz` raises PROPTEST_CASES.

use kad_ipc::fifo::{parse_inherited, MIN_INHERITED_FD};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_text_is_a_bounded_list(text in ".{0,512}") {
        let list = parse_inherited(&text);
        prop_assert!(list.len() <= text.lines().count());
        for (fd, path) in list {
            prop_assert!(fd >= MIN_INHERITED_FD);
            prop_assert!(path.is_absolute());
        }
    }

    #[test]
    fn written_lines_read_back(
        entries in proptest::collection::vec((16i32..100_000, "/[a-z0-9 ./_-]{0,40}"), 0..8),
        noise in "[ -~]{0,40}",
    ) {
        let mut text: String = entries.iter().map(|(fd, p)| format!("{fd} {p}\n")).collect();
        // A malformed line in between changes nothing else.
        text.push_str(&format!("x{noise}\n"));
        let got = parse_inherited(&text);
        let want: Vec<_> = entries.iter().map(|(fd, p)| (*fd, std::path::PathBuf::from(p))).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn low_descriptors_are_refused(fd in -100i32..MIN_INHERITED_FD) {
        let line = format!("{fd} /run/x.fifo\n");
        prop_assert!(parse_inherited(&line).is_empty());
    }
}
