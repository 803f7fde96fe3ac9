package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// waitFilterBuilds waits until the store's key filter has been built n times.
func waitFilterBuilds(t *testing.T, s *Store, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.KeyFilterStats().Builds < n {
		if time.Now().After(deadline) {
			t.Fatalf("key filter built %d times in 10s, want %d", s.KeyFilterStats().Builds, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// openFilter opens a store with a key filter of size bytes and no key cache, which
// would answer reads of the keys it holds before the filter is asked.
func openFilter(t *testing.T, dir string, size int64) *Store {
	t.Helper()
	o := DefaultOptions(dir)
	o.BlockCacheSize, o.WriteBufferSize, o.KeyFilterSize, o.KeyCacheSize = 1<<20, 1<<20, size, 0
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Reads of keys and members never written are answered by the filter; everything
// written, deleted and written again reads back as RocksDB holds it.
func TestKeyFilterAnswersMissingKeys(t *testing.T) {
	s := openFilter(t, t.TempDir(), 1<<20)
	defer s.Close()
	waitFilterBuilds(t, s, 1)

	skips := s.KeyFilterStats().Skips
	for i := 0; i < 100; i++ {
		if _, ok := getString(t, s, 0, fmt.Sprintf("missing%d", i)); ok {
			t.Fatalf("missing%d exists", i)
		}
	}
	// One false positive in a hundred is possible; ninety would be a filter that
	// answers nothing.
	if got := s.KeyFilterStats().Skips - skips; got < 90 {
		t.Fatalf("the filter answered %d of 100 reads of missing keys", got)
	}

	setString(t, s, 0, "a", "1")
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.HSet(0, []byte("h"), []FieldValue{{Field: []byte("f"), Value: []byte("v")}})
		return err
	})
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.SAdd(0, []byte("s"), bytesOf("m"))
		return err
	})
	if v, ok := getString(t, s, 0, "a"); !ok || v != "1" {
		t.Fatalf("a = %q %v", v, ok)
	}
	tx := s.Begin()
	if v, ok, err := tx.HGet(0, []byte("h"), []byte("f")); err != nil || !ok || string(v) != "v" {
		t.Fatalf("HGET h f = %q %v %v", v, ok, err)
	}
	if _, ok, err := tx.HGet(0, []byte("h"), []byte("nosuch")); err != nil || ok {
		t.Fatalf("HGET h nosuch = %v %v", ok, err)
	}
	if ok, err := tx.SIsMember(0, []byte("s"), []byte("m")); err != nil || !ok {
		t.Fatalf("SISMEMBER s m = %v %v", ok, err)
	}
	tx.Close()

	delKey(t, s, 0, "a")
	if _, ok := getString(t, s, 0, "a"); ok {
		t.Fatal("a deleted key reads back")
	}
	setString(t, s, 0, "a", "2")
	if v, _ := getString(t, s, 0, "a"); v != "2" {
		t.Fatalf("a written again = %q", v)
	}
}

// A small filter is filled again and again by a writer of short-lived keys, so it
// is rebuilt, with slow scans, while other writers write and read back their keys:
// no acknowledged key may read as missing, during a build, a swap or after it.
func TestKeyFilterRebuildsUnderWrites(t *testing.T) {
	s := openFilter(t, t.TempDir(), 4<<10) // 32k bits: half full after about 5,500 keys
	defer s.Close()
	waitFilterBuilds(t, s, 1)
	s.filter.scanStep = func() { // a slow scan, for writes to land meanwhile
		for t0 := time.Now(); time.Since(t0) < 2*time.Microsecond; {
		}
	}

	const writers, keys, keep = 4, 500, 300
	name := func(w, i int) []byte { return []byte(fmt.Sprintf("w%d:%d", w, i)) }
	write := func(k []byte, del bool) error {
		tx := s.Begin()
		defer tx.Close()
		if del {
			old, err := tx.Load(0, k)
			if err != nil {
				return err
			}
			tx.Delete(old)
		} else if _, err := tx.Set(0, k, k, SetOptions{}); err != nil {
			return err
		}
		return s.Commit(tx)
	}
	errs := make(chan error, writers+1)
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := []byte(fmt.Sprintf("churn:%d", i))
			if err := write(k, false); err != nil {
				errs <- err
				return
			}
			if err := write(k, true); err != nil {
				errs <- err
				return
			}
		}
	}()
	// Each writer goes on until the filter was rebuilt a few times (10s at most).
	written := make([]int, writers)
	deadline := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < keys || (s.KeyFilterStats().Builds < 4 && time.Now().Before(deadline)); i++ {
				written[w] = i + 1
				k := name(w, i)
				if err := write(k, false); err != nil {
					errs <- err
					return
				}
				tx := s.Begin()
				v, ok, err := tx.GetString(0, k)
				tx.Close()
				if err != nil || !ok || string(v) != string(k) {
					errs <- fmt.Errorf("%s read back right after its write: %q %v %v", k, v, ok, err)
					return
				}
				// Keep the last `keep` keys only, well below what the filter holds.
				if i >= keep {
					if err := write(name(w, i-keep), true); err != nil {
						errs <- err
						return
					}
				}
				time.Sleep(100 * time.Microsecond) // spread the writes over several builds
			}
		}()
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := s.KeyFilterStats(); st.Builds < 4 || st.Skipped != 0 {
		t.Fatalf("the test needs rebuilds: %+v", st)
	}
	for w := 0; w < writers; w++ {
		for i := 0; i < written[w]; i++ {
			v, ok := getString(t, s, 0, string(name(w, i)))
			if want := i >= written[w]-keep; ok != want || (ok && v != string(name(w, i))) {
				t.Fatalf("%s = %q %v, want it there: %v", name(w, i), v, ok, want)
			}
		}
	}
}

// A snapshot keeps the filter of its time: a key deleted after it, and so missing
// from a filter rebuilt since, still reads through the snapshot.
func TestKeyFilterSnapshotAcrossRebuild(t *testing.T) {
	s := openFilter(t, t.TempDir(), 1<<20)
	defer s.Close()
	waitFilterBuilds(t, s, 1)
	setString(t, s, 0, "a", "1")

	snap := s.Begin()
	defer snap.Close()
	snap.Snapshot()
	delKey(t, s, 0, "a")
	s.filter.rebuildAt.Store(0) // as if the filter had filled up
	s.filter.requestBuild()
	waitFilterBuilds(t, s, 2)
	if v, ok, err := snap.GetString(0, []byte("a")); err != nil || !ok || string(v) != "1" {
		t.Fatalf("a through the snapshot = %q %v %v", v, ok, err)
	}
	if _, ok := getString(t, s, 0, "a"); ok {
		t.Fatal("a deleted key reads back")
	}
}

// A transaction that only reads asks the key filter before the key cache, so a read
// of a missing key costs no cache lookup; one that may write asks the cache first and
// leaves the missing key remembered there, for the write that follows to keep cached.
func TestKeyFilterBeforeCacheForReads(t *testing.T) {
	o := DefaultOptions(t.TempDir())
	o.BlockCacheSize, o.WriteBufferSize, o.KeyFilterSize, o.KeyCacheSize = 1<<20, 1<<20, 1<<20, MinKeyCacheSize
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFilterBuilds(t, s, 1)
	setString(t, s, 0, "present", "1")
	queued := s.Begin() // written and still queued: read through the overlay
	if _, err := queued.Set(0, []byte("queued"), []byte("2"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	pend := s.Submit(queued)

	read := func(reading bool, k string) (string, bool) {
		tx := s.Begin()
		defer tx.Close()
		tx.ForRead(reading)
		v, ok, err := tx.GetString(0, []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		return string(v), ok
	}
	lookups := s.KeyCacheStats().Lookups
	for i := 0; i < 100; i++ {
		if _, ok := read(true, fmt.Sprintf("missing%d", i)); ok {
			t.Fatalf("missing%d exists", i)
		}
	}
	if v, ok := read(true, "present"); !ok || v != "1" {
		t.Fatalf("present = %q %v", v, ok)
	}
	if v, ok := read(true, "queued"); !ok || v != "2" {
		t.Fatalf("queued = %q %v before its write", v, ok)
	}
	if _, err := s.Wait(pend); err != nil {
		t.Fatal(err)
	}
	queued.Close()
	if v, ok := read(true, "queued"); !ok || v != "2" {
		t.Fatalf("queued = %q %v after its write", v, ok)
	}
	// present once or twice, and the few missing keys the filter takes for present.
	if n := s.KeyCacheStats().Lookups - lookups; n > 12 {
		t.Fatalf("reads asked the key cache %d times", n)
	}

	if _, ok := read(false, "missing0"); ok {
		t.Fatal("missing0 exists")
	}
	st := s.KeyCacheStats()
	if _, ok := read(false, "missing0"); ok {
		t.Fatal("missing0 exists")
	}
	if got := s.KeyCacheStats(); got.Lookups != st.Lookups+1 || got.Misses != st.Misses {
		t.Fatalf("a read that may write: lookups %d to %d, misses %d to %d; want one lookup, answered by the cache",
			st.Lookups, got.Lookups, st.Misses, got.Misses)
	}
}

// A write whose keys went into the old filter only, and which reaches RocksDB after a
// rebuild began, is in the rebuilt filter: the build waits for it before it takes the
// snapshot it scans, which would not hold the key yet.
func TestKeyFilterRebuildWaitsForWritesUnderWay(t *testing.T) {
	s := openFilter(t, t.TempDir(), 1<<20)
	defer s.Close()
	waitFilterBuilds(t, s, 1)

	added, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.filter.added = func() { once.Do(func() { close(added); <-release }) }
	committed := make(chan error, 1)
	go func() {
		tx := s.Begin()
		defer tx.Close()
		if _, err := tx.Set(0, []byte("late"), []byte("1"), SetOptions{}); err != nil {
			committed <- err
			return
		}
		committed <- s.Commit(tx)
	}()
	<-added // "late" is in the old filter, not in RocksDB

	s.filter.rebuildAt.Store(0) // as if the filter had filled up
	s.filter.requestBuild()
	deadline := time.Now().Add(10 * time.Second)
	for s.filter.next.Load() == nil && s.KeyFilterStats().Builds < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no rebuild began in 10s")
		}
		time.Sleep(time.Millisecond)
	}
	// A build that took its snapshot now would scan a RocksDB without "late".
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	waitFilterBuilds(t, s, 2)
	if v, ok := getString(t, s, 0, "late"); !ok || v != "1" {
		t.Fatalf("late = %q %v after the rebuild, want 1", v, ok)
	}
}

// Keys stored before a restart, or in a copy swapped in by a full sync, are in the
// filter built from the data, and reads of keys only the old data had find nothing.
func TestKeyFilterBuiltFromData(t *testing.T) {
	dir := t.TempDir()
	s := openFilter(t, dir, 1<<20)
	for i := 0; i < 1000; i++ {
		setString(t, s, 0, fmt.Sprintf("k%d", i), "v")
	}
	s.Close()

	s = openFilter(t, dir, 1<<20)
	defer s.Close()
	waitFilterBuilds(t, s, 1)
	for i := 0; i < 1000; i++ {
		if _, ok := getString(t, s, 0, fmt.Sprintf("k%d", i)); !ok {
			t.Fatalf("k%d is missing after a restart", i)
		}
	}

	master := openFilter(t, t.TempDir(), 1<<20)
	defer master.Close()
	setString(t, master, 0, "from-master", "m")
	cp := filepath.Join(t.TempDir(), "copy")
	if _, _, err := master.Checkpoint(cp); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceData(cp); err != nil {
		t.Fatal(err)
	}
	if v, ok := getString(t, s, 0, "from-master"); !ok || v != "m" {
		t.Fatalf("from-master right after the swap = %q %v", v, ok)
	}
	waitFilterBuilds(t, s, 2)
	if v, ok := getString(t, s, 0, "from-master"); !ok || v != "m" {
		t.Fatalf("from-master after the swap = %q %v", v, ok)
	}
	if _, ok := getString(t, s, 0, "k1"); ok {
		t.Fatal("a key of the data swapped out reads back")
	}
}

// A database with more keys than the filter is sized for is not scanned to the end:
// the filter stays off and every read goes to RocksDB.
func TestKeyFilterTooSmallForTheData(t *testing.T) {
	dir := t.TempDir()
	s := openFilter(t, dir, 0)
	for i := 0; i < 2000; i += 500 {
		tx := s.Begin()
		for j := i; j < i+500; j++ {
			tx.Set(0, []byte(fmt.Sprintf("k%d", j)), []byte("v"), SetOptions{})
		}
		if err := s.Commit(tx); err != nil {
			t.Fatal(err)
		}
		tx.Close()
	}
	s.Close()

	s = openFilter(t, dir, 512) // 4096 bits: a build gives up after 819 keys
	defer s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for s.KeyFilterStats().Skipped == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the build was not given up: %+v", s.KeyFilterStats())
		}
		time.Sleep(time.Millisecond)
	}
	if st := s.KeyFilterStats(); st.Ready || st.Builds != 0 {
		t.Fatalf("a filter too small for 2000 keys was built: %+v", st)
	}
	for i := 0; i < 2000; i++ {
		if _, ok := getString(t, s, 0, fmt.Sprintf("k%d", i)); !ok {
			t.Fatalf("k%d is missing", i)
		}
	}
	if _, ok := getString(t, s, 0, "nosuch"); ok {
		t.Fatal("nosuch exists")
	}
	if n := s.KeyFilterStats().Skips; n != 0 {
		t.Fatalf("a filter that was never built answered %d reads", n)
	}
}
