#!/usr/bin/env bash
# Benchmark Strata against redis-server side by side with redis-benchmark.
#
# Starts bin/strata (default configuration, fresh data directory) and a Debian
# redis-server without persistence, each on a free loopback port, runs the same
# redis-benchmark command line against each at every pipeline depth, and prints a
# Markdown table of requests per second and the Strata/Redis ratio.
#
# Environment:
#   BENCH_N          requests per test              (default 200000)
#   BENCH_TESTS      redis-benchmark -t list        (default set,get,incr,lpush,lpop,sadd,hset,zadd)
#   BENCH_PIPELINES  pipeline depths, space separated (default "1 16")
#   BENCH_CLIENTS    parallel connections           (default 50)
#   BENCH_RANGE      -r keyspace size               (default 1000000)
#   BENCH_ROUNDS     rounds, each on freshly started servers with Strata and Redis
#                    taking turns; the median is reported (default 3)
#   STRATA_BIN       the binary to test             (default bin/strata)
#   BENCH_TITLE      the heading printed above the figures
#   BENCH_SYNC       durability to compare: "" (Strata's defaults against Redis without
#                    persistence), "everysec" or "always" (Strata's binlog.sync against
#                    Redis's appendonly yes with the same appendfsync)
set -euo pipefail

cd "$(dirname "$0")/.."

N=${BENCH_N:-200000}
TESTS=${BENCH_TESTS:-set,get,incr,lpush,lpop,sadd,hset,zadd}
TESTS=${TESTS,,}
PIPELINES=${BENCH_PIPELINES:-1 16}
CLIENTS=${BENCH_CLIENTS:-50}
RANGE=${BENCH_RANGE:-1000000}
ROUNDS=${BENCH_ROUNDS:-3}
STRATA_BIN=${STRATA_BIN:-bin/strata}

die() { echo "bench: $*" >&2; exit 1; }

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
bench_init

SYNC=${BENCH_SYNC:-}
case $SYNC in
"") ;;
always | everysec)
	printf '[binlog]\nsync = "%s"\n' "$SYNC" >"$work/strata.toml"
	strata_cmd+=(--config "$work/strata.toml")
	redis_cmd=(redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync "$SYNC" --dir "$work/redis")
	;;
*) die "BENCH_SYNC must be empty, everysec or always" ;;
esac

start_servers

bench_args=(-r "$RANGE" -n "$N" -c "$CLIENTS" -q)

# The header: enough to reproduce the run and to paste into BENCHMARKS.md.
model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
if [ -n "${BENCH_TITLE:-}" ]; then
	echo "## $BENCH_TITLE"
elif [ -n "$SYNC" ]; then
	echo "## Durable writes: Strata binlog.sync=$SYNC vs Redis appendfsync $SYNC"
else
	echo "## Strata vs Redis: redis-benchmark"
fi
echo
echo '```'
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) CPUs, ${model:-unknown CPU}, $(free -h 2>/dev/null | awk '/^Mem:/ {print $2 " RAM"}')"
echo "kernel:   $(uname -srm)"
echo "os:       $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
echo "strata:   $("$STRATA_BIN" version)"
echo "redis:    $(redis-server --version)"
echo "run:      $(show "${strata_cmd[@]}")"
echo "          $(show "${redis_cmd[@]}")"
[ -z "$SYNC" ] || echo "          \$TMP/strata.toml: [binlog] sync = \"$SYNC\""
echo "          (\$TMP: a fresh temporary directory; PORT: a free loopback port per server)"
echo "rounds:   $ROUNDS, each on freshly started servers, Strata and Redis taking turns; each figure is the median"
for p in $PIPELINES; do
	echo "bench:    redis-benchmark -h 127.0.0.1 -p PORT ${bench_args[*]} -t $TESTS -P $p --csv"
done
echo '```'
echo

# Each test's command as redis-benchmark sends it, to check Strata implements it before
# timing it: redis-benchmark counts error replies as served requests.
probe_cmd() {
	case $1 in
	set) echo "SET key:__bench_probe__ xxx" ;;
	get) echo "GET key:__bench_probe__" ;;
	incr) echo "INCR counter:__bench_probe__" ;;
	lpush) echo "LPUSH mylist:__bench_probe__ xxx" ;;
	rpush) echo "RPUSH mylist:__bench_probe__ xxx" ;;
	lpop) echo "LPOP mylist:__bench_probe__" ;;
	rpop) echo "RPOP mylist:__bench_probe__" ;;
	sadd) echo "SADD myset:__bench_probe__ element:1" ;;
	spop) echo "SPOP myset:__bench_probe__" ;;
	hset) echo "HSET myhash:__bench_probe__ element:1 xxx" ;;
	zadd) echo "ZADD myzset:__bench_probe__ 1 element:1" ;;
	zpopmin) echo "ZPOPMIN myzset:__bench_probe__" ;;
	mset) echo "MSET key:__bench_probe__ xxx" ;;
	lrange*) echo "LRANGE mylist:__bench_probe__ 0 99" ;;
	ping*) echo "PING" ;;
	*) echo "" ;;
	esac
}

# supported reports whether the server on port answers the test's command without an error.
supported() {
	local port=$1 test=$2 cmd out
	cmd=$(probe_cmd "${test,,}")
	[ -n "$cmd" ] || return 0
	# shellcheck disable=SC2086 # the probe command is split into words on purpose
	out=$(redis-cli -h 127.0.0.1 -p "$port" $cmd 2>&1 </dev/null) || return 1
	case $out in ERR* | WRONGTYPE* | NOAUTH* | "(error)"*) return 1 ;; esac
	return 0
}

declare -A rps # rps[server|TEST|pipeline]

# run_bench server port pipeline tests: runs redis-benchmark and records rps per test.
run_bench() {
	local server=$1 port=$2 p=$3 tests=$4 line name value
	[ -n "$tests" ] || return 0
	local out
	# In the background and waited for, so a signal stops the run at once.
	redis-benchmark -h 127.0.0.1 -p "$port" "${bench_args[@]}" -t "$tests" -P "$p" --csv \
		>"$work/bench.out" 2>"$work/bench.err" </dev/null &
	bench_pid=$!
	if ! wait "$bench_pid"; then
		bench_pid=""
		cat "$work/bench.err" >&2
		die "redis-benchmark against $server failed"
	fi
	bench_pid=""
	out=$(<"$work/bench.out")
	while IFS= read -r line; do
		line=${line//\"/}
		name=${line%%,*}
		value=${line#*,}
		value=${value%%,*}
		[ "$name" = test ] && continue
		rps[$server|$name|$p]+="$value "
	done <<<"$out"
	# redis-benchmark without a ZADD test (redis-tools before 7): run it as a custom command.
	if [[ ",$tests," == *,zadd,* ]] && [[ "$out" != *'"ZADD"'* ]]; then
		out=$(redis-benchmark -h 127.0.0.1 -p "$port" "${bench_args[@]}" -P "$p" --csv \
			ZADD myzset __rand_int__ element:__rand_int__ 2>>"$work/bench.err" </dev/null | tail -n1)
		value=$(echo "$out" | tr -d '"' | cut -d, -f2)
		rps[$server|ZADD|$p]+="$value "
	fi
}

# Tests Strata cannot run yet are reported, not timed.
strata_tests=""
unsupported=""
IFS=, read -r -a test_list <<<"$TESTS"
for t in "${test_list[@]}"; do
	if supported "$strata_port" "$t"; then
		strata_tests+=${strata_tests:+,}$t
	else
		unsupported+=" $t"
	fi
done

# median prints the middle of the numbers given (the lower middle for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'
}

for round in $(seq 1 "$ROUNDS"); do
	if [ "$round" -gt 1 ]; then
		stop_servers
		start_servers
	fi
	for p in $PIPELINES; do
		run_bench strata "$strata_port" "$p" "$strata_tests"
		run_bench redis "$redis_port" "$p" "$TESTS"
	done
done

echo "| command | pipeline | strata rps | redis rps | strata/redis |"
echo "|---------|---------:|-----------:|----------:|-------------:|"
for p in $PIPELINES; do
	for t in "${test_list[@]}"; do
		name=${t^^}
		# shellcheck disable=SC2086 # one word per round
		s=$(median ${rps[strata|$name|$p]:-})
		# shellcheck disable=SC2086
		r=$(median ${rps[redis|$name|$p]:-})
		if [ -z "$s" ]; then
			printf '| %s | %s | %s | %.0f | - |\n' "$name" "$p" "not supported" "${r:-0}"
		else
			awk -v n="$name" -v p="$p" -v s="$s" -v r="${r:-0}" \
				'BEGIN { printf "| %s | %s | %.0f | %.0f | %s |\n", n, p, s, r, (r > 0 ? sprintf("%.2f", s / r) : "-") }'
		fi
	done
done
if [ -n "$unsupported" ]; then
	echo
	echo "Not timed on Strata (the command replied with an error):$unsupported"
fi
