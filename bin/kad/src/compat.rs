//! keepalived 2.2.7's command line as kad reads it: the name `keepalived` and its default
//! paths, `--signum`, `-S` facility names, `-u` masks, the `-v` banner, and the options kad
//! accepts but ignores (each draws one warning). Pure functions; `main` applies them.

use std::ffi::OsStr;
use std::path::Path;

use crate::cli::Cli;

/// The keepalived version whose behaviour kad follows (and which the banner reports).
pub const KEEPALIVED_VERSION: &str = "2.2.7";
/// keepalived's default configuration file.
pub const KEEPALIVED_CONF: &str = "/etc/keepalived/keepalived.conf";
/// keepalived's default pidfiles: parent, VRRP child, checker child.
pub const KEEPALIVED_PIDFILES: [&str; 3] =
    ["/run/keepalived.pid", "/run/vrrp.pid", "/run/checkers.pid"];

/// True if argv[0]'s base name is `keepalived` (kad installed or linked under that name).
pub fn is_keepalived_name(argv0: &OsStr) -> bool {
    Path::new(argv0).file_name() == Some(OsStr::new("keepalived"))
}

/// The signal number for one of keepalived's `--signum` names (case-sensitive, as keepalived's
/// are); `None` for any other name (keepalived: `Unknown sigfunc NAME`, exit 1).
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => stats_clear_signal(),
        "JSON" => json_signal(),
        _ => return None,
    })
}

/// keepalived's STATS_CLEAR signal: SIGRTMAX-1 (63 with glibc on Linux).
pub fn stats_clear_signal() -> i32 {
    libc::SIGRTMAX() - 1
}

/// keepalived's JSON signal: SIGRTMIN+2 (36 with glibc on Linux).
pub fn json_signal() -> i32 {
    libc::SIGRTMIN() + 2
}

/// `-S VALUE` as keepalived's daemon reads it: `0`-`7` or `local0`-`local7` (localN as N),
/// `user` ([`kad_core::logging::FACILITY_USER`]) or `daemon` (`None`, the default). Anything
/// else is an error message; keepalived's daemon starts anyway (on its default facility),
/// and so does kad, after a warning. `internal` accepts the `8` the parent passes a child for
/// `user`.
pub fn parse_facility(value: &str, internal: bool) -> Result<Option<u8>, String> {
    let user = kad_core::logging::FACILITY_USER;
    let digits = value.strip_prefix("local").unwrap_or(value);
    match (value, digits.as_bytes()) {
        ("daemon", _) => Ok(None),
        ("user", _) => Ok(Some(user)),
        (_, [d @ b'0'..=b'7']) => Ok(Some(d - b'0')),
        ("8", _) if internal => Ok(Some(user)),
        _ => Err(format!(
            "invalid log facility '{value}' (0-7, local0-local7, user or daemon); logging to daemon"
        )),
    }
}

/// `-u MASK`: an octal file creation mask (a leading 0 is allowed), at most 0777.
pub fn parse_umask(value: &str) -> Option<u32> {
    let m = u32::from_str_radix(value, 8).ok()?;
    (m <= 0o777).then_some(m)
}

/// One warning for each keepalived option on the command line that kad accepts but does not
/// act on.
pub fn ignored_options(cli: &Cli) -> Vec<String> {
    let mut w = Vec::new();
    let mut ignore = |on: bool, what: &str| {
        if on {
            w.push(format!("kad ignores {what}"));
        }
    };
    ignore(
        cli.release_vips,
        "-X/--release-vips (VIPs are released as at any transition)",
    );
    ignore(
        cli.dont_release_vrrp,
        "-V/--dont-release-vrrp (VIPs are removed at stop)",
    );
    ignore(
        cli.dont_release_ipvs,
        "-I/--dont-release-ipvs (the IPVS table is removed at stop)",
    );
    ignore(
        cli.bfd_pid_file.is_some(),
        "-b/--bfd_pid (kad has no BFD child)",
    );
    ignore(cli.address_monitoring, "-a/--address-monitoring");
    ignore(cli.snmp, "-x/--snmp (kad has no SNMP support)");
    ignore(
        cli.snmp_agent_socket.is_some(),
        "-A/--snmp-agent-socket (kad has no SNMP support)",
    );
    ignore(
        cli.namespace.is_some(),
        "-s/--namespace (kad runs in the network namespace it is started in: use `ip netns exec NAME kad ...`)",
    );
    ignore(cli.core_dump, "-m/--core-dump");
    ignore(cli.core_dump_pattern.is_some(), "-M/--core-dump-pattern");
    ignore(
        cli.all,
        "--all (kad starts only the children the configuration needs)",
    );
    if !cli.stray.is_empty() {
        w.push(format!(
            "kad ignores unexpected argument(s): {}",
            cli.stray.join(" ")
        ));
    }
    w
}

/// `-v` under the name `keepalived` (stderr): keepalived's first line with kad's version in
/// place of keepalived's build date, so tools that read the version from the first line's
/// second word (`v2.2.7`) see the keepalived release kad follows.
pub fn keepalived_banner() -> String {
    format!(
        "Keepalived v{KEEPALIVED_VERSION} (kad {})\n\
         kad {}: a keepalived-compatible daemon following keepalived {KEEPALIVED_VERSION}'s behaviour\n",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signum_names_are_keepalived_s() {
        let table = [
            ("STOP", 15),
            ("RELOAD", 1),
            ("DATA", 10),
            ("STATS", 12),
            ("STATS_CLEAR", 63),
            ("JSON", 36),
        ];
        for (name, n) in table {
            assert_eq!(signum(name), Some(n), "{name}");
        }
        for name in ["TDATA", "stop", "TERM", "HUP", "STATS-CLEAR", "FOO", ""] {
            assert_eq!(signum(name), None, "{name}");
        }
    }

    #[test]
    fn facilities_as_keepalived_s_daemon_reads_them() {
        for n in 0..=7u8 {
            assert_eq!(parse_facility(&n.to_string(), false), Ok(Some(n)));
            assert_eq!(parse_facility(&format!("local{n}"), false), Ok(Some(n)));
        }
        assert_eq!(parse_facility("daemon", false), Ok(None));
        assert_eq!(parse_facility("user", false), Ok(Some(8)));
        for bad in [
            "8", "9", "local8", "kern", "local", "", "+3", "03", "local03",
        ] {
            assert!(parse_facility(bad, false).is_err(), "{bad}");
        }
        assert_eq!(parse_facility("8", true), Ok(Some(8)));
    }

    #[test]
    fn umask_is_octal() {
        assert_eq!(parse_umask("022"), Some(0o22));
        assert_eq!(parse_umask("0177"), Some(0o177));
        assert_eq!(parse_umask("77"), Some(0o77));
        assert_eq!(parse_umask("0778"), None);
        assert_eq!(parse_umask("1777"), None);
        assert_eq!(parse_umask("x"), None);
    }

    #[test]
    fn only_the_base_name_keepalived_counts() {
        assert!(is_keepalived_name(OsStr::new("keepalived")));
        assert!(is_keepalived_name(OsStr::new("/usr/sbin/keepalived")));
        assert!(!is_keepalived_name(OsStr::new("/usr/sbin/kad")));
        assert!(!is_keepalived_name(OsStr::new("keepalived.bin")));
        assert!(!is_keepalived_name(OsStr::new("/opt/keepalived/kad")));
    }

    #[test]
    fn the_banner_s_first_line_carries_keepalived_s_version() {
        let b = keepalived_banner();
        let first = b.lines().next().unwrap_or_default();
        assert_eq!(first.split(' ').nth(1), Some("v2.2.7"));
        assert!(first.starts_with("Keepalived v2.2.7 (kad "));
    }
}
