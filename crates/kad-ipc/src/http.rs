//! The metrics endpoint's HTTP/1.x, sans-I/O: [`parse_head`] decides what a request head asks
//! for (only `GET /metrics`), [`response`] builds the one reply a connection gets before the
//! server closes it. The head is bounded ([`MAX_HEAD`] bytes); nothing here allocates more
//! than the reply or panics on what a client sends.

/// Largest request head (request line and headers, up to the empty line) the server reads.
pub const MAX_HEAD: usize = 8192;

/// What a request head asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// The head has not ended yet: read more (if the bound allows).
    Partial,
    /// `GET /metrics` (any query string), HTTP/1.0 or 1.1.
    Metrics,
    /// Anything else: answer with this status code, then close.
    Reject(u16),
}

/// Decides what the bytes read so far (`buf`) ask for: `Partial` until the empty line that
/// ends the head, `Reject(431)` once more than [`MAX_HEAD`] bytes came without one,
/// `Reject(400)` for a malformed request line, 405 for another method than GET, 404 for
/// another path than `/metrics`.
pub fn parse_head(buf: &[u8]) -> Head {
    // The head ends at the first empty line, whichever line ending the client uses.
    let crlf = find(buf, b"\r\n\r\n").map(|i| i.saturating_add(4));
    let lf = find(buf, b"\n\n").map(|i| i.saturating_add(2));
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let head = match end {
        Some(end) if end <= MAX_HEAD => buf.get(..end).unwrap_or_default(),
        Some(_) => return Head::Reject(431),
        None if buf.len() > MAX_HEAD => return Head::Reject(431),
        None => return Head::Partial,
    };
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = head.get(..line_end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        return Head::Reject(400);
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Head::Reject(400);
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !token(method) || !token(target) || !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Head::Reject(400);
    }
    if method != "GET" {
        return Head::Reject(405);
    }
    let path = target.split('?').next().unwrap_or_default();
    if path != "/metrics" {
        return Head::Reject(404);
    }
    Head::Metrics
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The content type of the Prometheus text exposition format.
pub const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A whole HTTP/1.1 reply with `Connection: close`: `200` with `body` as [`METRICS_TYPE`],
/// or an error code with its reason as a short plain-text body.
pub fn response(code: u16, body: &str) -> Vec<u8> {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let (ctype, body) = if code == 200 {
        (METRICS_TYPE, body.to_string())
    } else {
        ("text/plain; charset=utf-8", format!("{code} {reason}\n"))
    };
    let allow = if code == 405 { "Allow: GET\r\n" } else { "" };
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_get_of_metrics_is_served() {
        assert_eq!(
            parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Head::Metrics
        );
        assert_eq!(parse_head(b"GET /metrics?x=1 HTTP/1.0\n\n"), Head::Metrics);
        assert_eq!(
            parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"),
            Head::Partial
        );
        assert_eq!(parse_head(b""), Head::Partial);
        assert_eq!(
            parse_head(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Head::Reject(405)
        );
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\n\r\n"), Head::Reject(404));
        assert_eq!(
            parse_head(b"GET /metricsx HTTP/1.1\r\n\r\n"),
            Head::Reject(404)
        );
        assert_eq!(
            parse_head(b"GET /metrics HTTP/2\r\n\r\n"),
            Head::Reject(400)
        );
        assert_eq!(
            parse_head(b"GET  /metrics HTTP/1.1\r\n\r\n"),
            Head::Reject(400)
        );
        assert_eq!(parse_head(b"GET /metrics\r\n\r\n"), Head::Reject(400));
        assert_eq!(
            parse_head(b"\xff /metrics HTTP/1.1\r\n\r\n"),
            Head::Reject(400)
        );
    }

    #[test]
    fn a_head_over_the_bound_is_refused_with_or_without_its_end() {
        let mut long = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        long.resize(MAX_HEAD + 1, b'a');
        assert_eq!(parse_head(&long), Head::Reject(431));
        long.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_head(&long), Head::Reject(431));
        let mut fits = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        fits.resize(MAX_HEAD - 4, b'a');
        fits.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_head(&fits), Head::Metrics);
    }

    #[test]
    fn replies_carry_their_length_and_close() {
        let r = String::from_utf8(response(200, "a 1\n")).expect("utf-8");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(r.contains("Content-Length: 4\r\n"));
        assert!(r.contains("Connection: close\r\n"));
        assert!(r.ends_with("\r\n\r\na 1\n"));
        let r = String::from_utf8(response(405, "")).expect("utf-8");
        assert!(r.contains("Allow: GET\r\n"));
    }
}
