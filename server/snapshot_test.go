package server

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-kv/strata/config"
	"github.com/strata-kv/strata/tools"
)

// dbClient is a RESP2 or RESP3 client whose connections all use database db.
func dbClient(t testing.TB, ts *testServer, db, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: ts.Addr, DB: db, Protocol: proto, DisableIdentity: true,
		DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// waitSaved waits until no save is running and returns the last snapshot's path.
func waitSaved(t *testing.T, ts *testServer) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if si := ts.snapshotInfo(); !si.InProgress {
			if !si.LastOK {
				t.Fatal("background save failed")
			}
			return si.LastPath
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("background save did not finish within 20s")
	return ""
}

func TestBgsaveSnapshotDumpsAndPrunes(t *testing.T) {
	ts := startServer(t)
	ts.snapshots().maxCount = 2
	c := dbClient(t, ts, 2, 2)
	must(t, c, "set", "a", "1")
	must(t, c, "hset", "h", "f", "v")
	must(t, c, "zadd", "z", "1.5", "m")
	must(t, c, "rpush", "l", "x", "y")
	must(t, c, "sadd", "s", "m")
	must(t, c, "pexpireat", "l", time.Now().Add(time.Hour).UnixMilli())
	c7 := dbClient(t, ts, 7, 2)
	must(t, c7, "set", "other-db", "v")

	before := must(t, c, "lastsave").(int64)
	if got := must(t, c, "bgsave"); got != "Background saving started" {
		t.Fatalf("BGSAVE replied %v", got)
	}
	first := waitSaved(t, ts)
	applied := ts.store.AppliedID()
	if want := "-" + strconv.FormatUint(applied, 10); !strings.HasSuffix(first, want) {
		t.Fatalf("snapshot %s is not named after binlog ID %d", first, applied)
	}
	if filepath.Dir(first) != filepath.Join(ts.Config().Server.DataDir, "snapshots") {
		t.Fatalf("snapshot in %s", first)
	}
	if got := must(t, c, "lastsave").(int64); got < before {
		t.Fatalf("LASTSAVE %d went back from %d", got, before)
	}
	if si := ts.snapshotInfo(); si.ChangesSinceLast != 0 || !si.LastOK || si.LastDurSec < 0 || si.InProgress {
		t.Fatalf("snapshot info after BGSAVE: %+v", si)
	}

	// The snapshot is readable by `strata dump --data-dir <snapshot>` while the server
	// runs, and loads into the same contents.
	must(t, c7, "set", "after-snapshot", "not in it")
	if si := ts.snapshotInfo(); si.ChangesSinceLast != 1 {
		t.Fatalf("one write after the snapshot: %+v", si)
	}
	var dump bytes.Buffer
	res, err := tools.Dump(&dump, tools.DumpOptions{DataDir: first, ProgressMode: tools.ProgressQuiet})
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.BinlogID != applied || res.Counts.Keys != 6 {
		t.Fatalf("dump of the snapshot: header %+v counts %+v, want ID %d and 6 keys", res.Header, res.Counts, applied)
	}
	dst := t.TempDir()
	if _, err := tools.LoadDir(&dump, dst, tools.LoadOptions{ProgressMode: tools.ProgressQuiet}); err != nil {
		t.Fatal(err)
	}
	loaded := startServer(t, func(cfg *config.Config) { cfg.Server.DataDir = dst })
	lc := dbClient(t, loaded, 2, 2)
	if must(t, lc, "digest") != must(t, c, "digest") {
		t.Fatal("db 2 differs between the server and its loaded snapshot")
	}
	if must(t, lc, "digest", "7") == must(t, c, "digest", "7") {
		t.Fatal("db 7 should differ: a key was written after the snapshot")
	}

	// SAVE waits; only the newest max_count snapshots stay.
	for i := 0; i < 3; i++ {
		must(t, c, "set", "n", i) // a new binlog ID, so a new name
		if got := must(t, c, "save"); got != "OK" {
			t.Fatalf("SAVE replied %v", got)
		}
	}
	snaps, err := listSnapshots(filepath.Join(ts.Config().Server.DataDir, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots kept, want 2: %v", len(snaps), snaps)
	}
	if snaps[1].id != ts.store.AppliedID() || snaps[0].id != ts.store.AppliedID()-1 {
		t.Fatalf("kept %v, want the two newest (last ID %d)", snaps, ts.store.AppliedID())
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatalf("oldest snapshot not pruned: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(ts.Config().Server.DataDir, "snapshots"))
	if len(ents) != 2 {
		t.Fatalf("snapshots dir holds %d entries (temporary leftovers?)", len(ents))
	}
}

func TestSaveErrors(t *testing.T) {
	ts := startServer(t)
	c := dbClient(t, ts, 0, 2)
	mustErr(t, c, "ERR syntax error", "bgsave", "now")
	mustErr(t, c, "ERR syntax error", "bgsave", "schedule", "x")
	mustErr(t, c, "ERR wrong number of arguments for 'save' command", "save", "x")
	// One save at a time.
	if !ts.beginSave(true) {
		t.Fatal("save slot taken")
	}
	mustErr(t, c, "ERR Background save already in progress", "bgsave")
	mustErr(t, c, "ERR Background save already in progress", "save")
	if si := ts.snapshotInfo(); !si.InProgress || si.CurrentDurSec < 0 {
		t.Fatalf("info while saving: %+v", si)
	}
	ts.endSave("", 0, nil)
	if got := must(t, c, "bgsave", "schedule"); got != "Background saving started" {
		t.Fatalf("BGSAVE SCHEDULE replied %v", got)
	}
	waitSaved(t, ts)

	// SAVE is refused inside MULTI and dooms the transaction, as in Redis.
	conn := c.Conn()
	defer conn.Close()
	ctx := ctxT(t)
	if err := conn.Do(ctx, "multi").Err(); err != nil {
		t.Fatal(err)
	}
	if err := conn.Do(ctx, "save").Err(); err == nil || err.Error() != "ERR Command not allowed inside a transaction" {
		t.Fatalf("SAVE in MULTI: %v", err)
	}
	if err := conn.Do(ctx, "exec").Err(); err == nil || !strings.HasPrefix(err.Error(), "EXECABORT") {
		t.Fatalf("EXEC after SAVE in MULTI: %v", err)
	}
	// BGSAVE inside EXEC is "scheduled" (and runs).
	if err := conn.Do(ctx, "multi").Err(); err != nil {
		t.Fatal(err)
	}
	conn.Do(ctx, "bgsave")
	v, err := conn.Do(ctx, "exec").Result()
	if err != nil || len(v.([]any)) != 1 || v.([]any)[0] != "Background saving scheduled" {
		t.Fatalf("EXEC [BGSAVE]: %v %v", v, err)
	}
	waitSaved(t, ts)
}

func TestDigestCommand(t *testing.T) {
	a := startServer(t)
	b := startServer(t)
	ca, cb := dbClient(t, a, 2, 2), dbClient(t, b, 5, 3)
	zero := strings.Repeat("0", 40)
	if got := must(t, ca, "digest"); got != zero {
		t.Fatalf("empty digest %v", got)
	}
	// Same data, different histories and internal versions.
	must(t, ca, "hset", "h", "a", "1", "b", "2")
	must(t, ca, "rpush", "l", "x", "y", "z")
	must(t, ca, "zadd", "z", "1", "a", "2", "b")
	must(t, ca, "set", "s", "v", "pxat", "99999999999999")

	must(t, cb, "zadd", "h", "1", "wrong type")
	must(t, cb, "del", "h")
	must(t, cb, "hset", "h", "b", "2", "a", "0")
	must(t, cb, "hset", "h", "a", "1")
	must(t, cb, "lpush", "l", "z", "y", "x", "w")
	must(t, cb, "lpop", "l")
	must(t, cb, "zadd", "z", "5", "b", "1", "a")
	must(t, cb, "zadd", "z", "2", "b")
	must(t, cb, "set", "s", "v")
	must(t, cb, "pexpireat", "s", "99999999999999")

	da := must(t, ca, "digest").(string)
	if len(da) != 40 || da == zero {
		t.Fatalf("digest %q", da)
	}
	if db := must(t, cb, "digest"); db != da {
		t.Fatalf("same data, digests %v and %v", db, da)
	}
	if got := must(t, cb, "digest", "5"); got != da {
		t.Fatalf("DIGEST 5 %v, want %v", got, da)
	}
	if got := must(t, cb, "digest", "0"); got != zero {
		t.Fatalf("DIGEST 0 of an empty db: %v", got)
	}
	must(t, cb, "lset", "l", "0", "changed")
	if db := must(t, cb, "digest"); db == da {
		t.Fatal("digest did not change with the data")
	}
	mustErr(t, ca, "ERR value is not an integer or out of range", "digest", "x")
	mustErr(t, ca, "ERR DB index is out of range", "digest", "16")
	mustErr(t, ca, "ERR DB index is out of range", "digest", "-1")
	mustErr(t, ca, "ERR syntax error", "digest", "1", "2")

	// Inside MULTI, DIGEST sees the transaction's earlier writes.
	conn := ca.Conn()
	defer conn.Close()
	ctx := ctxT(t)
	conn.Do(ctx, "multi")
	conn.Do(ctx, "set", "new", "v")
	conn.Do(ctx, "digest")
	v, err := conn.Do(ctx, "exec").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := v.([]any)[1]; got != must(t, ca, "digest") || got == da {
		t.Fatalf("DIGEST in EXEC %v, after %v", got, must(t, ca, "digest"))
	}
	d, err := a.store.Digest(2)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(d[:]) != must(t, ca, "digest") {
		t.Fatalf("store digest %x differs from DIGEST", d)
	}
	// RESP3: a bulk string too.
	c3 := dbClient(t, a, 2, 3)
	if got := must(t, c3, "digest"); got != hex.EncodeToString(d[:]) {
		t.Fatalf("RESP3 DIGEST %v", got)
	}
}
