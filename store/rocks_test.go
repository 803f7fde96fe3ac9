package store

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/linxGnu/grocksdb"
)

// SST files keep their index and bloom filter in small partitions: a whole-file filter of
// a large file can be bigger than a block cache shard, and RocksDB drops such a block
// right after each use, so every lookup would read it from the file again (ZADD into a
// 700k-member set fell from 84k/s to 7k/s with a 16MB cache before this).
func TestTablesUsePartitionedIndexAndFilters(t *testing.T) {
	s := openTest(t, t.TempDir())
	tx := s.Begin()
	for i := 0; i < 20000; i++ {
		if _, err := tx.Set(0, []byte(fmt.Sprintf("key:%08d", i)), []byte("value"), SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	tx.Close()
	fo := grocksdb.NewDefaultFlushOptions()
	defer fo.Destroy()
	fo.SetWait(true)
	if err := s.db.Flush(fo); err != nil {
		t.Fatal(err)
	}
	props := s.db.GetProperty("rocksdb.aggregated-table-properties")
	m := regexp.MustCompile(`# index partitions=(\d+)`).FindStringSubmatch(props)
	if m == nil {
		t.Fatalf("no index partitions in the table properties: %s", props)
	}
	if n, _ := strconv.Atoi(m[1]); n < 2 {
		t.Fatalf("%s index partitions for 20000 keys, want several: %s", m[1], props)
	}
	for i := 0; i < 20000; i += 997 {
		if v, ok := getString(t, s, 0, fmt.Sprintf("key:%08d", i)); !ok || v != "value" {
			t.Fatalf("key:%08d = %q, %v", i, v, ok)
		}
	}
	if _, ok := getString(t, s, 0, "key:missing"); ok {
		t.Fatal("a missing key was found")
	}
}
