//! Property tests of what HTTP_GET / SSL_GET read from a real server: the response decoder
//! (head, Content-Length, chunked, close) and the dialogue that judges it. Any bytes, cut into
//! any pieces, give the same decision as when read at once, never a panic (overflow checks
//! are on: dev profile in `make test`, the `fuzz` profile in `make fuzz`) and never more held
//! than the bounds; well-formed responses give their status and the MD5 of their body.
//! 256 cases per property in `make test`; `make fuzz` raises PROPTEST_CASES.

use kad_check::probe::chunked::{ChunkError, ChunkedDecoder};
use kad_check::probe::http::{md5_hex, HttpDialogue};
use kad_check::probe::http_response::{
    HttpError, Response, ResponseReader, Window, MAX_BODY, MAX_HEAD,
};
use kad_check::probe::stream::{Dialogue, Step};
use kad_core::config::model::{CheckTarget, HttpVersion, UrlCheck};
use md5::{Digest, Md5};
use proptest::prelude::*;

/// What follows the last chunk.
const TRAILER: &[u8] = b"X-Trailer: t\r\n\r\n";

/// How a generated body is framed.
#[derive(Debug, Clone)]
enum Framing {
    Length,
    /// Chunk lengths (cycled), extensions on odd chunks, upper-case hex or not.
    Chunked(Vec<usize>, bool),
    Close,
}

/// A well-formed response: the bytes, and whether the server must close to end it.
fn serialize(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    framing: &Framing,
) -> (Vec<u8>, bool) {
    let mut out = format!("HTTP/1.1 {status} Some Reason\r\n").into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    match framing {
        Framing::Length => {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            out.extend_from_slice(body);
        }
        Framing::Close => {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
        }
        Framing::Chunked(sizes, upper) => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = body;
            for (i, &size) in sizes.iter().cycle().enumerate() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, next) = rest.split_at(size.clamp(1, rest.len()));
                let ext = if i % 2 == 1 { ";name=\"v\"" } else { "" };
                let size = if *upper {
                    format!("{:X}", chunk.len())
                } else {
                    format!("{:x}", chunk.len())
                };
                out.extend_from_slice(format!("{size}{ext}\r\n").as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
                rest = next;
            }
            out.extend_from_slice(b"0\r\n");
            out.extend_from_slice(TRAILER);
        }
    }
    (out, matches!(framing, Framing::Close))
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::Length),
        Just(Framing::Close),
        (proptest::collection::vec(1usize..300, 1..5), any::<bool>())
            .prop_map(|(s, u)| Framing::Chunked(s, u)),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,40}"), 0..6).prop_map(|hs| {
        // Framing headers come from the framing only.
        hs.into_iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("content-length")
                    && !n.eq_ignore_ascii_case("transfer-encoding")
            })
            .map(|(n, v)| (n, v.trim().to_string()))
            .collect()
    })
}

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

/// Feeds `pieces` to a reader, then closes; checks the bound after every piece.
fn decide(pieces: &[&[u8]], want_digest: bool) -> Result<Response, HttpError> {
    let mut r = ResponseReader::new(want_digest);
    for p in pieces {
        if let Some(d) = r.push(p) {
            return d;
        }
        assert!(r.held() <= MAX_HEAD, "held {} bytes", r.held());
    }
    r.close()
}

/// Seeds to mutate: well-formed responses of each framing, and hostile ones.
fn seeds() -> Vec<Vec<u8>> {
    let body = b"all good\n".repeat(20);
    let mut out: Vec<Vec<u8>> = [
        Framing::Length,
        Framing::Close,
        Framing::Chunked(vec![3, 50], false),
    ]
    .iter()
    .map(|f| serialize(200, &[("Server".into(), "x".into())], &body, f).0)
    .collect();
    out.push(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nall good\r\n"
            .to_vec(),
    );
    out.push(b"HTTP/1.0 302 Found\nLocation: /\n  folded\n\nbody".to_vec());
    out
}

/// A mutation: overwrite, insert or delete at a position, or truncate.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop_oneof![
        any::<u8>(),
        Just(b'\r'),
        Just(b'\n'),
        Just(b'f'),
        Just(b';'),
        Just(b'0')
    ];
    prop_oneof![
        (any::<usize>(), interesting).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), "[0-9a-fA-F;\r\n: ]{1,20}").prop_map(|(i, s)| Edit::Insert(i, s.into())),
        (any::<usize>(), 1usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let at = |i: usize, len: usize| i % (len + 1);
        match e {
            Edit::Set(i, v) => {
                if !b.is_empty() {
                    let i = i % b.len();
                    b[i] = *v;
                }
            }
            Edit::Insert(i, s) => {
                let i = at(*i, b.len());
                b.splice(i..i, s.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(*i, b.len());
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Edit::Truncate(i) => b.truncate(at(*i, b.len())),
        }
    }
    b
}

fn url(digest: Option<String>, codes: Vec<(u16, u16)>) -> UrlCheck {
    UrlCheck {
        path: "/health".into(),
        digest: digest.map(Into::into),
        status_codes: codes.into(),
        virtualhost: None,
        regex: None,
    }
}

fn target() -> CheckTarget {
    CheckTarget {
        addr: std::net::IpAddr::from([192, 0, 2, 1]),
        port: Some(80),
        bind_addr: None,
        bind_port: None,
        bind_if: None,
        fwmark: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_in_any_pieces_decide_as_when_read_at_once(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"HTTP/1.1 200 OK\r\n"[..]),
            Just(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..])],
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        want_digest in any::<bool>(),
    ) {
        let mut all = prefix.to_vec();
        all.extend_from_slice(&bytes);
        let whole = decide(&[&all], want_digest);
        prop_assert_eq!(decide(&pieces(&all, &cuts), want_digest), whole);
    }

    #[test]
    fn mutated_responses_in_any_pieces_decide_as_when_read_at_once(
        seed in 0usize..5,
        edits in proptest::collection::vec(edit(), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        want_digest in any::<bool>(),
    ) {
        let bytes = apply(&seeds()[seed], &edits);
        let whole = decide(&[&bytes], want_digest);
        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(&decide(&one_by_one, want_digest), &whole);
        prop_assert_eq!(decide(&pieces(&bytes, &cuts), want_digest), whole);
    }

    #[test]
    fn well_formed_responses_give_status_and_digest(
        status in 100u16..600,
        headers in headers(),
        body in proptest::collection::vec(any::<u8>(), 0..2000),
        framing in framing(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        regex_offsets in proptest::option::of((0u32..2100, proptest::option::of(0u32..2100))),
    ) {
        let (bytes, needs_close) = serialize(status, &headers, &body, &framing);
        let window = regex_offsets.map(|(min, max)| Window::new(min, max));
        let mut r = ResponseReader::with_window(true, window);
        let (mut decided, mut consumed) = (None, 0);
        for p in pieces(&bytes, &cuts) {
            consumed += p.len();
            decided = r.push(p);
            if decided.is_some() {
                break;
            }
        }
        prop_assert_eq!(decided.is_none(), needs_close);
        // Decided at the body's last byte; a chunked one without waiting for its trailer.
        let trailer = if matches!(framing, Framing::Chunked(..)) { TRAILER.len() } else { 0 };
        prop_assert!(needs_close || consumed >= bytes.len() - trailer, "decided early");
        let decided = decided.unwrap_or_else(|| r.close());
        // The window holds exactly the body bytes between its offsets, whatever the cuts.
        let kept = window.map(|w| {
            let at = |o: u64| usize::try_from(o).unwrap_or(usize::MAX).min(body.len());
            body[at(w.start)..at(w.end).max(at(w.start))].to_vec()
        });
        prop_assert_eq!(decided, Ok(Response {
            status,
            digest: Some(Md5::digest(&body).into()),
            body_len: body.len() as u64,
            window: kept,
        }));
    }

    #[test]
    fn any_announced_size_is_judged_before_any_data(
        size in prop_oneof![any::<u64>(), 0u64..=MAX_BODY + 2, Just(u64::MAX)],
        zeros in 0usize..4,
        upper in any::<bool>(),
        content_length in any::<bool>(),
    ) {
        let hex = if upper { format!("{size:X}") } else { format!("{size:x}") };
        let spelled = format!("{}{hex}", "0".repeat(zeros));
        let head = if content_length {
            format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n")
        } else {
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{spelled}\r\n")
        };
        let mut r = ResponseReader::new(true);
        let decided = r.push(head.as_bytes());
        if size > MAX_BODY {
            let at_once = match decided {
                Some(Err(HttpError::BodyTooLarge)) => true,
                Some(Err(HttpError::Chunked(ChunkError::TooLarge { size: s, .. }))) => s == size,
                Some(Err(HttpError::Chunked(ChunkError::BadSize(_)))) => spelled.len() > 16,
                _ => false,
            };
            prop_assert!(at_once, "{size} ({spelled}): {decided:?}");
        } else if size == 0 {
            prop_assert!(matches!(decided, Some(Ok(_))), "{decided:?}");
        } else if spelled.len() <= 16 || content_length {
            prop_assert_eq!(decided, None);
        }
    }

    #[test]
    fn the_chunked_decoder_alone_never_holds_more_than_a_size_line(
        // A quarter of the bytes are '1', CR or LF: size lines and chunk ends happen.
        bytes in proptest::collection::vec(any::<u8>(), 0..3000)
            .prop_map(|v| v.into_iter().map(|b| match b % 16 { 0 => b'1', 1 => b'\r', 2 | 3 => b'\n', _ => b }).collect::<Vec<u8>>()),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        limit in any::<u64>(),
    ) {
        let mut d = ChunkedDecoder::new(limit);
        let mut total = 0u64;
        for p in pieces(&bytes, &cuts) {
            let r = d.push(p, &mut |b| total += b.len() as u64);
            prop_assert!(d.held() <= kad_check::probe::chunked::MAX_SIZE_LINE);
            if r != Ok(false) {
                break;
            }
        }
        prop_assert!(total <= limit);
    }

    #[test]
    fn the_dialogue_decides_on_any_reply(
        seed in 0usize..5,
        edits in proptest::collection::vec(edit(), 0..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        digest in proptest::option::of("[0-9a-f]{32}"),
        codes in proptest::collection::vec((100u16..600, 100u16..600), 0..3),
        urls in 1usize..3,
    ) {
        let bytes = apply(&seeds()[seed], &edits);
        let checks: Vec<UrlCheck> = (0..urls).map(|_| url(digest.clone(), codes.clone())).collect();
        let mut d = HttpDialogue::new(&checks, None, &target(), HttpVersion::Http11);
        prop_assert!(matches!(d.connected(), Step::Send(_)));
        let mut step = Step::Wait;
        for p in pieces(&bytes, &cuts) {
            step = d.received(p, false);
            if step != Step::Wait {
                break;
            }
        }
        if step == Step::Wait {
            step = d.received(&[], true);
        }
        match step {
            Step::Done(v) => prop_assert!(!v.ok || urls == 1),
            Step::Reconnect => prop_assert!(urls > 1),
            other => prop_assert!(false, "undecided after the close: {other:?}"),
        }
    }
}

#[test]
fn the_seeds_are_judged_as_expected() {
    let body = b"all good\n".repeat(20);
    let s = seeds();
    for seed in &s[..3] {
        let mut r = ResponseReader::new(true);
        let d = r.push(seed).unwrap_or_else(|| r.close());
        assert_eq!(
            d.map(|r| r.digest),
            Ok(Some(Md5::digest(&body).into())),
            "{}",
            md5_hex(&body)
        );
    }
    let mut r = ResponseReader::new(false);
    assert!(matches!(
        r.push(&s[3]),
        Some(Err(HttpError::Chunked(ChunkError::TooLarge { .. })))
    ));
    let mut r = ResponseReader::new(false);
    assert_eq!(r.push(&s[4]), None);
    assert_eq!(r.close().map(|r| r.status), Ok(302));
}
