#!/usr/bin/env python3
"""make bench-check: the checker child under load, kad beside keepalived in the same run.

Load: N_TCP real servers on TCP_CHECK and N_HTTP on HTTP_GET, delay_loop 1 (so N_TCP + N_HTTP
checks a second), 100 real servers per virtual server. Every real server is a distinct loopback
address (127.1.x.y for TCP, 127.2.x.y for HTTP) served by one fast local target (examples/
check_target) listening on 0.0.0.0 inside a private network namespace; no traffic leaves it.

1. This machine (kernel without ip_vs, where keepalived's checker exits at start): kad alone at
   full scale (default 10,000 TCP + 2,000 HTTP) for DURATION seconds: checker CPU % of one core,
   RSS, checks done per second, latency p50/p99 of the last attempt of every checker.
2. The ip_vs VM (../shared/ipvs-vm/run-in-vm, one emulated CPU under TCG): kad and keepalived
   2.2.7 one after the other on the same config at VM_TCP + VM_HTTP (scaled down: emulation is
   ~20-50x slower), VM_DURATION seconds each; CPU %, RSS, and their ratio.
Bounded: every run has a fixed duration; namespaces and the VM are thrown away after.
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import children, comm, cpu_rss, wait_for  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
KAD = os.environ.get("KAD_BIN", os.path.join(ROOT, "target/release/kad"))
TARGET = os.path.join(ROOT, "target/release/examples/check_target")
RUN_IN_VM = os.environ.get("RUN_IN_VM", os.path.join(ROOT, "../shared/ipvs-vm/run-in-vm"))
N_TCP = int(os.environ.get("N_TCP", "10000"))
N_HTTP = int(os.environ.get("N_HTTP", "2000"))
DURATION = float(os.environ.get("DURATION", "60"))
VM_TCP = int(os.environ.get("VM_TCP", "300"))
VM_HTTP = int(os.environ.get("VM_HTTP", "60"))
VM_DURATION = float(os.environ.get("VM_DURATION", "30"))
WARM = float(os.environ.get("WARM", "5"))
HZ = os.sysconf("SC_CLK_TCK")


def rs_addr(prefix, i):
    return f"127.{prefix}.{i // 250}.{i % 250 + 1}"


def gen_config(path, n_tcp, n_http, delay_loop=1, per_vs=100):
    out = ["global_defs {\n    router_id bench\n}\n"]

    def block(kind_prefix, n, vs_net, checker):
        for v in range((n + per_vs - 1) // per_vs):
            out.append(f"virtual_server {vs_net}.{v // 250}.{v % 250 + 1} 80 {{\n"
                       f"    delay_loop {delay_loop}\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n")
            for i in range(v * per_vs, min(n, (v + 1) * per_vs)):
                out.append(f"    real_server {rs_addr(kind_prefix, i)} {18080 + kind_prefix - 1} {{\n"
                           f"        {checker}\n    }}\n")
            out.append("}\n")

    block(1, n_tcp, "10.1", "TCP_CHECK {\n            connect_timeout 2\n        }")
    block(2, n_http, "10.2", "HTTP_GET {\n            url {\n                path /\n"
          "                status_code 200\n            }\n            connect_timeout 2\n        }")
    with open(path, "w") as f:
        f.write("".join(out))






def kad_snapshot(pid):
    path = f"/proc/{pid}/root/tmp/keepalived_check.json"
    try:
        os.unlink(path)
    except OSError:
        pass
    os.kill(pid, signal.SIGRTMIN + 2)
    got = wait_for(lambda: os.path.exists(path) and open(path).read(), 10, 0.05)
    return json.loads(got) if got else None


def checks_done(snap):
    return sum(c["stats"]["checks"] for v in snap["virtual_servers"]
               for r in v["real_servers"] for c in r["checkers"])


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else 0


def run(daemon, conf, duration, work):
    """Starts `daemon` (kad or keepalived) checker-only in fresh namespaces with the targets,
    measures its checker process for `duration` seconds; returns a dict of numbers."""
    log = open(os.path.join(work, f"{daemon}.log"), "w")
    if daemon == "kad":
        cmd = [KAD, "-n", "-l", "-C", "-f", conf]
    else:
        cmd = ["keepalived", "-n", "-l", "-C", "-f", conf, "-p", "/run/k.pid", "-c", "/run/kc.pid"]
    setup = ("mount -t tmpfs t /tmp && mount -t tmpfs r /run && ip link set lo up && "
             f"({TARGET} 0.0.0.0:18080 plain 2 &) && ({TARGET} 0.0.0.0:18081 http 2 &) && "
             "sleep 0.3 && exec \"$0\" \"$@\"")
    # Its own process group: the targets started by the shell are stopped with the daemon.
    proc = subprocess.Popen(["unshare", "--mount", "--net", "--", "sh", "-c", setup] + cmd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                            start_new_session=True)
    try:
        want = "kad: checker" if daemon == "kad" else "keepalived"
        child = wait_for(lambda: next((c for c in children(proc.pid) if comm(c) == want), None), 20, 0.05)
        if not child:
            raise RuntimeError(f"{daemon}: no checker child (see {log.name})")
        time.sleep(WARM)
        snap0 = kad_snapshot(proc.pid) if daemon == "kad" else None
        t0, (ticks0, _) = time.monotonic(), cpu_rss([child])
        time.sleep(duration)
        t1, (ticks1, rss) = time.monotonic(), cpu_rss([child])
        result = {"cpu_pct": 100.0 * (ticks1 - ticks0) / HZ / (t1 - t0), "rss_kb": rss}
        if daemon == "kad":
            snap1 = kad_snapshot(proc.pid)
            if snap0 and snap1:
                result["checks_per_s"] = (checks_done(snap1) - checks_done(snap0)) / (t1 - t0)
                lat = {}
                alive = total = 0
                for v in snap1["virtual_servers"]:
                    for r in v["real_servers"]:
                        total += 1
                        alive += r["alive"]
                        for c in r["checkers"]:
                            lat.setdefault(c["kind"], []).append(c["stats"]["last_latency_us"])
                result["alive"] = f"{alive}/{total}"
                result["latency_us"] = {k: (pct(v, 0.5), pct(v, 0.99)) for k, v in lat.items()}
        return result
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the targets, and anything left
        except ProcessLookupError:
            pass
        log.close()


def show(name, r):
    line = f"  {name:<11} CPU {r['cpu_pct']:6.1f} %   RSS {r['rss_kb']:7d} KB"
    if "checks_per_s" in r:
        line += f"   checks/s {r['checks_per_s']:8.0f}   alive {r['alive']}"
    print(line)
    for kind, (p50, p99) in sorted(r.get("latency_us", {}).items()):
        print(f"      {kind:<9} latency p50 {p50 / 1000:7.3f} ms   p99 {p99 / 1000:7.3f} ms")


def inside_vm():
    work = tempfile.mkdtemp(prefix="kad-bench-check-vm-", dir="/var/tmp")
    conf = os.path.join(work, "check.conf")
    gen_config(conf, VM_TCP, VM_HTTP)
    big = os.path.join(work, "big.conf")
    gen_config(big, N_TCP, N_HTTP, delay_loop=60)
    out = {}
    for d in ("kad", "keepalived"):
        out[d] = run(d, conf, VM_DURATION, work)
        out[d + "_big"] = run(d, big, VM_DURATION, work)
    print("RESULT " + json.dumps(out))


def main():
    if "--inside-vm" in sys.argv:
        return inside_vm()
    work = tempfile.mkdtemp(prefix="kad-bench-check-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    conf = os.path.join(work, "check.conf")
    gen_config(conf, N_TCP, N_HTTP)
    print(f"== this machine: kad alone, {N_TCP} TCP_CHECK + {N_HTTP} HTTP_GET, delay_loop 1, "
          f"{DURATION:.0f} s (keepalived's checker exits here: no ip_vs)")
    show("kad", run("kad", conf, DURATION, work))
    if os.environ.get("SKIP_VM") == "1" or not os.path.exists(RUN_IN_VM):
        print("== ip_vs VM skipped")
        return
    print(f"== ip_vs VM (1 emulated CPU): {VM_TCP} TCP_CHECK + {VM_HTTP} HTTP_GET, delay_loop 1, "
          f"{VM_DURATION:.0f} s each, same config for both")
    env = dict(os.environ, VM_TCP=str(VM_TCP), VM_HTTP=str(VM_HTTP), VM_DURATION=str(VM_DURATION),
               N_TCP=str(N_TCP), N_HTTP=str(N_HTTP))
    res = subprocess.run([RUN_IN_VM, "--", sys.executable, os.path.abspath(__file__), "--inside-vm"],
                         capture_output=True, text=True, env=env, timeout=VM_DURATION * 4 + 900)
    line = next((l for l in res.stdout.splitlines() if l.startswith("RESULT ")), None)
    if not line:
        print(res.stdout[-2000:], res.stderr[-2000:])
        raise SystemExit("the VM run gave no result")
    out = json.loads(line[7:])
    show("kad", out["kad"])
    show("keepalived", out["keepalived"])
    k, ka = out["kad"], out["keepalived"]
    print(f"  ratio kad/keepalived: CPU {k['cpu_pct'] / max(ka['cpu_pct'], 0.01):.2f}x   "
          f"RSS {k['rss_kb'] / max(ka['rss_kb'], 1):.2f}x")
    print(f"== ip_vs VM: memory at full scale ({N_TCP} TCP_CHECK + {N_HTTP} HTTP_GET, delay_loop 60)")
    show("kad", out["kad_big"])
    show("keepalived", out["keepalived_big"])
    k, ka = out["kad_big"], out["keepalived_big"]
    print(f"  ratio kad/keepalived: CPU {k['cpu_pct'] / max(ka['cpu_pct'], 0.01):.2f}x   "
          f"RSS {k['rss_kb'] / max(ka['rss_kb'], 1):.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
