//! Command-line flags: every option of keepalived 2.2.7's command line, named as keepalived
//! names them, plus kad's own long options. What each keepalived option means to kad (and the
//! ones kad accepts but ignores) is in [`crate::compat`].

use std::path::PathBuf;

use clap::Parser;

/// kad: a keepalived-compatible VRRP and LVS health-check daemon.
#[derive(Debug, Parser)]
#[command(
    name = "kad",
    version,
    about,
    disable_version_flag = true,
    args_override_self = true
)]
pub struct Cli {
    /// Configuration file (default: /etc/kad/kad.conf if present, else /etc/keepalived/keepalived.conf).
    #[arg(short = 'f', long = "use-file", value_name = "FILE")]
    pub use_file: Option<PathBuf>,
    /// Run only the VRRP child.
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,
    /// Run only the checker child.
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,
    /// Do not run the BFD child (kad has none: always true).
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// Do not daemonize.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Log to the console (stderr) as well as syslog.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log messages.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Syslog facility: 0-7 or local0-local7 (localN), user or daemon (the default).
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY")]
    pub log_facility_arg: Option<String>,
    /// The facility resolved from `-S` (localN as N, [`kad_core::logging::FACILITY_USER`]).
    #[arg(skip)]
    pub log_facility: Option<u8>,
    /// Do not log to syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// File creation mask (octal) for the files kad creates.
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    /// Release the VIPs on a signal-driven transition (ignored by kad).
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// Keep the VRRP VIPs and routes at stop (ignored by kad).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// Keep the IPVS table at stop (ignored by kad).
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// Check the configuration and exit (0: valid, 5: errors); with `=FILE` the report goes to FILE.
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,
    /// Parent pidfile.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// VRRP child pidfile.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid_file: Option<PathBuf>,
    /// Checker child pidfile.
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid_file: Option<PathBuf>,
    /// BFD child pidfile (ignored: kad has no BFD child).
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid_file: Option<PathBuf>,
    /// Log the parsed configuration once at start, then run.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// kad extension: print the parsed, normalized configuration as JSON and exit.
    #[arg(long = "dump-json")]
    pub dump_json: bool,
    /// Do not respawn children that die.
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Log address changes netlink reports (ignored by kad).
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    /// SNMP subsystem (ignored: kad has no SNMP).
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,
    /// SNMP agent socket (ignored: kad has no SNMP).
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<String>,
    /// Network namespace to run in (ignored: kad runs where it is started).
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// Core dumps on a crash (ignored by kad).
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,
    /// Core dump pattern (ignored by kad).
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATTERN", num_args = 0..=1, default_missing_value = "")]
    pub core_dump_pattern: Option<String>,
    /// Refuse to start (and fail `-t`) if an included configuration file is missing.
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// Run every child even without configuration for it (ignored by kad).
    #[arg(long = "all")]
    pub all: bool,
    /// Config id compared with `@ID` lines (default: the host name up to its first dot).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// Print the number of the signal for a keepalived signal function and exit
    /// (STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON).
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Print the version and exit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// kad extension: print the kernel's IPVS table as kad reads it, in `ipvsadm -Ln`'s
    /// layout, and exit (1 if IPVS cannot be reached).
    #[arg(long = "list-ipvs")]
    pub list_ipvs: bool,
    /// kad extension: a child that dies after running less than this many seconds is respawned
    /// with keepalived's growing delay (0 s, then 1 s doubling to 60 s); default 60.
    #[arg(long = "respawn-window", value_name = "SECS", default_value_t = crate::daemon::respawn::DEFAULT_WINDOW.as_secs_f64())]
    pub respawn_window: f64,
    /// kad extension: the control socket `kadctl` talks to (mode 0660, owner root).
    #[arg(long = "control-socket", value_name = "PATH", default_value = crate::daemon::control::DEFAULT_PATH)]
    pub control_socket: PathBuf,
    /// kad extension: the group that owns the control socket (its members may use kadctl).
    #[arg(long = "control-socket-group", value_name = "GROUP")]
    pub control_socket_group: Option<String>,
    /// kad extension: no control socket.
    #[arg(long = "no-control-socket")]
    pub no_control_socket: bool,
    /// kad extension: serve Prometheus metrics on http://ADDR:PORT/metrics (the parent
    /// serves it; the address is the access control). Off by default.
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Internal: run as the given child (set by the parent when it starts a child).
    #[arg(long = "child", hide = true, value_name = "vrrp|checker")]
    pub child: Option<String>,
    /// Internal: the child's pidfile.
    #[arg(long = "child-pidfile", hide = true)]
    pub child_pidfile: Option<PathBuf>,
    /// Internal: this checker replaces one the parent restarted for a reload (no `lvs_flush`).
    #[arg(long = "child-reload-restart", hide = true)]
    pub child_reload_restart: bool,
    /// Stray arguments: keepalived reports them and goes on; so does kad.
    #[arg(hide = true)]
    pub stray: Vec<String>,
    /// Started under the name `keepalived` (argv[0]): keepalived's default paths and banner.
    #[arg(skip)]
    pub as_keepalived: bool,
}

impl Cli {
    /// The configuration file to read: `-f`, else (as `keepalived`) keepalived's path, else
    /// kad's own path if present, else keepalived's.
    pub fn config_path(&self) -> PathBuf {
        if let Some(p) = &self.use_file {
            return p.clone();
        }
        let own = PathBuf::from("/etc/kad/kad.conf");
        if !self.as_keepalived && own.exists() {
            own
        } else {
            PathBuf::from(crate::compat::KEEPALIVED_CONF)
        }
    }
}
