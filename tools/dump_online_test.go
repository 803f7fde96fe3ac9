package tools

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-kv/strata/config"
)

// An online dump of a follower while its master takes writes is a consistent point in
// time: a server loaded from it and pointed at the master resumes partially from the
// dump's binlog ID and ends with the master's data.
func TestDumpRunningFollowerSeedsFollower(t *testing.T) {
	m := startServer(t, t.TempDir())
	fillEveryType(t, m)
	f := startServer(t, t.TempDir())
	fc := f.client(t, 0)
	must(t, fc, "replicaof", "127.0.0.1", strconv.Itoa(portOf(t, m.addr)))
	waitUntil(t, "follower to catch up", func() bool { return f.Store().AppliedID() == m.Store().AppliedID() })

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mc := m.client(t, 0)
		for i := 0; ctx.Err() == nil; i++ {
			mc.Set(ctx, fmt.Sprintf("during:%d", i), i, 0)
			mc.HSet(ctx, "during:h", strconv.Itoa(i%50), i)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "online.dump")
	res, err := DumpServerFile(path, nil, ServerOptions{Addr: f.addr}, t.TempDir(), DumpOptions{ProgressMode: ProgressQuiet})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	wg.Wait()
	if res.Header.BinlogID == 0 || res.Counts.Keys == 0 {
		t.Fatalf("dump header %+v counts %+v", res.Header, res.Counts)
	}

	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "seeded")
	if _, err := LoadDir(in, dst, LoadOptions{ProgressMode: ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	in.Close()
	full0 := infoField(t, m.client(t, 0), "stats", "sync_full")
	s := startServer(t, dst, func(c *config.Config) { c.Replication.ReplicaOf = m.addr })
	waitUntil(t, "seeded follower to catch up", func() bool { return s.Store().AppliedID() == m.Store().AppliedID() })
	if got := infoField(t, m.client(t, 0), "stats", "sync_full"); got != full0 {
		t.Fatalf("seeded follower needed a full sync (sync_full %s -> %s)", full0, got)
	}
	if s.digests(t) != m.digests(t) {
		t.Fatal("seeded follower's data differs from the master's")
	}
}

func portOf(t testing.TB, addr string) int {
	t.Helper()
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			p, err := strconv.Atoi(addr[i+1:])
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("no port in %q", addr)
	return 0
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
