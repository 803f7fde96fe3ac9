package server

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-kv/strata/config"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hostPort(t *testing.T, addr string) (string, string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// caughtUp waits until the follower has applied everything the master logged.
func caughtUp(t *testing.T, master, follower *testServer) {
	t.Helper()
	waitFor(t, "follower to catch up", 20*time.Second, func() bool {
		return follower.store.AppliedID() == master.binlog.LastID() && master.binlog.LastID() > 0
	})
}

func sameData(t *testing.T, a, b *testServer) {
	t.Helper()
	for db := 0; db < 16; db++ {
		da, err := a.store.Digest(db)
		if err != nil {
			t.Fatal(err)
		}
		dbb, err := b.store.Digest(db)
		if err != nil {
			t.Fatal(err)
		}
		if da != dbb {
			t.Fatalf("db %d differs between master and follower", db)
		}
	}
}

func writeEveryType(t *testing.T, c *redis.Client, prefix string, n int) {
	t.Helper()
	ctx := ctxT(t)
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s:%d", prefix, i)
		c.Set(ctx, k+":s", i, 0)
		c.HSet(ctx, k+":h", "f", i, "g", "x")
		c.RPush(ctx, k+":l", "a", "b", i)
		c.SAdd(ctx, k+":set", "a", i)
		c.ZAdd(ctx, k+":z", redis.Z{Score: float64(i), Member: "m"}, redis.Z{Score: 1.5, Member: "n"})
		c.Set(ctx, k+":ttl", "v", time.Hour)
	}
	c.Incr(ctx, prefix+":counter")
	c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, prefix+":m1", "1", 0)
		p.LPush(ctx, prefix+":m2", "x")
		return nil
	})
	c.Do(ctx, "select", 3)
	c.Set(ctx, prefix+":db3", "x", 0)
	c.Do(ctx, "select", 0)
}

func TestReplicationAsyncFullThenStream(t *testing.T) {
	m := startServer(t)
	f := startServer(t)
	mc, fc := m.client(t, 2), f.client(t, 2)
	ctx := ctxT(t)
	writeEveryType(t, mc, "before", 20)
	host, port := hostPort(t, m.Addr)
	if err := fc.Do(ctx, "replicaof", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, m, f)
	writeEveryType(t, mc, "after", 20)
	mc.Del(ctx, "before:3:h", "before:4:l")
	mc.Set(ctx, "short", "v", 50*time.Millisecond)
	mc.FlushDB(ctx) // db 0 only
	writeEveryType(t, mc, "final", 5)
	time.Sleep(300 * time.Millisecond) // let "short" expire on the master
	caughtUp(t, m, f)
	sameData(t, m, f)
	if v := fc.Get(ctx, "final:1:s").Val(); v != "1" {
		t.Fatalf("follower read = %q", v)
	}
	err := fc.Set(ctx, "x", "y", 0).Err()
	if err == nil || err.Error() != "READONLY You can't write against a read only replica." {
		t.Fatalf("write on follower: %v", err)
	}
	role := fc.Do(ctx, "role").Val().([]any)
	if role[0] != "slave" || role[3] != "connected" {
		t.Fatalf("ROLE on follower = %v", role)
	}
	info := mc.Info(ctx, "replication").Val()
	if !strings.Contains(info, "connected_slaves:1\r\n") || !strings.Contains(info, "slave0:ip=127.0.0.1,port="+strings.Split(f.Addr, ":")[1]+",state=online") {
		t.Fatalf("master INFO replication:\n%s", info)
	}
	finfo := fc.Info(ctx, "replication").Val()
	if !strings.Contains(finfo, "role:slave\r\n") || !strings.Contains(finfo, "master_link_status:up\r\n") {
		t.Fatalf("follower INFO replication:\n%s", finfo)
	}
	if !strings.Contains(mc.Info(ctx, "stats").Val(), "sync_full:1\r\n") {
		t.Fatal("master did not count one full sync")
	}
}

func TestReplicationRestartResumesPartially(t *testing.T) {
	m := startServer(t)
	mc := m.client(t, 2)
	ctx := ctxT(t)
	writeEveryType(t, mc, "a", 10)
	host, port := hostPort(t, m.Addr)
	dir := t.TempDir()
	f := serveDir(t, dir, nil)
	fc := f.client(t, 2)
	fc.Do(ctx, "replicaof", host, port)
	caughtUp(t, m, f)
	f.Close()
	writeEveryType(t, mc, "b", 10) // written while the follower is down
	f2 := serveDir(t, dir, func(c *config.Config) { c.Replication.ReplicaOf = m.Addr })
	caughtUp(t, m, f2)
	sameData(t, m, f2)
	stats := mc.Info(ctx, "stats").Val()
	if !strings.Contains(stats, "sync_full:1\r\n") || !strings.Contains(stats, "sync_partial_ok:1\r\n") {
		t.Fatalf("expected one full and one partial sync:\n%s", stats)
	}
}

func TestReplicationPromotionKeepsHistory(t *testing.T) {
	a := startServer(t)
	b := startServer(t)
	c := startServer(t)
	ac, bc, cc := a.client(t, 2), b.client(t, 2), c.client(t, 2)
	ctx := ctxT(t)
	writeEveryType(t, ac, "x", 5)
	ah, ap := hostPort(t, a.Addr)
	bc.Do(ctx, "replicaof", ah, ap)
	cc.Do(ctx, "replicaof", ah, ap)
	caughtUp(t, a, b)
	caughtUp(t, a, c)
	a.Close()
	if err := bc.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	if err := bc.Set(ctx, "after-promotion", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	bh, bp := hostPort(t, b.Addr)
	cc.Do(ctx, "replicaof", bh, bp)
	caughtUp(t, b, c)
	sameData(t, b, c)
	stats := bc.Info(ctx, "stats").Val()
	if !strings.Contains(stats, "sync_partial_ok:1\r\n") || !strings.Contains(stats, "sync_full:0\r\n") {
		t.Fatalf("C should resync partially from B:\n%s", stats)
	}
	info := bc.Info(ctx, "replication").Val()
	if strings.Contains(info, "master_replid2:0000000000000000000000000000000000000000") || strings.Contains(info, "second_repl_offset:-1") {
		t.Fatalf("promoted B forgot its previous history:\n%s", info)
	}
}

func TestSemiSyncFailAndDegrade(t *testing.T) {
	for _, mode := range []string{"fail", "degrade"} {
		t.Run(mode, func(t *testing.T) {
			m := startServer(t, func(c *config.Config) {
				c.Replication.Mode = "semi-sync"
				c.Replication.AckTimeout = config.Duration(200 * time.Millisecond)
				c.Replication.OnAckTimeout = mode
			})
			mc := m.client(t, 2)
			ctx := ctxT(t)
			err := mc.Set(ctx, "k", "v", 0).Err()
			if mode == "fail" {
				if err == nil || err.Error() != "NOREPLICAS Not enough good replicas to write." {
					t.Fatalf("semi-sync write without followers: %v", err)
				}
			} else if err != nil {
				t.Fatalf("degrade mode write: %v", err)
			}
			info := mc.Info(ctx, "replication").Val()
			if !strings.Contains(info, "semi_sync_timeouts:1\r\n") {
				t.Fatalf("timeout not counted:\n%s", info)
			}
			// With a follower attached, writes are acknowledged again.
			f := startServer(t)
			host, port := hostPort(t, m.Addr)
			f.client(t, 2).Do(ctx, "replicaof", host, port)
			caughtUp(t, m, f)
			start := time.Now()
			if err := mc.Set(ctx, "k2", "v", 0).Err(); err != nil {
				t.Fatalf("semi-sync write with a follower: %v", err)
			}
			if f.client(t, 2).Get(ctx, "k2").Val() != "v" {
				t.Fatal("acknowledged semi-sync write is not on the follower")
			}
			if time.Since(start) > 2*time.Second {
				t.Fatal("semi-sync write waited for the timeout although the follower acknowledged")
			}
			if n := mc.Do(ctx, "wait", 1, 1000).Val(); n != int64(1) {
				t.Fatalf("WAIT 1 = %v", n)
			}
		})
	}
}

func TestReplicationChained(t *testing.T) {
	a, b, c := startServer(t), startServer(t), startServer(t)
	ac := a.client(t, 2)
	ctx := ctxT(t)
	writeEveryType(t, ac, "c", 10)
	ah, ap := hostPort(t, a.Addr)
	bh, bp := hostPort(t, b.Addr)
	b.client(t, 2).Do(ctx, "replicaof", ah, ap)
	c.client(t, 2).Do(ctx, "replicaof", bh, bp)
	writeEveryType(t, ac, "d", 10)
	caughtUp(t, a, b)
	caughtUp(t, b, c)
	sameData(t, a, c)
	_ = strconv.Itoa
}

func TestReplicaServeStaleData(t *testing.T) {
	f := startServer(t, func(c *config.Config) { c.Replication.ReplicaServeStaleData = false })
	fc := f.client(t, 2)
	ctx := ctxT(t)
	fc.Set(ctx, "k", "v", 0)
	// A master that is not there: the link stays down.
	if err := fc.Do(ctx, "replicaof", "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	mustErr(t, fc, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", "get", "k")
	if v := must(t, fc, "ping"); v != "PONG" {
		t.Fatalf("PING on a stale follower = %v", v)
	}
	if err := fc.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	if v := fc.Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("after promotion GET = %q", v)
	}
}
