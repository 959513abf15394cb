//! Property tests of what SMTP_CHECK and smtp_alert read from an SMTP server: the reply
//! reader both share, the SMTP_CHECK dialogue and the smtp_alert conversation. Any bytes, cut
//! into any pieces, give the same replies as when read at once, never a panic and never more
//! held than the bound; well-formed multi-line replies give their last line.
//! 256 cases per property in `make test`; `make fuzz` raises PROPTEST_CASES.

use kad_check::probe::smtp::SmtpDialogue;
use kad_check::probe::smtp_reply::{ReplyReader, ReplyTooLong, MAX_REPLY};
use kad_check::probe::stream::{Dialogue, Step};
use kad_check::smtp::{Conversation, Mail, Next};
use proptest::prelude::*;

/// Cuts `bytes` at `cuts` (taken modulo the length, in order).
fn pieces<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for p in points {
        out.push(&bytes[from..p]);
        from = p;
    }
    out.push(&bytes[from..]);
    out
}

/// Every reply read from `pieces` (taken after each piece), and how reading ended.
fn replies(pieces: &[&[u8]]) -> (Vec<String>, Result<(), ReplyTooLong>) {
    let mut r = ReplyReader::new();
    let mut out = Vec::new();
    for p in pieces {
        let res = r.push(p);
        assert!(r.held() <= MAX_REPLY, "held {}", r.held());
        if res.is_err() {
            return (out, res);
        }
        while let Some(line) = r.next_reply() {
            out.push(line);
        }
    }
    (out, Ok(()))
}

/// Bytes with many line ends, dashes and digits.
fn smtp_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(|v| {
        v.into_iter()
            .map(|b| match b % 16 {
                0 => b'\n',
                1 => b'\r',
                2 => b'-',
                3 => b' ',
                4 | 5 => b'2' + b % 4,
                _ => b,
            })
            .collect()
    })
}

fn mail() -> Mail {
    Mail {
        helo: "lb1".into(),
        from: "kad@example.org".into(),
        to: vec!["a@example.org".into(), "b@example.org".into()],
        subject: "subject".into(),
        body: "body\n.\n".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_in_any_pieces_give_the_same_replies(
        bytes in smtp_bytes(1000),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = replies(&[&bytes]);
        prop_assert_eq!(replies(&pieces(&bytes, &cuts)), whole.clone());
        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(replies(&one_by_one), whole);
    }

    #[test]
    fn a_flood_is_cut_at_the_bound(
        line in "[0-9]{3}[- ][ -~]{0,60}\r\n",
        repeat in 1usize..2500,
        taken in any::<bool>(),
    ) {
        let bytes = line.repeat(repeat).into_bytes();
        let mut r = ReplyReader::new();
        let mut result = Ok(());
        for p in bytes.chunks(1000) {
            result = r.push(p);
            prop_assert!(r.held() <= MAX_REPLY);
            if taken {
                while r.next_reply().is_some() {}
            }
            if result.is_err() {
                break;
            }
        }
        // A multi-line reply counts all its bytes; replies waiting to be taken their text.
        let continued = line.as_bytes()[3] == b'-';
        let text = line.trim_end().len();
        if continued && bytes.len() > MAX_REPLY || !taken && !continued && repeat * text > MAX_REPLY {
            prop_assert_eq!(result, Err(ReplyTooLong));
        }
        if bytes.len() <= MAX_REPLY || taken && !continued {
            prop_assert_eq!(result, Ok(()));
        }
    }

    #[test]
    fn multi_line_replies_give_their_last_line(
        code in 200u16..600,
        lines in proptest::collection::vec("[ -~]{0,60}", 1..6),
        lf_only in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let end = if lf_only { "\n" } else { "\r\n" };
        let mut text = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            text.push_str(&format!("{code}{sep}{l}{end}"));
        }
        let last = format!("{code} {}", lines[lines.len() - 1]).trim_end().to_string();
        prop_assert_eq!(replies(&pieces(text.as_bytes(), &cuts)), (vec![last], Ok(())));
    }

    #[test]
    fn the_smtp_check_decides_on_any_server(
        bytes in smtp_bytes(3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut d = SmtpDialogue::new("lb1");
        prop_assert_eq!(d.connected(), Step::Wait);
        let mut decided = false;
        for p in pieces(&bytes, &cuts) {
            match d.received(p, false) {
                Step::Done(_) => {
                    decided = true;
                    break;
                }
                Step::Reconnect => prop_assert!(false, "SMTP never reconnects"),
                Step::Wait | Step::Send(_) => {}
            }
        }
        if !decided {
            prop_assert!(matches!(d.received(&[], true), Step::Done(_)));
        }
    }

    #[test]
    fn the_alert_conversation_takes_any_reply_lines(
        bytes in smtp_bytes(3000),
    ) {
        let mut r = ReplyReader::new();
        let mut c = Conversation::new(mail());
        let _ = r.push(&bytes);
        let mut sent = 0;
        while let Some(line) = r.next_reply() {
            match c.reply(&line) {
                Next::Send(_) => sent += 1,
                Next::Done | Next::Failed(_) => break,
            }
        }
        // Banner, HELO, MAIL FROM, two RCPT TO, DATA, body, QUIT: each sent once at most.
        prop_assert!(sent <= 8);
    }
}
