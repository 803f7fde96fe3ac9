# Helpers shared by the benchmark scripts; they expect die and STRATA_BIN to be defined.

# bench_init checks for the binary and the tools (redis-server, redis-cli,
# redis-benchmark and any given), makes the scratch directory $work, removed on exit
# with the servers ($strata_pid, $redis_pid) and a running benchmark ($bench_pid)
# stopped, picks free ports for both servers, and sets their default command lines
# ($strata_cmd, $redis_cmd: no persistence for Redis), which callers may extend.
bench_init() {
	[ -x "$STRATA_BIN" ] || die "$STRATA_BIN not found: run 'make build' first"
	local tool
	for tool in redis-server redis-cli redis-benchmark "$@"; do
		command -v "$tool" >/dev/null || die "$tool not found: run 'make deps' (Debian packages redis-server, redis-tools)"
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
	strata_pid=""
	redis_pid=""
	bench_pid=""
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	strata_port=$(free_port)
	redis_port=$(free_port "$strata_port")
	strata_cmd=("$STRATA_BIN" server --addr "127.0.0.1:$strata_port" --data-dir "$work/strata")
	redis_cmd=(redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis")
}

# start_servers starts Strata and Redis on empty data directories.
start_servers() {
	rm -rf "$work/strata" "$work/redis"
	mkdir -p "$work/redis"
	"${strata_cmd[@]}" >"$work/strata.log" 2>&1 &
	strata_pid=$!
	"${redis_cmd[@]}" >"$work/redis.log" 2>&1 &
	redis_pid=$!
	wait_ready strata "$strata_port" "$strata_pid" "$work/strata.log"
	wait_ready redis-server "$redis_port" "$redis_pid" "$work/redis.log"
}

stop_servers() {
	kill "$strata_pid" "$redis_pid" 2>/dev/null || true
	wait "$strata_pid" "$redis_pid" 2>/dev/null || true
	strata_pid=""
	redis_pid=""
}

bench_cleanup() {
	local pid
	for pid in $bench_pid $strata_pid $redis_pid; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $bench_pid $strata_pid $redis_pid; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}

# free_port prints a loopback TCP port nobody listens on, other than the ones given.
free_port() {
	local port i
	for i in $(seq 1 200); do
		port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-60999)
		case " $* " in *" $port "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "no free port found"
}

# wait_ready waits until the server on port answers PING, or fails if pid died.
wait_ready() {
	local name=$1 port=$2 pid=$3 log=$4 i
	for i in $(seq 1 300); do
		if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
			return
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$name exited before answering PING"; }
		sleep 0.1
	done
	cat "$log" >&2
	die "$name did not answer PING on port $port"
}

# show prints a command line as it can be typed, with the temp dir as $TMP.
show() {
	local out="" a
	for a in "$@"; do
		a=${a/#$work/\$TMP}
		[ -n "$a" ] || a="''"
		out+="${out:+ }$a"
	done
	echo "$out"
}

