#!/usr/bin/env bash
# make deb-test (root): the Debian package that `make deb` built, checked from the outside.
# Its contents (dpkg-deb -c) and conffiles; then what it holds, extracted with dpkg-deb -x and
# run from there: versions, man pages, kad -t on the packaged /etc/kad/kad.conf and on an
# example, and a short daemon run in network and mount namespaces of its own (a VRRP instance
# on a veth link, 192.0.2.0/24) that kadctl from the package reports MASTER before SIGTERM
# stops it with status 0. Bounded: every wait has a deadline; everything made is removed.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
deb="target/debian/kad_${version}_amd64.deb"
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
[ -f "$deb" ] || fail "$deb not found (make deb)"
echo "deb-test: $deb ($(stat -c %s "$deb") bytes)"

# Contents: binaries, unit, defaults, example config, man pages.
listing=$(dpkg-deb -c "$deb")
for f in ./usr/sbin/kad ./usr/sbin/kadctl ./lib/systemd/system/kad.service \
         ./etc/default/kad ./etc/kad/kad.conf \
         ./usr/share/man/man8/kad.8.gz ./usr/share/man/man8/kadctl.8.gz \
         ./usr/share/man/man8/kadctl-drain.8.gz \
         ./usr/share/man/man5/kad.conf.5.gz ./usr/share/doc/kad/CONFIGURATION.md; do
  grep -qE " $f\$" <<<"$listing" || fail "$f missing from the package:
$listing"
done
grep -qE '^-rwxr-xr-x (root/root|0/0) .* ./usr/sbin/kad$' <<<"$listing" || fail "kad is not 0755 root:root"
conffiles=$(dpkg-deb -I "$deb" conffiles)
for f in /etc/kad/kad.conf /etc/default/kad; do
  grep -qx "$f" <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
dpkg-deb -f "$deb" Package Version Architecture Depends
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "package version is not $version"

tmp=$(mktemp -d "$PWD/target/deb-test.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
dpkg-deb -x "$deb" "$tmp/root"
kad="$tmp/root/usr/sbin/kad"
kadctl="$tmp/root/usr/sbin/kadctl"

[ "$("$kad" --version)" = "kad $version" ] || fail "kad --version: $("$kad" --version)"
"$kadctl" --version | grep -qx "kadctl $version" || fail "kadctl --version"
grep -qx 'Type=notify' "$tmp/root/lib/systemd/system/kad.service" || fail "the unit is not Type=notify"

# Man pages: generated from the clap definitions (every option of the binary is there).
zcat "$tmp/root/usr/share/man/man8/kad.8.gz" | grep -q '^\.TH kad 8' || fail "kad.8 header"
zcat "$tmp/root/usr/share/man/man8/kad.8.gz" | grep -q 'use\\-file' || fail "kad.8 lacks --use-file"
zcat "$tmp/root/usr/share/man/man8/kadctl.8.gz" | grep -q 'kadctl\\-maintenance(8)' || fail "kadctl.8 lacks maintenance"
zcat "$tmp/root/usr/share/man/man8/kadctl-weight.8.gz" | grep -q 'WEIGHT' || fail "kadctl-weight.8 lacks WEIGHT"
zcat "$tmp/root/usr/share/man/man5/kad.conf.5.gz" | grep -q 'keepalived.conf' || fail "kad.conf.5"
if command -v man >/dev/null; then
  for p in man8/kad.8.gz man8/kadctl.8.gz man8/kadctl-weight.8.gz man5/kad.conf.5.gz; do
    MANWIDTH=80 man -l "$tmp/root/usr/share/man/$p" 2>&1 >/dev/null | grep . && fail "man -l $p warns"
  done
fi

# kad -t with the packaged binary: the packaged config (it includes keepalived.conf if there
# is one) and an example.
"$kad" -t -f "$tmp/root/etc/kad/kad.conf" || fail "kad -t on the packaged /etc/kad/kad.conf"
"$kad" -t -i node1 -f conf/master-backup.conf || fail "kad -t on conf/master-backup.conf"

# A short daemon run: namespaces of its own, private /run, eth0 one end of a veth pair.
cat >"$tmp/kad.conf" <<CONF
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24 dev eth0
    }
}
CONF
unshare --mount --net -- sh -c 'mount -t tmpfs kadrun /run && ip link set lo up &&
  ip link add eth0 type veth peer name eth1 && ip link set eth1 up && ip link set eth0 up && ip addr add 192.0.2.11/24 dev eth0 &&
  exec "$0" "$@"' "$kad" -n -l -f "$tmp/kad.conf" --control-socket "$tmp/kad.sock" \
  </dev/null >"$tmp/kad.log" 2>&1 &
pid=$!
master=
for _ in $(seq 1 300); do
  if "$kadctl" --socket "$tmp/kad.sock" status --json 2>/dev/null | grep -q '"MASTER"'; then
    master=yes
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$master" ] || { cat "$tmp/kad.log" >&2; fail "the packaged kad did not become MASTER in 30 s"; }
nsenter -t "$pid" -n ip -4 addr show dev eth0 | grep -q '192.0.2.100/24' \
  || { cat "$tmp/kad.log" >&2; fail "MASTER without its VIP"; }
"$kadctl" --socket "$tmp/kad.sock" status
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || { cat "$tmp/kad.log" >&2; fail "kad exited with status $status after SIGTERM"; }
echo "deb-test: ok: contents, conffiles, man pages, kad -t, MASTER and a clean stop"
