//! SMTP_CHECK: the server's `220` banner, `HELO` answered by `250`, then `QUIT`.

use super::smtp_reply::ReplyReader;
use super::stream::{Dialogue, Step};
use crate::health::Verdict;

enum Stage {
    Banner,
    Helo,
    Quit,
}

/// The SMTP_CHECK conversation.
pub struct SmtpDialogue {
    helo: String,
    stage: Stage,
    replies: ReplyReader,
}

impl SmtpDialogue {
    /// A check that greets with `helo`.
    pub fn new(helo: &str) -> SmtpDialogue {
        SmtpDialogue {
            helo: helo.to_string(),
            stage: Stage::Banner,
            replies: ReplyReader::new(),
        }
    }
}

impl Dialogue for SmtpDialogue {
    fn connected(&mut self) -> Step {
        Step::Wait
    }

    fn received(&mut self, data: &[u8], eof: bool) -> Step {
        if let Err(e) = self.replies.push(data) {
            return Step::Done(Verdict::down(e.to_string()));
        }
        if let Some(line) = self.replies.next_reply() {
            let code = line.get(..3).unwrap_or_default();
            return match (&self.stage, code) {
                (Stage::Banner, "220") => {
                    self.stage = Stage::Helo;
                    Step::Send(format!("HELO {}\r\n", self.helo).into_bytes())
                }
                (Stage::Helo, "250") => {
                    self.stage = Stage::Quit;
                    Step::Send(b"QUIT\r\n".to_vec())
                }
                (Stage::Quit, _) => Step::Done(Verdict::up("SMTP banner, HELO and QUIT answered")),
                _ => Step::Done(Verdict::down(format!("SMTP server said: {line:.80}"))),
            };
        }
        if eof {
            if let Stage::Quit = self.stage {
                return Step::Done(Verdict::up("SMTP banner and HELO answered"));
            }
            return Step::Done(Verdict::down("SMTP server closed the connection"));
        }
        Step::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_then_helo() {
        let mut d = SmtpDialogue::new("lb1");
        assert_eq!(d.connected(), Step::Wait);
        assert_eq!(d.received(b"220-sink\r\n", false), Step::Wait);
        assert_eq!(
            d.received(b"220 sink ready\r\n", false),
            Step::Send(b"HELO lb1\r\n".to_vec())
        );
        assert_eq!(
            d.received(b"250 hi\r\n", false),
            Step::Send(b"QUIT\r\n".to_vec())
        );
        assert!(matches!(d.received(b"221 bye\r\n", false), Step::Done(v) if v.ok));
        let mut d = SmtpDialogue::new("lb1");
        assert!(matches!(d.received(b"554 no\r\n", false), Step::Done(v) if !v.ok));
    }
}
