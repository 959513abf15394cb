"""Helpers shared by the benchmark scripts: /proc readings and polling."""
import re
import time


def cpu_rss(pids):
    """Summed CPU ticks (user + system) and RSS (KB) of `pids`; vanished pids count as 0."""
    ticks = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            with open(f"/proc/{pid}/status") as f:
                rss += int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            pass
    return ticks, rss


def wait_for(cond, timeout, step=0.0005):
    """Polls `cond` until it returns something true (returned) or `timeout` seconds pass (None)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return None


def children(pid):
    """Child pids of `pid` (empty if it is gone)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def comm(pid):
    """The process name of `pid` ("" if it is gone)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""
