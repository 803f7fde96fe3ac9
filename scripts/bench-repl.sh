#!/usr/bin/env bash
# Benchmark replication: master throughput with one follower, follower lag, full sync.
#
# Runs TestBenchRepl (integration/bench_repl_test.go), which builds strata from the
# tree and starts each server as a process on a free loopback port below 32768 with a
# fresh data directory:
#   1. redis-benchmark against a master with no follower, one async follower and one
#      semi-sync follower (min_acks = 1): requests per second and the ratio to no
#      follower (targets: async >= 0.9x, semi-sync >= 0.6x); then async again with the
#      follower under nice(1), leaving it the CPU the master and the load generator do
#      not use, as a follower on its own host would;
#   2. follower lag p50/p99 in ms: time from the master's reply to a SET to the first
#      read on the follower that returns it, idle and under a redis-benchmark load;
#   3. full-sync throughput: MB/s for a fresh follower to copy a BENCH_FULLSYNC_BYTES
#      dataset of random values.
# Progress goes to stderr; the Markdown for BENCHMARKS.md goes to stdout at the end.
#
# Environment:
#   BENCH_N              requests per redis-benchmark test          (default 200000)
#   BENCH_CLIENTS        parallel connections                       (default 50)
#   BENCH_RANGE          -r keyspace size                           (default 1000000)
#   BENCH_PIPELINES      pipeline depths, space separated           (default "1 16")
#   BENCH_REPL_TESTS     redis-benchmark -t list                    (default set,incr,lpush,hset,zadd)
#   BENCH_REPL_ROUNDS    throughput rounds; the median is reported  (default 1)
#   BENCH_REPL_PARTS     which parts to run                         (default throughput,lag,fullsync)
#   BENCH_REPL_LOW_NICE  nice value of the niced-follower setup; 0 skips it (default 19)
#   BENCH_LAG_SECONDS    sampling time per lag scenario             (default 30)
#   BENCH_LAG_RATE       lag probes per second                      (default 200)
#   BENCH_LAG_POLL       pause between follower polls               (default 500us)
#   BENCH_FULLSYNC_BYTES full-sync dataset size, e.g. 200MB         (default 2GB; needs ~4x that on disk)
#   BENCH_FULLSYNC_VALUE value size of the full-sync dataset        (default 4KB)
#   BENCH_REPL_TIMEOUT   give up after this long                    (default 3h)
#   TMPDIR               where the temporary data directories go    (default /tmp)
set -euo pipefail

cd "$(dirname "$0")/.."

die() { echo "bench-repl: $*" >&2; exit 1; }

export PATH=/usr/local/go/bin:$PATH GOTOOLCHAIN=local CGO_ENABLED=1
command -v go >/dev/null || die "go not found: install Go in /usr/local/go"
command -v redis-benchmark >/dev/null || die "redis-benchmark not found: run 'make deps' (Debian package redis-tools)"

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench-repl.XXXXXX")
test_pid=""
cleanup() {
	if [ -n "$test_pid" ]; then
		# The test binary's servers and load generators die with it (parent-death signal).
		kill "$test_pid" 2>/dev/null || true
		wait "$test_pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench-repl: building the test binary" >&2
go test -c -o "$work/integration.test" ./integration

# Everything the run creates (the strata binary, data directories) lives under $work.
mkdir -p "$work/tmp"
(
	cd integration
	exec env STRATA_BENCH_REPL=1 BENCH_REPL_OUT="$work/report.md" TMPDIR="$work/tmp" \
		"$work/integration.test" -test.run '^TestBenchRepl$' -test.count=1 -test.v \
		-test.timeout "${BENCH_REPL_TIMEOUT:-3h}"
) >&2 &
test_pid=$!
if ! wait "$test_pid"; then
	test_pid=""
	die "the benchmark failed (output above)"
fi
test_pid=""
[ -s "$work/report.md" ] || die "the benchmark wrote no report"
cat "$work/report.md"
