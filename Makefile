# Fresh Debian machine: `make demo` (build + run on the bundled capture),
# `make test` (the whole test suite). Both install what they need first.

CARGO ?= cargo
BIN := target/release/decnet-sniffer

.PHONY: deps build demo test test-decnet decnet-side-by-side lint bench bench-process bench-micro bench-live conformance

deps:
	./scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

demo: build
	$(BIN) read data/demo/demo.pcap --state data/demo/decnet-state.json --log demo.log --json demo.json --summary
	@echo "--- demo.log (RFC 5424, DECNET wire format), first lines:"
	@head -n 12 demo.log

test: deps
	$(CARGO) test --locked --all-targets
	$(CARGO) test --locked --no-default-features --lib --tests
	$(MAKE) test-decnet

# DECNET 1.0.0's own ingester, profiler, parsers and bus on our events
# (tests/decnet/README.md); a venv from PyPI under target/, kept between runs.
test-decnet: deps
	./tests/decnet/run.sh

# docs/decnet.md: DECNET's own sniffer and ours side by side.
decnet-side-by-side: deps
	./tests/decnet/run.sh --side-by-side

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

conformance: build
	python3 scripts/conformance.py

# Benchmarks (bench/README.md): whole-process runs against the other tools,
# criterion micro-benchmarks, then live capture over a veth pair (root).
# One after the other, even under `make -j`: they would skew each other.
bench:
	./scripts/install-deps.sh
	./bench/run.sh
	$(CARGO) bench --locked
	./bench/live.sh

bench-process:
	./scripts/install-deps.sh
	./bench/run.sh

bench-micro:
	$(CARGO) bench --locked

bench-live:
	./bench/live.sh
