//! The line-level preprocessor: turns the configuration files into a stream of logical lines,
//! each split into tokens, with its origin.
//!
//! It does what keepalived does before any keyword is looked at, in this order for each line:
//! skip blank and comment lines; `@ID` / `@^ID` conditional lines (compared with the config id);
//! `$NAME=value` definitions (a value ending in `\` continues on the next line, and a multi-line
//! value expands to several lines); `$NAME` / `${NAME}` substitution (recursive, undefined names
//! stay as written); `~SEQ(…)`, `~SEQx(…)` and `~LST(…)` line expansion; `include` (and
//! `includer`, `includem`, `includew`, `includeb`, `includea`) with globs and brace lists, relative
//! to the including file, nested, with cycles reported.
//!
//! Expansion is bounded (nesting depth, number of generated lines, line length), so no input can
//! make it loop or grow without limit: going over a bound is a positioned error.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::diag::{Diagnostics, FileId, Files, Pos};
use super::expand::{
    definition, expand_braces, expand_sequence, matching_paren, name_len, MAX_GENERATED_BYTES,
    MAX_GENERATED_LINES,
};
use super::lexer::{tokenize, Token, BANG_PLACEHOLDER, HASH_PLACEHOLDER};
use super::ParseOptions;

/// Deepest nesting of expansions (substitution inside substitution, `~SEQ` inside `~SEQ`, …).
const MAX_EXPANSION_DEPTH: u8 = 32;
/// Longest logical line after substitution, in bytes.
const MAX_LINE_BYTES: usize = 1 << 20;
/// Most substitution passes over one line (a definition that refers to itself stops here).
const MAX_SUBSTITUTION_PASSES: u32 = 64;
/// Deepest include nesting.
const MAX_INCLUDE_DEPTH: usize = 32;
/// Largest configuration file read.
const MAX_FILE_BYTES: u64 = 1 << 30;

/// One open configuration file, read line by line (a large file is never held whole).
struct Source {
    id: FileId,
    input: BufReader<File>,
    bytes: Vec<u8>,
    line: u32,
    dir: PathBuf,
    canonical: PathBuf,
}

/// A line produced by an expansion, waiting to be processed.
struct Pending {
    pos: Pos,
    text: String,
    depth: u8,
}

/// Produces tokenized logical lines from a root configuration file and everything it includes.
pub struct Preprocessor {
    files: Files,
    stack: Vec<Source>,
    pending: VecDeque<Pending>,
    defs: HashMap<String, String>,
    config_id: String,
    generated: u64,
    generated_bytes: u64,
    overflowed: bool,
    rng: u64,
    diags: Diagnostics,
    line_buf: String,
}

impl Preprocessor {
    /// Opens `path` as the root file. A root that cannot be read is reported as an error
    /// diagnostic, and the stream is then empty.
    pub fn open(path: &Path, options: &ParseOptions) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            ^ u64::from(std::process::id());
        let mut pre = Preprocessor {
            files: Files::default(),
            stack: Vec::new(),
            pending: VecDeque::new(),
            defs: HashMap::new(),
            config_id: options.config_id.clone(),
            generated: 0,
            generated_bytes: 0,
            overflowed: false,
            rng: seed | 1,
            diags: Diagnostics::default(),
            line_buf: String::new(),
        };
        let id = pre.files.add(path.to_path_buf());
        let at = Pos {
            file: id,
            line: 1,
            col: 1,
        };
        if let Err(e) = pre.push_file(id, path) {
            pre.diags
                .error(at, format!("cannot read configuration file: {e}"));
        }
        pre
    }

    /// The diagnostics found so far (the reader adds its own and the builder its own).
    pub fn diagnostics_mut(&mut self) -> &mut Diagnostics {
        &mut self.diags
    }

    /// Ends the stream, handing back the file table and the diagnostics.
    pub fn finish(self) -> (Files, Diagnostics) {
        (self.files, self.diags)
    }

    /// Opens a configuration file: without blocking (a FIFO without a writer would hang the
    /// parent on SIGHUP), and only a regular file (a link to one is fine).
    fn push_file(&mut self, id: FileId, path: &Path) -> Result<(), String> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| e.to_string())?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if meta.is_dir() {
            return Err("is a directory".into());
        }
        if !meta.is_file() {
            return Err("is not a regular file (a FIFO, socket or device is never read)".into());
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(format!(
                "file is {} bytes, more than the {} bytes kad reads",
                meta.len(),
                MAX_FILE_BYTES
            ));
        }
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let dir = canonical
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        self.stack.push(Source {
            id,
            input: BufReader::with_capacity(64 * 1024, file),
            bytes: Vec::new(),
            line: 0,
            dir,
            canonical,
        });
        Ok(())
    }

    /// Next raw line: a pending expansion first, else the next line of the innermost open file.
    fn raw_line(&mut self, buf: &mut String) -> Option<(Pos, u8)> {
        if let Some(p) = self.pending.pop_front() {
            *buf = p.text;
            return Some((p.pos, p.depth));
        }
        loop {
            let src = self.stack.last_mut()?;
            src.bytes.clear();
            match src.input.read_until(b'\n', &mut src.bytes) {
                Ok(0) => {
                    self.stack.pop();
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    let at = Pos {
                        file: src.id,
                        line: src.line + 1,
                        col: 1,
                    };
                    self.stack.pop();
                    self.diags
                        .error(at, format!("cannot read the rest of the file: {e}"));
                    continue;
                }
            }
            while matches!(src.bytes.last(), Some(b'\n' | b'\r')) {
                src.bytes.pop();
            }
            // Swap buffers instead of copying: the line's bytes become `buf`, and `buf`'s old
            // allocation is reused for the next read.
            let bytes = std::mem::replace(&mut src.bytes, std::mem::take(buf).into_bytes());
            *buf = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            src.line += 1;
            return Some((
                Pos {
                    file: src.id,
                    line: src.line,
                    col: 1,
                },
                0,
            ));
        }
    }

    /// Fills `tokens` with the next non-empty logical line and returns its position
    /// (`None` at the end of the last file).
    pub fn next_line(&mut self, tokens: &mut Vec<Token>) -> Option<Pos> {
        let mut buf = std::mem::take(&mut self.line_buf);
        let pos = self.next_line_in(&mut buf, tokens);
        self.line_buf = buf;
        pos
    }

    fn next_line_in(&mut self, buf: &mut String, tokens: &mut Vec<Token>) -> Option<Pos> {
        loop {
            let (pos, depth) = self.raw_line(buf)?;
            let leading = buf.len() - buf.trim_ascii_start().len();
            let mut line = buf.trim_ascii();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('@') {
                let negate = rest.starts_with('^');
                let rest = if negate { &rest[1..] } else { rest };
                let id_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let matches = rest[..id_len] == *self.config_id;
                if matches == negate {
                    continue;
                }
                line = rest[id_len..].trim_start();
                if line.is_empty() {
                    continue;
                }
            }
            if let Some((name, value)) = definition(line) {
                let (name, value) = (name.to_string(), value.to_string());
                self.define(name, value);
                continue;
            }
            if line.starts_with("~SEQ") || line.starts_with("~LST") {
                // Expanded before the body is substituted, so a nested sequence's variable
                // takes its new value on every round (only the arguments are substituted now).
                let col = leading as u32 + 1;
                let expanded = self
                    .substitute_sequence_args(line)
                    .and_then(|l| expand_sequence(&l));
                match expanded {
                    Ok(lines) => self.queue_front(lines.into_iter(), pos, depth),
                    Err(msg) => self.diags.error(Pos { col, ..pos }, msg),
                }
                continue;
            }
            if line.contains('$') {
                match self.substitute(line) {
                    Ok(Some(expanded)) => {
                        let lines: Vec<&str> = expanded.split('\n').collect();
                        self.queue_front(lines.iter().map(|l| l.to_string()), pos, depth);
                        continue;
                    }
                    Ok(None) => {}
                    Err(msg) => {
                        self.diags.error(pos, msg);
                        continue;
                    }
                }
            }
            if let Some((pattern, _keyword)) = include_line(line) {
                // Before tokenizing: a brace list in the pattern is not a block.
                let offset = pattern.as_ptr() as usize - buf.as_ptr() as usize;
                let col = buf[..offset].chars().count() as u32 + 1;
                self.include(pattern, Pos { col, ..pos });
                continue;
            }
            // `line` is a slice of `buf`: columns count from the start of the raw line.
            let offset = line.as_ptr() as usize - buf.as_ptr() as usize;
            let col_base = buf[..offset].chars().count() as u32;
            if let Err(e) = tokenize(line, tokens) {
                self.diags.error(
                    Pos {
                        col: e.col + col_base,
                        ..pos
                    },
                    e.message,
                );
                continue;
            }
            for t in tokens.iter_mut() {
                t.col += col_base;
            }
            if tokens.is_empty() {
                continue;
            }
            return Some(pos);
        }
    }

    /// Records a definition, reading continuation lines for a value that ends in `\`.
    fn define(&mut self, name: String, value: String) {
        let mut value = value.trim().to_string();
        if value.ends_with('\\') {
            let mut lines: Vec<String> = Vec::new();
            let first = value.trim_end_matches('\\').trim_end();
            if !first.is_empty() {
                lines.push(first.to_string());
            }
            let mut buf = String::new();
            loop {
                if self.raw_line(&mut buf).is_none() {
                    break;
                }
                let trimmed = buf.trim_end();
                match trimmed.strip_suffix('\\') {
                    Some(cont) => {
                        if !cont.trim().is_empty() {
                            lines.push(cont.trim_end().to_string());
                        }
                    }
                    None => {
                        if !trimmed.trim().is_empty() {
                            lines.push(trimmed.to_string());
                        }
                        break;
                    }
                }
            }
            value = lines.join("\n");
        }
        self.defs.insert(name, value);
    }

    /// Puts expanded lines at the front of the pending queue, keeping their order.
    fn queue_front(&mut self, lines: impl Iterator<Item = String>, pos: Pos, depth: u8) {
        if self.overflowed {
            return;
        }
        if depth >= MAX_EXPANSION_DEPTH {
            self.diags.error(
                pos,
                format!("expansion nested more than {MAX_EXPANSION_DEPTH} levels deep (does a definition refer to itself?)"),
            );
            return;
        }
        let lines: Vec<String> = lines.collect();
        self.generated = self.generated.saturating_add(lines.len() as u64);
        let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
        self.generated_bytes = self.generated_bytes.saturating_add(bytes);
        let over = if self.generated > MAX_GENERATED_LINES {
            Some(format!("more than {MAX_GENERATED_LINES} lines"))
        } else if self.generated_bytes > MAX_GENERATED_BYTES {
            Some(format!("more than {MAX_GENERATED_BYTES} bytes"))
        } else {
            None
        };
        if let Some(over) = over {
            self.overflowed = true;
            self.pending.clear();
            self.diags.error(
                pos,
                format!("expansions generate {over}; giving up on further expansion"),
            );
            return;
        }
        for text in lines.into_iter().rev() {
            self.pending.push_front(Pending {
                pos,
                text,
                depth: depth + 1,
            });
        }
    }

    /// Substitutes definitions inside the `(…)` of a `~SEQ`/`~LST` line, leaving its body as is.
    fn substitute_sequence_args(&mut self, line: &str) -> Result<String, String> {
        let open = line.find('(').ok_or("expected '(' after ~SEQ or ~LST")?;
        let close = open
            + 1
            + matching_paren(&line[open + 1..])
                .ok_or("missing ')' closing the expansion's arguments")?;
        let args = &line[open + 1..close];
        let args = self.substitute(args)?.unwrap_or_else(|| args.to_string());
        Ok(format!("{}({args}){}", &line[..open], &line[close + 1..]))
    }

    /// Replaces `$NAME ` and `${NAME}` until nothing changes. `Ok(None)`: nothing to replace.
    fn substitute(&mut self, line: &str) -> Result<Option<String>, String> {
        let mut current = line.to_string();
        let mut changed_any = false;
        for _ in 0..MAX_SUBSTITUTION_PASSES {
            match self.substitute_once(&current) {
                Some(next) => {
                    if next.len() > MAX_LINE_BYTES {
                        return Err(format!(
                            "line grows past {MAX_LINE_BYTES} bytes after substitution"
                        ));
                    }
                    current = next;
                    changed_any = true;
                }
                None => return Ok(changed_any.then_some(current)),
            }
        }
        Err(format!(
            "substitution does not settle after {MAX_SUBSTITUTION_PASSES} passes (does a definition refer to itself?)"
        ))
    }

    fn substitute_once(&mut self, s: &str) -> Option<String> {
        let mut out = String::with_capacity(s.len());
        let mut changed = false;
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(inner) = after.strip_prefix('{') {
                if let Some(end) = inner.find('}') {
                    if let Some(v) = self.lookup(&inner[..end]) {
                        out.push_str(&v);
                        rest = &inner[end + 1..];
                        changed = true;
                        continue;
                    }
                }
            } else {
                let len = name_len(after);
                let ends_word = after[len..].chars().next().is_none_or(char::is_whitespace);
                if len > 0 && ends_word {
                    if let Some(v) = self.lookup(&after[..len]) {
                        out.push_str(&v);
                        rest = &after[len..];
                        changed = true;
                        continue;
                    }
                }
            }
            out.push('$');
            rest = after;
        }
        out.push_str(rest);
        changed.then_some(out)
    }

    /// The value of a definition or of one of the pre-defined names.
    fn lookup(&mut self, spec: &str) -> Option<String> {
        let mut parts = spec.split_whitespace();
        let name = parts.next()?;
        match name {
            "_PWD" => Some(
                self.stack
                    .last()
                    .map(|s| s.dir.display().to_string())
                    .unwrap_or_default(),
            ),
            "_INSTANCE" => Some(self.config_id.clone()),
            "_HASH" => Some(HASH_PLACEHOLDER.to_string()),
            "_BANG" => Some(BANG_PLACEHOLDER.to_string()),
            "_RANDOM" => {
                let min: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let max: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(32767);
                let (lo, hi) = (min.min(max), min.max(max));
                Some((lo + self.next_random() % (hi - lo + 1).max(1)).to_string())
            }
            _ if spec.contains(char::is_whitespace) => None,
            _ => self.defs.get(name).cloned(),
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: good enough for ${_RANDOM}, which only spreads values.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Handles an `include` line: brace lists, globs, missing files, cycles.
    fn include(&mut self, pattern: &str, at: Pos) {
        if pattern.is_empty() {
            self.diags.error(at, "include needs a file name or pattern");
            return;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.error(
                at,
                format!("includes nested more than {MAX_INCLUDE_DEPTH} deep"),
            );
            return;
        }
        let base = self
            .stack
            .last()
            .map(|s| s.dir.clone())
            .unwrap_or_else(|| PathBuf::from("."));
        let mut found: Vec<PathBuf> = Vec::new();
        let has_wildcard = pattern.contains(['*', '?', '[']);
        for alternative in expand_braces(pattern) {
            let full = if Path::new(&alternative).is_absolute() {
                PathBuf::from(&alternative)
            } else {
                base.join(&alternative)
            };
            if has_wildcard {
                match glob::glob(&full.to_string_lossy()) {
                    Ok(paths) => found.extend(paths.filter_map(Result::ok)),
                    Err(e) => {
                        self.diags
                            .error(at, format!("bad include pattern '{pattern}': {e}"));
                        return;
                    }
                }
            } else if full.exists() {
                found.push(full);
            } else {
                self.diags
                    .error(at, format!("include file not found: {}", full.display()));
            }
        }
        if found.is_empty() {
            if has_wildcard {
                self.diags
                    .warning(at, format!("include pattern '{pattern}' matched no file"));
            }
            return;
        }
        // Files are read in reverse so that the first match ends up on top of the stack.
        found.sort();
        found.dedup();
        for path in found.into_iter().rev() {
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if let Some(cycle_start) = self.stack.iter().position(|s| s.canonical == canonical) {
                let chain: Vec<String> = self.stack[cycle_start..]
                    .iter()
                    .map(|s| s.canonical.display().to_string())
                    .chain(std::iter::once(canonical.display().to_string()))
                    .collect();
                self.diags
                    .error(at, format!("include cycle: {}", chain.join(" -> ")));
                continue;
            }
            let id = self.files.add(path.clone());
            if let Err(e) = self.push_file(id, &path) {
                self.diags.error(
                    at,
                    format!("cannot read included file {}: {e}", path.display()),
                );
            }
        }
    }
}

/// `include PATTERN` (or a checking variant) → the pattern, without quotes or a trailing
/// comment, and the keyword.
fn include_line(line: &str) -> Option<(&str, &str)> {
    if !line.starts_with("include") {
        return None;
    }
    let kw_len = line
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(line.len());
    let keyword = &line[..kw_len];
    if !matches!(
        keyword,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    ) {
        return None;
    }
    let mut rest = line[kw_len..].trim_ascii_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        rest = quoted.split('"').next().unwrap_or(quoted);
    } else {
        let end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '#' || c == '!')
            .unwrap_or(rest.len());
        rest = &rest[..end];
    }
    Some((rest, keyword))
}
