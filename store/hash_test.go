package store

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hashUpdate runs f in a transaction and commits it.
func hashUpdate(t testing.TB, s *Store, f func(tx *Tx)) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	f(tx)
	if err := s.Commit(tx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// hashView runs f in a read-only transaction.
func hashView(t testing.TB, s *Store, f func(tx *Tx)) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	f(tx)
	if tx.Dirty() {
		t.Fatal("read-only transaction wrote something")
	}
}

func hashPairs(kv ...string) []FieldValue {
	out := make([]FieldValue, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, FieldValue{Field: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return out
}

func hashSet(t testing.TB, tx *Tx, key string, kv ...string) int {
	t.Helper()
	n, err := tx.HSet(0, []byte(key), hashPairs(kv...))
	if err != nil {
		t.Fatalf("HSet %s: %v", key, err)
	}
	return n
}

// hashDump renders a hash as "f=v f=v" for compact assertions.
func hashDump(t testing.TB, tx *Tx, key string) string {
	t.Helper()
	all, err := tx.HGetAll(0, []byte(key))
	if err != nil {
		t.Fatalf("HGetAll %s: %v", key, err)
	}
	var b []string
	for _, fv := range all {
		b = append(b, string(fv.Field)+"="+string(fv.Value))
	}
	return fmt.Sprint(b)
}

func hashLen(t testing.TB, tx *Tx, key string) int64 {
	t.Helper()
	n, err := tx.HLen(0, []byte(key))
	if err != nil {
		t.Fatalf("HLen %s: %v", key, err)
	}
	return n
}

// hashRawMembers counts the member records stored for key, any version.
func hashRawMembers(t testing.TB, s *Store, key string) int {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	p := keyPrefix(prefixMember, 0, []byte(key))
	it := tx.iter(p, prefixEnd(p))
	defer it.Close()
	n := 0
	for it.SeekFirst(); it.Valid(); it.Next() {
		n++
	}
	return n
}

func TestHashSetGetDel(t *testing.T) {
	s := openTest(t, t.TempDir())
	hashUpdate(t, s, func(tx *Tx) {
		if n := hashSet(t, tx, "h", "a", "1", "b", "2", "a", "3"); n != 2 {
			t.Fatalf("HSet new hash with a repeated field added %d, want 2", n)
		}
		// The transaction reads its own writes.
		if got := hashDump(t, tx, "h"); got != "[a=3 b=2]" {
			t.Fatalf("inside tx: %s", got)
		}
		if n := hashSet(t, tx, "h", "b", "20", "c", "", "c", "30"); n != 1 {
			t.Fatalf("HSet existing hash added %d, want 1", n)
		}
	})
	hashView(t, s, func(tx *Tx) {
		if got := hashDump(t, tx, "h"); got != "[a=3 b=20 c=30]" {
			t.Fatalf("HGetAll = %s", got)
		}
		if n := hashLen(t, tx, "h"); n != 3 {
			t.Fatalf("HLen = %d", n)
		}
		v, ok, err := tx.HGet(0, []byte("h"), []byte("b"))
		if err != nil || !ok || string(v) != "20" {
			t.Fatalf("HGet b = %q %v %v", v, ok, err)
		}
		if _, ok, _ := tx.HGet(0, []byte("h"), []byte("zz")); ok {
			t.Fatal("HGet of a missing field found it")
		}
		if _, ok, _ := tx.HGet(0, []byte("nokey"), []byte("a")); ok {
			t.Fatal("HGet of a missing key found it")
		}
		vals, err := tx.HMGet(0, []byte("h"), [][]byte{[]byte("a"), []byte("zz"), []byte("c")})
		if err != nil || len(vals) != 3 || string(vals[0]) != "3" || vals[1] != nil || string(vals[2]) != "30" {
			t.Fatalf("HMGet = %q %v", vals, err)
		}
		keys, _ := tx.HKeys(0, []byte("h"))
		if fmt.Sprintf("%s", keys) != "[a b c]" {
			t.Fatalf("HKeys = %s", keys)
		}
		hv, _ := tx.HVals(0, []byte("h"))
		if fmt.Sprintf("%s", hv) != "[3 20 30]" {
			t.Fatalf("HVals = %s", hv)
		}
		if n, _ := tx.HStrLen(0, []byte("h"), []byte("b")); n != 2 {
			t.Fatalf("HStrLen = %d", n)
		}
		if ok, _ := tx.HExists(0, []byte("h"), []byte("c")); !ok {
			t.Fatal("HExists c = false")
		}
	})
	hashUpdate(t, s, func(tx *Tx) {
		ok, err := tx.HSetNX(0, []byte("h"), []byte("a"), []byte("x"))
		if err != nil || ok {
			t.Fatalf("HSetNX on an existing field = %v %v", ok, err)
		}
		ok, err = tx.HSetNX(0, []byte("h"), []byte("d"), []byte(""))
		if err != nil || !ok {
			t.Fatalf("HSetNX on a new field = %v %v", ok, err)
		}
	})
	hashView(t, s, func(tx *Tx) {
		// An empty value exists and is not nil.
		v, ok, err := tx.HGet(0, []byte("h"), []byte("d"))
		if err != nil || !ok || v == nil || len(v) != 0 {
			t.Fatalf("HGet of an empty value = %q %v %v", v, ok, err)
		}
		vals, _ := tx.HMGet(0, []byte("h"), [][]byte{[]byte("d")})
		if vals[0] == nil {
			t.Fatal("HMGet of an empty value returned nil")
		}
		all, _ := tx.HGetAll(0, []byte("h"))
		if all[3].Value == nil {
			t.Fatal("HGetAll of an empty value returned nil")
		}
		if n := hashLen(t, tx, "h"); n != 4 {
			t.Fatalf("HLen = %d, want 4", n)
		}
	})
	hashUpdate(t, s, func(tx *Tx) {
		n, err := tx.HDel(0, []byte("h"), [][]byte{[]byte("a"), []byte("a"), []byte("zz")})
		if err != nil || n != 1 {
			t.Fatalf("HDel a a zz = %d %v", n, err)
		}
		if n := hashLen(t, tx, "h"); n != 3 {
			t.Fatalf("HLen after HDel = %d", n)
		}
	})
	if got := s.DBSize(0); got != 1 {
		t.Fatalf("DBSize = %d", got)
	}
	hashUpdate(t, s, func(tx *Tx) {
		n, err := tx.HDel(0, []byte("h"), [][]byte{[]byte("b"), []byte("c"), []byte("d")})
		if err != nil || n != 3 {
			t.Fatalf("HDel of the rest = %d %v", n, err)
		}
	})
	hashView(t, s, func(tx *Tx) {
		k, err := tx.Load(0, []byte("h"))
		if err != nil || k.Exists() || k.phys {
			t.Fatalf("hash with no fields left still exists: %+v %v", k, err)
		}
	})
	if got := s.DBSize(0); got != 0 {
		t.Fatalf("DBSize after deleting the last field = %d", got)
	}
	if n := hashRawMembers(t, s, "h"); n != 0 {
		t.Fatalf("%d member records left after the hash disappeared", n)
	}
	hashView(t, s, func(tx *Tx) {
		if n, err := tx.HDel(0, []byte("h"), [][]byte{[]byte("a")}); n != 0 || err != nil {
			t.Fatalf("HDel on a missing key = %d %v", n, err)
		}
	})
}

func TestHashWrongType(t *testing.T) {
	s := openTest(t, t.TempDir())
	setString(t, s, 0, "str", "v")
	hashUpdate(t, s, func(tx *Tx) {
		key, f := []byte("str"), []byte("f")
		errs := map[string]error{}
		_, errs["HSet"] = tx.HSet(0, key, hashPairs("f", "v"))
		_, errs["HSetNX"] = tx.HSetNX(0, key, f, f)
		_, _, errs["HGet"] = tx.HGet(0, key, f)
		_, errs["HMGet"] = tx.HMGet(0, key, [][]byte{f})
		_, errs["HGetAll"] = tx.HGetAll(0, key)
		_, errs["HKeys"] = tx.HKeys(0, key)
		_, errs["HVals"] = tx.HVals(0, key)
		_, errs["HDel"] = tx.HDel(0, key, [][]byte{f})
		_, errs["HLen"] = tx.HLen(0, key)
		_, errs["HExists"] = tx.HExists(0, key, f)
		_, errs["HStrLen"] = tx.HStrLen(0, key, f)
		_, errs["HIncrBy"] = tx.HIncrBy(0, key, f, 1)
		_, errs["HIncrByFloat"] = tx.HIncrByFloat(0, key, f, []byte("1"))
		_, _, errs["HScan"] = tx.HScan(0, key, nil, 10, true)
		_, errs["HRandField"] = tx.HRandField(0, key, 1, false)
		for name, err := range errs {
			if !errors.Is(err, ErrWrongType) {
				t.Errorf("%s on a string: %v, want ErrWrongType", name, err)
			}
		}
	})
	if v, ok := getString(t, s, 0, "str"); !ok || v != "v" {
		t.Fatalf("string changed: %q %v", v, ok)
	}
}

func TestHashIncr(t *testing.T) {
	s := openTest(t, t.TempDir())
	hashUpdate(t, s, func(tx *Tx) {
		key := []byte("h")
		if n, err := tx.HIncrBy(0, key, []byte("n"), 5); n != 5 || err != nil {
			t.Fatalf("HIncrBy on a missing key = %d %v", n, err)
		}
		if n, err := tx.HIncrBy(0, key, []byte("n"), -7); n != -2 || err != nil {
			t.Fatalf("HIncrBy = %d %v", n, err)
		}
		hashSet(t, tx, "h", "max", strconv.FormatInt(1<<63-1, 10), "min", "-9223372036854775808", "s", "abc", "sp", " 1", "f", "1.5")
		if _, err := tx.HIncrBy(0, key, []byte("max"), 1); !errors.Is(err, ErrOverflow) {
			t.Fatalf("HIncrBy past MaxInt64: %v", err)
		}
		if _, err := tx.HIncrBy(0, key, []byte("min"), -1); !errors.Is(err, ErrOverflow) {
			t.Fatalf("HIncrBy past MinInt64: %v", err)
		}
		for _, f := range []string{"s", "sp", "f"} {
			if _, err := tx.HIncrBy(0, key, []byte(f), 1); !errors.Is(err, ErrHashNotInteger) {
				t.Fatalf("HIncrBy on %s: %v", f, err)
			}
		}
		if v, err := tx.HIncrByFloat(0, key, []byte("f"), []byte("9")); string(v) != "10.5" || err != nil {
			t.Fatalf("HIncrByFloat = %s %v", v, err)
		}
		if v, err := tx.HIncrByFloat(0, key, []byte("g"), []byte("0.25")); string(v) != "0.25" || err != nil {
			t.Fatalf("HIncrByFloat on a new field = %s %v", v, err)
		}
		if v, err := tx.HIncrByFloat(0, key, []byte("n"), []byte("2")); string(v) != "0" || err != nil {
			t.Fatalf("HIncrByFloat on an integer = %s %v", v, err)
		}
		if _, err := tx.HIncrByFloat(0, key, []byte("s"), []byte("1")); !errors.Is(err, ErrHashNotFloat) {
			t.Fatalf("HIncrByFloat on text: %v", err)
		}
		hashSet(t, tx, "h", "big", "1e4932")
		if _, err := tx.HIncrByFloat(0, key, []byte("big"), []byte("1e4932")); !errors.Is(err, ErrNaN) {
			t.Fatalf("HIncrByFloat to infinity: %v", err)
		}
		// n, max, min, s, sp, f, g, big: failed increments added nothing.
		if n := hashLen(t, tx, "h"); n != 8 {
			t.Fatalf("HLen = %d, want 8", n)
		}
	})
	hashView(t, s, func(tx *Tx) {
		if got := hashDump(t, tx, "h"); got != "[big=1e4932 f=10.5 g=0.25 max=9223372036854775807 min=-9223372036854775808 n=0 s=abc sp= 1]" {
			t.Fatalf("HGetAll = %s", got)
		}
	})
}

func TestHashRecreateAfterDelete(t *testing.T) {
	s := openTest(t, t.TempDir())
	hashUpdate(t, s, func(tx *Tx) { hashSet(t, tx, "h", "old1", "1", "old2", "2") })
	hashUpdate(t, s, func(tx *Tx) {
		k, err := tx.Load(0, []byte("h"))
		if err != nil {
			t.Fatal(err)
		}
		if !tx.Delete(k) {
			t.Fatal("Delete reported nothing deleted")
		}
		// Recreate in the same transaction as the delete.
		if n := hashSet(t, tx, "h", "new", "x"); n != 1 {
			t.Fatalf("HSet after Delete added %d", n)
		}
		if got := hashDump(t, tx, "h"); got != "[new=x]" {
			t.Fatalf("inside tx after recreate: %s", got)
		}
	})
	hashView(t, s, func(tx *Tx) {
		if got := hashDump(t, tx, "h"); got != "[new=x]" {
			t.Fatalf("after recreate: %s", got)
		}
		if ok, _ := tx.HExists(0, []byte("h"), []byte("old1")); ok {
			t.Fatal("old field visible after recreate")
		}
	})
	if n := hashRawMembers(t, s, "h"); n != 1 {
		t.Fatalf("%d member records stored, want 1", n)
	}

	// Delete, commit, then recreate in a later transaction.
	hashUpdate(t, s, func(tx *Tx) {
		k, _ := tx.Load(0, []byte("h"))
		tx.Delete(k)
	})
	hashUpdate(t, s, func(tx *Tx) {
		if n, err := tx.HIncrBy(0, []byte("h"), []byte("new"), 1); n != 1 || err != nil {
			t.Fatalf("HIncrBy on a deleted hash = %d %v (old value leaked?)", n, err)
		}
	})
	hashView(t, s, func(tx *Tx) {
		if got := hashDump(t, tx, "h"); got != "[new=1]" {
			t.Fatalf("after delete+recreate: %s", got)
		}
	})

	// An expired hash is gone for HSET: the new one has no old fields and no TTL.
	hashUpdate(t, s, func(tx *Tx) {
		hashSet(t, tx, "e", "old", "1")
		k, _ := tx.Load(0, []byte("e"))
		k.Meta.ExpireAt = tx.Now() + 30
		tx.Save(k)
	})
	time.Sleep(60 * time.Millisecond)
	hashUpdate(t, s, func(tx *Tx) {
		if n := hashLen(t, tx, "e"); n != 0 {
			t.Fatalf("HLen of an expired hash = %d", n)
		}
		if n := hashSet(t, tx, "e", "new", "2"); n != 1 {
			t.Fatalf("HSet on an expired hash added %d", n)
		}
	})
	hashView(t, s, func(tx *Tx) {
		if got := hashDump(t, tx, "e"); got != "[new=2]" {
			t.Fatalf("after expiry+recreate: %s", got)
		}
		k, _ := tx.Load(0, []byte("e"))
		if k.Meta.ExpireAt != 0 {
			t.Fatalf("recreated hash inherited expiry %d", k.Meta.ExpireAt)
		}
	})
}

func TestHashSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	o := DefaultOptions(dir)
	o.BlockCacheSize = 8 << 20
	o.WriteBufferSize = 4 << 20
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	hashUpdate(t, s, func(tx *Tx) {
		hashSet(t, tx, "h", "a", "1", "b", "2", "c", "3")
		if _, err := tx.HDel(0, []byte("h"), [][]byte{[]byte("b")}); err != nil {
			t.Fatal(err)
		}
	})
	s.Close()

	s, err = Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hashView(t, s, func(tx *Tx) {
		if got := hashDump(t, tx, "h"); got != "[a=1 c=3]" {
			t.Fatalf("after restart: %s", got)
		}
		if n := hashLen(t, tx, "h"); n != 2 {
			t.Fatalf("HLen after restart = %d", n)
		}
	})
	if got := s.DBSize(0); got != 1 {
		t.Fatalf("DBSize after restart = %d", got)
	}
}

func TestHashScan(t *testing.T) {
	s := openTest(t, t.TempDir())
	const n = 1000
	hashUpdate(t, s, func(tx *Tx) {
		var kv []string
		for i := 0; i < n; i++ {
			kv = append(kv, fmt.Sprintf("f%d", i), strconv.Itoa(i))
		}
		hashSet(t, tx, "h", kv...)
	})
	seen := map[string]int{}
	var order []string
	var resume []byte
	calls := 0
	hashView(t, s, func(tx *Tx) {
		for {
			calls++
			page, next, err := tx.HScan(0, []byte("h"), resume, 7, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 7 || (next != nil && len(page) != 7) {
				t.Fatalf("page of %d with next %q", len(page), next)
			}
			for _, fv := range page {
				if want := "f" + string(fv.Value); string(fv.Field) != want {
					t.Fatalf("field %s has value %s", fv.Field, fv.Value)
				}
				seen[string(fv.Field)]++
				order = append(order, string(fv.Field))
			}
			if next == nil {
				break
			}
			resume = next
		}
	})
	if len(seen) != n || len(order) != n || !sort.StringsAreSorted(order) {
		t.Fatalf("scan returned %d fields (%d distinct), sorted=%v", len(order), len(seen), sort.StringsAreSorted(order))
	}
	if want := (n + 6) / 7; calls != want {
		t.Fatalf("scan took %d calls, want %d", calls, want)
	}

	// Resuming from a field deleted meanwhile continues with the next one.
	hashUpdate(t, s, func(tx *Tx) { tx.HDel(0, []byte("h"), [][]byte{[]byte("f500")}) })
	hashView(t, s, func(tx *Tx) {
		page, _, err := tx.HScan(0, []byte("h"), []byte("f500"), 2, false)
		if err != nil || len(page) != 2 || string(page[0].Field) != "f501" || page[0].Value != nil {
			t.Fatalf("resume at a deleted field: %q %v", page, err)
		}
		page, next, err := tx.HScan(0, []byte("nokey"), nil, 10, true)
		if len(page) != 0 || next != nil || err != nil {
			t.Fatalf("scan of a missing key: %v %q %v", page, next, err)
		}
	})
}

func TestHashRandField(t *testing.T) {
	s := openTest(t, t.TempDir())
	build := func(key string, n int) map[string]string {
		m := map[string]string{}
		hashUpdate(t, s, func(tx *Tx) {
			var kv []string
			for i := 0; i < n; i++ {
				f, v := "field:"+strconv.Itoa(i), "v"+strconv.Itoa(i)
				m[f] = v
				kv = append(kv, f, v)
			}
			hashSet(t, tx, key, kv...)
		})
		return m
	}
	small := build("small", 10)
	large := build("large", 20000)

	check := func(key string, m map[string]string, count int64, withValues bool, wantLen int, distinct bool) map[string]int {
		t.Helper()
		var got []FieldValue
		hashView(t, s, func(tx *Tx) {
			var err error
			got, err = tx.HRandField(0, []byte(key), count, withValues)
			if err != nil {
				t.Fatalf("HRandField(%s, %d): %v", key, count, err)
			}
		})
		if len(got) != wantLen {
			t.Fatalf("HRandField(%s, %d) returned %d fields, want %d", key, count, len(got), wantLen)
		}
		seen := map[string]int{}
		for _, fv := range got {
			v, ok := m[string(fv.Field)]
			if !ok {
				t.Fatalf("HRandField(%s, %d) returned unknown field %q", key, count, fv.Field)
			}
			if withValues && string(fv.Value) != v {
				t.Fatalf("field %s came with value %q, want %q", fv.Field, fv.Value, v)
			}
			if !withValues && fv.Value != nil {
				t.Fatalf("value returned without WITHVALUES")
			}
			seen[string(fv.Field)]++
		}
		if distinct && len(seen) != len(got) {
			t.Fatalf("HRandField(%s, %d) repeated fields: %d distinct of %d", key, count, len(seen), len(got))
		}
		return seen
	}

	check("small", small, 0, false, 0, true)
	check("small", small, 3, true, 3, true)
	check("small", small, 10, false, 10, true)
	check("small", small, 100, true, 10, true)
	if seen := check("small", small, -200, true, 200, false); len(seen) != 10 {
		t.Fatalf("200 picks with repetition from 10 fields saw %d of them", len(seen))
	}
	check("nokey", nil, 5, false, 0, true)
	check("nokey", nil, -5, false, 0, true)

	// Large hash. Few fields: picked by seeking; more than 1/hrandScanRatio of the
	// hash: picked in one pass; at least HLEN: the whole hash.
	few := int64(len(large) / hrandScanRatio)
	check("large", large, 1, true, 1, true)
	check("large", large, few, true, int(few), true)
	check("large", large, -few, true, int(few), false)
	check("large", large, 500, true, 500, true)
	check("large", large, 9000, false, 9000, true)
	check("large", large, 20000, false, 20000, true)
	check("large", large, 30000, false, 20000, true)
	// One pass is exactly uniform: 5,000 picks from 20,000 see ~4,424 distinct fields.
	if seen := check("large", large, -5000, false, 5000, false); len(seen) < 4250 {
		t.Fatalf("5000 random picks from 20000 fields saw only %d distinct fields", len(seen))
	}
}

// TestHashRandFieldSpread checks that picks by seeking spread over big hashes of
// differently shaped field names, with no field coming up far more often than others.
func TestHashRandFieldSpread(t *testing.T) {
	s := openTest(t, t.TempDir())
	const n, picks = 20000, 3000
	const per = n/hrandScanRatio - 9 // fields per call: few enough to be picked by seeking
	shapes := []struct {
		name string
		gen  func(i int) string
	}{
		{"decimal", func(i int) string { return "id:" + strconv.Itoa(i) }},
		{"padded", func(i int) string { return fmt.Sprintf("%08d", i) }},
		{"words", func(i int) string { return fmt.Sprintf("user:%s:%d", []string{"al", "bob", "carol", "d"}[i%4], i/4) }},
		{"hex", func(i int) string { return fmt.Sprintf("%x", uint64(i)*0x9E3779B97F4A7C15) }},
		{"binary", func(i int) string {
			v := uint64(i)*0x9E3779B97F4A7C15 | 1
			return string([]byte{byte(v >> 56), byte(v >> 48), 0, byte(v >> 32), 255})
		}},
		// Every field a prefix of the next: the descent gives up at hrandMaxDepth.
		{"chain", func(i int) string { return strings.Repeat("x", i%2000+1) + strconv.Itoa(i/2000) }},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			fields := map[string]bool{}
			hashUpdate(t, s, func(tx *Tx) {
				var kv []string
				for i := 0; i < n; i++ {
					fields[sh.gen(i)] = true
					kv = append(kv, sh.gen(i), "v")
				}
				hashSet(t, tx, sh.name, kv...)
			})
			if len(fields) != n {
				t.Fatalf("shape makes %d distinct fields", len(fields))
			}
			calls := picks / per
			if sh.name == "chain" {
				calls = 1000 / per // about 1ms a pick: the descent is long, then a walk
			}
			seen := map[string]int{}
			hashView(t, s, func(tx *Tx) {
				for j := 0; j < calls; j++ {
					got, err := tx.HRandField(0, []byte(sh.name), -per, false)
					if err != nil || len(got) != per {
						t.Fatalf("HRandField: %d fields, %v", len(got), err)
					}
					for _, fv := range got {
						if !fields[string(fv.Field)] {
							t.Fatalf("unknown field %q", fv.Field)
						}
						seen[string(fv.Field)]++
					}
				}
				got, err := tx.HRandField(0, []byte(sh.name), per, false)
				if err != nil || len(got) != per {
					t.Fatalf("HRandField distinct: %d fields, %v", len(got), err)
				}
				uniq := map[string]bool{}
				for _, fv := range got {
					if !fields[string(fv.Field)] || uniq[string(fv.Field)] {
						t.Fatalf("distinct pick returned %q twice or unknown", fv.Field)
					}
					uniq[string(fv.Field)] = true
				}
			})
			most := 0
			for _, c := range seen {
				most = max(most, c)
			}
			t.Logf("%s: %d distinct of %d picks, most picked %d times", sh.name, len(seen), calls*per, most)
			// Uniform picks would see ~2790 distinct fields in 3000, ~965 in 990.
			minSeen, maxRepeat := 2300, 10
			if sh.name == "chain" {
				minSeen, maxRepeat = 300, 20 // random, but by design far from uniform
			}
			if len(seen) < minSeen || most > maxRepeat {
				t.Fatalf("%d picks saw %d distinct fields, one %d times", calls*per, len(seen), most)
			}
		})
	}
}

// TestHashDeleteIsConstantTime deletes a hash of 200,000 fields: the old members are
// dropped by one range deletion, so Delete+Commit costs what it costs for a tiny hash.
func TestHashDeleteIsConstantTime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 200,000-field hash")
	}
	s := openTest(t, t.TempDir())
	const n = 200_000
	pairs := make([]FieldValue, n)
	for i := range pairs {
		pairs[i] = FieldValue{Field: []byte(fmt.Sprintf("field-%07d", i)), Value: bytes.Repeat([]byte{'v'}, 16)}
	}
	hashUpdate(t, s, func(tx *Tx) {
		if added, err := tx.HSet(0, []byte("big"), pairs); err != nil || added != n {
			t.Fatalf("HSet = %d %v", added, err)
		}
		hashSet(t, tx, "small", "a", "1", "b", "2")
	})
	hashView(t, s, func(tx *Tx) {
		if got := hashLen(t, tx, "big"); got != n {
			t.Fatalf("HLen big = %d", got)
		}
	})

	del := func(key string) time.Duration {
		tx := s.Begin()
		defer tx.Close()
		start := time.Now()
		k, err := tx.Load(0, []byte(key))
		if err != nil {
			t.Fatal(err)
		}
		if !tx.Delete(k) {
			t.Fatalf("Delete %s found nothing", key)
		}
		if len(tx.Ops()) > 8 {
			t.Fatalf("deleting %s produced %d changes; members must not be deleted one by one", key, len(tx.Ops()))
		}
		if err := s.Commit(tx); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	dSmall := del("small")
	dBig := del("big")
	t.Logf("delete: 2 fields %v, %d fields %v", dSmall, n, dBig)
	if dBig > 50*time.Millisecond {
		t.Fatalf("deleting a %d-field hash took %v (small hash: %v)", n, dBig, dSmall)
	}
	if got := s.DBSize(0); got != 0 {
		t.Fatalf("DBSize after deletes = %d", got)
	}
	hashUpdate(t, s, func(tx *Tx) { hashSet(t, tx, "big", "only", "1") })
	hashView(t, s, func(tx *Tx) {
		if got := hashDump(t, tx, "big"); got != "[only=1]" {
			t.Fatalf("recreated hash = %s", got)
		}
	})
	if got := hashRawMembers(t, s, "big"); got != 1 {
		t.Fatalf("%d member records under the recreated key, want 1", got)
	}
}
