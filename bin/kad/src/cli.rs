//! Command-line flags, named as keepalived names them.

use std::path::PathBuf;

use clap::Parser;

/// kad: a keepalived-compatible VRRP and LVS health-check daemon.
#[derive(Debug, Parser)]
#[command(name = "kad", version, about, disable_version_flag = true)]
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
    /// Do not daemonize.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Log to the console (stderr) as well as syslog.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log messages.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Syslog facility local0..local7 (0..7).
    #[arg(short = 'S', long = "log-facility", value_name = "0-7", value_parser = clap::value_parser!(u8).range(0..=7))]
    pub log_facility: Option<u8>,
    /// Check the configuration and exit (0: valid, 5: errors).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,
    /// Parent pidfile.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// VRRP child pidfile.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid_file: Option<PathBuf>,
    /// Checker child pidfile.
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid_file: Option<PathBuf>,
    /// Print the parsed, normalized configuration (JSON) and exit.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// Do not respawn children that die.
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Config id compared with `@ID` lines (default: the host name up to its first dot).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
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
    /// Internal: run as the given child (set by the parent when it starts a child).
    #[arg(long = "child", hide = true, value_name = "vrrp|checker")]
    pub child: Option<String>,
    /// Internal: the child's pidfile.
    #[arg(long = "child-pidfile", hide = true)]
    pub child_pidfile: Option<PathBuf>,
}

impl Cli {
    /// The configuration file to read: `-f`, else kad's own path, else keepalived's.
    pub fn config_path(&self) -> PathBuf {
        if let Some(p) = &self.use_file {
            return p.clone();
        }
        let own = PathBuf::from("/etc/kad/kad.conf");
        if own.exists() {
            own
        } else {
            PathBuf::from("/etc/keepalived/keepalived.conf")
        }
    }
}
