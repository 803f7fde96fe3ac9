package store

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linxGnu/grocksdb"
)

// rtRecords returns the rank records of key's current version, rendered "level:suffix=count".
func rtRecords(t testing.TB, tx *Tx, z *ZSet) []string {
	t.Helper()
	p := memberPrefix(prefixRank, z.K.DB, z.K.Name, z.K.Meta.Version)
	it := tx.iter(p, prefixEnd(p))
	defer it.Close()
	var out []string
	for it.SeekFirst(); it.Valid(); it.Next() {
		k := it.Key()[len(p):]
		if k[0]&rankCounts != 0 {
			out = append(out, fmt.Sprintf("C%d:%x=%d", k[0]&^rankCounts, k[1:], decodeU64(it.Value())))
		} else {
			out = append(out, fmt.Sprintf("N%d:%x=%q", k[0], k[1:], it.Value()))
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rtExpected computes, from the score index alone, the rank records a set must have.
func rtExpected(t testing.TB, tx *Tx, z *ZSet) []string {
	t.Helper()
	var sfxs [][]byte
	it := z.index()
	for it.SeekFirst(); it.Valid(); it.Next() {
		sfxs = append(sfxs, bytes.Clone(it.Key()[z.idxOff():]))
	}
	it.Close()
	var out []string
	for l := 1; l <= rankLevels(uint64(len(sfxs))); l++ {
		cnt := 0
		for _, s := range sfxs {
			cnt++
			if memberLevel(s[8:]) >= l {
				out = append(out, fmt.Sprintf("C%d:%x=%d", l, s, cnt), fmt.Sprintf("N%d:%x=%q", l, s, ""))
				cnt = 0
			}
		}
		out = append(out, fmt.Sprintf("C%d:%x=%d", l, rankTail, cnt))
	}
	slices.Sort(out)
	return out
}

// rtCheckIndex fails unless key's rank index is exactly what its contents imply.
func rtCheckIndex(t testing.TB, s *Store, key string) {
	t.Helper()
	ztRead(t, s, func(tx *Tx) error {
		z := ztLoad(t, tx, key)
		got, want := rtRecords(t, tx, z), rtExpected(t, tx, z)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("rank index of %s (%d members): %d records, want %d\ngot  %.400v\nwant %.400v",
				key, z.Card(), len(got), len(want), got, want)
		}
		return nil
	})
}

// withRankShape shrinks the index for one test, so that few members make many levels.
func withRankShape(t *testing.T, shift, first uint64) {
	oldShift, oldFirst := rankShift, rankFirst
	rankShift, rankFirst = shift, first
	t.Cleanup(func() { rankShift, rankFirst = oldShift, oldFirst })
}

func TestRankLevels(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want int
	}{{0, 0}, {1023, 0}, {1024, 1}, {1<<18 - 1, 1}, {1 << 18, 2}, {1<<26 - 1, 2}, {1 << 26, 3}, {^uint64(0), 7}} {
		if got := rankLevels(c.n); got != c.want {
			t.Errorf("rankLevels(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// rtModel is a sorted set in memory.
type rtModel map[string]float64

func (m rtModel) sorted() []ScoredMember {
	out := make([]ScoredMember, 0, len(m))
	for k, v := range m {
		out = append(out, ScoredMember{Member: []byte(k), Score: v})
	}
	slices.SortFunc(out, func(a, b ScoredMember) int {
		if c := cmp.Compare(a.Score, b.Score); c != 0 {
			return c
		}
		return bytes.Compare(a.Member, b.Member)
	})
	return out
}

// rtCompare checks ranks, rank ranges and score counts of key against the model.
func rtCompare(t *testing.T, s *Store, key string, m rtModel, rng *rand.Rand) {
	t.Helper()
	want := m.sorted()
	n := int64(len(want))
	ztRead(t, s, func(tx *Tx) error {
		z := ztLoad(t, tx, key)
		if z.Card() != n {
			t.Fatalf("card %d, model %d", z.Card(), n)
		}
		for i := 0; i < 40 && n > 0; i++ {
			j := rng.Int64N(n)
			e := want[j]
			r, ok, err := z.Rank(e.Member, false)
			if err != nil || !ok || r != j {
				t.Fatalf("rank of %s = %d %v %v, want %d", e.Member, r, ok, err, j)
			}
			k := rng.Int64N(20)
			got, err := z.RangeByRank(j, j+k, i%2 == 1)
			if err != nil {
				return err
			}
			lo, hi := j, min(j+k, n-1)
			var exp []ScoredMember
			if i%2 == 1 {
				lo, hi = n-1-hi, n-1-lo
				exp = slices.Clone(want[lo : hi+1])
				slices.Reverse(exp)
			} else {
				exp = want[lo : hi+1]
			}
			if ztStr(got) != ztStr(exp) {
				t.Fatalf("range %d..%d rev=%v over %d = %.200s, want %.200s", j, j+k, i%2 == 1, n, ztStr(got), ztStr(exp))
			}
			a, b := float64(rng.IntN(1000)), float64(rng.IntN(1000))
			r2 := ScoreRange{ScoreBound{a, i%3 == 0}, ScoreBound{b, i%4 == 0}}
			var in int64
			for _, e := range want {
				if (e.Score > a || !r2.Min.Excl && e.Score == a) && (e.Score < b || !r2.Max.Excl && e.Score == b) {
					in++
				}
			}
			c, err := z.CountByScore(r2)
			if err != nil || c != in {
				t.Fatalf("count %+v = %d %v, want %d", r2, c, err, in)
			}
		}
		return nil
	})
}

// The rank index stays exact through every kind of write, as the set grows past level
// thresholds and shrinks back below them: with the real shape (one level past 1024
// members) and with a small one (levels at 16, 64, 256, 1024, 4096 members).
func TestZSetRankIndexAgainstModel(t *testing.T) {
	t.Run("shape", func(t *testing.T) { rankModelRun(t, 1100, 1023) })
	t.Run("small", func(t *testing.T) {
		withRankShape(t, 2, 16)
		rankModelRun(t, 5000, 15)
	})
}

// rankModelRun grows a set one member at a time past rankFirst, in bulk to size, mixes
// writes, then shrinks it to size/4 and to last.
func rankModelRun(t *testing.T, size, last int) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	m := rtModel{}
	member := func() string { return fmt.Sprintf("m%05d", rng.IntN(size*3/2)) }
	score := func() float64 { return float64(rng.IntN(1000)) }
	add := func(k int) {
		ztWrite(t, s, func(tx *Tx) error {
			var ps []ScoredMember
			for i := 0; i < k; i++ {
				e := ScoredMember{Member: []byte(member()), Score: score()}
				ps = append(ps, e)
				m[string(e.Member)] = e.Score
			}
			_, err := tx.ZAdd(0, []byte("z"), ZAddOptions{}, ps)
			return err
		})
	}
	// Grow one element at a time through the first threshold, then in bulk.
	for uint64(len(m)) < rankFirst+40 {
		add(1)
	}
	rtCheckIndex(t, s, "z")
	rtCompare(t, s, "z", m, rng)
	for len(m) < size {
		add(size / 20)
	}
	rtCheckIndex(t, s, "z")
	rtCompare(t, s, "z", m, rng)
	// Mixed writes, checked as they go.
	for round := 0; round < 30; round++ {
		ztWrite(t, s, func(tx *Tx) error {
			z, err := tx.LoadZSet(0, []byte("z"))
			if err != nil {
				return err
			}
			switch round % 5 {
			case 0: // score changes of existing members, ZINCRBY
				for i := 0; i < 50; i++ {
					e := m.sorted()[rng.IntN(len(m))]
					d := score() - 500
					if _, err := tx.ZAdd(0, []byte("z"), ZAddOptions{Incr: true}, []ScoredMember{{Member: e.Member, Score: d}}); err != nil {
						return err
					}
					m[string(e.Member)] += d
				}
			case 1: // ZREM
				for i := 0; i < 100; i++ {
					k := member()
					ok, err := z.Remove([]byte(k))
					if err != nil {
						return err
					}
					if _, in := m[k]; in != ok {
						t.Fatalf("remove %s = %v", k, ok)
					}
					delete(m, k)
				}
				z.Save()
			case 2: // ZPOPMIN / ZPOPMAX
				out, err := z.Pop(round%2 == 0, 40)
				if err != nil {
					return err
				}
				for _, e := range out {
					delete(m, string(e.Member))
				}
			case 3: // ZREMRANGEBYRANK in the middle
				start := int64(rng.IntN(len(m) - 60))
				items, err := z.RangeByRank(start, start+60, false)
				if err != nil {
					return err
				}
				if _, err := z.RemoveRangeByRank(start, start+60); err != nil {
					return err
				}
				for _, e := range items {
					delete(m, string(e.Member))
				}
			case 4: // ZREMRANGEBYSCORE
				a := score()
				items, err := z.RangeByScore(ScoreRange{ScoreBound{a, false}, ScoreBound{a + 2, false}}, false, 0, -1)
				if err != nil {
					return err
				}
				if _, err := z.RemoveRangeByScore(ScoreRange{ScoreBound{a, false}, ScoreBound{a + 2, false}}); err != nil {
					return err
				}
				for _, e := range items {
					delete(m, string(e.Member))
				}
			}
			return nil
		})
		if round%10 == 9 {
			rtCheckIndex(t, s, "z")
		}
		rtCompare(t, s, "z", m, rng)
	}
	// Shrink below 16384 and then below 256: the top levels go.
	shrinkTo := func(n int) {
		for len(m) > n {
			ztWrite(t, s, func(tx *Tx) error {
				z, err := tx.LoadZSet(0, []byte("z"))
				if err != nil {
					return err
				}
				out, err := z.Pop(false, int64(min(len(m)-n, 300)))
				for _, e := range out {
					delete(m, string(e.Member))
				}
				return err
			})
		}
	}
	shrinkTo(size / 4)
	rtCheckIndex(t, s, "z")
	rtCompare(t, s, "z", m, rng)
	shrinkTo(last)
	rtCheckIndex(t, s, "z")
	rtCompare(t, s, "z", m, rng)
	if _, _, r := ztRawAll(t, s, "z"); r != 0 {
		t.Fatalf("%d rank records left in a set of %d", r, len(m))
	}
}

// ztRawAll counts the raw member, score-index and rank records of key, every version.
func ztRawAll(t testing.TB, s *Store, key string) (members, index, rank int) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	var n [3]int
	for i, p := range []byte{prefixMember, prefixScore, prefixRank} {
		kp := keyPrefix(p, 0, []byte(key))
		it := tx.iter(kp, prefixEnd(kp))
		for it.SeekFirst(); it.Valid(); it.Next() {
			n[i]++
		}
		it.Close()
	}
	return n[0], n[1], n[2]
}

// Reads by rank cost O(log n) steps, not O(n).
func TestZSetRankReadsAreLogarithmic(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	const n = 40000
	ztWrite(t, s, func(tx *Tx) error {
		var ps []ScoredMember
		for i := 0; i < n; i++ {
			ps = append(ps, ScoredMember{Member: []byte(fmt.Sprintf("m%06d", i)), Score: float64(i)})
		}
		return tx.StoreZSet(0, []byte("z"), ps)
	})
	rtCheckIndex(t, s, "z")
	// One level of about n/256 = 156 counts, then one bucket of the score index (256
	// expected, about a thousand at worst): without the index a lookup in the middle
	// steps over 20,000 entries.
	const budget = 2000
	cost := func(name string, f func(z *ZSet) error) {
		t.Helper()
		tx := s.Begin()
		defer tx.Close()
		z := ztLoad(t, tx, "z")
		if err := f(z); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d steps", name, tx.steps)
		if tx.steps > budget {
			t.Errorf("%s took %d iterator steps in a set of %d", name, tx.steps, n)
		}
	}
	cost("ZRANK", func(z *ZSet) error {
		r, ok, err := z.Rank([]byte("m020000"), false)
		if err == nil && (!ok || r != 20000) {
			t.Errorf("rank %d %v", r, ok)
		}
		return err
	})
	cost("ZREVRANK", func(z *ZSet) error {
		r, ok, err := z.Rank([]byte("m019000"), true)
		if err == nil && (!ok || r != n-1-19000) {
			t.Errorf("revrank %d %v", r, ok)
		}
		return err
	})
	cost("ZRANGE", func(z *ZSet) error {
		got, err := z.RangeByRank(21000, 21002, false)
		if err == nil && ztStr(got) != "m021000:21000 m021001:21001 m021002:21002" {
			t.Errorf("range %s", ztStr(got))
		}
		return err
	})
	cost("ZCOUNT", func(z *ZSet) error {
		c, err := z.CountByScore(ScoreRange{ScoreBound{Value: 10000}, ScoreBound{Value: 30000, Excl: true}})
		if err == nil && c != 20000 {
			t.Errorf("count %d", c)
		}
		return err
	})
	cost("ZADD", func(z *ZSet) error {
		_, err := z.tx.ZAdd(0, []byte("z"), ZAddOptions{}, ztPairs(20000.5, "new"))
		return err
	})
}

// A set written without the index (format 1) reads correctly, and its first write
// builds the index.
func TestZSetRankIndexBuiltOnFirstWrite(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	m := rtModel{}
	ztWrite(t, s, func(tx *Tx) error {
		var ps []ScoredMember
		for i := 0; i < 5000; i++ {
			e := ScoredMember{Member: []byte(fmt.Sprintf("k%d", i)), Score: float64(i % 97)}
			m[string(e.Member)] = e.Score
			ps = append(ps, e)
		}
		_, err := tx.ZAdd(0, []byte("old"), ZAddOptions{}, ps)
		return err
	})
	kp := keyPrefix(prefixRank, 0, []byte("old"))
	wb := grocksdb.NewWriteBatch()
	wb.DeleteRange(kp, prefixEnd(kp))
	err := s.db.Write(s.wo, wb)
	wb.Destroy()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, r := ztRawAll(t, s, "old"); r != 0 {
		t.Fatalf("%d rank records after the delete", r)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	rtCompare(t, s, "old", m, rng)
	ztAdd(t, s, "old", ZAddOptions{}, 3.5, "fresh")
	m["fresh"] = 3.5
	rtCheckIndex(t, s, "old")
	rtCompare(t, s, "old", m, rng)
}

// COPY, RENAME and DEL carry or drop the rank index with the set.
func TestZSetRankIndexCopyAndDelete(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ztWrite(t, s, func(tx *Tx) error {
		var ps []ScoredMember
		for i := 0; i < 1000; i++ {
			ps = append(ps, ScoredMember{Member: []byte(fmt.Sprintf("c%d", i)), Score: float64(i)})
		}
		_, err := tx.ZAdd(0, []byte("a"), ZAddOptions{}, ps)
		return err
	})
	ztWrite(t, s, func(tx *Tx) error {
		_, err := tx.Copy(0, []byte("a"), 0, []byte("b"), false)
		return err
	})
	rtCheckIndex(t, s, "b")
	ztAdd(t, s, "b", ZAddOptions{}, 1.5, "x")
	rtCheckIndex(t, s, "b")
	ztRead(t, s, func(tx *Tx) error {
		r, _, err := ztLoad(t, tx, "b").Rank([]byte("x"), false)
		if err == nil && r != 2 {
			t.Errorf("rank of x in the copy = %d", r)
		}
		return err
	})
	ztWrite(t, s, func(tx *Tx) error {
		k, err := tx.Load(0, []byte("a"))
		if err == nil {
			tx.Delete(k)
		}
		return err
	})
	if mem, idx, r := ztRawAll(t, s, "a"); mem+idx+r != 0 {
		t.Fatalf("deleted set left %d member, %d index, %d rank records", mem, idx, r)
	}
}

// BenchmarkZSetPopMin pops from the front of a large set, one transaction per 100.
func BenchmarkZSetPopMin(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	n := max(b.N, 20000)
	for i := 0; i < n; i += 5000 {
		ztWrite(b, s, func(tx *Tx) error {
			var ps []ScoredMember
			for j := i; j < min(i+5000, n); j++ {
				ps = append(ps, ScoredMember{Member: []byte(fmt.Sprintf("m%08d", j)), Score: float64(j)})
			}
			_, err := tx.ZAdd(0, []byte("z"), ZAddOptions{}, ps)
			return err
		})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += 100 {
		ztWrite(b, s, func(tx *Tx) error {
			z, err := tx.LoadZSet(0, []byte("z"))
			if err == nil {
				_, err = z.Pop(false, int64(min(100, b.N-i)))
			}
			return err
		})
	}
}

// BenchmarkZSetAdd adds new members to a large set, one per transaction.
func BenchmarkZSetAdd(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ztWrite(b, s, func(tx *Tx) error {
			_, err := tx.ZAdd(0, []byte("z"), ZAddOptions{}, ztPairs(float64(rng.IntN(1e6)), fmt.Sprintf("element:%d", rng.IntN(1e6))))
			return err
		})
	}
}

// rtQueue commits tx as the server does: queued while the key lock is held, waited for
// once it is released. It reports false, failing the test, when err is set.
func rtQueue(t *testing.T, s *Store, unlock Unlocker, tx *Tx, err error) bool {
	defer tx.Close()
	if err != nil {
		unlock()
		t.Error(err)
		return false
	}
	p := s.Submit(tx)
	unlock()
	if _, err := s.Wait(p); err != nil {
		t.Error(err)
	}
	return true
}

// Writers of one set running as the server runs them (key lock, queue, release, wait)
// keep its index exact through the rank cache, also when the cache is too small to
// hold a level and when records from a master clear it.
func TestZSetRankIndexConcurrentWriters(t *testing.T) {
	withRankShape(t, 3, 32)
	for _, small := range []bool{false, true} {
		s := openTest(t, t.TempDir())
		if small {
			s.ranks.max = 2000
		}
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 9))
				for i := 0; i < 1500; i++ {
					unlock := s.LockKeys(0, []byte("z"))
					tx := s.Begin()
					var err error
					if rng.IntN(4) == 0 {
						var z *ZSet
						if z, err = tx.LoadZSet(0, []byte("z")); err == nil {
							_, err = z.Remove([]byte(fmt.Sprintf("m%d", rng.IntN(3000))))
							z.Save()
						}
					} else {
						var ps []ScoredMember
						for j := 0; j <= rng.IntN(3); j++ {
							ps = append(ps, ScoredMember{Member: []byte(fmt.Sprintf("m%d", rng.IntN(3000))), Score: float64(rng.IntN(50))})
						}
						_, err = tx.ZAdd(0, []byte("z"), ZAddOptions{}, ps)
					}
					if !rtQueue(t, s, unlock, tx, err) {
						return
					}
				}
			}(w)
		}
		wg.Wait()
		rtCheckIndex(t, s, "z")
		if levels, _ := s.ranks.size(); !small && levels == 0 {
			t.Error("the writers never cached a level")
		}
		s.Close()
	}
}

// Reads without locks, while writers swap members' scores, always see one consistent
// state: the multiset of scores never changes, so every ZCOUNT is fixed and the score
// at each rank too. The reads are mostly answered from the rank cache.
func TestZSetRankReadsConsistentUnderWrites(t *testing.T) {
	for _, small := range []bool{false, true} {
		t.Run(fmt.Sprintf("small=%v", small), func(t *testing.T) {
			if small {
				withRankShape(t, 3, 32)
			}
			s := openTest(t, t.TempDir())
			defer s.Close()
			const n = 3000
			var ps []ScoredMember
			var scores []float64
			for i := 0; i < n; i++ {
				sc := float64(i % 700)
				ps = append(ps, ScoredMember{Member: []byte(fmt.Sprintf("m%d", i)), Score: sc})
				scores = append(scores, sc)
			}
			slices.Sort(scores)
			ztWrite(t, s, func(tx *Tx) error { _, err := tx.ZAdd(0, []byte("z"), ZAddOptions{}, ps); return err })
			want := func(lo, hi float64) int64 { // scores in [lo, hi)
				a, _ := slices.BinarySearch(scores, lo)
				b, _ := slices.BinarySearch(scores, hi)
				return int64(b - a)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			defer func() { // before the store closes, also when a check fails
				close(stop)
				wg.Wait()
			}()
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for {
						select {
						case <-stop:
							return
						default:
						}
						unlock := s.LockKeys(0, []byte("z"))
						tx := s.Begin()
						a, b := fmt.Sprintf("m%d", rng.IntN(n)), fmt.Sprintf("m%d", rng.IntN(n))
						z, err := tx.LoadZSet(0, []byte("z"))
						var sa, sb float64
						if err == nil {
							sa, _, err = z.Score([]byte(a))
						}
						if err == nil {
							sb, _, err = z.Score([]byte(b))
						}
						if err == nil { // swap the two scores in one transaction
							_, err = tx.ZAdd(0, []byte("z"), ZAddOptions{}, []ScoredMember{{Member: []byte(a), Score: sb}, {Member: []byte(b), Score: sa}})
						}
						if !rtQueue(t, s, unlock, tx, err) {
							return
						}
					}
				}(w)
			}
			var reads int
			deadline := time.Now().Add(1500 * time.Millisecond)
			for time.Now().Before(deadline) && !t.Failed() {
				tx := s.Begin()
				z, err := tx.LoadZSet(0, []byte("z"))
				if err != nil {
					tx.Close()
					t.Fatal(err)
				}
				lo := float64(reads % 600)
				c, err := z.CountByScore(ScoreRange{ScoreBound{Value: lo}, ScoreBound{Value: lo + 50, Excl: true}})
				if err != nil || c != want(lo, lo+50) {
					t.Errorf("ZCOUNT [%v, %v) = %d %v, want %d", lo, lo+50, c, err, want(lo, lo+50))
				}
				r := int64(reads * 37 % (n - 1))
				got, err := z.RangeByRank(r, r+1, false)
				if err != nil || len(got) != 2 || got[0].Score != scores[r] || got[1].Score != scores[r+1] {
					t.Errorf("ranks %d..%d = %v %v, want scores %v %v", r, r+1, got, err, scores[r], scores[r+1])
				}
				tx.Close()
				reads++
			}
			if served := s.ranks.served.Load(); served == 0 {
				t.Errorf("none of %d reads came from the rank cache", reads)
			} else {
				t.Logf("%d reads, %d answered from the rank cache", reads, served)
			}
		})
	}
}

// Rank records decode as such (dumps read every record), and malformed ones are
// refused.
func TestDecodeRankRecords(t *testing.T) {
	withRankShape(t, 2, 16)
	dir := filepath.Join(t.TempDir(), "db")
	s := openTest(t, dir)
	ztWrite(t, s, func(tx *Tx) error {
		var ps []ScoredMember
		for i := 0; i < 500; i++ {
			ps = append(ps, ScoredMember{Member: []byte(fmt.Sprintf("d%d", i)), Score: float64(i % 9)})
		}
		_, err := tx.ZAdd(0, []byte("z"), ZAddOptions{}, ps)
		return err
	})
	s.Close()
	r, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var nodes, counts int
	var aNode, aCount []byte
	err = r.ForEach(func(k, v []byte) error {
		rec, err := DecodeRecord(k, v)
		if err != nil || rec.Kind != RecordRank {
			return err
		}
		if string(rec.Key) != "z" {
			t.Errorf("rank record of key %q", rec.Key)
		}
		if rec.Member[0]&rankCounts != 0 {
			counts++
			aCount = bytes.Clone(k)
		} else {
			nodes++
			aNode = bytes.Clone(k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if nodes == 0 || counts <= nodes {
		t.Fatalf("%d node and %d count records", nodes, counts)
	}
	for _, c := range []struct {
		k, v []byte
	}{{aNode, encodeU64(1)}, {aCount, nil}, {aCount, []byte{1, 2}}, {aNode[:20], nil}} {
		if _, err := DecodeRecord(c.k, c.v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeRecord(%q, %x) = %v, want corruption", c.k, c.v, err)
		}
	}
}
