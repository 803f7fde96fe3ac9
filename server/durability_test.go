package server

import (
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/strata-kv/strata/binlog"
	"github.com/strata-kv/strata/config"
)

// diskFile fails writes with ENOSPC while full is set, like a full disk.
type diskFile struct {
	*os.File
	full *atomic.Bool
}

func (f diskFile) Write(p []byte) (int, error) {
	if f.full.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func serveDir(t *testing.T, dir string, edit func(*config.Config), opts ...Option) *testServer {
	t.Helper()
	cfg := testConfig(dir)
	cfg.Binlog.Sync = "always"
	if edit != nil {
		edit(&cfg)
	}
	return runServer(t, cfg, opts...)
}

// A full disk fails the write with an error, stops writes (reads go on), INFO says
// why, and after space is freed and the server restarts everything acknowledged is
// there and writes work again.
func TestDiskFullStopsWritesUntilRestart(t *testing.T) {
	dir := t.TempDir()
	var full atomic.Bool
	open := func(path string, flag int, perm os.FileMode) (binlog.File, error) {
		f, err := os.OpenFile(path, flag, perm)
		if err != nil {
			return nil, err
		}
		return diskFile{File: f, full: &full}, nil
	}
	ts := serveDir(t, dir, nil, WithBinlogFiles(open))
	c := ts.client(t, 2)
	ctx := ctxT(t)
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	err := c.Set(ctx, "during", "2", 0).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "MISCONF Errors writing to the binlog") || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("write on a full disk: %v", err)
	}
	if v := c.Get(ctx, "before").Val(); v != "1" {
		t.Fatalf("reads stopped: %q", v)
	}
	if c.Exists(ctx, "during").Val() != 0 {
		t.Fatal("the failed write became visible")
	}
	info := c.Info(ctx, "persistence").Val()
	if !strings.Contains(info, "writes_disabled:1\r\n") || !strings.Contains(info, "aof_last_write_status:err") || !strings.Contains(info, "no space left on device") {
		t.Fatalf("INFO persistence does not say why:\n%s", info)
	}
	full.Store(false) // space freed: still refused until an operator restarts
	if err := c.Set(ctx, "after-free", "3", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "MISCONF") {
		t.Fatalf("write accepted before restart: %v", err)
	}
	ts.Close()

	ts = serveDir(t, dir, nil)
	c = ts.client(t, 2)
	if v := c.Get(ctx, "before").Val(); v != "1" {
		t.Fatalf("acknowledged write lost across restart: %q", v)
	}
	if err := c.Set(ctx, "after", "4", 0).Err(); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
	if !strings.Contains(c.Info(ctx, "persistence").Val(), "writes_disabled:0\r\n") {
		t.Fatal("writes still reported disabled after restart")
	}
}

func TestInfoPersistenceShowsBinlog(t *testing.T) {
	ts := serveDir(t, t.TempDir(), nil)
	c := ts.client(t, 2)
	ctx := ctxT(t)
	for i := 0; i < 5; i++ {
		c.Set(ctx, "k", i, 0)
	}
	info := c.Info(ctx, "persistence").Val()
	for _, want := range []string{"binlog_sync:always\r\n", "binlog_first_id:1\r\n", "binlog_last_id:5\r\n",
		"binlog_applied_id:5\r\n", "binlog_files:1\r\n", "binlog_total_size:", "binlog_last_fsync_time:"} {
		if !strings.Contains(info, want) {
			t.Fatalf("INFO persistence lacks %q:\n%s", want, info)
		}
	}
}
