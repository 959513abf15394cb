//! The LVS half of the model: virtual servers, real servers, checkers, groups, IPVS settings.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::*;

/// `lvs_timeouts`: IPVS connection timeouts in seconds (`None`: left as the kernel has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LvsTimeouts {
    /// `tcp`: established TCP connections.
    pub tcp: Option<u32>,
    /// `tcpfin`: TCP connections after a FIN.
    pub tcpfin: Option<u32>,
    /// `udp`: UDP.
    pub udp: Option<u32>,
}

/// `lvs_sync_daemon`: the kernel's IPVS connection-sync daemon (`None` fields: the kernel's
/// defaults, except the sync id: the instance's VRID, or 0 without an instance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsSyncDaemon {
    /// Interface the sync messages use.
    pub interface: String,
    /// The VRRP instance whose state decides master or backup (`None`: both run).
    pub instance: Option<String>,
    /// `id` (0..255).
    pub id: Option<u8>,
    /// `maxlen` (1..65507): the largest sync message payload.
    pub maxlen: Option<u16>,
    /// `port` (1..65535, kernel default 8848).
    pub port: Option<u16>,
    /// `ttl` (1..255, kernel default 1).
    pub ttl: Option<u8>,
    /// `group`: multicast group (kernel default 224.0.0.81).
    pub group: Option<IpAddr>,
}

/// An entry of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupEntry {
    /// `ADDR`, `ADDR-V`, `ADDR-ADDR` or `ADDR/nn` and `[PORT]`: the addresses `first..=last`
    /// (see [`crate::config::values::address_range`]).
    Range {
        /// First address.
        first: IpAddr,
        /// Last address, of the same family, not below `first` (equal for a single address).
        last: IpAddr,
        /// Port (`None` for a persistent service on all ports).
        port: Option<u16>,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// Mark.
        mark: u32,
        /// True for `inet6`.
        ipv6: bool,
    },
}

/// `virtual_server_group NAME { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerGroup {
    /// Group name.
    pub name: String,
    /// Entries in file order.
    pub entries: Vec<GroupEntry>,
}

/// What a `virtual_server` line names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceKey {
    /// `virtual_server ADDR [PORT]`.
    Addr {
        /// Address.
        addr: IpAddr,
        /// Port (`None`: all ports, persistent service).
        port: Option<u16>,
    },
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

/// Transport protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// TCP (default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// Forwarding method (`lb_kind` / `lvs_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LvsMethod {
    /// Masquerading.
    Nat,
    /// Direct routing.
    Dr,
    /// IP-in-IP tunnelling.
    Tun,
}

/// Timing of a checker, resolved through virtual server → real server → checker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckTiming {
    /// `delay_loop` (default 60 s).
    pub delay_loop: Duration,
    /// `connect_timeout` (default 5 s).
    pub connect_timeout: Duration,
    /// `retry` / `nb_get_retry` (default 1).
    pub retry: u32,
    /// `delay_before_retry` (default 1 s).
    pub delay_before_retry: Duration,
    /// `warmup` (default: spread over delay_loop).
    pub warmup: Option<Duration>,
    /// `alpha`: start in the failed state.
    pub alpha: bool,
}

/// Where a checker connects (resolved: defaults to the real server's address and port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTarget {
    /// `connect_ip` or the real server's address.
    pub addr: IpAddr,
    /// `connect_port` or the real server's port.
    pub port: Option<u16>,
    /// `bindto`.
    pub bind_addr: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<Box<str>>,
    /// `fwmark` on check packets.
    pub fwmark: Option<u32>,
}

/// A `url { … }` of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlCheck {
    /// `path`.
    pub path: Box<str>,
    /// `digest`: MD5 of the body in lower-case hex.
    pub digest: Option<Box<str>>,
    /// `status_code`: accepted ranges (default 200-299 when no digest is given).
    pub status_codes: Box<[(u16, u16)]>,
    /// `virtualhost` for this URL.
    pub virtualhost: Option<Box<str>>,
    /// `regex` and its options (`None`: the body is not searched).
    pub regex: Option<Box<UrlRegex>>,
}

/// `regex` of a url: the body must (or with `regex_no_match`, must not) match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlRegex {
    /// The pattern for the regex crate, `regex_options` as leading inline flags (`(?i)` …).
    pub pattern: Box<str>,
    /// `regex_no_match`.
    pub no_match: bool,
    /// `regex_min_offset`: body bytes skipped before searching.
    pub min_offset: u32,
    /// `regex_max_offset`: the latest body offset a match may start at.
    pub max_offset: Option<u32>,
}

/// `http_protocol` of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpVersion {
    /// HTTP/1.0 (keepalived's default).
    Http10,
    /// HTTP/1.0 with `Connection: close`.
    Http10Close,
    /// HTTP/1.1 (with `Connection: close`).
    Http11,
}

/// What a checker does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckKind {
    /// `TCP_CHECK`.
    Tcp,
    /// `HTTP_GET` (`tls` false) or `SSL_GET` (`tls` true).
    Http {
        /// True for SSL_GET.
        tls: bool,
        /// URLs, all of which must pass.
        urls: Box<[UrlCheck]>,
        /// `virtualhost` (Host header / SNI); falls back to the real and virtual server's.
        virtualhost: Option<Box<str>>,
        /// `http_protocol` (default 1.0).
        http_protocol: HttpVersion,
        /// `enable_sni`.
        enable_sni: bool,
        /// `fast_recovery`.
        fast_recovery: bool,
    },
    /// `MISC_CHECK`.
    Misc {
        /// `misc_path` with user/group.
        script: Box<Script>,
        /// `misc_timeout` (default: delay_loop).
        timeout: Option<Duration>,
        /// `misc_dynamic`.
        dynamic: bool,
    },
    /// `PING_CHECK`.
    Ping,
    /// `UDP_CHECK`.
    Udp(Box<UdpCheck>),
    /// `SMTP_CHECK`.
    Smtp {
        /// `helo_name` (default: the host name).
        helo_name: Option<String>,
    },
    /// `DNS_CHECK`.
    Dns {
        /// `type` (default SOA).
        query_type: Box<str>,
        /// `name` (default `.`).
        name: Box<str>,
    },
    /// `FILE_CHECK`.
    File {
        /// `track_file` name.
        track_file: Box<str>,
        /// `dynamic`.
        dynamic: bool,
        /// `weight`.
        weight: Option<i64>,
        /// `weight … reverse`.
        reverse: bool,
    },
}

/// `UDP_CHECK` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpCheck {
    /// `payload` bytes.
    pub payload: Vec<u8>,
    /// `require_reply [HEX]`: `Some(empty)` means any reply.
    pub require_reply: Option<Vec<u8>>,
    /// `min_reply_length`.
    pub min_reply_length: u32,
    /// `max_reply_length` (default 255).
    pub max_reply_length: u32,
}

/// One checker of a real server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checker {
    /// What it checks.
    pub kind: CheckKind,
    /// Where it connects.
    pub target: CheckTarget,
    /// When it runs.
    pub timing: CheckTiming,
    /// `log_all_failures`.
    pub log_all_failures: bool,
}

/// `real_server ADDR [PORT] { … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServer {
    /// Address.
    pub addr: IpAddr,
    /// Port (defaults to the virtual server's).
    pub port: Option<u16>,
    /// `weight` (default 1).
    pub weight: i32,
    /// `lvs_method` (default the virtual server's).
    pub lvs_method: LvsMethod,
    /// `inhibit_on_failure`.
    pub inhibit_on_failure: bool,
    /// `notify_up` (boxed: most real servers have none, and there may be tens of thousands).
    pub notify_up: Option<Box<Script>>,
    /// `notify_down`.
    pub notify_down: Option<Box<Script>>,
    /// `uthreshold`.
    pub upper_threshold: Option<u32>,
    /// `lthreshold`.
    pub lower_threshold: Option<u32>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `virtualhost`.
    pub virtualhost: Option<Box<str>>,
    /// Checkers; none means always up.
    pub checkers: Vec<Checker>,
}

/// `sorry_server ADDR [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServer {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: Option<u16>,
    /// `sorry_server_lvs_method` (default the virtual server's).
    pub lvs_method: LvsMethod,
    /// `sorry_server_inhibit`.
    pub inhibit: bool,
}

/// `virtual_server … { … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServer {
    /// What the service is.
    pub key: ServiceKey,
    /// `protocol` (default TCP).
    pub protocol: Protocol,
    /// `lb_algo` / `lvs_sched` (default wlc).
    pub scheduler: String,
    /// `lb_kind` / `lvs_method` (default NAT).
    pub lvs_method: LvsMethod,
    /// `persistence_timeout` in seconds.
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity` netmask.
    pub persistence_granularity: Option<IpAddr>,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// Scheduler flags: `ops`, `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`, `flag-1..3`.
    pub flags: Vec<String>,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up`.
    pub quorum_up: Option<Box<Script>>,
    /// `quorum_down`.
    pub quorum_down: Option<Box<Script>>,
    /// `sorry_server`.
    pub sorry_server: Option<Box<SorryServer>>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `omega`.
    pub omega: bool,
    /// `ip_family inet6` (or inferred from the address).
    pub ipv6: bool,
    /// Real servers.
    pub real_servers: Vec<RealServer>,
}

/// Top-level `SSL { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SslContext {
    /// `password`.
    pub password: Option<String>,
    /// `ca`.
    pub ca: Option<String>,
    /// `certificate`.
    pub certificate: Option<String>,
    /// `key`.
    pub key: Option<String>,
}
