#!/bin/bash
# lcase.sh TAG "instance extra" PRIO
cd /var/tmp/rsref; T=$1; EXTRA="$2"; PR=$3
cat > $T.conf <<EOC
global_defs {
    router_id rs1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 1
$EXTRA
    virtual_ipaddress {
        192.0.2.100/24
    }
}
EOC
setsid timeout 16 ip netns exec rs-sw tcpdump -U -Q in -i p1 -n -e -w $T-p1.pcap >/dev/null 2>&1 &
setsid timeout 16 ip netns exec rs-sw tcpdump -U -Q in -i pc -n -e -w $T-pc.pcap >/dev/null 2>&1 &
sleep 0.5
./runka.sh rs1 $T 15 >/dev/null
sleep 5.5; date +%T.%N > $T.sendstart
timeout 3.5 ip netns exec rs-cl python3 vsend.py 192.0.2.2 224.0.0.18 255 51 $PR 3.2
sleep 7
