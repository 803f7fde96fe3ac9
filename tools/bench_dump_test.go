//go:build linux

package tools

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-kv/strata/config"
	"github.com/strata-kv/strata/store"
)

// TestBenchDump is the dump and load throughput benchmark behind `make bench-dump`
// (scripts/bench-dump.sh). It is a benchmark, not a check: it is skipped unless
// STRATA_BENCH_DUMP=1 (that skip is acceptable only because it measures and asserts
// nothing about behaviour), it takes minutes and several times the dataset size on
// disk, and it fails only when the setup itself does not work (a server does not
// start, a command fails, the loaded data differs from the source). It is a Test
// rather than a Go Benchmark because each figure is one timed run of real processes,
// not a loop over b.N.
//
// A strata server (a process of the binary built from the tree, own free loopback
// port below 32768, own temporary data directory) is filled with BENCH_DUMP_BYTES of
// `SET dump:<i> <BENCH_DUMP_VALUE random bytes>` (random, so compression does not
// flatter the figures), then:
//
//  1. `strata dump --addr` dumps it while it runs (checkpoint, copy over the
//     replication full-sync transfer, dump of the copy);
//  2. BGSAVE takes a snapshot and `strata dump --data-dir <snapshot>` dumps it;
//  3. `strata load FILE --data-dir` builds a fresh data directory from the first dump,
//     and a server started on it must answer DIGEST 0 and DBSIZE as the source did;
//  4. the limit of that load: the same records, read from the dump beforehand, go
//     through store.Loader (SST file writes, then IngestExternalFile) and only that
//     is timed;
//  5. the Redis baseline: a redis-server without persistence holds the same keys and
//     values, `redis-cli --rdb` is timed, then the time a redis-server takes to load
//     that RDB at start.
//
// It prints a Markdown section for BENCHMARKS.md to stdout, or to the file named by
// BENCH_DUMP_OUT. Environment (defaults in brackets):
//
//	BENCH_DUMP_BYTES    dataset size: keys + values, e.g. 200MB    [2GB]
//	BENCH_DUMP_VALUE    value size                                 [4KB]
//	BENCH_DUMP_OUT      file to write the Markdown to              [stdout]
//	STRATA_BIN          strata binary to run                       [built from the tree]
//
// Temporary directories go under TMPDIR; every process started is killed when the
// test ends or its process dies.
func TestBenchDump(t *testing.T) {
	if os.Getenv("STRATA_BENCH_DUMP") != "1" {
		t.Skip("benchmark: set STRATA_BENCH_DUMP=1 (or run make bench-dump)")
	}
	for _, tool := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run 'make deps' (Debian packages redis-server, redis-tools)", tool)
		}
	}
	cfg := bdLoadConfig(t)
	root, err := os.MkdirTemp("", "strata-bench-dump-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if cfg.bin == "" {
		cfg.bin = filepath.Join(root, "strata")
		t.Logf("building strata into %s", cfg.bin)
		build := exec.Command("go", "build", "-o", cfg.bin, "github.com/strata-kv/strata/cmd/strata")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build strata: %v\n%s", err, out)
		}
	}
	b := &bdBench{t: t, cfg: cfg, root: root, loadAvg: bdLoadAvg()}
	b.strata()
	b.redis()
	md := b.report()
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	fmt.Print(md)
}

// ---- configuration ----

type bdConfig struct {
	bytes int64
	value int
	keys  int64
	out   string
	bin   string
}

// bdKeyLen is the length of the key names, "dump:%010d".
const bdKeyLen = 15

func bdLoadConfig(t *testing.T) bdConfig {
	t.Helper()
	size := func(name string, def int64) int64 {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			return def
		}
		s, err := config.ParseSize(v)
		if err != nil || s <= 0 {
			t.Fatalf("%s=%q: not a size like 200MB", name, v)
		}
		return int64(s)
	}
	c := bdConfig{
		bytes: size("BENCH_DUMP_BYTES", 2<<30),
		value: int(size("BENCH_DUMP_VALUE", 4<<10)),
		out:   strings.TrimSpace(os.Getenv("BENCH_DUMP_OUT")),
		bin:   strings.TrimSpace(os.Getenv("STRATA_BIN")),
	}
	if c.value > 64<<20 {
		t.Fatalf("BENCH_DUMP_VALUE=%d: at most 64MB", c.value)
	}
	c.keys = (c.bytes + int64(c.value+bdKeyLen) - 1) / int64(c.value+bdKeyLen)
	return c
}

// data is the dataset's logical size: key names plus values.
func (c bdConfig) data() int64 { return c.keys * int64(bdKeyLen+c.value) }

// ---- results ----

// bdStep is one timed step of the table.
type bdStep struct {
	name, cmd string
	dur       time.Duration
	file      int64 // dump or RDB file written or read; -1 when none
}

type bdBench struct {
	t       *testing.T
	cfg     bdConfig
	root    string
	loadAvg string

	strataVersion, redisVersion string

	strataFill, redisFill time.Duration
	settled               bool
	sourceDB              int64 // du -b of the source's data_dir/db before the dumps
	bgsave                time.Duration
	online, snapshot      bdStep
	load                  bdStep
	loadedDB              int64
	digest                string
	dbsize                int64

	// the ingest limit
	ingestAdd, ingestFinish time.Duration
	ingestFiles             int
	ingestRecords           uint64
	ingestRecordBytes       int64
	ingestDB                int64

	rdb, rdbLoad bdStep
	redisMem     string
}

// ---- processes ----

var (
	bdPortsMu sync.Mutex
	bdPorts   = map[int]bool{}
)

// bdFreePort picks a free loopback port in 20000-31999: below the kernel's ephemeral
// range (32768-60999), so no outgoing connection can be holding it.
func bdFreePort(t *testing.T) int {
	t.Helper()
	bdPortsMu.Lock()
	defer bdPortsMu.Unlock()
	for range 500 {
		port := 20000 + rand.IntN(12000)
		if bdPorts[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		bdPorts[port] = true
		return port
	}
	t.Fatal("no free port found in 20000-31999")
	return 0
}

// bdCommand is a command killed with the benchmark's process, however that ends.
func bdCommand(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// bdProc is a server process (strata or redis-server) on a loopback port.
type bdProc struct {
	t       *testing.T
	name    string
	addr    string
	port    int
	logPath string
	cmd     *exec.Cmd
	exited  chan error
	// ready is how long after the start the server first answered PING.
	ready time.Duration
}

// bdStart starts a server, its output going to logPath, and waits up to limit for it
// to answer PING (a redis-server loading its RDB answers -LOADING until it is done).
func bdStart(t *testing.T, name string, port int, logPath string, limit time.Duration, bin string, args ...string) *bdProc {
	t.Helper()
	p := &bdProc{t: t, name: name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port, logPath: logPath}
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = bdCommand(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(p.cmd, p.exited)
	t.Cleanup(p.stop)
	c := p.client()
	defer c.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			p.ready = time.Since(start)
			return p
		}
		select {
		case werr := <-p.exited:
			p.cmd = nil
			t.Fatalf("%s exited during start: %v\n%s", name, werr, p.logTail())
		default:
		}
		if time.Since(start) > limit {
			t.Fatalf("%s did not answer PING within %v: %v\n%s", name, limit, err, p.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bdStartStrata starts a strata server on dataDir.
func bdStartStrata(b *bdBench, name, dataDir string) *bdProc {
	port := bdFreePort(b.t)
	return bdStart(b.t, name, port, filepath.Join(b.root, name+".log"), time.Minute, b.cfg.bin,
		"server", "--addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "--data-dir", dataDir)
}

// stop stops the server (SIGTERM, SIGKILL after 60s). Safe to call twice.
func (p *bdProc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

func (p *bdProc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (p *bdProc) client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: p.addr, Protocol: 2, DisableIdentity: true, PoolSize: 1,
		DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Minute, WriteTimeout: time.Minute,
	})
}

// do runs one command with a generous timeout and fails the test on an error.
func (p *bdProc) do(args ...any) any {
	p.t.Helper()
	c := p.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	v, err := c.Do(ctx, args...).Result()
	if err != nil {
		p.t.Fatalf("%s: %v: %v", p.name, args, err)
	}
	return v
}

// info returns one field of INFO section.
func (p *bdProc) info(section, field string) string {
	p.t.Helper()
	s, _ := p.do("info", section).(string)
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// run runs a command line to completion and returns its wall time.
func (b *bdBench) run(name string, args ...string) time.Duration {
	b.t.Helper()
	cmd := bdCommand(name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		b.t.Logf("%s: %s", filepath.Base(name), s)
	}
	return d
}

// ---- the dataset ----

// bdFill writes the dataset into the server at p: SET dump:<i> <value i>, pipelined
// from a few connections. The value of key i is the same on every run and server:
// random bytes from a ChaCha8 stream seeded with the index of its pipeline batch.
func (b *bdBench) fill(p *bdProc) time.Duration {
	t := b.t
	const workers, depth = 4, 16
	keys, vsize := b.cfg.keys, b.cfg.value
	t.Logf("%s: writing %d keys of %d bytes (%s)", p.name, keys, vsize, bdHuman(b.cfg.data()))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := p.client()
			defer c.Close()
			bufs := make([][]byte, depth)
			for i := range bufs {
				bufs[i] = make([]byte, vsize)
			}
			ctx := context.Background()
			var seed [32]byte
			copy(seed[8:], "strata bench-dump")
			for {
				first := next.Add(depth) - depth
				if first >= keys {
					return
				}
				n := min(int64(depth), keys-first)
				binary.LittleEndian.PutUint64(seed[:], uint64(first))
				rng := rand.NewChaCha8(seed)
				pipe := c.Pipeline()
				for i := range n {
					_, _ = rng.Read(bufs[i])
					pipe.Set(ctx, fmt.Sprintf("dump:%010d", first+i), bufs[i], 0)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					errs <- err
					return
				}
				before := done.Load()
				after := done.Add(n)
				if step := keys / 4; step > 0 && before/step != after/step {
					t.Logf("%s: %d%% written", p.name, after*100/keys)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("%s: writing the dataset: %v", p.name, err)
	}
	d := time.Since(start)
	if n := p.do("dbsize").(int64); n != keys {
		t.Fatalf("%s: DBSIZE %d after the fill, want %d", p.name, n, keys)
	}
	return d
}

// ---- Strata: parts 1 to 4 ----

func (b *bdBench) strata() {
	t := b.t
	b.strataVersion = bdOutput(b.cfg.bin, "version")
	srcDir := filepath.Join(b.root, "source")
	src := bdStartStrata(b, "strata-source", srcDir)
	b.strataFill = b.fill(src)

	// The dumps measure data at rest: a checkpoint flushes the memtables, then wait for
	// compactions to finish (data_dir/db unchanged in size for 5s, at most 3 min).
	t.Log("strata: flushing (SAVE) and waiting for compactions to settle")
	src.do("save")
	b.settled = bdSettle(t, filepath.Join(srcDir, "db"), 5*time.Second, 3*time.Minute)
	b.sourceDB = bdDirSize(t, filepath.Join(srcDir, "db"))
	if err := os.RemoveAll(filepath.Join(srcDir, "snapshots")); err != nil {
		t.Fatal(err)
	}
	t.Log("strata: DIGEST 0 of the source")
	b.digest = src.do("digest", "0").(string)
	b.dbsize = src.do("dbsize").(int64)

	// 1. Online dump of the running server.
	onlineFile := filepath.Join(b.root, "online.dump")
	t.Log("strata: 1. dump --addr")
	b.online = bdStep{name: "Online dump of a running server", cmd: "strata dump --addr",
		dur: b.run(b.cfg.bin, "dump", "--addr", src.addr, "-o", onlineFile, "-q")}
	b.online.file = bdFileSize(t, onlineFile)

	// 2. BGSAVE, then a dump of the snapshot (the server still runs).
	t.Log("strata: 2. BGSAVE and dump --data-dir <snapshot>")
	start := time.Now()
	src.do("bgsave")
	for {
		if src.info("persistence", "rdb_bgsave_in_progress") == "0" {
			break
		}
		if time.Since(start) > 10*time.Minute {
			t.Fatal("BGSAVE not done after 10 min")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.bgsave = time.Since(start)
	if st := src.info("persistence", "rdb_last_bgsave_status"); st != "ok" {
		t.Fatalf("BGSAVE status %q", st)
	}
	snaps, err := os.ReadDir(filepath.Join(srcDir, "snapshots"))
	if err != nil || len(snaps) != 1 {
		t.Fatalf("want one snapshot in %s after BGSAVE, got %d (%v)", filepath.Join(srcDir, "snapshots"), len(snaps), err)
	}
	snapDir := filepath.Join(srcDir, "snapshots", snaps[0].Name())
	snapFile := filepath.Join(b.root, "snapshot.dump")
	b.snapshot = bdStep{name: "Dump of a BGSAVE snapshot", cmd: "strata dump --data-dir <snapshot>",
		dur: b.run(b.cfg.bin, "dump", "--data-dir", snapDir, "-o", snapFile, "-q")}
	b.snapshot.file = bdFileSize(t, snapFile)
	if err := os.Remove(snapFile); err != nil {
		t.Fatal(err)
	}
	src.stop()
	if err := os.RemoveAll(srcDir); err != nil {
		t.Fatal(err)
	}

	// 3. Load into a fresh data directory, then check it against the source.
	t.Log("strata: 3. load --data-dir")
	loadedDir := filepath.Join(b.root, "loaded")
	b.load = bdStep{name: "Load into a fresh data dir", cmd: "strata load FILE --data-dir",
		dur: b.run(b.cfg.bin, "load", onlineFile, "--data-dir", loadedDir, "-q"), file: b.online.file}
	b.loadedDB = bdDirSize(t, filepath.Join(loadedDir, "db"))
	loaded := bdStartStrata(b, "strata-loaded", loadedDir)
	t.Log("strata: DIGEST 0 of the loaded server")
	if got := loaded.do("digest", "0").(string); got != b.digest {
		t.Fatalf("DIGEST 0 of the loaded server is %s, the source's %s", got, b.digest)
	}
	if got := loaded.do("dbsize").(int64); got != b.dbsize {
		t.Fatalf("DBSIZE of the loaded server is %d, the source's %d", got, b.dbsize)
	}
	loaded.stop()
	if err := os.RemoveAll(loadedDir); err != nil {
		t.Fatal(err)
	}

	// 4. The ingest path alone.
	t.Log("strata: 4. store.Loader alone (SST write + IngestExternalFile)")
	b.ingestLimit(onlineFile, filepath.Join(b.root, "ingest"))
	if err := os.Remove(onlineFile); err != nil {
		t.Fatal(err)
	}
}

// ingestLimit loads the records of the dump at path into dir/db with store.Loader,
// timing only the loader: the records are read and decompressed beforehand, 64MB at
// a time, into memory.
func (b *bdBench) ingestLimit(path, dir string) {
	t := b.t
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewDumpReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := r.Header()
	lo := store.DefaultLoaderOptions()
	lo.Applied, lo.History = h.BinlogID, h.History
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := store.NewLoader(filepath.Join(dir, "db"), lo)
	if err != nil {
		t.Fatal(err)
	}
	finished := false
	defer func() {
		if !finished {
			l.Abort()
		}
	}()
	const batchBytes = 64 << 20
	type rec struct{ off, klen, vlen int }
	arena := make([]byte, 0, batchBytes+1<<20)
	var recs []rec
	eof := false
	for !eof {
		arena, recs = arena[:0], recs[:0]
		for len(arena) < batchBytes {
			k, v, err := r.Next()
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec{len(arena), len(k), len(v)})
			arena = append(append(arena, k...), v...)
			b.ingestRecords++
			b.ingestRecordBytes += int64(len(k) + len(v))
		}
		start := time.Now()
		for _, x := range recs {
			k := arena[x.off : x.off+x.klen]
			if err := l.Add(k, arena[x.off+x.klen:x.off+x.klen+x.vlen]); err != nil {
				t.Fatal(err)
			}
		}
		b.ingestAdd += time.Since(start)
	}
	b.ingestFiles = l.Files()
	start := time.Now()
	err = l.Finish()
	b.ingestFinish = time.Since(start)
	finished = true
	if err != nil {
		t.Fatal(err)
	}
	if got := l.KeyCounts()[0]; int64(got) != b.dbsize {
		t.Fatalf("the loader saw %d keys, the source has %d", got, b.dbsize)
	}
	b.ingestDB = bdDirSize(t, filepath.Join(dir, "db"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}

// ---- Redis: part 5 ----

func (b *bdBench) redis() {
	t := b.t
	b.redisVersion = bdOutput("redis-server", "--version")
	dir := filepath.Join(b.root, "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := bdFreePort(t)
	src := bdStart(t, "redis-source", port, filepath.Join(b.root, "redis-source.log"), time.Minute, "redis-server",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--repl-diskless-sync-delay", "0", "--dir", dir)
	b.redisFill = b.fill(src)
	b.redisMem = src.info("memory", "used_memory_human")

	t.Log("redis: redis-cli --rdb")
	rdbFile := filepath.Join(b.root, "redis.rdb")
	b.rdb = bdStep{name: "Redis: dump of a running server", cmd: "redis-cli --rdb",
		dur: b.run("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "--rdb", rdbFile)}
	b.rdb.file = bdFileSize(t, rdbFile)
	src.stop()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	t.Log("redis: loading the RDB at start")
	port = bdFreePort(t)
	loaded := bdStart(t, "redis-loaded", port, filepath.Join(b.root, "redis-loaded.log"), time.Hour, "redis-server",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", b.root, "--dbfilename", "redis.rdb")
	b.rdbLoad = bdStep{name: "Redis: load of the RDB at start", cmd: "redis-server --dbfilename FILE",
		dur: loaded.ready, file: b.rdb.file}
	if n := loaded.do("dbsize").(int64); n != b.cfg.keys {
		t.Fatalf("redis loaded %d keys from the RDB, want %d", n, b.cfg.keys)
	}
	loaded.stop()
	if err := os.Remove(rdbFile); err != nil {
		t.Fatal(err)
	}
}

// ---- report ----

func (b *bdBench) report() string {
	cfg := b.cfg
	var md strings.Builder
	data := cfg.data()
	model := "unknown CPU"
	if s, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(s), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	ram := ""
	if s, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(s), "MemTotal: %d kB", &kb); err == nil {
			ram = fmt.Sprintf(", %.1f GiB RAM", float64(kb)/(1<<20))
		}
	}
	osName := ""
	if s, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(s), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				osName = strings.Trim(v, `"`)
			}
		}
	}
	nproc := bdOutput("nproc")
	if nproc == "unknown" {
		nproc = strconv.Itoa(runtime.NumCPU())
	}
	md.WriteString("## Dump and load throughput\n\n")
	md.WriteString("`make bench-dump` (`scripts/bench-dump.sh`, which runs `TestBenchDump` in\n")
	md.WriteString("`tools/bench_dump_test.go`). Every server is a process (`strata` built from the tree, or\n")
	md.WriteString("Debian's `redis-server`) on its default configuration plus the flags shown, with a fresh\n")
	md.WriteString("temporary directory and a free loopback port; one server runs at a time.\n\n")
	md.WriteString("```\n")
	fmt.Fprintf(&md, "date:     %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&md, "machine:  %s CPUs, %s%s\n", nproc, model, ram)
	fmt.Fprintf(&md, "kernel:   %s\n", bdOutput("uname", "-srm"))
	fmt.Fprintf(&md, "os:       %s\n", osName)
	fmt.Fprintf(&md, "load:     %s (1/5/15 min load average at the start)\n", b.loadAvg)
	fmt.Fprintf(&md, "strata:   %s\n", b.strataVersion)
	fmt.Fprintf(&md, "redis:    %s\n", b.redisVersion)
	fmt.Fprintf(&md, "run:      BENCH_DUMP_BYTES=%q BENCH_DUMP_VALUE=%q make bench-dump\n",
		config.Size(cfg.bytes).String(), config.Size(cfg.value).String())
	md.WriteString("```\n\n")

	fmt.Fprintf(&md, "The dataset: %d keys `SET dump:<i> <%d random bytes>` (%s of key names and values:\n", cfg.keys, cfg.value, bdHuman(data))
	md.WriteString("\"data\" below), written with 4 connections pipelining 16 SETs each; random values do not\n")
	md.WriteString("compress, so neither the dump's zstd nor the RDB's LZF flatters the figures. Strata and Redis\n")
	md.WriteString("hold the same keys and values.\n\n")

	md.WriteString("### Commands\n\n```sh\n")
	md.WriteString("strata server --addr 127.0.0.1:PORT --data-dir $TMP/source        # filled, SAVE, compactions settled\n")
	md.WriteString("strata dump --addr 127.0.0.1:PORT -o $TMP/online.dump -q          # 1\n")
	md.WriteString("BGSAVE                                                             # 2: timed until rdb_bgsave_in_progress:0\n")
	md.WriteString("strata dump --data-dir $TMP/source/snapshots/<name> -o $TMP/snapshot.dump -q\n")
	md.WriteString("strata load $TMP/online.dump --data-dir $TMP/loaded -q            # 3\n")
	md.WriteString("strata server --addr 127.0.0.1:PORT --data-dir $TMP/loaded        # DIGEST 0, DBSIZE == source's\n")
	md.WriteString("# 4: store.NewLoader + Add + Finish in-process on the records of online.dump, read beforehand\n")
	md.WriteString("redis-server --port PORT --bind 127.0.0.1 --save '' --appendonly no --repl-diskless-sync-delay 0 --dir $TMP/redis\n")
	md.WriteString("redis-cli -h 127.0.0.1 -p PORT --rdb $TMP/redis.rdb                 # 5\n")
	md.WriteString("redis-server --port PORT --bind 127.0.0.1 --save '' --appendonly no --dir $TMP --dbfilename redis.rdb\n")
	md.WriteString("```\n\n")

	md.WriteString("### Results\n\n")
	md.WriteString("MiB/s is 2^20 bytes per second; \"data MiB/s\" is the dataset's keys + values over the wall time,\n")
	md.WriteString("\"file MiB/s\" the dump (or RDB) file written or read over the same time.\n\n")
	md.WriteString("| step | command | wall time | file | data MiB/s | file MiB/s | keys/s |\n")
	md.WriteString("|------|---------|----------:|-----:|-----------:|-----------:|-------:|\n")
	row := func(s bdStep) {
		file, fileRate := "-", "-"
		if s.file >= 0 {
			file, fileRate = bdHuman(s.file), fmt.Sprintf("%.1f", bdRate(s.file, s.dur))
		}
		fmt.Fprintf(&md, "| %s | `%s` | %.2f s | %s | %.1f | %s | %.0f |\n", s.name, s.cmd, s.dur.Seconds(),
			file, bdRate(data, s.dur), fileRate, float64(cfg.keys)/s.dur.Seconds())
	}
	row(b.online)
	row(b.snapshot)
	row(b.load)
	ingest := b.ingestAdd + b.ingestFinish
	row(bdStep{name: "RocksDB ingest path (the limit of a load)", cmd: "store.Loader: SST write + IngestExternalFile",
		dur: ingest, file: -1})
	row(b.rdb)
	row(b.rdbLoad)
	md.WriteString("\n")

	md.WriteString("Details:\n\n")
	fmt.Fprintf(&md, "- Source data_dir/db at rest: %s (`du -b`)%s. BGSAVE (flush + checkpoint of hard links) took %.2f s.\n",
		bdHuman(b.sourceDB), map[bool]string{true: "", false: ", still changing size after 3 min of waiting for compactions"}[b.settled], b.bgsave.Seconds())
	if cp := b.online.dur - b.snapshot.dur; cp > 0 {
		fmt.Fprintf(&md, "- About %.2f s of the online dump is the checkpoint and the copy over loopback (its time less the\n", cp.Seconds())
		fmt.Fprintf(&md, "  snapshot dump's): %.1f MiB/s of the source's db.\n", bdRate(b.sourceDB, cp))
	}
	fmt.Fprintf(&md, "- The dump holds %d records, %s of RocksDB keys and values (the data plus the record encoding).\n",
		b.ingestRecords, bdHuman(b.ingestRecordBytes))
	fmt.Fprintf(&md, "- Load: data directory of %s; a server started on it answered `DIGEST 0` = `%s` and\n", bdHuman(b.loadedDB), b.digest)
	fmt.Fprintf(&md, "  `DBSIZE` = %d, as the source did.\n", b.dbsize)
	fmt.Fprintf(&md, "- Ingest limit: writing %d SST file(s) took %.2f s (%.1f MiB/s of records), `Finish` (system\n",
		b.ingestFiles, b.ingestAdd.Seconds(), bdRate(b.ingestRecordBytes, b.ingestAdd))
	fmt.Fprintf(&md, "  records, create the database, IngestExternalFile moving the files, flush) %.2f s; %s on disk.\n",
		b.ingestFinish.Seconds(), bdHuman(b.ingestDB))
	fmt.Fprintf(&md, "  The full load took %.2fx that time: reading, CRC checks and decompression of the dump.\n",
		b.load.dur.Seconds()/ingest.Seconds())
	fmt.Fprintf(&md, "- Writing the dataset took %.1f s into Strata (%.1f MiB/s) and %.1f s into Redis (%.1f MiB/s);\n",
		b.strataFill.Seconds(), bdRate(data, b.strataFill), b.redisFill.Seconds(), bdRate(data, b.redisFill))
	fmt.Fprintf(&md, "  Redis used %s of memory for it.\n\n", b.redisMem)

	md.WriteString("### Notes\n\n")
	md.WriteString("- `strata dump --addr` is two steps in one wall time: the server makes a checkpoint and streams\n")
	md.WriteString("  its files over the replication full-sync transfer into a temporary copy (`repl_compression =\n")
	md.WriteString("  \"zstd\"`, which random values defeat), then the copy is dumped; `--data-dir <snapshot>` is the\n")
	md.WriteString("  second step alone. `redis-cli --rdb` is one stream: the forked child writes the RDB to the\n")
	md.WriteString("  socket (diskless, with the 5 s `repl-diskless-sync-delay` set to 0 so it is not counted). Its\n")
	md.WriteString("  default `rdbcompression yes` tries LZF on every value and, on random bytes, fails and writes\n")
	md.WriteString("  it raw: that CPU is in the figure, as zstd's attempts are in Strata's.\n")
	md.WriteString("- A dump is fsynced before it is renamed into place; `redis-cli --rdb` also fsyncs its file.\n")
	md.WriteString("  The dump file is read back from the page cache by the load (the machine has the RAM for it).\n")
	md.WriteString("- The ingest limit reads the whole dump into memory 64MB at a time beforehand and times only\n")
	md.WriteString("  `store.Loader.Add` (SST writes, lz4 and bloom filters as `strata load` uses them) and\n")
	md.WriteString("  `Finish`; keys/s and data MiB/s there are over that time.\n")
	md.WriteString("- The Redis load is the time from starting `redis-server` on the RDB until it answers `PING`\n")
	md.WriteString("  (it answers `-LOADING` until the RDB is in memory); a Strata load builds files on disk\n")
	md.WriteString("  instead, and a server starts on them at once.\n")
	md.WriteString("- Each figure is one run on a small, shared machine: expect some noise.\n\n")
	return md.String()
}

// ---- helpers ----

func bdOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func bdLoadAvg() string {
	if s, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(s)); len(f) >= 3 {
			return strings.Join(f[:3], " ")
		}
	}
	return "unknown"
}

func bdFileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// bdDirSize is the apparent size of the regular files under dir (du -b).
func bdDirSize(t *testing.T, dir string) int64 {
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

// bdSettle waits until dir's size has not changed for quiet, at most limit; it reports
// whether it settled.
func bdSettle(t *testing.T, dir string, quiet, limit time.Duration) bool {
	t.Helper()
	start := time.Now()
	last, since := bdDirSize(t, dir), time.Now()
	for time.Since(start) < limit {
		time.Sleep(500 * time.Millisecond)
		if n := bdDirSize(t, dir); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return true
		}
	}
	return false
}

func bdRate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / (1 << 20) / d.Seconds()
}

func bdHuman(n int64) string {
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
