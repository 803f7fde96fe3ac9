package store

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	o := DefaultOptions(dir)
	o.BlockCacheSize = 8 << 20
	o.WriteBufferSize = 4 << 20
	s, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func setString(t testing.TB, s *Store, db int, k, v string) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	if _, err := tx.Set(db, []byte(k), []byte(v), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
}

func getString(t testing.TB, s *Store, db int, k string) (string, bool) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	v, ok, err := tx.GetString(db, []byte(k))
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

func delKey(t testing.TB, s *Store, db int, k string) {
	t.Helper()
	runTx(t, s, func(tx *Tx) error {
		key, err := tx.Load(db, []byte(k))
		if err != nil {
			return err
		}
		tx.Delete(key)
		return nil
	})
}

func TestRefusesNewerFormat(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if err := s.db.Put(s.wo, sysFormatKey, encodeU64(FormatVersion+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(DefaultOptions(dir))
	if !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("open newer format: %v", err)
	}
}

// A format 1 directory opens and is marked format 2, so older builds refuse it from
// then on.
func TestOpensOlderFormat(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if err := s.db.Put(s.wo, sysFormatKey, encodeU64(1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	v, err := s.db.GetBytes(s.ro, sysFormatKey)
	if err != nil || decodeU64(v) != FormatVersion {
		t.Fatalf("format after opening format 1: %x %v, want %d", v, err, FormatVersion)
	}
}

func TestKeyCountsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	for i := 0; i < 10; i++ {
		setString(t, s, 3, fmt.Sprint("k", i), "v")
	}
	setString(t, s, 3, "k0", "again") // overwrite: count unchanged
	tx := s.Begin()
	k, _ := tx.Load(3, []byte("k1"))
	tx.Delete(k)
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	tx.Close()
	if n := s.DBSize(3); n != 9 {
		t.Fatalf("dbsize = %d", n)
	}
	s.Close()
	s = openTest(t, dir)
	if n := s.DBSize(3); n != 9 {
		t.Fatalf("dbsize after restart = %d", n)
	}
	if v, ok := getString(t, s, 3, "k0"); !ok || v != "again" {
		t.Fatalf("k0 = %q %v", v, ok)
	}
}

func TestConcurrentCommitsGroup(t *testing.T) {
	s := openTest(t, t.TempDir())
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				setString(t, s, 0, fmt.Sprintf("w%d:%d", w, i), "x")
			}
		}(w)
	}
	wg.Wait()
	if n := s.DBSize(0); n != writers*each {
		t.Fatalf("dbsize = %d", n)
	}
	if c, g := s.Stats().Commits.Load(), s.Stats().Groups.Load(); c != writers*each || g > c {
		t.Fatalf("commits %d groups %d", c, g)
	}
}

func TestFlushDBInsideTransaction(t *testing.T) {
	s := openTest(t, t.TempDir())
	setString(t, s, 0, "a", "1")
	setString(t, s, 1, "b", "1")
	tx := s.Begin()
	tx.FlushDB(0)
	if _, ok, _ := tx.GetString(0, []byte("a")); ok {
		t.Fatal("flushed key visible inside the transaction")
	}
	if _, err := tx.Set(0, []byte("c"), []byte("3"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := tx.GetString(0, []byte("c")); !ok || string(v) != "3" {
		t.Fatal("write after flush not visible in the transaction")
	}
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	tx.Close()
	if _, ok := getString(t, s, 0, "a"); ok {
		t.Fatal("a survived FLUSHDB")
	}
	if _, ok := getString(t, s, 1, "b"); !ok {
		t.Fatal("FLUSHDB 0 removed a key of db 1")
	}
	if s.DBSize(0) != 1 || s.DBSize(1) != 1 {
		t.Fatalf("dbsize 0=%d 1=%d", s.DBSize(0), s.DBSize(1))
	}
}

func TestRollbackToSavepoint(t *testing.T) {
	s := openTest(t, t.TempDir())
	tx := s.Begin()
	defer tx.Close()
	tx.Set(0, []byte("keep"), []byte("1"), SetOptions{})
	sp := tx.Mark()
	tx.Set(0, []byte("drop"), []byte("1"), SetOptions{})
	if _, ok, _ := tx.GetString(0, []byte("drop")); !ok {
		t.Fatal("write not visible before rollback")
	}
	tx.Rollback(sp)
	if _, ok, _ := tx.GetString(0, []byte("drop")); ok {
		t.Fatal("rolled back write still visible")
	}
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	if _, ok := getString(t, s, 0, "drop"); ok {
		t.Fatal("rolled back write committed")
	}
	if _, ok := getString(t, s, 0, "keep"); !ok {
		t.Fatal("write before the savepoint lost")
	}
	if s.DBSize(0) != 1 {
		t.Fatalf("dbsize = %d", s.DBSize(0))
	}
}

// Reads stay fast after many flushes and deletes of collections: range tombstones do
// not pile up in one memtable (RocksDB 7 re-fragments them on every read).
func TestManyDeletesKeepReadsFast(t *testing.T) {
	s := openTest(t, t.TempDir())
	for i := 0; i < 2000; i++ {
		tx := s.Begin()
		if i%2 == 0 {
			tx.FlushAll()
		} else {
			k, _ := tx.Create(0, []byte("h"), TypeHash)
			tx.putMember(k, []byte("f"), []byte("v"))
			k.Meta.Count = 1
			tx.Save(k)
		}
		if err := s.Commit(tx); err != nil {
			t.Fatal(err)
		}
		tx.Close()
	}
	setString(t, s, 0, "probe", "x")
	start := time.Now()
	for i := 0; i < 300; i++ {
		if v, ok := getString(t, s, 0, "probe"); !ok || v != "x" {
			t.Fatal("probe lost")
		}
		// Iterators pay for the memtable's range tombstones when they are created.
		tx := s.Begin()
		start := []byte{prefixMeta, 0}
		it := tx.iter(start, prefixEnd(start))
		n := 0
		for it.SeekFirst(); it.Valid(); it.Next() {
			n++
		}
		it.Close()
		tx.Close()
		if n != 2 {
			t.Fatalf("db 0 holds %d keys, want 2 (h and probe)", n)
		}
	}
	t.Logf("300 reads: %v", time.Since(start))
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Fatalf("300 reads took %v after many range deletions", d)
	}
}

// An iterator sees writes that are queued but not yet in RocksDB, without waiting for
// them: a range read of a hot key does not stall its writers.
func TestIteratorSeesQueuedWrites(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.ZAdd(0, []byte("z"), ZAddOptions{}, []ScoredMember{{[]byte("a"), 1}, {[]byte("c"), 3}})
		return err
	})
	w := s.Begin()
	defer w.Close()
	if _, err := w.ZAdd(0, []byte("z"), ZAddOptions{}, []ScoredMember{{[]byte("b"), 2}, {[]byte("c"), 0}}); err != nil {
		t.Fatal(err)
	}
	p := s.Submit(w) // queued: nobody leads the group until Wait
	r := s.Begin()
	z, err := r.LoadZSet(0, []byte("z"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := z.RangeByRank(0, -1, false)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := []ScoredMember{{[]byte("c"), 0}, {[]byte("a"), 1}, {[]byte("b"), 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("range while queued = %v, want %v", got, want)
	}
	select {
	case <-p.done:
		t.Fatal("the read waited for the queued write to be applied")
	default:
	}
	if _, err := s.Wait(p); err != nil {
		t.Fatal(err)
	}
}

// A transaction that writes a key several times commits only the last write, in its
// place among the others, and the result is what the full sequence would give.
func TestCompactKeepsLastWrites(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	k := func(c string) []byte { return []byte("sx" + c) }
	runTx(t, s, func(tx *Tx) error {
		tx.put(k("a"), []byte("old"))
		tx.put(k("d"), []byte("old"))
		return nil
	})
	tx := s.Begin()
	defer tx.Close()
	tx.put(k("a"), []byte("1"))
	tx.put(k("b"), []byte("1"))
	tx.del(k("a"))
	tx.put(k("c"), []byte("1"))
	tx.delRange(k("c"), k("e")) // drops c (put before it) and the stored d
	tx.put(k("b"), []byte("2"))
	tx.put(k("a"), []byte("3"))
	tx.put(k("c"), []byte("after"))
	tx.compact()
	var got []string
	for _, op := range tx.ops {
		got = append(got, fmt.Sprintf("%d:%s", op.Kind, op.Key))
	}
	want := []string{"3:sxc", "1:sxb", "1:sxa", "1:sxc"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ops after compact = %v, want %v", got, want)
	}
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	r := s.Begin()
	defer r.Close()
	for key, want := range map[string]string{"a": "3", "b": "2", "c": "after", "d": ""} {
		v, err := r.get(k(key))
		if err != nil || string(v) != want {
			t.Errorf("%s = %q %v, want %q", key, v, err, want)
		}
	}
}

// Compact leaves no file in level 0 and every key readable.
func TestCompact(t *testing.T) {
	s := openTest(t, t.TempDir())
	for i := 0; i < 100; i++ {
		setString(t, s, 0, fmt.Sprintf("k%d", i), "v")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := s.Property("rocksdb.num-files-at-level0"); n != "1" {
		t.Fatalf("%s files in level 0 after a flush, want 1", n)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if n := s.Property("rocksdb.num-files-at-level0"); n != "0" {
		t.Fatalf("%s files in level 0 after Compact, want 0", n)
	}
	for i := 0; i < 100; i++ {
		if v, ok := getString(t, s, 0, fmt.Sprintf("k%d", i)); !ok || v != "v" {
			t.Fatalf("k%d = %q, %v after Compact", i, v, ok)
		}
	}
}
