#!/usr/bin/env bash
# make fuzz: every decoder of outside input, FUZZ_CASES cases per property (default 10 million),
# then a summary line per suite. Any failure is a regression test to add.
#
# Built in the `fuzz` profile: the dev profile (overflow checks and debug assertions ON, so an
# overflow on hostile input panics here instead of wrapping silently as in release) at
# opt-level 3 (the dev profile's speed would make 10M cases take hours), without debug info.
# It is defined in the workspace Cargo.toml and builds into target/fuzz: neither the dev nor the
# release builds are rebuilt by a fuzz run.
set -uo pipefail
cd "$(dirname "$0")/.."
CASES=${FUZZ_CASES:-10000000}
suites=(
  "kad-core fuzz            config parser (random text, bytes, mutated configs, route/rule lines)"
  "kad-vrrp fuzz_decoder    VRRP v2/v3 adverts and IPv4 headers"
  "kad-vrrp fuzz_ah         IPsec-AH adverts (layout, ICV, sequence numbers)"
  "kad-vrrp fuzz_netlink    rtnetlink link/address messages (monitor)"
  "kad-vrrp fuzz_proc       /proc/PID/cmdline, comm and stat (vrrp_track_process)"
  "kad-ipc fuzz_frames      IPC datagrams and message payloads"
  "kad-ipc fuzz_control     control socket requests (kadctl's JSON lines)"
  "kad-ipc fuzz_fifo_env    notify FIFO descriptors a child inherits (KAD_NOTIFY_FIFO_FDS)"
  "kad-ipc fuzz_metrics     metrics endpoint request heads and label escaping"
  "kad-ipvs fuzz_wire       IPVS generic-netlink replies (and their counters) and netlink framing"
  "kad-check fuzz_http      HTTP_GET/SSL_GET responses: head, Content-Length, chunked, close"
  "kad-check fuzz_smtp      SMTP replies (SMTP_CHECK and smtp_alert)"
  "kad-check fuzz_datagram  DNS_CHECK, UDP_CHECK and PING_CHECK (ICMP) replies"
)
summary=()
status=0
for s in "${suites[@]}"; do
  read -r crate test what <<<"$s"
  start=$(date +%s)
  out=$(PROPTEST_CASES=$CASES cargo test -q --profile fuzz -p "$crate" --test "$test" 2>&1)
  rc=$?
  secs=$(( $(date +%s) - start ))
  props=$(grep -o 'ok\. [0-9]* passed' <<<"$out" | tail -1 | grep -o '[0-9]*')
  if ((rc == 0)); then verdict=ok; else verdict=FAILED; status=1; echo "$out" | tail -40; fi
  summary+=("$(printf '%-9s %-13s %-6s %2s tests, %s cases per property  %5ss  %s' "$crate" "$test" "$verdict" "${props:-?}" "$CASES" "$secs" "$what")")
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
