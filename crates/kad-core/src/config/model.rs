//! The typed configuration model: what a keepalived.conf means, after parsing and validation.
//!
//! Every value is resolved: defaults are filled in and inherited settings (virtual server →
//! real server → checker) are copied down, so consumers never re-apply keepalived's rules.
//! Durations are [`std::time::Duration`]; addresses are [`std::net::IpAddr`].
//!
//! The per-real-server types are kept compact (`Box<str>` for strings set once, rarely used
//! payloads boxed) because a large director has tens of thousands of real servers and every
//! process holds the model.

use std::net::IpAddr;
use std::time::Duration;

use super::route::{Route, Rule};
use serde::{Deserialize, Serialize};

mod lvs;
pub use lvs::*;

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Config {
    /// `global_defs`.
    pub global: GlobalDefs,
    /// `vrrp_script` blocks, in file order.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `vrrp_sync_group` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// `vrrp_instance` blocks.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `virtual_server_group` blocks.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server` blocks.
    pub virtual_servers: Vec<VirtualServer>,
    /// The top-level `SSL { … }` block used by SSL_GET.
    pub ssl: Option<SslContext>,
    /// `track_file` / `vrrp_track_file` blocks (used by FILE_CHECK).
    pub track_files: Vec<TrackFile>,
    /// `static_ipaddress`: added at start, removed at stop (`dev` required).
    #[serde(default)]
    pub static_ipaddress: Vec<VirtualAddress>,
    /// `static_routes`: added at start, removed at stop.
    #[serde(default)]
    pub static_routes: Vec<Route>,
    /// `static_rules`: added at start, removed at stop.
    #[serde(default)]
    pub static_rules: Vec<Rule>,
    /// `vrrp_track_process` blocks.
    #[serde(default)]
    pub track_processes: Vec<TrackProcess>,
}

pub use super::track_process::{ParamMatch, TrackProcess};

/// `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFile {
    /// Block name.
    pub name: String,
    /// The file holding a number.
    pub file: String,
    /// Multiplier of the value (default 1).
    pub weight: i64,
    /// `reverse`: the value counts negatively.
    pub reverse: bool,
    /// `init_file`: the value to write at start (with `overwrite`, even if the file exists).
    pub init: Option<(i64, bool)>,
}

/// A script to run with optional user and group (`notify_master "/x arg" user group`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    /// The command line as written (split into arguments when run, keepalived's rules).
    pub command: String,
    /// User to run as (default: global `script_user`).
    pub user: Option<String>,
    /// Group to run as (default: the user's group).
    pub group: Option<String>,
}

/// `smtp_server HOST [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpServer {
    /// Host name or address.
    pub host: String,
    /// Port (default 25).
    pub port: u16,
}

/// `global_defs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalDefs {
    /// `router_id` (default: the host name).
    pub router_id: Option<String>,
    /// `notification_email { … }`.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server`.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` default for everything.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`.
    pub smtp_alert_checker: Option<bool>,
    /// `no_email_faults`.
    pub no_email_faults: bool,
    /// `checker_log_all_failures`.
    pub checker_log_all_failures: bool,
    /// `default_interface`.
    pub default_interface: Option<String>,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub vrrp_mcast_group4: IpAddr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub vrrp_mcast_group6: IpAddr,
    /// `vrrp_version` (default 2).
    pub vrrp_version: u8,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_garp_master_delay` (default 5 s).
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat` (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_lower_prio_delay` (default: the master delay).
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    /// `vrrp_garp_lower_prio_repeat` (default: the master repeat).
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_garp_master_refresh` (default 0: no refresh).
    pub vrrp_garp_master_refresh: Duration,
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_interval` between GARPs on an interface (default 0).
    pub vrrp_garp_interval: Duration,
    /// `vrrp_gna_interval` between NAs on an interface (default 0).
    pub vrrp_gna_interval: Duration,
    /// `vrrp_min_garp`: one GARP/NA, no second burst.
    pub vrrp_min_garp: bool,
    /// `vrrp_startup_delay`.
    pub vrrp_startup_delay: Duration,
    /// `vrrp_lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: bool,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<String>,
    /// Group from `script_user`.
    pub script_group: Option<String>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `lvs_flush`.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop` (without `VS`: one IPVS flush at stop).
    pub lvs_flush_on_stop: bool,
    /// `lvs_flush_on_stop VS`: each service removed, its destinations with it.
    pub lvs_flush_on_stop_vs: bool,
    /// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`.
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_sync_daemon IFACE [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]`.
    #[serde(default)]
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `kad_lvs_repair_interval SECS` (kad only): how often the IPVS table is read back and
    /// kad's services repaired (default 10 s; 0: never, SIGUSR1 still does).
    #[serde(default)]
    pub lvs_repair_interval: Duration,
    /// `child_wait_time` (default 5 s).
    pub child_wait_time: Duration,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: bool,
    /// `max_auto_priority` (`None`: not set).
    pub max_auto_priority: Option<i32>,
    /// `notify_fifo[_script]`, `vrrp_notify_fifo[_script]`, `lvs_notify_fifo[_script]`.
    #[serde(default)]
    pub fifos: NotifyFifos,
}

/// One notify FIFO: `*_notify_fifo PATH [user [group]]` and its `*_script`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFifo {
    /// The FIFO's path (created if missing).
    pub path: Option<String>,
    /// The owner given to a FIFO kad creates: `USER` (`None`: root).
    #[serde(default)]
    pub user: Option<String>,
    /// Its group: `GROUP` (`None`: the user's primary group).
    #[serde(default)]
    pub group: Option<String>,
    /// Run once at start with the path as its last argument (the reader).
    pub script: Option<Script>,
}

/// The three notify FIFOs of global_defs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFifos {
    /// `notify_fifo`: VRRP and LVS lines.
    pub all: NotifyFifo,
    /// `vrrp_notify_fifo`: VRRP lines.
    pub vrrp: NotifyFifo,
    /// `lvs_notify_fifo`: LVS lines.
    pub lvs: NotifyFifo,
}

impl GlobalDefs {
    /// `router_id`, else the host name up to its first dot (keepalived's default).
    pub fn router_id_or_host(&self) -> String {
        self.router_id
            .clone()
            .unwrap_or_else(super::default_config_id)
    }
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            checker_log_all_failures: false,
            default_interface: None,
            vrrp_mcast_group4: IpAddr::from([224, 0, 0, 18]),
            vrrp_mcast_group6: IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]),
            vrrp_version: 2,
            vrrp_strict: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_min_garp: false,
            vrrp_startup_delay: Duration::ZERO,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            script_user: None,
            script_group: None,
            enable_script_security: false,
            lvs_flush: false,
            lvs_flush_on_stop: false,
            lvs_flush_on_stop_vs: false,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_sync_daemon: None,
            lvs_repair_interval: Duration::from_secs(10),
            child_wait_time: Duration::from_secs(5),
            dynamic_interfaces: false,
            max_auto_priority: None,
            fifos: NotifyFifos::default(),
        }
    }
}

/// `vrrp_script NAME { … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpScript {
    /// The name instances refer to.
    pub name: String,
    /// `script`.
    pub script: Script,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: the interval).
    pub timeout: Duration,
    /// `weight` (default 0: failure means FAULT).
    pub weight: i32,
    /// `weight … reverse`.
    pub weight_reverse: bool,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
}

/// An item of `track_interface`, `track_script` (name plus optional weight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    /// Interface or script name.
    pub name: String,
    /// `weight N` (`None`: the script's own weight, or FAULT for interfaces).
    pub weight: Option<i32>,
    /// `reverse`.
    pub reverse: bool,
}

/// Notification scripts shared by instances and sync groups.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<Script>,
    /// `notify_backup`.
    pub backup: Option<Script>,
    /// `notify_fault`.
    pub fault: Option<Script>,
    /// `notify_stop`.
    pub stop: Option<Script>,
    /// `notify` (any transition; keepalived appends type, name, state, priority).
    pub any: Option<Script>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<Script>,
}

/// `vrrp_sync_group NAME { … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncGroup {
    /// Group name.
    pub name: String,
    /// `group { … }`: member instance names.
    pub members: Vec<String>,
    /// `track_interface`.
    pub track_interface: Vec<Tracked>,
    /// `track_script`.
    pub track_script: Vec<Tracked>,
    /// `track_process`.
    #[serde(default)]
    pub track_process: Vec<Tracked>,
    /// Notification scripts.
    pub notify: Notify,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
}

/// Initial `state` of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialState {
    /// `state MASTER`.
    Master,
    /// `state BACKUP` (or unset).
    Backup,
}

/// `authentication { auth_type … }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    /// `PASS`: simple password (VRRPv2 only).
    Pass,
    /// `AH`: IPsec AH (not supported by kad; parsed and reported).
    Ah,
}

/// `authentication` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// `auth_type`.
    pub auth_type: AuthType,
    /// `auth_pass`, truncated to 8 bytes as keepalived does.
    pub auth_pass: String,
}

/// An item of `virtual_ipaddress` / `virtual_ipaddress_excluded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (default /32 or /128).
    pub prefix: u8,
    /// `brd`.
    pub broadcast: Option<IpAddr>,
    /// `dev` (default: the instance's interface).
    pub dev: Option<String>,
    /// `scope`, resolved when parsed to the kernel's number (global 0, site 200, link 253,
    /// host 254, nowhere 255, or the number given).
    pub scope: Option<u8>,
    /// `label`.
    pub label: Option<String>,
    /// `peer`.
    pub peer: Option<IpAddr>,
    /// `no_track`.
    pub no_track: bool,
    /// `home`, `-nodad`, `noprefixroute`, `mngtmpaddr`, `autojoin`: kept for netlink flags.
    pub flags: Vec<String>,
}

impl VirtualAddress {
    /// The scope as `ip addr` shows it (a name where the number has one).
    pub fn scope_name(&self) -> String {
        match self.scope.unwrap_or(0) {
            0 => "global".into(),
            200 => "site".into(),
            253 => "link".into(),
            254 => "host".into(),
            255 => "nowhere".into(),
            n => n.to_string(),
        }
    }
}

/// An item of `unicast_peer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: IpAddr,
    /// `min_ttl`.
    pub min_ttl: Option<u8>,
    /// `max_ttl`.
    pub max_ttl: Option<u8>,
}

/// `use_vmac [NAME] [MAC]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vmac {
    /// Interface name (default `vrrp.VRID`).
    pub name: Option<String>,
    /// Explicit MAC address.
    pub mac: Option<String>,
}

/// GARP / NA timing for an instance (resolved from the instance and the globals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GarpTiming {
    /// Delay before the second burst after becoming master (0: none).
    pub master_delay: Duration,
    /// GARPs per burst.
    pub master_repeat: u32,
    /// Delay of the burst after a lower-priority advert.
    pub lower_prio_delay: Duration,
    /// GARPs per lower-priority burst.
    pub lower_prio_repeat: u32,
    /// Periodic refresh while master (0: off).
    pub master_refresh: Duration,
    /// GARPs per refresh.
    pub master_refresh_repeat: u32,
}

/// `vrrp_instance NAME { … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstance {
    /// Instance name.
    pub name: String,
    /// `state`.
    pub initial_state: InitialState,
    /// `interface`.
    pub interface: String,
    /// `virtual_router_id` (1..=255).
    pub vrid: u8,
    /// `priority` (1..=255, default 100; 255 means address owner).
    pub priority: u8,
    /// `advert_int` (default 1 s; v3 resolution is centiseconds).
    pub advert_int: Duration,
    /// `version` (default the global `vrrp_version`).
    pub version: u8,
    /// True when the instance's addresses are IPv6.
    pub ipv6: bool,
    /// `nopreempt` (false by default: preempt).
    pub nopreempt: bool,
    /// `preempt_delay`.
    pub preempt_delay: Duration,
    /// `authentication`.
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress`.
    pub virtual_ipaddress: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded`.
    pub virtual_ipaddress_excluded: Vec<VirtualAddress>,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<IpAddr>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer`.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_ttl`.
    pub unicast_ttl: Option<u8>,
    /// `mcast_dst_ip` (default the global group of the family).
    pub mcast_dst_ip: Option<IpAddr>,
    /// `use_vmac`.
    pub use_vmac: Option<Vmac>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `track_interface`.
    pub track_interface: Vec<Tracked>,
    /// `track_script`.
    pub track_script: Vec<Tracked>,
    /// `track_process`.
    #[serde(default)]
    pub track_process: Vec<Tracked>,
    /// Notification scripts.
    pub notify: Notify,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `accept` / `no_accept`.
    pub accept: Option<bool>,
    /// `strict_mode`.
    pub strict_mode: Option<bool>,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// GARP timing.
    pub garp: GarpTiming,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// `down_timer_adverts` (default 3).
    pub down_timer_adverts: u32,
    /// `virtual_routes`: added on becoming MASTER, removed on leaving it.
    pub virtual_routes: Vec<Route>,
    /// `virtual_rules`: added on becoming MASTER, removed on leaving it.
    pub virtual_rules: Vec<Rule>,
}

impl VrrpInstance {
    /// How many `virtual_ipaddress` one advert carries on a link of `mtu` bytes, by the rule
    /// measured on keepalived 2.2.7: the one-byte count allows 255, and 14 (Ethernet) + the
    /// IP header (20 / 40) + AH (24, IPv4 `auth_type AH`) + the VRRP header (8) + v2's
    /// authentication data (8) + the addresses must fit in `mtu`. keepalived (and kad) move
    /// the rest to `virtual_ipaddress_excluded`: installed as MASTER, never advertised.
    pub fn advert_capacity(&self, mtu: u32) -> usize {
        let (ip, per) = if self.ipv6 { (40, 16) } else { (20, 4) };
        let ah = match &self.authentication {
            Some(a) if a.auth_type == AuthType::Ah && self.version == 2 && !self.ipv6 => 24,
            _ => 0,
        };
        let v2_auth = if self.version == 2 { 8 } else { 0 };
        let room = usize::try_from(mtu)
            .unwrap_or(usize::MAX)
            .saturating_sub(14 + ip + ah + 8 + v2_auth);
        (room / per).min(255)
    }
}
