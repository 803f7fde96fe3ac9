package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/linxGnu/grocksdb"
)

// Helpers of this file are prefixed lst so they cannot clash with other type tests.

func lstStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func lstPush(t testing.TB, s *Store, key string, left bool, vals ...string) int64 {
	t.Helper()
	var n int64
	runTx(t, s, func(tx *Tx) error {
		var err error
		n, err = tx.ListPush(0, []byte(key), left, false, bytesOf(vals...)...)
		return err
	})
	return n
}

// lstAll returns the whole list through ListRange.
func lstAll(t testing.TB, s *Store, key string) []string {
	t.Helper()
	var out []string
	runTx(t, s, func(tx *Tx) error {
		vals, _, err := tx.ListRange(0, []byte(key), 0, -1)
		out = lstStrings(vals)
		return err
	})
	return out
}

// lstRecords counts the element records stored for key under any version: after a
// commit it must equal the list's length (no leaked elements).
func lstRecords(t testing.TB, s *Store, key string) int {
	t.Helper()
	p := keyPrefix(prefixMember, 0, []byte(key))
	tx := s.Begin()
	defer tx.Close()
	it := tx.iter(p, prefixEnd(p))
	defer it.Close()
	n := 0
	for it.SeekFirst(); it.Valid(); it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func lstMeta(t testing.TB, s *Store, key string) Meta {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	k, err := tx.Load(0, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return k.Meta
}

// lstCheck asserts the list at key holds exactly want, with an exact count, consistent
// Head/Tail and no stray element records.
func lstCheck(t testing.TB, s *Store, key string, want []string) {
	t.Helper()
	got := lstAll(t, s, key)
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", key, got, want)
	}
	m := lstMeta(t, s, key)
	if len(want) == 0 {
		if m.Type != TypeNone {
			t.Fatalf("%s: empty list still stored: %+v", key, m)
		}
	} else if m.Type != TypeList || m.Count != uint64(len(want)) || m.Tail-m.Head != m.Count {
		t.Fatalf("%s: meta %+v for %d elements", key, m, len(want))
	}
	if n := lstRecords(t, s, key); n != len(want) {
		t.Fatalf("%s: %d element records stored for %d elements", key, n, len(want))
	}
}

func TestListPushPopBothEnds(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	if n := lstPush(t, s, "l", false, "c", "d"); n != 2 {
		t.Fatalf("rpush = %d", n)
	}
	if n := lstPush(t, s, "l", true, "b", "a"); n != 4 {
		t.Fatalf("lpush = %d", n)
	}
	if n := lstPush(t, s, "l", false, "", "e"); n != 6 {
		t.Fatalf("rpush = %d", n)
	}
	lstCheck(t, s, "l", []string{"a", "b", "c", "d", "", "e"})
	m := lstMeta(t, s, "l")
	if m.Head != listMid-2 || m.Tail != listMid+4 {
		t.Fatalf("head/tail = %d/%d around listMid", int64(m.Head-listMid), int64(m.Tail-listMid))
	}
	runTx(t, s, func(tx *Tx) error {
		n, err := tx.ListLen(0, []byte("l"))
		if err != nil || n != 6 {
			t.Fatalf("llen = %d %v", n, err)
		}
		v, ex, err := tx.ListPop(0, []byte("l"), true, 1)
		if err != nil || !ex || !slices.Equal(lstStrings(v), []string{"a"}) {
			t.Fatalf("lpop = %q %v %v", v, ex, err)
		}
		v, ex, err = tx.ListPop(0, []byte("l"), false, 2)
		if err != nil || !ex || !slices.Equal(lstStrings(v), []string{"e", ""}) {
			t.Fatalf("rpop 2 = %q %v %v", v, ex, err)
		}
		v, ex, err = tx.ListPop(0, []byte("l"), false, 0)
		if err != nil || !ex || v == nil || len(v) != 0 {
			t.Fatalf("rpop 0 = %q %v %v", v, ex, err)
		}
		return nil
	})
	lstCheck(t, s, "l", []string{"b", "c", "d"})
	// Pushes only when the list exists.
	runTx(t, s, func(tx *Tx) error {
		if n, err := tx.ListPush(0, []byte("none"), true, true, []byte("x")); n != 0 || err != nil {
			t.Fatalf("lpushx missing = %d %v", n, err)
		}
		if n, err := tx.ListPush(0, []byte("l"), false, true, []byte("x"), []byte("y")); n != 5 || err != nil {
			t.Fatalf("rpushx = %d %v", n, err)
		}
		return nil
	})
	lstCheck(t, s, "none", nil)
	lstCheck(t, s, "l", []string{"b", "c", "d", "x", "y"})
	// Popping more than there is empties and deletes the list.
	runTx(t, s, func(tx *Tx) error {
		v, ex, err := tx.ListPop(0, []byte("l"), true, 100)
		if err != nil || !ex || !slices.Equal(lstStrings(v), []string{"b", "c", "d", "x", "y"}) {
			t.Fatalf("lpop 100 = %q %v %v", v, ex, err)
		}
		v, ex, err = tx.ListPop(0, []byte("l"), true, 1)
		if err != nil || ex || v != nil {
			t.Fatalf("pop after empty = %q %v %v", v, ex, err)
		}
		return nil
	})
	lstCheck(t, s, "l", nil)
	if n := s.DBSize(0); n != 0 {
		t.Fatalf("dbsize after emptying = %d", n)
	}
}

func TestListRangeNegativeIndexes(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	want := []string{"0", "1", "2", "3", "4", "5", "6"}
	lstPush(t, s, "l", false, want[3:]...)
	lstPush(t, s, "l", true, "2", "1", "0")
	n := int64(len(want))
	ref := func(start, stop int64) []string {
		if start < 0 {
			start += n
		}
		if stop < 0 {
			stop += n
		}
		start = max(start, 0)
		stop = min(stop, n-1)
		if start > stop {
			return []string{}
		}
		return want[start : stop+1]
	}
	tx := s.Begin()
	defer tx.Close()
	for start := -n - 3; start <= n+3; start++ {
		for stop := -n - 3; stop <= n+3; stop++ {
			got, ex, err := tx.ListRange(0, []byte("l"), start, stop)
			if err != nil || !ex {
				t.Fatalf("lrange %d %d: %v %v", start, stop, ex, err)
			}
			if !slices.Equal(lstStrings(got), ref(start, stop)) {
				t.Fatalf("lrange %d %d = %q, want %q", start, stop, got, ref(start, stop))
			}
		}
		v, ex, err := tx.ListIndex(0, []byte("l"), start)
		if err != nil || !ex {
			t.Fatalf("lindex %d: %v %v", start, ex, err)
		}
		i := start
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			if v != nil {
				t.Fatalf("lindex %d = %q, want nil", start, v)
			}
		} else if string(v) != want[i] {
			t.Fatalf("lindex %d = %q, want %q", start, v, want[i])
		}
	}
	got, ex, err := tx.ListRange(0, []byte("missing"), 0, -1)
	if err != nil || ex || got == nil || len(got) != 0 {
		t.Fatalf("lrange missing = %q %v %v", got, ex, err)
	}
	if v, ex, err := tx.ListIndex(0, []byte("missing"), 0); v != nil || ex || err != nil {
		t.Fatalf("lindex missing = %q %v %v", v, ex, err)
	}
	// Extreme indexes must not overflow.
	for _, r := range [][2]int64{{-1 << 63, 1<<63 - 1}, {1<<63 - 1, -1 << 63}, {-1 << 63, -1 << 63}} {
		got, _, err := tx.ListRange(0, []byte("l"), r[0], r[1])
		if err != nil || !slices.Equal(lstStrings(got), ref(max(r[0], -100), min(r[1], 100))) {
			t.Fatalf("lrange %d %d = %q %v", r[0], r[1], got, err)
		}
	}
}

func TestListSetAndErrors(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	lstPush(t, s, "l", false, "a", "b", "c")
	runTx(t, s, func(tx *Tx) error {
		if err := tx.ListSet(0, []byte("l"), -1, []byte("C")); err != nil {
			t.Fatalf("lset -1: %v", err)
		}
		if err := tx.ListSet(0, []byte("l"), 0, []byte("A")); err != nil {
			t.Fatalf("lset 0: %v", err)
		}
		if err := tx.ListSet(0, []byte("l"), 3, []byte("x")); !errors.Is(err, ErrIndexOutOfRange) {
			t.Fatalf("lset 3: %v", err)
		}
		if err := tx.ListSet(0, []byte("l"), -4, []byte("x")); !errors.Is(err, ErrIndexOutOfRange) {
			t.Fatalf("lset -4: %v", err)
		}
		if err := tx.ListSet(0, []byte("nokey"), 0, []byte("x")); !errors.Is(err, ErrNoSuchKey) {
			t.Fatalf("lset missing: %v", err)
		}
		return nil
	})
	lstCheck(t, s, "l", []string{"A", "b", "C"})

	runTx(t, s, func(tx *Tx) error {
		_, err := tx.Set(0, []byte("str"), []byte("v"), SetOptions{})
		return err
	})
	str := []byte("str")
	runTx(t, s, func(tx *Tx) error {
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, ErrWrongType) {
				t.Fatalf("%s on a string: %v", what, err)
			}
		}
		_, err := tx.ListPush(0, str, true, false, []byte("x"))
		check("lpush", err)
		_, err = tx.ListPush(0, str, false, true, []byte("x"))
		check("rpushx", err)
		_, _, err = tx.ListPop(0, str, true, 1)
		check("lpop", err)
		_, err = tx.ListLen(0, str)
		check("llen", err)
		_, _, err = tx.ListRange(0, str, 0, -1)
		check("lrange", err)
		_, _, err = tx.ListIndex(0, str, 0)
		check("lindex", err)
		check("lset", tx.ListSet(0, str, 0, []byte("x")))
		_, err = tx.ListInsert(0, str, true, []byte("a"), []byte("b"))
		check("linsert", err)
		_, err = tx.ListRem(0, str, 0, []byte("a"))
		check("lrem", err)
		check("ltrim", tx.ListTrim(0, str, 0, 1))
		_, _, err = tx.ListMove(0, str, []byte("l"), true, true)
		check("lmove src", err)
		_, _, err = tx.ListMove(0, []byte("l"), str, true, true)
		check("lmove dst", err)
		_, _, err = tx.ListPos(0, str, []byte("a"), 1, 1, 0)
		check("lpos", err)
		return nil
	})
	// A failed LMOVE to a string changed nothing.
	lstCheck(t, s, "l", []string{"A", "b", "C"})
}

func TestListInsert(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	lstPush(t, s, "l", false, "a", "b", "c", "d", "e")
	ins := func(after bool, pivot, val string) int64 {
		var n int64
		runTx(t, s, func(tx *Tx) error {
			var err error
			n, err = tx.ListInsert(0, []byte("l"), after, []byte(pivot), []byte(val))
			return err
		})
		return n
	}
	if n := ins(false, "b", "B"); n != 6 { // near the head: the head side shifts
		t.Fatalf("linsert = %d", n)
	}
	if n := ins(true, "d", "D"); n != 7 { // near the tail: the tail side shifts
		t.Fatalf("linsert = %d", n)
	}
	if n := ins(false, "a", "0"); n != 8 {
		t.Fatalf("linsert = %d", n)
	}
	if n := ins(true, "e", "9"); n != 9 {
		t.Fatalf("linsert = %d", n)
	}
	if n := ins(true, "nope", "x"); n != -1 {
		t.Fatalf("linsert missing pivot = %d", n)
	}
	lstCheck(t, s, "l", []string{"0", "a", "B", "b", "c", "d", "D", "e", "9"})
	var n int64
	runTx(t, s, func(tx *Tx) error {
		var err error
		n, err = tx.ListInsert(0, []byte("nokey"), true, []byte("a"), []byte("b"))
		return err
	})
	if n != 0 {
		t.Fatalf("linsert on missing key = %d", n)
	}
	lstCheck(t, s, "nokey", nil)
}

func TestListRemAndTrim(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	lstPush(t, s, "l", false, "a", "x", "b", "x", "c", "x", "d", "x")
	rem := func(count int64, val string) int64 {
		var n int64
		runTx(t, s, func(tx *Tx) error {
			var err error
			n, err = tx.ListRem(0, []byte("l"), count, []byte(val))
			return err
		})
		return n
	}
	if n := rem(1, "x"); n != 1 {
		t.Fatalf("lrem 1 = %d", n)
	}
	lstCheck(t, s, "l", []string{"a", "b", "x", "c", "x", "d", "x"})
	if n := rem(-2, "x"); n != 2 {
		t.Fatalf("lrem -2 = %d", n)
	}
	lstCheck(t, s, "l", []string{"a", "b", "x", "c", "d"})
	if n := rem(0, "zz"); n != 0 {
		t.Fatalf("lrem absent = %d", n)
	}
	if n := rem(0, "x"); n != 1 {
		t.Fatalf("lrem 0 = %d", n)
	}
	lstCheck(t, s, "l", []string{"a", "b", "c", "d"})

	trim := func(start, stop int64) {
		runTx(t, s, func(tx *Tx) error { return tx.ListTrim(0, []byte("l"), start, stop) })
	}
	trim(1, -2)
	lstCheck(t, s, "l", []string{"b", "c"})
	m := lstMeta(t, s, "l")
	trim(0, 100)
	if m2 := lstMeta(t, s, "l"); m2.Head != m.Head || m2.Tail != m.Tail || m2.Version != m.Version || m2.Count != m.Count {
		t.Fatalf("ltrim covering everything changed the metadata: %+v -> %+v", m, m2)
	}
	lstPush(t, s, "l", true, "a")
	lstPush(t, s, "l", false, "d")
	lstCheck(t, s, "l", []string{"a", "b", "c", "d"})
	trim(-1, -1)
	lstCheck(t, s, "l", []string{"d"})
	trim(5, 10)
	lstCheck(t, s, "l", nil)
	runTx(t, s, func(tx *Tx) error { return tx.ListTrim(0, []byte("l"), 0, 1) }) // missing: no-op

	// Removing every element deletes the list.
	lstPush(t, s, "l", false, "x", "x")
	if n := rem(0, "x"); n != 2 {
		t.Fatalf("lrem all = %d", n)
	}
	lstCheck(t, s, "l", nil)
}

func TestListMoveAndPos(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	move := func(src, dst string, sl, dl bool) (string, bool) {
		var v []byte
		var ok bool
		runTx(t, s, func(tx *Tx) error {
			var err error
			v, ok, err = tx.ListMove(0, []byte(src), []byte(dst), sl, dl)
			return err
		})
		return string(v), ok
	}
	lstPush(t, s, "src", false, "a", "b", "c")
	if v, ok := move("src", "dst", false, true); !ok || v != "c" {
		t.Fatalf("rpoplpush = %q %v", v, ok)
	}
	if v, ok := move("src", "dst", true, false); !ok || v != "a" {
		t.Fatalf("lmove left right = %q %v", v, ok)
	}
	lstCheck(t, s, "src", []string{"b"})
	lstCheck(t, s, "dst", []string{"c", "a"})
	// Rotating a list onto itself, including a one-element list.
	if v, ok := move("dst", "dst", true, false); !ok || v != "c" {
		t.Fatalf("rotate = %q %v", v, ok)
	}
	lstCheck(t, s, "dst", []string{"a", "c"})
	if v, ok := move("src", "src", false, true); !ok || v != "b" {
		t.Fatalf("rotate single = %q %v", v, ok)
	}
	lstCheck(t, s, "src", []string{"b"})
	if v, ok := move("src", "src", true, true); !ok || v != "b" {
		t.Fatalf("move to the same end = %q %v", v, ok)
	}
	lstCheck(t, s, "src", []string{"b"})
	// The last element moves out: the source is deleted.
	if v, ok := move("src", "dst", true, true); !ok || v != "b" {
		t.Fatalf("lmove last = %q %v", v, ok)
	}
	lstCheck(t, s, "src", nil)
	lstCheck(t, s, "dst", []string{"b", "a", "c"})
	if _, ok := move("src", "dst", true, true); ok {
		t.Fatal("lmove from a missing list moved something")
	}

	lstPush(t, s, "p", false, "a", "b", "c", "1", "2", "3", "c", "c")
	pos := func(val string, rank, count, maxlen int64) []int64 {
		var out []int64
		runTx(t, s, func(tx *Tx) error {
			var err error
			out, _, err = tx.ListPos(0, []byte("p"), []byte(val), rank, count, maxlen)
			return err
		})
		return out
	}
	cases := []struct {
		val                 string
		rank, count, maxlen int64
		want                []int64
	}{
		{"c", 1, 1, 0, []int64{2}},
		{"c", 2, 1, 0, []int64{6}},
		{"c", -1, 1, 0, []int64{7}},
		{"c", -2, 1, 0, []int64{6}},
		{"c", 1, 0, 0, []int64{2, 6, 7}},
		{"c", 2, 0, 0, []int64{6, 7}},
		{"c", -1, 2, 0, []int64{7, 6}},
		{"c", 1, 0, 3, []int64{2}},
		{"c", 1, 0, 2, nil},
		{"c", -1, 0, 2, []int64{7, 6}},
		{"c", 4, 0, 0, nil},
		{"z", 1, 0, 0, nil},
	}
	for _, c := range cases {
		if got := pos(c.val, c.rank, c.count, c.maxlen); !slices.Equal(got, c.want) {
			t.Fatalf("lpos %s rank %d count %d maxlen %d = %v, want %v", c.val, c.rank, c.count, c.maxlen, got, c.want)
		}
	}
}

func TestListRecreatedShowsNoOldElements(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	lstPush(t, s, "l", false, "old1", "old2", "old3")
	// Emptied by pops, then re-created.
	runTx(t, s, func(tx *Tx) error {
		_, _, err := tx.ListPop(0, []byte("l"), true, 3)
		return err
	})
	lstPush(t, s, "l", false, "new")
	lstCheck(t, s, "l", []string{"new"})
	runTx(t, s, func(tx *Tx) error {
		if v, _, err := tx.ListIndex(0, []byte("l"), 1); v != nil || err != nil {
			t.Fatalf("lindex past the end = %q %v", v, err)
		}
		return nil
	})
	// Deleted, then re-created in the same transaction.
	runTx(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("l"))
		if err != nil {
			return err
		}
		tx.Delete(k)
		_, err = tx.ListPush(0, []byte("l"), true, false, []byte("newer"))
		return err
	})
	lstCheck(t, s, "l", []string{"newer"})
	// Overwritten by a string, then a list again.
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.Set(0, []byte("l"), []byte("s"), SetOptions{})
		return err
	})
	if m := lstMeta(t, s, "l"); m.Type != TypeString {
		t.Fatalf("after SET: %+v", m)
	}
	if n := lstRecords(t, s, "l"); n != 0 {
		t.Fatalf("SET over a list left %d element records", n)
	}
	runTx(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("l"))
		if err != nil {
			return err
		}
		if !tx.Delete(k) {
			t.Fatal("string not deleted")
		}
		return nil
	})
	lstPush(t, s, "l", true, "fresh")
	lstCheck(t, s, "l", []string{"fresh"})
	// Expired, then pushed to: a new, empty list.
	runTx(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("l"))
		if err != nil {
			return err
		}
		k.Meta.ExpireAt = tx.Now() - 1
		tx.Save(k)
		return nil
	})
	if n := lstPush(t, s, "l", false, "after-expiry"); n != 1 {
		t.Fatalf("push onto expired list = %d", n)
	}
	lstCheck(t, s, "l", []string{"after-expiry"})
}

func TestListSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := openSmall(t, dir)
	lstPush(t, s, "l", false, "c", "d")
	lstPush(t, s, "l", true, "b", "a")
	runTx(t, s, func(tx *Tx) error {
		_, err := tx.ListInsert(0, []byte("l"), true, []byte("b"), []byte("bb"))
		return err
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSmall(t, dir)
	defer s.Close()
	lstCheck(t, s, "l", []string{"a", "b", "bb", "c", "d"})
	lstPush(t, s, "l", true, "z")
	lstCheck(t, s, "l", []string{"z", "a", "b", "bb", "c", "d"})
}

// TestListAgainstModel runs random operations against a slice model, with sizes that
// take both the per-element and the range-deletion paths.
func TestListAgainstModel(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []string{"x", "y", "z", ""}
	models := map[string][]string{}
	keys := []string{"a", "b"}
	rint := func(n int) int64 {
		span := int64(n) + 3
		return rng.Int64N(2*span+1) - span
	}
	for step := 0; step < 600; step++ {
		key := keys[rng.IntN(len(keys))]
		other := keys[rng.IntN(len(keys))]
		m := models[key]
		v := vals[rng.IntN(len(vals))]
		var desc string
		runTx(t, s, func(tx *Tx) error {
			bk := []byte(key)
			switch op := rng.IntN(9); op {
			case 0, 1:
				n := []int{1, 3, 300}[rng.IntN(3)]
				in := make([]string, n)
				for i := range in {
					in[i] = vals[rng.IntN(len(vals))]
				}
				left := op == 0
				desc = fmt.Sprintf("push left=%v %d", left, n)
				if _, err := tx.ListPush(0, bk, left, false, bytesOf(in...)...); err != nil {
					return err
				}
				for _, e := range in {
					if left {
						m = append([]string{e}, m...)
					} else {
						m = append(m, e)
					}
				}
			case 2:
				left := rng.IntN(2) == 0
				cnt := []int64{1, 2, 280, 1000}[rng.IntN(4)]
				desc = fmt.Sprintf("pop left=%v %d", left, cnt)
				got, _, err := tx.ListPop(0, bk, left, cnt)
				if err != nil {
					return err
				}
				k := min(int(cnt), len(m))
				var want []string
				if left {
					want, m = slices.Clone(m[:k]), m[k:]
				} else {
					for i := len(m) - 1; i >= len(m)-k; i-- {
						want = append(want, m[i])
					}
					m = m[:len(m)-k]
				}
				if !slices.Equal(lstStrings(got), want) && !(len(got) == 0 && len(want) == 0) {
					t.Fatalf("%s = %q, want %q", desc, got, want)
				}
			case 3:
				start, stop := rint(len(m)), rint(len(m))
				desc = fmt.Sprintf("ltrim %d %d", start, stop)
				if err := tx.ListTrim(0, bk, start, stop); err != nil {
					return err
				}
				lo, hi := listRange(start, stop, int64(len(m)))
				m = slices.Clone(m[lo:hi])
			case 4:
				count := []int64{0, 1, -1, 3, -250, 400}[rng.IntN(6)]
				desc = fmt.Sprintf("lrem %d %q", count, v)
				n, err := tx.ListRem(0, bk, count, []byte(v))
				if err != nil {
					return err
				}
				var idx []int
				for i := range m {
					j := i
					if count < 0 {
						j = len(m) - 1 - i
					}
					if m[j] == v && (count == 0 || len(idx) < int(max(count, -count))) {
						idx = append(idx, j)
					}
				}
				if n != int64(len(idx)) {
					t.Fatalf("%s = %d, want %d", desc, n, len(idx))
				}
				drop := map[int]bool{}
				for _, i := range idx {
					drop[i] = true
				}
				var nm []string
				for i, e := range m {
					if !drop[i] {
						nm = append(nm, e)
					}
				}
				m = nm
			case 5:
				pivot := vals[rng.IntN(len(vals))]
				after := rng.IntN(2) == 0
				desc = fmt.Sprintf("linsert after=%v %q %q", after, pivot, "new")
				n, err := tx.ListInsert(0, bk, after, []byte(pivot), []byte("new"))
				if err != nil {
					return err
				}
				i := slices.Index(m, pivot)
				switch {
				case len(m) == 0 && n != 0, len(m) > 0 && i < 0 && n != -1:
					t.Fatalf("%s = %d", desc, n)
				case i >= 0:
					if after {
						i++
					}
					m = slices.Insert(m, i, "new")
					if n != int64(len(m)) {
						t.Fatalf("%s = %d, want %d", desc, n, len(m))
					}
				}
			case 6:
				idx := rint(len(m))
				desc = fmt.Sprintf("lset %d", idx)
				err := tx.ListSet(0, bk, idx, []byte("set"))
				i := idx
				if i < 0 {
					i += int64(len(m))
				}
				switch {
				case len(m) == 0:
					if !errors.Is(err, ErrNoSuchKey) {
						t.Fatalf("%s: %v", desc, err)
					}
				case i < 0 || i >= int64(len(m)):
					if !errors.Is(err, ErrIndexOutOfRange) {
						t.Fatalf("%s: %v", desc, err)
					}
				case err != nil:
					return err
				default:
					m[i] = "set"
				}
			case 7:
				sl, dl := rng.IntN(2) == 0, rng.IntN(2) == 0
				desc = fmt.Sprintf("lmove %s %s %v %v", key, other, sl, dl)
				got, ok, err := tx.ListMove(0, bk, []byte(other), sl, dl)
				if err != nil {
					return err
				}
				if ok != (len(m) > 0) {
					t.Fatalf("%s: ok=%v with %d elements", desc, ok, len(m))
				}
				if !ok {
					break
				}
				var e string
				if sl {
					e, m = m[0], m[1:]
				} else {
					e, m = m[len(m)-1], m[:len(m)-1]
				}
				if string(got) != e {
					t.Fatalf("%s = %q, want %q", desc, got, e)
				}
				models[key] = m
				om := models[other]
				if dl {
					om = append([]string{e}, om...)
				} else {
					om = append(slices.Clone(om), e)
				}
				models[other] = om
				m = om
				if other != key {
					m = models[key]
				}
			case 8:
				start, stop := rint(len(m)), rint(len(m))
				desc = fmt.Sprintf("lrange %d %d", start, stop)
				got, _, err := tx.ListRange(0, bk, start, stop)
				if err != nil {
					return err
				}
				lo, hi := listRange(start, stop, int64(len(m)))
				if !slices.Equal(lstStrings(got), m[lo:hi]) {
					t.Fatalf("%s = %q, want %q", desc, got, m[lo:hi])
				}
			}
			return nil
		})
		models[key] = m
		for _, k := range keys {
			if t.Failed() {
				return
			}
			lstCheckNamed(t, s, k, models[k], step, desc)
		}
	}
}

func lstCheckNamed(t *testing.T, s *Store, key string, want []string, step int, desc string) {
	t.Helper()
	got := lstAll(t, s, key)
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("step %d (%s): %s = %s, want %s", step, desc, key, lstShort(got), lstShort(want))
	}
	if n := lstRecords(t, s, key); n != len(want) {
		t.Fatalf("step %d (%s): %s has %d element records for %d elements", step, desc, key, n, len(want))
	}
	m := lstMeta(t, s, key)
	if m.Count != uint64(len(want)) || m.Tail-m.Head != m.Count {
		t.Fatalf("step %d (%s): %s meta %+v for %d elements", step, desc, key, m, len(want))
	}
}

func lstShort(ss []string) string {
	if len(ss) > 20 {
		return fmt.Sprintf("%q...(%d)", ss[:20], len(ss))
	}
	return fmt.Sprintf("%q", ss)
}

// TestListWritesThenReadsInOneTx checks read-your-writes inside one transaction (as in
// MULTI/EXEC), including after a trim large enough to be a range deletion.
func TestListWritesThenReadsInOneTx(t *testing.T) {
	s := openSmall(t, t.TempDir())
	defer s.Close()
	var in []string
	for i := 0; i < 1000; i++ {
		in = append(in, fmt.Sprint(i))
	}
	lstPush(t, s, "l", false, in...)
	runTx(t, s, func(tx *Tx) error {
		if err := tx.ListTrim(0, []byte("l"), 500, 509); err != nil {
			return err
		}
		if _, err := tx.ListPush(0, []byte("l"), true, false, []byte("h1"), []byte("h2")); err != nil {
			return err
		}
		if _, err := tx.ListPush(0, []byte("l"), false, false, []byte("t1")); err != nil {
			return err
		}
		got, _, err := tx.ListRange(0, []byte("l"), 0, -1)
		if err != nil {
			return err
		}
		want := append(append([]string{"h2", "h1"}, in[500:510]...), "t1")
		if !slices.Equal(lstStrings(got), want) {
			t.Fatalf("in-tx lrange = %q, want %q", got, want)
		}
		if v, _, err := tx.ListIndex(0, []byte("l"), 0); err != nil || string(v) != "h2" {
			t.Fatalf("in-tx lindex 0 = %q %v", v, err)
		}
		n, err := tx.ListRem(0, []byte("l"), 0, []byte("h1"))
		if err != nil || n != 1 {
			t.Fatalf("in-tx lrem = %d %v", n, err)
		}
		return nil
	})
	lstCheck(t, s, "l", append(append([]string{"h2"}, in[500:510]...), "t1"))
}

// TestListRangeNearEndOfLargeList: LRANGE / LINDEX near the end of a 100,000-element
// list seek to the window rather than walk the list.
func TestListRangeNearEndOfLargeList(t *testing.T) {
	if testing.Short() {
		t.Skip("large list")
	}
	s := openSmall(t, t.TempDir())
	defer s.Close()
	const total = 100000
	const batch = 10000
	for b := 0; b < total/batch; b++ {
		vals := make([]string, batch)
		for i := range vals {
			vals[i] = fmt.Sprintf("e%06d", b*batch+i)
		}
		lstPush(t, s, "big", false, vals...)
	}
	// Get the elements out of the memtable, so the reads below seek in table files.
	fo := grocksdb.NewDefaultFlushOptions()
	if err := s.db.Flush(fo); err != nil {
		t.Fatalf("flush: %v", err)
	}
	fo.Destroy()
	lstRangeWindows(t, s, total)
	// LTRIM of the ends leaves exactly the window.
	runTx(t, s, func(tx *Tx) error { return tx.ListTrim(0, []byte("big"), -5, -1) })
	lstCheck(t, s, "big", []string{"e099995", "e099996", "e099997", "e099998", "e099999"})
}

func lstRangeWindows(t *testing.T, s *Store, total int64) {
	tx := s.Begin()
	defer tx.Close()
	if n, err := tx.ListLen(0, []byte("big")); err != nil || n != total {
		t.Fatalf("llen = %d %v", n, err)
	}
	start := time.Now()
	const rounds = 200
	for r := 0; r < rounds; r++ {
		got, _, err := tx.ListRange(0, []byte("big"), -10, -1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 10 || string(got[0]) != fmt.Sprintf("e%06d", total-10) || string(got[9]) != fmt.Sprintf("e%06d", total-1) {
			t.Fatalf("lrange -10 -1 = %q", got)
		}
		got, _, err = tx.ListRange(0, []byte("big"), total-100, total-96)
		if err != nil || len(got) != 5 || string(got[0]) != fmt.Sprintf("e%06d", total-100) {
			t.Fatalf("lrange %d %d = %q %v", total-100, total-96, got, err)
		}
		v, _, err := tx.ListIndex(0, []byte("big"), -3)
		if err != nil || string(v) != fmt.Sprintf("e%06d", total-3) {
			t.Fatalf("lindex -3 = %q %v", v, err)
		}
	}
	// Walking 100,000 elements 200 times would take far longer than this loose bound.
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("%d small LRANGE/LINDEX near the end took %v", rounds, d)
	}
}
