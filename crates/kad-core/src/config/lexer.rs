//! Splits one logical configuration line into tokens: words, `{`, `}`.
//!
//! keepalived's rules: whitespace separates words; `#` or `!` outside quotes starts a comment that
//! runs to the end of the line; `"…"` and `'…'` quote (the quote characters are removed and
//! adjacent quoted and unquoted parts join into one word); inside quotes the shell-like escapes
//! `\a \b \E \f \n \r \t \v \nnn \xXX \cC` and `\C` are decoded. Unquoted braces are tokens of
//! their own even when attached to a word.

use compact_str::CompactString;
use nom::character::complete::one_of;
use nom::IResult;

/// Placeholder characters used by the preprocessor for `${_HASH}` and `${_BANG}`, so that the
/// substituted `#` and `!` do not start a comment. The lexer turns them back into `#` and `!`.
pub const HASH_PLACEHOLDER: char = '\u{E001}';
/// See [`HASH_PLACEHOLDER`].
pub const BANG_PLACEHOLDER: char = '\u{E002}';

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A word (quotes removed, escapes decoded); short words are stored inline, without a heap
    /// allocation.
    Word(CompactString),
    /// `{`
    Open,
    /// `}`
    Close,
}

/// A token and the 1-based column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub kind: TokenKind,
    /// 1-based column in the logical line.
    pub col: u32,
}

/// A line that cannot be split: an unterminated quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// 1-based column of the opening quote.
    pub col: u32,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for LexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column {}: {}", self.col, self.message)
    }
}

impl std::error::Error for LexError {}

fn is_separator(c: char) -> bool {
    c.is_ascii_whitespace()
}

fn is_bare(c: char) -> bool {
    !(c.is_ascii_whitespace() || matches!(c, '"' | '\'' | '{' | '}' | '#' | '!'))
}

/// An unquoted run of characters.
fn bare_part(input: &str) -> IResult<&str, CompactString> {
    // Every delimiter is ASCII, so scanning bytes stops only on character boundaries.
    let end = input
        .bytes()
        .position(|b| !is_bare(char::from(b)) && b.is_ascii())
        .unwrap_or(input.len());
    if end == 0 {
        return Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::TakeWhile1,
        )));
    }
    Ok((&input[end..], restore_placeholders(&input[..end])))
}

/// A quoted run: `"…"` or `'…'`, with escapes decoded. Fails (as a nom error) if unterminated.
fn quoted_part(input: &str) -> IResult<&str, CompactString> {
    let (rest, quote) = one_of("\"'")(input)?;
    let mut out = CompactString::default();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((&rest[i + c.len_utf8()..], out));
        }
        if c != '\\' {
            out.push(restore_char(c));
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'E' => out.push('\x1b'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            'c' => {
                if let Some((_, ctl)) = chars.next() {
                    out.push(char::from((ctl as u32 as u8) & 0x1f));
                }
            }
            'x' => {
                let mut value: u32 = 0;
                let mut digits = 0;
                while let Some(&(_, h)) = chars.peek() {
                    match h.to_digit(16) {
                        Some(d) => {
                            value = (value.wrapping_mul(16) + d) & 0xff;
                            digits += 1;
                            chars.next();
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push('x');
                } else {
                    out.push(char::from(value as u8));
                }
            }
            '0'..='7' => {
                let mut value = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|&(_, o)| o.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from((value & 0xff) as u8));
            }
            other => out.push(other),
        }
    }
    Err(nom::Err::Failure(nom::error::Error::new(
        input,
        nom::error::ErrorKind::Char,
    )))
}

fn restore_char(c: char) -> char {
    match c {
        HASH_PLACEHOLDER => '#',
        BANG_PLACEHOLDER => '!',
        c => c,
    }
}

fn restore_placeholders(s: &str) -> CompactString {
    if s.contains([HASH_PLACEHOLDER, BANG_PLACEHOLDER]) {
        s.chars().map(restore_char).collect()
    } else {
        CompactString::from(s)
    }
}

/// One part of a word: quoted or bare, chosen by its first character.
fn part(input: &str) -> IResult<&str, CompactString> {
    if input.starts_with(['"', '\'']) {
        quoted_part(input)
    } else {
        bare_part(input)
    }
}

/// A word: one or more quoted or bare parts with nothing between them.
fn word(input: &str) -> IResult<&str, TokenKind> {
    let (mut rest, mut text) = part(input)?;
    while rest.starts_with(|c: char| c == '"' || c == '\'' || is_bare(c)) {
        let (after, more) = part(rest)?;
        text.push_str(&more);
        rest = after;
    }
    Ok((rest, TokenKind::Word(text)))
}

/// Splits `line` into tokens, appending them to `out` (which is cleared first).
pub fn tokenize(line: &str, out: &mut Vec<Token>) -> Result<(), LexError> {
    out.clear();
    let mut rest = line;
    // Columns are counted incrementally: characters between the last token and this one.
    let (mut seen_bytes, mut seen_chars) = (0usize, 0u32);
    let ascii = line.is_ascii();
    let mut column = |tail: &str| -> u32 {
        let offset = line.len() - tail.len();
        if ascii {
            return offset as u32 + 1;
        }
        seen_chars += line[seen_bytes..offset].chars().count() as u32;
        seen_bytes = offset;
        seen_chars + 1
    };
    loop {
        rest = rest.trim_start_matches(is_separator);
        if rest.is_empty() || rest.starts_with(['#', '!']) {
            return Ok(());
        }
        let col = column(rest);
        let token = match rest.as_bytes()[0] {
            b'{' => Ok((&rest[1..], TokenKind::Open)),
            b'}' => Ok((&rest[1..], TokenKind::Close)),
            _ => word(rest),
        };
        match token {
            Ok((after, kind)) => {
                out.push(Token { kind, col });
                rest = after;
            }
            Err(_) => {
                // The only way a word fails is an unterminated quote somewhere inside it.
                let quote_at = rest.find(['"', '\'']).map(|i| &rest[i..]).unwrap_or(rest);
                return Err(LexError {
                    col: column(quote_at),
                    message: "unterminated quoted string (expected a closing quote before the end of the line)".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let mut toks = Vec::new();
        tokenize(line, &mut toks).expect("lexes");
        toks.into_iter()
            .map(|t| match t.kind {
                TokenKind::Word(w) => w.to_string(),
                TokenKind::Open => "{".into(),
                TokenKind::Close => "}".into(),
            })
            .collect()
    }

    #[test]
    fn splits_on_whitespace_and_braces() {
        assert_eq!(
            words("  vrrp_instance VI_1 {"),
            ["vrrp_instance", "VI_1", "{"]
        );
        assert_eq!(
            words("track_script {chk}"),
            ["track_script", "{", "chk", "}"]
        );
        assert_eq!(words("\t}"), ["}"]);
    }

    #[test]
    fn comments_start_anywhere_outside_quotes() {
        assert_eq!(words("priority 100 # high"), ["priority", "100"]);
        assert_eq!(words("priority 100! high"), ["priority", "100"]);
        assert_eq!(words("! whole line"), Vec::<String>::new());
        assert_eq!(
            words("script \"killall -0 sshd\"  # cheap"),
            ["script", "killall -0 sshd"]
        );
        assert_eq!(words("script 'a # b'"), ["script", "a # b"]);
    }

    #[test]
    fn quoted_parts_join_with_adjacent_text() {
        assert_eq!(words("abcd\" efg h jkl \"mnop"), ["abcd efg h jkl mnop"]);
        assert_eq!(
            words("abcd \"efg h jkl\" mnop"),
            ["abcd", "efg h jkl", "mnop"]
        );
        assert_eq!(words("''"), [""]);
    }

    #[test]
    fn escapes_are_decoded_inside_quotes() {
        assert_eq!(words(r#""a\tb\n\x41\101\\\"\q""#), ["a\tb\nAA\\\"q"]);
        assert_eq!(words(r#""\cA""#), ["\x01"]);
        assert_eq!(words(r"a\tb"), [r"a\tb"]);
    }

    #[test]
    fn columns_are_one_based_characters() {
        let mut toks = Vec::new();
        tokenize("  é x {", &mut toks).expect("lexes");
        let cols: Vec<u32> = toks.iter().map(|t| t.col).collect();
        assert_eq!(cols, [3, 5, 7]);
    }

    #[test]
    fn unterminated_quote_is_an_error_at_the_quote() {
        let mut toks = Vec::new();
        let err = tokenize("script \"abc", &mut toks).expect_err("must fail");
        assert_eq!(err.col, 8);
        let err = tokenize("x ab'c", &mut toks).expect_err("must fail");
        assert_eq!(err.col, 5);
    }

    #[test]
    fn placeholders_become_hash_and_bang() {
        let line = format!("a{HASH_PLACEHOLDER}b {BANG_PLACEHOLDER}");
        assert_eq!(words(&line), ["a#b", "!"]);
    }
}
