package store

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-kv/strata/binlog"
)

// openWithLog opens a store in dir/db with a binlog in dir/binlog.
func openWithLog(t testing.TB, dir string) (*Store, *binlog.Log) {
	t.Helper()
	l, err := binlog.Open(binlog.Options{Dir: filepath.Join(dir, "binlog"), Sync: binlog.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions(filepath.Join(dir, "db"))
	o.BlockCacheSize = 8 << 20
	o.WriteBufferSize = 4 << 20
	o.Log = l
	s, err := Open(o)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); l.Close() })
	return s, l
}

// The checkpoint's own "!applied" describes exactly the data in it, even with writes
// going on while it is taken: every write i sets "n" to i and is binlog record i.
func TestCheckpointIsConsistent(t *testing.T) {
	s, _ := openWithLog(t, t.TempDir())
	var stop atomic.Bool
	var wg sync.WaitGroup
	var written atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; !stop.Load(); i++ {
			tx := s.Begin()
			if _, err := tx.Set(0, []byte("n"), []byte(strconv.Itoa(i)), SetOptions{}); err != nil {
				t.Error(err)
			}
			if err := s.Commit(tx); err != nil {
				t.Error(err)
			}
			tx.Close()
			written.Store(int64(i))
		}
	}()
	root := t.TempDir()
	for round := 0; round < 5; round++ {
		for written.Load() < int64(50*(round+1)) {
			time.Sleep(time.Millisecond)
		}
		dir := filepath.Join(root, fmt.Sprint(round))
		applied, hist, err := s.Checkpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		if hist != s.History() {
			t.Fatalf("checkpoint history %x, store %x", hist, s.History())
		}
		r, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = r.ForEach(func(k, v []byte) error {
			if string(k) == string(metaKey(0, []byte("n"))) {
				var m Meta
				if err := decodeMeta(v, &m); err != nil {
					return err
				}
				got = string(m.Value)
			}
			return nil
		})
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != strconv.FormatUint(applied, 10) {
			t.Fatalf("round %d: checkpoint says applied %d but holds n=%s", round, applied, got)
		}
	}
	stop.Store(true)
	wg.Wait()

	// A checkpoint opens as a data directory whose binlog continues after its ID.
	dir := filepath.Join(root, "0")
	snap := filepath.Join(t.TempDir(), "restored")
	if err := os.Rename(dir, filepath.Join(filepath.Dir(snap), "db")); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(filepath.Join(filepath.Dir(snap), "db"))
	if err != nil {
		t.Fatal(err)
	}
	applied := r.Applied()
	r.Close()
	s2, l2 := openWithLog(t, filepath.Dir(snap))
	if l2.LastID() != applied || s2.AppliedID() != applied {
		t.Fatalf("restored: binlog last %d, applied %d, want %d", l2.LastID(), s2.AppliedID(), applied)
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return b
}

// copyThroughLoader feeds every dumped record of the store in srcDir/db into a Loader
// building dstDir/db.
func copyThroughLoader(t testing.TB, srcDB, dstDB string, lo LoaderOptions) (*RawDB, *Loader) {
	t.Helper()
	r, err := OpenReadOnly(srcDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	lo.Applied, lo.History = r.Applied(), r.History()
	l, err := NewLoader(dstDB, lo)
	if err != nil {
		t.Fatal(err)
	}
	err = r.ForEach(func(k, v []byte) error {
		if !IsDumpedKey(k) {
			return nil
		}
		return l.Add(k, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, l
}

func TestLoaderRoundTrip(t *testing.T) {
	exp := time.Now().Add(time.Hour).UnixMilli()
	src := t.TempDir()
	s, _ := openWithLog(t, src)
	for db := 0; db < Databases; db++ {
		dgBuildWinding(t, s, db, exp+int64(db))
		runTx(t, s, func(tx *Tx) error {
			for i := 0; i < 200; i++ {
				if _, err := tx.HSet(db, []byte(fmt.Sprintf("big%d", i%7)), []FieldValue{{[]byte(fmt.Sprint(i)), randBytes(100)}}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var want [Databases]string
	var sizes [Databases]int64
	for db := range want {
		// DBSIZE counts an expired key until expiry deletes it, which the background
		// cycle of either store may do at any moment: delete them first.
		if _, err := s.ExpireCycle(db, 1000); err != nil {
			t.Fatal(err)
		}
		want[db] = dgDigest(t, s, db)
		sizes[db] = s.DBSize(db)
	}
	applied, hist := s.AppliedID(), s.History()
	s.Close()

	dst := t.TempDir()
	lo := DefaultLoaderOptions()
	lo.FileSize = 64 << 10 // several data files
	r, l := copyThroughLoader(t, filepath.Join(src, "db"), filepath.Join(dst, "db"), lo)
	if r.Applied() != applied || r.History() != hist {
		t.Fatalf("raw view: applied %d history %x, want %d %x", r.Applied(), r.History(), applied, hist)
	}
	if l.Files() < 2 {
		t.Fatalf("%d data files, want several", l.Files())
	}
	if m := l.CountMismatch(); len(m) != 0 {
		t.Fatalf("count mismatch: %v", m)
	}
	if err := l.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "db.load")); !os.IsNotExist(err) {
		t.Fatalf("staging directory left behind: %v", err)
	}
	s2, l2 := openWithLog(t, dst)
	if s2.AppliedID() != applied || s2.History() != hist || l2.LastID() != applied {
		t.Fatalf("loaded: applied %d history %x binlog %d; want %d %x", s2.AppliedID(), s2.History(), l2.LastID(), applied, hist)
	}
	for db := range want {
		if got := dgDigest(t, s2, db); got != want[db] {
			t.Fatalf("db %d: digest %s, want %s", db, got, want[db])
		}
		if s2.DBSize(db) != sizes[db] {
			t.Fatalf("db %d: %d keys, want %d", db, s2.DBSize(db), sizes[db])
		}
	}
	// The next write is the next binlog record.
	runTx(t, s2, func(tx *Tx) error { _, err := tx.Set(0, []byte("new"), []byte("1"), SetOptions{}); return err })
	if s2.AppliedID() != applied+1 || l2.LastID() != applied+1 {
		t.Fatalf("after a write: applied %d, binlog %d; want %d", s2.AppliedID(), l2.LastID(), applied+1)
	}
}

func TestLoaderRefusesBadInput(t *testing.T) {
	cases := map[string][][2]string{
		"out of order":     {{"m\x00b", "\x01\x00\x00\x00\x00\x00\x00\x00\x00v"}, {"m\x00a", "\x01\x00\x00\x00\x00\x00\x00\x00\x00v"}},
		"duplicate":        {{"m\x00a", "\x01\x00\x00\x00\x00\x00\x00\x00\x00v"}, {"m\x00a", "\x01\x00\x00\x00\x00\x00\x00\x00\x00v"}},
		"directory record": {{"!applied", "\x00\x00\x00\x00\x00\x00\x00\x01"}},
		"bad metadata":     {{"m\x00a", "\x09"}},
		"bad database":     {{"m\x20a", "\x01\x00\x00\x00\x00\x00\x00\x00\x00v"}},
	}
	for name, recs := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := NewLoader(filepath.Join(t.TempDir(), "db"), DefaultLoaderOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer l.Abort()
			var last error
			for _, r := range recs {
				if last = l.Add([]byte(r[0]), []byte(r[1])); last != nil {
					break
				}
			}
			if !errors.Is(last, ErrCorrupt) {
				t.Fatalf("got %v, want a corruption error", last)
			}
		})
	}
	t.Run("target not empty", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "db")
		l, err := NewLoader(dir, DefaultLoaderOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Abort()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := l.Finish(); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("got %v, want ErrNotEmpty", err)
		}
	})
}

func TestDecodeRecord(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, filepath.Join(dir, "db"))
	exp := time.Now().Add(time.Hour).UnixMilli()
	dgBuildDirect(t, s, 2, exp)
	s.Close()
	r, err := OpenReadOnly(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := map[string]int{}
	err = r.ForEach(func(k, v []byte) error {
		rec, err := DecodeRecord(k, v)
		if err != nil {
			return err
		}
		switch rec.Kind {
		case RecordSystem:
			seen["system"]++
		case RecordMeta:
			seen["meta:"+rec.Meta.Type.String()]++
			if string(rec.Key) == "ttl" && rec.Meta.ExpireAt != exp {
				t.Errorf("ttl expire-at %d, want %d", rec.Meta.ExpireAt, exp)
			}
		case RecordMember:
			if string(rec.Key) == "list" {
				if _, err := ListIndex(rec.Member); err != nil {
					return err
				}
				seen["list:"+string(rec.Value)]++
			} else if string(rec.Key) == "zset" {
				sc, err := ZSetScore(rec.Value)
				if err != nil {
					return err
				}
				seen[fmt.Sprintf("zset:%s=%g", rec.Member, sc)]++
			} else {
				seen["member:"+string(rec.Key)]++
			}
		case RecordScore:
			seen[fmt.Sprintf("score:%s=%g", rec.Member, rec.Score)]++
		case RecordExpire:
			seen["expire:"+string(rec.Key)]++
			if rec.ExpireAt != exp {
				t.Errorf("expire index at %d, want %d", rec.ExpireAt, exp)
			}
		}
		if rec.Kind != RecordSystem && rec.DB != 2 {
			t.Errorf("record %q in db %d", k, rec.DB)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range map[string]int{
		"meta:string": 2, "meta:hash": 1, "meta:list": 1, "meta:set": 1, "meta:zset": 1,
		"member:hash": 2, "member:set": 3, "list:x": 1, "list:y": 1, "list:z": 1,
		"zset:a=1.5": 1, "zset:b=-2": 1, "zset:c=0": 1, "score:a=1.5": 1, "score:b=-2": 1, "score:c=0": 1,
		"expire:ttl": 1, "expire:hash": 1,
	} {
		if seen[k] != n {
			t.Errorf("%s: seen %d, want %d (all: %v)", k, seen[k], n, seen)
		}
	}
	if seen["system"] == 0 {
		t.Error("no system records")
	}
}
