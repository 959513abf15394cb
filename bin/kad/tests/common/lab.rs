//! The VRRP lab: namespaces `{p}sw` (a bridge), `{p}1`, `{p}2` (nodes 192.0.2.11/.12,
//! 2001:db8::11/.12) and `{p}c` (a client, .2) joined by veth pairs, with kad or keepalived
//! 2.2.7 started on a node, and the configs the VRRP tests share.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{private_tmp_run, sh, sh_out, wait_until};

pub const VIP: &str = "192.0.2.100";
pub const VIP6: &str = "2001:db8::100";

/// Namespaces `{p}sw` (bridge), `{p}1`, `{p}2` (nodes 192.0.2.11/.12) and `{p}c` (client .2).
pub struct Lab {
    /// The namespace name prefix.
    pub p: String,
    /// The lab's work dir (configs, logs, scripts).
    pub dir: PathBuf,
}

impl Lab {
    pub fn up() -> Lab {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = format!(
            "kv{}x{}",
            std::process::id() % 10000,
            N.fetch_add(1, Ordering::Relaxed)
        );
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("vrrp-{p}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let lab = Lab { p: p.clone(), dir };
        sh(&format!("ip netns add {p}sw && ip -n {p}sw link add br0 type bridge && ip -n {p}sw link set br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 && ip -n {p}sw link set br0 up && ip netns exec {p}sw sysctl -qw net.ipv6.conf.all.disable_ipv6=1"));
        for (n, ip, ip6) in [
            ("1", "192.0.2.11", "2001:db8::11"),
            ("2", "192.0.2.12", "2001:db8::12"),
            ("c", "192.0.2.2", "2001:db8::2"),
        ] {
            // DAD off before the link comes up, so link-local and VIPs are usable at once.
            sh(&format!(
                "ip netns add {p}{n} && ip -n {p}sw link add v{n} type veth peer name eth0 netns {p}{n} && ip -n {p}sw link set v{n} master br0 up && ip netns exec {p}{n} sh -c 'sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0' && ip -n {p}{n} link set lo up && ip -n {p}{n} link set eth0 up && ip -n {p}{n} addr add {ip}/24 dev eth0 && ip -n {p}{n} addr add {ip6}/64 dev eth0 nodad"
            ));
        }
        lab
    }

    /// Adds node 3 (192.0.2.13) on the same bridge.
    pub fn add_node3(&self) {
        let p = &self.p;
        sh(&format!(
            "ip netns add {p}3 && ip -n {p}sw link add v3 type veth peer name eth0 netns {p}3 && ip -n {p}sw link set v3 master br0 up && ip netns exec {p}3 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && ip -n {p}3 link set lo up && ip -n {p}3 link set eth0 up && ip -n {p}3 addr add 192.0.2.13/24 dev eth0"
        ));
    }

    /// Adds a router `{p}r` (eth0 192.0.2.1 on the bridge, eth1 198.51.100.1, forwarding) and
    /// behind it node `far` (198.51.100.2, default route via the router); nodes 1, 2, 3 and
    /// the client reach 198.51.100.0/24 through it. Packets between the two subnets cross one
    /// hop (their TTL goes down by one).
    pub fn add_router(&self) {
        let p = &self.p;
        sh(&format!(
            "ip netns add {p}r && ip -n {p}sw link add vr type veth peer name eth0 netns {p}r && ip -n {p}sw link set vr master br0 up && ip netns add {p}far && ip -n {p}r link add eth1 type veth peer name eth0 netns {p}far && ip netns exec {p}r sysctl -qw net.ipv4.ip_forward=1 && ip -n {p}r link set lo up && ip -n {p}r link set eth0 up && ip -n {p}r link set eth1 up && ip -n {p}r addr add 192.0.2.1/24 dev eth0 && ip -n {p}r addr add 198.51.100.1/24 dev eth1 && ip -n {p}far link set lo up && ip -n {p}far link set eth0 up && ip -n {p}far addr add 198.51.100.2/24 dev eth0 && ip -n {p}far route add default via 198.51.100.1"
        ));
        for n in ["1", "2", "3", "c"] {
            if std::path::Path::new(&format!("/run/netns/{p}{n}")).exists() {
                sh(&format!(
                    "ip -n {p}{n} route add 198.51.100.0/24 via 192.0.2.1"
                ));
            }
        }
    }

    pub fn ns(&self, n: &str) -> String {
        format!("{}{n}", self.p)
    }

    /// True if node `n` holds `addr` on `dev` (on any interface with `None`).
    pub fn holds(&self, n: &str, addr: &str, dev: Option<&str>) -> bool {
        let (family, inet) = if addr.contains(':') {
            ("-6", "inet6")
        } else {
            ("-4", "inet")
        };
        let dev = dev.map(|d| format!(" dev {d}")).unwrap_or_default();
        sh_out(&format!("ip -n {} {family} addr show{dev}", self.ns(n)))
            .contains(&format!("{inet} {addr}/"))
    }

    pub fn has_vip(&self, n: &str) -> bool {
        self.holds(n, VIP, Some("eth0"))
    }

    pub fn has_vip6(&self, n: &str) -> bool {
        self.holds(n, VIP6, Some("eth0"))
    }

    /// Waits until node `n` is master (holds the VIP on eth0); returns how long that took.
    pub fn wait_master(&self, n: &str, timeout: Duration) -> Duration {
        wait_until(&format!("node {n} master"), timeout, || self.has_vip(n))
    }

    /// Waits until node `n` no longer holds the VIP on eth0; returns how long that took.
    pub fn wait_not_master(&self, n: &str, timeout: Duration) -> Duration {
        wait_until(&format!("node {n} without the VIP"), timeout, || {
            !self.has_vip(n)
        })
    }

    /// Waits until node `n` is master over IPv6 (holds the IPv6 VIP on eth0).
    pub fn wait_master6(&self, n: &str, timeout: Duration) -> Duration {
        wait_until(&format!("node {n} master (IPv6)"), timeout, || {
            self.has_vip6(n)
        })
    }

    pub fn mac(&self, n: &str) -> String {
        sh_out(&format!(
            "cat /sys/class/net/eth0/address 2>/dev/null; ip -n {} link show eth0",
            self.ns(n)
        ))
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap_or_default()
        .to_string()
    }

    /// Detaches node `n`'s switch port from the bridge (carrier stays up: silent isolation).
    pub fn cut(&self, n: &str) {
        sh(&format!("ip -n {}sw link set v{n} nomaster", self.p));
    }

    /// Pulls node `n`'s cable: the switch port goes down, the node sees NO-CARRIER.
    pub fn unplug(&self, n: &str) {
        sh(&format!("ip -n {}sw link set v{n} down", self.p));
    }

    /// Plugs it back.
    pub fn plug(&self, n: &str) {
        sh(&format!("ip -n {}sw link set v{n} up", self.p));
    }

    /// Re-attaches node `n`'s switch port.
    pub fn heal(&self, n: &str) {
        sh(&format!("ip -n {}sw link set v{n} master br0", self.p));
    }

    pub fn client_neigh(&self) -> String {
        sh_out(&format!("ip -n {} neigh show {VIP}", self.ns("c")))
    }

    /// A script that appends `[uid ]args` to a file anyone may write: (output, script).
    pub fn recording_script(&self, name: &str, with_uid: bool) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let out = self.dir.join(format!("{name}.out"));
        std::fs::write(&out, "").expect("out");
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let script = self.dir.join(format!("{name}.sh"));
        let uid = if with_uid { "$(id -u) " } else { "" };
        let body = format!("#!/bin/sh\necho \"{uid}$*\" >> {}\n", out.display());
        std::fs::write(&script, body).expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        (out, script)
    }

    pub fn config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("config");
        path
    }

    /// kad on node `n` (its own /tmp and /run), in its own session.
    pub fn kad(&self, n: &str, conf: &PathBuf) -> Node {
        self.kad_with(n, conf, &[])
    }

    /// Like [`Lab::kad`] with extra command-line arguments.
    pub fn kad_with(&self, n: &str, conf: &PathBuf, extra: &[&str]) -> Node {
        let log = self.dir.join(format!(
            "kad-{n}-{}.log",
            Instant::now().elapsed().as_nanos()
        ));
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.ns(n),
            "unshare",
            "--mount",
            "--",
            "sh",
            "-c",
        ])
        .arg(format!("{} && exec \"$0\" \"$@\"", private_tmp_run()))
        .arg(env!("CARGO_BIN_EXE_kad"))
        .args(["-n", "-l", "-f"])
        .arg(conf)
        .args(extra);
        Node::spawn(cmd, log)
    }

    /// keepalived 2.2.7 on node `n`, in its own session.
    pub fn keepalived(&self, n: &str, conf: &PathBuf) -> Node {
        let log = self.dir.join(format!("keepalived-{n}.log"));
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.ns(n),
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
        ])
        .arg(conf)
        .arg("-p")
        .arg(self.dir.join(format!("ka-{n}.pid")))
        .arg("-r")
        .arg(self.dir.join(format!("ka-{n}-vrrp.pid")));
        Node::spawn(cmd, log)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let p = &self.p;
        for n in ["1", "2", "3", "c", "far", "r", "sw"] {
            for pid in sh_out(&format!("ip netns pids {p}{n} 2>/dev/null")).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
            let _ = Command::new("ip")
                .args(["netns", "del", &format!("{p}{n}")])
                .status();
        }
    }
}

/// A daemon started in its own session so a crash can kill the whole group.
pub struct Node {
    /// The process started (`ip netns exec` that became the daemon).
    pub proc: Child,
    /// Its log file (stderr).
    pub log: PathBuf,
}

impl Node {
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Node {
        use std::os::unix::process::CommandExt;
        let file = std::fs::File::create(&log).expect("log");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .process_group(0);
        Node {
            proc: cmd.spawn().expect("spawn"),
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn term(&mut self) {
        // SAFETY: signalling a process this test started.
        unsafe { libc::kill(self.proc.id() as i32, libc::SIGTERM) };
        let _ = self.proc.wait();
    }

    /// A crash: SIGKILL to every process of the daemon's group.
    pub fn crash(&mut self) {
        // SAFETY: signalling the process group this test created.
        unsafe { libc::kill(-(self.proc.id() as i32), libc::SIGKILL) };
        let _ = self.proc.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: as in crash().
        unsafe { libc::kill(-(self.proc.id() as i32), libc::SIGKILL) };
        let _ = self.proc.wait();
    }
}

pub fn instance(priority: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n{extra}    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

pub fn instance6(priority: u8) -> String {
    format!(
        "vrrp_instance VI_6 {{\n    version 3\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP6}/64\n    }}\n}}\n"
    )
}

pub const PASS: &str =
    "    authentication {\n        auth_type PASS\n        auth_pass kad-pass\n    }\n";

pub const AH: &str =
    "    authentication {\n        auth_type AH\n        auth_pass kad-pass\n    }\n";

/// Reads a node's `/tmp/keepalived.stats` (SIGUSR2) and returns the Authentication Errors
/// counters (invalid type, type mismatch, failure).
pub fn auth_counters(node: &Node) -> (u64, u64, u64) {
    let path = PathBuf::from(format!(
        "/proc/{}/root/tmp/keepalived.stats",
        node.proc.id()
    ));
    let _ = std::fs::remove_file(&path);
    // SAFETY: signalling a process this test started.
    unsafe { libc::kill(node.proc.id() as i32, libc::SIGUSR2) };
    let mut text = String::new();
    wait_until("the stats dump", Duration::from_secs(5), || {
        text = std::fs::read_to_string(&path).unwrap_or_default();
        text.contains("Authentication Errors")
    });
    let value = |label: &str| -> u64 {
        text.lines()
            .skip_while(|l| !l.contains("Authentication Errors"))
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        value("Invalid Type:"),
        value("Type Mismatch:"),
        value("Failure:"),
    )
}
