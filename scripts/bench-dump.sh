#!/usr/bin/env bash
# Benchmark dump and load: MB/s and keys/s of `strata dump` and `strata load` against
# `redis-cli --rdb`, with the RocksDB ingest path as the limit of a load.
#
# Runs TestBenchDump (tools/bench_dump_test.go) with a strata binary built from the
# tree. Each server is a process on a free loopback port below 32768 with a fresh
# temporary directory. A strata server is filled with BENCH_DUMP_BYTES of
# `SET dump:<i> <4KB random bytes>`, then:
#   1. strata dump --addr (online dump of the running server);
#   2. BGSAVE, then strata dump --data-dir <snapshot>;
#   3. strata load FILE --data-dir into a fresh directory; a server started on it must
#      answer DIGEST 0 and DBSIZE as the source did;
#   4. the same records through store.Loader alone (SST write + IngestExternalFile);
#   5. a redis-server without persistence holding the same keys and values:
#      redis-cli --rdb, then the time redis-server takes to load that RDB at start.
# Progress goes to stderr; the Markdown for BENCHMARKS.md goes to stdout at the end.
#
# Environment:
#   BENCH_DUMP_BYTES    dataset size (keys + values), e.g. 200MB  (default 2GB; needs ~4x that on disk)
#   BENCH_DUMP_VALUE    value size                                (default 4KB)
#   BENCH_DUMP_TIMEOUT  give up after this long                   (default 1h)
#   TMPDIR              where the temporary directories go        (default /tmp)
set -euo pipefail

cd "$(dirname "$0")/.."

die() { echo "bench-dump: $*" >&2; exit 1; }

export PATH=/usr/local/go/bin:$PATH GOTOOLCHAIN=local CGO_ENABLED=1
command -v go >/dev/null || die "go not found: install Go in /usr/local/go"
for tool in redis-server redis-cli; do
	command -v "$tool" >/dev/null || die "$tool not found: run 'make deps' (Debian packages redis-server, redis-tools)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench-dump.XXXXXX")
test_pid=""
cleanup() {
	if [ -n "$test_pid" ]; then
		# The test binary's servers and commands die with it (parent-death signal).
		kill "$test_pid" 2>/dev/null || true
		wait "$test_pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench-dump: building strata and the test binary" >&2
go build -o "$work/strata" ./cmd/strata
go test -c -o "$work/tools.test" ./tools

# Everything the run creates (data directories, dumps, the RDB) lives under $work.
mkdir -p "$work/tmp"
(
	cd tools
	exec env STRATA_BENCH_DUMP=1 STRATA_BIN="$work/strata" BENCH_DUMP_OUT="$work/report.md" TMPDIR="$work/tmp" \
		"$work/tools.test" -test.run '^TestBenchDump$' -test.count=1 -test.v \
		-test.timeout "${BENCH_DUMP_TIMEOUT:-1h}"
) >&2 &
test_pid=$!
if ! wait "$test_pid"; then
	test_pid=""
	die "the benchmark failed (output above)"
fi
test_pid=""
[ -s "$work/report.md" ] || die "the benchmark wrote no report"
cat "$work/report.md"
