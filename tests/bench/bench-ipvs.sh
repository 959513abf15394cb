#!/usr/bin/env bash
# make bench-ipvs: kad-ipvs beside `ipvsadm -R` in the ip_vs VM (one emulated CPU), same run:
# a 10,000-service x 4-destination table from empty, then a 1 % weight change.
# KAD_BENCH_SERVICES changes the size.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p kad-ipvs --example ipvs_bench
exec tests/ipvs-vm/run-in-vm -t 1200 -- target/release/examples/ipvs_bench
