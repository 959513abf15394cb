# kad — common tasks. `make test` is what CI runs (after `make lint`).
CARGO ?= cargo
SAMPLES ?= $(abspath ../shared/keepalived-samples)
export KAD_SAMPLES_DIR ?= $(SAMPLES)

.PHONY: build release deb deb-test test lint fmt bench bench-config bench-daemon bench-vrrp bench-check bench-ipvs bench-reload fuzz demo examples clean

build:
	$(CARGO) build --workspace --all-targets

release:
	$(CARGO) build --release -p kad

## Debian package target/debian/kad_VERSION_amd64.deb (cargo-deb, see bin/kad/Cargo.toml):
## kad and kadctl, the systemd unit, /etc/default/kad, /etc/kad/kad.conf, man pages.
deb: release
	rm -rf target/release/man && mkdir -p target/release/man
	target/release/kad --print-man target/release/man
	target/release/kadctl --print-man target/release/man
	gzip -9n target/release/man/*.8
	$(CARGO) deb -p kad --no-build

## The package checked from the outside (root): contents, then the extracted kad run.
deb-test: deb
	tests/deb/test-deb.sh

## Unit, parser, corpus and property tests (property tests bounded: 256 cases each).
test:
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Benchmarks: each prints kad's numbers beside keepalived's, measured in the same run.
bench: bench-config bench-daemon bench-vrrp bench-check bench-ipvs bench-reload

bench-config: release
	tests/bench/bench-config.sh

## Respawn latency (median of 50, fresh daemon per sample), idle CPU and RSS vs keepalived (root).
bench-daemon: release
	python3 tests/bench/bench-daemon.py

## VRRP failover / start-up / idle cost, kad and keepalived pairs and mixed pairs (root, ~15 min;
## REPS and IDLE shorten it).
bench-vrrp: release
	python3 tests/bench/bench-vrrp.py

## Checker load: 10,000 TCP_CHECK + 2,000 HTTP_GET at delay_loop 1, kad alone here (60 s), then
## kad beside keepalived in the ip_vs VM (../shared/ipvs-vm) on the same config (root, ~6 min).
bench-check: release
	$(CARGO) build --release -p kad --example check_target
	python3 tests/bench/bench-check.py

## IPVS programming in the ip_vs VM: 10,000 services x 4 destinations from empty, then a 1 %
## weight change, kad-ipvs beside ipvsadm -R in the same run (~2 min).
bench-ipvs:
	tests/bench/bench-ipvs.sh

## SIGHUP on 10,000 virtual servers in the ip_vs VM, kad then keepalived on the same files:
## SIGHUP to new table applied, longest gap in any checker's schedule, netlink sends (root;
## ~10 min at N=10000 DELAY=30; N=2000 DELAY=10 for a quick run of ~3 min).
bench-reload: release
	$(CARGO) build --release -p kad --example check_target
	python3 tests/bench/bench-reload.py

## Every decoder of outside input (config parser, VRRP, rtnetlink, IPC, IPVS, and the
## checkers' HTTP, SMTP, DNS, UDP and ICMP replies) under FUZZ_CASES cases per property
## (default 10 million; ~20 min before the checker suites, which add ~30 min), overflow
## checks on, with a summary.
FUZZ_CASES ?= 10000000
fuzz:
	FUZZ_CASES=$(FUZZ_CASES) tests/fuzz.sh

## A live failover in network namespaces (root): election, client pinging the VIP, the master
## killed, the VIP moving, the old master coming back; then cleanup. Under a minute.
demo: release
	tests/demo/demo.sh

## Check every example in conf/ with a one-line summary each.
examples: release
	@for f in conf/*.conf; do \
	  echo "== $$f"; \
	  ./target/release/kad -t -i node1 -f $$f 2>&1 | sed 's/^/   /'; \
	done

clean:
	$(CARGO) clean
