package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Sorted-set tests. Helpers carry a zt prefix so they cannot clash with other types'.

// ztWrite runs f in a transaction and commits it.
func ztWrite(t testing.TB, s *Store, f func(tx *Tx) error) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	if err := f(tx); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(tx); err != nil {
		t.Fatal(err)
	}
}

// ztRead runs f in a read-only transaction.
func ztRead(t testing.TB, s *Store, f func(tx *Tx) error) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	tx.Snapshot()
	if err := f(tx); err != nil {
		t.Fatal(err)
	}
}

func ztPairs(kv ...any) []ScoredMember {
	var out []ScoredMember
	for i := 0; i < len(kv); i += 2 {
		out = append(out, ScoredMember{Score: kv[i].(float64), Member: []byte(kv[i+1].(string))})
	}
	return out
}

func ztAdd(t testing.TB, s *Store, key string, o ZAddOptions, kv ...any) ZAddResult {
	t.Helper()
	var r ZAddResult
	ztWrite(t, s, func(tx *Tx) error {
		var err error
		r, err = tx.ZAdd(0, []byte(key), o, ztPairs(kv...))
		return err
	})
	return r
}

func ztLoad(t testing.TB, tx *Tx, key string) *ZSet {
	t.Helper()
	z, err := tx.LoadZSet(0, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// ztStr renders elements as "m:score m:score".
func ztStr(items []ScoredMember) string {
	var b strings.Builder
	for i, e := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%v", e.Member, e.Score)
	}
	return b.String()
}

func ztAll(t testing.TB, s *Store, key string) string {
	t.Helper()
	var out string
	ztRead(t, s, func(tx *Tx) error {
		items, err := ztLoad(t, tx, key).Members()
		out = ztStr(items)
		return err
	})
	return out
}

// ztRaw counts the raw member and index records of key, every version.
func ztRaw(t testing.TB, s *Store, key string) (members, index int) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	for i, p := range []byte{prefixMember, prefixScore} {
		kp := keyPrefix(p, 0, []byte(key))
		it := tx.iter(kp, prefixEnd(kp))
		n := 0
		for it.SeekFirst(); it.Valid(); it.Next() {
			n++
		}
		it.Close()
		if i == 0 {
			members = n
		} else {
			index = n
		}
	}
	return
}

func TestZSetScoreEncodingOrder(t *testing.T) {
	negZero := math.Copysign(0, -1)
	scores := []float64{math.Inf(-1), -math.MaxFloat64, -1e300, -2.5, -1, -0.5,
		-math.SmallestNonzeroFloat64, 0, math.SmallestNonzeroFloat64, 0.5, 1, 2.5, 1e300,
		math.MaxFloat64, math.Inf(1)}
	for i := 1; i < len(scores); i++ {
		a := binary.BigEndian.AppendUint64(nil, encodeScore(scores[i-1]))
		b := binary.BigEndian.AppendUint64(nil, encodeScore(scores[i]))
		if bytes.Compare(a, b) >= 0 {
			t.Fatalf("encoded %v (%x) does not sort below %v (%x)", scores[i-1], a, scores[i], b)
		}
	}
	for _, f := range scores {
		if got := decodeScore(encodeScore(f)); got != f {
			t.Fatalf("round trip %v -> %v", f, got)
		}
	}
	if encodeScore(negZero) != encodeScore(0) {
		t.Fatal("-0 and +0 encode differently")
	}
	if got := decodeScore(encodeScore(negZero)); math.Signbit(got) {
		t.Fatal("-0 decodes with its sign")
	}
	// The member is a suffix after the fixed-width score, so (score, member) order holds.
	k1 := scoreKey(0, []byte("k"), 1, -1, []byte("zzz"))
	k2 := scoreKey(0, []byte("k"), 1, 0, []byte(""))
	k3 := scoreKey(0, []byte("k"), 1, 0, []byte("a"))
	if bytes.Compare(k1, k2) >= 0 || bytes.Compare(k2, k3) >= 0 {
		t.Fatal("index keys do not sort by (score, member)")
	}
}

func TestZSetAddOptions(t *testing.T) {
	s := openTest(t, t.TempDir())
	if r := ztAdd(t, s, "z", ZAddOptions{}, 1.0, "a", 2.0, "b", 3.0, "c"); r.Added != 3 {
		t.Fatalf("added %d", r.Added)
	}
	if r := ztAdd(t, s, "z", ZAddOptions{NX: true}, 10.0, "a", 4.0, "d"); r.Added != 1 || r.Updated != 0 {
		t.Fatalf("nx: %+v", r)
	}
	if r := ztAdd(t, s, "z", ZAddOptions{XX: true}, 10.0, "a", 5.0, "e"); r.Added != 0 || r.Updated != 1 {
		t.Fatalf("xx: %+v", r)
	}
	if r := ztAdd(t, s, "z", ZAddOptions{GT: true}, 5.0, "a", 5.0, "b"); r.Updated != 1 {
		t.Fatalf("gt: %+v", r)
	}
	if r := ztAdd(t, s, "z", ZAddOptions{LT: true}, 6.0, "b", 1.0, "c"); r.Updated != 1 {
		t.Fatalf("lt: %+v", r)
	}
	if got := ztAll(t, s, "z"); got != "c:1 d:4 b:5 a:10" {
		t.Fatalf("after options: %s", got)
	}
	r := ztAdd(t, s, "z", ZAddOptions{Incr: true}, 2.5, "a")
	if !r.Applied || r.Score != 12.5 {
		t.Fatalf("incr: %+v", r)
	}
	if r := ztAdd(t, s, "z", ZAddOptions{Incr: true, NX: true}, 1.0, "a"); r.Applied {
		t.Fatalf("incr nx on existing member applied: %+v", r)
	}
	if r := ztAdd(t, s, "nokey", ZAddOptions{XX: true}, 1.0, "a"); r.Applied || r.Added != 0 {
		t.Fatalf("xx on a missing key: %+v", r)
	}
	if m, _ := ztRaw(t, s, "nokey"); m != 0 {
		t.Fatal("xx created a key")
	}
	ztAdd(t, s, "z", ZAddOptions{}, math.Inf(1), "inf")
	tx := s.Begin()
	_, err := tx.ZAdd(0, []byte("z"), ZAddOptions{Incr: true}, ztPairs(math.Inf(-1), "inf"))
	tx.Close()
	if err != ErrScoreNaN {
		t.Fatalf("inf + -inf: %v", err)
	}
	// -0 is stored as 0 and is the same score as 0.
	ztAdd(t, s, "zero", ZAddOptions{}, math.Copysign(0, -1), "n")
	if r := ztAdd(t, s, "zero", ZAddOptions{CH: true}, 0.0, "n"); r.Updated != 0 {
		t.Fatalf("0 after -0 counted as an update: %+v", r)
	}
	ztRead(t, s, func(tx *Tx) error {
		sc, ok, err := ztLoad(t, tx, "zero").Score([]byte("n"))
		if !ok || sc != 0 || math.Signbit(sc) {
			t.Fatalf("score of -0 = %v %v", sc, ok)
		}
		return err
	})
	// Both records stay in step: one member record and one index record per member.
	m, idx := ztRaw(t, s, "z")
	if m != 5 || idx != 5 {
		t.Fatalf("raw records: %d members, %d index entries", m, idx)
	}
}

func TestZSetWrongType(t *testing.T) {
	s := openTest(t, t.TempDir())
	ztWrite(t, s, func(tx *Tx) error {
		_, err := tx.Set(0, []byte("str"), []byte("v"), SetOptions{})
		return err
	})
	tx := s.Begin()
	defer tx.Close()
	if _, err := tx.ZAdd(0, []byte("str"), ZAddOptions{}, ztPairs(1.0, "a")); err != ErrWrongType {
		t.Fatalf("zadd on a string: %v", err)
	}
	if _, err := tx.LoadZSet(0, []byte("str")); err != ErrWrongType {
		t.Fatalf("load a string: %v", err)
	}
	if _, err := tx.LoadZOperand(0, []byte("str")); err != ErrWrongType {
		t.Fatalf("operand a string: %v", err)
	}
}

func TestZSetRanges(t *testing.T) {
	s := openTest(t, t.TempDir())
	ztAdd(t, s, "z", ZAddOptions{}, 1.0, "a", 2.0, "b", 2.0, "bb", 3.0, "c", math.Inf(-1), "ninf", math.Inf(1), "pinf")
	ztRead(t, s, func(tx *Tx) error {
		z := ztLoad(t, tx, "z")
		check := func(what string, items []ScoredMember, err error, want string) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if got := ztStr(items); got != want {
				t.Fatalf("%s = %q, want %q", what, got, want)
			}
		}
		items, err := z.RangeByRank(0, -1, false)
		check("rank all", items, err, "ninf:-Inf a:1 b:2 bb:2 c:3 pinf:+Inf")
		items, err = z.RangeByRank(-2, -1, true)
		check("rev rank -2 -1", items, err, "a:1 ninf:-Inf")
		items, err = z.RangeByRank(4, 100, false)
		check("rank past the end", items, err, "c:3 pinf:+Inf")
		items, err = z.RangeByRank(3, 1, false)
		check("rank start > stop", items, err, "")
		items, err = z.RangeByScore(ScoreRange{ScoreBound{1, true}, ScoreBound{3, false}}, false, 0, -1)
		check("(1 3", items, err, "b:2 bb:2 c:3")
		items, err = z.RangeByScore(ScoreRange{ScoreBound{2, false}, ScoreBound{2, false}}, false, 0, -1)
		check("2 2", items, err, "b:2 bb:2")
		items, err = z.RangeByScore(ScoreRange{ScoreBound{2, true}, ScoreBound{2, false}}, false, 0, -1)
		check("(2 2", items, err, "")
		items, err = z.RangeByScore(ScoreRange{ScoreBound{math.Inf(-1), false}, ScoreBound{math.Inf(1), false}}, true, 1, 3)
		check("rev -inf +inf limit 1 3", items, err, "c:3 bb:2 b:2")
		items, err = z.RangeByScore(ScoreRange{ScoreBound{math.Inf(-1), true}, ScoreBound{math.Inf(1), true}}, false, 0, -1)
		check("(-inf (+inf", items, err, "a:1 b:2 bb:2 c:3")
		items, err = z.RangeByScore(ScoreRange{ScoreBound{math.Inf(-1), false}, ScoreBound{math.Inf(1), false}}, false, -1, 2)
		check("negative offset", items, err, "")
		n, err := z.CountByScore(ScoreRange{ScoreBound{1, false}, ScoreBound{2, false}})
		if err != nil || n != 3 {
			t.Fatalf("count 1 2 = %d %v", n, err)
		}
		n, err = z.CountByScore(ScoreRange{ScoreBound{math.Inf(-1), false}, ScoreBound{math.Inf(1), false}})
		if err != nil || n != 6 {
			t.Fatalf("count all = %d %v", n, err)
		}
		for i, m := range []string{"ninf", "a", "b", "bb", "c", "pinf"} {
			r, ok, err := z.Rank([]byte(m), false)
			if err != nil || !ok || r != int64(i) {
				t.Fatalf("rank %s = %d %v %v", m, r, ok, err)
			}
			r, ok, err = z.Rank([]byte(m), true)
			if err != nil || !ok || r != int64(5-i) {
				t.Fatalf("revrank %s = %d %v %v", m, r, ok, err)
			}
		}
		if _, ok, _ := z.Rank([]byte("nope"), false); ok {
			t.Fatal("rank of a missing member")
		}
		return nil
	})
}

func TestZSetLexRanges(t *testing.T) {
	s := openTest(t, t.TempDir())
	ztAdd(t, s, "l", ZAddOptions{}, 0.0, "a", 0.0, "b", 0.0, "c", 0.0, "d", 0.0, "e")
	ztAdd(t, s, "m", ZAddOptions{}, 1.0, "b", 1.0, "d", 2.0, "a", 2.0, "c", 3.0, "e", 0.0, "x")
	incl := func(v string) LexBound { return LexBound{Value: []byte(v)} }
	excl := func(v string) LexBound { return LexBound{Value: []byte(v), Excl: true} }
	minus, plus := LexBound{Inf: -1}, LexBound{Inf: 1}
	cases := []struct {
		key      string
		min, max LexBound
		rev      bool
		off, cnt int64
		want     string
	}{
		{"l", minus, plus, false, 0, -1, "abcde"},
		{"l", incl("b"), excl("d"), false, 0, -1, "bc"},
		{"l", excl("b"), incl("d"), false, 0, -1, "cd"},
		{"l", incl("bb"), incl("dd"), false, 0, -1, "cd"},
		{"l", excl("a"), excl("a"), false, 0, -1, ""},
		{"l", incl("a"), incl("a"), false, 0, -1, "a"},
		{"l", incl("c"), incl("a"), false, 0, -1, ""},
		{"l", plus, minus, false, 0, -1, ""},
		{"l", minus, minus, false, 0, -1, ""},
		{"l", minus, plus, true, 1, 2, "dc"},
		{"l", incl("b"), incl("d"), true, 0, -1, "dcb"},
		{"l", minus, plus, false, 5, 1, ""},
		{"l", minus, plus, false, 4, 10, "e"},
		// Mixed scores: Redis's listpack semantics (front scan from the first member
		// >= min, then while <= max; and the range check on the first/last elements).
		{"m", incl("c"), plus, false, 0, -1, "xbdace"},
		{"m", incl("b"), incl("d"), false, 0, -1, ""},
		{"m", excl("a"), incl("z"), false, 0, -1, "xbdace"},
		{"m", incl("c"), plus, true, 0, -1, "ec"},
		{"m", minus, incl("c"), true, 0, -1, ""},
		{"m", excl("a"), excl("x"), true, 0, -1, ""},
	}
	ztRead(t, s, func(tx *Tx) error {
		for _, c := range cases {
			z := ztLoad(t, tx, c.key)
			items, err := z.RangeByLex(LexRange{c.min, c.max}, c.rev, c.off, c.cnt)
			if err != nil {
				return err
			}
			var got string
			for _, e := range items {
				got += string(e.Member)
			}
			if got != c.want {
				t.Errorf("%s lex %+v..%+v rev=%v limit %d %d = %q, want %q", c.key, c.min, c.max, c.rev, c.off, c.cnt, got, c.want)
			}
			if !c.rev && c.off == 0 && c.cnt == -1 {
				n, err := z.CountByLex(LexRange{c.min, c.max})
				if err != nil || n != int64(len(c.want)) {
					t.Errorf("%s lexcount %+v..%+v = %d %v, want %d", c.key, c.min, c.max, n, err, len(c.want))
				}
			}
		}
		return nil
	})
}

func TestZSetPopAndRemoveRanges(t *testing.T) {
	s := openTest(t, t.TempDir())
	ztAdd(t, s, "z", ZAddOptions{}, 1.0, "a", 2.0, "b", 3.0, "c", 4.0, "d", 5.0, "e", 6.0, "f")
	ztWrite(t, s, func(tx *Tx) error {
		items, err := ztLoad(t, tx, "z").Pop(false, 2)
		if ztStr(items) != "a:1 b:2" {
			t.Fatalf("pop min 2 = %s", ztStr(items))
		}
		return err
	})
	ztWrite(t, s, func(tx *Tx) error {
		items, err := ztLoad(t, tx, "z").Pop(true, 1)
		if ztStr(items) != "f:6" {
			t.Fatalf("pop max = %s", ztStr(items))
		}
		return err
	})
	ztWrite(t, s, func(tx *Tx) error {
		n, err := ztLoad(t, tx, "z").RemoveRangeByScore(ScoreRange{ScoreBound{3, true}, ScoreBound{4, false}})
		if n != 1 {
			t.Fatalf("remrangebyscore (3 4 = %d", n)
		}
		return err
	})
	if got := ztAll(t, s, "z"); got != "c:3 e:5" {
		t.Fatalf("after removals: %s", got)
	}
	ztWrite(t, s, func(tx *Tx) error {
		n, err := ztLoad(t, tx, "z").RemoveRangeByRank(0, -1)
		if n != 2 {
			t.Fatalf("remrangebyrank 0 -1 = %d", n)
		}
		return err
	})
	ztRead(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("z"))
		if k.Exists() {
			t.Fatal("emptied zset still exists")
		}
		return err
	})
	if m, idx := ztRaw(t, s, "z"); m != 0 || idx != 0 {
		t.Fatalf("emptied zset left %d member and %d index records", m, idx)
	}
}

// TestZSetRecreateHidesOldMembers: a deleted or overwritten zset never shows its old
// members, in the index or the member records.
func TestZSetRecreateHidesOldMembers(t *testing.T) {
	s := openTest(t, t.TempDir())
	ztAdd(t, s, "z", ZAddOptions{}, 1.0, "old1", 2.0, "old2", 3.0, "old3")
	ztWrite(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("z"))
		if err != nil {
			return err
		}
		tx.Delete(k)
		_, err = tx.ZAdd(0, []byte("z"), ZAddOptions{}, ztPairs(5.0, "new"))
		return err
	})
	ztRead(t, s, func(tx *Tx) error {
		z := ztLoad(t, tx, "z")
		if z.Card() != 1 {
			t.Fatalf("card = %d", z.Card())
		}
		items, err := z.RangeByScore(ScoreRange{ScoreBound{math.Inf(-1), false}, ScoreBound{math.Inf(1), false}}, false, 0, -1)
		if ztStr(items) != "new:5" {
			t.Fatalf("range after re-create = %s", ztStr(items))
		}
		if _, ok, _ := z.Score([]byte("old1")); ok {
			t.Fatal("old member visible after re-create")
		}
		return err
	})
	// Overwriting through a STORE command replaces the set, even within one tx.
	ztWrite(t, s, func(tx *Tx) error {
		return tx.StoreZSet(0, []byte("z"), ztPairs(7.0, "stored"))
	})
	if got := ztAll(t, s, "z"); got != "stored:7" {
		t.Fatalf("after store: %s", got)
	}
	// A string overwriting a zset, then a stored zset over the string.
	ztWrite(t, s, func(tx *Tx) error {
		_, err := tx.Set(0, []byte("z"), []byte("v"), SetOptions{})
		return err
	})
	ztWrite(t, s, func(tx *Tx) error {
		return tx.StoreZSet(0, []byte("z"), ztPairs(1.0, "fresh"))
	})
	if got := ztAll(t, s, "z"); got != "fresh:1" {
		t.Fatalf("after string then store: %s", got)
	}
	if m, idx := ztRaw(t, s, "z"); m != 1 || idx != 1 {
		t.Fatalf("raw records after overwrites: %d members, %d index", m, idx)
	}
	ztWrite(t, s, func(tx *Tx) error { return tx.StoreZSet(0, []byte("z"), nil) })
	ztRead(t, s, func(tx *Tx) error {
		if ztLoad(t, tx, "z").Exists() {
			t.Fatal("storing nothing left the key")
		}
		return nil
	})
}

func TestZSetSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ztAdd(t, s, "z", ZAddOptions{}, 1.5, "a", -2.0, "b", math.Inf(1), "c")
	ztAdd(t, s, "gone", ZAddOptions{}, 1.0, "x")
	ztWrite(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("gone"))
		tx.Delete(k)
		return err
	})
	s.Close()
	s = openTest(t, dir)
	if got := ztAll(t, s, "z"); got != "b:-2 a:1.5 c:+Inf" {
		t.Fatalf("after restart: %s", got)
	}
	ztAdd(t, s, "gone", ZAddOptions{}, 2.0, "y")
	if got := ztAll(t, s, "gone"); got != "y:2" {
		t.Fatalf("re-created after restart: %s", got)
	}
	ztRead(t, s, func(tx *Tx) error {
		r, ok, err := ztLoad(t, tx, "z").Rank([]byte("c"), false)
		if !ok || r != 2 {
			t.Fatalf("rank after restart = %d %v", r, ok)
		}
		return err
	})
}

func TestZSetOperands(t *testing.T) {
	s := openTest(t, t.TempDir())
	ztAdd(t, s, "z", ZAddOptions{}, 1.0, "a", 2.0, "b")
	ztWrite(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("s"))
		if err != nil {
			return err
		}
		tx.Reset(k, TypeSet)
		for _, m := range []string{"a", "c"} {
			tx.putMember(k, []byte(m), nil) // sets store members with empty values
			k.Meta.Count++
		}
		tx.Save(k)
		return nil
	})
	ztRead(t, s, func(tx *Tx) error {
		for _, c := range []struct {
			key, member string
			score       float64
			ok          bool
		}{{"z", "a", 1, true}, {"z", "c", 0, false}, {"s", "a", 1, true}, {"s", "c", 1, true}, {"s", "b", 0, false}, {"none", "a", 0, false}} {
			op, err := tx.LoadZOperand(0, []byte(c.key))
			if err != nil {
				return err
			}
			sc, ok, err := op.Score([]byte(c.member))
			if err != nil || ok != c.ok || (ok && sc != c.score) {
				t.Fatalf("operand %s score %s = %v %v %v", c.key, c.member, sc, ok, err)
			}
		}
		op, _ := tx.LoadZOperand(0, []byte("s"))
		var got []string
		err := op.Each(func(m []byte, score float64) error {
			got = append(got, fmt.Sprintf("%s:%v", m, score))
			return nil
		})
		if fmt.Sprint(got) != "[a:1 c:1]" || op.Card() != 2 {
			t.Fatalf("set operand members = %v card %d", got, op.Card())
		}
		return err
	})
}

func TestZSetRandom(t *testing.T) {
	s := openTest(t, t.TempDir())
	for _, n := range []int{5, 1000} {
		key := fmt.Sprintf("z%d", n)
		var kv []any
		for i := 0; i < n; i++ {
			kv = append(kv, float64(i), fmt.Sprintf("m%04d", i))
		}
		ztAdd(t, s, key, ZAddOptions{}, kv...)
		ztRead(t, s, func(tx *Tx) error {
			z := ztLoad(t, tx, key)
			for _, count := range []int64{1, 3, -7, int64(n), int64(n) + 5, -int64(2 * n)} {
				items, err := z.Random(count)
				if err != nil {
					return err
				}
				want := count
				if count < 0 {
					want = -count
				} else if count > int64(n) {
					want = int64(n)
				}
				if int64(len(items)) != want {
					t.Fatalf("n=%d random %d gave %d", n, count, len(items))
				}
				seen := map[string]bool{}
				for _, e := range items {
					var i int
					fmt.Sscanf(string(e.Member), "m%d", &i)
					if e.Score != float64(i) {
						t.Fatalf("random element %s has score %v", e.Member, e.Score)
					}
					if count > 0 && seen[string(e.Member)] {
						t.Fatalf("n=%d random %d repeated %s", n, count, e.Member)
					}
					seen[string(e.Member)] = true
				}
			}
			return nil
		})
	}
}

// TestZSetAgainstModel runs random changes against the store and an in-memory model
// and compares every kind of read.
func TestZSetAgainstModel(t *testing.T) {
	s := openTest(t, t.TempDir())
	rng := rand.New(rand.NewPCG(1, 2))
	model := rtModel{}
	scores := []float64{math.Inf(-1), -3, -1.5, 0, 0, 1, 2, 2, 2, 7.25, 100, math.Inf(1)}
	for round := 0; round < 60; round++ {
		ztWrite(t, s, func(tx *Tx) error {
			for op := 0; op < 20; op++ {
				m := fmt.Sprintf("m%02d", rng.IntN(80))
				switch rng.IntN(4) {
				case 0, 1:
					sc := scores[rng.IntN(len(scores))]
					if _, err := tx.ZAdd(0, []byte("z"), ZAddOptions{}, ztPairs(sc, m)); err != nil {
						return err
					}
					model[m] = sc
				case 2:
					z, err := tx.LoadZSet(0, []byte("z"))
					if err != nil {
						return err
					}
					ok, err := z.Remove([]byte(m))
					if err != nil {
						return err
					}
					if _, in := model[m]; in != ok {
						t.Fatalf("remove %s = %v, model has it: %v", m, ok, in)
					}
					delete(model, m)
					z.Save()
				case 3:
					z, err := tx.LoadZSet(0, []byte("z"))
					if err != nil {
						return err
					}
					max := rng.IntN(2) == 0
					items, err := z.Pop(max, int64(rng.IntN(3)))
					if err != nil {
						return err
					}
					for _, e := range items {
						delete(model, string(e.Member))
					}
				}
			}
			return nil
		})
		want := model.sorted()
		n := int64(len(want))
		ztRead(t, s, func(tx *Tx) error {
			z := ztLoad(t, tx, "z")
			if z.Card() != n {
				t.Fatalf("round %d: card %d, model %d", round, z.Card(), n)
			}
			all, err := z.Members()
			if err != nil {
				return err
			}
			if ztStr(all) != ztStr(want) {
				t.Fatalf("round %d: members\n%s\nwant\n%s", round, ztStr(all), ztStr(want))
			}
			for i := 0; i < 10; i++ {
				a, b := rng.Int64N(n+4)-2, rng.Int64N(n+4)-2
				if rng.IntN(3) == 0 {
					a, b = -a, -b
				}
				got, err := z.RangeByRank(a, b, false)
				if err != nil {
					return err
				}
				lo, hi, ok := zRankWindow(a, b, n)
				exp := ""
				if ok {
					exp = ztStr(want[lo : hi+1])
				}
				if ztStr(got) != exp {
					t.Fatalf("round %d: rank %d %d = %s, want %s", round, a, b, ztStr(got), exp)
				}
				lo2, hi2 := scores[rng.IntN(len(scores))], scores[rng.IntN(len(scores))]
				r := ScoreRange{ScoreBound{lo2, rng.IntN(2) == 0}, ScoreBound{hi2, rng.IntN(2) == 0}}
				var in []ScoredMember
				for _, e := range want {
					if (e.Score > lo2 || !r.Min.Excl && e.Score == lo2) && (e.Score < hi2 || !r.Max.Excl && e.Score == hi2) {
						in = append(in, e)
					}
				}
				gotS, err := z.RangeByScore(r, false, 0, -1)
				if err != nil {
					return err
				}
				if ztStr(gotS) != ztStr(in) {
					t.Fatalf("round %d: score range %+v = %s, want %s", round, r, ztStr(gotS), ztStr(in))
				}
				cnt, err := z.CountByScore(r)
				if err != nil || cnt != int64(len(in)) {
					t.Fatalf("round %d: count %+v = %d %v, want %d", round, r, cnt, err, len(in))
				}
			}
			for i, e := range want {
				r, ok, err := z.Rank(e.Member, i%2 == 1)
				exp := int64(i)
				if i%2 == 1 {
					exp = n - 1 - int64(i)
				}
				if err != nil || !ok || r != exp {
					t.Fatalf("round %d: rank %s = %d %v %v, want %d", round, e.Member, r, ok, err, exp)
				}
			}
			return nil
		})
		if m, idx := ztRaw(t, s, "z"); int64(m) != n || int64(idx) != n {
			// Old versions are range-deleted, so the raw records match the model.
			t.Fatalf("round %d: %d member and %d index records for %d members", round, m, idx, n)
		}
	}
}
