#!/bin/bash
# vmacexp.sh TAG "extra instance lines"
cd /var/tmp/rsref; T=$1; EXTRA="$2"
for n in 1 2; do p=$((300-n*100)); st=$([ $n = 1 ] && echo MASTER || echo BACKUP); cat > $T$n.conf <<EOC
global_defs {
    router_id rs$n
}
vrrp_instance VI_1 {
    state $st
    interface eth0
    virtual_router_id 51
    priority $p
    advert_int 1
    use_vmac
$EXTRA
    virtual_ipaddress {
        192.0.2.100/24
    }
}
EOC
done
./snap.sh rs1 ${T}1.before; ./snap.sh rs2 ${T}2.before
for p in p1 p2; do setsid timeout 42 ip netns exec rs-sw tcpdump -U -Q in -i $p -e -n -w $T-$p.pcap >/dev/null 2>&1 & done; sleep 1
./runka.sh rs1 ${T}1 38 >/dev/null; ./runka.sh rs2 ${T}2 38 >/dev/null; sleep 8
./snap.sh rs1 ${T}1.after; ./snap.sh rs2 ${T}2.after
for n in 1 2; do ip -n rs$n -d link show > $T$n.link; ip -n rs$n addr > $T$n.addr; done
ip netns exec rs-cl ip neigh flush all
for a in 192.0.2.12 192.0.2.11 192.0.2.100; do ip netns exec rs-cl ping -c1 -W1 $a >/dev/null; done; ip -n rs-cl neigh > $T.cl-neigh
# ask backup directly (unicast ARP to vmac MAC) 
sleep 34
./snap.sh rs1 ${T}1.exit; ./snap.sh rs2 ${T}2.exit
