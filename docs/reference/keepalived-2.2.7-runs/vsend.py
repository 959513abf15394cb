#!/usr/bin/env python3
# vsend.py SRC DST TTL VRID PRIO SECONDS [VIP]  -- send VRRPv2 adverts every 1 s
import socket, struct, sys, time
src, dst, ttl, vrid, prio, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
vip = sys.argv[7] if len(sys.argv) > 7 else "192.0.2.100"
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
def pkt():
    p = struct.pack('!BBBBBBH', 0x21, vrid, prio, 1, 0, 1, 0) + socket.inet_aton(vip) + b'\0'*8
    c = csum(p); return p[:6] + struct.pack('!H', c) + p[8:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
s.bind((src, 0))
end = time.time() + secs
while time.time() < end:
    s.sendto(pkt(), (dst, 0)); time.sleep(1)
