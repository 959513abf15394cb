//! SMTP reply reading (sans-I/O), shared by SMTP_CHECK and smtp_alert: fed the server's bytes
//! in pieces of any size, it gives each complete reply as the text of its last line (the lines
//! of a multi-line reply, `250-…`, are read and dropped). Each byte is looked at once; a reply,
//! or the replies waiting to be taken, of more than [`MAX_REPLY`] bytes fail.

use std::collections::VecDeque;
use std::fmt;

/// The most bytes of one reply (all its lines), and of the replies held at once.
pub const MAX_REPLY: usize = 64 * 1024;

/// A reply, or the replies held, exceeded [`MAX_REPLY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTooLong;

impl fmt::Display for ReplyTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SMTP reply too long")
    }
}

/// An incremental SMTP reply reader.
#[derive(Debug, Clone, Default)]
pub struct ReplyReader {
    /// The line being read.
    line: Vec<u8>,
    /// Bytes of the reply being read (its finished lines and `line`).
    current: usize,
    /// Complete replies not taken yet, and their bytes.
    ready: VecDeque<String>,
    ready_bytes: usize,
    failed: bool,
}

impl ReplyReader {
    /// An empty reader.
    pub fn new() -> ReplyReader {
        ReplyReader::default()
    }

    /// Reads `data`. An error is final: every later call returns it again.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), ReplyTooLong> {
        while !self.failed && !data.is_empty() {
            let (part, rest, ends) = match data.iter().position(|&b| b == b'\n') {
                Some(i) => (data.get(..i).unwrap_or_default(), data.get(i + 1..), true),
                None => (data, None, false),
            };
            data = rest.unwrap_or_default();
            self.current = self.current.saturating_add(part.len() + usize::from(ends));
            if self.current.saturating_add(self.ready_bytes) > MAX_REPLY {
                self.failed = true;
                break;
            }
            self.line.extend_from_slice(part);
            if ends {
                self.end_line();
            }
        }
        if self.failed {
            return Err(ReplyTooLong);
        }
        Ok(())
    }

    /// The next complete reply: its last line, without the line end.
    pub fn next_reply(&mut self) -> Option<String> {
        let reply = self.ready.pop_front()?;
        self.ready_bytes = self.ready_bytes.saturating_sub(reply.len());
        Some(reply)
    }

    /// Bytes held between calls; never more than [`MAX_REPLY`].
    pub fn held(&self) -> usize {
        self.line.len() + self.ready.iter().map(String::len).sum::<usize>()
    }

    fn end_line(&mut self) {
        if self.line.get(3) == Some(&b'-') {
            self.line.clear(); // a multi-line reply goes on
            return;
        }
        let text = String::from_utf8_lossy(&self.line).trim_end().to_string();
        self.line.clear();
        self.current = 0;
        self.ready_bytes += text.len();
        self.ready.push_back(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_replies_in_pieces() {
        let mut r = ReplyReader::new();
        assert_eq!(r.push(b"220-sink\r\n220-more\r\n220 rea"), Ok(()));
        assert_eq!(r.next_reply(), None);
        assert_eq!(r.push(b"dy\r\n250 ok\n"), Ok(()));
        assert_eq!(r.next_reply().as_deref(), Some("220 ready"));
        assert_eq!(r.next_reply().as_deref(), Some("250 ok"));
        assert_eq!(r.next_reply(), None);
        assert_eq!(r.held(), 0);
    }

    #[test]
    fn endless_replies_are_cut() {
        let mut r = ReplyReader::new();
        assert_eq!(r.push(&vec![b'2'; MAX_REPLY + 1]), Err(ReplyTooLong));
        assert_eq!(r.push(b"\n"), Err(ReplyTooLong), "final");
        let mut r = ReplyReader::new();
        let line = b"250-continued\r\n";
        let mut result = Ok(());
        for _ in 0..=MAX_REPLY / line.len() {
            result = r.push(line);
        }
        assert_eq!(result, Err(ReplyTooLong));
        let mut r = ReplyReader::new();
        let mut result = Ok(());
        for _ in 0..=MAX_REPLY / "250 ok".len() {
            result = result.and(r.push(b"250 ok\r\n"));
        }
        assert_eq!(result, Err(ReplyTooLong), "replies nobody takes");
        assert!(r.held() <= MAX_REPLY);
    }
}
