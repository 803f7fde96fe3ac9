package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
)

// Sorted sets.
//
// Every member of a sorted set has two records, and every change keeps them in step:
//
//	member record  s | db | len(key) | key | version | member                 -> score (8 bytes, encodeScore)
//	score index    z | db | len(key) | key | version | score (8 bytes) | member -> empty
//
// The member record answers ZSCORE, ZMSCORE and ZINCRBY with one point read. The score
// index orders the members by (score, member) exactly as Redis does (-0 and +0 are one
// score; -inf and +inf sort at the ends), so a score range is one seek to the encoded
// bound followed by k steps: O(log n + k).
//
// Ranks. An LSM tree keeps no order statistics, so a third kind of record, the rank
// index (zset_rank.go), keeps counts in a skip list over the score index: ZRANK, ZCOUNT
// and every read by rank cost O(log n) seeks plus the k elements returned, and every
// added or removed member updates one count per level.
//
// Lex ranges. Redis defines ZRANGEBYLEX only when all members share one score; with
// mixed scores its result depends on the encoding. Strata follows the listpack encoding
// (what Redis uses for small sets), which is deterministic: the range is empty unless
// the last element is >= min and the first is <= max; otherwise, scanning from the
// front, the first element whose member is >= min starts the range, which then runs
// while members are <= max (mirrored for the REV forms). Within one score the members
// are sorted, so each score group costs one seek: with a single score (the documented
// use) a lex range is O(log n + k).

// ErrScoreNaN: an increment produced NaN (inf + -inf).
var ErrScoreNaN = errors.New("store: resulting score is not a number (NaN)")

// ScoredMember is one element of a sorted set.
type ScoredMember struct {
	Member []byte
	Score  float64
}

// ScoreBound is one end of a score range; Excl makes it exclusive ('(' in Redis).
type ScoreBound struct {
	Value float64
	Excl  bool
}

// ScoreRange is an interval of scores, min to max.
type ScoreRange struct{ Min, Max ScoreBound }

// LexBound is one end of a lexicographic range: Inf -1 is '-', +1 is '+', 0 a member
// ('[' inclusive, '(' exclusive).
type LexBound struct {
	Value []byte
	Excl  bool
	Inf   int
}

// LexRange is an interval of members, min to max.
type LexRange struct{ Min, Max LexBound }

// ZSet is a handle on one sorted-set key inside a transaction. A missing key loads as
// an empty set; Save writes the metadata back (and deletes an emptied key).
type ZSet struct {
	tx *Tx
	K  *Key
}

// LoadZSet loads a sorted set (missing keys load empty); another type is ErrWrongType.
func (tx *Tx) LoadZSet(db int, name []byte) (*ZSet, error) {
	k, err := tx.LoadType(db, name, TypeZSet)
	if err != nil {
		return nil, err
	}
	return &ZSet{tx: tx, K: k}, nil
}

// Exists reports whether the sorted set exists (has members).
func (z *ZSet) Exists() bool { return z.K.Exists() }

// Card is the number of members, O(1).
func (z *ZSet) Card() int64 {
	if !z.K.Exists() {
		return 0
	}
	return int64(z.K.Meta.Count)
}

// create gives a missing key fresh metadata so members can be added.
func (z *ZSet) create() {
	if !z.K.Exists() {
		z.tx.Reset(z.K, TypeZSet)
	}
}

// Save writes the metadata back; an emptied set is deleted.
func (z *ZSet) Save() { z.tx.Save(z.K) }

// idxPrefix is the prefix of the score index of the current version.
func (z *ZSet) idxPrefix() []byte {
	return memberPrefix(prefixScore, z.K.DB, z.K.Name, z.K.Meta.Version)
}

// idxKey is the score-index key of (score bits, member).
func (z *ZSet) idxKey(bits uint64, member []byte) []byte {
	b := binary.BigEndian.AppendUint64(z.idxPrefix(), bits)
	return append(b, member...)
}

func (z *ZSet) idxOff() int { return 2 + 4 + len(z.K.Name) + 8 }

// idxDecode splits a raw index key into its score bits and member (not copied).
func (z *ZSet) idxDecode(raw []byte) (uint64, []byte) {
	off := z.idxOff()
	return binary.BigEndian.Uint64(raw[off:]), raw[off+8:]
}

func (z *ZSet) idxEntry(raw []byte) ScoredMember {
	bits, m := z.idxDecode(raw)
	return ScoredMember{Member: bytes.Clone(m), Score: decodeScore(bits)}
}

// index opens an iterator over the whole score index of the current version.
func (z *ZSet) index() *Iter {
	p := z.idxPrefix()
	return z.tx.iter(p, prefixEnd(p))
}

func zNormScore(f float64) float64 {
	if f == 0 {
		return 0 // -0 and +0 are one score
	}
	return f
}

func zDecodeScore(v []byte) (float64, error) {
	if len(v) != 8 {
		return 0, corruptf("sorted set score has %d bytes", len(v))
	}
	return decodeScore(binary.BigEndian.Uint64(v)), nil
}

// Score returns a member's score.
func (z *ZSet) Score(member []byte) (float64, bool, error) {
	if !z.K.Exists() {
		return 0, false, nil
	}
	v, err := z.tx.getMember(z.K, member)
	if err != nil || v == nil {
		return 0, false, err
	}
	s, err := zDecodeScore(v)
	return s, err == nil, err
}

// put sets member's score, given its current score (existed false: a new member).
func (z *ZSet) put(member []byte, score, old float64, existed bool) error {
	score = zNormScore(score)
	bits := encodeScore(score)
	if existed {
		ob := encodeScore(old)
		if ob == bits {
			return nil
		}
		if err := z.del(member, old); err != nil {
			return err
		}
	}
	n := z.K.Meta.Count
	z.K.Meta.Count++
	z.tx.putMember(z.K, member, encodeU64(bits))
	k := z.idxKey(bits, member)
	z.tx.put(k, nil)
	return z.rankInsert(k[z.idxOff():], n)
}

// del removes a member whose score is known.
func (z *ZSet) del(member []byte, score float64) error {
	n := z.K.Meta.Count
	z.K.Meta.Count--
	k := z.idxKey(encodeScore(score), member)
	z.tx.delMember(z.K, member)
	z.tx.del(k)
	return z.rankRemove(k[z.idxOff():], n)
}

// Remove deletes a member; it reports whether the member was there. Call Save after.
func (z *ZSet) Remove(member []byte) (bool, error) {
	s, ok, err := z.Score(member)
	if err != nil || !ok {
		return false, err
	}
	return true, z.del(member, s)
}

// ZAddOptions are ZADD's modifiers.
type ZAddOptions struct {
	NX, XX, GT, LT, CH, Incr bool
}

// ZAddResult reports what ZADD did.
type ZAddResult struct {
	Added, Updated int64
	// Incr: the new score, and whether the increment was applied (false: reply nil).
	Score   float64
	Applied bool
}

// ZAdd adds or updates members as ZADD does (and ZINCRBY, with Incr). With Incr there
// is exactly one pair and its score is the increment.
func (tx *Tx) ZAdd(db int, key []byte, o ZAddOptions, pairs []ScoredMember) (ZAddResult, error) {
	var r ZAddResult
	z, err := tx.LoadZSet(db, key)
	if err != nil {
		return r, err
	}
	if !z.Exists() && o.XX {
		return r, nil
	}
	z.create()
	changed := false
	for _, p := range pairs {
		cur, exists, err := z.Score(p.Member)
		if err != nil {
			return r, err
		}
		score := p.Score
		if exists {
			if o.NX {
				continue
			}
			if o.Incr {
				score += cur
				if math.IsNaN(score) {
					return ZAddResult{}, ErrScoreNaN
				}
			}
			if (o.GT && score <= cur) || (o.LT && score >= cur) {
				continue
			}
			r.Score, r.Applied = zNormScore(score), true
			if encodeScore(score) != encodeScore(cur) {
				if err := z.put(p.Member, score, cur, true); err != nil {
					return ZAddResult{}, err
				}
				r.Updated++
				changed = true
			}
			continue
		}
		if o.XX {
			continue
		}
		if err := z.put(p.Member, score, 0, false); err != nil {
			return ZAddResult{}, err
		}
		r.Score, r.Applied = zNormScore(score), true
		r.Added++
		changed = true
	}
	if changed {
		z.Save()
	}
	return r, nil
}

// ScoreSpan turns a score range into the raw index keys [lo, hi) it covers.
func (z *ZSet) scoreSpan(r ScoreRange) (lo, hi []byte) {
	p := z.idxPrefix()
	lo = binary.BigEndian.AppendUint64(bytes.Clone(p), encodeScore(r.Min.Value))
	if r.Min.Excl {
		lo = prefixEnd(lo)
	}
	hi = binary.BigEndian.AppendUint64(bytes.Clone(p), encodeScore(r.Max.Value))
	if !r.Max.Excl {
		hi = prefixEnd(hi)
	}
	return lo, hi
}

// countSpan counts the index entries in [lo, hi) (raw index keys of the current
// version): with two rank lookups in one consistent view, O(log n); a set without a
// rank index is small enough to count the span with one iterator.
func (z *ZSet) countSpan(lo, hi []byte) (int64, error) {
	if !z.Exists() || bytes.Compare(lo, hi) >= 0 {
		return 0, nil
	}
	if rankLevels(z.K.Meta.Count) == 0 {
		return z.tx.countKeys(lo, hi)
	}
	los, loAll := z.boundSfx(lo)
	his, hiAll := z.boundSfx(hi)
	var n int64
	err := z.view(func(zz *ZSet, cached bool) (bool, error) {
		a, ok, err := zz.belowBound(los, loAll, cached)
		if err != nil || !ok {
			return ok, err
		}
		b, ok, err := zz.belowBound(his, hiAll, cached)
		n = int64(b) - int64(a)
		return ok, err
	})
	return n, err
}

// boundSfx turns a raw bound into a suffix of the score index; all is -1 when the
// bound is below every element and +1 when above.
func (z *ZSet) boundSfx(k []byte) (sfx []byte, all int) {
	p := z.idxPrefix()
	switch {
	case bytes.HasPrefix(k, p):
		return k[len(p):], 0
	case bytes.Compare(k, p) < 0:
		return nil, -1
	}
	return nil, 1
}

func (z *ZSet) belowBound(sfx []byte, all int, cached bool) (uint64, bool, error) {
	switch all {
	case -1:
		return 0, true, nil
	case 1:
		return uint64(z.Card()), true, nil
	}
	return z.belowIn(sfx, cached)
}

// CountByScore is ZCOUNT.
func (z *ZSet) CountByScore(r ScoreRange) (int64, error) {
	if !z.Exists() {
		return 0, nil
	}
	lo, hi := z.scoreSpan(r)
	return z.countSpan(lo, hi)
}

// Rank returns a member's 0-based rank (from the highest score with rev).
func (z *ZSet) Rank(member []byte, rev bool) (int64, bool, error) {
	if !z.Exists() {
		return 0, false, nil
	}
	if rankLevels(z.K.Meta.Count) == 0 {
		// A small set: find the member with one iterator.
		it := z.index()
		defer it.Close()
		off := z.idxOff()
		var r int64
		for it.SeekFirst(); it.Valid(); it.Next() {
			if bytes.Equal(it.Key()[off+8:], member) {
				if rev {
					r = z.Card() - 1 - r
				}
				return r, true, nil
			}
			r++
		}
		return 0, false, it.Err()
	}
	var r int64
	var found bool
	err := z.view(func(zz *ZSet, cached bool) (bool, error) {
		s, ok, err := zz.Score(member)
		if err != nil || !ok {
			found = false
			return true, err
		}
		b := binary.BigEndian.AppendUint64(nil, encodeScore(s))
		u, ok, err := zz.belowIn(append(b, member...), cached)
		r, found = int64(u), true
		if rev {
			r = zz.Card() - 1 - r
		}
		return ok, err
	})
	return r, found && err == nil, err
}

// zRankWindow applies Redis's rules for start/stop ranks over n elements; ok is false
// when the window is empty.
func zRankWindow(start, stop, n int64) (int64, int64, bool) {
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, 0, false
	}
	if stop >= n {
		stop = n - 1
	}
	return start, stop, true
}

// window turns ZRANGE's start and stop (negative from the end, from the highest score
// with rev) into forward ranks [from, to] over n elements; ok is false when empty.
func window(start, stop, n int64, rev bool) (from, to int64, ok bool) {
	if start, stop, ok = zRankWindow(start, stop, n); !ok || !rev {
		return start, stop, ok
	}
	return n - 1 - stop, n - 1 - start, true
}

// byRank returns the elements ZRANGE start stop [REV] names, in forward order: the
// rank index finds the first, then the score index is read in order, all in one
// consistent view (the window too, since it depends on the set's size).
func (z *ZSet) byRank(start, stop int64, rev bool) ([]ScoredMember, error) {
	if rankLevels(z.K.Meta.Count) == 0 {
		from, to, ok := window(start, stop, z.Card(), rev)
		if !ok {
			return nil, nil
		}
		return z.walkRank(nil, uint64(from), to-from+1)
	}
	var out []ScoredMember
	err := z.view(func(zz *ZSet, cached bool) (bool, error) {
		out = nil
		from, to, ok := window(start, stop, zz.Card(), rev)
		if !ok {
			return true, nil
		}
		after, skip, ok, err := zz.pickIn(uint64(from), cached)
		if err != nil || !ok {
			return ok, err
		}
		out, err = zz.walkRank(after, skip, to-from+1)
		return true, err
	})
	return out, err
}

// walkRank returns k elements of the score index from the element after after (nil:
// the first), skipping skip first.
func (z *ZSet) walkRank(after []byte, skip uint64, k int64) ([]ScoredMember, error) {
	it := z.index()
	defer it.Close()
	seekAfter(it, z.idxPrefix(), after)
	for ; skip > 0 && it.Valid(); skip-- {
		it.Next()
	}
	out := make([]ScoredMember, 0, min(k, 1<<16))
	for ; k > 0 && it.Valid(); k-- {
		out = append(out, z.idxEntry(it.Key()))
		it.Next()
	}
	return out, it.Err()
}

// RangeByRank is ZRANGE by rank: start/stop as Redis takes them (negative from the
// end); with rev, ranks count from the highest score and the result is in that order.
func (z *ZSet) RangeByRank(start, stop int64, rev bool) ([]ScoredMember, error) {
	if !z.Exists() {
		return nil, nil
	}
	out, err := z.byRank(start, stop, rev)
	if rev {
		slices.Reverse(out)
	}
	return out, err
}

// RangeByScore is ZRANGEBYSCORE (rev: ZREVRANGEBYSCORE) with LIMIT offset count;
// count < 0 means no limit, a negative offset gives nothing (as in Redis).
func (z *ZSet) RangeByScore(r ScoreRange, rev bool, offset, count int64) ([]ScoredMember, error) {
	if !z.Exists() || offset < 0 || count == 0 || offset >= z.Card() {
		return nil, nil
	}
	lo, hi := z.scoreSpan(r)
	if bytes.Compare(lo, hi) >= 0 {
		return nil, nil
	}
	it := z.tx.iter(lo, hi)
	defer it.Close()
	step := it.Next
	if rev {
		it.SeekLast()
		step = it.Prev
	} else {
		it.SeekFirst()
	}
	for ; offset > 0 && it.Valid(); offset-- {
		step()
	}
	var out []ScoredMember
	for ; count != 0 && it.Valid(); count-- {
		out = append(out, z.idxEntry(it.Key()))
		step()
	}
	return out, it.Err()
}

func lexGteMin(m []byte, b LexBound) bool {
	switch {
	case b.Inf < 0:
		return true
	case b.Inf > 0:
		return false
	case b.Excl:
		return bytes.Compare(m, b.Value) > 0
	}
	return bytes.Compare(m, b.Value) >= 0
}

func lexLteMax(m []byte, b LexBound) bool {
	switch {
	case b.Inf > 0:
		return true
	case b.Inf < 0:
		return false
	case b.Excl:
		return bytes.Compare(m, b.Value) < 0
	}
	return bytes.Compare(m, b.Value) <= 0
}

// lexCompare orders two bounds, '-' below and '+' above every member.
func lexCompare(a, b LexBound) int {
	if a.Inf != 0 || b.Inf != 0 {
		return a.Inf - b.Inf
	}
	return bytes.Compare(a.Value, b.Value)
}

// lexInRange is Redis's zzlIsInLexRange: false when the range is empty by itself, when
// the last element is below min or when the first element is above max.
func (z *ZSet) lexInRange(it *Iter, r LexRange) bool {
	c := lexCompare(r.Min, r.Max)
	// '-' and '+' count as exclusive bounds here, as in Redis.
	if c > 0 || (c == 0 && (r.Min.Excl || r.Max.Excl || r.Min.Inf != 0)) {
		return false
	}
	it.SeekLast()
	if !it.Valid() {
		return false
	}
	if _, m := z.idxDecode(it.Key()); !lexGteMin(m, r.Min) {
		return false
	}
	it.SeekFirst()
	if !it.Valid() {
		return false
	}
	_, m := z.idxDecode(it.Key())
	return lexLteMax(m, r.Max)
}

// lexFirst positions it (over the whole index) on the first element, scanning from
// the front, whose member is >= min, and reports whether it is also <= max.
func (z *ZSet) lexFirst(it *Iter, r LexRange) bool {
	if r.Min.Inf > 0 || r.Max.Inf < 0 {
		return false
	}
	it.SeekFirst()
	for it.Valid() {
		bits, m := z.idxDecode(it.Key())
		if lexGteMin(m, r.Min) {
			return lexLteMax(m, r.Max)
		}
		if bytes.Equal(m, r.Min.Value) {
			it.Next() // exclusive min sitting on min itself
		} else {
			it.Seek(z.idxKey(bits, r.Min.Value)) // first member >= min of this score
		}
	}
	return false
}

// lexLast is lexFirst from the back: the last element whose member is <= max, and
// whether it is also >= min.
func (z *ZSet) lexLast(it *Iter, r LexRange) bool {
	if r.Min.Inf > 0 || r.Max.Inf < 0 {
		return false
	}
	it.SeekLast()
	for it.Valid() {
		bits, m := z.idxDecode(it.Key())
		if lexLteMax(m, r.Max) {
			return lexGteMin(m, r.Min)
		}
		if bytes.Equal(m, r.Max.Value) {
			it.Prev()
		} else {
			it.SeekForPrev(z.idxKey(bits, r.Max.Value)) // last member <= max of this score
		}
	}
	return false
}

// lexWalk visits the elements of a lex range (rev: from the back) after skipping
// offset of them, until fn returns false.
func (z *ZSet) lexWalk(r LexRange, rev bool, offset int64, fn func(raw []byte) bool) error {
	if !z.Exists() {
		return nil
	}
	it := z.index()
	defer it.Close()
	if !z.lexInRange(it, r) {
		return it.Err()
	}
	var found bool
	step, in := it.Next, func(m []byte) bool { return lexLteMax(m, r.Max) }
	if rev {
		found = z.lexLast(it, r)
		step, in = it.Prev, func(m []byte) bool { return lexGteMin(m, r.Min) }
	} else {
		found = z.lexFirst(it, r)
	}
	if !found {
		return it.Err()
	}
	for ; offset > 0 && it.Valid(); offset-- {
		step()
	}
	for it.Valid() {
		_, m := z.idxDecode(it.Key())
		if !in(m) || !fn(it.Key()) {
			break
		}
		step()
	}
	return it.Err()
}

// RangeByLex is ZRANGEBYLEX (rev: ZREVRANGEBYLEX) with LIMIT offset count.
func (z *ZSet) RangeByLex(r LexRange, rev bool, offset, count int64) ([]ScoredMember, error) {
	if !z.Exists() || offset < 0 || count == 0 || offset >= z.Card() {
		return nil, nil
	}
	var out []ScoredMember
	err := z.lexWalk(r, rev, offset, func(raw []byte) bool {
		out = append(out, z.idxEntry(raw))
		count--
		return count != 0
	})
	return out, err
}

// CountByLex is ZLEXCOUNT.
func (z *ZSet) CountByLex(r LexRange) (int64, error) {
	var n int64
	err := z.lexWalk(r, false, 0, func([]byte) bool { n++; return true })
	return n, err
}

// removeAll deletes the given elements (scores as stored). Call Save after.
func (z *ZSet) removeAll(items []ScoredMember) error {
	for _, e := range items {
		if err := z.del(e.Member, e.Score); err != nil {
			return err
		}
	}
	return nil
}

// RemoveRangeByRank is ZREMRANGEBYRANK; it saves the key.
func (z *ZSet) RemoveRangeByRank(start, stop int64) (int64, error) {
	items, err := z.RangeByRank(start, stop, false)
	return z.removeItems(items, err)
}

// RemoveRangeByScore is ZREMRANGEBYSCORE; it saves the key.
func (z *ZSet) RemoveRangeByScore(r ScoreRange) (int64, error) {
	items, err := z.RangeByScore(r, false, 0, -1)
	return z.removeItems(items, err)
}

// RemoveRangeByLex is ZREMRANGEBYLEX; it saves the key.
func (z *ZSet) RemoveRangeByLex(r LexRange) (int64, error) {
	items, err := z.RangeByLex(r, false, 0, -1)
	return z.removeItems(items, err)
}

func (z *ZSet) removeItems(items []ScoredMember, err error) (int64, error) {
	if err != nil || len(items) == 0 {
		return 0, err
	}
	if err := z.removeAll(items); err != nil {
		return 0, err
	}
	z.Save()
	return int64(len(items)), nil
}

// Pop removes and returns up to count elements with the lowest scores (max: the
// highest), in pop order; it saves the key. O(count).
func (z *ZSet) Pop(max bool, count int64) ([]ScoredMember, error) {
	if !z.Exists() || count <= 0 {
		return nil, nil
	}
	it := z.index()
	step := it.Next
	if max {
		it.SeekLast()
		step = it.Prev
	} else {
		it.SeekFirst()
	}
	var out []ScoredMember
	for ; count > 0 && it.Valid(); count-- {
		out = append(out, z.idxEntry(it.Key()))
		step()
	}
	err := it.Err()
	it.Close() // no writes while an iterator of the tx is open
	if err != nil || len(out) == 0 {
		return nil, err
	}
	if err := z.removeAll(out); err != nil {
		return nil, err
	}
	z.Save()
	return out, nil
}

// Members returns every element in (score, member) order. O(n): for commands that
// need the whole set (ZRANGE 0 -1 already goes through RangeByRank).
func (z *ZSet) Members() ([]ScoredMember, error) {
	if !z.Exists() {
		return nil, nil
	}
	return z.byRank(0, -1, false)
}

// Scan returns up to count members (and scores) in member order starting at member
// from (nil: the beginning) whose names pass keep (nil: all), and the member to resume
// from (nil when the scan is complete). count bounds the members examined.
func (z *ZSet) Scan(from []byte, count int, keep func(member []byte) bool) ([]ScoredMember, []byte, error) {
	if !z.Exists() {
		return nil, nil, nil
	}
	it := z.tx.members(z.K)
	defer it.Close()
	if from == nil {
		it.SeekFirst()
	} else {
		it.Seek(memberKey(z.K.DB, z.K.Name, z.K.Meta.Version, from))
	}
	var out []ScoredMember
	for i := 0; i < count && it.Valid(); i++ {
		m := memberName(z.K, it.Key())
		if keep == nil || keep(m) {
			s, err := zDecodeScore(it.Value())
			if err != nil {
				return nil, nil, err
			}
			out = append(out, ScoredMember{Member: bytes.Clone(m), Score: s})
		}
		it.Next()
	}
	var next []byte
	if it.Valid() {
		next = bytes.Clone(memberName(z.K, it.Key()))
	}
	return out, next, it.Err()
}

// Random returns random elements as ZRANDMEMBER does: count > 0 distinct elements
// (all of them when count >= n), count < 0 |count| elements that may repeat.
//
// Small sets, and requests for a large share of a set, read the member records once
// and sample exactly: O(n) with n < 3|count| or n <= setRandSmall. Otherwise each pick
// is one descent of the set sampler (set.go) over the member records, a few seeks per
// branching level of the member names: random but not exactly uniform, as SRANDMEMBER.
func (z *ZSet) Random(count int64) ([]ScoredMember, error) {
	n := uint64(z.Card())
	if n == 0 || count == 0 {
		return nil, nil
	}
	distinct := count > 0
	want := uint64(count)
	if !distinct {
		want = uint64(-count)
	}
	if distinct && want >= n {
		return z.Members()
	}
	it := z.tx.members(z.K)
	defer it.Close()
	if n <= setRandSmall || want > n/3 {
		all := make([]ScoredMember, 0, n)
		for it.SeekFirst(); it.Valid(); it.Next() {
			e, err := z.memberEntry(it)
			if err != nil {
				return nil, err
			}
			all = append(all, e)
		}
		if err := it.Err(); err != nil || len(all) == 0 {
			return nil, err
		}
		if !distinct {
			out := make([]ScoredMember, want)
			for i := range out {
				out[i] = all[rand.IntN(len(all))]
			}
			return out, nil
		}
		// Partial Fisher-Yates: the first want entries become a uniform sample.
		for i := 0; uint64(i) < want; i++ {
			j := i + rand.IntN(len(all)-i)
			all[i], all[j] = all[j], all[i]
		}
		return all[:want], nil
	}
	s, ok := newSetSampler(it, n)
	if !ok {
		return nil, it.Err()
	}
	var chosen map[string]struct{}
	if distinct {
		chosen = make(map[string]struct{}, want)
	}
	out := make([]ScoredMember, 0, min(want, 1<<16))
	for uint64(len(out)) < want {
		if !s.pick() {
			return nil, it.Err()
		}
		if distinct {
			// A repeat walks on to the next member not chosen yet (wrapping); at most a
			// third of the members are ever chosen, so the walk is short.
			for {
				if _, dup := chosen[string(it.Key())]; !dup {
					break
				}
				it.Next()
				if !it.Valid() {
					it.SeekFirst()
				}
				if !it.Valid() {
					return nil, it.Err()
				}
			}
			chosen[string(it.Key())] = struct{}{}
		}
		e, err := z.memberEntry(it)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, it.Err()
}

func (z *ZSet) memberEntry(it *Iter) (ScoredMember, error) {
	s, err := zDecodeScore(it.Value())
	if err != nil {
		return ScoredMember{}, err
	}
	return ScoredMember{Member: bytes.Clone(memberName(z.K, it.Key())), Score: s}, nil
}

// StoreZSet replaces whatever dst holds with a sorted set of items (members must be
// distinct), or deletes dst when items is empty: the write side of ZUNIONSTORE,
// ZINTERSTORE, ZDIFFSTORE and ZRANGESTORE. Read every source before calling it.
func (tx *Tx) StoreZSet(db int, dst []byte, items []ScoredMember) error {
	k, err := tx.Load(db, dst)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		tx.Delete(k)
		return nil
	}
	tx.Reset(k, TypeZSet)
	z := &ZSet{tx: tx, K: k}
	// A fresh version: write the elements, then build the rank index in one pass.
	for _, e := range items {
		bits := encodeScore(zNormScore(e.Score))
		z.tx.putMember(z.K, e.Member, encodeU64(bits))
		z.tx.put(z.idxKey(bits, e.Member), nil)
	}
	z.K.Meta.Count = uint64(len(items))
	if err := z.rankRebuild(z.K.Meta.Count); err != nil {
		return err
	}
	z.Save()
	return nil
}

// ZOperand is one input of ZUNION, ZINTER and ZDIFF: a sorted set, a plain set (whose
// members all score 1, as in Redis), or a missing key (empty).
type ZOperand struct {
	tx *Tx
	k  *Key
}

// LoadZOperand loads an input key; a type other than zset or set is ErrWrongType.
func (tx *Tx) LoadZOperand(db int, name []byte) (*ZOperand, error) {
	k, err := tx.Load(db, name)
	if err != nil {
		return nil, err
	}
	if t := k.Meta.Type; t != TypeNone && t != TypeZSet && t != TypeSet {
		return nil, ErrWrongType
	}
	return &ZOperand{tx: tx, k: k}, nil
}

// Card is the number of members.
func (o *ZOperand) Card() int64 {
	if !o.k.Exists() {
		return 0
	}
	return int64(o.k.Meta.Count)
}

// Score looks a member up.
func (o *ZOperand) Score(member []byte) (float64, bool, error) {
	switch o.k.Meta.Type {
	case TypeZSet:
		return (&ZSet{tx: o.tx, K: o.k}).Score(member)
	case TypeSet:
		// A set member's value may be empty, so test for the key rather than the value.
		mk := memberKey(o.k.DB, o.k.Name, o.k.Meta.Version, member)
		it := o.tx.iter(mk, append(bytes.Clone(mk), 0))
		defer it.Close()
		it.SeekFirst()
		return 1, it.Valid(), it.Err()
	}
	return 0, false, nil
}

// Each calls fn for every member (member bytes are fn's to keep).
func (o *ZOperand) Each(fn func(member []byte, score float64) error) error {
	if !o.k.Exists() {
		return nil
	}
	it := o.tx.members(o.k)
	defer it.Close()
	for it.SeekFirst(); it.Valid(); it.Next() {
		score := 1.0
		if o.k.Meta.Type == TypeZSet {
			s, err := zDecodeScore(it.Value())
			if err != nil {
				return err
			}
			score = s
		}
		if err := fn(bytes.Clone(memberName(o.k, it.Key())), score); err != nil {
			return err
		}
	}
	return it.Err()
}
