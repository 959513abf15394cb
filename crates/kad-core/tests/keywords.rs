//! The keyword status table (`kad_core::config::keywords`) against the parser itself: every
//! keyword the parser accepts is in the table, every keyword not acted on draws its warning at
//! its FILE:LINE, and docs/CONFIGURATION.md lists exactly the table's warned keywords.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kad_core::config::keywords::{self, Block, Status, KEYWORDS};
use kad_core::config::{parse_file, ParseOptions, Parsed, Severity};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every identifier-like string literal in the parser's sources (crates/kad-core/src/config/
/// build/**/*.rs): a superset of the keywords its match arms accept.
fn candidates() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read build dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&crate_dir().join("src/config/build"), &mut files);
    assert!(files.len() >= 8, "parser sources not found: {files:?}");
    let mut set = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        // Literals sit between pairs of quotes; split on '"' and keep the odd pieces.
        for (i, piece) in text.split('"').enumerate() {
            let ident = piece
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && piece
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if i % 2 == 1 && ident {
                set.insert(piece.to_string());
            }
        }
    }
    // The table's own keywords too, so a stale entry is found.
    set.extend(KEYWORDS.iter().map(|(_, k, _)| k.to_string()));
    set
}

/// Text before and after the keyword lines for a block (one variant per checker kind).
fn wrappers(block: Block) -> Vec<(String, String)> {
    let one = |a: &str, b: &str| vec![(a.to_string(), b.to_string())];
    let vs = "virtual_server 192.0.2.1 80 {\n";
    let rs = "real_server 192.0.2.2 80 {\n";
    match block {
        Block::Top => one("", ""),
        Block::Global => one("global_defs {\n", "}\n"),
        Block::Script => one("vrrp_script s {\nscript /bin/true\n", "}\n"),
        Block::TrackFile => one("track_file t {\nfile /tmp/kad-kw\n", "}\n"),
        Block::SyncGroup => one("vrrp_sync_group g {\ngroup {\nVI_1\n}\n", "}\n"),
        Block::Instance => one(
            "vrrp_instance VI_1 {\ninterface lo\nvirtual_router_id 1\n",
            "}\n",
        ),
        Block::Authentication => one(
            "vrrp_instance VI_1 {\ninterface lo\nvirtual_router_id 1\nauthentication {\n",
            "}\n}\n",
        ),
        Block::VirtualServerGroup => one("virtual_server_group g {\n", "}\n"),
        Block::VirtualServer => one(vs, "}\n"),
        Block::RealServer => one(&format!("{vs}{rs}"), "}\n}\n"),
        Block::Checker => [
            "TCP_CHECK",
            "HTTP_GET",
            "SSL_GET",
            "MISC_CHECK",
            "PING_CHECK",
            "UDP_CHECK",
            "SMTP_CHECK",
            "DNS_CHECK",
            "FILE_CHECK",
        ]
        .iter()
        .map(|k| (format!("{vs}{rs}{k} {{\n"), "}\n}\n}\n".to_string()))
        .collect(),
        Block::Url => one(&format!("{vs}{rs}HTTP_GET {{\nurl {{\n"), "}\n}\n}\n}\n"),
        Block::Ssl => one("SSL {\n", "}\n"),
    }
}

/// Parses `prefix`, then each keyword on its own line, then `suffix`; returns the parse and
/// each keyword's line number.
fn parse_lines(tag: &str, prefix: &str, words: &[&str], suffix: &str) -> (Parsed, Vec<u32>) {
    let dir = std::env::temp_dir().join(format!("kad-keywords-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{tag}.conf"));
    let first = prefix.lines().count() as u32 + 1;
    let mut text = prefix.to_string();
    for w in words {
        text.push_str(w);
        text.push('\n');
    }
    text.push_str(suffix);
    std::fs::write(&path, text).expect("write config");
    let parsed = parse_file(&path, &ParseOptions::default());
    let _ = std::fs::remove_file(&path);
    let lines = (0..words.len() as u32).map(|i| first + i).collect();
    (parsed, lines)
}

/// True if the diagnostics at `line` say the parser does not know `kw` in this block.
fn rejected(block: Block, p: &Parsed, line: u32, kw: &str) -> bool {
    p.diagnostics.iter().any(|d| {
        d.pos.line == line
            && match block {
                Block::VirtualServerGroup => {
                    d.severity == Severity::Error && d.message.starts_with("virtual_server_group: ")
                }
                _ => d.message.starts_with(&format!("unknown keyword '{kw}' ")),
            }
    })
}

/// The table's warning for `kw`, found at `line`.
fn warned_at(p: &Parsed, line: u32, block: Block, kw: &str) -> bool {
    let want = keywords::warning(block, kw).expect("a warned keyword");
    p.diagnostics
        .iter()
        .any(|d| d.pos.line == line && d.severity == Severity::Warning && d.message == want)
}

fn not_acted_warning(p: &Parsed, line: u32, kw: &str) -> bool {
    p.diagnostics.iter().any(|d| {
        d.pos.line == line
            && d.message.starts_with(&format!("'{kw}' is "))
            && (d.message.contains("not acted on") || d.message.contains("not supported"))
    })
}

#[test]
fn every_keyword_the_parser_accepts_is_in_the_table_with_its_warning() {
    let cands = candidates();
    assert!(cands.len() > 300, "only {} candidates", cands.len());
    let words: Vec<&str> = cands.iter().map(String::as_str).collect();
    let mut problems = Vec::new();
    for block in Block::ALL {
        let in_table: BTreeSet<&str> = KEYWORDS
            .iter()
            .filter(|(b, _, _)| *b == block)
            .map(|(_, k, _)| *k)
            .collect();
        let mut accepted = BTreeSet::new();
        let mut warned = BTreeSet::new();
        for (i, (prefix, suffix)) in wrappers(block).iter().enumerate() {
            let (p, lines) = parse_lines(&format!("{block:?}-{i}"), prefix, &words, suffix);
            for (w, line) in words.iter().zip(&lines) {
                if !rejected(block, &p, *line, w) {
                    accepted.insert(*w);
                }
                if not_acted_warning(&p, *line, w) {
                    warned.insert(*w);
                }
                if keywords::warning(block, w).is_some() && warned_at(&p, *line, block, w) {
                    warned.insert(*w);
                }
            }
        }
        for kw in accepted.difference(&in_table) {
            problems.push(format!(
                "{}: '{kw}' is accepted by the parser but missing from keywords::KEYWORDS",
                block.name()
            ));
        }
        for kw in in_table.difference(&accepted) {
            problems.push(format!(
                "{}: '{kw}' is in keywords::KEYWORDS but the parser rejects it",
                block.name()
            ));
        }
        for kw in &in_table {
            let status = keywords::status(block, kw);
            let is_warned = warned.contains(kw);
            match status {
                Some(Status::Acted) if is_warned => problems.push(format!(
                    "{}: '{kw}' is marked acted on but draws a not-acted-on warning",
                    block.name()
                )),
                Some(Status::Ignored | Status::Unsupported) if !is_warned => {
                    problems.push(format!(
                        "{}: '{kw}' is not acted on but draws no warning",
                        block.name()
                    ))
                }
                _ => {}
            }
        }
        assert!(
            !accepted.is_empty(),
            "{}: the scan accepted nothing, the wrapper is wrong",
            block.name()
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Each keyword that is not acted on, alone in a minimal config: its warning at its
/// FILE:LINE:COL, as `kad -t` and the daemon print it.
#[test]
fn each_warned_keyword_alone_draws_its_warning_at_its_line() {
    let mut checked = 0;
    for (block, kw, status) in KEYWORDS {
        if *status == Status::Acted {
            continue;
        }
        let (prefix, suffix) = wrappers(*block).swap_remove(0);
        // A checker keyword that only one kind knows is tried in that kind.
        let (prefix, suffix) = match (*block, *kw) {
            (Block::Checker, "host") => (prefix.replace("TCP_CHECK", "SMTP_CHECK"), suffix),
            (Block::Checker, "fast_recovery") => (prefix.replace("TCP_CHECK", "HTTP_GET"), suffix),
            _ => (prefix, suffix),
        };
        let tag = format!("alone-{block:?}-{kw}");
        let (p, lines) = parse_lines(&tag, &prefix, &[kw], &suffix);
        let line = lines[0];
        let want = keywords::warning(*block, kw).expect("warned");
        let rendered = p.rendered();
        let found = rendered.iter().any(|r| {
            r.ends_with(&format!(":{line}:1: warning: {want}"))
                && r.contains(&format!("{tag}.conf:"))
        });
        assert!(
            found,
            "{} '{kw}': no warning at line {line}; got:\n{}",
            block.name(),
            rendered.join("\n")
        );
        assert!(
            !p.diagnostics
                .iter()
                .any(|d| d.message.starts_with(&format!("unknown keyword '{kw}'"))),
            "{} '{kw}' is also called unknown",
            block.name()
        );
        checked += 1;
    }
    assert!(checked > 100, "only {checked} warned keywords checked");
}

/// docs/CONFIGURATION.md carries the table's lists between its markers. `KAD_BLESS=1` rewrites
/// them from the table.
#[test]
fn configuration_doc_lists_the_tables_warned_keywords() {
    let path = crate_dir().join("../../docs/CONFIGURATION.md");
    let doc = std::fs::read_to_string(&path).expect("read docs/CONFIGURATION.md");
    let (begin, end) = ("<!-- keywords:begin -->\n", "<!-- keywords:end -->");
    let start = doc
        .find(begin)
        .expect("begin marker in docs/CONFIGURATION.md")
        + begin.len();
    let stop = doc.find(end).expect("end marker in docs/CONFIGURATION.md");
    let want = keywords::doc_section();
    if std::env::var_os("KAD_BLESS").is_some() {
        let new = format!("{}{want}{}", &doc[..start], &doc[stop..]);
        std::fs::write(&path, new).expect("write doc");
        return;
    }
    assert_eq!(
        &doc[start..stop],
        want,
        "docs/CONFIGURATION.md's keyword lists disagree with keywords::KEYWORDS \
         (run with KAD_BLESS=1 to rewrite them)"
    );
}
