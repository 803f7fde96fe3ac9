package tools

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/strata-kv/strata/binlog"
	"github.com/strata-kv/strata/config"
	"github.com/strata-kv/strata/server"
	"github.com/strata-kv/strata/store"
)

type testServer struct {
	*server.Server
	addr string
	done chan error
	dir  string
}

// startServer runs an in-process server on dataDir and a free loopback port.
func startServer(t testing.TB, dataDir string, edit ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.DataDir = dataDir
	cfg.RocksDB.BlockCacheSize = 8 << 20
	cfg.RocksDB.WriteBufferSize = 4 << 20
	for _, e := range edit {
		e(&cfg)
	}
	srv, err := server.New(cfg, "", zerolog.New(io.Discard))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, addr: srv.Addr().String(), done: make(chan error, 1), dir: dataDir}
	go func() { ts.done <- srv.Serve() }()
	t.Cleanup(ts.stop)
	return ts
}

// stop closes the server and waits for Serve to return. Safe to call twice.
func (ts *testServer) stop() {
	ts.Close()
	select {
	case <-ts.done:
		ts.done <- nil
	case <-time.After(10 * time.Second):
		panic("server did not stop within 10s")
	}
}

func (ts *testServer) client(t testing.TB, db int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: ts.addr, DB: db, Protocol: 2, DisableIdentity: true,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// digests returns the digest of every database, through the store.
func (ts *testServer) digests(t testing.TB) [store.Databases]string {
	t.Helper()
	var out [store.Databases]string
	for db := range out {
		d, err := ts.Store().Digest(db)
		if err != nil {
			t.Fatal(err)
		}
		out[db] = hex.EncodeToString(d[:])
	}
	return out
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func must(t testing.TB, c *redis.Client, args ...any) {
	t.Helper()
	if err := c.Do(tctx(t), args...).Err(); err != nil && err != redis.Nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// fillEveryType writes every type, with and without TTLs, into every database,
// through deletes and re-creations so internal versions differ from a fresh build.
func fillEveryType(t testing.TB, ts *testServer) {
	t.Helper()
	exp := time.Now().Add(time.Hour).UnixMilli()
	for db := 0; db < store.Databases; db++ {
		c := ts.client(t, db)
		p := fmt.Sprintf("db%d:", db)
		must(t, c, "set", p+"str", "plain value "+p)
		must(t, c, "set", p+"bin\x00key", "\x00\xff\x01binary")
		must(t, c, "set", p+"ttl", "expires", "pxat", exp+int64(db))
		must(t, c, "set", p+"empty", "")
		must(t, c, "hset", p+"hash", "f1", "v1", "f2", "", "f\x003", "v3")
		must(t, c, "pexpireat", p+"hash", exp+1000)
		must(t, c, "sadd", p+"tmp", "x")
		must(t, c, "del", p+"tmp")
		must(t, c, "rpush", p+"list", "b", "c", "d")
		must(t, c, "lpush", p+"list", "a")
		must(t, c, "rpush", p+"list", "b") // duplicates keep their place
		must(t, c, "sadd", p+"set", "m1", "m2", "m3", "")
		must(t, c, "zadd", p+"zset", "1.5", "one", "-2", "minus", "0", "zero", "inf", "top", "-inf", "bottom", "1e300", "huge")
		must(t, c, "zadd", p+"zset", "3.25", "one")
		must(t, c, "pexpireat", p+"zset", exp+2000)
		must(t, c, "set", p+"recreated", "old")
		must(t, c, "del", p+"recreated")
		must(t, c, "rpush", p+"recreated", "new")
		for i := 0; i < 50; i++ {
			must(t, c, "hset", p+"bighash", fmt.Sprint("field", i), strings.Repeat("x", i))
			must(t, c, "zadd", p+"bigzset", i, fmt.Sprint("m", i))
		}
		must(t, c, "sadd", p+"gone", "x")
		must(t, c, "pexpire", p+"gone", 1) // expired by the time of the dump
	}
	time.Sleep(5 * time.Millisecond)
}

func dumpBytes(t testing.TB, dataDir string) ([]byte, DumpResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := Dump(&buf, DumpOptions{DataDir: dataDir, ProgressMode: ProgressQuiet})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), res
}

func infoField(t testing.TB, c *redis.Client, section, field string) string {
	t.Helper()
	info, err := c.Info(tctx(t), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s:\n%s", section, field, info)
	return ""
}

// Dump a stopped server, load the dump into a new data directory, start a server on
// it: same contents in every database, and the binlog continues after the dump's ID.
func TestDumpLoadDirRoundTrip(t *testing.T) {
	src := t.TempDir()
	a := startServer(t, src)
	fillEveryType(t, a)
	want := a.digests(t)
	a.stop()
	// Read after the stop: the active expiry cycle may still have logged deletions.
	applied := a.Store().AppliedID()

	data, res := dumpBytes(t, src)
	if res.Header.BinlogID != applied || res.Counts.Keys == 0 {
		t.Fatalf("dump header %+v counts %+v, applied %d", res.Header, res.Counts, applied)
	}
	dst := filepath.Join(t.TempDir(), "data")
	lres, err := LoadDir(bytes.NewReader(data), dst, LoadOptions{ProgressMode: ProgressQuiet, FileSize: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if lres.Counts != res.Counts || len(lres.Warnings) != 0 || lres.Files < 2 {
		t.Fatalf("load result %+v, dump counts %+v", lres, res.Counts)
	}
	b := startServer(t, dst)
	if got := b.digests(t); got != want {
		t.Fatalf("digests after load:\n%v\nwant\n%v", got, want)
	}
	c := b.client(t, 0)
	if got := infoField(t, c, "persistence", "binlog_last_id"); got != strconv.FormatUint(applied, 10) {
		t.Fatalf("binlog_last_id %s, want the dump's %d", got, applied)
	}
	must(t, c, "set", "after-load", "1")
	if got := infoField(t, c, "persistence", "binlog_last_id"); got != strconv.FormatUint(applied+1, 10) {
		t.Fatalf("after a write binlog_last_id %s, want %d", got, applied+1)
	}
	if got := b.Store().History(); got != res.Header.History {
		t.Fatalf("history %x, want the dump's %x", got, res.Header.History)
	}
	for db := 0; db < store.Databases; db++ {
		cdb := b.client(t, db)
		p := fmt.Sprintf("db%d:", db)
		if v, _ := cdb.LRange(tctx(t), p+"list", 0, -1).Result(); strings.Join(v, ",") != "a,b,c,d,b" {
			t.Fatalf("db %d list %v", db, v)
		}
		if n, _ := cdb.Exists(tctx(t), p+"gone").Result(); n != 0 {
			t.Fatalf("db %d: an expired key came back", db)
		}
	}
}

func TestLoadDirRefusesNonEmpty(t *testing.T) {
	src := t.TempDir()
	a := startServer(t, src)
	must(t, a.client(t, 0), "set", "k", "v")
	want := a.digests(t)
	a.stop()
	data, _ := dumpBytes(t, src)

	dst := t.TempDir()
	b := startServer(t, dst)
	must(t, b.client(t, 0), "set", "other", "v")
	b.stop()
	_, err := LoadDir(bytes.NewReader(data), dst, LoadOptions{ProgressMode: ProgressQuiet})
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("load into a non-empty dir: %v", err)
	}
	// A damaged dump with --force leaves the old data alone.
	bad := bytes.Clone(data)
	bad[len(bad)-40] ^= 0x10
	if _, err := LoadDir(bytes.NewReader(bad), dst, LoadOptions{Force: true, ProgressMode: ProgressQuiet}); err == nil {
		t.Fatal("damaged dump loaded")
	}
	if _, err := os.Stat(filepath.Join(dst, "db", "CURRENT")); err != nil {
		t.Fatalf("failed load removed the old data: %v", err)
	}
	if _, err := LoadDir(bytes.NewReader(data), dst, LoadOptions{Force: true, ProgressMode: ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	c := startServer(t, dst)
	if got := c.digests(t); got != want {
		t.Fatalf("after --force load: %v, want %v", got, want)
	}
	if n, _ := c.client(t, 0).Exists(tctx(t), "other").Result(); n != 0 {
		t.Fatal("--force kept the old keys")
	}
}

// Replaying into a running server gives the same contents.
func TestLoadServer(t *testing.T) {
	src := t.TempDir()
	a := startServer(t, src)
	fillEveryType(t, a)
	want := a.digests(t)
	a.stop()
	path := filepath.Join(t.TempDir(), "dump.sdump")
	if _, err := DumpFile(path, nil, DumpOptions{DataDir: src, ProgressMode: ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, t.TempDir(), func(c *config.Config) { c.Server.RequirePass = "secret" })
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var progress bytes.Buffer
	res, err := LoadServer(f, ServerOptions{Addr: b.addr, Password: "secret"},
		LoadOptions{Progress: &progress, ProgressMode: ProgressPlain})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.digests(t); got != want {
		t.Fatalf("digests after a server load:\n%v\nwant\n%v", got, want)
	}
	// 16 databases × 11 live keys.
	if res.Keys != 16*11 {
		t.Fatalf("loaded %d keys, want %d", res.Keys, 16*11)
	}
	if !strings.Contains(progress.String(), "load: ") || !strings.Contains(progress.String(), "176 keys in") {
		t.Fatalf("progress output %q", progress.String())
	}
	// Not empty any more.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	_, err = LoadServer(f, ServerOptions{Addr: b.addr, Password: "secret"}, LoadOptions{ProgressMode: ProgressQuiet})
	if !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("load into a non-empty server: %v", err)
	}
	// --force: every key of the dump replaces the server's key of that name.
	c0 := redis.NewClient(&redis.Options{Addr: b.addr, Password: "secret", Protocol: 2, DisableIdentity: true})
	defer c0.Close()
	must(t, c0, "hset", "db0:hash", "extra", "field")
	must(t, c0, "set", "db0:str", "changed")
	must(t, c0, "rpush", "db0:list", "more")
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadServer(f, ServerOptions{Addr: b.addr, Password: "secret"},
		LoadOptions{Force: true, ProgressMode: ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	if got := b.digests(t); got != want {
		t.Fatalf("digests after a --force load:\n%v\nwant\n%v", got, want)
	}
	// A damaged file sends nothing.
	data, _ := os.ReadFile(path)
	data[len(data)-40] ^= 1
	e := startServer(t, t.TempDir())
	_, err = LoadServer(bytes.NewReader(data), ServerOptions{Addr: e.addr}, LoadOptions{ProgressMode: ProgressQuiet})
	if !errors.Is(err, ErrDumpCorrupt) {
		t.Fatalf("damaged dump: %v", err)
	}
	for db := 0; db < store.Databases; db++ {
		if n := e.Store().DBSize(db); n != 0 {
			t.Fatalf("damaged dump wrote %d keys into db %d", n, db)
		}
	}
}

func TestDumpRefusesStaleDataDir(t *testing.T) {
	src := t.TempDir()
	a := startServer(t, src)
	must(t, a.client(t, 0), "set", "k", "v")
	a.stop()
	// Records the database never applied, as after a crash under binlog.sync=no.
	l, err := binlog.Open(binlog.Options{Dir: filepath.Join(src, "binlog"), Sync: binlog.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append([20]byte{}, time.Now().UnixMilli(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, err = Dump(io.Discard, DumpOptions{DataDir: src, ProgressMode: ProgressQuiet})
	if !errors.Is(err, ErrStale) {
		t.Fatalf("dump of a stale dir: %v", err)
	}
	if _, err := Dump(io.Discard, DumpOptions{DataDir: src, AllowStale: true, ProgressMode: ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	if _, err := Dump(io.Discard, DumpOptions{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "holds no database") {
		t.Fatalf("dump of an empty dir: %v", err)
	}
}

// A dump several times the block cache round-trips (the walk bypasses the cache).
func TestDumpLargerThanCache(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 40MB")
	}
	src := t.TempDir()
	a := startServer(t, src)
	c := a.client(t, 0)
	val := make([]byte, 4096)
	pipe := c.Pipeline()
	for i := 0; i < 11000; i++ { // 45MB of incompressible values
		_, _ = crand.Read(val)
		switch i % 3 {
		case 0:
			pipe.Set(tctx(t), fmt.Sprint("s", i), string(val), 0)
		case 1:
			pipe.HSet(tctx(t), fmt.Sprint("h", i%100), fmt.Sprint(i), string(val))
		default:
			pipe.RPush(tctx(t), fmt.Sprint("l", i%10), string(val))
		}
		if i%500 == 499 {
			if _, err := pipe.Exec(tctx(t)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := a.digests(t)
	a.stop()
	path := filepath.Join(t.TempDir(), "big.dump")
	res, err := DumpFile(path, nil, DumpOptions{DataDir: src, ProgressMode: ProgressQuiet})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes < 40<<20 {
		t.Fatalf("dump is %d bytes, want over 40MB", res.Bytes)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := t.TempDir()
	if _, err := LoadDir(f, dst, LoadOptions{ProgressMode: ProgressQuiet, FileSize: 16 << 20}); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, dst)
	if got := b.digests(t); got != want {
		t.Fatalf("digests %v, want %v", got, want)
	}
}

// A sorted set large enough for the rank index goes through a dump and both kinds of
// load with its index: ranks read the same afterwards, and later writes keep them right.
func TestDumpLoadLargeSortedSet(t *testing.T) {
	src := t.TempDir()
	a := startServer(t, src)
	ca := a.client(t, 0)
	var zs []redis.Z
	for i := 0; i < 3000; i++ {
		zs = append(zs, redis.Z{Score: float64(i % 113), Member: fmt.Sprintf("m%04d", i)})
	}
	if err := ca.ZAdd(tctx(t), "big", zs...).Err(); err != nil {
		t.Fatal(err)
	}
	must(t, ca, "zincrby", "big", "7.5", "m0042")
	must(t, ca, "zrem", "big", "m0100")
	want := a.digests(t)
	ranks := func(c *redis.Client) string {
		var out []string
		for _, m := range []string{"m0000", "m0042", "m1500", "m2999", "late"} {
			out = append(out, fmt.Sprint(c.ZRank(tctx(t), "big", m).Val()))
		}
		out = append(out, strings.Join(c.ZRange(tctx(t), "big", 1500, 1502).Val(), ","),
			fmt.Sprint(c.ZCount(tctx(t), "big", "10", "(50").Val()))
		return strings.Join(out, " ")
	}
	wantRanks := ranks(ca)
	must(t, ca, "zadd", "big", "20.5", "late")
	afterWrite := ranks(ca)
	a.stop()

	path := filepath.Join(t.TempDir(), "dump.sdump")
	if _, err := DumpFile(path, nil, DumpOptions{DataDir: src, ProgressMode: ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	check := func(name string, ts *testServer) {
		t.Helper()
		c := ts.client(t, 0)
		must(t, c, "zrem", "big", "late")
		if got := ts.digests(t); got != want {
			t.Fatalf("%s: digests\n%v\nwant\n%v", name, got, want)
		}
		if got := ranks(c); got != wantRanks {
			t.Fatalf("%s: ranks %q, want %q", name, got, wantRanks)
		}
		must(t, c, "zadd", "big", "20.5", "late")
		if got := ranks(c); got != afterWrite {
			t.Fatalf("%s: ranks after a write %q, want %q", name, got, afterWrite)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := filepath.Join(t.TempDir(), "data")
	if _, err := LoadDir(f, dst, LoadOptions{ProgressMode: ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	check("load --data-dir", startServer(t, dst))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, t.TempDir())
	if _, err := LoadServer(f, ServerOptions{Addr: b.addr}, LoadOptions{ProgressMode: ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	check("load --addr", b)
}
