//! Parsers for keyword values: booleans, timers, integers in a range, addresses, prefixes,
//! ports, hex strings, HTTP status codes. Each returns a message saying what was expected.

use std::net::IpAddr;
use std::time::Duration;

/// Longest timer accepted, in seconds (keepalived's timers are far below this).
const MAX_TIMER_SECS: f64 = 86_400.0 * 365.0;

/// `on|off|true|false|yes|no`.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!(
            "expected a boolean (on|off|true|false|yes|no), found '{s}'"
        )),
    }
}

/// A time in seconds, fractions allowed, resolution one microsecond.
pub fn parse_timer(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("expected a time in seconds (e.g. 3 or 0.5), found '{s}'"))?;
    if !v.is_finite() || !(0.0..=MAX_TIMER_SECS).contains(&v) {
        return Err(format!(
            "expected a time between 0 and {MAX_TIMER_SECS} seconds, found '{s}'"
        ));
    }
    Ok(Duration::from_micros((v * 1e6).round() as u64))
}

/// An integer within `min..=max`.
pub fn parse_int_in(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let v: i64 = s
        .parse()
        .map_err(|_| format!("expected an integer between {min} and {max}, found '{s}'"))?;
    if v < min || v > max {
        return Err(format!(
            "value {v} is out of range: expected {min} to {max}"
        ));
    }
    Ok(v)
}

/// An IPv4 or IPv6 address.
pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| format!("expected an IPv4 or IPv6 address, found '{s}'"))
}

/// `ADDR[/PREFIX]`; the prefix defaults to the full length.
pub fn parse_ip_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = parse_ip(addr)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix =
        match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(|| {
                format!("expected a prefix length 0..{max} after '/', found '{p}'")
            })?,
        };
    Ok((addr, prefix))
}

/// A TCP/UDP port 1..65535 (0 is accepted where keepalived allows "any").
pub fn parse_port(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .map_err(|_| format!("expected a port number 0..65535, found '{s}'"))
}

/// Hex digits (optionally `0x`-prefixed) into bytes.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "expected an even number of hex digits, found '{s}'"
        ));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| format!("bad hex byte in '{s}'"))
        })
        .collect()
}

/// A status code or range: `200`, `200-299`.
pub fn parse_status_range(s: &str) -> Result<(u16, u16), String> {
    let code = |c: &str| {
        c.parse::<u16>()
            .ok()
            .filter(|v| (100..=599).contains(v))
            .ok_or_else(|| {
                format!(
                    "expected an HTTP status code 100..599 or a range like 200-299, found '{s}'"
                )
            })
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (code(a)?, code(b)?);
            if a > b {
                return Err(format!("status range '{s}' runs backwards"));
            }
            Ok((a, b))
        }
        None => code(s).map(|c| (c, c)),
    }
}

/// A 32-character MD5 hex digest (lower-cased).
pub fn parse_digest(s: &str) -> Result<String, String> {
    if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!(
            "expected an MD5 digest of 32 hex digits, found '{s}'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers() {
        assert_eq!(parse_timer("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_timer("0.1"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_timer("2.71828"), Ok(Duration::from_micros(2_718_280)));
        assert!(parse_timer("-1").is_err());
        assert!(parse_timer("x").is_err());
        assert!(parse_timer("inf").is_err());
        assert!(parse_timer("NaN").is_err());
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            parse_ip_prefix("192.0.2.1/24"),
            Ok(("192.0.2.1".parse().expect("ip"), 24))
        );
        assert_eq!(
            parse_ip_prefix("2001:db8::1"),
            Ok(("2001:db8::1".parse().expect("ip"), 128))
        );
        assert!(parse_ip_prefix("192.0.2.1/33").is_err());
        assert!(parse_ip_prefix("192.0.2.300").is_err());
    }

    #[test]
    fn misc_values() {
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_int_in("254", 1, 255), Ok(254));
        assert!(parse_int_in("256", 1, 255).is_err());
        assert_eq!(parse_hex("0a0B"), Ok(vec![10, 11]));
        assert!(parse_hex("abc").is_err());
        assert_eq!(parse_status_range("200-299"), Ok((200, 299)));
        assert!(parse_status_range("299-200").is_err());
        assert!(parse_digest("xyz").is_err());
    }
}
