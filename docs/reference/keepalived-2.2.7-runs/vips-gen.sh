#!/bin/sh
# vips-gen.sh NAME STATE PRIO VERSION FAMILY(4|6) N > conf: one VRID 51 instance on e0 with N VIPs
name=$1 state=$2 prio=$3 ver=$4 fam=$5 n=$6
echo "global_defs { router_id $name
 vrrp_version $ver
}"
echo "vrrp_instance VI_1 {
 state $state
 interface e0
 virtual_router_id 51
 priority $prio
 advert_int 1
 virtual_ipaddress {"
i=0
while [ $i -lt $n ]; do
  if [ "$fam" = 4 ]; then
    a=$((i/250)); b=$((i%250+1))
    echo "  198.51.$((100+a)).$b/32"
  else
    printf '  2001:db8:1::%x/128\n' $((i+1))
  fi
  i=$((i+1))
done
echo " }
}"
