#!/usr/bin/env bash
# Benchmark reads by rank on one large sorted set, Strata against redis-server.
#
# Loads the same sorted set ("board", BENCH_RANKS_MEMBERS members player:%012d with
# scores spread over 0..99999) into bin/strata and a Debian redis-server without
# persistence, each on a free loopback port, then runs redis-benchmark with ZRANK,
# ZREVRANK, ZRANGE by rank and ZCOUNT against each, and prints a Markdown table of
# requests per second and the Strata/Redis ratio.
#
# Environment:
#   BENCH_RANKS_MEMBERS  members of the set           (default 300000)
#   BENCH_N              requests per command         (default 20000)
#   BENCH_CLIENTS        parallel connections         (default 10)
#   STRATA_BIN           the binary to test           (default bin/strata)
set -euo pipefail

cd "$(dirname "$0")/.."

MEMBERS=${BENCH_RANKS_MEMBERS:-300000}
N=${BENCH_N:-20000}
CLIENTS=${BENCH_CLIENTS:-10}
STRATA_BIN=${STRATA_BIN:-bin/strata}

die() { echo "bench-ranks: $*" >&2; exit 1; }

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
bench_init awk

start_servers

# The set as RESP, 1000 members a ZADD; redis-benchmark's __rand_int__ is 12 digits.
awk -v n="$MEMBERS" 'BEGIN {
	for (i = 0; i < n; i += 1000) {
		k = (n - i < 1000) ? n - i : 1000
		printf "*%d\r\n$4\r\nZADD\r\n$5\r\nboard\r\n", 2 + 2 * k
		for (j = i; j < i + k; j++) {
			s = sprintf("%d", (j * 7919) % 100000)
			m = sprintf("player:%012d", j)
			printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(s), s, length(m), m
		}
	}
}' >"$work/load.resp"
for port in "$strata_port" "$redis_port"; do
	redis-cli -h 127.0.0.1 -p "$port" --pipe <"$work/load.resp" >"$work/load.log" 2>&1 || { cat "$work/load.log" >&2; die "loading the set failed"; }
	got=$(redis-cli -h 127.0.0.1 -p "$port" zcard board)
	[ "$got" = "$MEMBERS" ] || die "port $port holds $got members, want $MEMBERS"
done

mid=$((MEMBERS / 2))
cmds=(
	"ZRANK board player:__rand_int__"
	"ZREVRANK board player:__rand_int__"
	"ZRANGE board $mid $((mid + 9))"
	"ZCOUNT board 20000 70000"
)
bench_args=(-r "$MEMBERS" -n "$N" -c "$CLIENTS" -q)

model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
echo "## Reads by rank on a sorted set of $MEMBERS members"
echo
echo '```'
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) CPUs, ${model:-unknown CPU}, $(free -h 2>/dev/null | awk '/^Mem:/ {print $2 " RAM"}')"
echo "strata:   $("$STRATA_BIN" version)"
echo "redis:    $(redis-server --version)"
echo "run:      $(show "${strata_cmd[@]}")"
echo "          $(show "${redis_cmd[@]}")"
echo "load:     $MEMBERS x ZADD board <(i*7919)%100000> player:<i as 12 digits>, 1000 a command, redis-cli --pipe"
echo "bench:    redis-benchmark -h 127.0.0.1 -p PORT ${bench_args[*]} <command>"
echo '```'
echo
echo "| command | strata rps | redis rps | strata/redis |"
echo "|---------|-----------:|----------:|-------------:|"
for cmd in "${cmds[@]}"; do
	declare -A r=()
	for side in strata redis; do
		port=$strata_port
		[ "$side" = redis ] && port=$redis_port
		# shellcheck disable=SC2086 # the command is split into words on purpose
		out=$(redis-benchmark -h 127.0.0.1 -p "$port" "${bench_args[@]}" $cmd 2>/dev/null | tr '\r' '\n' | tail -n 1)
		r[$side]=$(echo "$out" | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p')
		[ -n "${r[$side]}" ] || die "no figure from redis-benchmark on $side: $out"
	done
	ratio=$(awk -v a="${r[strata]}" -v b="${r[redis]}" 'BEGIN { printf "%.3f", a / b }')
	printf '| `%s` | %.0f | %.0f | %s |\n' "$cmd" "${r[strata]}" "${r[redis]}" "$ratio"
done
