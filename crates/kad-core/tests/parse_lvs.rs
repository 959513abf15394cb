//! LVS parity (issue 16): virtual_server_group address forms, DR/TUN ports, global LVS options.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use kad_core::config::model::GroupEntry;
use kad_core::config::{parse_file, ParseOptions, Parsed, Severity};

fn parse(text: &str) -> (Parsed, PathBuf) {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kad-core-lvs-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, text).expect("write");
    let p = parse_file(&path, &ParseOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    (p, path)
}

/// Diagnostics of one severity as `FILE:LINE: message`.
fn diags(p: &Parsed, path: &std::path::Path, sev: Severity) -> Vec<String> {
    p.diagnostics
        .iter()
        .filter(|d| d.severity == sev)
        .map(|d| format!("{}:{}: {}", path.display(), d.pos.line, d.message))
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

#[test]
fn group_address_forms_are_accepted() {
    let (p, path) = parse(
        "virtual_server_group g4 {\n 10.7.8.8/30 80\n 10.7.8.250-10.7.9.2 82\n 10.7.10.1-3 83\n 10.7.11.5\n}\n\
         virtual_server_group g6 {\n 2001:db8::10/126 86\n 2001:db8::a-2001:db8::c 85\n 2001:db8::1-3 84\n}\n\
         virtual_server group g4 {\n protocol TCP\n persistence_timeout 60\n real_server 127.0.0.1 8080\n}\n\
         virtual_server group g6 {\n protocol TCP\n real_server ::1 8080\n}\n",
    );
    assert!(
        diags(&p, &path, Severity::Error).is_empty(),
        "{:?}",
        p.rendered()
    );
    let cfg = p.config.expect("config");
    let ranges: Vec<(IpAddr, IpAddr, Option<u16>)> = cfg
        .virtual_server_groups
        .iter()
        .flat_map(|g| g.entries.iter())
        .filter_map(|e| match e {
            GroupEntry::Range { first, last, port } => Some((*first, *last, *port)),
            GroupEntry::Fwmark { .. } => None,
        })
        .collect();
    assert_eq!(
        ranges,
        [
            (ip("10.7.8.8"), ip("10.7.8.11"), Some(80)),
            (ip("10.7.8.250"), ip("10.7.9.2"), Some(82)),
            (ip("10.7.10.1"), ip("10.7.10.3"), Some(83)),
            (ip("10.7.11.5"), ip("10.7.11.5"), None),
            (ip("2001:db8::10"), ip("2001:db8::13"), Some(86)),
            (ip("2001:db8::a"), ip("2001:db8::c"), Some(85)),
            (ip("2001:db8::1"), ip("2001:db8::3"), Some(84)),
        ]
    );
}

#[test]
fn bad_group_addresses_are_errors_at_their_line() {
    let (p, path) = parse(
        "virtual_server_group g {\n 10.7.8.8/30 80\n 10.7.12.7/30 85\n 10.0.0.0/8 80\n 10.7.8.9-3 81\n 2001:db8::/64 80\n}\n",
    );
    assert!(p.config.is_none());
    let f = path.display();
    assert_eq!(
        diags(&p, &path, Severity::Error),
        [
            format!("{f}:3: virtual_server_group: '10.7.12.7' has bits set past /30 (expected the first address of the prefix)"),
            format!("{f}:4: virtual_server_group: '10.0.0.0/8' stands for 16777216 addresses; kad allows at most 65536 per range"),
            format!("{f}:5: virtual_server_group: '10.7.8.9-3': the range ends below its start"),
            format!("{f}:6: virtual_server_group: '2001:db8::/64' stands for 18446744073709551616 addresses; kad allows at most 65536 per range"),
        ]
    );
}

#[test]
fn dr_and_tun_real_servers_take_the_virtual_servers_port() {
    let (p, path) = parse(
        "virtual_server 192.0.2.1 53 {\n protocol UDP\n lb_kind DR\n real_server 127.0.0.1 5353\n real_server 127.0.0.2\n}\n\
         virtual_server 192.0.2.2 53 {\n protocol UDP\n lb_kind NAT\n real_server 127.0.0.1 5353 {\n  lvs_method TUN\n }\n real_server 127.0.0.3 5353\n}\n",
    );
    let f = path.display();
    assert_eq!(
        diags(&p, &path, Severity::Warning),
        [
            format!("{f}:4: real_server port 5353 differs from the virtual server's 53; DR does not rewrite ports, so 53 is used (as keepalived)"),
            format!("{f}:10: real_server port 5353 differs from the virtual server's 53; TUN does not rewrite ports, so 53 is used (as keepalived)"),
        ]
    );
    let cfg = p.config.expect("config");
    let ports: Vec<Option<u16>> = cfg
        .virtual_servers
        .iter()
        .flat_map(|v| v.real_servers.iter().map(|r| r.port))
        .collect();
    assert_eq!(ports, [Some(53), Some(53), Some(53), Some(5353)]);
}

#[test]
fn lvs_timeouts_and_flush_options() {
    let (p, _) = parse(
        "global_defs {\n lvs_timeouts tcp 901 udp 61\n lvs_flush\n lvs_flush_on_stop VS\n}\n",
    );
    let g = p.config.expect("config").global;
    assert_eq!(
        (
            g.lvs_timeouts.tcp,
            g.lvs_timeouts.tcpfin,
            g.lvs_timeouts.udp
        ),
        (Some(901), None, Some(61))
    );
    assert!(g.lvs_flush && g.lvs_flush_on_stop_vs && !g.lvs_flush_on_stop);
    let (p, _) = parse("global_defs {\n lvs_flush_on_stop\n}\n");
    let g = p.config.expect("config").global;
    assert!(g.lvs_flush_on_stop && !g.lvs_flush_on_stop_vs);
}

#[test]
fn bad_lvs_timeouts_and_flush_options_are_errors_at_their_line() {
    let (p, path) = parse(
        "global_defs {\n lvs_timeouts\n lvs_timeouts tcp 0\n lvs_timeouts syn 5\n lvs_timeouts udp\n lvs_flush_on_stop RS\n}\n",
    );
    assert!(p.config.is_none());
    let f = path.display();
    assert_eq!(
        diags(&p, &path, Severity::Error),
        [
            format!("{f}:2: 'lvs_timeouts' expects tcp, tcpfin or udp followed by seconds"),
            format!("{f}:3: 'lvs_timeouts': value 0 is out of range: expected 1 to 2147483"),
            format!("{f}:4: 'lvs_timeouts': expected tcp, tcpfin or udp, found 'syn'"),
            format!("{f}:5: 'lvs_timeouts': 'udp' needs a number of seconds"),
            format!("{f}:6: 'lvs_flush_on_stop': expected nothing or VS, found 'RS'"),
        ]
    );
}

#[test]
fn checker_log_all_failures_is_the_default_of_each_checkers_log_all_failures() {
    let (p, _) = parse(
        "global_defs {\n checker_log_all_failures\n}\n\
         virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 127.0.0.1 80 {\n  TCP_CHECK {\n  }\n  TCP_CHECK {\n   log_all_failures off\n  }\n }\n}\n\
         virtual_server 192.0.2.2 80 {\n protocol TCP\n real_server 127.0.0.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
    );
    let cfg = p.config.expect("config");
    let flags: Vec<bool> = cfg
        .virtual_servers
        .iter()
        .flat_map(|v| v.real_servers.iter().flat_map(|r| r.checkers.iter()))
        .map(|c| c.log_all_failures)
        .collect();
    assert_eq!(flags, [true, false, true]);
    let (p, _) = parse(
        "virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 127.0.0.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
    );
    let cfg = p.config.expect("config");
    assert!(!cfg.virtual_servers[0].real_servers[0].checkers[0].log_all_failures);
}

#[test]
fn url_regex_options_and_their_errors() {
    let rs = |url: &str| {
        format!("virtual_server 192.0.2.1 80 {{\n protocol TCP\n real_server 127.0.0.1 80 {{\n  HTTP_GET {{\n   url {{\n    path /\n{url}   }}\n  }}\n }}\n}}\n")
    };
    let (p, _) = parse(&rs("    regex \"ok|fine\"\n    regex_no_match\n    regex_options caseless dotall\n    regex_min_offset 10\n    regex_max_offset 20\n    regex_stack 100 200\n"));
    let cfg = p.config.expect("config");
    let kad_core::config::model::CheckKind::Http { urls, .. } =
        &cfg.virtual_servers[0].real_servers[0].checkers[0].kind
    else {
        panic!("not HTTP_GET");
    };
    let r = urls[0].regex.as_ref().expect("regex");
    assert_eq!(&*r.pattern, "(?is-u)ok|fine");
    assert!(r.no_match);
    assert_eq!((r.min_offset, r.max_offset), (10, Some(20)));
    let (p, path) = parse(&rs("    regex \"(a\"\n    regex_options sideways firstline\n    regex_max_offset -1\n    regex \"(?<=a)b\"\n"));
    assert!(p.config.is_none());
    let f = path.display();
    let errors = diags(&p, &path, Severity::Error);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0], format!("{f}:8: unknown regex option 'sideways'"));
    assert!(
        errors[1].starts_with(&format!("{f}:9: 'regex_max_offset'")),
        "{errors:?}"
    );
    assert!(
        errors[2].starts_with(&format!(
            "{f}:10: 'regex': not a valid regular expression for kad"
        )),
        "{errors:?}"
    );
    assert!(diags(&p, &path, Severity::Warning).contains(&format!(
        "{f}:8: regex option 'firstline' has no equivalent in kad's regex engine; ignored"
    )));
}

#[test]
fn virtual_server_weight_and_hashed_are_accepted_without_effect() {
    let (p, path) = parse("virtual_server 192.0.2.4 80 {\n protocol TCP\n lb_algo sh\n weight 3\n hashed\n real_server 127.0.0.1 80\n}\n");
    let f = path.display();
    assert!(p.config.is_some(), "{:?}", p.rendered());
    assert_eq!(
        diags(&p, &path, Severity::Warning),
        [
            format!("{f}:4: 'weight' is parsed but not acted on by kad; ignored (see docs/CONFIGURATION.md)"),
            format!("{f}:5: 'hashed' is parsed but not acted on by kad; ignored (see docs/CONFIGURATION.md)"),
        ]
    );
}

#[test]
fn smtp_check_host_blocks_become_checkers() {
    let (p, path) = parse(
        "virtual_server 192.0.2.4 25 {\n protocol TCP\n real_server 127.0.0.1 25 {\n  SMTP_CHECK {\n   connect_timeout 1\n   helo_name outer\n   host {\n    connect_ip 127.0.0.2\n    connect_port 2525\n   }\n   host {\n    connect_ip 127.0.0.3\n    bindto 127.0.0.1\n    misc_path /bin/true\n   }\n  }\n }\n}\n",
    );
    let f = path.display();
    let warnings = diags(&p, &path, Severity::Warning);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("{f}:14: ")),
        "{warnings:?}"
    );
    let cfg = p.config.expect("config");
    let targets: Vec<String> = cfg.virtual_servers[0].real_servers[0]
        .checkers
        .iter()
        .map(|c| {
            format!(
                "{}:{:?} {:?} {:?}",
                c.target.addr, c.target.port, c.target.bind_addr, c.timing.connect_timeout
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            "127.0.0.1:Some(25) None 1s",
            "127.0.0.2:Some(2525) None 1s",
            "127.0.0.3:Some(25) Some(127.0.0.1) 1s",
        ]
    );
}

#[test]
fn a_virtual_server_without_protocol_is_udp_with_keepalived_warning() {
    let (p, path) = parse(
        "virtual_server 192.0.2.4 80 {\n real_server 127.0.0.1 80\n}\n\
         virtual_server fwmark 3 {\n real_server 127.0.0.1 80\n}\n\
         virtual_server_group g {\n 192.0.2.5 80\n}\n\
         virtual_server group g {\n real_server 127.0.0.1 80\n}\n",
    );
    let f = path.display();
    let w = "virtual_server: no protocol set - defaulting to UDP (as keepalived 2.2.7; write 'protocol TCP' for a TCP service)";
    assert_eq!(
        diags(&p, &path, Severity::Warning),
        [format!("{f}:1: {w}"), format!("{f}:10: {w}")]
    );
    let cfg = p.config.expect("config");
    use kad_core::config::model::Protocol;
    let protocols: Vec<Protocol> = cfg.virtual_servers.iter().map(|v| v.protocol).collect();
    // keepalived 2.2.7's rule; a fwmark service has no protocol of its own.
    assert_eq!(protocols, [Protocol::Udp, Protocol::Tcp, Protocol::Udp]);
}

#[test]
fn lvs_sync_daemon_and_the_repair_interval_parse() {
    use kad_core::config::model::LvsSyncDaemon;
    let (p, _) = parse(
        "global_defs {\n lvs_sync_daemon eth0 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82\n kad_lvs_repair_interval 3\n}\n",
    );
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let g = p.config.expect("config").global;
    assert_eq!(
        g.lvs_sync_daemon,
        Some(LvsSyncDaemon {
            interface: "eth0".into(),
            instance: Some("VI_1".into()),
            id: Some(7),
            maxlen: Some(1400),
            port: Some(8849),
            ttl: Some(2),
            group: Some(ip("224.0.0.82")),
        })
    );
    assert_eq!(g.lvs_repair_interval, std::time::Duration::from_secs(3));
    // `inst` form, no options; the default repair interval is 10 s.
    let (p, _) = parse("global_defs {\n lvs_sync_daemon eth1 inst VI_2\n}\n");
    let g = p.config.expect("config").global;
    let d = g.lvs_sync_daemon.expect("sync daemon");
    assert_eq!(
        (d.interface.as_str(), d.instance.as_deref()),
        ("eth1", Some("VI_2"))
    );
    assert_eq!(
        (d.id, d.maxlen, d.port, d.ttl, d.group),
        (None, None, None, None, None)
    );
    assert_eq!(g.lvs_repair_interval, std::time::Duration::from_secs(10));
    // Out of range, not multicast, a value missing: errors with their positions.
    let (p, path) =
        parse("global_defs {\n lvs_sync_daemon eth0 VI_1 id 256 group 192.0.2.1 ttl\n}\n");
    let f = path.display();
    assert_eq!(
        diags(&p, &path, Severity::Error),
        [
            format!("{f}:2: 'lvs_sync_daemon': value 256 is out of range: expected 0 to 255"),
            format!("{f}:2: 'lvs_sync_daemon': expected a multicast address, found '192.0.2.1'"),
            format!("{f}:2: 'lvs_sync_daemon': 'ttl' needs a value"),
        ]
    );
}
