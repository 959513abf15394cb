#!/usr/bin/env bash
# make demo: a live VRRP failover on this machine, in network namespaces the script makes
# (192.0.2.0/24 only, nothing leaves the machine). Needs root, iproute2, iputils-ping.
# Two kad nodes share VIP 192.0.2.100; a client pings it; the master dies (process killed,
# cable pulled); the backup takes the VIP; the old master comes back and takes it again.
set -euo pipefail
KAD=${KAD_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/kad}
P=kdemo
VIP=192.0.2.100
WORK=$(mktemp -d /var/tmp/kad-demo.XXXXXX)
T0=$(date +%s.%N)

since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
say() { printf '[%6ss] %s\n' "$(since "$T0")" "$*"; }
holds() { ip -n $P$1 -4 -o addr show dev eth0 | grep -q "inet $VIP/"; }
wait_holder() { # wait_holder N SECONDS: node N holds the VIP (a killed node may still have it too)
  local end=$(( $(date +%s) + $2 ))
  until holds "$1"; do
    [ "$(date +%s)" -lt "$end" ] || { say "timed out waiting for node$1 to hold $VIP"; exit 1; }
    sleep 0.05
  done
}
wait_released() { # wait_released N SECONDS
  local end=$(( $(date +%s) + $2 ))
  while holds "$1"; do
    [ "$(date +%s)" -lt "$end" ] || { say "timed out waiting for node$1 to release $VIP"; exit 1; }
    sleep 0.05
  done
}
remove_lab() {
  for ns in ${P}1 ${P}2 ${P}c ${P}sw; do
    for pid in $(ip netns pids $ns 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del $ns 2>/dev/null || true
  done
}
cleanup() {
  remove_lab
  rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces)"; exit 1; }
command -v ping >/dev/null || { echo "make demo needs ping (apt-get install iputils-ping)"; exit 1; }
remove_lab

ip netns add ${P}sw
ip -n ${P}sw link add br0 type bridge
ip -n ${P}sw link set br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip -n ${P}sw link set br0 up
for n in 1 2 c; do
  case $n in 1) ip=192.0.2.11 ;; 2) ip=192.0.2.12 ;; c) ip=192.0.2.2 ;; esac
  ip netns add $P$n
  ip -n ${P}sw link add v$n type veth peer name eth0 netns $P$n
  ip -n ${P}sw link set v$n master br0 up
  ip -n $P$n link set lo up
  ip -n $P$n link set eth0 up
  ip -n $P$n addr add $ip/24 dev eth0
done
say "lab: switch ${P}sw, directors ${P}1 (192.0.2.11) and ${P}2 (192.0.2.12), client ${P}c (192.0.2.2)"

conf() { # conf PRIORITY
  cat <<CONF
global_defs {
    router_id demo
}
vrrp_instance VI_DEMO {
    interface eth0
    virtual_router_id 51
    priority $1
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass demo
    }
    virtual_ipaddress {
        $VIP/24
    }
}
CONF
}
conf 150 > "$WORK/n1.conf"
conf 100 > "$WORK/n2.conf"
start() { # start NODE
  ip netns exec $P$1 "$KAD" -n -l -f "$WORK/n$1.conf" -p "$WORK/n$1.pid" -r "$WORK/n$1-vrrp.pid" \
    -c "$WORK/n$1-check.pid" >> "$WORK/n$1.log" 2>&1 &
  echo $! > "$WORK/n$1.parent"
  disown
}
start 1
start 2
say "kad started on both directors (priority 150 and 100); electing..."
wait_holder 1 10
say "node1 is MASTER and holds $VIP; node2 is BACKUP"

ip netns exec ${P}c ping -n -D -i 0.1 -W 1 $VIP > "$WORK/ping.log" 2>&1 &
PING=$!
disown
sleep 3
say "client reaches $VIP: $(grep -c 'bytes from' "$WORK/ping.log") replies so far"

say "node1 dies: kad killed (SIGKILL), cable pulled"
kill -9 "$(cat "$WORK/n1.parent")" "$(cat "$WORK/n1-vrrp.pid")" 2>/dev/null || true
ip -n ${P}sw link set v1 down
KILL_T=$(date +%s.%N)
wait_holder 2 10
say "node2 is MASTER and holds $VIP ($(awk -v a="$KILL_T" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms after the kill)"
sleep 3

say "node1 comes back: cable plugged in, kad restarted"
ip -n ${P}1 addr del $VIP/24 dev eth0 2>/dev/null || true
ip -n ${P}sw link set v1 up
start 1
wait_holder 1 10
wait_released 2 5
say "node1 is MASTER again (preempted with priority 150); node2 is BACKUP"
sleep 2
kill $PING 2>/dev/null || true
sleep 0.2

GAP=$(awk -F'[][]' '/bytes from/ { t = $2 + 0; if (last) { g = t - last; if (g > max) max = g }; last = t } END { printf "%.0f", max * 1000 }' "$WORK/ping.log")
REPLIES=$(grep -c 'bytes from' "$WORK/ping.log")
say "client: $REPLIES replies; longest gap between replies: $GAP ms (the master-down interval, ~3.6 s at advert_int 1)"
say "done; cleaning up the namespaces"
