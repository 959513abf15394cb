//! keepalived.conf features, each parsed from real files in a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kad_core::config::model::{CheckKind, InitialState, LvsMethod, ServiceKey};
use kad_core::config::{parse_file, ParseOptions, Parsed, Severity};

/// A fresh temporary directory for one test.
fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kad-core-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, text).expect("write config");
    path
}

fn parse_with_id(text: &str, id: &str) -> Parsed {
    let dir = temp_dir();
    let path = write(&dir, "keepalived.conf", text);
    parse_file(
        &path,
        &ParseOptions {
            config_id: id.into(),
            interface_exists: None,
        },
    )
}

fn parse(text: &str) -> Parsed {
    parse_with_id(text, "node")
}

fn ok(text: &str) -> kad_core::config::Config {
    let p = parse(text);
    match p.config {
        Some(c) => c,
        None => panic!("unexpected errors: {:#?}", p.rendered()),
    }
}

/// The first instance's VIPs as strings.
fn vip_list(cfg: &kad_core::config::Config) -> Vec<String> {
    cfg.vrrp_instances[0]
        .virtual_ipaddress
        .iter()
        .map(|v| v.addr.to_string())
        .collect()
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n";

#[test]
fn braces_on_the_next_line_and_one_line_blocks() {
    let cfg = ok("vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress { 192.0.2.100 }\n track_interface {eth1 weight 5}\n}\n");
    let inst = &cfg.vrrp_instances[0];
    assert_eq!(inst.virtual_ipaddress[0].addr.to_string(), "192.0.2.100");
    assert_eq!(inst.virtual_ipaddress[0].prefix, 32);
    assert_eq!(inst.track_interface[0].name, "eth1");
    assert_eq!(inst.track_interface[0].weight, Some(5));
}

#[test]
fn instance_defaults_and_values() {
    let cfg = ok("vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 2\n nopreempt\n preempt_delay 30\n authentication {\n  auth_type PASS\n  auth_pass 123456789\n }\n virtual_ipaddress {\n  192.0.2.100/24 dev eth0 label eth0:1 scope global\n }\n unicast_peer {\n  192.0.2.12 min_ttl 250\n }\n}\n");
    let i = &cfg.vrrp_instances[0];
    assert_eq!(i.initial_state, InitialState::Master);
    assert_eq!((i.vrid, i.priority, i.version), (51, 150, 2));
    assert_eq!(i.advert_int, Duration::from_secs(2));
    assert!(i.nopreempt);
    assert_eq!(i.preempt_delay, Duration::from_secs(30));
    let auth = i.authentication.as_ref().expect("auth");
    assert_eq!(auth.auth_pass, "12345678", "truncated to 8 like keepalived");
    assert_eq!(i.virtual_ipaddress[0].label.as_deref(), Some("eth0:1"));
    assert_eq!(i.unicast_peers[0].min_ttl, Some(250));
    assert_eq!(i.garp.master_delay, Duration::from_secs(5));
    assert_eq!(i.garp.master_repeat, 5);
}

#[test]
fn ipv6_instance_uses_version_3_and_centisecond_adverts() {
    let cfg = ok("vrrp_instance V6 {\n interface eth0\n virtual_router_id 5\n advert_int 0.123\n virtual_ipaddress {\n  2001:db8::1/64\n }\n}\n");
    let i = &cfg.vrrp_instances[0];
    assert!(i.ipv6);
    assert_eq!(i.version, 3);
    assert_eq!(i.advert_int, Duration::from_millis(120));
}

#[test]
fn v2_fractional_advert_int_is_rounded_with_a_warning() {
    let p = parse("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n advert_int 0.4\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n");
    let cfg = p.config.as_ref().expect("valid");
    assert_eq!(cfg.vrrp_instances[0].advert_int, Duration::from_secs(1));
    assert!(p
        .rendered()
        .iter()
        .any(|l| l.contains(":4:2: warning: VRRPv2 advert_int")));
}

#[test]
fn includes_are_relative_nested_and_globbed() {
    let dir = temp_dir();
    write(&dir, "conf.d/b.conf", "include ../inner/c.conf\n");
    write(
        &dir,
        "conf.d/a.conf",
        "global_defs {\n router_id from_a\n}\n",
    );
    write(&dir, "inner/c.conf", INSTANCE);
    let main = write(&dir, "main.conf", "include conf.d/*.conf\n");
    let p = parse_file(&main, &ParseOptions::default());
    let cfg = p.config.expect("valid");
    assert_eq!(cfg.global.router_id.as_deref(), Some("from_a"));
    assert_eq!(cfg.vrrp_instances.len(), 1);
    assert_eq!(p.files.all().len(), 4);
}

#[test]
fn include_inside_a_block_and_brace_lists() {
    let dir = temp_dir();
    write(&dir, "vip1.inc", "192.0.2.101\n");
    write(&dir, "vip2.inc", "192.0.2.102\n");
    let main = write(
        &dir,
        "main.conf",
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  include vip{1,2}.inc\n }\n}\n",
    );
    let cfg = parse_file(&main, &ParseOptions::default())
        .config
        .expect("valid");
    let vips = vip_list(&cfg);
    assert_eq!(vips, ["192.0.2.101", "192.0.2.102"]);
}

#[test]
fn include_cycle_through_two_files_is_reported() {
    let dir = temp_dir();
    write(&dir, "b.conf", "include a.conf\n");
    let a = write(&dir, "a.conf", "include b.conf\n");
    let p = parse_file(&a, &ParseOptions::default());
    assert!(p.config.is_none());
    let msgs = p.rendered();
    assert!(
        msgs.iter()
            .any(|m| m.contains("b.conf:1:9: error: include cycle:") && m.contains("a.conf -> ")),
        "{msgs:?}"
    );
}

#[test]
fn definitions_substitute_recursively_at_use_time() {
    let cfg = ok("$BASE=192.0.2.${SUB}\n$SUB=1\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  ${BASE}0/24\n  $SUB=2\n  ${BASE}0/24\n }\n}\n");
    let vips = vip_list(&cfg);
    assert_eq!(vips, ["192.0.2.10", "192.0.2.20"]);
}

#[test]
fn multi_line_definitions_expand_to_blocks() {
    let cfg = ok("$INST= \\\nvrrp_instance VI_${N} { \\\n interface eth0 \\\n virtual_router_id ${N} \\\n virtual_ipaddress { \\\n  192.0.2.${N} \\\n } \\\n}\n$N=1\n$INST\n$N=2\n$INST\n");
    let names: Vec<&str> = cfg.vrrp_instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["VI_1", "VI_2"]);
    assert_eq!(cfg.vrrp_instances[1].vrid, 2);
}

#[test]
fn conditionals_follow_the_config_id() {
    let text = "global_defs {\n@main router_id main_router\n@^main router_id other_router\n}\n";
    let main = parse_with_id(text, "main").config.expect("valid");
    let other = parse_with_id(text, "backup").config.expect("valid");
    assert_eq!(main.global.router_id.as_deref(), Some("main_router"));
    assert_eq!(other.global.router_id.as_deref(), Some("other_router"));
}

#[test]
fn seq_and_lst_expand_lines() {
    let cfg = ok("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  ~SEQ(N, 1, 3) 192.0.2.${N}\n  ~LST({A,B}, {9,1},{9,2}) 198.51.100.${A}${B}\n }\n}\n");
    let vips = vip_list(&cfg);
    assert_eq!(
        vips,
        [
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.3",
            "198.51.100.91",
            "198.51.100.92"
        ]
    );
    let cfg = ok("vrrp_instance V6 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  ~SEQx(H, 0x9, 0xb) ~SEQ(L, 2, -1, 1) 2001:db8::${H}:${L}\n }\n}\n");
    let vips = vip_list(&cfg);
    assert_eq!(
        vips,
        [
            "2001:db8::9:2",
            "2001:db8::9:1",
            "2001:db8::a:2",
            "2001:db8::a:1",
            "2001:db8::b:2",
            "2001:db8::b:1"
        ]
    );
}

#[test]
fn predefined_definitions() {
    let dir = temp_dir();
    let path = write(
        &dir,
        "k.conf",
        "global_defs {\n router_id id_${_INSTANCE}${_HASH}${_BANG}\n notification_email_from ${_PWD}\n}\n",
    );
    let cfg = parse_file(
        &path,
        &ParseOptions {
            config_id: "n1".into(),
            interface_exists: None,
        },
    )
    .config
    .expect("valid");
    assert_eq!(cfg.global.router_id.as_deref(), Some("id_n1#!"));
    assert_eq!(
        cfg.global.notification_email_from.as_deref(),
        Some(dir.canonicalize().expect("canon").to_str().expect("utf8"))
    );
}

#[test]
fn checker_timing_inherits_virtual_then_real_server() {
    let cfg = ok("virtual_server 192.0.2.1 80 {\n protocol TCP\n delay_loop 7\n connect_timeout 4\n lb_kind DR\n real_server 198.51.100.1 {\n  retry 5\n  TCP_CHECK {\n   delay_before_retry 2\n  }\n }\n real_server 198.51.100.2 8080 {\n  HTTP_GET {\n   url {\n    path /x\n    digest 0123456789ABCDEF0123456789abcdef\n   }\n   connect_port 81\n  }\n }\n}\n");
    let vs = &cfg.virtual_servers[0];
    assert_eq!(
        vs.key,
        ServiceKey::Addr {
            addr: "192.0.2.1".parse().expect("ip"),
            port: Some(80)
        }
    );
    let tcp = &vs.real_servers[0];
    assert_eq!(
        tcp.port,
        Some(80),
        "real server port defaults to the virtual server's"
    );
    assert_eq!(tcp.lvs_method, LvsMethod::Dr);
    let t = &tcp.checkers[0].timing;
    assert_eq!(
        (
            t.delay_loop,
            t.connect_timeout,
            t.retry,
            t.delay_before_retry
        ),
        (
            Duration::from_secs(7),
            Duration::from_secs(4),
            5,
            Duration::from_secs(2)
        )
    );
    let http = &vs.real_servers[1].checkers[0];
    assert_eq!(http.target.port, Some(81));
    match &http.kind {
        CheckKind::Http { urls, tls, .. } => {
            assert!(!tls);
            assert_eq!(
                urls[0].digest.as_deref(),
                Some("0123456789abcdef0123456789abcdef")
            );
            assert!(urls[0].status_codes.is_empty());
        }
        other => panic!("expected HTTP_GET, got {other:?}"),
    }
    assert_eq!(http.timing.retry, 1, "keepalived's default retry");
}

#[test]
fn unknown_keywords_warn_and_skip_their_blocks() {
    let p = parse("global_defs {\n bogus_block {\n  router_id nope\n }\n router_id yes\n}\n");
    let cfg = p.config.as_ref().expect("warnings only");
    assert_eq!(cfg.global.router_id.as_deref(), Some("yes"));
    assert_eq!(p.diagnostics.len(), 1);
    assert_eq!(p.diagnostics[0].severity, Severity::Warning);
    assert_eq!(
        (p.diagnostics[0].pos.line, p.diagnostics[0].pos.col),
        (2, 2)
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let p = parse("vrrp_instance A {\n interface eth0\n virtual_router_id 999\n priority 0\n}\nvirtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo nope\n}\n");
    let errors: Vec<(u32, u32)> = p
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.pos.line, d.pos.col))
        .collect();
    assert_eq!(errors, [(3, 20), (4, 11), (8, 10)]);
}

#[test]
fn interface_probe_gives_positioned_warnings() {
    fn none_exist(_: &str) -> bool {
        false
    }
    let dir = temp_dir();
    let path = write(&dir, "k.conf", INSTANCE);
    let p = parse_file(
        &path,
        &ParseOptions {
            config_id: String::new(),
            interface_exists: Some(none_exist),
        },
    );
    assert!(p.config.is_some(), "a missing interface is not an error");
    assert!(p.rendered()[0].ends_with(":2:12: warning: interface 'eth0' does not exist on this machine (the instance waits in FAULT until it appears)"));
}

#[test]
fn model_round_trips_through_json() {
    let cfg = ok(&format!("{INSTANCE}virtual_server 192.0.2.1 80 {{\n protocol TCP\n real_server 198.51.100.1 80 {{\n  MISC_CHECK {{\n   misc_path \"/bin/check a b\"\n   misc_dynamic\n  }}\n }}\n}}\n"));
    let json = serde_json::to_string(&cfg).expect("serialize");
    let back: kad_core::config::Config = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, cfg);
}

#[test]
fn real_server_without_a_block_has_no_checkers() {
    let cfg = ok("virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 198.51.100.1 80\n real_server 198.51.100.2 80 {\n  weight 3\n }\n}\n");
    let reals = &cfg.virtual_servers[0].real_servers;
    assert_eq!(reals.len(), 2);
    assert!(reals[0].checkers.is_empty());
    assert_eq!((reals[0].weight, reals[1].weight), (1, 3));
}

#[test]
fn vrrp_strict_resets_what_keepalived_resets_and_needs_a_vip() {
    let p = parse(
        "global_defs {\n vrrp_strict\n}\nvrrp_instance VI_1 {\n interface eth0\n state MASTER\n virtual_router_id 51\n priority 100\n\
         preempt_delay 5\n accept\n authentication {\n  auth_type PASS\n  auth_pass secret\n }\n unicast_peer {\n  192.0.2.2\n }\n\
         virtual_ipaddress {\n  192.0.2.100/24\n }\n}\nvrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n strict_mode off\n\
         authentication {\n  auth_type PASS\n  auth_pass secret\n }\n virtual_ipaddress {\n  192.0.2.101/24\n }\n}\n",
    );
    let cfg = p
        .config
        .as_ref()
        .expect("strict mode corrects, it does not refuse");
    let vi1 = &cfg.vrrp_instances[0];
    assert_eq!(vi1.initial_state, InitialState::Backup);
    assert!(vi1.authentication.is_none());
    assert_eq!(vi1.preempt_delay, Duration::ZERO);
    assert!(vi1.unicast_peers.is_empty());
    assert_eq!(vi1.accept, Some(false));
    let warnings: Vec<&str> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
    for expected in [
        "(VI_1) strict mode: state MASTER needs priority 255 (the address owner); starting as BACKUP",
        "(VI_1) strict mode does not support authentication; ignored",
        "(VI_1) preempt_delay is incompatible with strict mode; reset to 0",
        "(VI_1) strict mode does not allow unicast peers; they are ignored (multicast)",
        "(VI_1) accept mode for VRRP version 2 does not comply with RFC 3768; reset",
    ] {
        assert!(warnings.contains(&expected), "{expected} not in {warnings:?}");
    }
    // `accept` (line 10) is read but not acted on: the keyword table's warning, at its line.
    assert!(p.diagnostics.iter().all(|d| d.severity == Severity::Warning
        && (d.pos.line == 4 || (d.pos.line == 10 && d.message.contains("not acted on")))));
    // strict_mode off on an instance overrides the global setting.
    assert!(cfg.vrrp_instances[1].authentication.is_some());

    let p =
        parse("vrrp_instance VI_3 {\n interface eth0\n virtual_router_id 53\n strict_mode\n}\n");
    assert!(p.config.is_none());
    assert!(p.diagnostics.iter().any(|d| d.severity == Severity::Error
        && d.message == "(VI_3) strict mode: at least one virtual_ipaddress is required"));
}

#[test]
fn an_include_of_a_fifo_or_device_is_an_error_not_a_hang() {
    let dir = temp_dir();
    let fifo = dir.join("trap.conf");
    let c = std::ffi::CString::new(fifo.display().to_string()).expect("path");
    // SAFETY: mkfifo reads a NUL-terminated path that we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let main = write(
        &dir,
        "main.conf",
        "include trap.conf\ninclude /dev/zero\nglobal_defs {\n router_id r1\n}\n",
    );
    // Without the fix the parse blocks for ever on the FIFO: give it a thread and a deadline.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let parsed = parse_file(&main, &ParseOptions::default());
        let _ = tx.send(parsed.rendered());
    });
    let rendered = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the parse returned");
    for name in ["trap.conf", "/dev/zero"] {
        assert!(
            rendered.iter().any(|m| m.contains("error")
                && m.contains(name)
                && m.contains("not a regular file")),
            "{name}: {rendered:?}"
        );
    }
    // The root file itself: the same rule.
    let parsed = parse_file(&fifo, &ParseOptions::default());
    assert!(parsed.config.is_none());
}

#[test]
fn a_duplicate_vrid_is_reported_at_its_virtual_router_id_line() {
    let p = parse(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n}\n\
         vrrp_instance B {\n interface eth0\n priority 90\n   virtual_router_id 51\n}\n",
    );
    assert!(p.config.is_none());
    let errors: Vec<String> = p
        .rendered()
        .into_iter()
        .filter(|l| l.contains(": error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    // keepalived's place: B's virtual_router_id line (8), not its vrrp_instance line (5); the
    // first use is named by its virtual_router_id line too.
    assert!(
        errors[0].ends_with(
            "keepalived.conf:8:4: error: virtual_router_id 51 is used twice on interface eth0 \
             for IPv4: by 'A' (line 3) and 'B'"
        ),
        "{errors:#?}"
    );
}

/// keepalived 2.2.7 (measured on the neutron corpus file): a scope on an IPv6 virtual address
/// is ignored with a warning, and a track_interface naming the instance's own interface is
/// dropped with a warning.
#[test]
fn ipv6_scope_and_own_track_interface_are_ignored_with_a_warning() {
    let p = parse(
        "vrrp_instance VR_1 {\n interface eth0\n virtual_router_id 1\n track_interface {\n  eth0\n  eth1 weight 5\n }\n\
         virtual_ipaddress {\n  192.0.2.100/24 scope link\n }\n virtual_ipaddress_excluded {\n  fe80::1/64 dev eth1 scope link\n }\n}\n",
    );
    let cfg = p.config.as_ref().expect("warnings only");
    let inst = &cfg.vrrp_instances[0];
    assert_eq!(inst.virtual_ipaddress[0].scope, Some(253));
    assert_eq!(inst.virtual_ipaddress_excluded[0].scope, None);
    let names: Vec<&str> = inst
        .track_interface
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["eth1"]);
    let at = |line: u32, text: &str| {
        p.diagnostics.iter().any(|d| {
            d.severity == Severity::Warning && d.pos.line == line && d.message.contains(text)
        })
    };
    assert!(
        at(12, "cannot specify scope for IPv6 addresses (fe80::1/64)"),
        "{:?}",
        p.diagnostics
    );
    assert!(
        at(
            1,
            "(VR_1) ignoring track_interface eth0 since it is the instance's own interface"
        ),
        "{:?}",
        p.diagnostics
    );
    assert_eq!(p.diagnostics.len(), 2, "{:?}", p.diagnostics);
}

#[test]
fn notify_fifos_and_their_scripts_are_read() {
    let p = parse(
        "global_defs {\n  notify_fifo /run/all.fifo\n  notify_fifo_script \"/bin/reader -x\" nobody\n  vrrp_notify_fifo /run/vrrp.fifo\n  vrrp_notify_fifo_script /bin/v\n  lvs_notify_fifo /run/lvs.fifo root root\n  lvs_notify_fifo_script /bin/l\n}\n",
    );
    let messages: Vec<&str> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
    // The FIFO owner is applied: no warning.
    assert!(messages.is_empty(), "{messages:?}");
    let f = p.config.expect("config").global.fifos;
    assert_eq!(
        (f.lvs.user.as_deref(), f.lvs.group.as_deref()),
        (Some("root"), Some("root"))
    );
    assert_eq!(
        (f.all.user.as_deref(), f.all.group.as_deref()),
        (None, None)
    );
    assert_eq!(f.all.path.as_deref(), Some("/run/all.fifo"));
    let s = f.all.script.expect("notify_fifo_script");
    assert_eq!(
        (s.command.as_str(), s.user.as_deref()),
        ("/bin/reader -x", Some("nobody"))
    );
    assert_eq!(f.vrrp.path.as_deref(), Some("/run/vrrp.fifo"));
    assert_eq!(f.vrrp.script.map(|s| s.command).as_deref(), Some("/bin/v"));
    assert_eq!(f.lvs.path.as_deref(), Some("/run/lvs.fifo"));
    assert_eq!(f.lvs.script.map(|s| s.command).as_deref(), Some("/bin/l"));
}

#[test]
fn vrrp_track_process_and_track_process_are_read() {
    let p = parse(
        "vrrp_track_process haproxy {\n  process \"/usr/sbin/haproxy\" -f \"/etc/h a.cfg\"\n  param_match initial\n  weight -20 reverse\n  quorum 2\n  quorum_max 4\n  delay 1.5\n  terminate_delay 3\n  full_command\n}\nvrrp_sync_group G {\n  group {\n    VI_1\n  }\n  track_process {\n    haproxy\n  }\n}\nvrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 1\n  priority 100\n  track_process {\n    haproxy weight 10\n    nosuch\n  }\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",
    );
    let messages: Vec<&str> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("'nosuch' is not a defined vrrp_track_process"));
    let cfg = p.config.expect("config");
    let t = &cfg.track_processes[0];
    assert_eq!(t.process, "/usr/sbin/haproxy");
    assert_eq!(t.params, ["-f", "/etc/h a.cfg"]);
    assert_eq!(
        t.param_match,
        Some(kad_core::config::model::ParamMatch::Initial)
    );
    assert_eq!(
        (t.weight, t.reverse, t.quorum, t.quorum_max),
        (-20, true, 2, Some(4))
    );
    assert_eq!(t.fork_delay, Duration::from_millis(1500));
    assert_eq!(t.terminate_delay, Duration::from_secs(3));
    assert!(t.full_command);
    let i = &cfg.vrrp_instances[0];
    assert_eq!(i.track_process.len(), 1, "an unknown name is dropped");
    assert_eq!(i.track_process[0].weight, Some(10));
    assert_eq!(cfg.sync_groups[0].track_process[0].name, "haproxy");
}

/// An instance with `n` VIPs of the family given (and `extra` lines in its block).
fn many_vips(n: usize, ipv6: bool, extra: &str) -> String {
    let vips: String = (0..n)
        .map(|i| match ipv6 {
            false => format!("  198.51.{}.{}/32\n", 100 + i / 250, i % 250 + 1),
            true => format!("  2001:db8:1::{:x}/128\n", i + 1),
        })
        .collect();
    format!("vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{extra} virtual_ipaddress {{\n{vips} }}\n}}\n")
}

/// The limits keepalived 2.2.7 printed at `-t` (bisected over MTUs 589..1500 in namespaces,
/// docs/reference/keepalived-2.2.7.md section 10).
#[test]
fn advert_capacity_is_keepalived_s_measured_rule() {
    let v2 = &ok(&many_vips(1, false, "")).vrrp_instances[0];
    let v3 = &ok(&many_vips(1, false, " version 3\n")).vrrp_instances[0];
    let v6 = &ok(&many_vips(1, true, "")).vrrp_instances[0];
    let ah_conf = " authentication {\n  auth_type AH\n  auth_pass secret\n }\n";
    let ah = &ok(&many_vips(1, false, ah_conf)).vrrp_instances[0];
    let cases: [(&kad_core::config::model::VrrpInstance, u32, usize); 14] = [
        (v2, 1500, 255),
        (v2, 600, 137),
        (v2, 601, 137),
        (v2, 602, 138),
        (v2, 589, 134),
        (v3, 600, 139),
        (v3, 589, 136),
        (v3, 602, 140),
        (v6, 1500, 89),
        (v6, 1280, 76),
        (v6, 589, 32),
        (v6, 590, 33),
        (ah, 600, 131),
        (v2, 0, 0),
    ];
    for (inst, mtu, max) in cases {
        assert_eq!(
            inst.advert_capacity(mtu),
            max,
            "v{} ipv6 {} mtu {mtu}",
            inst.version,
            inst.ipv6
        );
    }
}

/// More VIPs than one advert carries: `kad -t` warns as keepalived does (and the daemon moves
/// the excess to the excluded list); the model keeps every VIP in order.
#[test]
fn too_many_vips_for_one_advert_warn() {
    for (n, ipv6, max) in [(300, false, 255), (256, false, 255), (90, true, 89)] {
        let p = parse(&many_vips(n, ipv6, ""));
        let cfg = p.config.as_ref().expect("a warning only");
        assert_eq!(cfg.vrrp_instances[0].virtual_ipaddress.len(), n);
        let wanted = format!(":1:1: warning: (VI_1) Number of VIPs ({n}) exceeds maximum/space available in packet (max {max} addresses at MTU 1500)");
        assert!(
            p.rendered().iter().any(|l| l.contains(&wanted)),
            "{n} VIPs: {:#?}",
            p.rendered()
        );
    }
    for (n, ipv6) in [(255, false), (89, true)] {
        let p = parse(&many_vips(n, ipv6, ""));
        assert!(p.rendered().is_empty(), "{n}: {:#?}", p.rendered());
    }
}
