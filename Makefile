# Strata build, run, test and benchmark targets. `make` alone lists them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Go lives in /usr/local/go; use the installed toolchain, never download another one.
export PATH := /usr/local/go/bin:$(PATH)
export GOTOOLCHAIN := local
export CGO_ENABLED := 1

GO       ?= go
BIN      := bin/strata
FUZZTIME ?= 30s
IMAGE    ?= strata

# Debian packages: BUILD_DEPS to compile (RocksDB via cgo), TEST_DEPS for tests and bench.
BUILD_DEPS := librocksdb-dev
TEST_DEPS  := redis-tools redis-server redis-sentinel
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# apt-install installs the given packages that are missing, running `apt-get update` once first.
define apt-install
missing=(); for p in $(1); do dpkg -s "$$p" >/dev/null 2>&1 || missing+=("$$p"); done; \
if [ $${#missing[@]} -gt 0 ]; then \
	echo "apt: installing $${missing[*]}"; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$${missing[@]}" </dev/null; \
fi
endef

.PHONY: help deps deps-build go-check build run test bench bench-floor bench-ranks bench-repl bench-dump fuzz lint docker clean

help: ## List the targets
	@echo "Strata: a Redis-compatible, disk-backed key-value server over RocksDB"
	@echo
	@echo "usage: make <target> [FUZZTIME=30s] [BENCH_N=200000]"
	@echo
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-11s %s\n", $$1, $$2}'

deps: go-check ## Install what build, test and bench need with apt, when missing
	@$(call apt-install,$(BUILD_DEPS) $(TEST_DEPS))

deps-build: go-check
	@$(call apt-install,$(BUILD_DEPS))

go-check:
	@command -v $(GO) >/dev/null || { echo "Go not found: install Go $$(sed -n 's/^go //p' go.mod) in /usr/local/go" >&2; exit 1; }

build: deps-build ## Build bin/strata
	$(GO) build -o $(BIN) ./cmd/strata

run: deps build ## Serve 127.0.0.1:6380 from ./var with the built-in defaults
	./$(BIN) server

test: deps build ## Run go vet and every test
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench: deps build ## Benchmark Strata against redis-server side by side (memory, everysec, always)
	scripts/bench.sh
	BENCH_SYNC=everysec scripts/bench.sh
	BENCH_SYNC=always scripts/bench.sh

bench-floor: deps ## What a server that only does the unavoidable RocksDB work reaches here (scripts/floor)
	$(GO) build -o bin/floor ./scripts/floor
	FLOOR_MODE=none STRATA_BIN=bin/floor BENCH_TITLE="Floor without storage vs Redis" scripts/bench.sh
	FLOOR_MODE=rocks STRATA_BIN=bin/floor BENCH_TITLE="Floor with RocksDB reads and writes only vs Redis" scripts/bench.sh

bench-ranks: deps build ## Benchmark reads by rank on a large sorted set against redis-server (BENCH_RANKS_MEMBERS=300000)
	@scripts/bench-ranks.sh

bench-repl: deps ## Benchmark replication: master rps with a follower, lag, full sync (BENCH_FULLSYNC_BYTES=2GB)
	@scripts/bench-repl.sh

bench-dump: deps ## Benchmark dump and load: MB/s, keys/s vs redis-cli --rdb and the ingest limit (BENCH_DUMP_BYTES=2GB)
	@scripts/bench-dump.sh

fuzz: deps-build ## Run each fuzz target for FUZZTIME (default 30s)
	@targets=$$($(GO) test -list '^Fuzz' ./... | \
		awk '/^Fuzz/ {n[++c] = $$1} /^ok / {for (i = 1; i <= c; i++) print $$2, n[i]; c = 0}'); \
	[ -n "$$targets" ] || { echo "no fuzz targets found"; exit 0; }; \
	while read -r pkg fn; do \
		echo "== $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) "$$pkg" </dev/null; \
	done <<< "$$targets"

lint: ## Check formatting (gofmt) and run go vet
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

docker: ## Build the Docker image strata (IMAGE=name to change)
	docker build -t $(IMAGE) .

clean: ## Remove bin/ and the test cache (./var, the data, is kept)
	rm -rf bin
	$(GO) clean -testcache
