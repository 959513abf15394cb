#!/bin/bash
# ucase.sh TAG "instance extra lines" "peer line(s)" SRC TTL [DST]   -- keepalived BACKUP prio 100 in rs1, crafted prio-200 adverts from rs-cl
cd /var/tmp/rsref; T=$1; EXTRA="$2"; PEERS="$3"; SRC=$4; TTL=$5; DST=${6:-192.0.2.11}
cat > $T.conf <<EOC
global_defs {
    router_id rs1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
$EXTRA
    virtual_ipaddress {
        192.0.2.100/24
    }
EOC
if [ -n "$PEERS" ]; then printf '    unicast_src_ip 192.0.2.11\n    unicast_peer {\n        %s\n    }\n' "$PEERS" >> $T.conf; fi
echo "}" >> $T.conf
setsid timeout 13 ip netns exec rs-sw tcpdump -U -i p1 -n -v -w $T.pcap 'ip proto 112' >/dev/null 2>&1 &
sleep 0.5
./runka.sh rs1 $T 11 >/dev/null
if [ "$TTL" != none ]; then timeout 11 ip netns exec rs-cl python3 vsend.py $SRC $DST $TTL 51 200 11 & fi
sleep 9; ip -n rs1 -br addr show dev eth0 > $T.addr; sleep 4
