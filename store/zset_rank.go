package store

import (
	"bytes"
	"errors"
	"math"
	"math/bits"
	"runtime"

	"github.com/cespare/xxhash/v2"
)

// The rank index of a sorted set: order statistics over the score index, so that
// reads by rank (ZRANGE, ZRANK, ZREMRANGEBYRANK) and counts of a score range (ZCOUNT)
// cost O(log n) seeks plus the elements returned.
//
// It is a skip list of counts stored beside the score index. A member is a node of
// level l when the xxhash64 of its name has at least 8*l trailing zero bits, so about
// one member in 256^l is. A node has two records per level, and every level has a tail
// count:
//
//	rank node   r | db | len(key) | key | version | l u8        | score u64 | member -> ""
//	rank count  r | db | len(key) | key | version | 0x80|l u8   | score u64 | member -> count u64
//	rank tail   r | db | len(key) | key | version | 0x80|l u8   | ff x 9             -> count u64
//
// A node counts the elements after the previous node of its level up to and including
// itself; the tail counts those after the last node. The counts of one level add up to
// the set's size. Finding rank r walks the counts down from the top level and crosses
// at most one bucket per level (256 entries expected). Adding or removing an element
// changes one count per level: the bucket ends at the first node at or after the
// element, found with a forward seek among the node records, which are written once and
// rarely change; the count itself, rewritten by every insert into its bucket, is read
// and written by key.
//
// Levels are kept only where they pay: none below 1024 members (a walk of at most 1024
// entries is as cheap), then one more level each time the set grows 256-fold, so the
// top level has 4 to 1024 nodes. The wide fan-out keeps writes cheap (one level up to
// 262,144 members, two up to 67 million) at the price of longer walks on reads. A
// level is built from the one below when the set grows past its threshold and deleted
// when it shrinks below it.
//
// Because nodes are chosen by a fixed hash, the index is a function of the set's
// contents: master and follower, a dump and its load, COPY and its source all hold the
// same records. Sets written by a build without the index (format 1) have none: reads
// walk the score index as before, and the first write builds it. A fixed hash can be
// gamed by someone choosing member names so that no member is a node; their set's
// rank reads then walk the score index, which is what they cost without the index.
const (
	rankMaxLevel = 10
	rankCounts   = 0x80 // level byte of the count records
)

// The shape of the index. The records depend on it: these are part of the format (the
// tests shrink them to exercise many levels with few members).
var (
	rankShift uint64 = 8    // one member in 2^rankShift is a node of the next level
	rankFirst uint64 = 1024 // sets smaller than this have no index
)

// rankLevels is how many levels a set of n elements keeps.
func rankLevels(n uint64) int {
	if n < rankFirst {
		return 0
	}
	l := 1
	for t := rankFirst; l < rankMaxLevel && t <= math.MaxUint64>>rankShift && n >= t<<rankShift; t <<= rankShift {
		l++
	}
	return l
}

// memberLevel is the highest level member is a node of (0: none).
func memberLevel(member []byte) int {
	return min(bits.TrailingZeros64(xxhash.Sum64(member))/int(rankShift), rankMaxLevel)
}

// sfxLevel is memberLevel for an index suffix (score u64 | member).
func sfxLevel(sfx []byte) int {
	if len(sfx) < 8 {
		return rankMaxLevel
	}
	return memberLevel(sfx[8:])
}

// rankTail is the suffix of a level's tail count: it sorts after every element, whose
// score bytes are at most ff f0 (+inf).
var rankTail = bytes.Repeat([]byte{0xff}, 9)

func (z *ZSet) rankPrefix() []byte {
	return memberPrefix(prefixRank, z.K.DB, z.K.Name, z.K.Meta.Version)
}

// nodePrefix and countPrefix are the prefixes of level l's node and count records.
func (z *ZSet) nodePrefix(l int) []byte  { return append(z.rankPrefix(), byte(l)) }
func (z *ZSet) countPrefix(l int) []byte { return append(z.rankPrefix(), byte(rankCounts|l)) }

func (z *ZSet) countKey(l int, sfx []byte) []byte { return append(z.countPrefix(l), sfx...) }

// levelIter iterates the records under p, one level's nodes or counts: the overlay
// indexes queued rank records by level, so such an iterator finds them at once.
func (z *ZSet) levelIter(p []byte) *Iter { return z.tx.iter(p, prefixEnd(p)) }

func rankCount(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, corruptf("rank index count has %d bytes", len(v))
	}
	return decodeU64(v), nil
}

// count reads one count; ok is false when it does not exist.
func (z *ZSet) count(l int, sfx []byte) (uint64, bool, error) {
	k := z.countKey(l, sfx)
	if z.tx.snap == nil && !z.tx.wrote(k) {
		if c, ok, cached := z.tx.s.ranks.count(k[:len(k)-len(sfx)], sfx); cached {
			return c, ok, nil
		}
	}
	v, err := z.tx.get(k)
	if err != nil || v == nil {
		return 0, false, err
	}
	c, err := rankCount(v)
	return c, err == nil, err
}

// applyRank adds the index changes an operation computed before writing anything (no
// write may land while one of the transaction's iterators is open).
func (z *ZSet) applyRank(ws []Op) { z.tx.ops = append(z.tx.ops, ws...) }

func putCount(k []byte, c uint64) Op { return Op{Kind: OpPut, Key: k, Value: encodeU64(c)} }

func (z *ZSet) putNode(l int, sfx []byte) Op {
	return Op{Kind: OpPut, Key: append(z.nodePrefix(l), sfx...), Value: []byte{}}
}

// seekAfter positions it on the first key under prefix p after p+sfx (nil sfx: the
// first key under p).
func seekAfter(it *Iter, p, sfx []byte) {
	k := append(bytes.Clone(p), sfx...)
	it.Seek(k)
	if sfx != nil && it.Valid() && bytes.Equal(it.Key(), k) {
		it.Next()
	}
}

// nextCached returns the suffix of the first level-l node at or after sfx (after: past
// sfx), or the tail's when there is none, and that node's count when the rank cache
// has it (counted true).
func (z *ZSet) nextCached(l int, sfx []byte, after bool) (next []byte, count uint64, counted bool, err error) {
	np, cp := z.nodePrefix(l), z.countPrefix(l)
	if z.tx.snap == nil && !z.tx.writesIn(np, prefixEnd(np)) {
		// Every node has a count, so the cache's next count is the next node.
		if next, c, cached := z.tx.s.ranks.next(cp, sfx, after); cached {
			return next, c, !z.tx.wrote(append(cp, next...)), nil
		}
		if err := z.cacheLevel(l); err != nil {
			return nil, 0, false, err
		}
	}
	it := z.levelIter(np)
	defer it.Close()
	if after {
		seekAfter(it, np, sfx)
	} else {
		it.Seek(append(bytes.Clone(np), sfx...))
	}
	if it.Valid() {
		return bytes.Clone(it.Key()[len(np):]), 0, false, nil
	}
	return rankTail, 0, false, it.Err()
}

// cacheLevel loads level l's counts into the rank cache, unless this transaction
// wrote some (the cache holds only what others can see) or the store failed a write.
func (z *ZSet) cacheLevel(l int) error {
	cp := z.countPrefix(l)
	if z.tx.snap != nil || z.tx.s.failure.Load() != nil || z.tx.writesIn(cp, prefixEnd(cp)) {
		return nil
	}
	c := z.tx.s.ranks
	gen := c.token()
	v, ok := c.stable(z.rankPrefix())
	if !ok {
		return nil
	}
	it := z.levelIter(cp)
	defer it.Close()
	var es []rankEntry
	for it.SeekFirst(); it.Valid(); it.Next() {
		n, err := rankCount(it.Value())
		if err != nil {
			return err
		}
		es = append(es, rankEntry{sfx: string(it.Key()[len(cp):]), count: n})
	}
	if err := it.Err(); err != nil {
		return err
	}
	if len(es) > 0 {
		c.install(cp, es, gen, v)
	}
	return nil
}

// cachedRead runs read over the rank cache and the score index as one consistent
// view (see rankCache): it reports false when it cannot, and the caller then reads
// the counts from RocksDB. read reports false when the cache lacks what it needs.
func (z *ZSet) cachedRead(top int, read func() (bool, error)) (bool, error) {
	tx := z.tx
	if tx.snap != nil || tx.s.failure.Load() != nil {
		return false, nil
	}
	p, ip := z.rankPrefix(), z.idxPrefix()
	if tx.writesIn(p, prefixEnd(p)) || tx.writesIn(ip, prefixEnd(ip)) {
		return false, nil // the cache does not have this transaction's own writes
	}
	c := tx.s.ranks
	for try := 0; try < 3; try++ {
		v, ok := c.stable(p)
		if !ok {
			runtime.Gosched()
			continue
		}
		for l := 1; l <= top; l++ {
			if !c.cached(z.countPrefix(l)) {
				if err := z.cacheLevel(l); err != nil {
					return false, err
				}
			}
		}
		ok, err := read()
		if err != nil || !ok {
			return false, err
		}
		if c.unchanged(p, v) {
			c.served.Add(1)
			return true, nil
		}
	}
	return false, nil
}

// countIndex counts the score-index entries after after (nil: from the first) and
// before end (with incl, up to and including it; nil: to the last). The iterator is
// bounded to that span, so it takes only its part of the queued writes.
func (z *ZSet) countIndex(after, end []byte, incl bool) (uint64, error) {
	ip := z.idxPrefix()
	lo, hi := ip, prefixEnd(ip)
	if after != nil {
		lo = append(append(bytes.Clone(ip), after...), 0)
	}
	if end != nil {
		hi = append(bytes.Clone(ip), end...)
		if incl {
			hi = append(hi, 0)
		}
	}
	n, err := z.tx.countKeys(lo, hi)
	return uint64(n), err
}

// rankInsert accounts for a new element (its score-index record already written) in
// a set that had n elements.
func (z *ZSet) rankInsert(sfx []byte, n uint64) error {
	top := rankLevels(n)
	if top == 0 {
		return z.rankGrow(n + 1)
	}
	ws, ok, err := z.insertWrites(sfx, top)
	if err != nil {
		return err
	}
	if !ok {
		return z.rankRebuild(n + 1) // no index yet: build it, the new element included
	}
	z.applyRank(ws)
	return z.rankGrow(n + 1)
}

// nextCount returns the level-l bucket that sfx falls in (after: the one after sfx's
// own) and its count; ok is false when the set has no index yet.
func (z *ZSet) nextCount(l int, sfx []byte, after bool) (next []byte, count uint64, ok bool, err error) {
	var counted bool
	if next, count, counted, err = z.nextCached(l, sfx, after); err != nil || counted {
		return next, count, err == nil, err
	}
	if count, ok, err = z.count(l, next); err != nil || ok {
		return next, count, ok, err
	}
	if l == 1 && bytes.Equal(next, rankTail) {
		return nil, 0, false, nil
	}
	return nil, 0, false, corruptf("rank index of %q: level %d lacks a count", z.K.Name, l)
}

// insertWrites computes rankInsert's changes; ok is false when the set has no index.
func (z *ZSet) insertWrites(sfx []byte, top int) ([]Op, bool, error) {
	lv := sfxLevel(sfx)
	var ws []Op
	var split map[string]uint64 // counts this insert changed one level down
	for l := 1; l <= top; l++ {
		next, sc, ok, err := z.nextCount(l, sfx, false)
		if err != nil || !ok {
			return nil, false, err
		}
		if lv < l {
			ws = append(ws, putCount(z.countKey(l, next), sc+1))
			continue
		}
		// The new element splits the bucket ending at next: (prev, e] stays with the
		// element, (e, next] with next.
		var after uint64
		if l == 1 {
			end := next
			if bytes.Equal(next, rankTail) {
				end = nil
			}
			after, err = z.countIndex(sfx, end, true)
		} else {
			after, err = z.levelAfter(l-1, sfx, next, split)
		}
		if err == nil && after > sc {
			err = corruptf("rank index of %q: level %d bucket counts %d, %d after the new element", z.K.Name, l, sc, after)
		}
		if err != nil {
			return nil, false, err
		}
		ws = append(ws, putCount(z.countKey(l, next), after), putCount(z.countKey(l, sfx), sc+1-after), z.putNode(l, sfx))
		split = map[string]uint64{string(next): after, string(sfx): sc + 1 - after}
	}
	return ws, true, nil
}

// levelAfter sums the level-l counts after sfx up to and including end, taking changed
// counts from split.
func (z *ZSet) levelAfter(l int, sfx, end []byte, split map[string]uint64) (uint64, error) {
	cp := z.countPrefix(l)
	it := z.levelIter(cp)
	defer it.Close()
	var c uint64
	for seekAfter(it, cp, sfx); it.Valid(); it.Next() {
		k := it.Key()[len(cp):]
		n, ok := split[string(k)]
		if !ok {
			var err error
			if n, err = rankCount(it.Value()); err != nil {
				return 0, err
			}
		}
		c += n
		if bytes.Equal(k, end) {
			break
		}
	}
	return c, it.Err()
}

// rankRemove accounts for a removed element (its score-index record already deleted)
// in a set that had n elements.
func (z *ZSet) rankRemove(sfx []byte, n uint64) error {
	if rankLevels(n) == 0 {
		return nil
	}
	ws, ok, err := z.removeWrites(sfx, rankLevels(n))
	if err != nil {
		return err
	}
	if !ok {
		return z.rankRebuild(n - 1) // no index yet: build it without the element
	}
	z.applyRank(ws)
	return z.rankShrink(n - 1)
}

// removeWrites computes rankRemove's changes; ok is false when the set has no index.
func (z *ZSet) removeWrites(sfx []byte, top int) ([]Op, bool, error) {
	lv := sfxLevel(sfx)
	var ws []Op
	for l := 1; l <= top; l++ {
		node := lv >= l
		next, sc, ok, err := z.nextCount(l, sfx, node)
		if err != nil || !ok {
			return nil, false, err
		}
		var own uint64 // the element's own bucket, which the next one absorbs
		if node {
			if own, ok, err = z.count(l, sfx); err != nil || !ok {
				if err == nil {
					err = corruptf("rank index of %q: level %d has no count for a node", z.K.Name, l)
				}
				return nil, false, err
			}
			ws = append(ws, Op{Kind: OpDelete, Key: z.countKey(l, sfx)},
				Op{Kind: OpDelete, Key: append(z.nodePrefix(l), sfx...)})
		}
		if sc+own < 1 {
			return nil, false, corruptf("rank index of %q: level %d count underflow", z.K.Name, l)
		}
		ws = append(ws, putCount(z.countKey(l, next), sc+own-1))
	}
	return ws, true, nil
}

// rankGrow adds the level a set of n elements newly needs.
func (z *ZSet) rankGrow(n uint64) error {
	if l := rankLevels(n); l > rankLevels(n-1) {
		return z.rankBuild(l)
	}
	return nil
}

// rankShrink deletes the top level when a set shrank to n elements, below its
// threshold.
func (z *ZSet) rankShrink(n uint64) error {
	l := rankLevels(n + 1)
	if l == rankLevels(n) {
		return nil
	}
	var ks [][]byte
	for _, p := range [][]byte{z.nodePrefix(l), z.countPrefix(l)} {
		it := z.tx.iter(p, prefixEnd(p))
		for it.SeekFirst(); it.Valid(); it.Next() {
			ks = append(ks, bytes.Clone(it.Key()))
		}
		err := it.Err()
		it.Close()
		if err != nil {
			return err
		}
	}
	for _, k := range ks {
		z.tx.del(k)
	}
	return nil
}

// rankRebuild builds every level of a set of n elements from its score index.
func (z *ZSet) rankRebuild(n uint64) error {
	for l := 1; l <= rankLevels(n); l++ {
		if err := z.rankBuild(l); err != nil {
			return err
		}
	}
	return nil
}

// rankBuild writes level l from the level below (the score index for level 1).
func (z *ZSet) rankBuild(l int) error {
	var ws []Op
	var cnt uint64
	var it *Iter
	off := z.idxOff()
	if l > 1 {
		below := z.countPrefix(l - 1)
		it, off = z.tx.iter(below, prefixEnd(below)), len(below)
	} else {
		it = z.index()
	}
	for it.SeekFirst(); it.Valid(); it.Next() {
		sfx := it.Key()[off:]
		if l == 1 {
			cnt++
		} else {
			c, err := rankCount(it.Value())
			if err != nil {
				it.Close()
				return err
			}
			cnt += c
		}
		if !bytes.Equal(sfx, rankTail) && sfxLevel(sfx) >= l {
			ws = append(ws, putCount(z.countKey(l, sfx), cnt), z.putNode(l, sfx))
			cnt = 0
		}
	}
	err := it.Err()
	it.Close()
	if err != nil {
		return err
	}
	ws = append(ws, putCount(z.countKey(l, rankTail), cnt))
	z.applyRank(ws)
	return nil
}

// view runs f over one consistent state of the set: the rank cache with the score
// index when the cache can serve it (cached true), else RocksDB under a snapshot, with
// the set loaded again there, or the transaction itself when it wrote the set (then it
// holds the set's lock and nothing else changes it).
func (z *ZSet) view(f func(zz *ZSet, cached bool) (bool, error)) error {
	if top := rankLevels(z.K.Meta.Count); top > 0 {
		ok, err := z.cachedRead(top, func() (bool, error) { return f(z, true) })
		if ok || err != nil {
			return err
		}
	}
	p, ip := z.rankPrefix(), z.idxPrefix()
	if z.tx.snap != nil || z.tx.writesIn(p, prefixEnd(p)) || z.tx.writesIn(ip, prefixEnd(ip)) {
		_, err := f(z, false)
		return err
	}
	snap := z.tx.s.Begin()
	defer snap.Close()
	snap.Snapshot()
	zz, err := snap.LoadZSet(z.K.DB, z.K.Name)
	if errors.Is(err, ErrWrongType) {
		zz, err = &ZSet{tx: snap, K: &Key{DB: z.K.DB, Name: z.K.Name}}, nil // gone meanwhile
	}
	if err != nil {
		return err
	}
	_, err = f(zz, false)
	return err
}

// belowIn counts the elements whose score-index suffix sorts before target, from the
// rank cache (ok false: it lacks what the walk needs) or from RocksDB.
func (z *ZSet) belowIn(target []byte, cached bool) (n uint64, ok bool, err error) {
	if !z.Exists() {
		return 0, true, nil
	}
	acc, prev, end, err := walkBelow(z.source(cached), rankLevels(z.K.Meta.Count), target)
	if err != nil {
		return 0, false, err
	}
	if end != walkDone {
		if cached {
			return 0, false, nil
		}
		if prev != nil {
			return 0, false, corruptf("rank index of %q: a level ends early", z.K.Name)
		}
		// No index yet (format 1): walk the score index from the first element.
	}
	rest, err := z.countIndex(prev, target, false)
	return acc + rest, true, err
}

// pickIn finds forward rank r (< n), from the rank cache (ok false: it lacks what the
// walk needs) or from RocksDB: the element after which to start (nil: the first) and
// the steps from there.
func (z *ZSet) pickIn(r uint64, cached bool) (after []byte, skip uint64, ok bool, err error) {
	after, skip, end, err := walkPick(z.source(cached), rankLevels(z.K.Meta.Count), r)
	switch {
	case err != nil:
		return nil, 0, false, err
	case end == walkDone:
		return after, skip, true, nil
	case cached:
		return nil, 0, false, nil
	case end == walkMissing && after == nil:
		return nil, r, true, nil // no index yet (format 1): walk from the first element
	}
	return nil, 0, false, corruptf("rank index of %q: its counts do not reach rank %d", z.K.Name, r)
}

// A rankSource calls fn with level l's counts after after (nil: from the first), in
// order, until fn returns false (sfx is fn's only during the call); present is false
// when there are none. The walks below run alike over the rank cache and RocksDB.
type rankSource func(l int, after []byte, fn func(sfx []byte, count uint64) bool) (present bool, err error)

func (z *ZSet) source(cached bool) rankSource {
	if cached {
		return z.tx.s.ranks.source(z.rankPrefix())
	}
	return z.storedCounts
}

// storedCounts is the rankSource over RocksDB (and the transaction's view).
func (z *ZSet) storedCounts(l int, after []byte, fn func(sfx []byte, count uint64) bool) (bool, error) {
	cp := z.countPrefix(l)
	it := z.levelIter(cp)
	defer it.Close()
	seekAfter(it, cp, after)
	if !it.Valid() {
		return false, it.Err()
	}
	for ; it.Valid(); it.Next() {
		c, err := rankCount(it.Value())
		if err != nil {
			return true, err
		}
		if !fn(it.Key()[len(cp):], c) {
			break
		}
	}
	return true, it.Err()
}

type walkEnd int

const (
	walkDone    walkEnd = iota
	walkMissing         // a level has no counts after the last node passed
	walkShort           // a level's counts run out before the rank sought
)

// walkBelow sums, from the top level down, the counts of the buckets that end before
// target; prev is the last node passed (nil: none).
func walkBelow(src rankSource, top int, target []byte) (acc uint64, prev []byte, end walkEnd, err error) {
	for l := top; l >= 1; l-- {
		present, err := src(l, prev, func(sfx []byte, c uint64) bool {
			if bytes.Compare(sfx, target) >= 0 {
				return false
			}
			acc += c
			prev = bytes.Clone(sfx)
			return true
		})
		if err != nil || !present {
			return acc, prev, walkMissing, err
		}
	}
	return acc, prev, walkDone, nil
}

// walkPick walks from the top level down to forward rank r: it returns the last node
// passed (nil: none) and the steps left from there.
func walkPick(src rankSource, top int, r uint64) (prev []byte, left uint64, end walkEnd, err error) {
	for l := top; l >= 1; l-- {
		found := false
		present, err := src(l, prev, func(sfx []byte, c uint64) bool {
			if r < c {
				found = true
				return false
			}
			r -= c
			prev = bytes.Clone(sfx)
			return true
		})
		switch {
		case err != nil || !present:
			return prev, r, walkMissing, err
		case !found:
			return prev, r, walkShort, nil
		}
	}
	return prev, r, walkDone, nil
}
