//! VRRP on real links: network namespaces joined by veth pairs on a bridge, kad and
//! keepalived 2.2.7 as the nodes, a client namespace that reaches the VIP. As root; skipped
//! only when KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24 inside the test's own namespaces.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.100";
const VIP6: &str = "2001:db8::100";

fn enabled() -> bool {
    if std::env::var("KAD_SYSTEM_TESTS").as_deref() == Ok("0") {
        eprintln!("KAD_SYSTEM_TESTS=0: skipping a system test");
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "system tests run as root");
    true
}

fn sh(cmd: &str) {
    let st = Command::new("sh").args(["-c", cmd]).status().expect("sh");
    assert!(st.success(), "failed: {cmd}");
}

fn sh_out(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

/// Namespaces `{p}sw` (bridge), `{p}1`, `{p}2` (nodes 192.0.2.11/.12) and `{p}c` (client .2).
struct Lab {
    p: String,
    dir: PathBuf,
}

impl Lab {
    fn up() -> Lab {
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
    fn add_node3(&self) {
        let p = &self.p;
        sh(&format!(
            "ip netns add {p}3 && ip -n {p}sw link add v3 type veth peer name eth0 netns {p}3 && ip -n {p}sw link set v3 master br0 up && ip netns exec {p}3 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && ip -n {p}3 link set lo up && ip -n {p}3 link set eth0 up && ip -n {p}3 addr add 192.0.2.13/24 dev eth0"
        ));
    }

    fn ns(&self, n: &str) -> String {
        format!("{}{n}", self.p)
    }

    /// True if node `n` holds `addr` on `dev` (on any interface with `None`).
    fn holds(&self, n: &str, addr: &str, dev: Option<&str>) -> bool {
        let (family, inet) = if addr.contains(':') {
            ("-6", "inet6")
        } else {
            ("-4", "inet")
        };
        let dev = dev.map(|d| format!(" dev {d}")).unwrap_or_default();
        sh_out(&format!("ip -n {} {family} addr show{dev}", self.ns(n)))
            .contains(&format!("{inet} {addr}/"))
    }

    fn has_vip(&self, n: &str) -> bool {
        self.holds(n, VIP, Some("eth0"))
    }

    fn has_vip6(&self, n: &str) -> bool {
        self.holds(n, VIP6, Some("eth0"))
    }

    fn mac(&self, n: &str) -> String {
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
    fn cut(&self, n: &str) {
        sh(&format!("ip -n {}sw link set v{n} nomaster", self.p));
    }

    /// Pulls node `n`'s cable: the switch port goes down, the node sees NO-CARRIER.
    fn unplug(&self, n: &str) {
        sh(&format!("ip -n {}sw link set v{n} down", self.p));
    }

    /// Plugs it back.
    fn plug(&self, n: &str) {
        sh(&format!("ip -n {}sw link set v{n} up", self.p));
    }

    /// Re-attaches node `n`'s switch port.
    fn heal(&self, n: &str) {
        sh(&format!("ip -n {}sw link set v{n} master br0", self.p));
    }

    fn client_neigh(&self) -> String {
        sh_out(&format!("ip -n {} neigh show {VIP}", self.ns("c")))
    }

    /// A script that appends `[uid ]args` to a file anyone may write: (output, script).
    fn recording_script(&self, name: &str, with_uid: bool) -> (PathBuf, PathBuf) {
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

    fn config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("config");
        path
    }

    /// kad on node `n` (its own /tmp and /run), in its own session.
    fn kad(&self, n: &str, conf: &PathBuf) -> Node {
        self.kad_with(n, conf, &[])
    }

    /// Like [`Lab::kad`] with extra command-line arguments.
    fn kad_with(&self, n: &str, conf: &PathBuf, extra: &[&str]) -> Node {
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
        .arg("mount -t tmpfs t /tmp && mount -t tmpfs r /run && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_kad"))
        .args(["-n", "-l", "-f"])
        .arg(conf)
        .args(extra);
        Node::spawn(cmd, log)
    }

    /// keepalived 2.2.7 on node `n`, in its own session.
    fn keepalived(&self, n: &str, conf: &PathBuf) -> Node {
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
        for n in ["1", "2", "3", "c", "sw"] {
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
struct Node {
    proc: Child,
    log: PathBuf,
}

impl Node {
    fn spawn(mut cmd: Command, log: PathBuf) -> Node {
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

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn term(&mut self) {
        // SAFETY: signalling a process this test started.
        unsafe { libc::kill(self.proc.id() as i32, libc::SIGTERM) };
        let _ = self.proc.wait();
    }

    /// A crash: SIGKILL to every process of the daemon's group.
    fn crash(&mut self) {
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

fn instance(priority: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n{extra}    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

const PASS: &str =
    "    authentication {\n        auth_type PASS\n        auth_pass kad-pass\n    }\n";

#[test]
fn kad_pair_elects_fails_over_on_sigterm_and_preempts_back() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let c1 = lab.config("n1.conf", &instance(150, PASS));
    let c2 = lab.config("n2.conf", &instance(100, PASS));
    let mut n1 = lab.kad("1", &c1);
    let _n2 = lab.kad("2", &c2);
    let took = wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    assert!(
        took > Duration::from_secs(3),
        "took {took:?}: a backup waits its master-down interval first"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!lab.has_vip("2"), "exactly one master");
    // The client reaches the VIP through node 1.
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
    assert!(
        lab.client_neigh().contains(&lab.mac("1")),
        "{}",
        lab.client_neigh()
    );
    // SIGTERM: priority 0, node 2 takes over after its skew time, its GARP moves the client.
    n1.term();
    let took = wait_until("node 2 master", Duration::from_secs(3), || lab.has_vip("2"));
    assert!(
        took < Duration::from_secs(2),
        "failover after SIGTERM took {took:?}"
    );
    assert!(!lab.has_vip("1"), "the stopping master removed its VIP");
    wait_until(
        "client's ARP entry moved by GARP",
        Duration::from_secs(2),
        || lab.client_neigh().contains(&lab.mac("2")),
    );
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
    // Node 1 returns with the higher priority and preempts.
    let _n1 = lab.kad("1", &c1);
    wait_until("node 1 master again", Duration::from_secs(8), || {
        lab.has_vip("1")
    });
    wait_until("node 2 gave the VIP up", Duration::from_secs(3), || {
        !lab.has_vip("2")
    });
}

#[test]
fn a_crashed_master_is_replaced_after_the_master_down_interval() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    let n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    n1.crash();
    let took = wait_until("node 2 master", Duration::from_secs(6), || lab.has_vip("2"));
    assert!(
        took > Duration::from_millis(2500),
        "{took:?}: no priority 0 was sent, so the backup waited"
    );
    assert!(n2.log().contains("(VI_1) Entering MASTER STATE"));
}

#[test]
fn split_brain_heals_to_the_higher_address_at_equal_priority() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    // Both nodes silently isolated (carrier stays up): both become MASTER.
    lab.cut("1");
    lab.cut("2");
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(100, "")));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("both masters", Duration::from_secs(8), || {
        lab.has_vip("1") && lab.has_vip("2")
    });
    // Healed: the masters hear each other; the RFC tie-break keeps the higher address (.12).
    lab.heal("1");
    lab.heal("2");
    wait_until("node 1 yields", Duration::from_secs(5), || {
        !lab.has_vip("1")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(lab.has_vip("2") && !lab.has_vip("1"));
    // kad makes the split brain visible: logged once, counted, shown in the dump and JSON.
    let log1 = n1.log();
    let line = "split brain: 192.0.2.12 is also MASTER with equal priority 100";
    assert_eq!(log1.matches(line).count(), 1, "{log1}");
    // SAFETY: signalling the kad parent this test started.
    unsafe {
        libc::kill(n1.proc.id() as i32, libc::SIGUSR1);
        libc::kill(n1.proc.id() as i32, libc::SIGRTMIN() + 2);
    }
    let root = format!("/proc/{}/root/tmp", n1.proc.id());
    wait_until(
        "dumps with the split brain count",
        Duration::from_secs(5),
        || {
            let data =
                std::fs::read_to_string(format!("{root}/keepalived.data")).unwrap_or_default();
            let json =
                std::fs::read_to_string(format!("{root}/keepalived.json")).unwrap_or_default();
            data.contains("   Split brain adverts seen = ")
                && !data.contains("   Split brain adverts seen = 0\n")
                && json.contains("\"split_brain\": ")
                && !json.contains("\"split_brain\": 0")
        },
    );
}

#[test]
fn nopreempt_keeps_the_current_master() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("node 2 master", Duration::from_secs(8), || lab.has_vip("2"));
    let _n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    nopreempt\n")),
    );
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        lab.has_vip("2") && !lab.has_vip("1"),
        "the higher priority did not preempt"
    );
}

#[test]
fn a_respawned_vrrp_child_converges_to_one_master() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    let child = sh_out(&format!("pgrep -P {} -f 'kad: vrrp'", n1.proc.id()));
    let child = sh_out("pgrep -x 'kad: vrrp'")
        .split_whitespace()
        .find(|p| {
            sh_out(&format!("cat /proc/{p}/status")).contains(&format!("PPid:\t{}", n1.proc.id()))
        })
        .map(str::to_string)
        .or_else(|| child.split_whitespace().next().map(str::to_string))
        .expect("node 1's VRRP child");
    sh(&format!("kill -9 {child}"));
    wait_until("respawn logged", Duration::from_secs(3), || {
        n1.log()
            .contains(&format!("(pid {child}) killed by signal 9"))
    });
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        lab.has_vip("1") != lab.has_vip("2"),
        "exactly one node holds the VIP"
    );
}

#[test]
fn interop_keepalived_master_kad_backup_v2_pass() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &instance(150, PASS)));
    let kad = lab.kad("2", &lab.config("n2.conf", &instance(100, PASS)));
    wait_until("keepalived master", Duration::from_secs(8), || {
        lab.has_vip("1")
    });
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !lab.has_vip("2"),
        "kad accepted keepalived's adverts and stayed backup"
    );
    assert!(!kad.log().contains("dropped"), "{}", kad.log());
    ka.crash();
    sh(&format!("ip -n {} addr del {VIP}/24 dev eth0", lab.ns("1")));
    wait_until("kad master", Duration::from_secs(6), || lab.has_vip("2"));
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
}

#[test]
fn interop_kad_master_keepalived_backup_v2_pass() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let mut kad = lab.kad("1", &lab.config("n1.conf", &instance(150, PASS)));
    let ka = lab.keepalived("2", &lab.config("n2.conf", &instance(100, PASS)));
    wait_until("kad master", Duration::from_secs(8), || lab.has_vip("1"));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !lab.has_vip("2"),
        "keepalived accepted kad's adverts and stayed backup"
    );
    kad.term();
    let took = wait_until("keepalived master", Duration::from_secs(3), || {
        lab.has_vip("2")
    });
    assert!(
        took < Duration::from_secs(2),
        "keepalived took over {took:?} after kad's priority 0"
    );
    assert!(ka.log().contains("Entering MASTER STATE"));
}

#[test]
fn interop_v3_ipv4_both_ways() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let v3 = |p| {
        format!(
            "global_defs {{\n    vrrp_version 3\n}}\n{}",
            instance(p, "")
        )
    };
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &v3(150)));
    let _kad = lab.kad("2", &lab.config("n2.conf", &v3(100)));
    wait_until("keepalived master", Duration::from_secs(8), || {
        lab.has_vip("1")
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(!lab.has_vip("2"), "kad accepted keepalived's v3 adverts");
    ka.term();
    wait_until("kad master", Duration::from_secs(3), || lab.has_vip("2"));
    let ka2 = lab.keepalived("1", &lab.config("n1b.conf", &v3(50)));
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        lab.has_vip("2") && !lab.has_vip("1"),
        "keepalived (lower priority) accepted kad's v3 adverts"
    );
    assert!(
        !ka2.log().contains("bad checksum") && !ka2.log().contains("Invalid"),
        "{}",
        ka2.log()
    );
}

fn instance6(priority: u8) -> String {
    format!(
        "vrrp_instance VI_6 {{\n    version 3\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP6}/64\n    }}\n}}\n"
    )
}

#[test]
fn ipv6_kad_pair_elects_and_fails_over_with_unsolicited_na() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &instance6(150)));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance6(100)));
    wait_until("node 1 master (IPv6)", Duration::from_secs(8), || {
        lab.has_vip6("1")
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!lab.has_vip6("2"));
    sh(&format!(
        "ip netns exec {} ping -6 -c 1 -W 2 {VIP6} >/dev/null",
        lab.ns("c")
    ));
    let neigh = |lab: &Lab| sh_out(&format!("ip -n {} -6 neigh show {VIP6}", lab.ns("c")));
    assert!(neigh(&lab).contains(&lab.mac("1")), "{}", neigh(&lab));
    n1.term();
    let took = wait_until("node 2 master (IPv6)", Duration::from_secs(3), || {
        lab.has_vip6("2")
    });
    assert!(took < Duration::from_secs(2), "{took:?}");
    wait_until(
        "client's neighbour entry moved by the NA",
        Duration::from_secs(2),
        || neigh(&lab).contains(&lab.mac("2")),
    );
    sh(&format!(
        "ip netns exec {} ping -6 -c 1 -W 2 {VIP6} >/dev/null",
        lab.ns("c")
    ));
}

#[test]
fn interop_v3_ipv6_both_ways() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &instance6(150)));
    let kad = lab.kad("2", &lab.config("n2.conf", &instance6(100)));
    wait_until("keepalived master (IPv6)", Duration::from_secs(8), || {
        lab.has_vip6("1")
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.has_vip6("2"),
        "kad accepted keepalived's IPv6 adverts: {}",
        kad.log()
    );
    ka.term();
    wait_until("kad master (IPv6)", Duration::from_secs(3), || {
        lab.has_vip6("2")
    });
    let ka2 = lab.keepalived("1", &lab.config("n1b.conf", &instance6(50)));
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        lab.has_vip6("2") && !lab.has_vip6("1"),
        "keepalived accepted kad's IPv6 adverts: {}",
        ka2.log()
    );
}

#[test]
fn a_vip_deleted_under_the_master_is_put_back() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    sh(&format!("ip -n {} addr del {VIP}/24 dev eth0", lab.ns("1")));
    wait_until("VIP back", Duration::from_secs(2), || lab.has_vip("1"));
    assert!(n1
        .log()
        .contains("was removed from under us; adding it back"));
}

#[test]
fn losing_carrier_means_fault_and_the_backup_takes_over() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    lab.unplug("1");
    wait_until(
        "node 1 in FAULT without its VIP",
        Duration::from_secs(3),
        || n1.log().contains("(VI_1) Entering FAULT STATE") && !lab.has_vip("1"),
    );
    wait_until("node 2 master", Duration::from_secs(6), || lab.has_vip("2"));
    lab.plug("1");
    wait_until("node 1 master again", Duration::from_secs(8), || {
        lab.has_vip("1")
    });
    wait_until("node 2 backup again", Duration::from_secs(3), || {
        !lab.has_vip("2")
    });
}

#[test]
fn preempt_delay_holds_back_a_higher_priority_node() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("node 2 master", Duration::from_secs(8), || lab.has_vip("2"));
    let t0 = Instant::now();
    let _n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    preempt_delay 6\n")),
    );
    wait_until(
        "node 1 master after its preempt delay",
        Duration::from_secs(15),
        || lab.has_vip("1"),
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(6),
        "preempted after {took:?}, before preempt_delay 6"
    );
    wait_until("node 2 backup", Duration::from_secs(3), || {
        !lab.has_vip("2")
    });
}

/// Captures gratuitous ARPs for `VIP` in namespace `ns` for `secs`: (arrival, frame).
fn capture_garps(ns: String, secs: u64) -> std::thread::JoinHandle<Vec<(Instant, Vec<u8>)>> {
    std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns");
        // SAFETY: moving this thread (only) into the test's network namespace; AF_PACKET socket
        // and recv on buffers owned here.
        unsafe {
            use std::os::fd::AsRawFd;
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
            let fd = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW,
                i32::from(0x0806u16.to_be()),
            );
            assert!(fd >= 0, "AF_PACKET socket");
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 100_000,
            };
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
            let end = Instant::now() + Duration::from_secs(secs);
            let vip: [u8; 4] = [192, 0, 2, 100];
            let mut got = Vec::new();
            let mut buf = [0u8; 128];
            while Instant::now() < end {
                let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                if n >= 42 && buf[28..32] == vip && buf[38..42] == vip {
                    got.push((Instant::now(), buf[..42].to_vec()));
                }
            }
            libc::close(fd);
            got
        }
    })
}

#[test]
fn garp_bursts_are_paced_by_vrrp_garp_interval_and_repeated_after_the_delay() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let conf = format!(
        "global_defs {{\n    vrrp_garp_interval 0.2\n    vrrp_garp_master_repeat 3\n    vrrp_garp_master_delay 2\n}}\n{}",
        instance(150, "")
    );
    let capture = capture_garps(lab.ns("c"), 9);
    let _n1 = lab.kad("1", &lab.config("n1.conf", &conf));
    let garps = capture.join().expect("capture");
    assert_eq!(
        garps.len(),
        6,
        "two bursts of three: {:?}",
        garps.iter().map(|g| g.0).collect::<Vec<_>>()
    );
    let mac = lab.mac("1").replace(':', "");
    for (_, frame) in &garps {
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        // keepalived's frame: ARP request, sender = target = VIP, target MAC ff:ff:ff:ff:ff:ff.
        let want =
            format!("ffffffffffff{mac}08060001080006040001{mac}c0000264ffffffffffffc0000264");
        assert_eq!(hex, want);
    }
    let gaps: Vec<Duration> = garps.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for g in [gaps[0], gaps[1], gaps[3], gaps[4]] {
        assert!(
            g >= Duration::from_millis(170) && g < Duration::from_secs(1),
            "in-burst gap {g:?} (interval 0.2 s): {gaps:?}"
        );
    }
    assert!(
        gaps[2] >= Duration::from_millis(1500),
        "second burst after garp_master_delay 2: {gaps:?}"
    );
}

fn unicast(priority: u8, me: &str, peer: &str) -> String {
    instance(
        priority,
        &format!("    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n"),
    )
}

#[test]
fn unicast_pair_and_interop_with_keepalived_in_unicast_mode() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    // kad pair.
    let mut n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &unicast(150, "192.0.2.11", "192.0.2.12")),
    );
    let mut n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &unicast(100, "192.0.2.12", "192.0.2.11")),
    );
    wait_until(
        "kad node 1 master (unicast)",
        Duration::from_secs(8),
        || lab.has_vip("1"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(!lab.has_vip("2"), "node 2 hears node 1's unicast adverts");
    n1.term();
    wait_until(
        "kad node 2 master (unicast)",
        Duration::from_secs(3),
        || lab.has_vip("2"),
    );
    n2.term();
    // keepalived master, kad backup.
    let mut ka = lab.keepalived(
        "1",
        &lab.config("k1.conf", &unicast(150, "192.0.2.11", "192.0.2.12")),
    );
    let kad = lab.kad(
        "2",
        &lab.config("n2b.conf", &unicast(100, "192.0.2.12", "192.0.2.11")),
    );
    wait_until(
        "keepalived master (unicast)",
        Duration::from_secs(8),
        || lab.has_vip("1"),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.has_vip("2"),
        "kad accepted keepalived's unicast adverts: {}",
        kad.log()
    );
    ka.term();
    wait_until(
        "kad master after keepalived stops",
        Duration::from_secs(3),
        || lab.has_vip("2"),
    );
    // kad master, keepalived backup (lower priority) stays backup.
    let ka2 = lab.keepalived(
        "1",
        &lab.config("k1b.conf", &unicast(50, "192.0.2.11", "192.0.2.12")),
    );
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        lab.has_vip("2") && !lab.has_vip("1"),
        "keepalived accepted kad's unicast adverts: {}",
        ka2.log()
    );
}

#[test]
fn adverts_from_outside_the_unicast_peer_list_are_dropped_and_counted() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    // Node 1 lists only a peer that does not exist; node 2 sends it unicast adverts anyway.
    let n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &unicast(100, "192.0.2.11", "192.0.2.99")),
    );
    let _n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &unicast(200, "192.0.2.12", "192.0.2.11")),
    );
    wait_until("node 2 master", Duration::from_secs(8), || lab.has_vip("2"));
    wait_until(
        "node 1 master too (it ignores node 2)",
        Duration::from_secs(8),
        || lab.has_vip("1"),
    );
    assert!(
        n1.log()
            .contains("advert from 192.0.2.12, which is not a unicast_peer; dropped"),
        "{}",
        n1.log()
    );
}

fn named(name: &str, vrid: u8, vip: &str) -> String {
    format!("vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    priority 150\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n")
}

#[test]
fn reload_changes_other_instances_without_a_flap() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let conf = lab.config(
        "n1.conf",
        &format!(
            "{}{}",
            named("VI_1", 51, VIP),
            named("VI_2", 52, "192.0.2.101")
        ),
    );
    let n1 = lab.kad("1", &conf);
    let on1 = |ip: &str| lab.holds("1", ip, Some("eth0"));
    wait_until("both instances master", Duration::from_secs(8), || {
        on1("192.0.2.100") && on1("192.0.2.101")
    });
    // A client pings VI_1's VIP every 50 ms across the reload.
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns("c"),
            "ping",
            "-n",
            "-i",
            "0.05",
            "-c",
            "80",
            "-W",
            "1",
            VIP,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ping");
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::write(
        &conf,
        format!(
            "{}{}{}",
            named("VI_1", 51, VIP),
            named("VI_2", 52, "192.0.2.102"),
            named("VI_3", 53, "192.0.2.103")
        ),
    )
    .expect("rewrite");
    // SAFETY: signalling the kad parent this test started.
    unsafe { libc::kill(n1.proc.id() as i32, libc::SIGHUP) };
    let out = ping.wait_with_output().expect("ping result");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("80 packets transmitted, 80 received, 0% packet loss"),
        "{text}"
    );
    wait_until(
        "VI_2 moved to .102, VI_3 master",
        Duration::from_secs(8),
        || on1("192.0.2.102") && !on1("192.0.2.101") && on1("192.0.2.103"),
    );
    let log = n1.log();
    assert_eq!(
        log.matches("(VI_1) Entering").count(),
        2,
        "VI_1 went BACKUP then MASTER once, no flap:\n{log}"
    );
    assert_eq!(
        log.matches("(VI_2) Entering").count(),
        2,
        "VI_2 kept its state:\n{log}"
    );
    assert!(
        log.contains("(VI_2) reloaded: 1 VIP(s) added, 1 removed"),
        "{log}"
    );
    assert!(log.contains("(VI_3) new instance"), "{log}");
}

#[test]
fn track_script_and_track_interface_drive_priority_and_fault() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    // Scripts run as nobody (no keepalived_script user here) inside kad's namespaces (its own
    // /tmp): the flag files live in the lab's directory, which nobody can reach.
    let flags = lab.dir.join("flags");
    std::fs::create_dir_all(&flags).expect("flag dir");
    let healthy = flags.join("healthy");
    let alive = flags.join("alive");
    std::fs::write(&healthy, "").expect("flag");
    std::fs::write(&alive, "").expect("flag");
    let n1_conf = format!(
        "vrrp_script chk_health {{\n    script \"/usr/bin/test -f {}\"\n    interval 0.2\n    weight -60\n    fall 2\n    rise 2\n}}\nvrrp_script chk_alive {{\n    script \"/usr/bin/test -f {}\"\n    interval 0.2\n}}\n{}",
        healthy.display(),
        alive.display(),
        instance(150, "    track_script {\n        chk_health\n        chk_alive\n    }\n    track_interface {\n        lo\n    }\n")
    );
    let n1 = lab.kad("1", &lab.config("n1.conf", &n1_conf));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    // A failing weighted script lowers node 1 to 90 < 100: node 2 takes over.
    std::fs::remove_file(&healthy).expect("unflag");
    wait_until(
        "node 2 master after chk_health fails",
        Duration::from_secs(8),
        || lab.has_vip("2") && !lab.has_vip("1"),
    );
    assert!(
        n1.log().contains("(VI_1) effective priority 150 -> 90"),
        "{}",
        n1.log()
    );
    std::fs::write(&healthy, "").expect("flag");
    wait_until("node 1 master again", Duration::from_secs(8), || {
        lab.has_vip("1") && !lab.has_vip("2")
    });
    // A failing unweighted (weight 0) script means FAULT.
    std::fs::remove_file(&alive).expect("unflag");
    wait_until("node 1 in FAULT", Duration::from_secs(5), || {
        n1.log().contains("(VI_1) Entering FAULT STATE")
    });
    wait_until("node 2 master", Duration::from_secs(8), || {
        lab.has_vip("2") && !lab.has_vip("1")
    });
    std::fs::write(&alive, "").expect("flag");
    wait_until("node 1 back and master", Duration::from_secs(10), || {
        lab.has_vip("1") && !lab.has_vip("2")
    });
    // A tracked interface (no weight) going down means FAULT too.
    sh(&format!("ip -n {} link set lo down", lab.ns("1")));
    wait_until(
        "node 2 master after lo went down on node 1",
        Duration::from_secs(8),
        || lab.has_vip("2") && !lab.has_vip("1"),
    );
    sh(&format!("ip -n {} link set lo up", lab.ns("1")));
    wait_until(
        "node 1 master after lo came back",
        Duration::from_secs(10),
        || lab.has_vip("1"),
    );
}

#[test]
fn notify_scripts_run_as_the_script_user_with_keepalived_arguments() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let (out, script) = lab.recording_script("notify", true);
    let extra = format!(
        "    notify_master \"{s} master-event\"\n    notify_backup \"{s} backup-event\"\n    notify_stop \"{s} stop-event\"\n    notify {s}\n",
        s = script.display()
    );
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, &extra)));
    wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    let nobody = sh_out("id -u nobody").trim().to_string();
    wait_until("notify lines", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        [
            format!("{nobody} backup-event"),
            format!("{nobody} INSTANCE VI_1 BACKUP 150"),
            format!("{nobody} master-event"),
            format!("{nobody} INSTANCE VI_1 MASTER 150"),
        ]
        .iter()
        .all(|l| text.lines().any(|x| x == l))
    });
    // A clean stop runs notify_stop (and notify with STOP) before kad exits.
    n1.term();
    wait_until("stop notifications", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        text.lines().any(|l| l == format!("{nobody} stop-event"))
            && text
                .lines()
                .any(|l| l == format!("{nobody} INSTANCE VI_1 STOP 150"))
    });
}

#[test]
fn sync_group_members_move_together() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let (out, notify) = lab.recording_script("group", false);
    let notify = notify.display().to_string();
    let group = |prio: u8, track_lo: bool| {
        let track = if track_lo {
            "    track_interface {\n        lo\n    }\n"
        } else {
            ""
        };
        format!(
            "vrrp_sync_group G {{\n    group {{\n        VI_A\n        VI_B\n    }}\n    notify {notify}\n}}\n\
             vrrp_instance VI_A {{\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\
             vrrp_instance VI_B {{\n    interface eth0\n    virtual_router_id 52\n    priority {prio}\n    advert_int 1\n{track}    virtual_ipaddress {{\n        192.0.2.101/24\n    }}\n}}\n"
        )
    };
    let n1 = lab.kad("1", &lab.config("n1.conf", &group(150, true)));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &group(100, false)));
    let holds = |n: &str, ip: &str| lab.holds(n, ip, Some("eth0"));
    wait_until("node 1 master of both", Duration::from_secs(8), || {
        holds("1", VIP) && holds("1", "192.0.2.101")
    });
    // Only VI_B tracks lo; the group takes VI_A down with it.
    sh(&format!("ip -n {} link set lo down", lab.ns("1")));
    wait_until("node 2 master of both", Duration::from_secs(8), || {
        holds("2", VIP)
            && holds("2", "192.0.2.101")
            && !holds("1", VIP)
            && !holds("1", "192.0.2.101")
    });
    let log = n1.log();
    assert!(log.contains("(VI_A) Entering FAULT STATE"), "{log}");
    sh(&format!("ip -n {} link set lo up", lab.ns("1")));
    wait_until(
        "node 1 master of both again",
        Duration::from_secs(10),
        || {
            holds("1", VIP)
                && holds("1", "192.0.2.101")
                && !holds("2", VIP)
                && !holds("2", "192.0.2.101")
        },
    );
    // The group's notify ran once per group state, with GROUP <name> <STATE> (node 1 only
    // writes here; node 2 runs the same script on its own transitions too).
    wait_until("group notifications", Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        ["GROUP G MASTER", "GROUP G FAULT"]
            .iter()
            .all(|line| text.lines().any(|l| l == *line))
    });
}

/// A minimal SMTP sink at 192.0.2.2:2525 in namespace `ns`: accepts mails for `secs` and
/// returns each one's transcript (commands and data as received).
fn smtp_sink(ns: String, secs: u64) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns");
        // SAFETY: moves only this thread into the test's network namespace.
        unsafe {
            use std::os::fd::AsRawFd;
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
        }
        let listener = std::net::TcpListener::bind("192.0.2.2:2525").expect("bind sink");
        listener.set_nonblocking(true).expect("nonblocking");
        let end = Instant::now() + Duration::from_secs(secs);
        let mut mails = Vec::new();
        while Instant::now() < end {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            stream.set_nonblocking(false).expect("blocking");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut w = stream.try_clone().expect("clone");
            let mut r = BufReader::new(stream);
            let mut transcript = String::new();
            let _ = w.write_all(b"220 sink ESMTP\r\n");
            let mut in_data = false;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                transcript.push_str(&line);
                let reply: &[u8] = if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        b"250 queued\r\n"
                    } else {
                        b""
                    }
                } else if line.starts_with("DATA") {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if line.starts_with("QUIT") {
                    let _ = w.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = w.write_all(reply);
                line.clear();
            }
            mails.push(transcript);
        }
        mails
    })
}

#[test]
fn smtp_alert_mails_each_transition() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let sink = smtp_sink(lab.ns("c"), 8);
    std::thread::sleep(Duration::from_millis(200));
    let conf = format!(
        "global_defs {{\n    router_id lb1\n    notification_email {{\n        ops@example.org\n    }}\n    notification_email_from kad@example.org\n    smtp_server 192.0.2.2 2525\n    smtp_connect_timeout 5\n}}\n{}",
        instance(150, "    smtp_alert\n")
    );
    let _n1 = lab.kad("1", &lab.config("n1.conf", &conf));
    wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    let mails = sink.join().expect("sink");
    assert_eq!(mails.len(), 2, "{mails:#?}");
    for (mail, state) in mails.iter().zip(["BACKUP", "MASTER"]) {
        assert!(
            mail.contains("MAIL FROM:<kad@example.org>\r\n")
                && mail.contains("RCPT TO:<ops@example.org>\r\n"),
            "{mail}"
        );
        assert!(
            mail.contains(&format!(
                "Subject: [lb1] VRRP Instance VI_1 - Entering {state} state\r\n"
            )),
            "{mail}"
        );
        assert!(mail.ends_with("QUIT\r\n"), "{mail}");
    }
}

#[test]
fn use_vmac_serves_the_vip_at_the_virtual_mac_and_interoperates() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let vmac_if = |n: &str| sh_out(&format!("ip -n {} link show vrrp.51", lab.ns(n)));
    let neigh = |lab: &Lab| sh_out(&format!("ip -n {} neigh show {VIP}", lab.ns("c")));
    let mut n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    use_vmac\n")),
    );
    let n2 = lab.kad(
        "2",
        &lab.config("n2.conf", &instance(100, "    use_vmac\n")),
    );
    wait_until("node 1 master on its vmac", Duration::from_secs(8), || {
        lab.holds("1", VIP, Some("vrrp.51"))
    });
    assert!(
        vmac_if("1").contains("link/ether 00:00:5e:00:01:33"),
        "{}",
        vmac_if("1")
    );
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
    assert!(
        neigh(&lab).contains("00:00:5e:00:01:33"),
        "client sees the virtual MAC: {}",
        neigh(&lab)
    );
    n1.term();
    wait_until("node 2 master on its vmac", Duration::from_secs(3), || {
        lab.holds("2", VIP, Some("vrrp.51"))
    });
    assert!(
        !vmac_if("1").contains("vrrp.51"),
        "node 1 removed its vmac on stop"
    );
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
    assert!(neigh(&lab).contains("00:00:5e:00:01:33"), "{}", neigh(&lab));
    drop(n2);
    // keepalived with use_vmac as master, kad as backup: kad stays backup, then takes over.
    std::thread::sleep(Duration::from_millis(500));
    let mut ka = lab.keepalived(
        "1",
        &lab.config("k1.conf", &instance(150, "    use_vmac\n")),
    );
    let _kad = lab.kad(
        "2",
        &lab.config("n2b.conf", &instance(100, "    use_vmac\n")),
    );
    wait_until(
        "keepalived master on its vmac",
        Duration::from_secs(10),
        || lab.holds("1", VIP, None),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.holds("2", VIP, None),
        "kad accepted keepalived's adverts sent from its vmac"
    );
    ka.term();
    wait_until(
        "kad master after keepalived stops",
        Duration::from_secs(4),
        || lab.holds("2", VIP, Some("vrrp.51")),
    );
    sh(&format!(
        "ip netns exec {} ping -c 1 -W 2 {VIP} >/dev/null",
        lab.ns("c")
    ));
}

fn unicast_to(priority: u8, me: &str, peers: &[&str]) -> String {
    let list: String = peers.iter().map(|p| format!("        {p}\n")).collect();
    instance(
        priority,
        &format!("    unicast_src_ip {me}\n    unicast_peer {{\n{list}    }}\n"),
    )
}

#[test]
fn three_nodes_over_unicast_elect_in_priority_order() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    lab.add_node3();
    let (a, b, c) = ("192.0.2.11", "192.0.2.12", "192.0.2.13");
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &unicast_to(150, a, &[b, c])));
    let mut n2 = lab.kad("2", &lab.config("n2.conf", &unicast_to(100, b, &[a, c])));
    let _n3 = lab.kad("3", &lab.config("n3.conf", &unicast_to(50, c, &[a, b])));
    wait_until("node 1 master", Duration::from_secs(8), || lab.has_vip("1"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !lab.has_vip("2") && !lab.has_vip("3"),
        "one master among three"
    );
    n1.term();
    wait_until(
        "node 2 (next priority) master",
        Duration::from_secs(3),
        || lab.has_vip("2"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(!lab.has_vip("3"), "node 3 stays backup");
    n2.term();
    wait_until("node 3 master", Duration::from_secs(3), || lab.has_vip("3"));
}

#[test]
fn a_sync_group_across_three_nodes_moves_as_one() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    lab.add_node3();
    let group = |prio: u8| {
        format!(
            "vrrp_sync_group G {{\n    group {{\n        VI_A\n        VI_B\n    }}\n}}\n\
             vrrp_instance VI_A {{\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\
             vrrp_instance VI_B {{\n    interface eth0\n    virtual_router_id 52\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        192.0.2.101/24\n    }}\n}}\n"
        )
    };
    let holds = |n: &str, ip: &str| lab.holds(n, ip, Some("eth0"));
    let both = |n: &str| holds(n, VIP) && holds(n, "192.0.2.101");
    let none = |n: &str| !holds(n, VIP) && !holds(n, "192.0.2.101");
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &group(150)));
    let _n2 = lab.kad("2", &lab.config("n2.conf", &group(100)));
    let _n3 = lab.kad("3", &lab.config("n3.conf", &group(50)));
    wait_until("node 1 holds both", Duration::from_secs(8), || both("1"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(none("2") && none("3"));
    n1.term();
    wait_until("node 2 holds both", Duration::from_secs(4), || {
        both("2") && none("1")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(none("3"), "the group did not split across nodes 2 and 3");
}

#[test]
fn a_respawned_vrrp_child_replaces_the_vmac_a_killed_one_left() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let n1 = lab.kad(
        "1",
        &lab.config("n1.conf", &instance(150, "    use_vmac\n")),
    );
    let vmac_index = || {
        sh_out(&format!("ip -n {} -o link show vrrp.51", lab.ns("1")))
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    wait_until("master on the vmac", Duration::from_secs(8), || {
        lab.holds("1", VIP, Some("vrrp.51"))
    });
    let before = vmac_index();
    let child = sh_out("pgrep -x 'kad: vrrp'")
        .split_whitespace()
        .find(|p| {
            sh_out(&format!("cat /proc/{p}/status")).contains(&format!("PPid:\t{}", n1.proc.id()))
        })
        .map(str::to_string)
        .expect("node 1's VRRP child");
    sh(&format!("kill -9 {child}"));
    wait_until("a new vmac, master again", Duration::from_secs(10), || {
        let idx = vmac_index();
        !idx.is_empty() && idx != before && lab.holds("1", VIP, Some("vrrp.51"))
    });
    assert_eq!(
        sh_out(&format!("ip -n {} -o link show", lab.ns("1")))
            .matches("vrrp.51")
            .count(),
        1
    );
}

/// Reads a node's `/tmp/keepalived.stats` (SIGUSR2) and returns the Authentication Errors
/// counters (invalid type, type mismatch, failure).
fn auth_counters(node: &Node) -> (u64, u64, u64) {
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

#[test]
fn authentication_mismatches_are_dropped_and_counted() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let wrong = "    authentication {\n        auth_type PASS\n        auth_pass not-kad\n    }\n";
    let c1 = lab.config("n1.conf", &instance(150, PASS));
    let c2 = lab.config("n2.conf", &instance(100, wrong));
    let n1 = lab.kad("1", &c1);
    let n2 = lab.kad("2", &c2);
    // Each ignores the other's adverts: both end up MASTER (as keepalived does).
    wait_until("both masters", Duration::from_secs(10), || {
        lab.has_vip("1") && lab.has_vip("2")
    });
    wait_until("wrong passwords counted", Duration::from_secs(5), || {
        auth_counters(&n1).2 > 0 && auth_counters(&n2).2 > 0
    });
    // A node without authentication: a type mismatch for the PASS node.
    drop(n2);
    let c3 = lab.config("n3.conf", &instance(100, ""));
    let _n3 = lab.kad("2", &c3);
    let before = auth_counters(&n1).1;
    wait_until("type mismatches counted", Duration::from_secs(10), || {
        auth_counters(&n1).1 > before
    });
}

/// Pids of `parent`'s children whose name is `comm`.
fn children_named(parent: u32, comm: &str) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|c: &u32| {
            std::fs::read_to_string(format!("/proc/{c}/comm"))
                .map(|n| n.trim() == comm)
                .unwrap_or(false)
        })
        .collect()
}

/// Zombie children of `parent`.
fn zombies(parent: u32) -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
            let mut f = after.split_whitespace();
            f.next() == Some("Z") && f.next() == Some(parent.to_string().as_str())
        })
        .count()
}

/// (open descriptors, VmRSS in KB) of a process.
fn fds_rss(pid: u32) -> (usize, u64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0);
    (fds, rss)
}

#[test]
fn chaos_of_a_thousand_kills_and_link_cuts_settles_to_one_master_per_vrid() {
    if !enabled() {
        return;
    }
    const VIP2: &str = "192.0.2.101";
    let lab = Lab::up();
    lab.add_node3();
    let config = |p1: u8, p2: u8| {
        format!(
            "vrrp_script chk {{\n    script /bin/true\n    interval 1\n}}\n\
             vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority {p1}\n    advert_int 1\n    track_script {{\n        chk\n    }}\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\
             vrrp_instance VI_2 {{\n    interface eth0\n    use_vmac\n    virtual_router_id 52\n    priority {p2}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP2}/24\n    }}\n}}\n"
        )
    };
    let nodes = ["1", "2", "3"];
    let prios = [(150, 100), (100, 150), (120, 120)];
    let daemons: Vec<Node> = nodes
        .iter()
        .zip(prios)
        .map(|(n, (a, b))| {
            let conf = lab.config(&format!("chaos{n}.conf"), &config(a, b));
            // Respawn at once: with keepalived's growing delay 1,000 kills would park children.
            lab.kad_with(n, &conf, &["--respawn-window", "0.01"])
        })
        .collect();
    let parents: Vec<u32> = daemons.iter().map(|d| d.proc.id()).collect();
    let one_master = |vip: &str| nodes.iter().filter(|n| lab.holds(n, vip, None)).count() == 1;
    wait_until("a master for each VRID", Duration::from_secs(15), || {
        one_master(VIP) && one_master(VIP2)
    });
    wait_until("every child running", Duration::from_secs(5), || {
        parents.iter().all(|&p| {
            children_named(p, "kad: vrrp").len() == 1
                && children_named(p, "kad: checker").len() == 1
        })
    });
    let before: Vec<(usize, u64)> = parents.iter().map(|&p| fds_rss(p)).collect();
    let child_fds: Vec<usize> = parents
        .iter()
        .map(|&p| fds_rss(children_named(p, "kad: vrrp")[0]).0)
        .collect();

    // 1,000 events, at most 120 s: SIGKILL a VRRP or checker child, cut or heal a link.
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut cut = [false; 3];
    let (mut kills, mut cuts, mut events) = (0, 0, 0);
    while events < 1000 && Instant::now() < deadline {
        let i = (next() % 3) as usize;
        match next() % 10 {
            0..=5 => {
                let title = if next() % 3 == 0 {
                    "kad: checker"
                } else {
                    "kad: vrrp"
                };
                for c in children_named(parents[i], title) {
                    // SAFETY: signalling a child of a daemon this test started.
                    unsafe { libc::kill(c as i32, libc::SIGKILL) };
                    kills += 1;
                }
            }
            6..=7 if !cut[i] => {
                lab.cut(nodes[i]);
                cut[i] = true;
                cuts += 1;
            }
            _ if cut[i] => {
                lab.heal(nodes[i]);
                cut[i] = false;
            }
            _ => {}
        }
        events += 1;
        std::thread::sleep(Duration::from_millis(20 + next() % 40));
    }
    assert_eq!(events, 1000, "the chaos loop ran out of time");
    for (i, n) in nodes.iter().enumerate() {
        if cut[i] {
            lab.heal(n);
        }
    }
    // Settled: one master per VRID with its VIP there only; on every node exactly the one
    // vmac its live VRRP child owns (kad, as keepalived, keeps the vmac of a BACKUP instance
    // up without VIPs), none left behind by a killed child.
    wait_until(
        "one master per VRID after the chaos",
        Duration::from_secs(30),
        || one_master(VIP) && one_master(VIP2),
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        one_master(VIP) && one_master(VIP2),
        "a second master appeared after settling"
    );
    for n in nodes {
        let links = sh_out(&format!("ip -n {} -o link show", lab.ns(n)));
        assert_eq!(
            links.matches("vrrp.52@").count(),
            1,
            "node {n}: not exactly one vmac:\n{links}"
        );
    }
    wait_until("every child back", Duration::from_secs(5), || {
        parents.iter().all(|&p| {
            children_named(p, "kad: vrrp").len() == 1
                && children_named(p, "kad: checker").len() == 1
        })
    });
    for (k, &p) in parents.iter().enumerate() {
        assert_eq!(zombies(p), 0, "node {}: zombies", nodes[k]);
        let (fds, rss) = fds_rss(p);
        assert_eq!(
            fds, before[k].0,
            "node {}: the parent's descriptors changed",
            nodes[k]
        );
        assert!(
            rss < before[k].1 + 1024,
            "node {}: the parent grew from {} to {rss} KB",
            nodes[k],
            before[k].1
        );
        let child = children_named(p, "kad: vrrp")[0];
        assert_eq!(
            fds_rss(child).0,
            child_fds[k],
            "node {}: a new VRRP child has more descriptors",
            nodes[k]
        );
    }
    eprintln!("chaos: {events} events, {kills} child kills, {cuts} link cuts");
    drop(daemons);
}

const AH: &str = "    authentication {\n        auth_type AH\n        auth_pass kad-pass\n    }\n";

#[test]
fn ah_kad_pair_elects_one_master_and_fails_over() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let mut n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, AH)));
    let n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, AH)));
    wait_until("node 1 master", Duration::from_secs(10), || {
        lab.has_vip("1")
    });
    // Three master-down intervals of node 2: it hears node 1's AH adverts and stays BACKUP.
    std::thread::sleep(Duration::from_secs(6));
    assert!(!lab.has_vip("2"), "node 2 heard node 1 under AH");
    assert_eq!(auth_counters(&n2), (0, 0, 0), "{}", n2.log());
    n1.term();
    wait_until("node 2 master", Duration::from_secs(5), || lab.has_vip("2"));
}

#[test]
fn interop_ah_kad_master_keepalived_backup_then_failover() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let mut kad = lab.kad("1", &lab.config("n1.conf", &instance(150, AH)));
    let ka = lab.keepalived("2", &lab.config("n2.conf", &instance(100, AH)));
    wait_until("kad master", Duration::from_secs(10), || lab.has_vip("1"));
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        !lab.has_vip("2"),
        "keepalived accepted kad's AH adverts and stayed backup: {}",
        ka.log()
    );
    assert!(!ka.log().contains("IPSEC"), "{}", ka.log());
    kad.term();
    wait_until("keepalived master", Duration::from_secs(5), || {
        lab.has_vip("2")
    });
    assert!(ka.log().contains("Entering MASTER STATE"));
}

#[test]
fn interop_ah_keepalived_master_kad_backup_then_failover() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let mut ka = lab.keepalived("1", &lab.config("n1.conf", &instance(150, AH)));
    let kad = lab.kad("2", &lab.config("n2.conf", &instance(100, AH)));
    wait_until("keepalived master", Duration::from_secs(10), || {
        lab.has_vip("1")
    });
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        !lab.has_vip("2"),
        "kad accepted keepalived's AH adverts: {}",
        kad.log()
    );
    assert_eq!(auth_counters(&kad), (0, 0, 0), "{}", kad.log());
    ka.crash();
    sh(&format!("ip -n {} addr del {VIP}/24 dev eth0", lab.ns("1")));
    wait_until("kad master", Duration::from_secs(6), || lab.has_vip("2"));
    // keepalived again, lower priority: it hears kad's adverts (its counter jumps past kad's).
    let ka2 = lab.keepalived("1", &lab.config("n1b.conf", &instance(50, AH)));
    std::thread::sleep(Duration::from_secs(6));
    assert!(lab.has_vip("2") && !lab.has_vip("1"), "{}", ka2.log());
    assert!(!ka2.log().contains("IPSEC"), "{}", ka2.log());
}

/// Internet checksum (RFC 1071).
fn inet_sum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A VRRPv2 advert for VRID `vrid` from 192.0.2.2 to 224.0.0.18 with `auth_type` and no
/// authentication data, IPv4 header (TTL 255, protocol 112) included.
fn v2_advert_packet(vrid: u8, priority: u8, auth_type: u8) -> Vec<u8> {
    let mut v = vec![0x21, vrid, priority, 1, auth_type, 1, 0, 0, 192, 0, 2, 100];
    v.extend_from_slice(&[0; 8]);
    let sum = inet_sum(&v);
    v[6..8].copy_from_slice(&sum.to_be_bytes());
    let total = (20 + v.len()) as u16;
    let mut ip = vec![
        0x45, 0xc0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 2, 224, 0, 0, 18,
    ];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&v);
    ip
}

/// Sends `packet` (IPv4 header included) out of eth0 of namespace `ns` as fast as it can,
/// at most `count` times and for at most `secs` seconds; returns how many went out.
fn blast(ns: String, packet: Vec<u8>, count: u64, secs: u64) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns");
        // SAFETY: moving this thread (only) into the test's own namespace; a raw socket and
        // sendto on buffers owned here.
        unsafe {
            use std::os::fd::AsRawFd;
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
            let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW);
            assert!(fd >= 0, "raw socket");
            let dev = b"eth0\0";
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                dev.as_ptr().cast(),
                dev.len() as u32,
            );
            let mut to: libc::sockaddr_in = std::mem::zeroed();
            to.sin_family = libc::AF_INET as u16;
            to.sin_addr.s_addr = u32::from_ne_bytes([224, 0, 0, 18]);
            let end = Instant::now() + Duration::from_secs(secs);
            let mut sent = 0u64;
            while sent < count && (!sent.is_multiple_of(1024) || Instant::now() < end) {
                let n = libc::sendto(
                    fd,
                    packet.as_ptr().cast(),
                    packet.len(),
                    0,
                    (&to as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as u32,
                );
                if n > 0 {
                    sent += 1;
                } else if Instant::now() >= end {
                    break;
                }
            }
            libc::close(fd);
            sent
        }
    })
}

#[test]
fn ah_wrong_auth_pass_or_a_forged_ah_type_is_dropped_and_counted() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let wrong = "    authentication {\n        auth_type AH\n        auth_pass not-kad\n    }\n";
    let n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, AH)));
    let n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, wrong)));
    wait_until("both masters", Duration::from_secs(10), || {
        lab.has_vip("1") && lab.has_vip("2")
    });
    wait_until("ICV failures counted", Duration::from_secs(5), || {
        auth_counters(&n1).2 > 0 && auth_counters(&n2).2 > 0
    });
    // A VRRP packet claiming auth type AH (2) but sent as plain protocol 112, priority 254:
    // nothing vouches for it, so node 1 must stay MASTER and count it.
    drop(n2);
    let before = auth_counters(&n1).2;
    let backups = n1.log().matches("Entering BACKUP").count();
    let forged = blast(lab.ns("c"), v2_advert_packet(51, 254, 2), 20, 5);
    assert_eq!(forged.join().expect("sender"), 20);
    wait_until("forged adverts counted", Duration::from_secs(5), || {
        auth_counters(&n1).2 >= before + 20
    });
    assert!(lab.has_vip("1"), "{}", n1.log());
    assert_eq!(
        n1.log().matches("Entering BACKUP").count(),
        backups,
        "{}",
        n1.log()
    );
}

/// Counts node `src`'s VRRP adverts seen on its switch port `v{port}` during `secs` seconds.
fn count_adverts(
    ns: String,
    port: String,
    src: [u8; 4],
    secs: u64,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns");
        // SAFETY: as in capture_garps; the socket is bound to one interface of the test's
        // own bridge namespace.
        unsafe {
            use std::os::fd::AsRawFd;
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
            let fd = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW,
                // ETH_P_ALL: the bridge consumes frames before per-protocol sockets see them.
                i32::from(0x0003u16.to_be()),
            );
            assert!(fd >= 0, "AF_PACKET socket");
            let name = std::ffi::CString::new(port).expect("name");
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = 0x0003u16.to_be();
            sll.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
            assert!(sll.sll_ifindex > 0, "port");
            libc::bind(
                fd,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            // In the kernel, keep only VRRP from `src`: the flood must not fill the buffer.
            let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
            let mut prog = [
                op(0x20, 0, 0, 26),                      // ld [26]: IPv4 source
                op(0x15, 0, 3, u32::from_be_bytes(src)), // jeq src
                op(0x30, 0, 0, 23),                      // ldb [23]: protocol
                op(0x15, 0, 1, 112),                     // jeq VRRP
                op(0x06, 0, 0, 0xffff),                  // accept
                op(0x06, 0, 0, 0),                       // drop
            ];
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_mut_ptr(),
            };
            assert_eq!(
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_ATTACH_FILTER,
                    (&fprog as *const libc::sock_fprog).cast(),
                    std::mem::size_of::<libc::sock_fprog>() as u32,
                ),
                0,
                "filter"
            );
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 100_000,
            };
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
            let end = Instant::now() + Duration::from_secs(secs);
            let mut seen = 0;
            let mut buf = [0u8; 256];
            while Instant::now() < end {
                let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                if n >= 34 && buf[23] == 112 && buf[26..30] == src {
                    seen += 1;
                }
            }
            libc::close(fd);
            seen
        }
    })
}

#[test]
fn a_flood_of_adverts_does_not_stop_the_masters_adverts() {
    if !enabled() {
        return;
    }
    let lab = Lab::up();
    let _n1 = lab.kad("1", &lab.config("n1.conf", &instance(150, "")));
    let n2 = lab.kad("2", &lab.config("n2.conf", &instance(100, "")));
    wait_until("node 1 master", Duration::from_secs(10), || {
        lab.has_vip("1")
    });
    std::thread::sleep(Duration::from_secs(2));
    // From the client: adverts of another VRID and malformed ones (bad checksum), as fast as
    // one thread can send, for at most 8 s, while node 1's port is watched.
    const SECS: u64 = 8;
    let watch = count_adverts(lab.ns("sw"), "v1".into(), [192, 0, 2, 11], SECS);
    let mut bad = v2_advert_packet(51, 50, 0);
    bad[26] ^= 0xff;
    let floods = [
        blast(lab.ns("c"), v2_advert_packet(52, 50, 0), 5_000_000, SECS),
        blast(lab.ns("c"), bad, 5_000_000, SECS),
    ];
    let t0 = Instant::now();
    let mut taken = false;
    while t0.elapsed() < Duration::from_secs(SECS) {
        taken |= lab.has_vip("2");
        std::thread::sleep(Duration::from_millis(200));
    }
    let sent: u64 = floods.into_iter().map(|f| f.join().expect("sender")).sum();
    let adverts = watch.join().expect("capture");
    eprintln!("flood: {sent} packets in {SECS} s; node 1 sent {adverts} adverts meanwhile");
    assert!(sent > 10_000, "the flood was a flood ({sent} packets)");
    assert!(
        !taken,
        "the backup took over during the flood: {}",
        n2.log()
    );
    assert!(
        !n2.log().contains("Entering MASTER"),
        "the backup took over during the flood: {}",
        n2.log()
    );
    assert!(adverts >= 2, "node 1 kept advertising ({adverts} seen)");
}
