package integration

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replication between real server processes: every test starts its own masters and
// followers on loopback ports and data directories of their own.

const syncAlways = "[binlog]\nsync = \"always\"\n"

// Writes of every type, expiries, FLUSHDB, MULTI, deletions and overwrites made on the
// master reach an asynchronous follower, which ends with the same data.
func TestReplAsyncEveryType(t *testing.T) {
	t.Parallel()
	m := replProc(t, "", "", "")
	m.start()
	mc := m.quick(t)
	ctx := ctxTimeout(t, 60*time.Second)
	writeAllTypes(t, mc, "before", 50) // reaches the follower by the full copy

	f := replProc(t, m.addr, "", "")
	f.start()
	linkUp(t, 20*time.Second, f)
	fc := f.quick(t)

	writeAllTypes(t, mc, "after", 50) // reaches it by the stream
	// Keys that expire on the master: the master's deletions replicate.
	for i := 0; i < 20; i++ {
		mc.Set(ctx, fmt.Sprintf("exp:s:%d", i), "v", 150*time.Millisecond)
		mc.HSet(ctx, fmt.Sprintf("exp:h:%d", i), "f", "v")
		mc.PExpire(ctx, fmt.Sprintf("exp:h:%d", i), 150*time.Millisecond)
	}
	mc.ZAdd(ctx, "exp:z", redis.Z{Score: 1, Member: "a"})
	mc.Do(ctx, "pexpireat", "exp:z", time.Now().Add(-time.Second).UnixMilli()) // deletes at once
	// Deletions and overwrites of every kind.
	mustDo(t, mc, "del", "before:1:s", "before:2:h", "before:3:l")
	mustDo(t, mc, "set", "before:4:l", "now a string")
	mustDo(t, mc, "lpop", "before:5:l")
	mustDo(t, mc, "rpop", "before:5:l")
	mustDo(t, mc, "hdel", "before:6:h", "f")
	mustDo(t, mc, "srem", "before:7:set", "a")
	mustDo(t, mc, "zrem", "before:8:z", "m")
	mustDo(t, mc, "zincrby", "before:9:z", "0.25", "n")
	mustDo(t, mc, "rename", "before:10:s", "renamed")
	mustDo(t, mc, "persist", "before:11:ttl")
	mustDo(t, mc, "incrbyfloat", "float", "1.5")
	mustDo(t, mc, "append", "before:12:s", "-appended")
	mustDo(t, mc, "setrange", "before:13:s", "5", "range")
	mustDo(t, mc, "linsert", "before:14:l", "before", "b", "inserted")
	mustDo(t, mc, "lset", "before:15:l", "0", "lset")
	mustDo(t, mc, "ltrim", "before:16:l", "1", "2")
	mustDo(t, mc, "hincrby", "before:17:h", "n", "7")
	mustDo(t, mc, "smove", "before:18:set", "before:19:set", "a")
	mustDo(t, mc, "zadd", "before:20:z", "-inf", "neg", "+inf", "pos")
	mustDo(t, mc, "copy", "before:21:z", "copied")
	mustDo(t, mc, "sunionstore", "unioned", "before:22:set", "before:23:set")
	mustDo(t, mc, "zunionstore", "zunioned", "2", "before:24:z", "before:25:z")
	mustDo(t, mc, "setbit", "bits", "100", "1")
	mustDo(t, mc, "move", "before:26:s", "7")
	// A MULTI over several types, and one that is discarded by EXEC's failure.
	if _, err := mc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, "before:30:z")
		p.HSet(ctx, "multi:h", "a", "1")
		p.RPush(ctx, "multi:l", "1", "2", "3")
		p.Incr(ctx, "multi:n")
		p.Expire(ctx, "multi:l", time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// FLUSHDB of a database that had data; db 0 keeps its data.
	c5 := m.dbClient(5)
	defer c5.Close()
	for i := 0; i < 30; i++ {
		c5.Set(ctx, "gone:"+strconv.Itoa(i), i, 0)
	}
	c5.RPush(ctx, "gone:list", "a", "b")
	if err := c5.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	c5.Set(ctx, "after-flush", "1", 0)
	c6 := m.dbClient(6)
	defer c6.Close()
	c6.Set(ctx, "six", "6", 0)

	// Wait until the master has expired the short keys itself.
	eventually(t, 10*time.Second, "master to expire the short keys", func() (bool, string) {
		n := infoInt(t, mc, "stats", "expired_keys")
		return n >= 40, fmt.Sprintf("expired_keys=%d", n)
	})
	sameData(t, m, f)
	for _, k := range []string{"exp:s:3", "exp:h:7", "exp:z", "before:1:s", "before:2:h"} {
		if n := fc.Exists(ctx, k).Val(); n != 0 {
			t.Fatalf("%s still exists on the follower", k)
		}
	}
	f5 := f.dbClient(5)
	defer f5.Close()
	if n := f5.DBSize(ctx).Val(); n != 1 {
		t.Fatalf("follower db 5 has %d keys after FLUSHDB + 1 SET", n)
	}
	if v := fc.HGet(ctx, "before:17:h", "n").Val(); v != "7" {
		t.Fatalf("follower HGET before:17:h n = %q", v)
	}
	err := fc.Set(ctx, "x", "y", 0).Err()
	if err == nil || err.Error() != "READONLY You can't write against a read only replica." {
		t.Fatalf("write on the follower: %v", err)
	}
	if r, _ := roleOf(fc); r != "slave" {
		t.Fatalf("ROLE on the follower = %q", r)
	}
	if n := infoInt(t, mc, "replication", "connected_slaves"); n != 1 {
		t.Fatalf("master connected_slaves = %d", n)
	}
}

func mustDo(t testing.TB, c *redis.Client, args ...any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := c.Do(ctx, args...).Result()
	if err != nil && err != redis.Nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// Semi-sync: every write the master acknowledged is on the follower, even when the
// master is killed right after a burst of writes.
func TestReplSemiSyncAckedWritesSurviveMasterKill(t *testing.T) {
	t.Parallel()
	m := replProc(t, "", "mode = \"semi-sync\"\nmin_acks = 1\nack_timeout = \"5s\"\non_ack_timeout = \"fail\"", syncAlways)
	m.start()
	f := replProc(t, m.addr, "", syncAlways)
	f.start()
	linkUp(t, 20*time.Second, f)
	mc := m.quick(t)

	const writers = 10
	ctx, cancel := context.WithCancel(context.Background())
	acked := make([][]ackedOp, writers)
	attempted := make([]int, writers)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := m.client()
			defer c.Close()
			writer(ctx, c, fmt.Sprintf("semi%d", w), &acked[w], &attempted[w])
		}(w)
	}
	time.Sleep(1200 * time.Millisecond)
	timeouts := infoInt(t, mc, "replication", "semi_sync_timeouts")
	waits := infoInt(t, mc, "replication", "semi_sync_waits")
	m.kill9()
	cancel()
	wg.Wait()

	fc := f.quick(t)
	total := 0
	for w := 0; w < writers; w++ {
		total += len(acked[w])
		verify(t, fc, fmt.Sprintf("semi%d", w), acked[w], attempted[w], time.Now().Add(time.Hour))
	}
	if total == 0 {
		t.Fatal("no write was acknowledged")
	}
	t.Logf("%d acknowledged semi-sync writes (%d waits, %d timeouts before the kill) all on the follower", total, waits, timeouts)
}

// on_ack_timeout = fail refuses with -NOREPLICAS once the only follower is gone;
// degrade keeps serving and says so in INFO, and recovers when the follower is back.
func TestReplSemiSyncFollowerGone(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"fail", "degrade"} {
		t.Run(mode, func(t *testing.T) {
			// In degrade mode the master fsyncs once a second: under sync = always a
			// write's reply waits for its fsync, which often gives the follower time to
			// acknowledge it and hides how degraded mode ends.
			msync := syncAlways
			if mode == "degrade" {
				msync = "[binlog]\nsync = \"everysec\"\n"
			}
			m := replProc(t, "", fmt.Sprintf("mode = \"semi-sync\"\nmin_acks = 1\nack_timeout = \"300ms\"\non_ack_timeout = %q", mode), msync)
			m.start()
			f := replProc(t, m.addr, "", syncAlways)
			f.start()
			linkUp(t, 20*time.Second, f)
			mc := m.quick(t)
			ctx := ctxTimeout(t, 60*time.Second)
			start := time.Now()
			if err := mc.Set(ctx, "k0", "v", 0).Err(); err != nil {
				t.Fatalf("semi-sync write with the follower up: %v", err)
			}
			if d := time.Since(start); d > 250*time.Millisecond {
				t.Fatalf("semi-sync write with a healthy follower took %s", d)
			}
			f.kill9()
			start = time.Now()
			err := mc.Set(ctx, "k1", "v", 0).Err()
			took := time.Since(start)
			if mode == "fail" {
				if err == nil || err.Error() != "NOREPLICAS Not enough good replicas to write." {
					t.Fatalf("write with the follower killed: %v (want -NOREPLICAS)", err)
				}
				// The same in a MULTI.
				_, err := mc.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "k2", "v", 0)
					p.Incr(ctx, "k3")
					return nil
				})
				if err == nil {
					t.Fatal("MULTI with the follower killed succeeded")
				}
				t.Logf("fail mode: SET took %s, MULTI answered %v; k1 on the master afterwards: %q",
					took, err, mc.Get(ctx, "k1").Val())
			} else {
				if err != nil {
					t.Fatalf("degrade mode write with the follower killed: %v", err)
				}
				start = time.Now()
				for i := 0; i < 20; i++ {
					if err := mc.Set(ctx, "k"+strconv.Itoa(10+i), "v", 0).Err(); err != nil {
						t.Fatal(err)
					}
				}
				if d := time.Since(start); d > 250*time.Millisecond {
					t.Fatalf("20 writes once degraded took %s: degraded writes still wait", d)
				}
				if n := infoInt(t, mc, "replication", "semi_sync_timeouts"); n < 1 {
					t.Fatalf("semi_sync_timeouts = %d", n)
				}
				if n := infoInt(t, mc, "replication", "semi_sync_degraded"); n != 1 {
					t.Fatalf("semi_sync_degraded = %d", n)
				}
				// The follower comes back and catches up: the next write leaves degraded mode.
				f.start()
				caughtUp(t, 20*time.Second, m, f)
				// Writes spaced out, each given time to be acknowledged before the next.
				degraded := int64(1)
				for i := 0; i < 10 && degraded != 0; i++ {
					if err := mc.Set(ctx, "back:"+strconv.Itoa(i), "v", 0).Err(); err != nil {
						t.Fatal(err)
					}
					time.Sleep(100 * time.Millisecond)
					degraded = infoInt(t, mc, "replication", "semi_sync_degraded")
				}
				if degraded != 0 {
					t.Fatalf("semi_sync_degraded = %d after the follower caught up and 10 more writes", degraded)
				}
				sameData(t, m, f)
			}
		})
	}
}

// A follower restarted on its data dir resumes from its position (partial resync),
// after a clean stop and after SIGKILL.
func TestReplFollowerRestartPartial(t *testing.T) {
	t.Parallel()
	m := replProc(t, "", "", "")
	m.start()
	mc := m.quick(t)
	writeAllTypes(t, mc, "a", 30)
	f := replProc(t, m.addr, "", "")
	f.start()
	caughtUp(t, 20*time.Second, m, f)
	full := infoInt(t, mc, "stats", "sync_full")
	if full != 1 {
		t.Fatalf("first attach: sync_full = %d, want 1", full)
	}
	for round, how := range []string{"stop", "kill9"} {
		ok := infoInt(t, mc, "stats", "sync_partial_ok")
		if how == "stop" {
			f.stop()
		} else {
			f.kill9()
		}
		writeAllTypes(t, mc, "down"+strconv.Itoa(round), 30) // while the follower is down
		f.start()
		caughtUp(t, 20*time.Second, m, f)
		if got := infoInt(t, mc, "stats", "sync_partial_ok"); got != ok+1 {
			t.Fatalf("after %s: sync_partial_ok %d -> %d, want +1", how, ok, got)
		}
		if got := infoInt(t, mc, "stats", "sync_full"); got != full {
			t.Fatalf("after %s: sync_full %d -> %d: the restart was a full sync", how, full, got)
		}
		sameData(t, m, f)
	}
}

// A follower whose position the master purged gets a full copy, even with writes
// going on, and ends with the master's data.
func TestReplFollowerPurgedFullSync(t *testing.T) {
	t.Parallel()
	m := replProc(t, "", "", "[binlog]\nmax_file_size = \"64KB\"\nretention = \"1s\"\nmax_total_size = \"256KB\"\npurge_interval = \"500ms\"\n")
	started := time.Now()
	m.start()
	mc := m.quick(t)
	writeAllTypes(t, mc, "a", 20)
	f := replProc(t, m.addr, "", "")
	f.start()
	caughtUp(t, 20*time.Second, m, f)
	fc := f.client()
	pos, err := appliedID(fc)
	fc.Close()
	if err != nil {
		t.Fatal(err)
	}
	f.stop()

	// Write well past max_total_size while the follower is away.
	stop := background(t, m, "bulk", load{clients: 2, size: 1000, depth: 50})
	eventually(t, 30*time.Second, "binlog to grow past 1MB", func() (bool, string) {
		n := infoInt(t, mc, "persistence", "binlog_total_size")
		return n > 1<<20, fmt.Sprintf("binlog_total_size=%d", n)
	})
	written := stop()
	// The server purges every purge_interval: wait for the purge to pass the follower's position.
	eventually(t, 45*time.Second, "the master to purge the follower's position", func() (bool, string) {
		first := infoInt(t, mc, "persistence", "binlog_first_id")
		return first > pos+1, fmt.Sprintf("binlog_first_id=%d follower next=%d", first, pos+1)
	})
	t.Logf("wrote %d values; purge passed the follower's position %s after the master started", written, time.Since(started).Round(time.Second))

	full := infoInt(t, mc, "stats", "sync_full")
	perr := infoInt(t, mc, "stats", "sync_partial_err")
	stop = background(t, m, "during", load{clients: 2, size: 200, depth: 20})
	f.start()
	eventually(t, 30*time.Second, "a full sync of the restarted follower", func() (bool, string) {
		n := infoInt(t, mc, "stats", "sync_full")
		return n == full+1, fmt.Sprintf("sync_full=%d", n)
	})
	linkUp(t, 30*time.Second, f)
	time.Sleep(500 * time.Millisecond) // writes keep flowing over the new link
	n := stop()
	if got := infoInt(t, mc, "stats", "sync_partial_err"); got != perr+1 {
		t.Fatalf("sync_partial_err %d -> %d, want +1", perr, got)
	}
	t.Logf("%d writes during the full sync", n)
	sameData(t, m, f)
}

// Failover drill: A's followers B and C; A dies; B is promoted, C follows B partially,
// and A comes back as B's follower, partially since it had nothing B lacks.
func TestReplFailoverDrill(t *testing.T) {
	t.Parallel()
	a := replProc(t, "", "", syncAlways)
	a.start()
	ac := a.quick(t)
	writeAllTypes(t, ac, "pre", 30)
	b := replProc(t, a.addr, "", syncAlways)
	c := replProc(t, a.addr, "", syncAlways)
	b.start()
	c.start()
	writeAllTypes(t, ac, "pre2", 30)
	caughtUp(t, 20*time.Second, a, b, c)
	oldRepl := infoField(t, ac, "replication", "master_replid")
	a.kill9()

	bc, cc := b.quick(t), c.quick(t)
	ctx := ctxTimeout(t, 60*time.Second)
	if err := bc.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	if r, _ := roleOf(bc); r != "master" {
		t.Fatalf("B's ROLE after REPLICAOF NO ONE = %q", r)
	}
	if v := infoField(t, bc, "replication", "master_replid2"); v != oldRepl {
		t.Fatalf("B master_replid2 = %s, want A's history %s", v, oldRepl)
	}
	if v := infoInt(t, bc, "replication", "second_repl_offset"); v <= 0 {
		t.Fatalf("B second_repl_offset = %d", v)
	}
	bh, bp := b.hostPort()
	if err := cc.Do(ctx, "replicaof", bh, bp).Err(); err != nil {
		t.Fatal(err)
	}
	linkUp(t, 20*time.Second, c)
	if n := infoInt(t, bc, "stats", "sync_partial_ok"); n != 1 {
		t.Fatalf("C -> B: sync_partial_ok = %d, want 1", n)
	}
	writeAllTypes(t, bc, "post", 20)

	// A comes back on its data dir, configured to follow B.
	setReplicaOf(t, a, b.addr)
	a.start()
	linkUp(t, 20*time.Second, a)
	if n := infoInt(t, bc, "stats", "sync_partial_ok"); n != 2 {
		t.Fatalf("A -> B: sync_partial_ok = %d, want 2", n)
	}
	if n := infoInt(t, bc, "stats", "sync_full"); n != 0 {
		t.Fatalf("B sync_full = %d, want 0", n)
	}
	writeAllTypes(t, bc, "post2", 10)
	sameData(t, b, a, c)
}

// Failover drill where A logged writes its followers never got before it died: when
// it comes back under B it must be given a full copy, and loses those writes.
func TestReplFailoverDivergedOldMaster(t *testing.T) {
	t.Parallel()
	a := replProc(t, "", "", syncAlways)
	a.start()
	ac := a.quick(t)
	pb, pc := newProxy(t, a.addr), newProxy(t, a.addr)
	b := replProc(t, pb.addr(), "", syncAlways)
	c := replProc(t, pc.addr(), "", syncAlways)
	b.start()
	c.start()
	writeAllTypes(t, ac, "pre", 30)
	caughtUp(t, 20*time.Second, a, b, c)

	// Cut both links, then write on A: these records exist only on A.
	pb.stall()
	pc.stall()
	ctx := ctxTimeout(t, 60*time.Second)
	for i := 0; i < 50; i++ {
		if err := ac.Set(ctx, "lost:"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	a.kill9()
	pb.drop()
	pc.drop()

	bc, cc := b.quick(t), c.quick(t)
	if err := bc.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	bh, bp := b.hostPort()
	if err := cc.Do(ctx, "replicaof", bh, bp).Err(); err != nil {
		t.Fatal(err)
	}
	linkUp(t, 20*time.Second, c)
	writeAllTypes(t, bc, "post", 20)

	setReplicaOf(t, a, b.addr)
	a.start()
	linkUp(t, 30*time.Second, a)
	if n := infoInt(t, bc, "stats", "sync_full"); n != 1 {
		t.Fatalf("B sync_full = %d, want 1 (A diverged)", n)
	}
	if n := infoInt(t, bc, "stats", "sync_partial_err"); n != 1 {
		t.Fatalf("B sync_partial_err = %d, want 1", n)
	}
	if n := infoInt(t, bc, "stats", "sync_partial_ok"); n != 1 {
		t.Fatalf("B sync_partial_ok = %d, want 1 (C only)", n)
	}
	sameData(t, b, a, c)
	if n := a.quick(t).Exists(ctx, "lost:0", "lost:49").Val(); n != 0 {
		t.Fatalf("A kept %d of its unreplicated keys after the full sync", n)
	}
}

// Chained replication A -> B -> C.
func TestReplChained(t *testing.T) {
	t.Parallel()
	a := replProc(t, "", "", "")
	a.start()
	ac := a.quick(t)
	writeAllTypes(t, ac, "c1", 30)
	b := replProc(t, a.addr, "", "")
	b.start()
	c := replProc(t, b.addr, "", "")
	c.start()
	writeAllTypes(t, ac, "c2", 30)
	caughtUp(t, 20*time.Second, a, b, c)
	if n := infoInt(t, b.quick(t), "replication", "connected_slaves"); n != 1 {
		t.Fatalf("B connected_slaves = %d", n)
	}
	sameData(t, a, b, c)
	// C restarts and resumes from B partially.
	c.stop()
	writeAllTypes(t, ac, "c3", 10)
	c.start()
	caughtUp(t, 20*time.Second, a, b, c)
	if n := infoInt(t, b.quick(t), "stats", "sync_partial_ok"); n != 1 {
		t.Fatalf("C -> B restart: B sync_partial_ok = %d, want 1", n)
	}
	sameData(t, a, b, c)
}

// A follower that served reads (so its key cache holds them) and then diverged gets a
// full copy when it follows its master again: every read afterwards shows the master's
// data, none of what it held before.
func TestReplFullSyncReplacesReadData(t *testing.T) {
	t.Parallel()
	m := replProc(t, "", "", "")
	m.start()
	mc := m.quick(t)
	ctx := ctxTimeout(t, 60*time.Second)
	for i := 0; i < 100; i++ {
		if err := mc.Set(ctx, "k:"+strconv.Itoa(i), "master", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	f := replProc(t, m.addr, "", "")
	f.start()
	caughtUp(t, 20*time.Second, m, f)
	fc := f.quick(t)
	readAll := func(want string) {
		t.Helper()
		for i := 0; i < 100; i++ {
			if got := fc.Get(ctx, "k:"+strconv.Itoa(i)).Val(); got != want {
				t.Fatalf("follower k:%d = %q, want %q", i, got, want)
			}
		}
	}
	readAll("master")

	// Promoted, it takes writes the master never sees, and serves them.
	if err := fc.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := fc.Set(ctx, "k:"+strconv.Itoa(i), "diverged", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := fc.Set(ctx, "only:"+strconv.Itoa(i), "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	readAll("diverged")
	// Keys the follower never had, written while it is away: after the swap, its reads
	// must not be answered by what it knew before (its key cache and key filter).
	for i := 0; i < 100; i++ {
		if err := mc.Set(ctx, "late:"+strconv.Itoa(i), "m", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	full := infoInt(t, mc, "stats", "sync_full")
	mh, mp := m.hostPort()
	if err := fc.Do(ctx, "replicaof", mh, mp).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a full sync of the diverged follower", func() (bool, string) {
		n := infoInt(t, mc, "stats", "sync_full")
		return n == full+1, fmt.Sprintf("sync_full=%d", n)
	})
	linkUp(t, 30*time.Second, f)
	caughtUp(t, 20*time.Second, m, f)
	readAll("master")
	for i := 0; i < 100; i++ {
		if got := fc.Get(ctx, "late:"+strconv.Itoa(i)).Val(); got != "m" {
			t.Fatalf("follower late:%d = %q after the full sync", i, got)
		}
	}
	if n := fc.Exists(ctx, "only:0", "only:99").Val(); n != 0 {
		t.Fatalf("the follower still shows %d of its own keys after the full sync", n)
	}
	sameData(t, m, f)
}

// A large sorted set's rank index travels with the stream: the follower answers ranks
// from the records it replayed, and after promotion keeps the index up to date itself.
// Expected ranks come from ZSCAN, which does not use the index.
func TestReplZSetRanks(t *testing.T) {
	t.Parallel()
	a := replProc(t, "", "", "")
	a.start()
	b := replProc(t, a.addr, "", "")
	b.start()
	linkUp(t, 20*time.Second, b)
	ac, bc := a.quick(t), b.quick(t)
	ctx := ctxTimeout(t, 90*time.Second)
	for i := 0; i < 3000; i += 500 {
		var zs []redis.Z
		for j := i; j < i+500; j++ {
			zs = append(zs, redis.Z{Score: float64(j % 300), Member: fmt.Sprintf("p%d", j)})
		}
		if err := ac.ZAdd(ctx, "board", zs...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 200; i++ {
		mustDo(t, ac, "zincrby", "board", strconv.Itoa(i%7-3), fmt.Sprintf("p%d", i*13))
		mustDo(t, ac, "zrem", "board", fmt.Sprintf("p%d", i*11+1))
		mustDo(t, ac, "zadd", "board", strconv.Itoa(i), fmt.Sprintf("new%d", i))
	}
	mustDo(t, ac, "zpopmin", "board", "25")
	mustDo(t, ac, "zremrangebyrank", "board", "1000", "1040")
	caughtUp(t, 20*time.Second, a, b)
	checkRanks(t, ctx, ac, "master")
	checkRanks(t, ctx, bc, "follower")
	// The follower's reads loaded its rank cache: the stream now updates it.
	for i := 0; i < 300; i++ {
		mustDo(t, ac, "zadd", "board", strconv.Itoa(i%40), fmt.Sprintf("more%d", i))
		mustDo(t, ac, "zincrby", "board", "-1.5", fmt.Sprintf("p%d", i*5+2))
		if i%50 == 0 {
			mustDo(t, ac, "zrem", "board", fmt.Sprintf("p%d", i*3))
		}
	}
	caughtUp(t, 20*time.Second, a, b)
	checkRanks(t, ctx, bc, "follower after more writes")

	if err := bc.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		mustDo(t, bc, "zincrby", "board", "2.5", fmt.Sprintf("p%d", i*7+3))
		mustDo(t, bc, "zadd", "board", strconv.Itoa(i%50), fmt.Sprintf("late%d", i))
	}
	mustDo(t, bc, "zpopmax", "board", "10")
	checkRanks(t, ctx, bc, "promoted follower")
}

// checkRanks compares ZRANK, ZREVRANK, ZRANGE by rank and ZCOUNT of "board" with what
// its members and scores imply.
func checkRanks(t *testing.T, ctx context.Context, c *redis.Client, who string) {
	t.Helper()
	var all []redis.Z
	var cursor uint64
	for {
		kv, cur, err := c.ZScan(ctx, "board", cursor, "*", 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			s, err := strconv.ParseFloat(kv[i+1], 64)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, redis.Z{Member: kv[i], Score: s})
		}
		if cursor = cur; cursor == 0 {
			break
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Score != all[j].Score {
			return all[i].Score < all[j].Score
		}
		return all[i].Member.(string) < all[j].Member.(string)
	})
	n := int64(len(all))
	if got := c.ZCard(ctx, "board").Val(); got != n || n < 2000 {
		t.Fatalf("%s: ZCARD %d, ZSCAN found %d", who, got, n)
	}
	for i := int64(0); i < n; i += 97 {
		m := all[i].Member.(string)
		if r := c.ZRank(ctx, "board", m).Val(); r != i {
			t.Fatalf("%s: ZRANK %s = %d, want %d", who, m, r, i)
		}
		if r := c.ZRevRank(ctx, "board", m).Val(); r != n-1-i {
			t.Fatalf("%s: ZREVRANK %s = %d, want %d", who, m, r, n-1-i)
		}
		got := c.ZRange(ctx, "board", i, i+2).Val()
		for j, g := range got {
			if g != all[i+int64(j)].Member.(string) {
				t.Fatalf("%s: ZRANGE %d %d = %v, element %d should be %v", who, i, i+2, got, j, all[i+int64(j)].Member)
			}
		}
		lo := all[i].Score
		want := int64(0)
		for _, z := range all {
			if z.Score >= lo && z.Score < lo+10 {
				want++
			}
		}
		if got := c.ZCount(ctx, "board", strconv.FormatFloat(lo, 'g', -1, 64), "("+strconv.FormatFloat(lo+10, 'g', -1, 64)).Val(); got != want {
			t.Fatalf("%s: ZCOUNT [%g, %g) = %d, want %d", who, lo, lo+10, got, want)
		}
	}
}
