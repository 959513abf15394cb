#!/usr/bin/env python3
"""make bench-reload: SIGHUP on a large file, kad beside keepalived 2.2.7 in the ip_vs VM.

Files: N virtual servers (default 10,000), one real server each behind TCP_CHECK, delay_loop
DELAY (default 30 s, so N / DELAY checks a second). Every real server is a distinct loopback
address (127.3.x.y) served by one target (examples/check_target) that logs the time of every
accept: a checker's schedule is read from the outside. The reloaded file is the same file with
CHANGE % of the real servers' weights changed (1 -> 2): the IPVS diff is CHANGE % of N
destination edits.

For each daemon, one after the other in a fresh network namespace of the VM (one emulated CPU):
start on the first file, wait until the kernel table has N services and every checker has run,
attach strace to the checker process (sendmsg/sendto on netlink sockets only), SIGHUP the parent
with the second file in place, and measure
  - applied: seconds from SIGHUP until the kernel shows the last changed weight (ipvsadm, polled),
  - gap: the longest interval between two checks of one real server across the reload (and how
    many real servers waited more than 2 x delay_loop), from the target's accept log,
  - netlink: sendmsg/sendto calls on netlink sockets by the checker process from SIGHUP until
    2 x delay_loop after it (IPVS generic netlink, and rtnetlink),
  - flaps: "Removing service" lines in the daemon's log.
Bounded: every wait has a timeout, the VM has one; namespaces and the VM are thrown away after.
Environment: N, DELAY, CHANGE, SKIP_VM=1 (nothing to run without the VM).
"""
import json, os, re, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import children, comm, wait_for  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
KAD = os.environ.get("KAD_BIN", os.path.join(ROOT, "target/release/kad"))
TARGET = os.path.join(ROOT, "target/release/examples/check_target")
RUN_IN_VM = os.environ.get("RUN_IN_VM", os.path.join(ROOT, "../shared/ipvs-vm/run-in-vm"))
N = int(os.environ.get("N", "10000"))
DELAY = int(os.environ.get("DELAY", "30"))
CHANGE = float(os.environ.get("CHANGE", "1"))
PORT = 18090


def addr(net, i):
    return f"{net}.{i // 250}.{i % 250 + 1}"


def changed(i):
    """True for the real servers whose weight the second file changes."""
    every = max(1, round(100 / CHANGE)) if CHANGE > 0 else 0
    return every > 0 and i % every == every - 1


def gen_config(path, reloaded):
    out = ["global_defs {\n    router_id bench\n}\n"]
    for i in range(N):
        w = 2 if reloaded and changed(i) else 1
        out.append(f"virtual_server {addr('10.3', i)} 80 {{\n    delay_loop {DELAY}\n"
                   "    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n"
                   f"    real_server {addr('127.3', i)} {PORT} {{\n        weight {w}\n"
                   "        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n}\n")
    with open(path, "w") as f:
        f.write("".join(out))


def ipvs_services():
    """Services in the kernel, from /proc/net/ip_vs: one read, where `ipvsadm -Ln` is one
    netlink dump per service (10,001 at full size, seconds of the VM's only CPU per poll)."""
    with open("/proc/net/ip_vs") as f:
        return sum(1 for l in f if l.startswith("TCP"))


def weight_of(i):
    """The weight the kernel has for real server i (None if absent)."""
    out = subprocess.run(["ipvsadm", "-Ln", "-t", f"{addr('10.3', i)}:80"],
                         capture_output=True, text=True).stdout
    for l in out.splitlines():
        f = l.split()
        if len(f) >= 4 and f[0] == "->" and f[1].startswith(addr("127.3", i) + ":"):
            return int(f[3])
    return None


# IPVS generic netlink commands that only read (GET_SERVICE, GET_DEST, GET_DAEMON, GET_CONFIG,
# GET_INFO): kad's periodic repair reads its services back.
READ_COMMANDS = {4, 8, 11, 13, 15}


def only_reads(line):
    """True if every netlink message in one strace'd sendto/sendmsg line is a read: strace
    prints each message's payload after its header as a string whose first byte is the
    generic netlink command."""
    escapes = {"t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
    cmds = [int(m[1:], 16) if m[0] == "x" else escapes[m]
            for m in re.findall(r'\}, "\\(x[0-9a-f]{2}|[tnvfr])', line)]
    return bool(cmds) and all(c in READ_COMMANDS for c in cmds)


def gaps(log, t_hup, t_end):
    """Per real server, the longest interval between two checks that ends after SIGHUP (or
    that is still open at t_end); servers never checked before SIGHUP are left out."""
    times = {}
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                times.setdefault(parts[1], []).append(float(parts[0]))
    out = []
    for ts in times.values():
        ts.sort()
        before = [t for t in ts if t < t_hup]
        if not before:
            continue
        seq = [before[-1]] + [t for t in ts if t_hup <= t <= t_end] + [t_end]
        out.append(max(b - a for a, b in zip(seq, seq[1:])))
    missing = N - len(out)
    return sorted(out), missing


def note(what):
    sys.stderr.write(f"bench-reload: {what}\n")
    sys.stderr.flush()


def one(daemon, conf_a, conf_b, work):
    """Inside a fresh net+mount namespace: one daemon's reload, as a dict of numbers."""
    subprocess.run("mount -t tmpfs t /tmp && mount -t tmpfs r /run && ip link set lo up",
                   shell=True, check=True)
    conf = os.path.join(work, f"{daemon}.conf")
    shutil.copy(conf_a, conf)
    accepts = os.path.join(work, f"{daemon}-accepts.log")
    target = subprocess.Popen([TARGET, f"0.0.0.0:{PORT}", "plain", "2"],
                              env=dict(os.environ, CHECK_TARGET_LOG=accepts))
    log = open(os.path.join(work, f"{daemon}.log"), "w")
    if daemon == "kad":
        cmd = [KAD, "-n", "-l", "-C", "-f", conf]
    else:
        cmd = ["keepalived", "-n", "-l", "-C", "-f", conf, "-p", "/run/k.pid", "-c", "/run/kc.pid"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    strace = None
    try:
        want = "kad: checker" if daemon == "kad" else "keepalived"
        child = wait_for(lambda: next((c for c in children(proc.pid) if comm(c) == want), None), 60, 0.1)
        if not child:
            raise RuntimeError(f"{daemon}: no checker child")
        note(f"{daemon}: checker {child}")
        t0 = time.time()
        if not wait_for(lambda: ipvs_services() >= N, 900, 2):
            raise RuntimeError(f"{daemon}: the table never reached {N} services")
        started = time.time() - t0
        note(f"{daemon}: {N} services after {started:.1f} s")
        time.sleep(DELAY * 1.5)  # every checker has run at least once
        trace = os.path.join(work, f"{daemon}.strace")
        strace = subprocess.Popen(["strace", "-f", "-qq", "-yy", "--seccomp-bpf", "-e",
                                   "trace=sendmsg,sendto", "-e", "signal=none", "-o", trace,
                                   "-p", str(child)], stderr=subprocess.DEVNULL)
        time.sleep(2)  # attached
        last = max((i for i in range(N) if changed(i)), default=None)
        shutil.copy(conf_b, conf)
        t_hup = time.time()
        os.kill(proc.pid, signal.SIGHUP)
        note(f"{daemon}: SIGHUP")
        applied = None
        if last is not None and wait_for(lambda: weight_of(last) == 2, 900, 0.02):
            applied = time.time() - t_hup
        time.sleep(DELAY * 2)
        t_end = time.time()
        strace.send_signal(signal.SIGINT)
        strace.wait(30)
        out = subprocess.run(["ipvsadm", "-Ln"], capture_output=True, text=True).stdout
        dests_w2 = sum(1 for l in out.splitlines() if l.split()[:1] == ["->"] and l.split()[3:4] == ["2"])
        calls = open(trace).read().splitlines()
        genl_calls = [l for l in calls if "NETLINK:[GENERIC" in l]
        genl = sum(1 for l in genl_calls if not only_reads(l))
        genl_reads = len(genl_calls) - genl
        rtnl = sum(1 for l in calls if "NETLINK:[ROUTE" in l)
        g, missing = gaps(accepts, t_hup, t_end)
        text = open(log.name).read()
        flaps = text.count("Removing service")
        why = [l for l in text.splitlines() if "failed" in l][:3]
        return {"start_s": started, "applied_s": applied, "genl": genl, "genl_reads": genl_reads,
                "rtnl": rtnl,
                "dests_changed": dests_w2, "want_changed": sum(1 for i in range(N) if changed(i)),
                "gap_max": g[-1] if g else None, "gap_p99": g[int(len(g) * 0.99)] if g else None,
                "late": sum(1 for x in g if x > 2 * DELAY), "unmeasured": missing, "flaps": flaps, "why": why}
    finally:
        if strace and strace.poll() is None:
            strace.kill()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        target.kill()
        log.close()


def inside_vm():
    work = tempfile.mkdtemp(prefix="kad-bench-reload-", dir="/var/tmp")
    a, b = os.path.join(work, "a.conf"), os.path.join(work, "b.conf")
    gen_config(a, False)
    gen_config(b, True)
    out = {}
    for d in ("kad", "keepalived"):
        res = subprocess.run(["unshare", "--mount", "--net", "--", sys.executable,
                              os.path.abspath(__file__), "--one", d, a, b, work],
                             capture_output=True, text=True, timeout=DELAY * 10 + 2400)
        line = next((l for l in res.stdout.splitlines() if l.startswith("RESULT ")), None)
        if not line:
            sys.stderr.write(res.stdout[-3000:] + res.stderr[-3000:])
            out[d] = None
            continue
        out[d] = json.loads(line[7:])
    print("RESULT " + json.dumps(out))


def show(name, r):
    if not r:
        print(f"  {name:<11} no result")
        return
    ap = f"{r['applied_s']:7.2f} s" if r["applied_s"] is not None else "  never"
    print(f"  {name:<11} SIGHUP->applied {ap}   longest check gap {r['gap_max']:6.1f} s "
          f"(p99 {r['gap_p99']:5.1f} s, {r['late']} over 2 x delay_loop, {r['unmeasured']} unmeasured)   "
          f"netlink sends: IPVS changes {r['genl']} (+{r.get('genl_reads', 0)} read-only), "
          f"rtnetlink {r['rtnl']}   "
          f"changed weights {r['dests_changed']}/{r['want_changed']}   flaps {r['flaps']}   "
          f"(start to full table {r['start_s']:.1f} s)")
    for line in r.get("why", []):
        print(f"      {line}")


def ratio(a, b):
    return f"{a / b:.3f}x" if a is not None and b else "n/a"


def main():
    if sys.argv[1:2] == ["--inside-vm"]:
        return inside_vm()
    if sys.argv[1:2] == ["--one"]:
        d, a, b, work = sys.argv[2:6]
        print("RESULT " + json.dumps(one(d, a, b, work)), flush=True)
        return
    if os.environ.get("SKIP_VM") == "1" or not os.path.exists(RUN_IN_VM):
        print("== bench-reload needs the ip_vs VM (../shared/ipvs-vm/run-in-vm); skipped")
        return
    print(f"== ip_vs VM (1 emulated CPU): SIGHUP on {N} virtual servers x 1 TCP_CHECK, "
          f"delay_loop {DELAY}, {CHANGE:g} % of the weights changed; same files for both")
    env = dict(os.environ, N=str(N), DELAY=str(DELAY), CHANGE=str(CHANGE))
    res = subprocess.run([RUN_IN_VM, "-m", "2048", "-t", str(DELAY * 20 + 3000),
                          "-e", f"N={N}", "-e", f"DELAY={DELAY}", "-e", f"CHANGE={CHANGE}", "--",
                          sys.executable, os.path.abspath(__file__), "--inside-vm"],
                         capture_output=True, text=True, env=env, timeout=DELAY * 20 + 3100)
    line = next((l for l in res.stdout.splitlines() if l.startswith("RESULT ")), None)
    if not line:
        print(res.stdout[-3000:], res.stderr[-3000:])
        raise SystemExit("the VM run gave no result")
    out = json.loads(line[7:])
    show("kad", out["kad"])
    show("keepalived", out["keepalived"])
    k, ka = out["kad"], out["keepalived"]
    if k and ka:
        print(f"  ratio kad/keepalived: SIGHUP->applied {ratio(k['applied_s'], ka['applied_s'])}   "
              f"longest gap {ratio(k['gap_max'], ka['gap_max'])}   "
              f"netlink sends {ratio(k['genl'] + k['rtnl'], ka['genl'] + ka['rtnl'])}")
    if res.stderr.strip():
        sys.stderr.write(res.stderr[-2000:])


if __name__ == "__main__":
    main()
