package store

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/linxGnu/grocksdb"
)

type opKind byte

// Op kinds; their values are part of the binlog's change encoding.
const (
	OpPut         opKind = 1
	OpDelete      opKind = 2
	OpDeleteRange opKind = 3
)

// Op is one key-level change: the unit a batch, the binlog and replication carry.
type Op struct {
	Kind  opKind
	Key   []byte
	Value []byte // OpPut: value; OpDeleteRange: end key (exclusive)
}

// Tx is one command's (or one EXEC's) view of the store and its batch of changes.
// Reads see the transaction's own writes. Nothing is visible to others until Commit.
type Tx struct {
	s   *Store
	ops []Op
	now int64 // unix ms, fixed for the whole transaction

	wb    *grocksdb.WriteBatchWI // built lazily when an iteration follows a write
	wbOps int                    // ops mirrored into wb
	// Point writes of this transaction, for reads that follow them without a trip
	// into C: built lazily when a read follows a write.
	pending    map[string]pendingVal
	pendingOps int // ops mirrored into pending
	snap       *grocksdb.Snapshot
	kf         *bloom // the key filter of the snapshot's time
	ro         *grocksdb.ReadOptions

	steps   int              // iterator seeks and steps taken
	reading bool             // the command running writes nothing (see ForRead)
	deltas  [Databases]int64 // change in key count per db
	flushed uint32           // dbs flushed inside this transaction (bit per db)
	touched []KeyRef
}

type pendingVal struct {
	v   []byte
	del bool
}

var txPool = sync.Pool{New: func() any { return new(Tx) }}

// Begin starts a transaction. Close it when done; Commit does not close it.
func (s *Store) Begin() *Tx {
	tx := txPool.Get().(*Tx)
	tx.s = s
	tx.now = time.Now().UnixMilli()
	return tx
}

// ForRead tells the transaction whether the command about to run only reads. A read
// asks the key filter before the key cache: most reads of missing keys end there,
// without a cache lookup. A command that may write keeps the cache first, and the
// cache remembers the keys it finds missing, so the write that follows keeps them
// cached for the reads after it.
func (tx *Tx) ForRead(reading bool) { tx.reading = reading }

// Now is the transaction's clock in unix milliseconds.
func (tx *Tx) Now() int64 { return tx.now }

// Store returns the store the transaction belongs to.
func (tx *Tx) Store() *Store { return tx.s }

// Close releases the transaction's resources.
func (tx *Tx) Close() {
	if tx.wb != nil {
		tx.wb.Destroy()
	}
	if tx.snap != nil {
		tx.ro.Destroy()
		tx.s.db.ReleaseSnapshot(tx.snap)
	}
	ops := tx.ops[:0]
	touched := tx.touched[:0]
	if cap(ops) > 1024 {
		ops = nil
	}
	*tx = Tx{ops: ops, touched: touched[:0]}
	txPool.Put(tx)
}

// Snapshot pins the transaction's reads to one point in time, for multi-key reads that
// must be consistent. Call it before the first read.
func (tx *Tx) Snapshot() {
	if tx.snap != nil {
		return
	}
	tx.s.barrier() // the snapshot must include what other transactions already show
	tx.kf, tx.snap = tx.s.filter.snapshot(tx.s.db)
	tx.ro = grocksdb.NewDefaultReadOptions()
	tx.ro.SetSnapshot(tx.snap)
}

func (tx *Tx) readOpts() *grocksdb.ReadOptions {
	if tx.ro != nil {
		return tx.ro
	}
	return tx.s.ro
}

// Dirty reports whether the transaction has changes to commit.
func (tx *Tx) Dirty() bool { return len(tx.ops) > 0 }

// Ops returns the changes collected so far.
func (tx *Tx) Ops() []Op { return tx.ops }

// Touched returns the keys changed so far.
func (tx *Tx) Touched() []KeyRef { return tx.touched }

// Savepoint marks the current end of the batch so a failed command can be undone.
type Savepoint struct {
	ops, touched int
	deltas       [Databases]int64
	flushed      uint32
}

// Ops is the number of changes recorded before the savepoint.
func (sp Savepoint) Ops() int { return sp.ops }

// Mark returns a savepoint.
func (tx *Tx) Mark() Savepoint {
	return Savepoint{ops: len(tx.ops), touched: len(tx.touched), deltas: tx.deltas, flushed: tx.flushed}
}

// Rollback undoes everything after sp.
func (tx *Tx) Rollback(sp Savepoint) {
	if len(tx.ops) == sp.ops {
		return
	}
	tx.ops = tx.ops[:sp.ops]
	tx.touched = tx.touched[:sp.touched]
	tx.deltas = sp.deltas
	tx.flushed = sp.flushed
	if tx.wb != nil && tx.wbOps > sp.ops {
		tx.wb.Destroy()
		tx.wb = nil
		tx.wbOps = 0
	}
	tx.pending, tx.pendingOps = nil, 0
}

func (tx *Tx) put(k, v []byte) { tx.ops = append(tx.ops, Op{Kind: OpPut, Key: k, Value: v}) }
func (tx *Tx) del(k []byte)    { tx.ops = append(tx.ops, Op{Kind: OpDelete, Key: k}) }

// delRange deletes [start, end). Reads inside the same transaction must not look at
// the range afterwards (callers only drop ranges nothing points at any more), except
// for whole databases, which FlushDB tracks.
func (tx *Tx) delRange(start, end []byte) {
	tx.ops = append(tx.ops, Op{Kind: OpDeleteRange, Key: start, Value: end})
}

// syncBatch mirrors pending ops into the indexed batch so reads see them.
func (tx *Tx) syncBatch() {
	if tx.wb == nil {
		tx.wb = grocksdb.NewWriteBatchWI(0, true)
	}
	for _, op := range tx.ops[tx.wbOps:] {
		switch op.Kind {
		case OpPut:
			tx.wb.Put(op.Key, op.Value)
		case OpDelete:
			tx.wb.Delete(op.Key)
		}
	}
	tx.wbOps = len(tx.ops)
}

func (tx *Tx) flushedDB(k []byte) bool {
	if tx.flushed == 0 || len(k) < 2 || k[0] == prefixSys {
		return false
	}
	return tx.flushed&(1<<k[1]) != 0
}

// syncPending mirrors new point writes into the pending map.
func (tx *Tx) syncPending() {
	if tx.pending == nil {
		tx.pending = make(map[string]pendingVal, len(tx.ops))
	}
	for _, op := range tx.ops[tx.pendingOps:] {
		switch op.Kind {
		case OpPut:
			tx.pending[string(op.Key)] = pendingVal{v: op.Value}
		case OpDelete:
			tx.pending[string(op.Key)] = pendingVal{del: true}
		}
	}
	tx.pendingOps = len(tx.ops)
}

// get reads one raw key, seeing this transaction's writes. nil means absent. Range
// deletions are not consulted: the transaction only drops ranges nothing reads any
// more (an old version's members), except whole databases, which flushedDB covers.
func (tx *Tx) get(k []byte) ([]byte, error) {
	if len(tx.ops) > 0 {
		tx.syncPending()
		if p, ok := tx.pending[string(k)]; ok {
			if p.del {
				return nil, nil
			}
			return append(make([]byte, 0, len(p.v)), p.v...), nil
		}
		if tx.flushedDB(k) {
			return nil, nil
		}
	}
	if tx.snap == nil {
		if e, ok := tx.s.overlayGet(k); ok {
			if e.del {
				return nil, nil
			}
			return append(make([]byte, 0, len(e.v)), e.v...), nil
		}
	}
	// A snapshot keeps the filter of its time: a rebuild since may have left out keys
	// deleted since, which the snapshot still sees.
	kf := tx.kf
	if tx.snap == nil {
		kf = tx.s.filter.current()
	}
	c := tx.s.keys
	cached := tx.snap == nil && c != nil && cacheable(k)
	// The filter comes first unless the key cache can remember a miss for a command
	// that may write (see ForRead).
	filterFirst := !cached || tx.reading
	if filterFirst && tx.s.filter.absent(kf, k) {
		return nil, nil
	}
	if !cached {
		sl, err := tx.s.db.Get(tx.readOpts(), k)
		return sliceBytes(sl, err)
	}
	if v, ok := c.get(k); ok {
		return v, nil
	}
	t := c.token(k)
	var v []byte
	var err error
	if filterFirst || !tx.s.filter.absent(kf, k) {
		sl, gerr := tx.s.db.Get(tx.readOpts(), k)
		v, err = sliceBytes(sl, gerr)
	}
	if err == nil {
		c.fill(t, k, v)
	}
	return v, err
}

func sliceBytes(sl *grocksdb.Slice, err error) ([]byte, error) {
	if err != nil {
		return nil, fmt.Errorf("store: read: %w", err)
	}
	defer sl.Free()
	if !sl.Exists() {
		return nil, nil
	}
	d := sl.Data()
	out := make([]byte, len(d)) // never nil: an empty value exists
	copy(out, d)
	return out, nil
}

// Iter walks raw keys in [lower, upper), seeing the transaction's own writes and the
// queued writes of other transactions.
type Iter struct {
	it           *grocksdb.Iterator
	ro           *grocksdb.ReadOptions
	lower, upper []byte
	steps        *int // the transaction's count of seeks and steps (tests check costs with it)
	bounded      bool // RocksDB enforces lower and upper: Valid needs no key comparison

	// Queued writes of other transactions in the range, merged in (overlay.go).
	lay []overlayEntry
	li  int
	src int8
	dir int
}

// iter opens an iterator over [lower, upper). Close it.
func (tx *Tx) iter(lower, upper []byte) *Iter {
	var lay []overlayEntry
	if tx.snap == nil {
		// Taken before the RocksDB iterator: an entry applied in between is then seen
		// twice, which is harmless, rather than not at all.
		lay = tx.s.overlayRange(lower, upper)
	}
	ro := grocksdb.NewDefaultReadOptions()
	if tx.snap != nil {
		ro.SetSnapshot(tx.snap)
	}
	if tx.flushedDB(lower) {
		// The database was dropped earlier in this transaction: only its own writes count.
		ro.SetIterateLowerBound(lower)
		ro.SetIterateUpperBound(lower)
		lay = nil
	} else {
		ro.SetIterateLowerBound(lower)
		ro.SetIterateUpperBound(upper)
	}
	base := tx.s.db.NewIterator(ro)
	// RocksDB keeps a plain iterator inside both bounds itself (Seek and SeekForPrev
	// are clamped to them); one over the transaction's writes is checked key by key.
	it := &Iter{it: base, ro: ro, lower: lower, upper: upper, steps: &tx.steps, bounded: upper != nil}
	if len(tx.ops) > 0 && tx.writesIn(lower, upper) {
		tx.syncBatch()
		it.it = tx.wb.NewIteratorWithBase(tx.s.db, base)
		it.bounded = false
		if len(lay) > 0 {
			// The transaction's own writes are newer than anything queued.
			lay = slices.DeleteFunc(lay, func(e overlayEntry) bool { return tx.wrote(e.k) })
		}
	}
	if len(lay) > 0 {
		it.lay, it.dir = lay, 1
	}
	return it
}

// compactMin is the smallest transaction compact looks at: smaller ones rarely write
// a key twice.
const compactMin = 8

var lastWrite = sync.Pool{New: func() any { return map[string]int{} }}

// compact drops the writes that a later write of the same key in the transaction
// supersedes (a pipeline of sixteen writes to one collection rewrites its metadata
// sixteen times), so RocksDB, the binlog and followers get only what remains. Call it
// once the transaction is complete.
func (tx *Tx) compact() {
	if len(tx.ops) < compactMin {
		return
	}
	kept := latestWrites(tx.ops)
	if len(kept) == len(tx.ops) {
		return
	}
	clear(tx.ops[len(kept):])
	tx.ops = kept
	// The read views index ops by position: rebuild them if anything reads again.
	if tx.wb != nil {
		tx.wb.Destroy()
		tx.wb, tx.wbOps = nil, 0
	}
	tx.pending, tx.pendingOps = nil, 0
}

// latestWrites filters ops in place to the last put or delete of each key. The order
// of what is kept does not change, so range deletions keep their meaning: whatever
// lies between two writes of a key, the later one decides its value.
func latestWrites(ops []Op) []Op {
	last := lastWrite.Get().(map[string]int)
	defer func() {
		clear(last)
		lastWrite.Put(last)
	}()
	for i := range ops {
		if ops[i].Kind != OpDeleteRange {
			last[string(ops[i].Key)] = i
		}
	}
	kept := ops[:0]
	for i, op := range ops {
		if op.Kind == OpDeleteRange || last[string(op.Key)] == i {
			kept = append(kept, op)
		}
	}
	return kept
}

// wrote reports whether the transaction wrote key k (put or delete).
func (tx *Tx) wrote(k []byte) bool {
	if len(tx.ops) <= 16 {
		// A command's own few writes: cheaper to scan than to index.
		for i := range tx.ops {
			if tx.ops[i].Kind != OpDeleteRange && bytes.Equal(tx.ops[i].Key, k) {
				return true
			}
		}
		return false
	}
	tx.syncPending()
	_, ok := tx.pending[string(k)]
	return ok
}

// writesIn reports whether the transaction may have written a key in [lower, upper):
// an iterator over a range it did not write needs no view of its writes.
func (tx *Tx) writesIn(lower, upper []byte) bool {
	if len(tx.ops) > 1024 {
		return true
	}
	for i := range tx.ops {
		k := tx.ops[i].Key
		if tx.ops[i].Kind != OpDeleteRange && bytes.Compare(k, lower) >= 0 && (upper == nil || bytes.Compare(k, upper) < 0) {
			return true
		}
	}
	return false
}

// countKeys counts the keys in [lower, upper) with one iterator: one consistent state.
func (tx *Tx) countKeys(lower, upper []byte) (int64, error) {
	it := tx.iter(lower, upper)
	defer it.Close()
	var n int64
	for it.SeekFirst(); it.Valid(); it.Next() {
		n++
	}
	return n, it.Err()
}

// Valid reports whether the iterator is positioned on a key inside its bounds.
func (it *Iter) Valid() bool {
	if it.lay != nil {
		return it.src != srcNone
	}
	return it.innerValid()
}

// Key is valid until the iterator moves.
func (it *Iter) Key() []byte {
	if it.lay != nil && it.src != srcInner {
		return it.lay[it.li].k
	}
	return it.it.Key().Data()
}

// Value is valid until the iterator moves.
func (it *Iter) Value() []byte {
	if it.lay != nil && it.src != srcInner {
		return it.lay[it.li].v
	}
	return it.it.Value().Data()
}

func (it *Iter) Next() {
	*it.steps++
	if it.lay != nil {
		it.mergedStep(1)
		return
	}
	it.it.Next()
}

func (it *Iter) Prev() {
	*it.steps++
	if it.lay != nil {
		it.mergedStep(-1)
		return
	}
	it.it.Prev()
}

func (it *Iter) Seek(k []byte) {
	*it.steps++
	if it.lay != nil {
		it.mergedSeek(k)
		return
	}
	it.it.Seek(k)
}

func (it *Iter) SeekFirst() { it.Seek(it.lower) }

func (it *Iter) SeekForPrev(k []byte) {
	*it.steps++
	if it.lay != nil {
		it.mergedSeekForPrev(k)
		return
	}
	it.it.SeekForPrev(k)
}

// SeekLast positions on the last key below the upper bound.
func (it *Iter) SeekLast() {
	if it.upper == nil {
		*it.steps++
		if it.lay != nil {
			it.dir = -1
			it.it.SeekToLast()
			it.li = len(it.lay) - 1
			it.settle()
			return
		}
		it.it.SeekToLast()
		return
	}
	// upper is exclusive: the last key below it.
	it.SeekForPrev(it.upper)
	if it.Valid() && bytes.Equal(it.Key(), it.upper) {
		it.Prev()
	}
}

// Err returns an iteration error.
func (it *Iter) Err() error {
	if err := it.it.Err(); err != nil {
		return fmt.Errorf("store: iterate: %w", err)
	}
	return nil
}

// Close releases the iterator.
func (it *Iter) Close() {
	it.it.Close()
	it.ro.Destroy()
}
