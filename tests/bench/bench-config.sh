#!/usr/bin/env bash
# make bench-config: kad -t and keepalived -t on the same generated configuration
# (10,000 virtual servers x 4 real servers with HTTP_GET), same run, same machine.
# Prints the median wall time and peak RSS of each, and the ratios kad/keepalived.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kad=${KAD_BIN:-$here/../../target/release/kad}
runs=${RUNS:-7}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 "$here/gen-config.py" "${VS:-10000}" "${RS:-4}" > "$out/big.conf"
echo "config: $(grep -c '^virtual_server' "$out/big.conf") virtual servers, $(grep -c 'real_server' "$out/big.conf") real servers, $(wc -l < "$out/big.conf") lines"

# measure CMD...: runs CMD $runs times bare (wall time from nanosecond clock reads), then
# $runs times under /usr/bin/time for peak RSS; prints "median_seconds max_rss_kb".
measure() {
  local times=() rss=0 t r start end
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    times+=("$(( end - start ))")
    /usr/bin/time -f "%M" -o "$out/time" "$@" >/dev/null 2>&1 || true
    read -r r < "$out/time"
    (( r > rss )) && rss=$r
  done
  t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%s %s\n' "$(python3 -c "print(f'{$t / 1e9:.4f}')")" "$rss"
}

read -r kad_t kad_rss < <(measure "$kad" -t -f "$out/big.conf")
read -r ka_t ka_rss < <(measure keepalived -t -f "$out/big.conf")
"$kad" -t -f "$out/big.conf" >/dev/null 2>&1 || { echo "kad -t rejected the benchmark config"; exit 1; }
printf '%-12s %10s %12s\n' "" "time (s)" "peak RSS (KB)"
printf '%-12s %10s %12s\n' kad "$kad_t" "$kad_rss" keepalived "$ka_t" "$ka_rss"
python3 - "$kad_t" "$ka_t" "$kad_rss" "$ka_rss" <<'PY'
import sys
kt, at, kr, ar = map(float, sys.argv[1:])
speed = at / kt if kt > 0 else float("inf")
print(f"speed: kad is {speed:.2f}x faster than keepalived (target >= 5x)")
print(f"memory: kad peak RSS is {kr / ar:.2f}x keepalived's (target <= 0.5x)")
PY
