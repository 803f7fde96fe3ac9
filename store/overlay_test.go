package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// An iterator merges RocksDB, the queued writes of other transactions and its own
// transaction's writes, newest first, in both directions, turning at any point.
func TestIteratorMergesQueuedWrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix []byte // every key is prefix + 2 bytes
	}{
		{"collection", memberPrefix(prefixMember, 0, []byte("h"), 7)},
		{"metadata", []byte{prefixMeta, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSmall(t, t.TempDir())
			defer s.Close()
			rng := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
			key := func() []byte { return append(bytes.Clone(tc.prefix), 'a'+byte(rng.IntN(4)), 'a'+byte(rng.IntN(6))) }
			model := map[string]string{}
			write := func(tx *Tx, n int, tag string) {
				for i := 0; i < n; i++ {
					k := key()
					if rng.IntN(3) == 0 {
						tx.del(k)
						delete(model, string(k))
					} else {
						v := fmt.Sprintf("%s%d", tag, i)
						tx.put(k, []byte(v))
						model[string(k)] = v
					}
				}
			}
			for round := 0; round < 40; round++ {
				func() {
					base := s.Begin()
					write(base, 12, "b")
					if err := s.Commit(base); err != nil {
						t.Fatal(err)
					}
					base.Close()
					queued := s.Begin()
					write(queued, 8, "q")
					p := s.Submit(queued)
					tx := s.Begin()
					write(tx, 4, "t")
					keys := make([]string, 0, len(model))
					for k := range model {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					lower, upper := tc.prefix, prefixEnd(tc.prefix)
					it := tx.iter(lower, upper)
					open := true
					defer func() {
						if open {
							it.Close() // a failed check must not leave it open when the store closes
						}
					}()
					pos := -1 // index into keys; -1 or len: invalid
					check := func(op string) {
						t.Helper()
						valid := pos >= 0 && pos < len(keys)
						if it.Valid() != valid {
							t.Fatalf("round %d after %s: valid %v, want %v (pos %d of %d)", round, op, it.Valid(), valid, pos, len(keys))
						}
						if valid && (string(it.Key()) != keys[pos] || string(it.Value()) != model[keys[pos]]) {
							t.Fatalf("round %d after %s: at %q=%q, want %q=%q", round, op, it.Key(), it.Value(), keys[pos], model[keys[pos]])
						}
					}
					for step := 0; step < 30; step++ {
						switch r := rng.IntN(6); {
						case r == 0:
							k := key()
							it.Seek(k)
							pos, _ = slices.BinarySearch(keys, string(k))
							check(fmt.Sprintf("Seek(%q)", k))
						case r == 1:
							k := key()
							it.SeekForPrev(k)
							i, found := slices.BinarySearch(keys, string(k))
							if !found {
								i--
							}
							pos = i
							check(fmt.Sprintf("SeekForPrev(%q)", k))
						case r == 2 && step%5 == 0:
							it.SeekFirst()
							pos = 0
							check("SeekFirst")
						case r == 2:
							it.SeekLast()
							pos = len(keys) - 1
							check("SeekLast")
						case pos >= 0 && pos < len(keys) && r%2 == 1:
							it.Next()
							pos++
							check("Next")
						case pos >= 0 && pos < len(keys):
							it.Prev()
							pos--
							check("Prev")
						}
					}
					if err := it.Err(); err != nil {
						t.Fatal(err)
					}
					it.Close()
					open = false
					select {
					case <-p.done:
						t.Fatal("the iterator waited for the queued transaction")
					default:
					}
					if _, err := s.Wait(p); err != nil {
						t.Fatal(err)
					}
					queued.Close()
					if err := s.Commit(tx); err != nil {
						t.Fatal(err)
					}
					tx.Close()
				}()
			}
		})
	}
}
