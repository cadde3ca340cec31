# Fresh Debian machine: `make demo` (build + run on the bundled capture),
# `make test` (the whole test suite). Both install what they need first.

CARGO ?= cargo
BIN := target/release/decnet-sniffer

.PHONY: deps build demo test lint bench conformance

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

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

conformance: build
	python3 scripts/conformance.py

# Whole-process benchmarks (bench/README.md); micro-benchmarks are `cargo bench`.
bench:
	./bench/run.sh
