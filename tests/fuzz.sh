#!/usr/bin/env bash
# make fuzz: every decoder of outside input, FUZZ_CASES cases per property (default 10 million),
# release build, then a summary line per suite. Any failure is a regression test to add.
set -uo pipefail
cd "$(dirname "$0")/.."
CASES=${FUZZ_CASES:-10000000}
suites=(
  "kad-core fuzz            config parser (random text, bytes, mutated configs)"
  "kad-vrrp fuzz_decoder    VRRP v2/v3 adverts and IPv4 headers"
  "kad-vrrp fuzz_ah         IPsec-AH adverts (layout, ICV, sequence numbers)"
  "kad-vrrp fuzz_netlink    rtnetlink link/address messages (monitor)"
  "kad-ipc fuzz_frames      IPC datagrams and message payloads"
  "kad-ipvs fuzz_wire       IPVS generic-netlink replies and netlink framing"
)
summary=()
status=0
for s in "${suites[@]}"; do
  read -r crate test what <<<"$s"
  start=$(date +%s)
  out=$(PROPTEST_CASES=$CASES cargo test -q --release -p "$crate" --test "$test" 2>&1)
  rc=$?
  secs=$(( $(date +%s) - start ))
  props=$(grep -o 'ok\. [0-9]* passed' <<<"$out" | tail -1 | grep -o '[0-9]*')
  if ((rc == 0)); then verdict=ok; else verdict=FAILED; status=1; echo "$out" | tail -40; fi
  summary+=("$(printf '%-9s %-13s %-6s %2s tests, %s cases per property  %5ss  %s' "$crate" "$test" "$verdict" "${props:-?}" "$CASES" "$secs" "$what")")
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
