package store_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/strata-kv/strata/binlog"
	"github.com/strata-kv/strata/store"
)

type logged struct {
	dir string
	log *binlog.Log
	st  *store.Store
}

func openLogged(t *testing.T, dir string) *logged {
	t.Helper()
	l, err := binlog.Open(binlog.Options{Dir: filepath.Join(dir, "binlog"), Sync: binlog.SyncAlways, MaxFileSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	o := store.DefaultOptions(filepath.Join(dir, "db"))
	o.BlockCacheSize = 8 << 20
	o.Log = l
	st, err := store.Open(o)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	lg := &logged{dir: dir, log: l, st: st}
	t.Cleanup(lg.close)
	return lg
}

func (lg *logged) close() {
	lg.st.Close()
	lg.log.Close()
}

func set(t *testing.T, st *store.Store, k, v string) {
	t.Helper()
	tx := st.Begin()
	defer tx.Close()
	if _, err := tx.Set(0, []byte(k), []byte(v), store.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(tx); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, st *store.Store, k string) string {
	t.Helper()
	tx := st.Begin()
	defer tx.Close()
	v, _, err := tx.GetString(0, []byte(k))
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func TestEveryCommitIsLogged(t *testing.T) {
	lg := openLogged(t, t.TempDir())
	for i := 0; i < 10; i++ {
		set(t, lg.st, fmt.Sprint("k", i), "v")
	}
	if lg.log.LastID() != 10 || lg.st.AppliedID() != 10 {
		t.Fatalf("log last %d, applied %d", lg.log.LastID(), lg.st.AppliedID())
	}
	var n int
	err := lg.log.Replay(0, func(id uint64, h [20]byte, payload []byte) error {
		ch, err := store.DecodeChanges(payload)
		if err != nil {
			return err
		}
		if len(ch.Ops) == 0 || ch.Deltas[0] != 1 || h != lg.st.History() {
			return fmt.Errorf("record %d: %+v", id, ch)
		}
		n++
		return nil
	})
	if err != nil || n != 10 {
		t.Fatalf("replayed %d: %v", n, err)
	}
}

// Records in the binlog that RocksDB never got (a crash with the WAL off) are applied
// again at open.
func TestReplayAfterLostMemtable(t *testing.T) {
	dir := t.TempDir()
	lg := openLogged(t, dir)
	set(t, lg.st, "before", "1")
	lg.close() // flushes: "before" is in an SST, applied = 1
	// Simulate records that reached the binlog but not RocksDB.
	l, err := binlog.Open(binlog.Options{Dir: filepath.Join(dir, "binlog"), Sync: binlog.SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	donor := openLogged(t, t.TempDir())
	tx := donor.st.Begin()
	tx.Set(0, []byte("after"), []byte("2"), store.SetOptions{})
	payload := tx.EncodeChanges(nil)
	tx.Close()
	if _, err := l.Append(lg.st.History(), 1, payload); err != nil {
		t.Fatal(err)
	}
	l.Close()
	lg = openLogged(t, dir)
	if get(t, lg.st, "after") != "2" || get(t, lg.st, "before") != "1" {
		t.Fatal("replay did not restore the logged write")
	}
	if lg.st.AppliedID() != 2 || lg.st.DBSize(0) != 2 {
		t.Fatalf("applied %d dbsize %d", lg.st.AppliedID(), lg.st.DBSize(0))
	}
	set(t, lg.st, "third", "3")
	if lg.log.LastID() != 3 {
		t.Fatalf("log continues at %d", lg.log.LastID())
	}
}

func TestChangesRoundTrip(t *testing.T) {
	lg := openLogged(t, t.TempDir())
	tx := lg.st.Begin()
	defer tx.Close()
	tx.FlushDB(3)
	tx.Set(3, []byte("a"), []byte("b"), store.SetOptions{ExpireAt: 99999999999999})
	enc := tx.EncodeChanges(nil)
	ch, err := store.DecodeChanges(enc)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Flushed != 1<<3 || ch.Deltas[3] != 1 || len(ch.Ops) != len(tx.Ops()) {
		t.Fatalf("decoded %+v", ch)
	}
	for i := range enc {
		if _, err := store.DecodeChanges(enc[:i]); err == nil {
			t.Fatalf("truncated record of %d bytes decoded", i)
		}
	}
}

func TestLogFailureDisablesWrites(t *testing.T) {
	dir := t.TempDir()
	lg := openLogged(t, dir)
	set(t, lg.st, "a", "1")
	// Make the next append fail: the active segment's directory vanishes and the file
	// is closed underneath the log.
	lg.log.Close()
	tx := lg.st.Begin()
	tx.Set(0, []byte("b"), []byte("2"), store.SetOptions{})
	err := lg.st.Commit(tx)
	tx.Close()
	if !errors.Is(err, store.ErrWritesDisabled) {
		t.Fatalf("commit after log failure: %v", err)
	}
	if get(t, lg.st, "b") != "" {
		t.Fatal("failed write became visible")
	}
	if get(t, lg.st, "a") != "1" {
		t.Fatal("reads stopped working")
	}
	tx = lg.st.Begin()
	tx.Set(0, []byte("c"), []byte("3"), store.SetOptions{})
	if err := lg.st.Commit(tx); !errors.Is(err, store.ErrWritesDisabled) {
		t.Fatalf("writes not refused after failure: %v", err)
	}
	tx.Close()
	_ = os.Remove
}

// A follower that has read a key (so its key cache holds it) sees the master's later
// change of the key once the record is applied, and a deletion as a deletion.
// ship applies to follower, in one batch, every record of master's log it lacks.
func ship(t *testing.T, master, follower *logged) {
	t.Helper()
	r, err := master.log.NewReader(follower.st.AppliedID() + 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []binlog.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		t.Fatal("nothing to ship")
	}
	if err := follower.st.ApplyRecords(recs); err != nil {
		t.Fatal(err)
	}
}

func memEntries(t *testing.T, st *store.Store) int {
	t.Helper()
	n, err := strconv.Atoi(st.Property("rocksdb.num-entries-active-mem-table"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A batch of records that write one key several times puts only the last value in
// RocksDB: three records cost the memtable what one does.
func TestApplyRecordsWritesLastOfEachKey(t *testing.T) {
	master := openLogged(t, t.TempDir())
	follower := openLogged(t, t.TempDir())
	set(t, master.st, "k", "v0") // from here on no write changes the key count
	ship(t, master, follower)
	before := memEntries(t, follower.st)
	set(t, master.st, "k", "v1")
	set(t, master.st, "k", "v2")
	set(t, master.st, "k", "v3")
	ship(t, master, follower)
	three := memEntries(t, follower.st) - before
	if got := get(t, follower.st, "k"); got != "v3" {
		t.Fatalf("after three records k = %q, want v3", got)
	}
	before += three
	set(t, master.st, "k", "v4")
	ship(t, master, follower)
	one := memEntries(t, follower.st) - before
	if got := get(t, follower.st, "k"); got != "v4" {
		t.Fatalf("after one record k = %q, want v4", got)
	}
	if three != one {
		t.Fatalf("three records of one key added %d memtable entries, one record %d", three, one)
	}
}

func TestApplyRecordsUpdatesReadKeys(t *testing.T) {
	master := openLogged(t, t.TempDir())
	follower := openLogged(t, t.TempDir())
	want := func(when string, kv ...string) {
		t.Helper()
		for i := 0; i < len(kv); i += 2 {
			if got := get(t, follower.st, kv[i]); got != kv[i+1] {
				t.Fatalf("%s: follower %s = %q, want %q", when, kv[i], got, kv[i+1])
			}
		}
	}
	set(t, master.st, "k", "v1")
	ship(t, master, follower)
	want("first record", "k", "v1", "absent", "")
	set(t, master.st, "k", "v2")
	set(t, master.st, "absent", "now")
	ship(t, master, follower)
	want("second records", "k", "v2", "absent", "now")
	tx := master.st.Begin()
	k, err := tx.Load(0, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	tx.Delete(k)
	if err := master.st.Commit(tx); err != nil {
		t.Fatal(err)
	}
	tx.Close()
	ship(t, master, follower)
	want("delete", "k", "")
}
