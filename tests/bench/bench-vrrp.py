#!/usr/bin/env python3
"""make bench-vrrp: VRRP failover, start-up and idle cost of kad beside keepalived 2.2.7.

Same run, same machine, in namespaces this script makes (bridge + two nodes, 192.0.2.0/24).
Pairs: keepalived/keepalived, kad/kad, kad master + keepalived backup, keepalived master +
kad backup. For each pair, VRRPv2 advert_int 1 and VRRPv3 advert_int 0.1, REPS times each:
node 1 (priority 200) becomes master, then gets SIGTERM (graceful) or SIGKILL of its whole
process group (crash) at a phase of the advert cycle spread evenly over the REPS runs (run k
of n about (k + 0.5) / n of an interval after the master's fourth advert, plus the few ms it
takes to see its VIP; the same phases for every pair); the time until node 2 holds the VIP is
measured. A random phase (the old way: one seeded draw per run, other draws for each pair)
moved a median of 5 runs by 10-25 ms at advert_int 0.1 and made pairs look different that
are not (see takeover-wire.py).
Then: spawn -> VIP alone on the link; and CPU time and summed RSS over IDLE seconds for 1 and
50 instances (a master and its backup). Medians; ratios kad/keepalived. Bounded in time.
"""
import os, re, signal, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_rss  # noqa: E402

KAD = os.path.abspath(os.environ.get("KAD_BIN", os.path.join(os.path.dirname(__file__), "../../target/release/kad")))
REPS = int(os.environ.get("REPS", "5"))
IDLE = float(os.environ.get("IDLE", "60"))
P = "kb%d" % (os.getpid() % 1000)
WORK = tempfile.mkdtemp(prefix="kad-bench-vrrp-", dir="/var/tmp")
VIP = "192.0.2.100"

def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def lab_up():
    sh(f"ip netns add {P}sw && ip -n {P}sw link add br0 type bridge && ip -n {P}sw link set br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 && ip -n {P}sw link set br0 up")
    for n, ip in (("1", "192.0.2.11"), ("2", "192.0.2.12")):
        sh(f"ip netns add {P}{n} && ip -n {P}sw link add v{n} type veth peer name eth0 netns {P}{n} && ip -n {P}sw link set v{n} master br0 up && ip -n {P}{n} link set lo up && ip -n {P}{n} link set eth0 up && ip -n {P}{n} addr add {ip}/24 dev eth0")

def lab_down():
    for n in ("1", "2", "sw"):
        for pid in subprocess.run(f"ip netns pids {P}{n}", shell=True, capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(f"ip netns del {P}{n}", shell=True, stderr=subprocess.DEVNULL)

def has_vip(n):
    out = subprocess.run(["ip", "-n", f"{P}{n}", "-4", "-o", "addr", "show", "dev", "eth0"], capture_output=True, text=True).stdout
    return f"inet {VIP}/" in out

def config(priority, version, interval, instances=1):
    out = f"global_defs {{\n  vrrp_version {version}\n}}\n"
    for i in range(instances):
        vip = VIP if i == 0 else f"192.0.2.{150 + i}"
        out += (f"vrrp_instance VI_{i + 1} {{\n  interface eth0\n  virtual_router_id {51 + i}\n  priority {priority}\n"
                f"  advert_int {interval}\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n")
    return out

STARTS = [0]

def start(daemon, node, conf_text, tag):
    # Every start gets its own files: a SIGKILLed keepalived leaves its pidfiles behind, and
    # one started again on the same paths does not come up.
    STARTS[0] += 1
    tag = f"{tag}-{STARTS[0]}"
    conf = os.path.join(WORK, f"{tag}-{node}.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    log = open(os.path.join(WORK, f"{tag}-{node}.log"), "w")
    if daemon == "kad":
        cmd = ["ip", "netns", "exec", f"{P}{node}", "unshare", "--mount", "--", "sh", "-c",
               'mount -t tmpfs t /tmp && mount -t tmpfs r /run && exec "$0" "$@"', KAD, "-n", "-l", "-P", "-f", conf]
    else:
        cmd = ["ip", "netns", "exec", f"{P}{node}", "keepalived", "-n", "-l", "-P", "-f", conf,
               "-p", os.path.join(WORK, f"{tag}-{node}.pid"), "-r", os.path.join(WORK, f"{tag}-{node}-v.pid")]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)

def kill_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except OSError:
        pass

def stop(p):
    kill_group(p, signal.SIGKILL)
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass

def wait_for(cond, timeout, step=0.002):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(step)
    return None

def clear_vips():
    for n in ("1", "2"):
        subprocess.run(f"ip -n {P}{n} addr del {VIP}/24 dev eth0", shell=True, stderr=subprocess.DEVNULL)

def failover(master, backup, version, interval, mode, phase):
    clear_vips()
    tag = f"fo-{master}-{backup}"
    a = start(master, "1", config(200, version, interval), tag)
    b = start(backup, "2", config(100, version, interval), tag)
    try:
        if wait_for(lambda: has_vip("1"), 12 * interval + 5) is None:
            return None
        time.sleep((3 + phase) * interval)
        if has_vip("2"):
            return None
        t0 = time.monotonic()
        if mode == "term":
            os.kill(a.pid, signal.SIGTERM)
        else:
            kill_group(a, signal.SIGKILL)
        t = wait_for(lambda: has_vip("2"), 10 * interval + 3)
        return None if t is None else (time.monotonic() - t0) * 1000
    finally:
        stop(a)
        stop(b)

def startup(daemon, version, interval):
    clear_vips()
    t0 = time.monotonic()
    a = start(daemon, "1", config(200, version, interval), f"st-{daemon}")
    try:
        t = wait_for(lambda: has_vip("1"), 10 * interval + 5)
        return None if t is None else (time.monotonic() - t0) * 1000
    finally:
        stop(a)

def group_pids(p):
    out = subprocess.run(["pgrep", "-g", str(p.pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]

def idle(daemon, instances):
    clear_vips()
    a = start(daemon, "1", config(200, 2, 1, instances), f"idle-{daemon}")
    b = start(daemon, "2", config(100, 2, 1, instances), f"idle-{daemon}")
    try:
        wait_for(lambda: has_vip("1"), 10)
        time.sleep(2)
        # The group leader is the daemon's parent itself (ip netns exec / unshare / sh exec it).
        pa, pb = group_pids(a), group_pids(b)
        ta0, _ = cpu_rss(pa)
        tb0, _ = cpu_rss(pb)
        time.sleep(IDLE)
        ta1, ra = cpu_rss(pa)
        tb1, rb = cpu_rss(pb)
        hz = os.sysconf("SC_CLK_TCK")
        return (ta1 - ta0) / hz, ra, (tb1 - tb0) / hz, rb
    finally:
        stop(a)
        stop(b)

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")

def main():
    lab_down()
    lab_up()
    try:
        pairs = [("keepalived", "keepalived"), ("kad", "kad"), ("kad", "keepalived"), ("keepalived", "kad")]
        print(f"bench-vrrp: {REPS} reps per cell, medians in ms (time until node 2 holds the VIP)")
        print(f"{'master -> backup':26} {'v2 1s term':>11} {'v2 1s kill':>11} {'v3 0.1s term':>13} {'v3 0.1s kill':>13}")
        table = {}
        for m, b in pairs:
            row = []
            for version, interval in ((2, 1), (3, 0.1)):
                for mode in ("term", "kill"):
                    row.append(med([failover(m, b, version, interval, mode, (k + 0.5) / REPS) for k in range(REPS)]))
            table[(m, b)] = row
            print(f"{m + ' -> ' + b:26} " + " ".join(f"{v:11.0f}" if i < 2 else f"{v:13.0f}" for i, v in enumerate(row)))
        kk, aa = table[("kad", "kad")], table[("keepalived", "keepalived")]
        print("failover ratio kad/keepalived: " + ", ".join(f"{k / a:.2f}" for k, a in zip(kk, aa)) + " (target <= 1.0)")
        st = {}
        for d in ("keepalived", "kad"):
            st[d] = [med([startup(d, 2, 1) for _ in range(REPS)]), med([startup(d, 3, 0.1) for _ in range(REPS)])]
            print(f"start -> MASTER {d:11}: v2 1 s {st[d][0]:.0f} ms, v3 0.1 s {st[d][1]:.0f} ms")
        print(f"start ratio kad/keepalived: {st['kad'][0] / st['keepalived'][0]:.2f}, {st['kad'][1] / st['keepalived'][1]:.2f}")
        for n in (1, 50):
            res = {d: idle(d, n) for d in ("keepalived", "kad")}
            for d, (ca, ra, cb, rb) in res.items():
                print(f"idle {n:2} instance(s) {d:11}: master CPU {ca:.2f} s RSS {ra} KB, backup CPU {cb:.2f} s RSS {rb} KB over {IDLE:.0f} s")
            k, a = res["kad"], res["keepalived"]
            cpu = (k[0] + k[2]) / max(a[0] + a[2], 1e-9)
            print(f"idle {n:2}: CPU kad/keepalived {cpu:.2f} (target <= 0.5), RSS kad/keepalived {(k[1] + k[3]) / (a[1] + a[3]):.2f} (target <= 0.5)")
    finally:
        lab_down()

if __name__ == "__main__":
    main()
