//! The HTTP response decoder of HTTP_GET / SSL_GET (sans-I/O): fed the server's bytes in
//! pieces of any size, it gives the status and, when asked, the MD5 of the body.
//!
//! - The head is parsed once by httparse when a blank line ends it: each byte is scanned for
//!   the blank line once, never re-scanned per read. At most [`MAX_HEAD`] bytes of head.
//! - The body is framed by `Transfer-Encoding: chunked` (see [`super::chunked`]), else by
//!   `Content-Length`, else by the server closing. It is hashed as it comes and never kept; at
//!   most [`MAX_BODY`] bytes are accepted. For a url `regex`, only a [`Window`] of the body
//!   is kept: at most [`REGEX_WINDOW`] bytes from `regex_min_offset`.

use std::fmt;

use md5::{Digest, Md5};

use super::chunked::{ChunkError, ChunkedDecoder};

/// The longest response head read.
pub const MAX_HEAD: usize = 64 * 1024;
/// The largest body read.
pub const MAX_BODY: u64 = 4 << 20;
/// The most header lines a head may have.
pub const MAX_HEADERS: usize = 128;

/// The most body bytes kept for a `regex` to search.
pub const REGEX_WINDOW: u64 = 1 << 20;
/// How far past `regex_max_offset` a match may extend (the window ends there).
pub const REGEX_SPAN: u64 = 64 * 1024;

/// The part of the body a `regex` searches: bytes `start..end` (absolute body offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First body offset kept (`regex_min_offset`).
    pub start: u64,
    /// Offset past the last byte kept.
    pub end: u64,
}

impl Window {
    /// The window for `regex_min_offset` and `regex_max_offset`: at most [`REGEX_WINDOW`]
    /// bytes, and none further than [`REGEX_SPAN`] past the latest allowed match start.
    pub fn new(min_offset: u32, max_offset: Option<u32>) -> Window {
        let start = u64::from(min_offset);
        let mut end = start.saturating_add(REGEX_WINDOW);
        if let Some(m) = max_offset {
            end = end.min(u64::from(m).saturating_add(REGEX_SPAN));
        }
        Window {
            start,
            end: end.max(start),
        }
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// MD5 of the body, when it was asked for.
    pub digest: Option<[u8; 16]>,
    /// The body's length.
    pub body_len: u64,
    /// The body bytes of the [`Window`], when one was asked for.
    pub window: Option<Vec<u8>>,
}

/// Why a response failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The head is no HTTP/1.x response: httparse's reason and the first bytes.
    NotHttp(String),
    /// No blank line within [`MAX_HEAD`] bytes.
    HeadTooLong,
    /// More than [`MAX_HEADERS`] header lines.
    TooManyHeaders,
    /// A body (announced or sent) larger than [`MAX_BODY`].
    BodyTooLarge,
    /// A malformed chunked body.
    Chunked(ChunkError),
    /// The server closed before the head was complete.
    ClosedBeforeResponse,
    /// The server closed before `Content-Length` bytes of body.
    TruncatedBody,
    /// The server closed before the last chunk.
    TruncatedChunked,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::NotHttp(s) => write!(f, "not an HTTP response: {s}"),
            HttpError::HeadTooLong => write!(f, "response head longer than {MAX_HEAD} bytes"),
            HttpError::TooManyHeaders => write!(f, "more than {MAX_HEADERS} response headers"),
            HttpError::BodyTooLarge => write!(f, "response body larger than {MAX_BODY} bytes"),
            HttpError::Chunked(e) => e.fmt(f),
            HttpError::ClosedBeforeResponse => write!(f, "connection closed before the response"),
            HttpError::TruncatedBody => write!(f, "truncated body"),
            HttpError::TruncatedChunked => write!(f, "truncated chunked body"),
        }
    }
}

impl std::error::Error for HttpError {}

/// How the body ends.
#[derive(Debug, Clone)]
enum Framing {
    /// This many bytes are still to come.
    Length(u64),
    /// Chunked.
    Chunked(ChunkedDecoder),
    /// At the server's close.
    Close,
}

#[derive(Debug, Clone)]
enum State {
    /// Reading the head: the bytes so far, and how far they were scanned for a blank line.
    Head { buf: Vec<u8>, scanned: usize },
    /// Reading the body.
    Body {
        status: u16,
        framing: Framing,
        md5: Option<Md5>,
        len: u64,
        kept: Option<(Window, Vec<u8>)>,
    },
    /// Decided.
    Done(Result<Response, HttpError>),
}

/// An incremental decoder of one response.
#[derive(Debug, Clone)]
pub struct ResponseReader {
    want_digest: bool,
    window: Option<Window>,
    state: State,
}

impl ResponseReader {
    /// A decoder that hashes the body when `want_digest`.
    pub fn new(want_digest: bool) -> ResponseReader {
        ResponseReader::with_window(want_digest, None)
    }

    /// Like [`ResponseReader::new`], also keeping the body bytes of `window` (for a regex).
    pub fn with_window(want_digest: bool, window: Option<Window>) -> ResponseReader {
        ResponseReader {
            want_digest,
            window,
            state: State::Head {
                buf: Vec::new(),
                scanned: 0,
            },
        }
    }

    /// Feeds the next bytes: `Some` once the response is complete or malformed (and for every
    /// call after that, the same result).
    pub fn push(&mut self, data: &[u8]) -> Option<Result<Response, HttpError>> {
        let decided = match &mut self.state {
            State::Done(r) => return Some(r.clone()),
            State::Head { buf, scanned } => match read_head(buf, scanned, data, self.want_digest) {
                None => return None,
                Some(Err(e)) => Err(e),
                Some(Ok((mut body_state, rest))) => {
                    if let (State::Body { kept, .. }, Some(w)) = (&mut body_state, self.window) {
                        *kept = Some((w, Vec::new()));
                    }
                    self.state = body_state;
                    return self.push_body(&rest);
                }
            },
            State::Body { .. } => return self.push_body(data),
        };
        self.state = State::Done(decided.clone());
        Some(decided)
    }

    /// The server closed its side: the decision.
    pub fn close(&mut self) -> Result<Response, HttpError> {
        let decided = match &mut self.state {
            State::Done(r) => return r.clone(),
            State::Head { .. } => Err(HttpError::ClosedBeforeResponse),
            State::Body {
                framing: Framing::Length(_),
                ..
            } => Err(HttpError::TruncatedBody),
            State::Body {
                framing: Framing::Chunked(_),
                ..
            } => Err(HttpError::TruncatedChunked),
            State::Body {
                status,
                md5,
                len,
                kept,
                ..
            } => Ok(response(*status, md5.take(), *len, kept.take())),
        };
        self.state = State::Done(decided.clone());
        decided
    }

    /// Bytes held between calls (a partial head or chunk-size line); never more than
    /// [`MAX_HEAD`].
    pub fn held(&self) -> usize {
        match &self.state {
            State::Head { buf, .. } => buf.len(),
            State::Body {
                framing: Framing::Chunked(c),
                ..
            } => c.held(),
            _ => 0,
        }
    }

    /// Body bytes kept for a regex; never more than [`REGEX_WINDOW`].
    pub fn kept(&self) -> usize {
        match &self.state {
            State::Body {
                kept: Some((_, b)), ..
            } => b.len(),
            _ => 0,
        }
    }

    fn push_body(&mut self, data: &[u8]) -> Option<Result<Response, HttpError>> {
        let State::Body {
            status,
            framing,
            md5,
            len,
            kept,
        } = &mut self.state
        else {
            return None;
        };
        let mut hash = |piece: &[u8]| {
            if let Some(m) = md5.as_mut() {
                m.update(piece);
            }
            if let Some((w, buf)) = kept.as_mut() {
                keep(w, buf, *len, piece);
            }
            // Bounded by MAX_BODY, far from u64::MAX.
            *len = len.saturating_add(piece.len() as u64);
        };
        let complete = match framing {
            Framing::Length(left) => {
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                hash(data.get(..take).unwrap_or_default());
                *left -= take as u64;
                Ok(*left == 0)
            }
            Framing::Close => {
                hash(data);
                Ok(false)
            }
            Framing::Chunked(c) => c.push(data, &mut hash).map_err(HttpError::Chunked),
        };
        let decided = match complete {
            Ok(false) if *len > MAX_BODY => Err(HttpError::BodyTooLarge),
            Ok(false) => return None,
            Ok(true) => Ok(response(*status, md5.take(), *len, kept.take())),
            Err(e) => Err(e),
        };
        self.state = State::Done(decided.clone());
        Some(decided)
    }
}

fn response(
    status: u16,
    md5: Option<Md5>,
    body_len: u64,
    kept: Option<(Window, Vec<u8>)>,
) -> Response {
    Response {
        status,
        digest: md5.map(|m| m.finalize().into()),
        body_len,
        window: kept.map(|(_, b)| b),
    }
}

/// Appends the part of `piece` (which starts at body offset `at`) that falls in `w`.
fn keep(w: &Window, buf: &mut Vec<u8>, at: u64, piece: &[u8]) {
    let end = at.saturating_add(piece.len() as u64);
    let (from, to) = (w.start.max(at), w.end.min(end));
    if from >= to {
        return;
    }
    // Both offsets lie within piece, whose length fits in usize.
    let (a, b) = ((from - at) as usize, (to - at) as usize);
    buf.extend_from_slice(piece.get(a..b).unwrap_or_default());
}

/// Adds `data` to the head read so far; once a blank line ends it, parses it and gives the
/// body state and the bytes after the head.
fn read_head(
    buf: &mut Vec<u8>,
    scanned: &mut usize,
    mut data: &[u8],
    want_digest: bool,
) -> Option<Result<(State, Vec<u8>), HttpError>> {
    if buf.is_empty() {
        // Empty lines before the status line are skipped (as httparse does), here, so that
        // the first blank line found always ends the head.
        let start = data
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(data.len());
        data = data.get(start..).unwrap_or_default();
    }
    let take = data.len().min(MAX_HEAD - buf.len());
    let (now, later) = data.split_at(take);
    buf.extend_from_slice(now);
    if !has_blank_line(buf, *scanned) {
        *scanned = buf.len();
        if buf.len() >= MAX_HEAD {
            return Some(Err(HttpError::HeadTooLong));
        }
        return None;
    }
    Some(parse_head(buf, want_digest).map(|(state, body_start)| {
        let mut rest = buf.get(body_start..).unwrap_or_default().to_vec();
        rest.extend_from_slice(later);
        (state, rest)
    }))
}

/// Whether `buf` holds a blank line (`\n\n` or `\n\r\n`) ending past `from` (the bytes
/// before were searched already).
fn has_blank_line(buf: &[u8], from: usize) -> bool {
    let tail = buf.get(from.saturating_sub(2)..).unwrap_or_default();
    tail.iter().enumerate().any(|(i, &b)| {
        b == b'\n'
            && matches!(
                (tail.get(i + 1), tail.get(i + 2)),
                (Some(b'\n'), _) | (Some(b'\r'), Some(b'\n'))
            )
    })
}

/// Parses the head that a blank line ends: the body state and where the body starts.
fn parse_head(buf: &[u8], want_digest: bool) -> Result<(State, usize), HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let parsed = httparse::ParserConfig::default()
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .ignore_invalid_headers_in_responses(true)
        .parse_response(&mut resp, buf);
    let not_http = |why: &dyn fmt::Display| {
        let first = buf.split(|&b| b == b'\n').next().unwrap_or_default();
        let first = first.get(..60).unwrap_or(first);
        HttpError::NotHttp(format!(
            "{why}: {}",
            String::from_utf8_lossy(first).trim_end()
        ))
    };
    let body_start = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
        Err(e) => return Err(not_http(&e)),
        // A blank line after a status line always completes a head.
        Ok(httparse::Status::Partial) => return Err(not_http(&"incomplete head")),
    };
    let status = resp.code.ok_or_else(|| not_http(&"no status"))?;
    // As before httparse: the last header of each kind decides; an unreadable
    // Content-Length is as none (the body ends at the close).
    let mut content_length = None;
    let mut chunked = false;
    for h in resp.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or_default().trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse::<u64>().ok();
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked framing when chunked is the last coding (RFC 9112 6.1).
            let last = value.rsplit(',').next().unwrap_or_default().trim();
            chunked = last.eq_ignore_ascii_case("chunked");
        }
    }
    let framing = match (chunked, content_length) {
        (true, _) => Framing::Chunked(ChunkedDecoder::new(MAX_BODY)),
        (false, Some(n)) if n > MAX_BODY => return Err(HttpError::BodyTooLarge),
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::Close,
    };
    let state = State::Body {
        status,
        framing,
        md5: want_digest.then(Md5::new),
        len: 0,
        kept: None,
    };
    Ok((state, body_start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5(body: &[u8]) -> Option<[u8; 16]> {
        Some(Md5::digest(body).into())
    }

    #[test]
    fn a_content_length_body_in_pieces() {
        let mut r = ResponseReader::new(true);
        assert_eq!(r.push(b"\r\nHTTP/1.0 503 Busy\r\nContent-Le"), None);
        assert_eq!(r.push(b"ngth: 5\r\n\r\nhel"), None);
        let done = Some(Ok(Response {
            status: 503,
            digest: md5(b"hello"),
            body_len: 5,
            window: None,
        }));
        assert_eq!(r.push(b"lo and more"), done);
        assert_eq!(r.push(b"x"), done, "decided once");
        assert_eq!(
            r.close(),
            done.clone().unwrap_or(Err(HttpError::HeadTooLong))
        );
    }

    #[test]
    fn framing_by_close_chunks_and_bare_lf() {
        let mut r = ResponseReader::new(false);
        assert_eq!(r.push(b"HTTP/1.1 200 OK\n\nbody"), None);
        assert_eq!(
            r.close(),
            Ok(Response {
                status: 200,
                digest: None,
                body_len: 4,
                window: None,
            })
        );
        let mut r = ResponseReader::new(true);
        let head =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(r.push(head), None);
        assert_eq!(r.push(b"2\r\nhe\r\n3\r\nllo\r\n"), None);
        assert_eq!(r.held(), 0);
        assert_eq!(
            r.push(b"0\r\n"),
            Some(Ok(Response {
                status: 200,
                digest: md5(b"hello"),
                body_len: 5,
                window: None,
            }))
        );
        let mut r = ResponseReader::new(false);
        assert_eq!(
            r.push(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .map(|r| r.is_ok()),
            Some(true)
        );
    }

    #[test]
    fn malformed_and_oversized_responses_fail() {
        let fail = |bytes: &[u8]| {
            let mut r = ResponseReader::new(true);
            r.push(bytes).unwrap_or_else(|| r.close())
        };
        assert!(matches!(
            fail(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(HttpError::NotHttp(_))
        ));
        assert!(matches!(
            fail(b"HTTP/2 200\r\n\r\n"),
            Err(HttpError::NotHttp(_))
        ));
        assert_eq!(fail(b""), Err(HttpError::ClosedBeforeResponse));
        assert_eq!(
            fail(b"HTTP/1.1 200 OK\r\n"),
            Err(HttpError::ClosedBeforeResponse)
        );
        assert_eq!(
            fail(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"),
            Err(HttpError::TruncatedBody)
        );
        assert_eq!(
            fail(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"),
            Err(HttpError::TruncatedChunked)
        );
        assert_eq!(
            fail(b"HTTP/1.1 200 OK\r\nContent-Length: 4194305\r\n\r\n"),
            Err(HttpError::BodyTooLarge)
        );
        assert_eq!(fail(&[b'a'; MAX_HEAD + 10]), Err(HttpError::HeadTooLong));
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(fail(many.as_bytes()), Err(HttpError::TooManyHeaders));
        let r = fail(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nall good\r\n");
        assert!(
            matches!(&r, Err(HttpError::Chunked(ChunkError::TooLarge { .. }))),
            "{r:?}"
        );
        assert!(r
            .unwrap_err()
            .to_string()
            .starts_with("chunk of 18446744073709551615 bytes"));
    }

    #[test]
    fn a_body_past_the_limit_without_framing_fails() {
        let mut r = ResponseReader::new(false);
        assert_eq!(r.push(b"HTTP/1.0 200 OK\r\n\r\n"), None);
        let block = vec![b'x'; 1 << 20];
        for _ in 0..4 {
            assert_eq!(r.push(&block), None);
        }
        assert_eq!(r.push(b"x"), Some(Err(HttpError::BodyTooLarge)));
    }
}
