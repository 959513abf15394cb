//! The Prometheus text exposition (format 0.0.4) of a [`Status`]: keepalived-exporter's VRRP
//! metrics under their names and labels (`keepalived_vrrp_state`, `keepalived_*_total`), kad's
//! own under `kad_`. docs/OPERATIONS.md lists every metric. [`Exposition`] writes one family
//! at a time (its `# HELP` and `# TYPE`, then its samples) and escapes label values.

use std::fmt::Write;

use crate::status::{IpvsCounters, Status, VrrpCounters, LATENCY_BUCKETS};

/// What the parent knows of one child, beside what the child answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// `vrrp` or `checker`.
    pub name: &'static str,
    /// It answered this scrape in time.
    pub up: bool,
    /// Times it died and was started again since kad started.
    pub restarts: u64,
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a help text: backslash and line feed.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A text exposition being written.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts family `name` of `kind` (`counter`, `gauge`, `histogram`).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample of the current family (`name` may carry a suffix such as `_bucket`).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// keepalived-exporter's state numbers: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (STOP shows 0).
pub fn state_number(state: &str) -> u8 {
    match state {
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 0,
    }
}

/// keepalived-exporter's per-instance counters: name, help, value.
type CounterField = (&'static str, &'static str, fn(&VrrpCounters) -> u64);
const VRRP_COUNTERS: [CounterField; 14] = [
    (
        "keepalived_advertisements_received_total",
        "Advertisements received",
        |c| c.advert_rcvd,
    ),
    (
        "keepalived_advertisements_sent_total",
        "Advertisements sent",
        |c| c.advert_sent,
    ),
    ("keepalived_become_master_total", "Became master", |c| {
        c.become_master
    }),
    ("keepalived_release_master_total", "Released master", |c| {
        c.release_master
    }),
    (
        "keepalived_packet_length_errors_total",
        "Packet length errors",
        |c| c.packet_len_err,
    ),
    (
        "keepalived_advertisements_interval_errors_total",
        "Advertisement interval errors",
        |c| c.advert_interval_err,
    ),
    ("keepalived_ip_ttl_errors_total", "TTL errors", |c| {
        c.ip_ttl_err
    }),
    (
        "keepalived_invalid_type_received_total",
        "Invalid type errors",
        |c| c.invalid_type_rcvd,
    ),
    (
        "keepalived_address_list_errors_total",
        "Address list errors",
        |c| c.addr_list_err,
    ),
    (
        "keepalived_authentication_invalid_total",
        "Authentication invalid",
        |c| c.invalid_authtype,
    ),
    (
        "keepalived_authentication_mismatch_total",
        "Authentication mismatch",
        |c| c.authtype_mismatch,
    ),
    (
        "keepalived_authentication_failure_total",
        "Authentication failure",
        |c| c.auth_failure,
    ),
    (
        "keepalived_priority_zero_received_total",
        "Priority zero received",
        |c| c.pri_zero_rcvd,
    ),
    (
        "keepalived_priority_zero_sent_total",
        "Priority zero sent",
        |c| c.pri_zero_sent,
    ),
];

/// IPVS totals: name suffix, help, value.
type IpvsField = (&'static str, &'static str, fn(&IpvsCounters) -> u64);
const IPVS_COUNTERS: [IpvsField; 5] = [
    ("connections_total", "Connections scheduled", |c| {
        c.connections
    }),
    ("incoming_packets_total", "Packets in", |c| c.packets_in),
    ("outgoing_packets_total", "Packets out", |c| c.packets_out),
    ("incoming_bytes_total", "Bytes in", |c| c.bytes_in),
    ("outgoing_bytes_total", "Bytes out", |c| c.bytes_out),
];

/// The whole exposition of `status` and the parent's view of its `children`.
pub fn render(status: &Status, children: &[ChildInfo]) -> String {
    let mut e = Exposition::default();
    let vrrp_up = children.iter().any(|c| c.name == "vrrp" && c.up);
    e.family("keepalived_up", "gauge", "Status");
    e.sample("keepalived_up", &[], u8::from(vrrp_up));
    render_vrrp(&mut e, status);
    render_checker(&mut e, status);
    render_ipvs(&mut e, status);
    e.family(
        "kad_child_up",
        "gauge",
        "The child answered this scrape in time (1) or not (0)",
    );
    for c in children {
        e.sample("kad_child_up", &[("child", c.name)], u8::from(c.up));
    }
    e.family(
        "kad_child_restarts_total",
        "counter",
        "Times the child died and was started again",
    );
    for c in children {
        e.sample("kad_child_restarts_total", &[("child", c.name)], c.restarts);
    }
    e.finish()
}

fn render_vrrp(e: &mut Exposition, status: &Status) {
    e.family("keepalived_vrrp_state", "gauge", "State of vrrp");
    for i in &status.vrrp {
        let vrid = i.virtual_router_id.to_string();
        for (n, vip) in i.vips.iter().enumerate() {
            let intf = i.vip_interfaces.get(n).unwrap_or(&i.interface);
            let labels = [
                ("iname", i.name.as_str()),
                ("intf", intf),
                ("vrid", &vrid),
                ("ip_address", vip),
            ];
            e.sample("keepalived_vrrp_state", &labels, state_number(&i.state));
        }
    }
    for (name, help, get) in VRRP_COUNTERS {
        e.family(name, "counter", help);
        for i in &status.vrrp {
            let vrid = i.virtual_router_id.to_string();
            let state = match i.state.as_str() {
                s @ ("INIT" | "BACKUP" | "MASTER" | "FAULT") => s,
                _ => "INIT",
            };
            let labels = [
                ("iname", i.name.as_str()),
                ("intf", &i.interface),
                ("vrid", &vrid),
                ("state", state),
            ];
            e.sample(name, &labels, get(&i.counters));
        }
    }
    e.family(
        "kad_vrrp_effective_priority",
        "gauge",
        "Priority the instance advertises now",
    );
    for i in &status.vrrp {
        e.sample(
            "kad_vrrp_effective_priority",
            &[("iname", &i.name)],
            i.effective_priority,
        );
    }
    e.family(
        "kad_vrrp_dropped_packets_total",
        "counter",
        "VRRP packets dropped before any instance took them, by reason",
    );
    for (reason, n) in &status.vrrp_drops {
        e.sample("kad_vrrp_dropped_packets_total", &[("reason", reason)], n);
    }
}

fn render_checker(e: &mut Exposition, status: &Status) {
    e.family(
        "kad_virtual_server_quorum_up",
        "gauge",
        "The virtual server holds its quorum",
    );
    for v in &status.virtual_servers {
        e.sample(
            "kad_virtual_server_quorum_up",
            &[("virtual_server", &v.name)],
            u8::from(v.quorum_up),
        );
    }
    e.family(
        "kad_real_server_up",
        "gauge",
        "Every checker of the real server is up",
    );
    for v in &status.virtual_servers {
        for r in &v.real_servers {
            let labels = [
                ("virtual_server", v.name.as_str()),
                ("real_server", &r.address),
            ];
            e.sample("kad_real_server_up", &labels, u8::from(r.alive));
        }
    }
    e.family(
        "kad_real_server_weight",
        "gauge",
        "Weight kad wants for the real server in IPVS (0 when down or drained)",
    );
    for v in &status.virtual_servers {
        for r in &v.real_servers {
            let labels = [
                ("virtual_server", v.name.as_str()),
                ("real_server", &r.address),
            ];
            let w = if r.alive { r.wanted_weight } else { 0 };
            e.sample("kad_real_server_weight", &labels, w);
        }
    }
    e.family(
        "kad_checks_total",
        "counter",
        "Health checks finished, by kind",
    );
    for c in &status.checks {
        e.sample("kad_checks_total", &[("kind", &c.kind)], c.checks);
    }
    e.family(
        "kad_check_failures_total",
        "counter",
        "Health checks failed, by kind",
    );
    for c in &status.checks {
        e.sample("kad_check_failures_total", &[("kind", &c.kind)], c.failures);
    }
    let h = "kad_check_duration_seconds";
    e.family(
        h,
        "histogram",
        "Duration of finished health checks, by kind",
    );
    for c in &status.checks {
        let mut cumulative = 0u64;
        for (n, le) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative = cumulative.saturating_add(c.buckets.get(n).copied().unwrap_or(0));
            e.sample(
                &format!("{h}_bucket"),
                &[("kind", &c.kind), ("le", &le.to_string())],
                cumulative,
            );
        }
        e.sample(
            &format!("{h}_bucket"),
            &[("kind", &c.kind), ("le", "+Inf")],
            c.checks,
        );
        e.sample(&format!("{h}_sum"), &[("kind", &c.kind)], c.latency_sum);
        e.sample(&format!("{h}_count"), &[("kind", &c.kind)], c.checks);
    }
}

fn render_ipvs(e: &mut Exposition, status: &Status) {
    for (suffix, help, get) in IPVS_COUNTERS {
        let name = format!("kad_ipvs_service_{suffix}");
        e.family(
            &name,
            "counter",
            &format!("{help}, per IPVS service (kernel)"),
        );
        for s in &status.ipvs {
            e.sample(&name, &[("virtual_server", &s.name)], get(&s.counters));
        }
    }
    for (suffix, help, get) in IPVS_COUNTERS {
        let name = format!("kad_ipvs_destination_{suffix}");
        e.family(
            &name,
            "counter",
            &format!("{help}, per IPVS destination (kernel)"),
        );
        for s in &status.ipvs {
            for d in &s.destinations {
                let labels = [
                    ("virtual_server", s.name.as_str()),
                    ("real_server", &d.address),
                ];
                e.sample(&name, &labels, get(&d.counters));
            }
        }
    }
    type ConnField = (
        &'static str,
        &'static str,
        fn(&crate::status::IpvsDestStats) -> u32,
    );
    let conns: [ConnField; 2] = [
        (
            "kad_ipvs_destination_active_connections",
            "Active connections now, per IPVS destination",
            |d| d.active_connections,
        ),
        (
            "kad_ipvs_destination_inactive_connections",
            "Inactive connections now, per IPVS destination",
            |d| d.inactive_connections,
        ),
    ];
    for (name, help, get) in conns {
        e.family(name, "gauge", help);
        for s in &status.ipvs {
            for d in &s.destinations {
                let labels = [
                    ("virtual_server", s.name.as_str()),
                    ("real_server", &d.address),
                ];
                e.sample(name, &labels, get(d));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{CheckKindStats, RsStatus, VrrpStatus, VsStatus};

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("plain é"), "plain é");
        let mut e = Exposition::default();
        e.family("m", "gauge", "line\\one\ntwo");
        e.sample("m", &[("iname", "VI \"1\"\n\\")], 1);
        assert_eq!(
            e.finish(),
            "# HELP m line\\\\one\\ntwo\n# TYPE m gauge\nm{iname=\"VI \\\"1\\\"\\n\\\\\"} 1\n"
        );
    }

    fn sample() -> Status {
        Status {
            vrrp: vec![VrrpStatus {
                name: "VI_1".into(),
                state: "MASTER".into(),
                priority: 100,
                effective_priority: 100,
                maintenance: false,
                interface: "eth0".into(),
                virtual_router_id: 51,
                vips: vec!["192.0.2.10/32".into(), "192.0.2.11/24".into()],
                vip_interfaces: vec!["eth0".into(), "eth1".into()],
                counters: VrrpCounters {
                    advert_sent: 7,
                    become_master: 1,
                    ..Default::default()
                },
                master_seen: String::new(),
            }],
            virtual_servers: vec![VsStatus {
                name: "192.0.2.10:80".into(),
                quorum_up: true,
                real_servers: vec![RsStatus {
                    address: "198.51.100.2:80".into(),
                    alive: false,
                    weight: 3,
                    wanted_weight: 3,
                    drained: false,
                    weight_override: -1,
                    last_check: String::new(),
                    last_latency_ms: 0.0,
                }],
            }],
            vrrp_drops: vec![("unknown_vrid".into(), 4)],
            checks: vec![CheckKindStats {
                kind: "TCP_CHECK".into(),
                checks: 3,
                failures: 1,
                buckets: vec![1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                latency_sum: 9.5,
            }],
            ipvs: Vec::new(),
        }
    }

    #[test]
    fn the_exposition_carries_exporter_names_and_kad_metrics() {
        let children = [ChildInfo {
            name: "vrrp",
            up: true,
            restarts: 2,
        }];
        let text = render(&sample(), &children);
        for line in [
            "keepalived_up 1",
            r#"keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="51",ip_address="192.0.2.10/32"} 2"#,
            r#"keepalived_vrrp_state{iname="VI_1",intf="eth1",vrid="51",ip_address="192.0.2.11/24"} 2"#,
            r#"keepalived_advertisements_sent_total{iname="VI_1",intf="eth0",vrid="51",state="MASTER"} 7"#,
            r#"keepalived_become_master_total{iname="VI_1",intf="eth0",vrid="51",state="MASTER"} 1"#,
            r#"kad_real_server_up{virtual_server="192.0.2.10:80",real_server="198.51.100.2:80"} 0"#,
            r#"kad_real_server_weight{virtual_server="192.0.2.10:80",real_server="198.51.100.2:80"} 0"#,
            r#"kad_vrrp_dropped_packets_total{reason="unknown_vrid"} 4"#,
            r#"kad_check_duration_seconds_bucket{kind="TCP_CHECK",le="0.001"} 1"#,
            r#"kad_check_duration_seconds_bucket{kind="TCP_CHECK",le="0.005"} 2"#,
            r#"kad_check_duration_seconds_bucket{kind="TCP_CHECK",le="5"} 2"#,
            r#"kad_check_duration_seconds_bucket{kind="TCP_CHECK",le="+Inf"} 3"#,
            r#"kad_check_duration_seconds_sum{kind="TCP_CHECK"} 9.5"#,
            r#"kad_check_duration_seconds_count{kind="TCP_CHECK"} 3"#,
            r#"kad_check_failures_total{kind="TCP_CHECK"} 1"#,
            r#"kad_child_restarts_total{child="vrrp"} 2"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        // Each family is announced once, before its samples.
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        let mut unique = types.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(types.len(), unique.len());
    }

    #[test]
    fn states_follow_keepalived_exporter() {
        let n: Vec<u8> = ["INIT", "BACKUP", "MASTER", "FAULT", "STOP"]
            .iter()
            .map(|s| state_number(s))
            .collect();
        assert_eq!(n, [0, 1, 2, 3, 0]);
    }
}
