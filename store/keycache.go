package store

import (
	"bytes"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/fastcache"
)

// keyCache keeps recently read and written metadata records (and with them whole
// strings, which live in their metadata) in Go memory, and remembers keys found
// absent. Every command reads its key's metadata first; from RocksDB that is a cgo
// call and a skip-list or SST search of 1-3 µs, from here a hash lookup. The cache holds only what RocksDB holds: it is
// written after RocksDB, by the commit leader, and reads of RocksDB fill it only when
// no write to the same stripe of keys was applied while they ran.
//
// fastcache keeps its entries outside the Go heap, so a cache of millions of keys
// costs the garbage collector nothing.
type keyCache struct {
	c       *fastcache.Cache
	seed    maphash.Seed
	lookups atomic.Uint64 // reads that asked the cache
	misses  atomic.Uint64 // of which went on to RocksDB
	stripes [keyCacheStripes]keyCacheStripe
}

const keyCacheStripes = 1024

// keyCacheMaxEntry is the largest key plus value the cache takes (fastcache's limit is
// 64KB); larger metadata (big strings) is always read from RocksDB.
const keyCacheMaxEntry = 16 << 10

type keyCacheStripe struct {
	mu  sync.Mutex
	gen atomic.Uint64 // writes applied to keys of this stripe; changed under mu
	_   [48]byte
}

// MinKeyCacheSize is the smallest key cache there is: fastcache allocates 512 buckets
// of one 64KB chunk each.
const MinKeyCacheSize = 32 << 20

func newKeyCache(size int64) *keyCache {
	if size <= 0 {
		return nil
	}
	if size < MinKeyCacheSize {
		size = MinKeyCacheSize
	}
	return &keyCache{c: fastcache.New(int(size)), seed: maphash.MakeSeed()}
}

// fillToken is what a read remembers before going to RocksDB, so that what it read is
// cached only if no write could have changed it in between.
type fillToken struct {
	stripe *keyCacheStripe
	gen    uint64
}

func (c *keyCache) stripe(k []byte) *keyCacheStripe {
	return &c.stripes[maphash.Bytes(c.seed, k)%keyCacheStripes]
}

// get returns a copy of the cached value of k; ok with a nil value means the key is
// known to be absent. Metadata records are never empty, so an empty entry marks
// absence.
func (c *keyCache) get(k []byte) (v []byte, ok bool) {
	c.lookups.Add(1)
	v, ok = c.c.HasGet(nil, k)
	if !ok {
		c.misses.Add(1)
	}
	if len(v) == 0 {
		v = nil
	}
	return v, ok
}

// token is taken before reading k from RocksDB.
func (c *keyCache) token(k []byte) fillToken {
	st := c.stripe(k)
	return fillToken{stripe: st, gen: st.gen.Load()}
}

// fill caches what a read found in RocksDB (v nil: absent).
func (c *keyCache) fill(t fillToken, k, v []byte) {
	if len(k)+len(v) > keyCacheMaxEntry {
		return
	}
	t.stripe.mu.Lock()
	if t.stripe.gen.Load() == t.gen {
		c.c.Set(k, v)
	}
	t.stripe.mu.Unlock()
}

// written records a put (del false) or delete of k that RocksDB now holds. Only a
// key the cache holds is updated: one it does not hold cannot be served stale, and a
// follower, whose writes come from its master, would otherwise fill the cache with
// keys nobody reads. The stripe's generation moves on either way, so a read that ran
// meanwhile does not fill in what it found before the write.
func (c *keyCache) written(k, v []byte, del bool) {
	st := c.stripe(k)
	st.mu.Lock()
	st.gen.Add(1)
	switch {
	case !c.c.Has(k):
	case del:
		c.c.Set(k, nil)
	case len(k)+len(v) > keyCacheMaxEntry:
		c.c.Del(k)
	default:
		c.c.Set(k, v)
	}
	st.mu.Unlock()
}

// reset drops everything: after a range deletion over metadata (FLUSHDB) or a swap
// of the whole database.
func (c *keyCache) reset() {
	for i := range c.stripes {
		c.stripes[i].mu.Lock()
		c.stripes[i].gen.Add(1)
	}
	c.c.Reset()
	for i := range c.stripes {
		c.stripes[i].mu.Unlock()
	}
}

// apply brings the cache in step with a batch RocksDB has just written.
func (c *keyCache) apply(r *batchRep) {
	if r.hitsMeta {
		c.reset()
		return
	}
	for _, off := range r.metaOps {
		kind, k, v, _ := repEntry(r.b[off:])
		c.written(k, v, kind == repTypeDeletion)
	}
}

// KeyCacheStats describes the key cache for INFO.
type KeyCacheStats struct {
	Entries, Bytes, Capacity uint64
	Lookups, Misses          uint64
}

// KeyCacheStats reports the key cache's size and hit counts (zero without one).
func (s *Store) KeyCacheStats() KeyCacheStats {
	if s.keys == nil {
		return KeyCacheStats{}
	}
	var st fastcache.Stats
	s.keys.c.UpdateStats(&st)
	return KeyCacheStats{Entries: st.EntriesCount, Bytes: st.BytesSize, Capacity: st.MaxBytesSize,
		Lookups: s.keys.lookups.Load(), Misses: s.keys.misses.Load()}
}

// cacheable says whether a raw key is one the cache keeps: metadata records.
func cacheable(k []byte) bool { return len(k) > 0 && k[0] == prefixMeta }

// rangeHitsMeta says whether the range deletion [start, end) may cover metadata.
func rangeHitsMeta(start, end []byte) bool {
	return bytes.Compare(start, []byte{prefixMeta + 1}) < 0 && bytes.Compare(end, []byte{prefixMeta}) > 0
}
