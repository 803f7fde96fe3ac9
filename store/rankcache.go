package store

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/google/btree"
)

// rankCache mirrors, in memory, the count records of the rank index levels that
// writers used lately (zset_rank.go), so adding a member to a large sorted set finds
// its bucket and that bucket's count without a RocksDB seek and read.
//
// It shows the same state as the overlay-aware reads: committed writes plus queued
// ones. A transaction's changes enter it when the transaction is queued (Submit), with
// its overlay entries; one rolled back or never queued leaves it untouched. Records
// from a master enter it when they are applied. A full-sync swap and a failed commit
// drop everything.
//
// Reads use it too, without locks, as a seqlock: every sorted set maps to a stripe
// whose counter is odd while a change to the set's rank records is being made (from
// before its overlay entries appear to after the cache has it). A read notes the
// counter, walks the cached counts and then the score index in RocksDB, and keeps the
// result only if the counter has not moved; else it tries again, and after a few tries
// reads the counts from RocksDB. A level missing from the cache is loaded by whoever
// needs it and installed only under the same check.
type rankCache struct {
	mu     sync.Mutex
	gen    uint64                // changes whenever something is dropped
	levels map[string]*rankLevel // by count prefix (rank prefix | 0x80|level)
	bytes  int
	max    int

	seq [rankStripes]atomic.Uint64 // per stripe of sorted sets: odd while changing

	served atomic.Int64 // reads answered from the cache
}

const rankStripes = 1024

// rankStripe is the stripe of the sorted set whose rank prefix is p.
func rankStripe(p []byte) int { return int(xxhash.Sum64(p) % rankStripes) }

// changing marks the sets whose rank records ops change as being changed and returns
// their stripes (all: every stripe, for a range deletion over rank records), to pass to
// changed afterwards. Callers are serialized (the queue, or the leader applying a
// master's records).
func (c *rankCache) changing(ops []Op) (st []int, all bool) {
	for i := range ops {
		k := ops[i].Key
		if ops[i].Kind == OpDeleteRange {
			if len(k) > 0 && k[0] <= prefixRank && (len(ops[i].Value) == 0 || ops[i].Value[0] >= prefixRank) {
				st, all = nil, true
				break
			}
			continue
		}
		if n := collLen(k); n > 0 && k[0] == prefixRank {
			if s := rankStripe(k[:n-1]); !slices.Contains(st, s) {
				st = append(st, s)
			}
		}
	}
	c.bump(st, all)
	return st, all
}

// changed ends what changing began.
func (c *rankCache) changed(st []int, all bool) { c.bump(st, all) }

func (c *rankCache) bump(st []int, all bool) {
	if all {
		for i := range c.seq {
			c.seq[i].Add(1)
		}
		return
	}
	for _, s := range st {
		c.seq[s].Add(1)
	}
}

// stable returns the stripe counter of set p when no change is in progress.
func (c *rankCache) stable(p []byte) (uint64, bool) {
	v := c.seq[rankStripe(p)].Load()
	return v, v&1 == 0
}

// unchanged reports whether set p's counter still reads v.
func (c *rankCache) unchanged(p []byte, v uint64) bool { return c.seq[rankStripe(p)].Load() == v }

type rankLevel struct {
	t     *btree.BTreeG[rankEntry]
	bytes int
}

type rankEntry struct {
	sfx   string // node suffix, or rankTail
	count uint64
}

// DefaultRankCacheSize bounds the rank cache's memory unless Options say otherwise
// (about 60 bytes per cached count: a set of a million members has 4,000).
const DefaultRankCacheSize = 16 << 20

const rankEntryOverhead = 48

func rankLess(a, b rankEntry) bool { return a.sfx < b.sfx }

func newRankCache(max int) *rankCache {
	return &rankCache{levels: map[string]*rankLevel{}, max: max}
}

// token is taken before reading a level to install.
func (c *rankCache) token() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// cached reports whether level cp is in the cache.
func (c *rankCache) cached(cp []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.levels[string(cp)] != nil
}

// source is the rankSource over the cached levels of set p (its rank prefix).
func (c *rankCache) source(p []byte) rankSource {
	return func(l int, after []byte, fn func(sfx []byte, count uint64) bool) (bool, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		lv := c.levels[string(append(bytes.Clone(p), byte(rankCounts|l)))]
		if lv == nil {
			return false, nil
		}
		from := ""
		if after != nil {
			from = string(after) + "\x00" // the smallest suffix past after
		}
		present := false
		lv.t.AscendGreaterOrEqual(rankEntry{sfx: from}, func(e rankEntry) bool {
			present = true
			// The entry's string is immutable and fn only reads it during the call.
			return fn(unsafe.Slice(unsafe.StringData(e.sfx), len(e.sfx)), e.count)
		})
		return present, nil
	}
}

// next returns the first entry of level cp at or after sfx (after: past it); cached is
// false when the level is not in the cache.
func (c *rankCache) next(cp, sfx []byte, after bool) (next []byte, count uint64, cached bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lv := c.levels[string(cp)]
	if lv == nil {
		return nil, 0, false
	}
	found := false
	lv.t.AscendGreaterOrEqual(rankEntry{sfx: string(sfx)}, func(e rankEntry) bool {
		if after && e.sfx == string(sfx) {
			return true
		}
		next, count, found = []byte(e.sfx), e.count, true
		return false
	})
	return next, count, found
}

// count looks one count up; cached is false when the level is not in the cache.
func (c *rankCache) count(cp, sfx []byte) (n uint64, ok, cached bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lv := c.levels[string(cp)]
	if lv == nil {
		return 0, false, false
	}
	e, ok := lv.t.Get(rankEntry{sfx: string(sfx)})
	return e.count, ok, true
}

// install adds a level read from RocksDB, unless the cache changed since gen or the
// set's stripe counter moved from v.
func (c *rankCache) install(cp []byte, entries []rankEntry, gen, v uint64) {
	size := 0
	for _, e := range entries {
		size += len(e.sfx) + rankEntryOverhead
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || size > c.max/4 || !c.unchanged(cp[:len(cp)-1], v) {
		return
	}
	if old := c.levels[string(cp)]; old != nil {
		c.bytes -= old.bytes
	}
	for k, lv := range c.levels {
		if c.bytes+size <= c.max {
			break
		}
		c.bytes -= lv.bytes
		delete(c.levels, k) // map order: an arbitrary victim
	}
	t := btree.NewG(32, rankLess)
	for _, e := range entries {
		t.ReplaceOrInsert(e)
	}
	c.levels[string(cp)] = &rankLevel{t: t, bytes: size}
	c.bytes += size
}

// apply brings cached levels up to date with a queued transaction's changes.
func (c *rankCache) apply(ops []Op) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.levels) == 0 {
		return
	}
	for i := range ops {
		op := &ops[i]
		if op.Kind == OpDeleteRange {
			c.dropRange(op.Key, op.Value)
			continue
		}
		n := collLen(op.Key)
		if n == 0 || op.Key[0] != prefixRank || op.Key[n-1]&rankCounts == 0 {
			continue
		}
		lv := c.levels[string(op.Key[:n])]
		if lv == nil {
			continue
		}
		sfx := string(op.Key[n:])
		if op.Kind == OpDelete {
			if _, ok := lv.t.Delete(rankEntry{sfx: sfx}); ok {
				lv.bytes -= len(sfx) + rankEntryOverhead
				c.bytes -= len(sfx) + rankEntryOverhead
			}
			continue
		}
		if len(op.Value) != 8 {
			c.drop(string(op.Key[:n]))
			continue
		}
		if _, had := lv.t.ReplaceOrInsert(rankEntry{sfx: sfx, count: decodeU64(op.Value)}); !had {
			lv.bytes += len(sfx) + rankEntryOverhead
			c.bytes += len(sfx) + rankEntryOverhead
		}
	}
}

// clear drops everything and fences off loads and reads in progress.
func (c *rankCache) clear() {
	c.bump(nil, true)
	defer c.bump(nil, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.levels) > 0 {
		c.levels = map[string]*rankLevel{}
		c.bytes = 0
	}
	c.gen++
}

func (c *rankCache) drop(cp string) {
	if lv := c.levels[cp]; lv != nil {
		c.bytes -= lv.bytes
		delete(c.levels, cp)
	}
}

// dropRange drops the levels whose records [start, end) may cover.
func (c *rankCache) dropRange(start, end []byte) {
	for cp := range c.levels {
		if string(start) < string(prefixEnd([]byte(cp))) && string(end) > cp {
			c.drop(cp)
		}
	}
}

// size reports the cache's levels and approximate bytes.
func (c *rankCache) size() (levels, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.levels), c.bytes
}

// RankCacheStats reports the rank cache's cached levels and approximate bytes.
func (s *Store) RankCacheStats() (levels, bytes int) { return s.ranks.size() }
