//! Groups the token stream into statements: a keyword, its arguments, and whether a `{ … }`
//! block follows (the brace may be on the same line or on the next one).
//!
//! Block structure is tracked here once, so the builders never count braces: a builder reading a
//! block at nesting level `n` calls [`Reader::next`]`(n)` until it returns `None` (the block's
//! closing brace). Anything a builder did not consume (an unknown block) is skipped on the next
//! call. Unbalanced braces are reported with the place where the unclosed block opened.

use compact_str::CompactString;
use smallvec::{smallvec, SmallVec};

use super::diag::{Diagnostics, Files, Pos};
use super::lexer::{Token, TokenKind};
use super::preprocess::Preprocessor;

/// A word of a statement and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The text (quotes removed).
    pub text: CompactString,
    /// Where it starts.
    pub pos: Pos,
}

/// Words of a statement: up to four stay inline (most statements have one to three).
pub type Words = SmallVec<[Word; 4]>;

/// One statement: `keyword arg… [{]`.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// The keyword and its arguments; never empty.
    pub words: Words,
    /// True if a block follows; the caller reads it at `level + 1` or leaves it to be skipped.
    pub block: bool,
}

impl Stmt {
    /// The keyword (first word).
    pub fn keyword(&self) -> &str {
        &self.words[0].text
    }

    /// Where the keyword stands.
    pub fn pos(&self) -> Pos {
        self.words[0].pos
    }

    /// The arguments after the keyword.
    pub fn args(&self) -> &[Word] {
        &self.words[1..]
    }
}

enum Tok {
    Word(Word),
    Open(Pos),
    Close(Pos),
    EndOfLine,
    EndOfFile,
}

/// Reads statements from the preprocessor, tracking block nesting.
pub struct Reader {
    pre: Preprocessor,
    /// Tokens of the current line, consumed from `line_next` on.
    line: Vec<Token>,
    line_next: usize,
    line_pos: Pos,
    pushed_back: Option<Tok>,
    line_ended: bool,
    /// Open blocks: where each `{` stands and the keyword it belongs to.
    open: Vec<(Pos, CompactString)>,
    at_eof: bool,
    last_pos: Pos,
}

impl Reader {
    /// Wraps a preprocessor.
    pub fn new(pre: Preprocessor) -> Self {
        Reader {
            pre,
            line: Vec::new(),
            line_next: 0,
            line_pos: Pos::default(),
            pushed_back: None,
            line_ended: true,
            open: Vec::new(),
            at_eof: false,
            last_pos: Pos::default(),
        }
    }

    /// Diagnostics collected so far (shared by preprocessor, reader and builders).
    pub fn diags(&mut self) -> &mut Diagnostics {
        self.pre.diagnostics_mut()
    }

    /// Ends reading, handing back the file table and every diagnostic.
    pub fn finish(self) -> (Files, Diagnostics) {
        self.pre.finish()
    }

    fn next_tok(&mut self) -> Tok {
        if let Some(t) = self.pushed_back.take() {
            return t;
        }
        loop {
            if let Some(t) = self.line.get_mut(self.line_next) {
                self.line_next += 1;
                let pos = Pos {
                    col: t.col,
                    ..self.line_pos
                };
                self.last_pos = pos;
                return match std::mem::replace(&mut t.kind, TokenKind::Open) {
                    TokenKind::Word(text) => Tok::Word(Word { text, pos }),
                    TokenKind::Open => Tok::Open(pos),
                    TokenKind::Close => Tok::Close(pos),
                };
            }
            if !self.line_ended {
                self.line_ended = true;
                return Tok::EndOfLine;
            }
            if self.at_eof {
                return Tok::EndOfFile;
            }
            match self.pre.next_line(&mut self.line) {
                Some(pos) => {
                    self.line_pos = pos;
                    self.line_next = 0;
                    self.line_ended = false;
                }
                None => {
                    self.at_eof = true;
                    return Tok::EndOfFile;
                }
            }
        }
    }

    /// Current nesting depth (number of open blocks).
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The next statement inside the block at nesting `level` (0 = top level), or `None` when
    /// that block's closing brace (or, at top level, the end of input) is reached.
    pub fn next(&mut self, level: usize) -> Option<Stmt> {
        loop {
            // Skip whatever is deeper than `level` (blocks nobody consumed).
            while self.open.len() > level {
                match self.next_tok() {
                    Tok::Open(pos) => self.open.push((pos, CompactString::default())),
                    Tok::Close(_) => {
                        self.open.pop();
                    }
                    Tok::EndOfFile => return self.end_of_file(),
                    Tok::Word(_) | Tok::EndOfLine => {}
                }
            }
            if self.open.len() < level {
                return None;
            }
            match self.next_tok() {
                Tok::EndOfLine => continue,
                Tok::EndOfFile => return self.end_of_file(),
                Tok::Close(pos) => {
                    if level == 0 {
                        self.diags().error(pos, "unexpected '}' with no open block");
                        continue;
                    }
                    self.open.pop();
                    return None;
                }
                Tok::Open(pos) => {
                    self.diags()
                        .error(pos, "'{' without a keyword before it; block ignored");
                    self.open.push((pos, CompactString::default()));
                    continue;
                }
                Tok::Word(first) => return Some(self.statement(first)),
            }
        }
    }

    fn statement(&mut self, first: Word) -> Stmt {
        let mut words: Words = smallvec![first];
        let mut block = false;
        loop {
            match self.next_tok() {
                Tok::Word(w) => words.push(w),
                Tok::Open(pos) => {
                    block = true;
                    self.open.push((pos, words[0].text.clone()));
                    break;
                }
                t @ (Tok::Close(_) | Tok::EndOfFile) => {
                    self.pushed_back = Some(t);
                    break;
                }
                Tok::EndOfLine => {
                    // A block may open on the following line.
                    let mut next = self.next_tok();
                    while matches!(next, Tok::EndOfLine) {
                        next = self.next_tok();
                    }
                    match next {
                        Tok::Open(pos) => {
                            block = true;
                            self.open.push((pos, words[0].text.clone()));
                        }
                        other => self.pushed_back = Some(other),
                    }
                    break;
                }
            }
        }
        Stmt { words, block }
    }

    fn end_of_file(&mut self) -> Option<Stmt> {
        if let Some((pos, keyword)) = self.open.first().cloned() {
            let what = if keyword.is_empty() {
                "block".to_string()
            } else {
                format!("block of '{keyword}'")
            };
            let at = self.last_pos;
            self.diags().error(
                pos,
                format!(
                    "unbalanced braces: {what} opened here is never closed (missing '}}' before the end of input at line {})",
                    at.line
                ),
            );
            self.open.clear();
        }
        None
    }
}
