package store

import (
	"sync"

	"github.com/google/btree"
)

// rankCache mirrors, in memory, the count records of the rank index levels that
// writers used lately (zset_rank.go), so adding a member to a large sorted set finds
// its bucket and that bucket's count without a RocksDB seek and read.
//
// It shows the same state as the overlay-aware reads: committed writes plus queued
// ones. Writers of a set hold its key lock, and their changes enter the cache when
// their transaction is queued (Submit), before the lock is released; a transaction
// rolled back or never queued leaves it untouched. A level is loaded from RocksDB by a
// writer holding the key lock, and installed only if nothing invalidated the cache
// meanwhile. Records applied from a master, a full-sync swap and a failed commit drop
// what they may have changed.
type rankCache struct {
	mu     sync.Mutex
	gen    uint64                // changes whenever something is dropped
	levels map[string]*rankLevel // by count prefix (rank prefix | 0x80|level)
	bytes  int
	max    int
}

type rankLevel struct {
	t     *btree.BTreeG[rankEntry]
	bytes int
}

type rankEntry struct {
	sfx   string // node suffix, or rankTail
	count uint64
}

// RankCacheSize bounds the rank cache's memory (about 60 bytes per cached count: a
// set of a million members has 4,000).
const RankCacheSize = 16 << 20

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

// install adds a level read from RocksDB, unless the cache changed since gen.
func (c *rankCache) install(cp []byte, entries []rankEntry, gen uint64) {
	size := 0
	for _, e := range entries {
		size += len(e.sfx) + rankEntryOverhead
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || size > c.max/4 {
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

// clear drops everything and fences off loads in progress.
func (c *rankCache) clear() {
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
