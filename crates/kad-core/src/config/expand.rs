//! The text expansions of keepalived.conf, as pure functions: csh-style brace lists (in
//! `include` patterns), `~SEQ` / `~SEQx` / `~LST` repetition and `$NAME=value` definition lines.
//! Each is bounded before it produces anything: no input makes one allocate without limit.

/// Most lines that expansions may generate in one parse.
pub(super) const MAX_GENERATED_LINES: u64 = 20_000_000;
/// Most bytes that expansions may generate in one parse (a 10,000-server configuration written
/// with `~SEQ` generates a few MB).
pub(super) const MAX_GENERATED_BYTES: u64 = 256 << 20;

/// Length of a definition name at the start of `s`: `[A-Za-z_][A-Za-z0-9_]*`.
pub(super) fn name_len(s: &str) -> usize {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        len = i + 1;
    }
    len
}

/// `$NAME=value` → `(NAME, value)`.
pub(super) fn definition(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('$')?;
    let len = name_len(rest);
    if len == 0 {
        return None;
    }
    let value = rest[len..].strip_prefix('=')?;
    Some((&rest[..len], value))
}

/// Expands csh-style brace lists: `a{b,c}d` → `abd`, `acd`; nested braces work.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let middle = &pattern[w[0] + 1..w[1]];
        out.extend(expand_braces(&format!("{prefix}{middle}{suffix}")));
    }
    out
}

/// Expands a `~SEQ(…)`, `~SEQx(…)` or `~LST(…)` line into definition lines plus the rest of the
/// line, once per value.
pub(super) fn expand_sequence(line: &str) -> Result<Vec<String>, String> {
    let (hex, body) = if let Some(b) = line.strip_prefix("~SEQx(") {
        (Some(true), b)
    } else if let Some(b) = line.strip_prefix("~SEQ(") {
        (Some(false), b)
    } else if let Some(b) = line.strip_prefix("~LST(") {
        (None, b)
    } else {
        return Err("unknown expansion: expected ~SEQ(…), ~SEQx(…) or ~LST(…)".into());
    };
    let close = matching_paren(body).ok_or("missing ')' closing the expansion's arguments")?;
    let (args, rest) = (&body[..close], body[close + 1..].trim_start());
    if rest.is_empty() {
        return Err("nothing after the expansion to repeat".into());
    }
    let mut out = Vec::new();
    match hex {
        Some(hex) => {
            let parts: Vec<&str> = args.split(',').map(str::trim).collect();
            let var = parts[0];
            if name_len(var) != var.len() || var.is_empty() {
                return Err(format!("'{var}' is not a valid variable name for ~SEQ"));
            }
            let nums: Result<Vec<i64>, String> = parts[1..].iter().map(|p| parse_int(p)).collect();
            let nums = nums?;
            let (start, step, end) = match nums.as_slice() {
                [end] => {
                    let start = if *end >= 0 { 1 } else { -1 };
                    (start, if *end >= start { 1 } else { -1 }, *end)
                }
                [start, end] => (*start, if end >= start { 1 } else { -1 }, *end),
                [start, step, end] => (*start, *step, *end),
                _ => {
                    return Err(
                        "~SEQ takes (var, end), (var, start, end) or (var, start, step, end)"
                            .into(),
                    )
                }
            };
            if step == 0 {
                return Err("~SEQ step must not be 0".into());
            }
            let count = if (step > 0 && start > end) || (step < 0 && start < end) {
                0
            } else {
                // In i128: the span of two i64 values always fits.
                ((i128::from(end) - i128::from(start)) / i128::from(step)) as u64 + 1
            };
            if count > MAX_GENERATED_LINES {
                return Err(format!(
                    "~SEQ would repeat {count} times, more than {MAX_GENERATED_LINES}"
                ));
            }
            // Each repetition: `$var=<up to 20 digits>` and the line.
            within_byte_bound(count, var.len() + 23 + rest.len())?;
            let mut v = start;
            for _ in 0..count {
                let shown = if hex { format!("{v:x}") } else { v.to_string() };
                out.push(format!("${var}={shown}"));
                out.push(rest.to_string());
                v = v.saturating_add(step);
            }
        }
        None => {
            let items = split_list(args)?;
            let (vars, values) = items
                .split_first()
                .ok_or("~LST needs a variable and values")?;
            if values.is_empty() {
                return Err("~LST needs at least one value".into());
            }
            for var in vars {
                if name_len(var) != var.len() || var.is_empty() {
                    return Err(format!("'{var}' is not a valid variable name for ~LST"));
                }
            }
            let each = vars.iter().map(|v| v.len() + 2).sum::<usize>() + args.len() + rest.len();
            within_byte_bound(values.len() as u64, each)?;
            for value in values {
                if value.len() != vars.len() {
                    return Err(format!(
                        "~LST value has {} part(s) but {} variable(s) were named",
                        value.len(),
                        vars.len()
                    ));
                }
                for (var, v) in vars.iter().zip(value) {
                    out.push(format!("${var}={v}"));
                }
                out.push(rest.to_string());
            }
        }
    }
    Ok(out)
}

/// Refuses an expansion that would produce more than [`MAX_GENERATED_BYTES`] before producing it.
fn within_byte_bound(count: u64, each: usize) -> Result<(), String> {
    let total = count.saturating_mul(each as u64 + 1);
    if total > MAX_GENERATED_BYTES {
        return Err(format!(
            "expansion would generate {total} bytes, more than {MAX_GENERATED_BYTES}"
        ));
    }
    Ok(())
}

/// Index of the `)` that closes an argument list (braces may nest inside).
pub(super) fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ')' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits `~LST` arguments: `a, b` → `[[a],[b]]`; `{a,b},{1,2}` → `[[a,b],[1,2]]`.
fn split_list(args: &str) -> Result<Vec<Vec<String>>, String> {
    let mut items = Vec::new();
    let mut rest = args.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').ok_or("missing '}' in ~LST group")?;
            items.push(
                inner[..end]
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect(),
            );
            rest = inner[end + 1..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            items.push(vec![rest[..end].trim().to_string()]);
            rest = &rest[end..];
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(items)
}

/// Decimal or `0x` hexadecimal integer, optionally negative.
fn parse_int(s: &str) -> Result<i64, String> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) => i64::from_str_radix(h, 16),
        None => digits.parse(),
    }
    .map_err(|_| format!("'{s}' is not an integer"))?;
    if v > 1 << 40 {
        return Err(format!("'{s}' is too large"));
    }
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_like_csh() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(
            expand_braces("{foo/{,cat,dog},bar}"),
            ["foo/", "foo/cat", "foo/dog", "bar"]
        );
        assert_eq!(expand_braces("plain"), ["plain"]);
    }

    #[test]
    fn seq_forms() {
        let lines = expand_sequence("~SEQ(S, 0, 3) ip ${S}").expect("expands");
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[0], "$S=0");
        assert_eq!(lines[6], "$S=3");
        let lines = expand_sequence("~SEQx(S, 0x90, 0x10, 0xc0) x").expect("expands");
        let vals: Vec<&String> = lines.iter().step_by(2).collect();
        assert_eq!(vals, ["$S=90", "$S=a0", "$S=b0", "$S=c0"]);
        let lines = expand_sequence("~SEQ(S, 3) x").expect("expands");
        assert_eq!(lines[0], "$S=1");
        assert_eq!(lines.len(), 6);
        let lines = expand_sequence("~SEQ(S, 0x12, -1, 0x0c) x").expect("expands");
        assert_eq!(lines.len(), 14);
        assert!(expand_sequence("~SEQ(S, 1, 0, 5) x").is_err());
        assert!(expand_sequence("~SEQ(S, 1, 5 x").is_err());
    }

    #[test]
    fn lst_forms() {
        let lines = expand_sequence("~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}")
            .expect("expands");
        assert_eq!(
            lines,
            [
                "$IP=10",
                "$IP1=1",
                "192.168.${IP}.${IP1}",
                "$IP=20",
                "$IP1=4",
                "192.168.${IP}.${IP1}"
            ]
        );
        assert!(expand_sequence("~LST({A,B}, {1}) x").is_err());
    }

    #[test]
    fn definitions_need_no_space_before_equals() {
        assert_eq!(definition("$A=1"), Some(("A", "1")));
        assert_eq!(definition("$A =1"), None);
        assert_eq!(definition("$1A=1"), None);
        assert_eq!(definition("$INSTANCE= \\"), Some(("INSTANCE", " \\")));
    }

    #[test]
    fn expansions_are_bounded_in_bytes_and_never_overflow() {
        // 2 million repetitions of a 1 KiB line: 2 GB if it were built.
        let long = format!("~SEQ(S, 2000000) {}", "x".repeat(1024));
        let e = expand_sequence(&long).expect_err("refused before building");
        assert!(e.contains("bytes"), "{e}");
        let values: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
        let lst = format!("~LST(V, {}) {}", values.join(","), "y".repeat(20_000));
        assert!(expand_sequence(&lst).is_err_and(|e| e.contains("bytes")));
        // The widest range values allow: refused by count, no overflow.
        let wide = "~SEQ(S, -1099511627776, 1099511627776) x";
        assert!(expand_sequence(wide).is_err_and(|e| e.contains("times")));
    }
}
