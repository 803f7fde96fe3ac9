package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
)

// value derives a key's incompressible value from its index, so the test can check
// what it reads without keeping the dataset in memory.
func largeValue(i int, size int) []byte {
	r := rand.New(rand.NewSource(int64(i)))
	b := make([]byte, size)
	r.Read(b)
	return b
}

func rssBytes(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(data))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// A dataset three times the block cache reads back intact, and memory stays near the
// configured budget instead of growing with the data.
func TestDatasetLargerThanBlockCache(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~100MB")
	}
	const cache = 16 << 20
	const valSize = 1024
	const n = 3 * cache / valSize * 2 // 96MB of values: six times the cache
	o := DefaultOptions(t.TempDir())
	o.BlockCacheSize = cache
	o.WriteBufferSize = 8 << 20
	o.KeyCacheSize = MinKeyCacheSize
	o.MaxWriteBuffers = 2
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := rssBytes(t)
	for i := 0; i < n; i += 500 {
		tx := s.Begin()
		for j := i; j < i+500 && j < n; j++ {
			tx.Set(0, []byte(fmt.Sprintf("key:%08d", j)), largeValue(j, valSize), SetOptions{})
		}
		if err := s.Commit(tx); err != nil {
			t.Fatal(err)
		}
		tx.Close()
	}
	// Also a large hash, read back member by member.
	tx := s.Begin()
	h, _ := tx.Create(0, []byte("bighash"), TypeHash)
	for j := 0; j < 20000; j++ {
		var m [4]byte
		binary.BigEndian.PutUint32(m[:], uint32(j))
		tx.putMember(h, m[:], largeValue(j, 64))
		h.Meta.Count++
	}
	tx.Save(h)
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	tx.Close()

	order := rand.Perm(n)
	for _, i := range order {
		tx := s.Begin()
		v, ok, err := tx.GetString(0, []byte(fmt.Sprintf("key:%08d", i)))
		tx.Close()
		if err != nil || !ok || !bytes.Equal(v, largeValue(i, valSize)) {
			t.Fatalf("key %d read back wrong (ok=%v err=%v)", i, ok, err)
		}
	}
	tx = s.Begin()
	h, _ = tx.LoadType(0, []byte("bighash"), TypeHash)
	it := tx.members(h)
	count := 0
	sum := fnv.New64()
	for it.SeekFirst(); it.Valid(); it.Next() {
		j := int(binary.BigEndian.Uint32(memberName(h, it.Key())))
		if !bytes.Equal(it.Value(), largeValue(j, 64)) {
			t.Fatalf("hash member %d read back wrong", j)
		}
		sum.Write(it.Value())
		count++
	}
	it.Close()
	tx.Close()
	if count != 20000 || h.Meta.Count != 20000 {
		t.Fatalf("hash has %d members, meta says %d", count, h.Meta.Count)
	}
	if s.DBSize(0) != n+1 {
		t.Fatalf("dbsize %d", s.DBSize(0))
	}
	grown := rssBytes(t) - base
	// Budget: block cache + memtables + key cache + key filter + slack for the Go heap
	// and RocksDB's own state.
	budget := int64(cache+2*(8<<20)+MinKeyCacheSize+64<<20) + o.KeyFilterSize
	t.Logf("data %d MB, RSS grew %d MB (budget %d MB)", n*valSize>>20, grown>>20, budget>>20)
	if grown > budget {
		t.Fatalf("RSS grew %d MB for %d MB of data: memory is not bounded by the configuration", grown>>20, n*valSize>>20)
	}
}
