//! The `regex*` keywords of an HTTP_GET / SSL_GET `url` block, turned into a [`UrlRegex`].
//!
//! keepalived uses PCRE2; kad uses the regex crate (no backreferences or look-around: such a
//! pattern is an error here). `regex_options` become inline flags; PCRE's default byte mode is
//! `(?-u)` unless `utf` or `ucp` is given.

use super::super::Ctx;
use crate::config::model::UrlRegex;
use crate::config::reader::Stmt;

/// Options mapped to inline flags.
const FLAGS: &[(&str, char)] = &[
    ("caseless", 'i'),
    ("multiline", 'm'),
    ("dotall", 's'),
    ("extended", 'x'),
    ("ungreedy", 'U'),
];

/// PCRE2 options keepalived accepts that have no meaning for the regex crate (warned).
const NO_EFFECT: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "dollar_endonly",
    "dupnames",
    "firstline",
    "match_unset_backref",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

/// The largest offset accepted (the body read is 4 MiB at most).
const MAX_OFFSET: i64 = 4 << 20;

/// The `regex*` keywords of one url, as read.
#[derive(Default)]
pub(super) struct RegexOptions {
    pattern: Option<(String, crate::config::diag::Pos)>,
    no_match: bool,
    flags: String,
    unicode: bool,
    min_offset: u32,
    max_offset: Option<u32>,
}

impl RegexOptions {
    /// Reads `s` if it is one of the regex keywords; false otherwise.
    pub(super) fn keyword(&mut self, ctx: &mut Ctx, s: &Stmt) -> bool {
        match s.keyword() {
            "regex" => {
                if let Some(p) = ctx.string(s, "a regular expression") {
                    self.pattern = Some((p, s.pos()));
                }
            }
            "regex_no_match" => self.no_match = ctx.bare(s),
            "regex_options" => {
                ctx.no_block(s);
                for w in s.args() {
                    let o = w.text.as_str();
                    if let Some((_, f)) = FLAGS.iter().find(|(n, _)| *n == o) {
                        self.flags.push(*f);
                    } else if o == "utf" || o == "ucp" {
                        self.unicode = true;
                    } else if NO_EFFECT.contains(&o) {
                        ctx.warning(w.pos, format!("regex option '{o}' has no equivalent in kad's regex engine; ignored"));
                    } else {
                        ctx.error(w.pos, format!("unknown regex option '{o}'"));
                    }
                }
            }
            // Sizes PCRE's JIT stack; the regex crate needs none (the keyword table warns).
            "regex_stack" => ctx.max_args(s, 2),
            "regex_min_offset" => {
                if let Some(v) = ctx.int(s, 0, MAX_OFFSET) {
                    self.min_offset = v as u32;
                }
            }
            "regex_max_offset" => {
                self.max_offset = ctx.int(s, 0, MAX_OFFSET).map(|v| v as u32);
            }
            _ => return false,
        }
        true
    }

    /// The url's regex, checked by compiling it once (an error at the `regex` line if bad).
    pub(super) fn finish(self, ctx: &mut Ctx) -> Option<Box<UrlRegex>> {
        let (body, pos) = self.pattern?;
        let mut flags = self.flags;
        if !self.unicode {
            flags.push_str("-u");
        }
        let pattern = format!("(?{flags}){body}");
        if let Err(e) = regex::bytes::Regex::new(&pattern) {
            let first = e.to_string();
            let first = first.lines().last().unwrap_or_default().to_string();
            ctx.error(
                pos,
                format!("'regex': not a valid regular expression for kad ({first})"),
            );
            return None;
        }
        Some(Box::new(UrlRegex {
            pattern: pattern.into(),
            no_match: self.no_match,
            min_offset: self.min_offset,
            max_offset: self.max_offset,
        }))
    }
}
