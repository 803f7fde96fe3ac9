package store

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/linxGnu/grocksdb"
)

// keyFilter is a bloom filter over every key RocksDB holds, kept in Go memory, so a
// point read of a key that was never written (a SET or SADD of a new key or member,
// a GET that misses) is answered without a cgo call and RocksDB's search through its
// memtables and every level's filter, which costs 1-2 µs even when nothing is found.
//
// Keys are added before the write that stores them, and never removed: a key deleted
// since only costs the RocksDB read the filter would otherwise save. As deletions and
// overwrites fill it, the filter is rebuilt from a scan of RocksDB while writes also
// go to the new one, and replaces the old one once the scan is done. Until the first
// build is done there is no filter and every read goes to RocksDB.
type keyFilter struct {
	size int64
	seed maphash.Seed
	cur  atomic.Pointer[bloom] // the filter reads consult; nil until built
	next atomic.Pointer[bloom] // a filter being built: writes go to both

	rebuild  chan struct{} // asks keyFilterLoop for a build
	swap     sync.Mutex    // a snapshot and the filter of its time are taken together
	skips    atomic.Uint64
	builds   atomic.Uint64
	skipped  atomic.Uint64 // builds given up: RocksDB held more keys than the filter is sized for
	scanStep func()        // tests: called for every key a build scans
	added    func()        // tests: called once a write's keys are in, before RocksDB has them
	// rebuildAt is the fill (set bits) of cur at which a rebuild starts.
	rebuildAt atomic.Int64
}

// bloom is a blocked bloom filter: a key's probes all fall in one 512-bit block (one
// cache line), so a lookup costs one cache miss.
type bloom struct {
	words  []atomic.Uint64
	blocks uint64
	set    atomic.Int64 // bits set
}

const (
	bloomProbes     = 4
	bloomBlockWords = 8
)

// DefaultKeyFilterSize is the key filter's memory unless Options say otherwise: 128M
// bits, a false positive in about 2% of reads up to 13 million stored keys and members.
const DefaultKeyFilterSize = 16 << 20

// MinKeyFilterSize is the smallest key filter there is.
const MinKeyFilterSize = 64

func newKeyFilter(size int64) *keyFilter {
	if size <= 0 {
		return nil
	}
	if size < MinKeyFilterSize {
		size = MinKeyFilterSize
	}
	return &keyFilter{size: size, seed: maphash.MakeSeed(), rebuild: make(chan struct{}, 1)}
}

func newBloom(size int64) *bloom {
	blocks := uint64(size) / (8 * bloomBlockWords)
	return &bloom{words: make([]atomic.Uint64, blocks*bloomBlockWords), blocks: blocks}
}

func (f *keyFilter) hash(k []byte) uint64 { return maphash.Bytes(f.seed, k) }

func (b *bloom) add(h uint64) {
	hi, _ := bits.Mul64(h, b.blocks)
	w := b.words[hi*bloomBlockWords : (hi+1)*bloomBlockWords]
	p := h * 0x9E3779B97F4A7C15
	for i := 0; i < bloomProbes; i++ {
		pos := p >> (64 - 9) // 9 bits: one of 512
		bit := uint64(1) << (pos & 63)
		if old := w[pos>>6].Or(bit); old&bit == 0 {
			b.set.Add(1)
		}
		p = bits.RotateLeft64(p, 9)
	}
}

func (b *bloom) mayHave(h uint64) bool {
	hi, _ := bits.Mul64(h, b.blocks)
	w := b.words[hi*bloomBlockWords : (hi+1)*bloomBlockWords]
	p := h * 0x9E3779B97F4A7C15
	for i := 0; i < bloomProbes; i++ {
		pos := p >> (64 - 9)
		if w[pos>>6].Load()&(uint64(1)<<(pos&63)) == 0 {
			return false
		}
		p = bits.RotateLeft64(p, 9)
	}
	return true
}

// current returns the filter reads may rely on, or nil.
func (f *keyFilter) current() *bloom {
	if f == nil {
		return nil
	}
	return f.cur.Load()
}

// snapshot takes a RocksDB snapshot with the filter that covers it: every key the
// snapshot holds was added to that filter, whatever rebuilds follow.
func (f *keyFilter) snapshot(db *grocksdb.DB) (*bloom, *grocksdb.Snapshot) {
	if f == nil {
		return nil, db.NewSnapshot()
	}
	f.swap.Lock()
	defer f.swap.Unlock()
	return f.cur.Load(), db.NewSnapshot()
}

// absent reports whether b proves k was never written, counting the read it saves.
func (f *keyFilter) absent(b *bloom, k []byte) bool {
	if b == nil || b.mayHave(f.hash(k)) {
		return false
	}
	f.skips.Add(1)
	return true
}

// addRep adds the keys a RocksDB write batch puts (in the wire format batchRep
// builds) to the filters, before the batch is written. It reports whether the
// current filter has filled up enough to be rebuilt.
func (f *keyFilter) addRep(rep []byte) (full bool) {
	cur, next := f.cur.Load(), f.next.Load()
	if cur == nil && next == nil {
		return false
	}
	for b := rep[12:]; len(b) > 0; {
		var kind byte
		var k []byte
		kind, k, _, b = repEntry(b)
		if kind != repTypeValue {
			continue
		}
		h := f.hash(k)
		if cur != nil {
			cur.add(h)
		}
		if next != nil {
			next.add(h)
		}
	}
	if f.added != nil {
		f.added()
	}
	return cur != nil && cur.set.Load() >= f.rebuildAt.Load()
}

// keyFilterBuild is a filter being filled from a snapshot of RocksDB.
type keyFilterBuild struct {
	b    *bloom
	snap *grocksdb.Snapshot
}

// beginKeyFilterBuild starts a new filter that every write from now on adds to, and
// takes the snapshot it is filled from. With writes under way, the barrier first
// waits out the writes whose keys went only to the old filter, so every key is either
// in the snapshot or added by its write; when nothing can write yet (the store is
// opening) there is nothing to wait for.
func (s *Store) beginKeyFilterBuild(writing bool) keyFilterBuild {
	nb := newBloom(s.filter.size)
	s.filter.next.Store(nb)
	if writing {
		_, _ = s.commit(&commitReq{barrier: true, done: make(chan struct{})})
	}
	return keyFilterBuild{b: nb, snap: s.db.NewSnapshot()}
}

// fillKeyFilter adds every key of the build's snapshot and puts the filter in place.
// It gives up when stop closes, the scan fails or it finds too many keys; the filter
// in use, if any, stays.
func (s *Store) fillKeyFilter(stop <-chan struct{}, bd keyFilterBuild) {
	f := s.filter
	defer f.next.Store(nil)
	defer s.db.ReleaseSnapshot(bd.snap)
	bitsN := int64(len(bd.b.words)) * 64
	ro := grocksdb.NewDefaultReadOptions()
	defer ro.Destroy()
	ro.SetFillCache(false)
	ro.SetReadaheadSize(2 << 20)
	ro.SetSnapshot(bd.snap)
	it := s.db.NewIterator(ro)
	defer it.Close()
	// A filter with a fifth as many keys as bits is over half full (four probes each)
	// and answers few reads. A build that finds more keys than that gives up: RocksDB
	// holds more than the filter was sized for, and reading the rest would not help.
	// What there is stays in use, and is tried again once it has filled a good deal more.
	var n int64
	for it.SeekToFirst(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			select {
			case <-stop:
				return
			default:
			}
		}
		if n > bitsN/5 {
			f.skipped.Add(1)
			f.postpone(bitsN)
			return
		}
		k := it.Key()
		bd.b.add(f.hash(k.Data()))
		k.Free()
		if f.scanStep != nil {
			f.scanStep()
		}
	}
	if it.Err() != nil {
		f.postpone(bitsN)
		return
	}
	// Rebuild when the filter is half full, or, when the keys RocksDB holds fill it
	// beyond that already, once it gains a quarter more: a filter too small for the
	// data still saves some reads, but rebuilding it would not help.
	f.rebuildAt.Store(max(bitsN/2, bd.b.set.Load()+bitsN/4))
	f.swap.Lock()
	f.cur.Store(bd.b)
	f.swap.Unlock()
	f.builds.Add(1)
}

// postpone leaves the current filter in use after a build gave up, until it has
// filled another eighth of its bits.
func (f *keyFilter) postpone(bitsN int64) {
	if cur := f.cur.Load(); cur != nil {
		f.rebuildAt.Store(cur.set.Load() + bitsN/8)
	}
}

// keyFilterLoop fills the first filter, then builds a new one whenever a write finds
// the current one full, until stop closes.
func (s *Store) keyFilterLoop(stop <-chan struct{}, first keyFilterBuild) {
	defer s.bg.Done()
	s.fillKeyFilter(stop, first)
	for {
		select {
		case <-stop:
			return
		case <-s.filter.rebuild:
			// Writes ask again while a build runs; the filter it put in place may
			// not need another.
			if cur := s.filter.cur.Load(); cur != nil && cur.set.Load() < s.filter.rebuildAt.Load() {
				continue
			}
			s.fillKeyFilter(stop, s.beginKeyFilterBuild(true))
		}
	}
}

// requestBuild asks keyFilterLoop for a build, unless one is asked for already.
func (f *keyFilter) requestBuild() {
	select {
	case f.rebuild <- struct{}{}:
	default:
	}
}

// KeyFilterStats describes the key filter for INFO.
type KeyFilterStats struct {
	Bytes   int64
	Ready   bool
	Fill    float64 // fraction of the bits set
	Skips   uint64  // RocksDB reads the filter answered
	Builds  uint64
	Skipped uint64 // builds given up: more keys than the filter is sized for
}

// KeyFilterStats reports the key filter's state (zero without one).
func (s *Store) KeyFilterStats() KeyFilterStats {
	f := s.filter
	if f == nil {
		return KeyFilterStats{}
	}
	st := KeyFilterStats{Bytes: f.size, Skips: f.skips.Load(), Builds: f.builds.Load(), Skipped: f.skipped.Load()}
	if b := f.cur.Load(); b != nil {
		st.Ready = true
		st.Fill = float64(b.set.Load()) / float64(len(b.words)*64)
	}
	return st
}
