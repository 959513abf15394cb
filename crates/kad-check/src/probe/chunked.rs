//! The `Transfer-Encoding: chunked` body decoder of HTTP_GET / SSL_GET (sans-I/O): fed the
//! bytes after the response head in pieces of any size, it hands out the body's data and says
//! when the last chunk came. Chunk sizes are read by httparse's overflow-safe
//! [`httparse::parse_chunk_size`]; a chunk larger than the body budget left fails at once, so
//! nothing is ever allocated for a size the server merely announces. Trailers after the last
//! chunk are not waited for: the body is complete at the `0` size line.

use std::fmt;

/// The longest chunk-size line read (size and extensions).
pub const MAX_SIZE_LINE: usize = 1024;

/// Why a chunked body is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    /// A size line that is not `HEX[;ext]CRLF` (the first bytes of it).
    BadSize(String),
    /// A size line longer than [`MAX_SIZE_LINE`].
    SizeLineTooLong,
    /// A chunk larger than what is left of the body budget.
    TooLarge {
        /// The announced size.
        size: u64,
        /// The budget left.
        left: u64,
    },
    /// A chunk's data not followed by CRLF.
    MissingCrlf,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::BadSize(s) => write!(f, "bad chunk size {s:?}"),
            ChunkError::SizeLineTooLong => {
                write!(f, "chunk size line longer than {MAX_SIZE_LINE} bytes")
            }
            ChunkError::TooLarge { size, left } => write!(
                f,
                "chunk of {size} bytes, more than the {left} bytes left of the body limit"
            ),
            ChunkError::MissingCrlf => write!(f, "chunk data not followed by CRLF"),
        }
    }
}

impl std::error::Error for ChunkError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a size line (kept in `line`).
    Size,
    /// Inside a chunk's data: bytes left.
    Data(u64),
    /// After a chunk's data: the CR.
    Cr,
    /// After a chunk's data: the LF.
    Lf,
    /// The last chunk came.
    Done,
}

/// An incremental chunked-body decoder.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    line: Vec<u8>,
    left: u64,
    failed: Option<ChunkError>,
}

impl ChunkedDecoder {
    /// A decoder accepting at most `limit` bytes of body data in all.
    pub fn new(limit: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            line: Vec::new(),
            left: limit,
            failed: None,
        }
    }

    /// Decodes `data`, handing each piece of body data to `out`: `Ok(true)` once the last
    /// chunk came (later bytes are ignored), `Ok(false)` while more is needed. An error is
    /// final: every later call returns it again.
    pub fn push(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<bool, ChunkError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.decode(data, out) {
            Ok(done) => Ok(done),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Bytes held between calls (a partial size line).
    pub fn held(&self) -> usize {
        self.line.len()
    }

    fn decode(&mut self, mut data: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<bool, ChunkError> {
        while let Some((&first, rest)) = data.split_first() {
            match self.state {
                State::Done => return Ok(true),
                State::Size => {
                    let (line_end, next) = match data.iter().position(|&b| b == b'\n') {
                        Some(i) => data.split_at(i + 1),
                        None => (data, &[][..]),
                    };
                    if self.line.len() + line_end.len() > MAX_SIZE_LINE {
                        return Err(ChunkError::SizeLineTooLong);
                    }
                    self.line.extend_from_slice(line_end);
                    data = next;
                    if self.line.last() == Some(&b'\n') {
                        self.size_line()?;
                    }
                }
                State::Data(n) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(data.len());
                    let (chunk, next) = data.split_at(take);
                    out(chunk);
                    data = next;
                    // take <= n: no underflow.
                    let left = n - take as u64;
                    self.state = if left == 0 {
                        State::Cr
                    } else {
                        State::Data(left)
                    };
                }
                State::Cr | State::Lf => {
                    self.state = match (self.state, first) {
                        (State::Cr, b'\r') => State::Lf,
                        (_, b'\n') => State::Size,
                        _ => return Err(ChunkError::MissingCrlf),
                    };
                    data = rest;
                }
            }
        }
        Ok(self.state == State::Done)
    }

    /// Reads the complete size line in `line`.
    fn size_line(&mut self) -> Result<(), ChunkError> {
        let bad = || {
            let shown = self.line.get(..20).unwrap_or(&self.line);
            ChunkError::BadSize(String::from_utf8_lossy(shown).trim_end().to_string())
        };
        // httparse reads an empty size as 0: a size needs at least one digit.
        if !self.line.first().is_some_and(u8::is_ascii_hexdigit) {
            return Err(bad());
        }
        let size = match httparse::parse_chunk_size(&self.line) {
            Ok(httparse::Status::Complete((_, size))) => size,
            // A line ending in a bare LF: not CRLF.
            Ok(httparse::Status::Partial) | Err(_) => return Err(bad()),
        };
        self.line.clear();
        if size == 0 {
            self.state = State::Done;
            return Ok(());
        }
        if size > self.left {
            return Err(ChunkError::TooLarge {
                size,
                left: self.left,
            });
        }
        self.left -= size;
        self.state = State::Data(size);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(pieces: &[&[u8]], limit: u64) -> (Result<bool, ChunkError>, Vec<u8>) {
        let mut d = ChunkedDecoder::new(limit);
        let mut body = Vec::new();
        let mut last = Ok(false);
        for p in pieces {
            last = d.push(p, &mut |b| body.extend_from_slice(b));
            if last != Ok(false) {
                break;
            }
        }
        (last, body)
    }

    #[test]
    fn chunks_with_extensions_in_any_pieces() {
        let raw = b"2\r\nhe\r\n3;name=v\r\nllo\r\n0\r\nTrailer: x\r\n\r\n";
        assert_eq!(decode(&[raw], 100), (Ok(true), b"hello".to_vec()));
        let bytes: Vec<&[u8]> = raw.chunks(1).collect();
        assert_eq!(decode(&bytes, 100), (Ok(true), b"hello".to_vec()));
        assert_eq!(decode(&[b"2\r\nhe\r\n"], 100), (Ok(false), b"he".to_vec()));
    }

    #[test]
    fn hostile_sizes_fail_without_allocating() {
        // 2^64-1 (issue 13 item 2 crashed here), and more digits than a u64 holds.
        let (r, _) = decode(&[b"ffffffffffffffff\r\nabc"], 4 << 20);
        assert_eq!(
            r,
            Err(ChunkError::TooLarge {
                size: u64::MAX,
                left: 4 << 20
            })
        );
        let (r, _) = decode(&[b"10000000000000000\r\nabc"], 4 << 20);
        assert!(matches!(r, Err(ChunkError::BadSize(_))), "{r:?}");
        let (r, body) = decode(&[b"4\r\nabcd\r\n4\r\nefgh\r\n"], 6);
        assert_eq!(r, Err(ChunkError::TooLarge { size: 4, left: 2 }));
        assert_eq!(body, b"abcd");
        for bad in [&b"\r\n"[..], b"x\r\n", b"5\n", b"-1\r\n", b" 5\r\n"] {
            assert!(
                matches!(decode(&[bad], 100).0, Err(ChunkError::BadSize(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            decode(&[&[b'1'; MAX_SIZE_LINE + 1][..]], 100).0,
            Err(ChunkError::SizeLineTooLong)
        );
        assert_eq!(decode(&[b"2\r\nhexx"], 100).0, Err(ChunkError::MissingCrlf));
    }
}
