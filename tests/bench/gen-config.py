#!/usr/bin/env python3
"""Writes a keepalived.conf with N virtual servers x R real servers, each with HTTP_GET.

Usage: gen-config.py [N] [R] > big.conf
Addresses are from the documentation ranges (192.0.2.0/24, 198.51.100.0/24); the file is only
parsed, nothing is ever contacted.
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
r = int(sys.argv[2]) if len(sys.argv) > 2 else 4
out = sys.stdout
out.write("global_defs {\n    router_id bench\n}\n\n")
for i in range(n):
    vip = f"192.0.2.{1 + i // 250}"
    vport = 1024 + i % 250 + 250 * (i // 62500)
    out.write(f"virtual_server {vip} {vport} {{\n"
              "    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n    persistence_timeout 50\n"
              "    protocol TCP\n")
    for j in range(r):
        rip = f"198.51.100.{1 + (i * r + j) % 254}"
        rport = 2000 + (i * r + j) // 254
        out.write(f"    real_server {rip} {rport} {{\n        weight 1\n        HTTP_GET {{\n"
                  "            url {\n              path /health\n              status_code 200\n"
                  "            }\n            connect_timeout 3\n            retry 3\n"
                  "            delay_before_retry 3\n        }\n    }\n")
    out.write("}\n\n")
