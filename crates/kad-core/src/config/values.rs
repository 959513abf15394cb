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

/// Most addresses one `virtual_server_group` range may stand for (a /16). keepalived 2.2.7 has
/// no limit: a `/64` never finishes expanding there.
pub const MAX_RANGE_ADDRESSES: u128 = 65_536;

/// A `virtual_server_group` address: `A`, `A-V` (V replaces the last byte of IPv4, decimal, or
/// the last group of IPv6, hex), `A-B` (two addresses), or `A/nn` (the whole prefix, network
/// and broadcast addresses included; `A` must have no bits set past `nn`). Returns the first
/// and last address; ranges of more than [`MAX_RANGE_ADDRESSES`] are refused.
pub fn address_range(s: &str) -> Result<(IpAddr, IpAddr), String> {
    let (first, last) = if let Some((a, p)) = s.split_once('/') {
        let (addr, prefix) = parse_ip_prefix(s)?;
        let bits: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let host = match bits.checked_sub(prefix) {
            Some(h) if h > 0 => u128::MAX >> (128 - u32::from(h)),
            _ => 0,
        };
        let n = ip_to_u128(addr);
        if n & host != 0 {
            return Err(format!(
                "'{a}' has bits set past /{p} (expected the first address of the prefix)"
            ));
        }
        (addr, u128_to_ip(addr, n | host))
    } else if let Some((a, l)) = s.split_once('-') {
        let first = parse_ip(a)?;
        let last = match (first, l.parse::<IpAddr>()) {
            (_, Ok(last)) if last.is_ipv4() == first.is_ipv4() => last,
            (_, Ok(_)) => return Err(format!("'{s}': both ends must be of the same family")),
            (IpAddr::V4(f), Err(_)) => {
                let b: u8 = l.parse().map_err(|_| {
                    format!("'{s}': expected a last byte 0..255 or an address after '-'")
                })?;
                let mut o = f.octets();
                o[3] = b;
                IpAddr::from(o)
            }
            (IpAddr::V6(f), Err(_)) => {
                let g = u16::from_str_radix(l, 16).map_err(|_| {
                    format!("'{s}': expected a last group 0..ffff (hex) or an address after '-'")
                })?;
                let mut seg = f.segments();
                seg[7] = g;
                IpAddr::from(seg)
            }
        };
        (first, last)
    } else {
        let a = parse_ip(s)?;
        (a, a)
    };
    let (lo, hi) = (ip_to_u128(first), ip_to_u128(last));
    if hi < lo {
        return Err(format!("'{s}': the range ends below its start"));
    }
    let count = (hi - lo).saturating_add(1);
    if count > MAX_RANGE_ADDRESSES {
        return Err(format!(
            "'{s}' stands for {count} addresses; kad allows at most {MAX_RANGE_ADDRESSES} per range"
        ));
    }
    Ok((first, last))
}

/// The addresses `first..=last` of a range from [`address_range`] (at most
/// [`MAX_RANGE_ADDRESSES`] of them, whatever the input; none if the families differ).
pub fn range_addresses(first: IpAddr, last: IpAddr) -> impl Iterator<Item = IpAddr> {
    let (lo, hi) = (ip_to_u128(first), ip_to_u128(last));
    let n = if first.is_ipv4() == last.is_ipv4() && hi >= lo {
        (hi - lo).saturating_add(1).min(MAX_RANGE_ADDRESSES)
    } else {
        0
    };
    (0..n).map(move |i| u128_to_ip(first, lo.saturating_add(i)))
}

fn ip_to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// `n` as an address of `like`'s family (IPv4 keeps the low 32 bits).
fn u128_to_ip(like: IpAddr, n: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> Vec<String> {
        let (a, b) = address_range(s).expect(s);
        range_addresses(a, b).map(|a| a.to_string()).collect()
    }

    #[test]
    fn group_address_forms_expand_as_keepalived_measured() {
        assert_eq!(
            range("10.7.8.8/30"),
            ["10.7.8.8", "10.7.8.9", "10.7.8.10", "10.7.8.11"]
        );
        assert_eq!(range("10.7.9.8/29").len(), 8);
        assert_eq!(range("10.7.11.5/32"), ["10.7.11.5"]);
        assert_eq!(
            range("10.7.10.1-3"),
            ["10.7.10.1", "10.7.10.2", "10.7.10.3"]
        );
        assert_eq!(range("10.7.11.5"), ["10.7.11.5"]);
        // Across a byte boundary (keepalived 2.2.7 wraps within the last byte instead).
        assert_eq!(
            range("10.7.8.254-10.7.9.1"),
            ["10.7.8.254", "10.7.8.255", "10.7.9.0", "10.7.9.1"]
        );
        assert_eq!(
            range("2001:db8::10-12"),
            ["2001:db8::10", "2001:db8::11", "2001:db8::12"]
        );
        assert_eq!(range("2001:db8::a-2001:db8::c").len(), 3);
        assert_eq!(range("2001:db8::10/126").len(), 4);
        assert_eq!(
            range("2001:db8::1:ffff-2001:db8::2:0"),
            ["2001:db8::1:ffff", "2001:db8::2:0"]
        );
        assert_eq!(range("10.0.0.0/16").len(), 65_536);
    }

    #[test]
    fn bad_group_addresses_say_why() {
        for (bad, why) in [
            ("10.7.12.7/30", "bits set past /30"),
            ("2001:db8::1:2:3/127", "bits set past /127"),
            ("10.7.8.9-3", "ends below"),
            ("10.7.8.9-300", "last byte"),
            ("2001:db8::1-xyz", "last group"),
            ("10.0.0.1-2001:db8::1", "same family"),
            ("10.0.0.0/8", "at most 65536"),
            ("2001:db8::/64", "at most 65536"),
            ("10.0.0.0/33", "prefix length"),
            ("10.0.0", "IPv4 or IPv6"),
        ] {
            let e = address_range(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

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
