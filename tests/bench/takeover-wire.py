#!/usr/bin/env python3
"""Where a VRRPv3 takeover's time goes, read off the wire (root; ~2 min with the defaults).

The bench-vrrp lab (bridge + two node namespaces, 192.0.2.0/24) with tcpdump on the bridge.
For each pair (kad/kad, keepalived/keepalived, and the two mixed pairs unless PAIRS says
otherwise), REPS times: node 1 (priority 200) master at advert_int 0.1, node 2 (priority 100)
backup; SIGKILL of node 1's process group at phases spread evenly over the advert cycle (as
bench-vrrp does). Per rep:

  gap     last advert of the dead master -> first advert of the new one on the wire
          (RFC 5798: Master_Down_Interval = 3 x 100 ms + (256 - 100) x 100 ms / 256 = 360.9 ms)
  garp    first advert of the new master -> its first gratuitous ARP for the VIP
  phase   last advert of the dead master -> the kill (what the phase took off the takeover)
  wire    the kill -> first advert of the new master (gap - phase)
  seen    the kill -> node 2's VIP seen by polling `ip addr` (what bench-vrrp reports)
  period  the master's advert period before the kill (100 ms configured)

Medians and spreads per pair. Timestamps are the bridge's capture times (one clock).
"""
import importlib.util, os, signal, statistics, struct, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench_vrrp", os.path.join(HERE, "bench-vrrp.py"))
bv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bv)

REPS = int(os.environ.get("REPS", "20"))
PAIRS = [tuple(p.split("/")) for p in os.environ.get(
    "PAIRS", "kad/kad,keepalived/keepalived,kad/keepalived,keepalived/kad").split(",")]
INTERVAL = 0.1
N1, N2 = "192.0.2.11", "192.0.2.12"


def read_pcap(path):
    """(time, kind, ip) of VRRP adverts ('advert', source) and ARP packets ('arp', sender ip)."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    scale = 1e-9 if magic == 0xA1B23C4D else 1e-6
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac * scale
        if len(pkt) < 14:
            continue
        eth = struct.unpack("!H", pkt[12:14])[0]
        if eth == 0x0800 and len(pkt) >= 34 and pkt[23] == 112:
            out.append((t, "advert", ".".join(map(str, pkt[26:30]))))
        elif eth == 0x0806 and len(pkt) >= 42:
            out.append((t, "arp", ".".join(map(str, pkt[28:32]))))
    return out


def rep(master, backup, phase):
    """One failover; returns wall times (start, kill, seen) or None."""
    bv.clear_vips()
    t_start = time.time()
    a = bv.start(master, "1", bv.config(200, 3, INTERVAL), f"tw-{master}-{backup}")
    b = bv.start(backup, "2", bv.config(100, 3, INTERVAL), f"tw-{master}-{backup}")
    try:
        if bv.wait_for(lambda: bv.has_vip("1"), 10) is None:
            return None
        time.sleep((3 + phase) * INTERVAL)
        if bv.has_vip("2"):
            return None
        t_kill = time.time()
        bv.kill_group(a, signal.SIGKILL)
        if bv.wait_for(lambda: bv.has_vip("2"), 5) is None:
            return None
        return t_start, t_kill, time.time()
    finally:
        bv.stop(a)
        bv.stop(b)


def analyse(packets, t_start, t_kill, t_seen):
    window = [p for p in packets if t_start <= p[0] <= t_seen + 0.05]
    last1 = max((p[0] for p in window if p[1] == "advert" and p[2] == N1 and p[0] <= t_kill + 0.01), default=None)
    first2 = min((p[0] for p in window if p[1] == "advert" and p[2] == N2 and last1 and p[0] > last1), default=None)
    garp = min((p[0] for p in window if p[1] == "arp" and p[2] == bv.VIP and first2 and p[0] >= first2 - 0.05), default=None)
    if last1 is None or first2 is None:
        return None
    sent = [p[0] for p in window if p[1] == "advert" and p[2] == N1]
    steps = [(b - a) * 1000 for a, b in zip(sent, sent[1:]) if b - a < 2 * INTERVAL]
    return {
        "gap": (first2 - last1) * 1000,
        "garp": (garp - first2) * 1000 if garp else float("nan"),
        "phase": (t_kill - last1) * 1000,
        "seen": (t_seen - t_kill) * 1000,
        "wire": (first2 - t_kill) * 1000,
        "interval": statistics.median(steps) if steps else float("nan"),
    }


def summary(xs):
    xs = sorted(x for x in xs if x == x)
    if not xs:
        return "-"
    return f"{statistics.median(xs):7.1f} [{xs[0]:6.1f} .. {xs[-1]:6.1f}]"


def main():
    bv.lab_down()
    bv.lab_up()
    pcap = os.path.join(bv.WORK, "takeover.pcap")
    dump = subprocess.Popen(["ip", "netns", "exec", f"{bv.P}sw", "tcpdump", "-i", "br0", "-U", "-w", pcap,
                             "--time-stamp-precision=micro", "ip proto 112 or arp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = []
    try:
        time.sleep(1)
        for m, b in PAIRS:
            for k in range(REPS):
                r = rep(m, b, (k + 0.5) / REPS)
                if r:
                    runs.append((m, b) + r)
        time.sleep(0.5)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
        bv.lab_down()
    packets = read_pcap(pcap)
    print(f"takeover on the wire, v3 advert_int {INTERVAL} s, backup priority 100 "
          f"(Master_Down_Interval 360.9 ms), SIGKILL, median [min .. max] in ms")
    print(f"{'master -> backup':26} {'n':>3} {'gap':>24} {'advert->GARP':>24} {'phase':>24} {'kill->advert':>24} {'kill->seen':>24} {'period':>24}")
    for m, b in PAIRS:
        rows = [analyse(packets, *r[2:]) for r in runs if r[:2] == (m, b)]
        rows = [r for r in rows if r]
        print(f"{m + ' -> ' + b:26} {len(rows):3} " + " ".join(
            f"{summary([r[k] for r in rows]):>24}" for k in ("gap", "garp", "phase", "wire", "seen", "interval")))


if __name__ == "__main__":
    main()
