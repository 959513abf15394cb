//! smtp_alert: mail on state transitions, sent without ever blocking the checker child.
//!
//! [`Conversation`] is the pure SMTP dialogue (banner, HELO, MAIL FROM, RCPT TO each, DATA,
//! QUIT): fed each reply line, it says what to send next. [`Sender`] drives conversations over
//! non-blocking mio TCP streams registered in the checker's loop, each bounded by
//! `smtp_connect_timeout`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kad_ipc::mio::net::TcpStream;
use kad_ipc::mio::{Interest, Registry, Token};

use crate::probe::smtp_reply::ReplyReader;

/// A mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// HELO name.
    pub helo: String,
    /// Envelope and header sender.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
}

/// Where the dialogue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Banner,
    Helo,
    MailFrom,
    Rcpt(usize),
    Data,
    Body,
    Quit,
    Done,
}

/// What to do after a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send these bytes and wait for the next reply.
    Send(String),
    /// The mail was accepted; the connection may close.
    Done,
    /// The server refused: the reply line.
    Failed(String),
}

/// The SMTP dialogue for one mail.
#[derive(Debug, Clone)]
pub struct Conversation {
    mail: Mail,
    step: Step,
}

impl Conversation {
    /// A dialogue that starts by waiting for the server's banner.
    pub fn new(mail: Mail) -> Self {
        Conversation {
            mail,
            step: Step::Banner,
        }
    }

    /// Feeds one complete reply (the last line of a multi-line reply).
    pub fn reply(&mut self, line: &str) -> Next {
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        let want = match self.step {
            Step::Banner => 220,
            Step::Data => 354,
            Step::Quit => 221,
            Step::Done => return Next::Done,
            _ => 250,
        };
        if code != want && !(self.step == Step::Quit) {
            return Next::Failed(line.to_string());
        }
        let m = &self.mail;
        let (next, send) = match self.step {
            Step::Banner => (Step::Helo, format!("HELO {}\r\n", m.helo)),
            Step::Helo => (Step::MailFrom, format!("MAIL FROM:<{}>\r\n", m.from)),
            Step::MailFrom | Step::Rcpt(_) => {
                let n = match self.step {
                    Step::Rcpt(n) => n + 1,
                    _ => 0,
                };
                match m.to.get(n) {
                    Some(to) => (Step::Rcpt(n), format!("RCPT TO:<{to}>\r\n")),
                    None => (Step::Data, "DATA\r\n".to_string()),
                }
            }
            Step::Data => {
                let to = m.to.join(", ");
                let body = m.body.replace("\n.", "\n..");
                let text = format!(
                    "From: {}\r\nTo: {to}\r\nSubject: {}\r\nX-Mailer: kad\r\n\r\n{body}\r\n.\r\n",
                    m.from, m.subject
                );
                (Step::Body, text)
            }
            Step::Body => (Step::Quit, "QUIT\r\n".to_string()),
            Step::Quit | Step::Done => {
                self.step = Step::Done;
                return Next::Done;
            }
        };
        self.step = next;
        Next::Send(send)
    }
}

struct Connection {
    stream: TcpStream,
    talk: Conversation,
    replies: ReplyReader,
    outbuf: Vec<u8>,
    deadline: Instant,
}

/// Sends mails over non-blocking connections.
pub struct Sender {
    registry: Option<Registry>,
    first_token: usize,
    next_id: usize,
    conns: HashMap<usize, Connection>,
}

impl Sender {
    /// A sender registering its sockets from `first_token` on.
    pub fn new(first_token: usize) -> Self {
        Sender {
            registry: None,
            first_token,
            next_id: 0,
            conns: HashMap::new(),
        }
    }

    /// Gives the sender the loop's registry.
    pub fn set_registry(&mut self, registry: Registry) {
        self.registry = Some(registry);
    }

    /// Starts sending `mail` to `server` (resolved when the configuration was loaded).
    pub fn send(&mut self, server: SocketAddr, mail: Mail, timeout: Duration) {
        let Some(registry) = &self.registry else {
            return;
        };
        let mut stream = match TcpStream::connect(server) {
            Ok(s) => s,
            Err(e) => {
                log::error!("smtp_alert: cannot connect to {server}: {e}");
                return;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let token = Token(self.first_token + id % 1_000_000);
        if let Err(e) =
            registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
        {
            log::error!("smtp_alert: {e}");
            return;
        }
        self.conns.insert(
            id % 1_000_000,
            Connection {
                stream,
                talk: Conversation::new(mail),
                replies: ReplyReader::new(),
                outbuf: Vec::new(),
                deadline: Instant::now() + timeout,
            },
        );
    }

    /// True if `token` is one of the sender's.
    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.first_token && self.conns.contains_key(&(token.0 - self.first_token))
    }

    /// Earliest timeout of a running conversation.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.conns.values().map(|c| c.deadline).min()
    }

    /// Drops conversations past their timeout.
    pub fn on_timer(&mut self, now: Instant) {
        self.conns.retain(|_, c| {
            let alive = c.deadline > now;
            if !alive {
                log::error!("smtp_alert: timed out talking to the SMTP server");
            }
            alive
        });
    }

    /// Progresses the conversation of `token`.
    pub fn ready(&mut self, token: Token) {
        let id = token.0 - self.first_token;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let mut finished = false;
        let mut buf = [0u8; 1024];
        loop {
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    finished = true;
                    break;
                }
                Ok(n) => {
                    if let Err(e) = c.replies.push(buf.get(..n).unwrap_or_default()) {
                        log::error!("smtp_alert: {e}");
                        finished = true;
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    log::error!("smtp_alert: {e}");
                    finished = true;
                    break;
                }
            }
        }
        while let Some(line) = c.replies.next_reply() {
            match c.talk.reply(&line) {
                Next::Send(s) => c.outbuf.extend_from_slice(s.as_bytes()),
                Next::Done => {
                    log::info!("smtp_alert: mail sent");
                    finished = true;
                }
                Next::Failed(l) => {
                    log::error!("smtp_alert: server refused: {l}");
                    finished = true;
                }
            }
        }
        while !c.outbuf.is_empty() && !finished {
            match c.stream.write(&c.outbuf) {
                Ok(n) => {
                    c.outbuf.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    log::error!("smtp_alert: {e}");
                    finished = true;
                }
            }
        }
        if finished {
            if let (Some(r), Some(mut c)) = (&self.registry, self.conns.remove(&id)) {
                let _ = r.deregister(&mut c.stream);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        Mail {
            helo: "lb1".into(),
            from: "kad@example.org".into(),
            to: vec!["a@example.org".into(), "b@example.org".into()],
            subject: "[lb1] VRRP Instance VI_1 - Entering MASTER state".into(),
            body: "=> VRRP Instance is now owning VRRP VIPs <=".into(),
        }
    }

    #[test]
    fn the_dialogue_follows_smtp() {
        let mut c = Conversation::new(mail());
        assert_eq!(c.reply("220 sink ESMTP"), Next::Send("HELO lb1\r\n".into()));
        assert_eq!(
            c.reply("250 hello"),
            Next::Send("MAIL FROM:<kad@example.org>\r\n".into())
        );
        assert_eq!(
            c.reply("250 ok"),
            Next::Send("RCPT TO:<a@example.org>\r\n".into())
        );
        assert_eq!(
            c.reply("250 ok"),
            Next::Send("RCPT TO:<b@example.org>\r\n".into())
        );
        assert_eq!(c.reply("250 ok"), Next::Send("DATA\r\n".into()));
        match c.reply("354 go") {
            Next::Send(s) => {
                assert!(s.starts_with("From: kad@example.org\r\nTo: a@example.org, b@example.org\r\nSubject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n"));
                assert!(s.ends_with("\r\n.\r\n"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.reply("250 queued"), Next::Send("QUIT\r\n".into()));
        assert_eq!(c.reply("221 bye"), Next::Done);
    }

    #[test]
    fn a_refusal_ends_the_dialogue() {
        let mut c = Conversation::new(mail());
        c.reply("220 sink");
        c.reply("250 hello");
        assert_eq!(
            c.reply("550 no such sender"),
            Next::Failed("550 no such sender".into())
        );
        let mut c = Conversation::new(mail());
        assert_eq!(c.reply("554 go away"), Next::Failed("554 go away".into()));
    }
}
