//go:build linux

package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-kv/strata/config"
)

// TestBenchRepl is the replication benchmark behind `make bench-repl`
// (scripts/bench-repl.sh). It is a benchmark, not a check: it is skipped unless
// STRATA_BENCH_REPL=1, it takes minutes, and it fails only when the setup itself does
// not work (a server does not start, a follower does not catch up, a command errors).
// It is a Test rather than a Go Benchmark because each figure is one timed run of real
// processes, not a loop over b.N.
//
// It measures, each part on fresh servers (own free loopback port below 32768, own
// temporary data directory, killed when the test ends or its process dies):
//
//  1. throughput: redis-benchmark against a master with no follower, with one async
//     follower and with one semi-sync follower (min_acks = 1), and the ratio to no
//     follower (targets: async >= 0.9x, semi-sync >= 0.6x); then async again with the
//     follower at a low CPU priority, which takes the follower's own CPU time out of
//     what the master and the load generator share, as a follower on its own host would;
//  2. lag: how long after the master acknowledged a write the follower serves it,
//     p50/p99 in milliseconds, with and without a sustained write load;
//  3. full sync: MB/s of a fresh follower's full copy of a large dataset.
//
// It prints a Markdown section for BENCHMARKS.md to stdout, or to the file named by
// BENCH_REPL_OUT. Environment (defaults in brackets):
//
//	BENCH_N              redis-benchmark requests per test             [200000]
//	BENCH_CLIENTS        redis-benchmark connections (-c)              [50]
//	BENCH_RANGE          redis-benchmark key space (-r)                [1000000]
//	BENCH_PIPELINES      pipeline depths, space separated              ["1 16"]
//	BENCH_REPL_TESTS     redis-benchmark -t list                       [set,incr,lpush,hset,zadd]
//	BENCH_REPL_ROUNDS    throughput rounds, the median is reported     [1]
//	BENCH_REPL_PARTS     parts to run                                  [throughput,lag,fullsync]
//	BENCH_LAG_SECONDS    sampling time per lag scenario                [30]
//	BENCH_LAG_RATE       lag probes per second                         [200]
//	BENCH_LAG_POLL       pause between the follower polls of a probe   [500us]
//	BENCH_FULLSYNC_BYTES dataset size for the full sync (e.g. 200MB)   [2GB]
//	BENCH_FULLSYNC_VALUE value size of the dataset                     [4KB]
//	BENCH_REPL_LOW_NICE  nice value of the low-priority follower setup  [19]
//	                     (0 leaves that setup out)
//	BENCH_REPL_OUT       file to write the Markdown to                 [stdout]
func TestBenchRepl(t *testing.T) {
	if os.Getenv("STRATA_BENCH_REPL") != "1" {
		t.Skip("benchmark: set STRATA_BENCH_REPL=1 (or run make bench-repl)")
	}
	for _, tool := range []string{"redis-benchmark"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run 'make deps' (Debian package redis-tools)", tool)
		}
	}
	cfg := brLoadConfig(t)
	var md strings.Builder
	brHeader(t, &md, cfg)
	if cfg.parts["throughput"] {
		brThroughput(t, &md, cfg)
	}
	if cfg.parts["lag"] {
		brLag(t, &md, cfg)
	}
	if cfg.parts["fullsync"] {
		brFullSync(t, &md, cfg)
	}
	brNotes(&md, cfg)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(md.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	fmt.Print(md.String())
}

// ---- configuration ----

type brConfig struct {
	n, clients, keyRange, rounds int
	pipelines                    []int
	tests                        []string
	parts                        map[string]bool
	lagDur                       time.Duration
	lagRate                      int
	lagPoll                      time.Duration
	lowNice                      int
	fsBytes                      int64
	fsValue                      int
	out                          string
}

func brLoadConfig(t *testing.T) brConfig {
	t.Helper()
	c := brConfig{
		n:        brEnvInt(t, "BENCH_N", 200000),
		clients:  brEnvInt(t, "BENCH_CLIENTS", 50),
		keyRange: brEnvInt(t, "BENCH_RANGE", 1000000),
		rounds:   brEnvInt(t, "BENCH_REPL_ROUNDS", 1),
		lagDur:   brEnvDur(t, "BENCH_LAG_SECONDS", 30*time.Second, time.Second),
		lagRate:  brEnvInt(t, "BENCH_LAG_RATE", 200),
		lagPoll:  brEnvDur(t, "BENCH_LAG_POLL", 500*time.Microsecond, 0),
		lowNice:  brEnvInt(t, "BENCH_REPL_LOW_NICE", 19),
		fsBytes:  brEnvSize(t, "BENCH_FULLSYNC_BYTES", 2<<30),
		fsValue:  int(brEnvSize(t, "BENCH_FULLSYNC_VALUE", 4096)),
		out:      os.Getenv("BENCH_REPL_OUT"),
		parts:    map[string]bool{},
	}
	for _, f := range strings.Fields(brEnv("BENCH_PIPELINES", "1 16")) {
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 {
			t.Fatalf("BENCH_PIPELINES: %q is not a pipeline depth", f)
		}
		c.pipelines = append(c.pipelines, p)
	}
	for _, s := range strings.Split(strings.ToLower(brEnv("BENCH_REPL_TESTS", "set,incr,lpush,hset,zadd")), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.tests = append(c.tests, s)
		}
	}
	for _, s := range strings.Split(brEnv("BENCH_REPL_PARTS", "throughput,lag,fullsync"), ",") {
		switch s = strings.TrimSpace(s); s {
		case "throughput", "lag", "fullsync":
			c.parts[s] = true
		case "":
		default:
			t.Fatalf("BENCH_REPL_PARTS: unknown part %q (throughput, lag, fullsync)", s)
		}
	}
	if c.n < 1 || c.clients < 1 || c.keyRange < 1 || c.rounds < 1 || c.lagRate < 1 || c.fsValue < 1 ||
		c.lowNice < 0 || c.lowNice > 19 ||
		len(c.pipelines) == 0 || len(c.tests) == 0 {
		t.Fatalf("bad benchmark settings: %+v", c)
	}
	return c
}

func brEnv(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func brEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := brEnv(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: not an integer", name, v)
	}
	return n
}

// brEnvDur reads a Go duration, or a plain number of units.
func brEnvDur(t *testing.T, name string, def, unit time.Duration) time.Duration {
	t.Helper()
	v := brEnv(name, "")
	if v == "" {
		return def
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && unit > 0 {
		return time.Duration(n * float64(unit))
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		t.Fatalf("%s=%q: not a duration", name, v)
	}
	return d
}

func brEnvSize(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := brEnv(name, "")
	if v == "" {
		return def
	}
	s, err := config.ParseSize(v)
	if err != nil || s <= 0 {
		t.Fatalf("%s=%q: not a size like 200MB", name, v)
	}
	return int64(s)
}

// ---- server processes ----

// brProc is one strata server process with its own temporary directory (config, log,
// data) and loopback port.
type brProc struct {
	t       *testing.T
	name    string
	root    string
	dir     string // data_dir
	cfgPath string
	logPath string
	addr    string
	port    int
	cmd     *exec.Cmd
	exited  chan error
}

var (
	brPortsMu sync.Mutex
	brPorts   = map[int]bool{}
)

// brFreePort picks a free loopback port in 20000-31999: below the kernel's ephemeral
// range (32768-60999), so no outgoing connection can be holding it.
func brFreePort(t *testing.T) int {
	t.Helper()
	brPortsMu.Lock()
	defer brPortsMu.Unlock()
	for range 500 {
		port := 20000 + rand.IntN(12000)
		if brPorts[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		brPorts[port] = true
		return port
	}
	t.Fatal("no free port found in 20000-31999")
	return 0
}

// brConfigText is a server's config file: the defaults plus addr, data_dir and the
// given [replication] lines.
func brConfigText(addr, dir, repl string) string {
	return fmt.Sprintf("[server]\naddr = %q\ndata_dir = %q\n\n[replication]\n%s", addr, dir, repl)
}

// brStart starts a server whose [replication] section holds repl and waits until it
// answers PING.
func brStart(t *testing.T, name, repl string) *brProc { return brStartNice(t, name, repl, 0) }

// brStartNice is brStart with the server's every thread at the given nice value.
func brStartNice(t *testing.T, name, repl string, nice int) *brProc {
	t.Helper()
	root, err := os.MkdirTemp("", "strata-bench-repl-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	port := brFreePort(t)
	p := &brProc{
		t: t, name: name, root: root, dir: filepath.Join(root, "data"),
		cfgPath: filepath.Join(root, "strata.toml"), logPath: filepath.Join(root, "server.log"),
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port,
	}
	t.Cleanup(p.close)
	if err := os.WriteFile(p.cfgPath, []byte(brConfigText(p.addr, p.dir, repl)), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := []string{strataBin, "server", "--config", p.cfgPath}
	if nice > 0 {
		// Through nice(1), so that the threads the runtime starts first inherit it too.
		args = append([]string{"nice", "-n", strconv.Itoa(nice)}, args...)
	}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	// Killed with the benchmark, however that ends.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(p.cmd, p.exited)
	c := p.client(1)
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return p
		}
		select {
		case werr := <-p.exited:
			p.cmd = nil
			t.Fatalf("%s exited during start: %v\n%s", name, werr, p.logTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer PING within 60s: %v\n%s", name, err, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// close stops the server (SIGTERM, SIGKILL after 30s) and removes its directory.
func (p *brProc) close() {
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		p.cmd = nil
	}
	_ = os.RemoveAll(p.root)
}

func (p *brProc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (p *brProc) client(pool int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: p.addr, DialTimeout: 5 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, MaxRetries: -1, PoolSize: pool, DisableIdentity: true,
	})
}

func (p *brProc) info(section string) (map[string]string, error) {
	c := p.client(1)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("INFO %s on %s: %w", section, p.name, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

func (p *brProc) infoInt(section, field string) int64 {
	p.t.Helper()
	m, err := p.info(section)
	if err != nil {
		p.t.Fatal(err)
	}
	n, err := strconv.ParseInt(m[field], 10, 64)
	if err != nil {
		p.t.Fatalf("INFO %s on %s: %s = %q", section, p.name, field, m[field])
	}
	return n
}

// brLinked waits until f streams from m: its link is up and m lists it online.
func brLinked(t *testing.T, m, f *brProc, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		fi, err := f.info("replication")
		if err != nil {
			t.Fatal(err)
		}
		mi, err := m.info("replication")
		if err != nil {
			t.Fatal(err)
		}
		if fi["master_link_status"] == "up" && strings.Contains(mi["slave0"], "state=online") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("follower not linked after %s: follower link %q, master slave0 %q\n%s",
				timeout, fi["master_link_status"], mi["slave0"], f.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// brCaughtUp waits until f's link is up and it applied the master's last binlog ID,
// and returns how long that took.
func brCaughtUp(t *testing.T, m, f *brProc, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		last := m.infoInt("replication", "master_repl_offset")
		fi, err := f.info("replication")
		if err != nil {
			t.Fatal(err)
		}
		applied, _ := strconv.ParseInt(fi["slave_repl_offset"], 10, 64)
		if fi["master_link_status"] == "up" && applied >= last {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("follower did not catch up within %s: applied %d of %d, link %s\n%s",
				timeout, applied, last, fi["master_link_status"], f.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- redis-benchmark ----

func brBenchArgs(cfg brConfig, port string, pipeline int, tests string) []string {
	return []string{"-h", "127.0.0.1", "-p", port, "-r", strconv.Itoa(cfg.keyRange),
		"-n", strconv.Itoa(cfg.n), "-c", strconv.Itoa(cfg.clients), "-q", "-t", tests,
		"-P", strconv.Itoa(pipeline), "--csv"}
}

func brCommand(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// brRedisBenchmark runs redis-benchmark with --csv and returns requests per second by
// test name (upper case, as redis-benchmark prints it).
func brRedisBenchmark(t *testing.T, args []string) map[string]float64 {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := brCommand("redis-benchmark", args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("redis-benchmark %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatalf("redis-benchmark output: %v\n%s", err, out.String())
	}
	rps := map[string]float64{}
	for _, r := range recs {
		if len(r) < 2 || r[0] == "test" {
			continue
		}
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			t.Fatalf("redis-benchmark output: %q", r)
		}
		rps[r[0]] = v
	}
	return rps
}

// brProbe checks the server answers each test's command without an error:
// redis-benchmark would count error replies as served requests.
func brProbe(t *testing.T, p *brProc, tests []string) {
	t.Helper()
	probes := map[string][]any{
		"set":   {"SET", "key:__bench_probe__", "xxx"},
		"get":   {"GET", "key:__bench_probe__"},
		"incr":  {"INCR", "counter:__bench_probe__"},
		"lpush": {"LPUSH", "mylist:__bench_probe__", "xxx"},
		"rpush": {"RPUSH", "mylist:__bench_probe__", "xxx"},
		"sadd":  {"SADD", "myset:__bench_probe__", "element:1"},
		"hset":  {"HSET", "myhash:__bench_probe__", "element:1", "xxx"},
		"zadd":  {"ZADD", "myzset:__bench_probe__", "1", "element:1"},
		"mset":  {"MSET", "key:__bench_probe__", "xxx"},
	}
	c := p.client(1)
	defer c.Close()
	for _, test := range tests {
		args, ok := probes[test]
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Do(ctx, args...).Err()
		cancel()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("%s fails on %s: %v", args[0], p.name, err)
		}
	}
}

// ---- 1. throughput ----

type brSetup struct {
	key, title, repl string
	follower         bool
	target           float64
	low              bool // the follower runs at cfg.lowNice
}

var brSetups = []brSetup{
	{"none", "no follower", "mode = \"async\"\n", false, 0, false},
	{"async", "async", "mode = \"async\"\n", true, 0.9, false},
	{"semi", "semi-sync", "mode = \"semi-sync\"\nmin_acks = 1\n", true, 0.6, false},
	{"async-low", "async, follower niced", "mode = \"async\"\n", true, 0.9, true},
}

// brRun lists the setups this configuration runs.
func brRun(cfg brConfig) []brSetup {
	var run []brSetup
	for _, s := range brSetups {
		if !s.low || cfg.lowNice > 0 {
			run = append(run, s)
		}
	}
	return run
}

const brFollowerRepl = "replicaof = %q\n"

func brThroughput(t *testing.T, md *strings.Builder, cfg brConfig) {
	tests := strings.Join(cfg.tests, ",")
	rps := map[string][]float64{}     // setup|TEST|pipeline
	catchUp := map[string][]float64{} // setup|pipeline, seconds
	semi := map[string]int64{}        // semi-sync INFO counters, summed over rounds
	setups := brRun(cfg)
	for round := 1; round <= cfg.rounds; round++ {
		for _, s := range setups {
			t.Logf("throughput round %d/%d: %s", round, cfg.rounds, s.title)
			m := brStart(t, "master", s.repl)
			var f *brProc
			if s.follower {
				nice := 0
				if s.low {
					nice = cfg.lowNice
				}
				f = brStartNice(t, "follower", fmt.Sprintf(brFollowerRepl, m.addr), nice)
				brLinked(t, m, f, time.Minute)
			}
			brProbe(t, m, cfg.tests)
			if f != nil {
				brCaughtUp(t, m, f, time.Minute)
			}
			for _, p := range cfg.pipelines {
				got := brRedisBenchmark(t, brBenchArgs(cfg, strconv.Itoa(m.port), p, tests))
				for _, test := range cfg.tests {
					name := strings.ToUpper(test)
					v, ok := got[name]
					if !ok {
						t.Fatalf("redis-benchmark reported no %s (got %v)", name, got)
					}
					k := fmt.Sprintf("%s|%s|%d", s.key, name, p)
					rps[k] = append(rps[k], v)
				}
				if f != nil {
					d := brCaughtUp(t, m, f, 30*time.Minute)
					k := fmt.Sprintf("%s|%d", s.key, p)
					catchUp[k] = append(catchUp[k], d.Seconds())
				}
			}
			if s.key == "semi" {
				mi, err := m.info("replication")
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"semi_sync_waits", "semi_sync_timeouts"} {
					n, _ := strconv.ParseInt(mi[k], 10, 64)
					semi[k] += n
				}
			}
			if f != nil {
				f.close()
			}
			m.close()
		}
	}

	fmt.Fprintf(md, "### Master throughput with one follower\n\n")
	fmt.Fprintf(md, "Each setup runs on fresh servers: a master, and for the follower setups one follower\n")
	fmt.Fprintf(md, "that has done its (empty) full sync and streams before the timing starts. The follower\n")
	fmt.Fprintf(md, "runs on the same machine. After each redis-benchmark run the follower is waited for\n")
	fmt.Fprintf(md, "until it applied the master's last binlog ID (\"catch-up\" below), so each run starts\n")
	fmt.Fprintf(md, "with the follower current.")
	if cfg.rounds > 1 {
		fmt.Fprintf(md, " Figures are the median of %d rounds.", cfg.rounds)
	}
	if cfg.lowNice > 0 {
		fmt.Fprintf(md, "\n\nIn the \"follower niced\" setup the follower runs under `nice -n %d`: it gets the CPU\n", cfg.lowNice)
		md.WriteString("time the master and redis-benchmark leave, and little more, which is what a follower on\n")
		md.WriteString("a host of its own costs them (a follower in another data center does not share the\n")
		md.WriteString("master's cores). It still shares caches and memory bandwidth, and its lag is longer than\n")
		md.WriteString("it would be on its own host.")
	}
	md.WriteString("\n\n```toml\n")
	md.WriteString("# $TMP/master.toml (semi-sync setup: mode = \"semi-sync\" and min_acks = 1)\n")
	md.WriteString(brConfigText("127.0.0.1:PORT", "$TMP/master", brSetups[1].repl))
	md.WriteString("\n# $TMP/follower.toml (not in the no-follower setup)\n")
	md.WriteString(brConfigText("127.0.0.1:PORT2", "$TMP/follower", fmt.Sprintf(brFollowerRepl, "127.0.0.1:PORT")))
	md.WriteString("```\n\n```sh\n")
	md.WriteString("bin/strata server --config $TMP/master.toml\n")
	md.WriteString("bin/strata server --config $TMP/follower.toml\n")
	if cfg.lowNice > 0 {
		fmt.Fprintf(md, "nice -n %d bin/strata server --config $TMP/follower.toml   # instead, in the niced setup\n", cfg.lowNice)
	}
	for _, p := range cfg.pipelines {
		fmt.Fprintf(md, "redis-benchmark %s\n", strings.Join(brBenchArgs(cfg, "PORT", p, tests), " "))
	}
	md.WriteString("```\n")
	ratios := map[string][]float64{} // setup|pipeline
	for _, low := range []bool{false, true} {
		var cols []brSetup
		for _, s := range setups[1:] {
			if s.low == low {
				cols = append(cols, s)
			}
		}
		if len(cols) == 0 {
			continue
		}
		md.WriteString("\n| command | pipeline | no follower rps |")
		sep := "|---------|---------:|----------------:|"
		for _, s := range cols {
			fmt.Fprintf(md, " %s rps | / none |", s.title)
			sep += "------:|------:|"
		}
		md.WriteString("\n" + sep + "\n")
		for _, p := range cfg.pipelines {
			for _, test := range cfg.tests {
				name := strings.ToUpper(test)
				base := brMedian(rps[fmt.Sprintf("none|%s|%d", name, p)])
				fmt.Fprintf(md, "| %s | %d | %.0f |", name, p, base)
				for _, s := range cols {
					v := brMedian(rps[fmt.Sprintf("%s|%s|%d", s.key, name, p)])
					k := fmt.Sprintf("%s|%d", s.key, p)
					ratios[k] = append(ratios[k], v/base)
					fmt.Fprintf(md, " %.0f | %.2f |", v, v/base)
				}
				md.WriteString("\n")
			}
		}
	}
	md.WriteString("\n| setup | pipeline | geometric mean ratio | lowest ratio | target | met | follower catch-up after the run |\n")
	md.WriteString("|-------|---------:|---------------------:|-------------:|-------:|-----|--------------------------------:|\n")
	for _, s := range setups[1:] {
		for _, p := range cfg.pipelines {
			r := ratios[fmt.Sprintf("%s|%d", s.key, p)]
			lo := slices.Min(r)
			met := "yes"
			if lo < s.target {
				met = "no"
			}
			fmt.Fprintf(md, "| %s | %d | %.2f | %.2f | %.1fx | %s | %.2f s |\n", s.title, p, brGeoMean(r), lo,
				s.target, met, brMedian(catchUp[fmt.Sprintf("%s|%d", s.key, p)]))
		}
	}
	fmt.Fprintf(md, "\nSemi-sync (ack_timeout 1s, on_ack_timeout degrade): %d writes waited for an acknowledgement, "+
		"%d timed out", semi["semi_sync_waits"], semi["semi_sync_timeouts"])
	if semi["semi_sync_timeouts"] > 0 {
		md.WriteString(" (those and the writes after them, until the follower caught up, were answered asynchronously: the semi-sync figures are optimistic)")
	}
	md.WriteString(".\n\n")
}

// ---- 2. lag ----

type brLagScenario struct {
	title, mode, repl string
	load              bool
}

type brLagResult struct {
	probes, seen, missing int
	p50, p99, max         time.Duration
	recPerSec             float64
	pollRTT               time.Duration
}

func brLag(t *testing.T, md *strings.Builder, cfg brConfig) {
	scenarios := []brLagScenario{
		{"probes only", "async", brSetups[1].repl, false},
		{fmt.Sprintf("SET load, -c %d -P 1", cfg.clients), "async", brSetups[1].repl, true},
		{fmt.Sprintf("SET load, -c %d -P 1", cfg.clients), "semi-sync", brSetups[2].repl, true},
	}
	loadArgs := []string{"-h", "127.0.0.1", "-p", "PORT", "-r", strconv.Itoa(cfg.keyRange), "-n", "2000000000",
		"-c", strconv.Itoa(cfg.clients), "-P", "1", "-t", "set", "-q"}
	results := make([]brLagResult, len(scenarios))
	for i, sc := range scenarios {
		t.Logf("lag: %s, %s", sc.mode, sc.title)
		results[i] = brLagRun(t, cfg, sc, loadArgs)
	}

	period := time.Second / time.Duration(cfg.lagRate)
	fmt.Fprintf(md, "### Follower lag\n\n")
	fmt.Fprintf(md, "Lag is the time from the master's reply to a write to the first moment a read on the\n")
	fmt.Fprintf(md, "follower returns it. A prober writes `SET lagprobe:<i> <unix ns>` on the master every %s\n", period)
	fmt.Fprintf(md, "(%d/s, one connection, waiting for each reply) for %s and notes when each reply arrived; a\n", cfg.lagRate, cfg.lagDur)
	fmt.Fprintf(md, "poller on another connection sends `MGET` of every acknowledged probe not yet seen to the\n")
	fmt.Fprintf(md, "follower, pausing %s between polls, and takes the time its reply arrives as the time the\n", cfg.lagPoll)
	fmt.Fprintf(md, "probe became visible. Both clocks are the benchmark process's monotonic clock, so there is\n")
	fmt.Fprintf(md, "no clock skew; a figure overstates the true lag by at most one poll (pause + round trip, the\n")
	fmt.Fprintf(md, "median round trip is in the table), and a probe the follower applied before the master's\n")
	fmt.Fprintf(md, "reply reached the client counts as one poll. This measures what a client reading from the\n")
	fmt.Fprintf(md, "follower sees (shipped, applied and readable), not just the binlog offset. Under load,\n")
	fmt.Fprintf(md, "redis-benchmark writes SETs as fast as the master takes them at the same time:\n\n")
	fmt.Fprintf(md, "```sh\nredis-benchmark %s   # killed after sampling\n```\n\n", strings.Join(loadArgs, " "))
	md.WriteString("| mode | load | master writes/s | probes seen | p50 ms | p99 ms | max ms | not seen in 30s | poll round trip ms |\n")
	md.WriteString("|------|------|----------------:|------------:|-------:|-------:|-------:|----------------:|-------------------:|\n")
	for i, sc := range scenarios {
		r := results[i]
		fmt.Fprintf(md, "| %s | %s | %.0f | %d | %.2f | %.2f | %.2f | %d | %.2f |\n", sc.mode, sc.title, r.recPerSec,
			r.seen, brMs(r.p50), brMs(r.p99), brMs(r.max), r.missing, brMs(r.pollRTT))
	}
	md.WriteString("\n\"master writes/s\" is the growth of `master_repl_offset` (one binlog ID per write) over the sampling time.\n\n")
}

type brProbeAck struct {
	key   string
	acked time.Time
}

func brLagRun(t *testing.T, cfg brConfig, sc brLagScenario, loadArgs []string) brLagResult {
	t.Helper()
	m := brStart(t, "master", sc.repl)
	defer m.close()
	f := brStart(t, "follower", fmt.Sprintf(brFollowerRepl, m.addr))
	defer f.close()
	brLinked(t, m, f, time.Minute)

	if sc.load {
		args := slices.Clone(loadArgs)
		args[slices.Index(args, "PORT")] = strconv.Itoa(m.port)
		cmd := brCommand("redis-benchmark", args...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		defer func() {
			_ = cmd.Process.Kill()
			<-done
		}()
		time.Sleep(2 * time.Second) // warm up
		select {
		case <-done:
			t.Fatal("the redis-benchmark load exited early")
		default:
		}
	}

	mc := m.client(2)
	defer mc.Close()
	fc := f.client(2)
	defer fc.Close()
	ctx := context.Background()
	startID := m.infoInt("replication", "master_repl_offset")
	start := time.Now()

	acks := make(chan brProbeAck, 1<<20)
	var probes atomic.Int64
	var werr error
	var endID int64
	var elapsed time.Duration
	go func() {
		defer close(acks)
		tick := time.NewTicker(time.Second / time.Duration(cfg.lagRate))
		defer tick.Stop()
		end := start.Add(cfg.lagDur)
		for i := 0; ; i++ {
			now := <-tick.C
			if now.After(end) {
				elapsed = time.Since(start)
				mi, err := m.info("replication")
				if err != nil {
					werr = err
					return
				}
				endID, _ = strconv.ParseInt(mi["master_repl_offset"], 10, 64)
				return
			}
			key := "lagprobe:" + strconv.Itoa(i)
			if err := mc.Set(ctx, key, strconv.FormatInt(time.Now().UnixNano(), 10), 0).Err(); err != nil {
				werr = err
				return
			}
			acks <- brProbeAck{key, time.Now()}
			probes.Add(1)
		}
	}()

	var lags, rtts []time.Duration
	var pending []brProbeAck
	missing := 0
	open := true
	for open || len(pending) > 0 {
	drain:
		for {
			select {
			case a, ok := <-acks:
				if !ok {
					open = false
					break drain
				}
				pending = append(pending, a)
			default:
				break drain
			}
		}
		if len(pending) == 0 {
			if !open {
				break
			}
			a, ok := <-acks
			if !ok {
				open = false
				continue
			}
			pending = append(pending, a)
		}
		n := min(len(pending), 1000)
		keys := make([]string, n)
		for i := range keys {
			keys[i] = pending[i].key
		}
		sent := time.Now()
		vals, err := fc.MGet(ctx, keys...).Result()
		now := time.Now()
		if err != nil {
			t.Fatalf("MGET on the follower: %v", err)
		}
		rtts = append(rtts, now.Sub(sent))
		keep := pending[:0]
		for i, a := range pending {
			switch {
			case i < n && vals[i] != nil:
				lags = append(lags, now.Sub(a.acked))
			case now.Sub(a.acked) > 30*time.Second:
				missing++
			default:
				keep = append(keep, a)
			}
		}
		pending = keep
		if cfg.lagPoll > 0 {
			time.Sleep(cfg.lagPoll)
		}
	}
	if werr != nil {
		t.Fatalf("SET on the master: %v", werr)
	}
	if len(lags) == 0 {
		t.Fatalf("the follower served none of the %d probes", probes.Load())
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	return brLagResult{
		probes: int(probes.Load()), seen: len(lags), missing: missing,
		p50: brPct(lags, 0.50), p99: brPct(lags, 0.99), max: lags[len(lags)-1],
		recPerSec: float64(endID-startID) / elapsed.Seconds(),
		pollRTT:   brPct(rtts, 0.50),
	}
}

// ---- 3. full sync ----

var brBytesSent = regexp.MustCompile(`full copy sent .*?bytes_sent=(\d+)`)

func brFullSync(t *testing.T, md *strings.Builder, cfg brConfig) {
	m := brStart(t, "master", brSetups[1].repl)
	defer m.close()

	// The dataset: SET fullsync:<i> <random bytes>, pipelined from several connections.
	// Random values do not compress, so the data on disk is about the logical size.
	keys := (cfg.fsBytes + int64(cfg.fsValue) - 1) / int64(cfg.fsValue)
	const workers, depth = 8, 16
	t.Logf("full sync: writing %d keys of %d bytes", keys, cfg.fsValue)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	fillStart := time.Now()
	for w := range workers {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := m.client(1)
			defer c.Close()
			var seed [32]byte
			binary.LittleEndian.PutUint64(seed[:], uint64(w)+uint64(time.Now().UnixNano()))
			rng := rand.NewChaCha8(seed)
			bufs := make([][]byte, depth)
			for i := range bufs {
				bufs[i] = make([]byte, cfg.fsValue)
			}
			ctx := context.Background()
			for {
				first := next.Add(depth) - depth
				if first >= keys {
					return
				}
				n := min(int64(depth), keys-first)
				pipe := c.Pipeline()
				for i := range n {
					_, _ = rng.Read(bufs[i])
					pipe.Set(ctx, fmt.Sprintf("fullsync:%010d", first+i), bufs[i], 0)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					errs <- err
					return
				}
				before := done.Load()
				after := done.Add(n)
				if step := keys / 10; step > 0 && before/step != after/step {
					t.Logf("full sync: %d%% written", after*100/keys)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("writing the dataset: %v", err)
	}
	fillDur := time.Since(fillStart)
	logical := keys * int64(cfg.fsValue)

	// SAVE writes a checkpoint, which flushes the memtables: then data_dir/db holds the
	// whole dataset. Let compactions settle: the copy is of the data at rest.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	mcl := m.client(1)
	err := mcl.Do(ctx, "SAVE").Err()
	mcl.Close()
	cancel()
	if err != nil {
		t.Fatalf("SAVE on the master: %v", err)
	}
	dbDir := filepath.Join(m.dir, "db")
	settled := brSettle(t, dbDir, 5*time.Second, 3*time.Minute)
	dbBytes := brDirSize(t, dbDir)
	lastID := m.infoInt("replication", "master_repl_offset")
	dbsize := brDBSize(t, m)
	t.Logf("full sync: master db %s (%d keys), settled: %v", brHuman(dbBytes), dbsize, settled)

	f := brStart(t, "follower", fmt.Sprintf(brFollowerRepl, ""))
	defer f.close()
	fcl := f.client(1)
	defer fcl.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	start := time.Now()
	err = fcl.Do(ctx, "REPLICAOF", "127.0.0.1", strconv.Itoa(m.port)).Err()
	cancel()
	if err != nil {
		t.Fatalf("REPLICAOF: %v", err)
	}
	for {
		fi, err := f.info("replication")
		if err != nil {
			t.Fatal(err)
		}
		applied, _ := strconv.ParseInt(fi["slave_repl_offset"], 10, 64)
		if fi["master_link_status"] == "up" && applied >= lastID {
			break
		}
		if time.Since(start) > 2*time.Hour {
			t.Fatalf("full sync not done after 2h: link %s, applied %d of %d\n%s", fi["master_link_status"], applied, lastID, f.logTail())
		}
		time.Sleep(5 * time.Millisecond)
	}
	dur := time.Since(start)
	if got := brDBSize(t, f); got != dbsize {
		t.Fatalf("follower has %d keys after the full sync, master %d", got, dbsize)
	}
	sent := int64(-1)
	if b, err := os.ReadFile(m.logPath); err == nil {
		if all := brBytesSent.FindAllSubmatch(b, -1); len(all) > 0 {
			sent, _ = strconv.ParseInt(string(all[len(all)-1][1]), 10, 64)
		}
	}
	fDB := brDirSize(t, filepath.Join(f.dir, "db"))

	mbps := func(n int64) float64 { return float64(n) / (1 << 20) / dur.Seconds() }
	fmt.Fprintf(md, "### Full sync\n\n")
	fmt.Fprintf(md, "A master (async, default settings) is filled with `SET fullsync:<i> <%d random bytes>`\n", cfg.fsValue)
	fmt.Fprintf(md, "(%d connections pipelining %d SETs each) up to %s of values; `SAVE` then flushes the\n", workers, depth, brHuman(logical))
	fmt.Fprintf(md, "memtables, and once `data_dir/db` has not changed size for 5s (compactions done; at most 3 min) a\n")
	fmt.Fprintf(md, "fresh, empty follower is sent `REPLICAOF 127.0.0.1 PORT`. The time runs from that command\n")
	fmt.Fprintf(md, "until the follower's INFO replication shows `master_link_status:up` and `slave_repl_offset`\n")
	fmt.Fprintf(md, "equal to the master's `master_repl_offset` (the master is idle meanwhile): checkpoint, copy\n")
	fmt.Fprintf(md, "over loopback (default `repl_compression = \"zstd\"`, which random values defeat), install.\n")
	fmt.Fprintf(md, "MiB/s is the master's `data_dir/db` size (`du -b`, before the sync) over that time; the\n")
	fmt.Fprintf(md, "bytes the master logged as sent (`full copy sent ... bytes_sent`) are also shown.\n\n")
	md.WriteString("| dataset | keys | master db (du -b) | bytes sent | sync time | MiB/s (db size) | MiB/s (sent) | follower db after |\n")
	md.WriteString("|--------:|-----:|------------------:|-----------:|----------:|---------------:|------------:|------------------:|\n")
	sentCol, sentRate := "-", "-"
	if sent >= 0 {
		sentCol, sentRate = brHuman(sent), fmt.Sprintf("%.1f", mbps(sent))
	}
	fmt.Fprintf(md, "| %s | %d | %s | %s | %.1f s | %.1f | %s | %s |\n", brHuman(logical), dbsize, brHuman(dbBytes),
		sentCol, dur.Seconds(), mbps(dbBytes), sentRate, brHuman(fDB))
	fmt.Fprintf(md, "\nWriting the dataset took %.1f s (%.1f MiB/s of values).", fillDur.Seconds(), float64(logical)/(1<<20)/fillDur.Seconds())
	if !settled {
		md.WriteString(" The master's data directory was still changing size after 3 min: compactions overlapped the copy.")
	}
	md.WriteString("\n\n")
}

func brDBSize(t *testing.T, p *brProc) int64 {
	t.Helper()
	c := p.client(1)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := c.DBSize(ctx).Result()
	if err != nil {
		t.Fatalf("DBSIZE on %s: %v", p.name, err)
	}
	return n
}

// brDirSize is the apparent size of the regular files under dir (du -b).
func brDirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed by a compaction meanwhile
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// brSettle waits until dir's size has not changed for quiet, at most limit; it reports
// whether it settled.
func brSettle(t *testing.T, dir string, quiet, limit time.Duration) bool {
	t.Helper()
	start := time.Now()
	last, since := brDirSize(t, dir), time.Now()
	for time.Since(start) < limit {
		time.Sleep(500 * time.Millisecond)
		if n := brDirSize(t, dir); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return true
		}
	}
	return false
}

// ---- report helpers ----

func brHeader(t *testing.T, md *strings.Builder, cfg brConfig) {
	t.Helper()
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	ram := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			ram = fmt.Sprintf(", %.1f GiB RAM", float64(kb)/(1<<20))
		}
	}
	osName := ""
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				osName = strings.Trim(v, `"`)
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			return "unknown"
		}
		return strings.TrimSpace(string(out))
	}
	nproc := run("nproc")
	if nproc == "unknown" {
		nproc = strconv.Itoa(runtime.NumCPU())
	}
	md.WriteString("## Replication: master throughput with a follower, follower lag, full sync\n\n")
	md.WriteString("`make bench-repl` (`scripts/bench-repl.sh`, which runs `TestBenchRepl` in\n")
	md.WriteString("`integration/bench_repl_test.go`). Every server is a `bin/strata` process built from the\n")
	md.WriteString("tree, on its default configuration plus the lines shown, with a fresh temporary data\n")
	md.WriteString("directory and a free loopback port; all processes share the machine.\n\n")
	md.WriteString("```\n")
	fmt.Fprintf(md, "date:     %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(md, "machine:  %s CPUs, %s%s\n", nproc, model, ram)
	fmt.Fprintf(md, "kernel:   %s\n", run("uname", "-srm"))
	fmt.Fprintf(md, "os:       %s\n", osName)
	fmt.Fprintf(md, "load:     %s (1/5/15 min load average at the start)\n", load)
	fmt.Fprintf(md, "strata:   %s\n", run(strataBin, "version"))
	fmt.Fprintf(md, "redis:    %s\n", run("redis-benchmark", "--version"))
	settings := []string{}
	for _, kv := range [][2]string{
		{"BENCH_N", strconv.Itoa(cfg.n)}, {"BENCH_CLIENTS", strconv.Itoa(cfg.clients)},
		{"BENCH_RANGE", strconv.Itoa(cfg.keyRange)}, {"BENCH_PIPELINES", strings.Join(brInts(cfg.pipelines), " ")},
		{"BENCH_REPL_TESTS", strings.Join(cfg.tests, ",")}, {"BENCH_REPL_ROUNDS", strconv.Itoa(cfg.rounds)},
		{"BENCH_LAG_SECONDS", strconv.FormatFloat(cfg.lagDur.Seconds(), 'f', -1, 64)}, {"BENCH_LAG_RATE", strconv.Itoa(cfg.lagRate)},
		{"BENCH_LAG_POLL", strings.ReplaceAll(cfg.lagPoll.String(), "µs", "us")}, {"BENCH_FULLSYNC_BYTES", config.Size(cfg.fsBytes).String()},
		{"BENCH_FULLSYNC_VALUE", config.Size(cfg.fsValue).String()},
	} {
		settings = append(settings, kv[0]+"="+strconv.Quote(kv[1]))
	}
	fmt.Fprintf(md, "run:      %s make bench-repl\n", strings.Join(settings, " "))
	md.WriteString("```\n\n")
}

func brNotes(md *strings.Builder, cfg brConfig) {
	md.WriteString("### Notes\n\n")
	md.WriteString("- The follower, the master and the load generator share the machine's CPUs, so a follower\n")
	md.WriteString("  costs the master CPU time as well as the work of shipping the binlog; on separate hosts the\n")
	md.WriteString("  ratios would be higher and the lag would add the network round trip.\n")
	if cfg.parts["throughput"] || cfg.parts["lag"] {
		md.WriteString("- Semi-sync answers a write once the follower has it in its binlog (REPLCONF ACK); concurrent\n")
		md.WriteString("  writers share a round trip, so the cost shows most at `-P 1` with few clients.\n")
	}
	if cfg.parts["throughput"] {
		md.WriteString("- Catch-up time after a throughput run is how far behind an async follower fell under a\n")
		md.WriteString("  saturating load; it is near zero for semi-sync by construction.\n")
		if cfg.rounds == 1 {
			md.WriteString("- One round per setup: on a busy machine repeat with BENCH_REPL_ROUNDS=3 for medians.\n")
		}
	}
	md.WriteString("\n")
}

func brInts(v []int) []string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return s
}

func brMedian(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func brGeoMean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(v)))
}

// brPct is the nearest-rank percentile of sorted durations.
func brPct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func brMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func brHuman(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
