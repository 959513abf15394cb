#!/usr/bin/env python3
"""make bench-daemon: kad beside keepalived 2.2.7, measured in the same run.

1. Respawn: N samples per daemon. Each sample starts the daemon fresh in its own mount and
   network namespace (so keepalived's respawn backoff never applies to either), SIGKILLs the
   VRRP child and measures the time until the replacement process exists; for kad also until
   it reports Ready (from kad's own log line). Medians are reported.
2. Idle: both daemons run the same one-instance VRRP config for IDLE seconds; summed CPU time
   and summed RSS of the parent and its children (both VRRP children advertise once a second).
Namespaces are private; the only link is a veth pair inside the namespace. Bounded in time.
"""
import os, re, signal, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import children, comm, cpu_rss  # noqa: E402

KAD = os.environ.get("KAD_BIN", os.path.join(os.path.dirname(__file__), "../../target/release/kad"))
SAMPLES = int(os.environ.get("SAMPLES", "50"))
IDLE = float(os.environ.get("IDLE", "20"))
WORK = tempfile.mkdtemp(prefix="kad-bench-daemon-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
CONF = os.path.join(WORK, "vrrp.conf")
with open(CONF, "w") as f:
    f.write("vrrp_instance VI_1 {\n    interface d0\n    virtual_router_id 51\n    priority 100\n"
            "    advert_int 1\n    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n")

SETUP = ("mount -t tmpfs t /tmp && mount -t tmpfs r /run && ip link set lo up && "
         "ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up && "
         "ip addr add 192.0.2.11/24 dev d0 && exec \"$0\" \"$@\"")

def start(cmd, log):
    return subprocess.Popen(["unshare", "--mount", "--net", "--", "sh", "-c", SETUP] + cmd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)


def wait(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.0005)
    return None

def vrrp_child(parent, kad):
    for c in children(parent):
        name = comm(c)
        if (kad and name == "kad: vrrp") or (not kad and name == "keepalived" and c != parent):
            return c
    return None

def stop(p):
    kids = children(p.pid)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        for k in kids + [p.pid]:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
        p.wait()

def respawn_sample(kad):
    log_path = os.path.join(WORK, "respawn.log")
    with open(log_path, "w") as log:
        cmd = [KAD, "-n", "-l", "-P", "-f", CONF] if kad else ["keepalived", "-n", "-l", "-P", "-f", CONF]
        p = start(cmd, log)
        try:
            old = wait(lambda: vrrp_child(p.pid, kad), 10)
            if not old:
                raise RuntimeError("no VRRP child started")
            if kad:
                wait(lambda: "ready" in open(log_path).read(), 10)
            else:
                time.sleep(0.3)
            t0 = time.monotonic()
            os.kill(old, signal.SIGKILL)
            new = wait(lambda: (lambda c: c if c and c != old else None)(vrrp_child(p.pid, kad)), 10)
            t_new = time.monotonic() - t0
            ready_ms = None
            if kad:
                line = wait(lambda: re.search(r"ready, ([0-9.]+) ms after its predecessor died", open(log_path).read()), 10)
                ready_ms = float(line.group(1)) if line else None
            return (t_new * 1000 if new else None), ready_ms
        finally:
            stop(p)

def idle(kad):
    with open(os.path.join(WORK, "idle.log"), "w") as log:
        cmd = [KAD, "-n", "-P", "-f", CONF] if kad else ["keepalived", "-n", "-P", "-f", CONF]
        p = start(cmd, log)
        try:
            wait(lambda: vrrp_child(p.pid, kad), 10)
            time.sleep(2)
            pids = [p.pid] + children(p.pid)
            t0, _ = cpu_rss(pids)
            time.sleep(IDLE)
            t1, rss = cpu_rss(pids)
            hz = os.sysconf("SC_CLK_TCK")
            return (t1 - t0) / hz / IDLE * 100.0, rss
        finally:
            stop(p)

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")

if __name__ == "__main__":
    results = {}
    for name, kad in (("kad", True), ("keepalived", False)):
        samples = [respawn_sample(kad) for _ in range(SAMPLES)]
        results[name] = {
            "respawn_ms": median([s[0] for s in samples]),
            "ready_ms": median([s[1] for s in samples]) if kad else None,
            "failed": sum(1 for s in samples if s[0] is None),
        }
        cpu, rss = idle(kad)
        results[name]["idle_cpu_pct"] = cpu
        results[name]["rss_kb"] = rss
    k, a = results["kad"], results["keepalived"]
    print(f"samples: {SAMPLES} respawns per daemon, idle window {IDLE:.0f} s, VRRP-only config (parent + VRRP child)")
    print(f"{'':12} {'respawn (ms)':>13} {'ready (ms)':>11} {'idle CPU %':>11} {'RSS (KB)':>9}")
    for n, r in results.items():
        ready = f"{r['ready_ms']:.1f}" if r["ready_ms"] is not None else "-"
        print(f"{n:12} {r['respawn_ms']:13.1f} {ready:>11} {r['idle_cpu_pct']:11.3f} {r['rss_kb']:9d}")
    print(f"respawn: kad/keepalived = {k['respawn_ms'] / a['respawn_ms']:.2f} (target: kad ready <= 100 ms: "
          f"{'met' if k['ready_ms'] <= 100 else 'NOT met'}, {k['ready_ms']:.1f} ms)")
    print(f"RSS: kad/keepalived = {k['rss_kb'] / a['rss_kb']:.2f} (target <= 0.5)")
    print(f"idle CPU: kad {k['idle_cpu_pct']:.3f} % vs keepalived {a['idle_cpu_pct']:.3f} % "
          "(CPU ticks are 10 ms: use a long IDLE for a ratio)")
    if k["failed"] or a["failed"]:
        print(f"failed samples: kad {k['failed']}, keepalived {a['failed']}")
        sys.exit(1)
