//! Checker blocks (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, …), their `url` blocks and the
//! top-level `SSL` block.

use std::net::IpAddr;
use std::time::Duration;

use super::super::global::set;
use super::super::Ctx;
use super::timing::Timing;
use super::url_regex::RegexOptions;
use crate::config::diag::Pos;
use crate::config::keywords::Block;
use crate::config::model::{CheckKind, HttpVersion, Script, SslContext, UdpCheck, UrlCheck};
use crate::config::reader::Stmt;
use crate::config::values::{
    parse_digest, parse_hex, parse_int_in, parse_ip, parse_port, parse_status_range,
};

/// A checker as written, before the virtual server's settings are known.
#[derive(Clone)]
pub(super) struct PendingChecker {
    pub(super) pos: Pos,
    pub(super) name: &'static str,
    pub(super) kind: CheckKind,
    pub(super) connect_ip: Option<IpAddr>,
    pub(super) connect_port: Option<u16>,
    pub(super) bind_addr: Option<IpAddr>,
    pub(super) bind_port: Option<u16>,
    pub(super) bind_if: Option<Box<str>>,
    pub(super) fwmark: Option<u32>,
    /// `log_all_failures` if written (else global_defs' `checker_log_all_failures`).
    pub(super) log_all_failures: Option<bool>,
    pub(super) timing: Timing,
}

pub(super) fn checker_name(kw: &str) -> Option<&'static str> {
    Some(match kw {
        "TCP_CHECK" => "TCP_CHECK",
        "HTTP_GET" => "HTTP_GET",
        "SSL_GET" => "SSL_GET",
        "MISC_CHECK" => "MISC_CHECK",
        "PING_CHECK" => "PING_CHECK",
        "UDP_CHECK" => "UDP_CHECK",
        "SMTP_CHECK" => "SMTP_CHECK",
        "DNS_CHECK" => "DNS_CHECK",
        "FILE_CHECK" => "FILE_CHECK",
        _ => return None,
    })
}

/// Mutable parts of a checker being read, per kind.
enum KindBuilder {
    Tcp,
    Http {
        tls: bool,
        urls: Vec<UrlCheck>,
        virtualhost: Option<String>,
        http_protocol: HttpVersion,
        enable_sni: bool,
        fast_recovery: bool,
    },
    Misc {
        script: Option<Script>,
        timeout: Option<Duration>,
        dynamic: bool,
        user: Option<(String, Option<String>)>,
    },
    Ping,
    Udp {
        payload: Vec<u8>,
        require_reply: Option<Vec<u8>>,
        min_reply_length: u32,
        max_reply_length: u32,
    },
    Smtp {
        helo_name: Option<String>,
    },
    Dns {
        query_type: String,
        name: String,
    },
    File {
        track_file: Option<String>,
        dynamic: bool,
        weight: Option<i64>,
        reverse: bool,
    },
}

/// One checker block; an SMTP_CHECK with `host` sub-blocks is several checkers: its own
/// target, then one per host (measured: keepalived 2.2.7 dumps 1 + N SMTP checkers, each host
/// with its own connect_ip/connect_port/bindto and the block's other settings).
pub(super) fn checker(
    ctx: &mut Ctx,
    head: &Stmt,
    name: &'static str,
    level: usize,
) -> Vec<PendingChecker> {
    let mut hosts = Vec::new();
    let Some(c) = one_checker(ctx, head, name, level, &mut hosts) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(1 + hosts.len());
    for h in hosts {
        let mut each = c.clone();
        each.pos = h.pos;
        each.connect_ip = h.connect_ip.or(c.connect_ip);
        each.connect_port = h.connect_port.or(c.connect_port);
        each.bind_addr = h.bind_addr.or(c.bind_addr);
        each.bind_port = h.bind_port.or(c.bind_port);
        each.bind_if = h.bind_if.or_else(|| c.bind_if.clone());
        each.fwmark = h.fwmark.or(c.fwmark);
        each.log_all_failures = h.log_all_failures.or(c.log_all_failures);
        each.timing = h.timing.over(&c.timing);
        out.push(each);
    }
    out.insert(0, c);
    out
}

/// An SMTP_CHECK `host { … }` block: connection keywords and timing only.
fn smtp_host(ctx: &mut Ctx, head: &Stmt, level: usize) -> PendingChecker {
    ctx.max_args(head, 0);
    let mut h = blank(head.pos(), "SMTP_CHECK");
    if ctx.need_block(head) {
        while let Some(s) = ctx.reader.next(level) {
            if !(h.timing.keyword(ctx, &s) || common_keyword(ctx, &s, &mut h)) {
                ctx.unknown(&s, "in SMTP_CHECK host");
            }
        }
    }
    h
}

fn blank(pos: Pos, name: &'static str) -> PendingChecker {
    PendingChecker {
        pos,
        name,
        kind: CheckKind::Tcp,
        connect_ip: None,
        connect_port: None,
        bind_addr: None,
        bind_port: None,
        bind_if: None,
        fwmark: None,
        log_all_failures: None,
        timing: Timing::default(),
    }
}

fn one_checker(
    ctx: &mut Ctx,
    head: &Stmt,
    name: &'static str,
    level: usize,
    hosts: &mut Vec<PendingChecker>,
) -> Option<PendingChecker> {
    ctx.max_args(head, 0);
    let mut kind = match name {
        "TCP_CHECK" => KindBuilder::Tcp,
        "HTTP_GET" | "SSL_GET" => KindBuilder::Http {
            tls: name == "SSL_GET",
            urls: Vec::new(),
            virtualhost: None,
            http_protocol: HttpVersion::Http10,
            enable_sni: false,
            fast_recovery: false,
        },
        "MISC_CHECK" => KindBuilder::Misc {
            script: None,
            timeout: None,
            dynamic: false,
            user: None,
        },
        "PING_CHECK" => KindBuilder::Ping,
        "UDP_CHECK" => KindBuilder::Udp {
            payload: Vec::new(),
            require_reply: None,
            min_reply_length: 0,
            max_reply_length: 255,
        },
        "SMTP_CHECK" => KindBuilder::Smtp { helo_name: None },
        "DNS_CHECK" => KindBuilder::Dns {
            query_type: "SOA".into(),
            name: ".".into(),
        },
        _ => KindBuilder::File {
            track_file: None,
            dynamic: false,
            weight: None,
            reverse: false,
        },
    };
    let mut c = blank(head.pos(), name);
    if head.block {
        while let Some(s) = ctx.next(level, Block::Checker) {
            if c.timing.keyword(ctx, &s) || common_keyword(ctx, &s, &mut c) {
                continue;
            }
            if name == "SMTP_CHECK" && s.keyword() == "host" {
                hosts.push(smtp_host(ctx, &s, level + 1));
                continue;
            }
            if !kind_keyword(ctx, &s, &mut kind, level + 1) {
                ctx.unknown(&s, &format!("in {name}"));
            }
        }
    }
    c.kind = match kind {
        KindBuilder::Tcp => CheckKind::Tcp,
        KindBuilder::Http {
            tls,
            urls,
            virtualhost,
            http_protocol,
            enable_sni,
            fast_recovery,
        } => {
            if urls.is_empty() {
                ctx.error(
                    head.pos(),
                    format!("{name} needs at least one 'url {{ path … }}' block"),
                );
                return None;
            }
            CheckKind::Http {
                tls,
                urls: urls.into_boxed_slice(),
                virtualhost: virtualhost.map(Into::into),
                http_protocol,
                enable_sni,
                fast_recovery,
            }
        }
        KindBuilder::Misc {
            script,
            timeout,
            dynamic,
            user,
        } => {
            let Some(mut script) = script else {
                ctx.error(head.pos(), "MISC_CHECK needs a 'misc_path'");
                return None;
            };
            if let Some((u, g)) = user {
                script.user = Some(u);
                script.group = g;
            }
            CheckKind::Misc {
                script: Box::new(script),
                timeout,
                dynamic,
            }
        }
        KindBuilder::Ping => CheckKind::Ping,
        KindBuilder::Udp {
            payload,
            require_reply,
            min_reply_length,
            max_reply_length,
        } => CheckKind::Udp(Box::new(UdpCheck {
            payload,
            require_reply,
            min_reply_length,
            max_reply_length,
        })),
        KindBuilder::Smtp { helo_name } => CheckKind::Smtp { helo_name },
        KindBuilder::Dns { query_type, name } => CheckKind::Dns {
            query_type: query_type.into(),
            name: name.into(),
        },
        KindBuilder::File {
            track_file,
            dynamic,
            weight,
            reverse,
        } => {
            let Some(track_file) = track_file else {
                ctx.error(head.pos(), "FILE_CHECK needs a 'track_file'");
                return None;
            };
            CheckKind::File {
                track_file: track_file.into(),
                dynamic,
                weight,
                reverse,
            }
        }
    };
    Some(c)
}

/// Keywords every checker accepts; false if `s` is not one.
fn common_keyword(ctx: &mut Ctx, s: &Stmt, c: &mut PendingChecker) -> bool {
    match s.keyword() {
        "connect_ip" => c.connect_ip = ctx.value(s, 0, "an IP address", parse_ip),
        "connect_port" => c.connect_port = ctx.value(s, 0, "a port", parse_port),
        "bindto" => c.bind_addr = ctx.value(s, 0, "an IP address", parse_ip),
        "bind_port" => c.bind_port = ctx.value(s, 0, "a port", parse_port),
        "bind_if" => c.bind_if = ctx.string(s, "an interface name").map(Into::into),
        "fwmark" => c.fwmark = ctx.int(s, 0, u32::MAX as i64).map(|v| v as u32),
        "log_all_failures" => c.log_all_failures = Some(ctx.flag(s)),
        _ => return false,
    }
    true
}

/// Keywords of one checker kind; false if `s` is not one of them.
fn kind_keyword(ctx: &mut Ctx, s: &Stmt, kind: &mut KindBuilder, level: usize) -> bool {
    match (kind, s.keyword()) {
        (KindBuilder::Http { urls, .. }, "url") => {
            if ctx.need_block(s) {
                if let Some(u) = url(ctx, s, level) {
                    urls.push(u);
                }
            }
        }
        (KindBuilder::Http { virtualhost, .. }, "virtualhost") => {
            *virtualhost = ctx.string(s, "a host name")
        }
        (KindBuilder::Http { http_protocol, .. }, "http_protocol") => {
            ctx.max_args(s, 1);
            set(
                http_protocol,
                ctx.value(s, 0, "1.0, 1.0C or 1.1", |v| match v {
                    "1.0" => Ok(HttpVersion::Http10),
                    "1.0C" | "1.0c" => Ok(HttpVersion::Http10Close),
                    "1.1" => Ok(HttpVersion::Http11),
                    _ => Err(format!("expected 1.0, 1.0C or 1.1, found '{v}'")),
                }),
            );
        }
        (KindBuilder::Http { fast_recovery, .. }, "fast_recovery") => *fast_recovery = ctx.flag(s),
        (
            KindBuilder::Http {
                tls: true,
                enable_sni,
                ..
            },
            "enable_sni",
        ) => *enable_sni = ctx.flag(s),
        (KindBuilder::Misc { script, .. }, "misc_path") => *script = ctx.script(s),
        (KindBuilder::Misc { timeout, .. }, "misc_timeout") => {
            *timeout = ctx.int(s, 1, 86_400).map(|v| Duration::from_secs(v as u64))
        }
        (KindBuilder::Misc { dynamic, .. }, "misc_dynamic") => *dynamic = ctx.bare(s),
        (KindBuilder::Misc { user, .. }, "user") => {
            ctx.max_args(s, 2);
            if let Some(u) = ctx.value(s, 0, "a user name", |v| Ok(v.to_string())) {
                *user = Some((u, s.args().get(1).map(|w| w.text.to_string())));
            }
        }
        (KindBuilder::Udp { payload, .. }, "payload") => {
            ctx.max_args(s, 1);
            set(payload, ctx.value(s, 0, "hex digits", parse_hex));
        }
        (KindBuilder::Udp { require_reply, .. }, "require_reply") => {
            ctx.max_args(s, 1);
            *require_reply = match s.args().first() {
                None => Some(Vec::new()),
                Some(w) => ctx.parse_word(s, w, parse_hex),
            };
        }
        (
            KindBuilder::Udp {
                min_reply_length, ..
            },
            "min_reply_length",
        ) => set(min_reply_length, ctx.int(s, 0, 65_535).map(|v| v as u32)),
        (
            KindBuilder::Udp {
                max_reply_length, ..
            },
            "max_reply_length",
        ) => set(max_reply_length, ctx.int(s, 0, 65_535).map(|v| v as u32)),
        (KindBuilder::Smtp { helo_name }, "helo_name") => *helo_name = ctx.string(s, "a host name"),
        (KindBuilder::Dns { query_type, .. }, "type") => {
            ctx.max_args(s, 1);
            set(
                query_type,
                ctx.value(s, 0, "a DNS type", |v| {
                    let up = v.to_ascii_uppercase();
                    match up.as_str() {
                        "A" | "NS" | "CNAME" | "SOA" | "MX" | "TXT" | "AAAA" => Ok(up),
                        _ => Err(format!(
                            "expected A, NS, CNAME, SOA, MX, TXT or AAAA, found '{v}'"
                        )),
                    }
                }),
            );
        }
        (KindBuilder::Dns { name, .. }, "name") => set(name, ctx.string(s, "a domain name")),
        (KindBuilder::File { track_file, .. }, "track_file") => {
            *track_file = ctx.string(s, "a track_file name")
        }
        (KindBuilder::File { dynamic, .. }, "dynamic") => *dynamic = ctx.bare(s),
        (
            KindBuilder::File {
                weight, reverse, ..
            },
            "weight",
        ) => {
            ctx.max_args(s, 2);
            *weight = ctx.value(s, 0, "an integer weight", |v| {
                parse_int_in(v, -(i32::MAX as i64), i32::MAX as i64)
            });
            *reverse = s.args().get(1).is_some_and(|w| w.text == "reverse");
        }
        _ => return false,
    }
    true
}

fn url(ctx: &mut Ctx, head: &Stmt, level: usize) -> Option<UrlCheck> {
    let mut path: Option<String> = None;
    let mut digest: Option<String> = None;
    let mut status_codes: Vec<(u16, u16)> = Vec::new();
    let mut virtualhost: Option<String> = None;
    let mut regex = RegexOptions::default();
    while let Some(s) = ctx.next(level, Block::Url) {
        if regex.keyword(ctx, &s) {
            continue;
        }
        match s.keyword() {
            "path" => path = ctx.string(&s, "a URL path").or(path),
            "digest" => {
                ctx.max_args(&s, 1);
                digest = ctx.value(&s, 0, "an MD5 digest", parse_digest);
            }
            "status_code" => {
                ctx.no_block(&s);
                if s.args().is_empty() {
                    ctx.error(
                        s.pos(),
                        "'status_code' expects a code or range such as 200 or 200-299",
                    );
                }
                for w in s.args() {
                    if let Some(r) = ctx.parse_word(&s, w, parse_status_range) {
                        status_codes.push(r);
                    }
                }
            }
            "virtualhost" => virtualhost = ctx.string(&s, "a host name"),
            kw if ctx.is_unsupported(Block::Url, kw) => {}
            _ => ctx.unknown(&s, "in url"),
        }
    }
    let Some(path) = path else {
        ctx.error(head.pos(), "url block needs a 'path'");
        return None;
    };
    if status_codes.is_empty() && digest.is_none() {
        status_codes.push((200, 299));
    }
    Some(UrlCheck {
        path: path.into(),
        digest: digest.map(Into::into),
        status_codes: status_codes.into_boxed_slice(),
        virtualhost: virtualhost.map(Into::into),
        regex: regex.finish(ctx),
    })
}

/// The top-level `SSL { … }` block.
pub(in crate::config::build) fn ssl_context(ctx: &mut Ctx, level: usize) -> SslContext {
    let mut ssl = SslContext::default();
    while let Some(s) = ctx.next(level, Block::Ssl) {
        match s.keyword() {
            "password" => ssl.password = ctx.string(&s, "a password"),
            "ca" => ssl.ca = ctx.string(&s, "a CA file path"),
            "certificate" => ssl.certificate = ctx.string(&s, "a certificate file path"),
            "key" => ssl.key = ctx.string(&s, "a key file path"),
            _ => ctx.unknown(&s, "in SSL"),
        }
    }
    ssl
}
