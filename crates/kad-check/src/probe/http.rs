//! HTTP_GET / SSL_GET: one GET per `url`, each on its own connection, all of which must pass.
//! A URL passes when the status is in its `status_code` ranges (any status when only a digest
//! is set) and, with `digest`, the MD5 of the body matches. The response is decoded as it
//! comes by [`super::http_response`], which bounds what it reads. With `regex`, the body (from
//! `regex_min_offset`, at most [`super::http_response::REGEX_WINDOW`] bytes) must match, a
//! match starting no later than `regex_max_offset` (with `regex_no_match`: must not).

use kad_core::config::model::{CheckTarget, HttpVersion, UrlCheck};
use md5::{Digest, Md5};

use super::http_response::{Response, ResponseReader, Window};
use super::stream::{Dialogue, Step};
use crate::health::Verdict;

/// The GETs of one check attempt.
pub struct HttpDialogue {
    urls: Box<[UrlCheck]>,
    next: usize,
    host: String,
    port_suffix: String,
    version: HttpVersion,
    reader: ResponseReader,
}

impl HttpDialogue {
    /// The dialogue for `urls` against `target`, `Host:` from `virtualhost` else the address.
    pub fn new(
        urls: &[UrlCheck],
        virtualhost: Option<&str>,
        target: &CheckTarget,
        version: HttpVersion,
    ) -> HttpDialogue {
        let host = match (virtualhost, target.addr) {
            (Some(h), _) => h.to_string(),
            (None, std::net::IpAddr::V6(a)) => format!("[{a}]"),
            (None, a) => a.to_string(),
        };
        let port_suffix = match target.port {
            Some(80) | None => String::new(),
            Some(p) => format!(":{p}"),
        };
        HttpDialogue {
            urls: urls.into(),
            next: 0,
            host,
            port_suffix,
            version,
            reader: ResponseReader::new(false),
        }
    }

    fn request(&self, url: &UrlCheck) -> Vec<u8> {
        let host = url.virtualhost.as_deref().unwrap_or(&self.host);
        let (proto, close) = match self.version {
            HttpVersion::Http10 => ("1.0", ""),
            HttpVersion::Http10Close => ("1.0", "Connection: close\r\n"),
            HttpVersion::Http11 => ("1.1", "Connection: close\r\n"),
        };
        format!(
            "GET {} HTTP/{proto}\r\nUser-Agent: KeepAliveClient\r\nHost: {host}{}\r\n{close}\r\n",
            url.path, self.port_suffix
        )
        .into_bytes()
    }
}

/// Lower-case hex MD5 of `body` (what keepalived's genhash prints).
pub fn md5_hex(body: &[u8]) -> String {
    hex(&Md5::digest(body))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compiled url regexes by pattern, so a check does not compile its pattern again each time.
/// Bounded: emptied when it holds [`REGEX_CACHE`] patterns (reloads may bring new ones).
const REGEX_CACHE: usize = 256;

thread_local! {
    static REGEXES: std::cell::RefCell<std::collections::HashMap<Box<str>, Result<regex::bytes::Regex, String>>> =
        std::cell::RefCell::default();
}

/// `pattern` compiled (once per pattern while it stays in the cache).
fn compiled(pattern: &str) -> Result<regex::bytes::Regex, String> {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(found) = cache.get(pattern) {
            return found.clone();
        }
        if cache.len() >= REGEX_CACHE {
            cache.clear();
        }
        let made = regex::bytes::Regex::new(pattern).map_err(|e| e.to_string());
        cache.insert(pattern.into(), made.clone());
        made
    })
}

/// Judges one complete response against its URL.
fn judge(url: &UrlCheck, response: &Response) -> Result<(), String> {
    let status = response.status;
    let status_ok = url.status_codes.is_empty() && url.digest.is_some()
        || url
            .status_codes
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&status));
    if !status_ok {
        return Err(format!("{} returned status {status}", url.path));
    }
    if let Some(want) = &url.digest {
        let got = response.digest.as_ref().map(|d| hex(d)).unwrap_or_default();
        if !got.eq_ignore_ascii_case(want) {
            return Err(format!("{} digest {got}, expected {want}", url.path));
        }
    }
    if let Some(r) = &url.regex {
        let re = compiled(&r.pattern).map_err(|e| format!("{} regex: {e}", url.path))?;
        let body = response.window.as_deref().unwrap_or_default();
        // Relative to the window, the latest start allowed (`None`: max before min, so no
        // match can count). The leftmost match decides: any other one starts later.
        let latest = match r.max_offset {
            None => Some(usize::MAX),
            Some(m) => m
                .checked_sub(r.min_offset)
                .map(|d| usize::try_from(d).unwrap_or(usize::MAX)),
        };
        let found = match (latest, re.find(body)) {
            (Some(l), Some(m)) => m.start() <= l,
            _ => false,
        };
        match (found, r.no_match) {
            (false, false) => return Err(format!("{} body does not match the regex", url.path)),
            (true, true) => {
                return Err(format!(
                    "{} body matches the regex (regex_no_match)",
                    url.path
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

impl Dialogue for HttpDialogue {
    fn connected(&mut self) -> Step {
        match self.urls.get(self.next) {
            Some(url) => {
                let window = url
                    .regex
                    .as_ref()
                    .map(|r| Window::new(r.min_offset, r.max_offset));
                self.reader = ResponseReader::with_window(url.digest.is_some(), window);
                Step::Send(self.request(url))
            }
            None => Step::Done(Verdict::up("no url to check")),
        }
    }

    fn received(&mut self, data: &[u8], eof: bool) -> Step {
        let decided = match self.reader.push(data) {
            None if eof => self.reader.close(),
            None => return Step::Wait,
            Some(r) => r,
        };
        let response = match decided {
            Ok(r) => r,
            Err(e) => return Step::Done(Verdict::down(e.to_string())),
        };
        let Some(url) = self.urls.get(self.next) else {
            return Step::Done(Verdict::up("no url to check"));
        };
        if let Err(e) = judge(url, &response) {
            return Step::Done(Verdict::down(e));
        }
        self.next += 1;
        if self.next < self.urls.len() {
            Step::Reconnect
        } else {
            Step::Done(Verdict::up(format!("status {}", response.status)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_compiled_once_and_the_cache_stays_bounded() {
        let cached = || REGEXES.with(|c| c.borrow().len());
        let before = cached();
        assert!(compiled("ok$").is_ok_and(|r| r.is_match(b"all ok")));
        assert!(compiled("ok$").is_ok());
        assert_eq!(cached(), before + 1, "the second use found the first");
        assert!(compiled("(unclosed").is_err());
        for n in 0..REGEX_CACHE + 10 {
            assert!(compiled(&format!("p{n}")).is_ok());
        }
        assert!(cached() <= REGEX_CACHE);
    }

    fn url(codes: &[(u16, u16)], digest: Option<&str>) -> UrlCheck {
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
            addr: "192.0.2.1".parse().unwrap(),
            port: Some(8080),
            bind_addr: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
        }
    }

    #[test]
    fn the_request_names_the_host_and_port() {
        let d = HttpDialogue::new(
            &[url(&[(200, 299)], None)],
            Some("www.example.org"),
            &target(),
            HttpVersion::Http11,
        );
        let req = String::from_utf8(d.request(&d.urls[0])).unwrap();
        assert_eq!(
            req,
            "GET /health HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nHost: www.example.org:8080\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn status_digest_and_framing_are_judged() {
        let body = b"hello";
        let digest = md5_hex(body);
        assert_eq!(digest, "5d41402abc4b2a76b9719d911017c592");
        let mut d = HttpDialogue::new(
            &[url(&[], Some(&digest))],
            None,
            &target(),
            HttpVersion::Http10,
        );
        d.connected();
        assert_eq!(
            d.received(b"HTTP/1.0 503 Busy\r\nContent-Length: 5\r\n\r\nhel", false),
            Step::Wait
        );
        assert_eq!(
            d.received(b"lo", false),
            Step::Done(Verdict::up("status 503"))
        );

        let mut d = HttpDialogue::new(
            &[url(&[(200, 200)], None)],
            None,
            &target(),
            HttpVersion::Http10,
        );
        d.connected();
        match d.received(b"HTTP/1.1 500 Oops\r\n\r\n", true) {
            Step::Done(v) => assert_eq!(v.reason, "/health returned status 500"),
            s => panic!("{s:?}"),
        }
        let mut d = HttpDialogue::new(
            &[url(&[(200, 200)], Some("00"))],
            None,
            &target(),
            HttpVersion::Http11,
        );
        d.connected();
        let s = d.received(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", false);
        assert_eq!(
            s,
            Step::Done(Verdict::down(format!(
                "/health digest {digest}, expected 00"
            )))
        );
    }

    #[test]
    fn several_urls_need_a_new_connection_each() {
        let urls = [url(&[(200, 200)], None), url(&[(200, 200)], None)];
        let mut d = HttpDialogue::new(&urls, None, &target(), HttpVersion::Http10);
        d.connected();
        assert_eq!(
            d.received(b"HTTP/1.0 200 OK\r\n\r\n", true),
            Step::Reconnect
        );
        d.connected();
        assert_eq!(
            d.received(b"HTTP/1.0 200 OK\r\n\r\n", true),
            Step::Done(Verdict::up("status 200"))
        );
    }

    #[test]
    fn garbage_and_silence_fail() {
        let mut d = HttpDialogue::new(
            &[url(&[(200, 200)], None)],
            None,
            &target(),
            HttpVersion::Http10,
        );
        d.connected();
        assert!(matches!(d.received(b"SSH-2.0-OpenSSH\r\n\r\n", false), Step::Done(v) if !v.ok));
        let mut d = HttpDialogue::new(
            &[url(&[(200, 200)], None)],
            None,
            &target(),
            HttpVersion::Http10,
        );
        d.connected();
        assert!(matches!(d.received(b"", true), Step::Done(v) if !v.ok));
    }
}
