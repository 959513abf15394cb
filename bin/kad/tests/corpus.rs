//! The real-world config corpus (tests/corpus/: neutron L3 HA, octavia amphora, kolla-ansible,
//! the kubeadm HA guide, ceph ingress, the osixia/keepalived image) against keepalived 2.2.7:
//! `-t` gives the same warnings (kad adds only its keyword-table warnings), and each file run
//! as a daemon in a namespace reaches the same addresses, routes and rules keepalived reaches
//! on it, with keepalived run first in the same namespace. As root; ignored when built with
//! KAD_SYSTEM_TESTS=0. Addresses: 192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/32 inside the
//! test's own namespaces.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::lab::*;
use common::*;
use kad_core::config::keywords::{self, Block, Status};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(name)
        .canonicalize()
        .expect("corpus file")
}

/// A fresh lab whose nodes 1 and 2 have the extra ports neutron's file names (veth, peers
/// left unbridged in the switch namespace, so they stay up).
fn lab_with_ports() -> Lab {
    let lab = Lab::up();
    for n in ["1", "2"] {
        let (p, ns) = (&lab.p, lab.ns(n));
        for port in ["qg-ext", "qr-int"] {
            sh(&format!(
                "ip -n {p}sw link add {port}{n} type veth peer name {port} netns {ns} && ip -n {p}sw link set {port}{n} up && ip -n {ns} link set {port} up"
            ));
        }
    }
    lab
}

/// Runs `prog -t -f FILE` in node 1's namespace; returns (exit code, stdout+stderr lines).
fn check(lab: &Lab, prog: &str, file: &PathBuf) -> (i32, Vec<String>) {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns("1"), prog, "-t", "-f"])
        .arg(file)
        .output()
        .expect("run -t");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

/// keepalived's `-t` line, and the part of kad's `-t` line that says the same (at the same
/// FILE:LINE where keepalived names the line).
type Same = (&'static str, &'static str);

const SECURITY: Same = (
    "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
    "warning: SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
);

/// The same warnings from both: every keepalived line is one of `same` (so a new keepalived
/// warning fails), each has its kad counterpart, and kad says nothing else but its keyword
/// table's warnings (each checked against the table) and its summary line.
fn same_warnings(file: &str, same: &[Same]) {
    as_root();
    let lab = lab_with_ports();
    let path = corpus(file);
    let (ka_code, ka) = check(&lab, "/usr/sbin/keepalived", &path);
    let (kad_code, kad) = check(&lab, env!("CARGO_BIN_EXE_kad"), &path);
    // keepalived -t exits 6 on SECURITY VIOLATION; kad -t exits 0 with warnings (documented).
    assert_eq!(ka_code, 6, "keepalived -t {file}: {ka:#?}");
    assert_eq!(kad_code, 0, "kad -t {file}: {kad:#?}");
    for line in &ka {
        assert!(
            same.iter().any(|(k, _)| line.contains(k)),
            "{file}: keepalived says '{line}', which kad's corpus test does not know"
        );
    }
    let mut explained = BTreeSet::new();
    for (k, d) in same {
        assert!(
            ka.iter().any(|l| l.contains(k)),
            "{file}: keepalived no longer says '{k}': {ka:#?}"
        );
        let i = kad.iter().position(|l| l.contains(d));
        assert!(
            i.is_some(),
            "{file}: kad does not say '{d}' (keepalived: '{k}'): {kad:#?}"
        );
        explained.extend(i);
    }
    let text = std::fs::read_to_string(&path).expect("read");
    for (i, line) in kad.iter().enumerate() {
        if explained.contains(&i) || line.contains(": configuration OK: ") {
            continue;
        }
        assert!(
            table_warning(&text, line),
            "{file}: kad says '{line}', keepalived does not"
        );
    }
}

/// True if `line` is the keyword table's warning for the keyword at the line it names.
fn table_warning(text: &str, line: &str) -> bool {
    let Some((_, rest)) = line.split_once(".conf:") else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(n), Some(_col), Some(msg)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(n) = n.parse::<usize>() else {
        return false;
    };
    let Some(kw) = text
        .lines()
        .nth(n.wrapping_sub(1))
        .and_then(|l| l.split_whitespace().next())
    else {
        return false;
    };
    Block::ALL
        .iter()
        .any(|b| keywords::warning(*b, kw).is_some_and(|w| msg.trim() == format!("warning: {w}")))
}

/// Addresses, routes (every table) and rules of node 1, one normalized line each.
fn snapshot(lab: &Lab) -> BTreeSet<String> {
    let ns = lab.ns("1");
    let mut out = BTreeSet::new();
    for l in sh_out(&format!("ip -n {ns} -o addr show")).lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let (Some(dev), Some(fam), Some(addr)) = (w.get(1), w.get(2), w.get(3)) {
            out.insert(format!("addr {dev} {fam} {addr}"));
        }
    }
    for l in sh_out(&format!(
        "ip -n {ns} route show table all; ip -n {ns} -6 route show table all"
    ))
    .lines()
    {
        out.insert(format!("route {}", l.trim()));
    }
    for l in sh_out(&format!("ip -n {ns} rule show; ip -n {ns} -6 rule show")).lines() {
        out.insert(format!("rule {}", l.trim()));
    }
    out
}

/// Polls until two snapshots 500 ms apart agree and `ready` holds for it.
fn settled(lab: &Lab, what: &str, ready: impl Fn(&BTreeSet<String>) -> bool) -> BTreeSet<String> {
    let t0 = Instant::now();
    let mut last = snapshot(lab);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = snapshot(lab);
        if now == last && ready(&now) {
            return now;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "timed out waiting for {what}: {now:#?}"
        );
        last = now;
    }
}

/// Runs `file` under keepalived, then under kad, in node 1 (alone on its link, so each
/// instance ends MASTER) and compares what each installed. Lines of the snapshot that come
/// from a keyword kad does not act on yet (per the keyword table) may be missing under kad:
/// `pending` lists them, each with its keyword; once the table says acted on, they must match.
fn same_state(file: &str, extra: &[&str], pending: &[(&str, &str)]) {
    as_root();
    let lab = lab_with_ports();
    let path = corpus(file);
    let vip = |s: &BTreeSet<String>| s.iter().any(|l| l.contains(&format!("inet {VIP}/")));
    let baseline = snapshot(&lab);
    assert!(!vip(&baseline));

    let mut ka = lab.keepalived("1", &path);
    let with_ka = settled(&lab, &format!("keepalived MASTER on {file}"), vip);
    ka.term();
    settled(&lab, "keepalived to clean up", |s| *s == baseline);

    let mut kad = lab.kad_with("1", &path, extra);
    let ignored = |kw: &str| keywords::status(Block::Instance, kw) != Some(Status::Acted);
    let missing_ok: BTreeSet<&str> = pending
        .iter()
        .filter(|(kw, _)| ignored(kw))
        .map(|(_, l)| *l)
        .collect();
    let want: BTreeSet<String> = with_ka
        .iter()
        .filter(|l| !missing_ok.iter().any(|m| l.contains(m)))
        .cloned()
        .collect();
    let with_kad = settled(&lab, &format!("kad MASTER on {file}"), vip);
    assert_eq!(
        with_kad, want,
        "{file}: kad's addresses/routes/rules differ from keepalived's\nkeepalived: {with_ka:#?}\nkad log:\n{}",
        kad.log()
    );
    // Each pending line really was keepalived's (the allowance is not a blanket one).
    for (kw, l) in pending {
        assert!(
            with_ka.iter().any(|s| s.contains(l)),
            "{file}: keepalived has no '{l}' ({kw}): {with_ka:#?}"
        );
    }
    // The daemon prints the keyword table's warnings at start, with FILE:LINE.
    let text = std::fs::read_to_string(&path).expect("read");
    for (n, line) in text.lines().enumerate() {
        let Some(kw) = line.split_whitespace().next() else {
            continue;
        };
        if let Some(w) = keywords::warning(Block::Instance, kw) {
            let at = format!("{}:{}:", path.display(), n + 1);
            assert!(
                kad.log().lines().any(|l| l.contains(&at) && l.contains(&w)),
                "{file}: kad's log lacks '{at}… {w}':\n{}",
                kad.log()
            );
        }
    }
    kad.term();
    settled(&lab, "kad to clean up", |s| *s == baseline);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn neutron_l3_ha_t_warns_as_keepalived() {
    same_warnings(
        "neutron-l3-ha.conf",
        &[
            SECURITY,
            (
                "Line 35) Cannot specify scope for IPv6 addresses (fe80::f816:3eff:fe00:1/64) - ignoring scope",
                ".conf:35:9: warning: cannot specify scope for IPv6 addresses (fe80::f816:3eff:fe00:1/64)",
            ),
            (
                "(VR_1) Ignoring track_interface eth0 since own interface",
                ": warning: (VR_1) ignoring track_interface eth0 since it is the instance's own interface",
            ),
        ],
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn octavia_amphora_t_warns_as_keepalived() {
    same_warnings(
        "octavia-amphora.conf",
        &[
            SECURITY,
            (
                "Warning - nopreempt will not work with initial state MASTER - clearing",
                ".conf:12:3: warning: 'nopreempt' has no effect with 'state MASTER'",
            ),
        ],
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn kolla_kubeadm_ceph_osixia_t_warn_as_keepalived() {
    same_warnings(
        "kolla-ansible.conf",
        &[
            SECURITY,
            (
                "Line 28) Truncating auth_pass to 8 characters",
                ".conf:28:19: warning: auth_pass is longer than 8 characters",
            ),
        ],
    );
    for file in [
        "kubeadm-ha.conf",
        "ceph-ingress.conf",
        "osixia-keepalived.conf",
    ] {
        same_warnings(file, &[SECURITY]);
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn neutron_l3_ha_runs_as_keepalived() {
    // neutron runs keepalived -P; the lab's keepalived runs with -P too.
    same_state(
        "neutron-l3-ha.conf",
        &["-P"],
        &[
            (
                "virtual_routes",
                "route default via 198.51.100.1 dev qg-ext",
            ),
            (
                "virtual_routes",
                "route default via 2001:db8:1::fe dev qr-int",
            ),
        ],
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn octavia_amphora_runs_as_keepalived() {
    same_state(
        "octavia-amphora.conf",
        &["-P"],
        &[
            ("virtual_routes", "route 192.0.2.0/24 dev eth0 table 1"),
            (
                "virtual_routes",
                "route default via 192.0.2.1 dev eth0 table 1",
            ),
            ("virtual_rules", "from 192.0.2.100 lookup 1"),
        ],
    );
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn kolla_and_kubeadm_run_as_keepalived() {
    same_state("kolla-ansible.conf", &["-P"], &[]);
    same_state("kubeadm-ha.conf", &["-P"], &[]);
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn ceph_and_osixia_run_as_keepalived() {
    same_state("ceph-ingress.conf", &["-P"], &[]);
    same_state("osixia-keepalived.conf", &["-P"], &[]);
}

/// keepalived runs `file` on node 2 and becomes MASTER; then node 1 runs the same file, first
/// under keepalived, then under kad: both must stay BACKUP (equal priority, node 2 has the
/// higher address; `nopreempt` where the file has it), leaving node 2 the VIP.
fn backup_beside_keepalived(file: &str, extra: &[&str], settle: Duration) {
    as_root();
    let lab = lab_with_ports();
    let path = corpus(file);
    let _peer = lab.keepalived("2", &path);
    lab.wait_master("2", Duration::from_secs(30));
    for under_kad in [false, true] {
        let mut node = if under_kad {
            lab.kad_with("1", &path, extra)
        } else {
            lab.keepalived("1", &path)
        };
        let who = if under_kad { "kad" } else { "keepalived" };
        wait_until(
            &format!("{who} on node 1 in BACKUP"),
            Duration::from_secs(30),
            || node.log().contains("Entering BACKUP STATE"),
        );
        // Long enough for node 1's master-down timer to fire several times over.
        std::thread::sleep(settle);
        assert!(
            !lab.has_vip("1") && !node.log().contains("Entering MASTER STATE"),
            "{file}: {who} on node 1 took the VIP from keepalived's master:\n{}",
            node.log()
        );
        assert!(lab.has_vip("2"), "{file}: node 2 lost the VIP beside {who}");
        node.term();
    }
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn neutron_l3_ha_stays_backup_beside_a_keepalived_master() {
    // advert_int 2: master down after about 6 s.
    backup_beside_keepalived("neutron-l3-ha.conf", &["-P"], Duration::from_secs(12));
}

#[test]
#[cfg_attr(kad_no_system_tests, ignore = "KAD_SYSTEM_TESTS=0")]
fn kubeadm_ha_stays_backup_beside_a_keepalived_master() {
    backup_beside_keepalived("kubeadm-ha.conf", &["-P"], Duration::from_secs(6));
}
