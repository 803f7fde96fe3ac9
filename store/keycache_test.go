package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func cached(s *Store, key string) ([]byte, bool) {
	return s.keys.get(metaKey(0, []byte(key)))
}

// Writes go through to the cache, reads fill it, and what the cache answers is what
// RocksDB holds after every kind of change. The key filter is off: it would answer
// reads of missing keys before the cache.
func TestKeyCacheFollowsWrites(t *testing.T) {
	o := DefaultOptions(t.TempDir())
	o.BlockCacheSize, o.WriteBufferSize, o.KeyFilterSize = 1<<20, 1<<20, 0
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.keys == nil {
		t.Fatal("default options have no key cache")
	}

	setString(t, s, 0, "a", "1")
	if _, ok := cached(s, "a"); !ok {
		t.Fatal("a written key is not cached")
	}
	setString(t, s, 0, "a", "2")
	if v, _ := getString(t, s, 0, "a"); v != "2" {
		t.Fatalf("after overwrite: %q", v)
	}
	delKey(t, s, 0, "a")
	if v, ok := cached(s, "a"); !ok || v != nil {
		t.Fatalf("a deleted key is not cached as absent: %q %v", v, ok)
	}
	if _, ok := getString(t, s, 0, "a"); ok {
		t.Fatal("a deleted key reads back")
	}

	// A string too big for the cache replaces a cached small one.
	setString(t, s, 0, "b", "small")
	big := strings.Repeat("x", keyCacheMaxEntry+1)
	setString(t, s, 0, "b", big)
	if _, ok := cached(s, "b"); ok {
		t.Fatal("a value over the entry limit is cached")
	}
	if v, _ := getString(t, s, 0, "b"); v != big {
		t.Fatalf("big value read back with %d bytes", len(v))
	}

	// A read of a key the cache does not hold fills it.
	setString(t, s, 0, "c", "3")
	s.keys.reset()
	if v, _ := getString(t, s, 0, "c"); v != "3" {
		t.Fatalf("c = %q", v)
	}
	if v, ok := cached(s, "c"); !ok || string(v[len(v)-1:]) != "3" {
		t.Fatalf("a read did not fill the cache: %q %v", v, ok)
	}

	// A read of a missing key remembers that it is missing.
	if _, ok := getString(t, s, 0, "nosuch"); ok {
		t.Fatal("nosuch exists")
	}
	if v, ok := cached(s, "nosuch"); !ok || v != nil {
		t.Fatalf("a missing key read is not cached as absent: %q %v", v, ok)
	}
	setString(t, s, 0, "nosuch", "now")
	if v, _ := getString(t, s, 0, "nosuch"); v != "now" {
		t.Fatalf("a key cached as absent and then written reads %q", v)
	}

	// FLUSHDB is a range deletion: nothing cached survives it.
	runTx(t, s, func(tx *Tx) error { tx.FlushDB(0); return nil })
	if _, ok := cached(s, "c"); ok {
		t.Fatal("a key survived FLUSHDB in the cache")
	}
	if _, ok := getString(t, s, 0, "c"); ok {
		t.Fatal("a key survived FLUSHDB")
	}
}

// A read that raced with a write must not put what it read before the write into the
// cache.
func TestKeyCacheRejectsStaleFill(t *testing.T) {
	c := newKeyCache(MinKeyCacheSize)
	k := []byte("mkey")
	tok := c.token(k)                  // a read starts and finds "old" in RocksDB...
	c.written(k, []byte("new"), false) // ...while a write lands
	c.fill(tok, k, []byte("old"))
	if v, ok := c.get(k); ok {
		t.Fatalf("cache holds %q after a racing read of a key it did not hold", v)
	}
	c.fill(c.token(k), k, []byte("new")) // now cached
	tok = c.token(k)
	c.written(k, []byte("newer"), false)
	c.fill(tok, k, []byte("new"))
	if v, _ := c.get(k); string(v) != "newer" {
		t.Fatalf("cache holds %q after a racing read, want newer", v)
	}

	tok = c.token(k)
	c.reset()
	c.fill(tok, k, []byte("old"))
	if v, ok := c.get(k); ok {
		t.Fatalf("a read started before reset filled %q", v)
	}

	tok = c.token(k)
	c.fill(tok, k, []byte("fresh"))
	if v, _ := c.get(k); string(v) != "fresh" {
		t.Fatalf("an undisturbed read did not fill: %q", v)
	}
}

// Concurrent readers and writers of a few hot keys: every read sees a value some
// writer wrote at or after the last value its own client saw acknowledged.
func TestKeyCacheConcurrentCounters(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	const keys, writers, rounds = 4, 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := 0; w < writers; w++ {
		wg.Add(2)
		go func(w int) { // writer: INCR on every key
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				key := []byte(fmt.Sprintf("k%d", i%keys))
				unlock := s.LockKeys(0, key) // as every read-modify-write command does
				tx := s.Begin()
				_, err := tx.IncrBy(0, key, 1)
				if err == nil {
					err = s.Commit(tx)
				}
				tx.Close()
				unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
		go func() { // reader: counters never go backwards
			defer wg.Done()
			var last [keys]int
			for i := 0; i < rounds; i++ {
				k := i % keys
				tx := s.Begin()
				v, _, err := tx.GetString(0, []byte(fmt.Sprintf("k%d", k)))
				tx.Close()
				if err != nil {
					errs <- err
					return
				}
				var n int
				if len(v) > 0 {
					fmt.Sscan(string(v), &n)
				}
				if n < last[k] {
					errs <- fmt.Errorf("k%d went back from %d to %d", k, last[k], n)
					return
				}
				last[k] = n
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for k := 0; k < keys; k++ {
		v, _ := getString(t, s, 0, fmt.Sprintf("k%d", k))
		var n int
		fmt.Sscan(v, &n)
		total += n
		s.keys.reset()
		if v2, _ := getString(t, s, 0, fmt.Sprintf("k%d", k)); v2 != v {
			t.Fatalf("k%d: cache said %s, RocksDB says %s", k, v, v2)
		}
	}
	if total != writers*rounds {
		t.Fatalf("counters add up to %d, want %d", total, writers*rounds)
	}
}

// A full copy swapped in (a follower's full sync) replaces what the cache held.
func TestKeyCacheReplaceData(t *testing.T) {
	master := openSmall(t, t.TempDir())
	defer master.Close()
	setString(t, master, 0, "k", "from-master")
	cp := filepath.Join(t.TempDir(), "copy")
	if _, _, err := master.Checkpoint(cp); err != nil {
		t.Fatal(err)
	}

	s := openSmall(t, t.TempDir())
	defer s.Close()
	setString(t, s, 0, "k", "local")
	if v, _ := getString(t, s, 0, "k"); v != "local" {
		t.Fatalf("k = %q", v)
	}
	if err := s.ReplaceData(cp); err != nil {
		t.Fatal(err)
	}
	if v, _ := getString(t, s, 0, "k"); v != "from-master" {
		t.Fatalf("after the swap k = %q, want from-master", v)
	}
}

// Without a cache the store reads RocksDB directly.
func TestKeyCacheOff(t *testing.T) {
	o := DefaultOptions(t.TempDir())
	o.KeyCacheSize = 0
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.keys != nil {
		t.Fatal("KeyCacheSize 0 still made a cache")
	}
	setString(t, s, 0, "a", "1")
	if v, _ := getString(t, s, 0, "a"); !bytes.Equal([]byte(v), []byte("1")) {
		t.Fatalf("a = %q", v)
	}
}
