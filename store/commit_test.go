package store

import (
	"bytes"
	"strconv"
	"testing"
)

// A group write puts each key in RocksDB once, with the value of the group's last
// transaction that wrote it; a write that a transaction queued after the group
// supersedes still goes in with its group.
func TestGroupWritesLastOfEachKey(t *testing.T) {
	s := openTest(t, t.TempDir())
	setString(t, s, 0, "k", "v0") // from here on no write changes the key count
	entries := func() int {
		n, err := strconv.Atoi(s.Property("rocksdb.num-entries-active-mem-table"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	submit := func(vs ...string) []*Pending {
		var ps []*Pending
		for _, v := range vs {
			tx := s.Begin()
			t.Cleanup(tx.Close)
			if _, err := tx.Set(0, []byte("k"), []byte(v), SetOptions{}); err != nil {
				t.Fatal(err)
			}
			ps = append(ps, s.Submit(tx))
		}
		return ps
	}
	wait := func(ps []*Pending) {
		for _, p := range ps {
			if _, err := s.Wait(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	groups := s.stats.Groups.Load()
	before := entries()
	wait(submit("v1"))
	one := entries() - before
	before += one
	wait(submit("v2", "v3", "v4"))
	three := entries() - before
	if n := s.stats.Groups.Load() - groups; n != 2 {
		t.Fatalf("%d group writes, want 2", n)
	}
	if three != one {
		t.Fatalf("a group of three writes of one key added %d memtable entries, a group of one %d", three, one)
	}
	if v, _ := getString(t, s, 0, "k"); v != "v4" {
		t.Fatalf("k = %q, want v4", v)
	}

	ps := submit("v5", "v6")
	rep := newBatchRep(4)
	s.addGroupOps(rep, ps[:1])
	var vals []string
	for b := rep.bytes()[12:]; len(b) > 0; {
		var k, v []byte
		_, k, v, b = repEntry(b)
		if bytes.Equal(k, metaKey(0, []byte("k"))) {
			vals = append(vals, string(v))
		}
	}
	if len(vals) != 1 || !bytes.Contains([]byte(vals[0]), []byte("v5")) {
		t.Fatalf("group of the first of two writes puts k as %q, want v5 once", vals)
	}
	wait(ps)
	if v, _ := getString(t, s, 0, "k"); v != "v6" {
		t.Fatalf("k = %q, want v6", v)
	}
}
