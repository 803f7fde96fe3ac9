package store

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

func dgExpire(tx *Tx, db int, key string, at int64) error {
	k, err := tx.Load(db, []byte(key))
	if err != nil || !k.Exists() {
		return err
	}
	k.Meta.ExpireAt = at
	tx.Save(k)
	return nil
}

func dgDel(tx *Tx, db int, keys ...string) error {
	for _, key := range keys {
		k, err := tx.Load(db, []byte(key))
		if err != nil {
			return err
		}
		tx.Delete(k)
	}
	return nil
}

func dgDigest(t testing.TB, s *Store, db int) string {
	t.Helper()
	d, err := s.Digest(db)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(d[:])
}

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// dgBuildDirect builds the reference data set in the plainest order.
func dgBuildDirect(t testing.TB, s *Store, db int, exp int64) {
	runTx(t, s, func(tx *Tx) error {
		if _, err := tx.Set(db, []byte("str"), []byte("value"), SetOptions{}); err != nil {
			return err
		}
		if _, err := tx.Set(db, []byte("ttl"), []byte("x"), SetOptions{ExpireAt: exp}); err != nil {
			return err
		}
		if _, err := tx.HSet(db, []byte("hash"), []FieldValue{{[]byte("a"), []byte("1")}, {[]byte("b"), []byte("2")}}); err != nil {
			return err
		}
		if _, err := tx.ListPush(db, []byte("list"), false, false, bs("x", "y", "z")...); err != nil {
			return err
		}
		if _, err := tx.SAdd(db, []byte("set"), bs("m1", "m2", "m3")); err != nil {
			return err
		}
		if _, err := tx.ZAdd(db, []byte("zset"), ZAddOptions{}, []ScoredMember{{[]byte("a"), 1.5}, {[]byte("b"), -2}, {[]byte("c"), 0}}); err != nil {
			return err
		}
		return dgExpire(tx, db, "hash", exp)
	})
}

// dgBuildWinding builds the same logical data through deletes, re-creations, pops and
// pushes on the other side, so versions, list indexes and write history all differ.
func dgBuildWinding(t testing.TB, s *Store, db int, exp int64) {
	runTx(t, s, func(tx *Tx) error {
		if _, err := tx.SAdd(db, []byte("hash"), bs("wrong type")); err != nil {
			return err
		}
		if _, err := tx.ZAdd(db, []byte("zset"), ZAddOptions{}, []ScoredMember{{[]byte("c"), 7}, {[]byte("gone"), 3}}); err != nil {
			return err
		}
		if _, err := tx.Set(db, []byte("str"), []byte("old"), SetOptions{ExpireAt: exp + 5000}); err != nil {
			return err
		}
		return nil
	})
	runTx(t, s, func(tx *Tx) error { return dgDel(tx, db, "hash", "zset") })
	runTx(t, s, func(tx *Tx) error {
		if _, err := tx.ListPush(db, []byte("list"), true, false, bs("y", "x")...); err != nil {
			return err
		}
		if _, err := tx.ListPush(db, []byte("list"), false, false, bs("z", "extra")...); err != nil {
			return err
		}
		if _, _, err := tx.ListPop(db, []byte("list"), false, 1); err != nil {
			return err
		}
		if _, err := tx.HSet(db, []byte("hash"), []FieldValue{{[]byte("b"), []byte("2")}, {[]byte("a"), []byte("0")}}); err != nil {
			return err
		}
		if _, err := tx.HSet(db, []byte("hash"), []FieldValue{{[]byte("a"), []byte("1")}}); err != nil {
			return err
		}
		if _, err := tx.SAdd(db, []byte("set"), bs("m3", "m2", "m1", "m0")); err != nil {
			return err
		}
		if _, err := tx.SRem(db, []byte("set"), bs("m0")); err != nil {
			return err
		}
		if _, err := tx.ZAdd(db, []byte("zset"), ZAddOptions{}, []ScoredMember{{[]byte("c"), 0}, {[]byte("b"), 5}, {[]byte("a"), 1.5}}); err != nil {
			return err
		}
		if _, err := tx.ZAdd(db, []byte("zset"), ZAddOptions{}, []ScoredMember{{[]byte("b"), -2}}); err != nil {
			return err
		}
		if _, err := tx.Set(db, []byte("str"), []byte("value"), SetOptions{}); err != nil {
			return err
		}
		if _, err := tx.Set(db, []byte("ttl"), []byte("x"), SetOptions{ExpireAt: exp}); err != nil {
			return err
		}
		// A key that is already expired is not part of the logical contents.
		if _, err := tx.Set(db, []byte("dead"), []byte("x"), SetOptions{ExpireAt: 1}); err != nil {
			return err
		}
		return dgExpire(tx, db, "hash", exp)
	})
}

func TestDigestIgnoresHistory(t *testing.T) {
	exp := time.Now().Add(time.Hour).UnixMilli()
	a := openTest(t, t.TempDir())
	b := openTest(t, t.TempDir())
	dgBuildDirect(t, a, 3, exp)
	dgBuildWinding(t, b, 5, exp)
	da, db := dgDigest(t, a, 3), dgDigest(t, b, 5)
	if da != db {
		t.Fatalf("same logical data, different digests: %s vs %s", da, db)
	}
	if len(da) != 40 {
		t.Fatalf("digest %q is not 40 hex digits", da)
	}
	// Empty databases digest to zeros, like Redis's DEBUG DIGEST.
	if z := dgDigest(t, a, 0); z != "0000000000000000000000000000000000000000" {
		t.Fatalf("empty digest %s", z)
	}
	// Every logical difference shows.
	changes := map[string]func(tx *Tx) error{
		"value": func(tx *Tx) error { _, err := tx.Set(3, []byte("str"), []byte("valuf"), SetOptions{}); return err },
		"ttl":   func(tx *Tx) error { return dgExpire(tx, 3, "ttl", exp+1) },
		"list order": func(tx *Tx) error {
			return tx.ListSet(3, []byte("list"), 0, []byte("y"))
		},
		"score": func(tx *Tx) error {
			_, err := tx.ZAdd(3, []byte("zset"), ZAddOptions{}, []ScoredMember{{[]byte("a"), 1.25}})
			return err
		},
		"hash field": func(tx *Tx) error {
			_, err := tx.HSet(3, []byte("hash"), []FieldValue{{[]byte("c"), nil}})
			return err
		},
		"set member": func(tx *Tx) error { _, err := tx.SAdd(3, []byte("set"), bs("m4")); return err },
		"type": func(tx *Tx) error {
			if err := dgDel(tx, 3, "set"); err != nil {
				return err
			}
			_, err := tx.ZAdd(3, []byte("set"), ZAddOptions{}, []ScoredMember{{[]byte("m1"), 0}, {[]byte("m2"), 0}, {[]byte("m3"), 0}})
			return err
		},
	}
	for name, f := range changes {
		t.Run(name, func(t *testing.T) {
			s := openTest(t, t.TempDir())
			dgBuildDirect(t, s, 3, exp)
			if d := dgDigest(t, s, 3); d != da {
				t.Fatalf("rebuilt digest %s, want %s", d, da)
			}
			runTx(t, s, f)
			if d := dgDigest(t, s, 3); d == da {
				t.Fatalf("digest did not change after a %s change", name)
			}
		})
	}
}

func TestDigestSeesTransactionWrites(t *testing.T) {
	s := openTest(t, t.TempDir())
	before := dgDigest(t, s, 0)
	tx := s.Begin()
	defer tx.Close()
	if _, err := tx.Set(0, []byte("k"), []byte("v"), SetOptions{}); err != nil {
		t.Fatal(err)
	}
	in, err := tx.Digest(0)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(in[:]) == before {
		t.Fatal("tx digest does not see the tx's write")
	}
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
	if after := dgDigest(t, s, 0); after != hex.EncodeToString(in[:]) {
		t.Fatalf("committed digest %s, in-tx digest %x", after, in)
	}
	if _, err := s.Digest(16); err == nil {
		t.Fatal("digest of db 16 accepted")
	}
}

func BenchmarkDigest(b *testing.B) {
	s := openTest(b, b.TempDir())
	for i := 0; i < 100; i++ {
		runTx(b, s, func(tx *Tx) error {
			for j := 0; j < 100; j++ {
				if _, err := tx.HSet(0, []byte(fmt.Sprintf("h%d", i)), []FieldValue{{[]byte(fmt.Sprint(j)), []byte("v")}}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dgDigest(b, s, 0)
	}
}
