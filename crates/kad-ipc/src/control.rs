//! The control socket's protocol (kad's parent serves it, `kadctl` speaks it): one request,
//! one reply, each a single line of JSON ending in `\n`, then the server closes the
//! connection. A request is at most [`MAX_REQUEST`] bytes; a longer one, one that is not
//! valid JSON or names no known verb gets an [`Reply::Error`].

use serde::{Deserialize, Serialize};

use crate::status::Status;

/// Largest request the server reads, newline included.
pub const MAX_REQUEST: usize = 4096;

/// A request (externally tagged JSON: `"Status"`, `"Reload"`, `{"Drain":{"vs":..,"rs":..}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// The state snapshot.
    Status,
    /// Reload the configuration file and report the outcome.
    Reload,
    /// Put an instance in maintenance (`on`) or take it out.
    Maintenance {
        /// Instance name.
        instance: String,
        /// In or out.
        on: bool,
    },
    /// Drain a real server (wanted weight 0) until undrained.
    Drain {
        /// `IP:PORT`, `IP:PORT/udp` or `fwmark:N`.
        vs: String,
        /// `IP:PORT`.
        rs: String,
    },
    /// Clear a drain or weight override.
    Undrain {
        /// Virtual server.
        vs: String,
        /// Real server.
        rs: String,
    },
    /// Set a real server's weight until cleared with `Undrain`.
    Weight {
        /// Virtual server.
        vs: String,
        /// Real server.
        rs: String,
        /// The weight (0..=65535).
        weight: u32,
    },
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// The state snapshot.
    Status(Status),
    /// The request was carried out.
    Ok,
    /// A reload was refused: the file's diagnostics (`FILE:LINE: error: ...`).
    Refused(Vec<String>),
    /// The request was malformed or could not be carried out.
    Error(String),
}

/// Decodes one request line (without or with its `\n`).
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    if line.len() > MAX_REQUEST {
        return Err(format!("request over {MAX_REQUEST} bytes"));
    }
    serde_json::from_slice(line).map_err(|e| format!("bad request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_one_json_line() {
        for r in [
            Request::Status,
            Request::Reload,
            Request::Maintenance {
                instance: "VI_1".into(),
                on: true,
            },
            Request::Weight {
                vs: "192.0.2.1:80".into(),
                rs: "192.0.2.2:80".into(),
                weight: 7,
            },
        ] {
            let line = serde_json::to_string(&r).expect("encode");
            assert!(!line.contains('\n'));
            assert_eq!(parse_request(line.as_bytes()), Ok(r));
        }
        assert_eq!(parse_request(b"\"Status\"\n"), Ok(Request::Status));
    }

    #[test]
    fn garbage_and_oversized_requests_are_errors() {
        assert!(parse_request(b"\xff\xfe").is_err());
        assert!(parse_request(b"{\"Nope\":1}").is_err());
        assert!(parse_request(&vec![b' '; MAX_REQUEST + 1]).is_err());
    }
}
