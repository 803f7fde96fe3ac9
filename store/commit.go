package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/linxGnu/grocksdb"

	"github.com/strata-kv/strata/binlog"
)

// Committer is the seam in front of the store's single commit path: everything that
// changes data goes through Commit.
type Committer interface {
	Commit(tx *Tx) error
}

var _ Committer = (*Store)(nil)

// ErrWritesDisabled: an earlier write to the binlog or RocksDB failed; the store
// serves reads but refuses writes until an operator restarts it.
var ErrWritesDisabled = errors.New("store: writes disabled after a write failure")

type commitReq struct {
	barrier bool // carries nothing: done once everything queued before it is applied
	seq     uint64
	promote bool // start a new history at this point of the commit order
	tx      *Tx
	recs    []binlog.Record // records from a master, applied as they are
	err     error
	lead    bool
	done    chan struct{}
	last    uint64 // ID the request's last record got
}

// Commit logs and applies the transaction's changes atomically. Concurrent commits are
// grouped: the first caller to arrive appends and writes for everyone queued behind it
// (one binlog append, one fsync, one RocksDB write), then hands the lead to the next
// waiter.
func (s *Store) Commit(tx *Tx) error {
	if len(tx.ops) == 0 {
		return nil
	}
	_, err := s.commit(&commitReq{tx: tx, done: make(chan struct{})})
	return err
}

// CommitID is Commit that also returns the binlog ID the transaction got (0 without a
// log), for callers that wait for followers to acknowledge it.
func (s *Store) CommitID(tx *Tx) (uint64, error) {
	if len(tx.ops) == 0 {
		return 0, nil
	}
	return s.commit(&commitReq{tx: tx, done: make(chan struct{})})
}

// ApplyRecords applies records received from a master through the same commit path
// as local writes: they go to this store's binlog with their own IDs and histories,
// then to RocksDB, so a follower's log matches its master's and it can feed its own
// followers or be promoted.
func (s *Store) ApplyRecords(recs []binlog.Record) error {
	if len(recs) == 0 {
		return nil
	}
	_, err := s.commit(&commitReq{recs: recs, done: make(chan struct{})})
	return err
}

// Pending is a transaction queued by Submit and not yet waited for.
type Pending = commitReq

// Submit queues the transaction in commit order and makes its changes visible to
// every read at once (through the store's overlay of queued writes), so a command can
// release its key locks before its write reaches disk: the next writer of a hot key
// builds on it and joins the same group. Wait finishes the commit; call it even when
// the result does not matter, and close the transaction only after it.
func (s *Store) Submit(tx *Tx) *Pending {
	if len(tx.ops) == 0 {
		return nil
	}
	tx.compact()
	req := &commitReq{tx: tx, done: make(chan struct{})}
	s.cmu.Lock()
	s.enqueue(req)
	s.cmu.Unlock()
	return req
}

// Wait completes a submitted transaction and returns the binlog ID it got.
func (s *Store) Wait(p *Pending) (uint64, error) {
	if p == nil {
		return 0, nil
	}
	return s.run(p)
}

// enqueue appends req to the queue and its point writes to the overlay; cmu is held.
func (s *Store) enqueue(req *commitReq) {
	s.seq++
	req.seq = s.seq
	if req.tx != nil && len(req.tx.ops) > 0 {
		// Readers of the rank cache see the overlay and the cache change as one.
		st, all := s.ranks.changing(req.tx.ops)
		defer s.ranks.changed(st, all)
		s.pmu.Lock()
		for i := range req.tx.ops {
			op := &req.tx.ops[i]
			switch op.Kind {
			case OpPut:
				s.layPut(op.Key, overlayVal{v: op.Value, seq: req.seq})
			case OpDelete:
				s.layPut(op.Key, overlayVal{del: true, seq: req.seq})
			}
		}
		s.overlayN.Store(int64(len(s.overlay)))
		s.pmu.Unlock()
		s.ranks.apply(req.tx.ops)
	}
	s.queue = append(s.queue, req)
}

// unlay removes a written group's entries from the overlay, unless a later
// transaction has overwritten them since.
func (s *Store) unlay(group []*commitReq) {
	s.pmu.Lock()
	for _, r := range group {
		if r.tx == nil {
			continue
		}
		for i := range r.tx.ops {
			k := r.tx.ops[i].Key
			if e, ok := s.overlay[string(k)]; ok && e.seq == r.seq {
				s.layDrop(k)
			}
		}
	}
	s.overlayN.Store(int64(len(s.overlay)))
	s.pmu.Unlock()
}

// Barrier returns once every transaction queued so far is applied (and its commit
// hooks have run): EXEC calls it before checking WATCHed keys.
func (s *Store) Barrier() { s.barrier() }

// barrier returns once every transaction queued so far is applied, for snapshots,
// which read RocksDB directly and cannot see the overlay.
func (s *Store) barrier() {
	if s.overlayN.Load() == 0 {
		return
	}
	_, _ = s.commit(&commitReq{barrier: true, done: make(chan struct{})})
}

func (s *Store) commit(req *commitReq) (uint64, error) {
	if req.tx != nil {
		req.tx.compact()
	}
	s.cmu.Lock()
	s.enqueue(req)
	s.cmu.Unlock()
	return s.run(req)
}

// run waits for a queued request, leading the group write when nobody else does.
func (s *Store) run(req *commitReq) (uint64, error) {
	s.cmu.Lock()
	if s.leading {
		s.cmu.Unlock()
		<-req.done
		if !req.lead {
			return req.last, req.err
		}
		s.cmu.Lock()
	} else {
		select {
		case <-req.done:
			// An earlier leader already wrote it.
			s.cmu.Unlock()
			return req.last, req.err
		default:
		}
		s.leading = true
		// Let the writers that are already running reach the queue before taking it:
		// one yield turns groups of one or two into groups of ten under load, and each
		// group costs one binlog write and one RocksDB write whatever its size.
		s.cmu.Unlock()
		runtime.Gosched()
		s.cmu.Lock()
	}
	group := s.queue
	s.queue = nil
	if n := groupCut(group, req); n < len(group) {
		s.queue = append([]*commitReq(nil), group[n:]...)
		group = group[:n]
	}
	s.cmu.Unlock()

	var real []*commitReq
	for _, r := range group {
		if !r.barrier {
			real = append(real, r)
		}
	}
	if len(real) > 0 {
		if err := s.WriteError(); err != nil {
			for _, r := range real {
				r.err = err
			}
		} else {
			s.writeGroup(real)
		}
		s.unlay(real)
	}

	s.cmu.Lock()
	if len(s.queue) > 0 {
		next := s.queue[0]
		next.lead = true
		close(next.done)
	} else {
		s.leading = false
	}
	s.cmu.Unlock()
	for _, r := range group {
		if r != req {
			close(r.done)
		}
	}
	return req.last, req.err
}

// maxGroupOps bounds the changes one group write takes, so a burst from many
// pipelining clients is written in parts: the clients of the first part get their
// replies and send their next commands while the next part is written, instead of
// every client waiting for one large write and then all sending at once.
const maxGroupOps = 256

// groupCut returns how many requests from the front of the queue make one group. The
// group reaches at least to the leader's own request: a leader returns once its group
// is written, so its request must be in it.
func groupCut(q []*commitReq, leader *commitReq) int {
	ops, mine := 0, false
	for i, r := range q {
		if r.tx != nil {
			ops += len(r.tx.ops)
		}
		if ops > maxGroupOps && i > 0 && mine {
			return i
		}
		mine = mine || r == leader
	}
	return len(q)
}

// WriteError returns why writes are refused, or nil.
func (s *Store) WriteError() error {
	if p := s.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Fail stops writes after a failure found outside the commit path (an fsync of the
// binlog that a client was waiting for).
func (s *Store) Fail(err error) error { return s.fail(err) }

func (s *Store) fail(err error) error {
	s.ranks.clear() // it may hold changes that never reached RocksDB
	wrapped := fmt.Errorf("%w: %v", ErrWritesDisabled, err)
	s.failure.CompareAndSwap(nil, &wrapped)
	return *s.failure.Load()
}

func (s *Store) writeGroup(group []*commitReq) {
	setErr := func(err error) {
		for _, r := range group {
			r.err = err
		}
	}
	if err := s.checkOpen(); err != nil {
		setErr(err)
		return
	}
	if err := s.WriteError(); err != nil {
		setErr(err)
		return
	}
	// Records from a master are written on their own: their IDs are fixed already.
	// A promotion too: it must fall between two groups.
	if group[0].recs != nil || group[0].promote {
		if len(group) > 1 {
			s.writeGroup(group[:1])
			s.writeGroup(group[1:])
			return
		}
		if group[0].promote {
			group[0].err = s.promote()
			return
		}
		s.applyRecords(group[0])
		return
	}
	for i, r := range group {
		if r.recs != nil || r.promote {
			s.writeGroup(group[:i])
			s.writeGroup(group[i:])
			return
		}
	}
	var counts [Databases]int64
	for db := range counts {
		counts[db] = s.keyCounts[db].Load()
	}
	n := 0
	var changed uint32
	for _, r := range group {
		changed |= applyDeltas(&counts, &r.tx.deltas, r.tx.flushed)
		n += len(r.tx.ops)
	}
	rep := newBatchRep(n + Databases + 2)
	s.addGroupOps(rep, group)
	if s.log != nil {
		if cap(s.encBuf) < len(group) {
			s.encBuf = make([][]byte, len(group))
		}
		enc := s.encBuf[:len(group)]
		for i, r := range group {
			enc[i] = r.tx.EncodeChanges(enc[i][:0])
		}
		first, err := s.log.Append(s.History(), time.Now().UnixMilli(), enc...)
		if err != nil {
			setErr(s.fail(fmt.Errorf("binlog append: %w", err)))
			return
		}
		last := first + uint64(len(group)) - 1
		for i, r := range group {
			r.last = first + uint64(i)
		}
		rep.add(OpPut, sysAppliedKey, encodeU64(last))
		s.addHistory(rep)
		if err := s.writeCounts(rep, &counts, changed); err != nil {
			// The records are in the binlog: a restart replays them.
			setErr(s.fail(err))
			return
		}
		s.applied.Store(last)
	} else if err := s.writeCounts(rep, &counts, changed); err != nil {
		setErr(fmt.Errorf("store: write batch of %d transactions: %w", len(group), err))
		return
	}
	s.stats.Groups.Add(1)
	s.stats.Commits.Add(int64(len(group)))
	for _, r := range group {
		for i := range r.tx.ops {
			if r.tx.ops[i].Kind == OpDeleteRange {
				s.noteRangeDelete()
			}
		}
	}
	if len(s.hooks) > 0 {
		for _, r := range group {
			if len(r.tx.touched) == 0 {
				continue
			}
			for _, h := range s.hooks {
				h(r.tx.touched)
			}
		}
	}
}

// addGroupOps adds the group's writes to rep, leaving out those that a later
// transaction of the same group overwrites: at one command per transaction, each write
// to a collection rewrites its metadata, and a memtable insert costs as much as the
// rest of the command. The overlay knows the last queued writer of every key, and the
// group holds a contiguous run of the queue's sequence numbers.
func (s *Store) addGroupOps(rep *batchRep, group []*commitReq) {
	if len(group) == 1 {
		rep.addOps(group[0].tx.ops)
		return
	}
	last := group[len(group)-1].seq
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	for _, r := range group {
		for i := range r.tx.ops {
			op := &r.tx.ops[i]
			if op.Kind != OpDeleteRange {
				if e, ok := s.overlay[string(op.Key)]; ok && e.seq > r.seq && e.seq <= last {
					continue
				}
			}
			rep.add(op.Kind, op.Key, op.Value)
		}
	}
}

// applyRecords logs and applies one batch of records from a master.
func (s *Store) applyRecords(r *commitReq) {
	var counts [Databases]int64
	for db := range counts {
		counts[db] = s.keyCounts[db].Load()
	}
	var changed uint32
	var all, ops []Op
	for i := range r.recs {
		ch, err := DecodeChanges(r.recs[i].Changes)
		if err != nil {
			r.err = fmt.Errorf("record %d from master: %w", r.recs[i].ID, err)
			return
		}
		all = append(all, ch.Ops...)
		changed |= applyDeltas(&counts, &ch.Deltas, ch.Flushed)
		for _, op := range ch.Ops {
			if op.Kind == OpDeleteRange {
				s.noteRangeDelete()
			}
			if op.Kind == OpDeleteRange || (len(op.Key) > 0 && op.Key[0] == prefixRank) {
				ops = append(ops, op) // for the rank cache
			}
		}
	}
	// As on the master, RocksDB gets only the last write of each key the records
	// write more than once.
	if len(r.recs) > 1 {
		all = latestWrites(all)
	}
	rep := newBatchRep(len(all) + Databases + 2)
	rep.addOps(all)
	// The records change rank counts the cache may hold: the sets they touch are
	// marked changing until the cache has the new counts too.
	if len(ops) > 0 {
		st, all := s.ranks.changing(ops)
		defer func() {
			s.ranks.apply(ops)
			s.ranks.changed(st, all)
		}()
	}
	last := r.recs[len(r.recs)-1]
	if s.log != nil {
		if err := s.log.AppendRecords(r.recs); err != nil {
			r.err = s.fail(fmt.Errorf("binlog append: %w", err))
			return
		}
	}
	rep.add(OpPut, sysAppliedKey, encodeU64(last.ID))
	s.histMu.Lock()
	if s.history != last.History {
		s.history = last.History
	}
	s.histMu.Unlock()
	rep.add(OpPut, sysHistoryKey, append([]byte(nil), last.History[:]...))
	if err := s.writeCounts(rep, &counts, changed); err != nil {
		r.err = s.fail(err)
		return
	}
	s.applied.Store(last.ID)
	r.last = last.ID
	s.stats.Groups.Add(1)
	s.stats.Commits.Add(int64(len(r.recs)))
	if len(s.hooks) > 0 {
		// Followers serve reads: wake WATCHers of every key the records touched.
		all := make([]KeyRef, 0, Databases)
		for db := 0; db < Databases; db++ {
			if changed&(1<<db) != 0 {
				all = append(all, KeyRef{DB: db, All: true})
			}
		}
		for _, h := range s.hooks {
			h(all)
		}
	}
}

// applyDeltas folds one transaction's key-count changes into counts and returns the
// databases it changed.
func applyDeltas(counts, deltas *[Databases]int64, flushed uint32) uint32 {
	var changed uint32
	for db := 0; db < Databases; db++ {
		if flushed&(1<<db) != 0 {
			counts[db] = deltas[db]
			changed |= 1 << db
		} else if deltas[db] != 0 {
			counts[db] += deltas[db]
			changed |= 1 << db
		}
	}
	return changed
}

// writeCounts adds the changed key counts to the batch, writes it, and publishes the
// counts once RocksDB has them.
func (s *Store) writeCounts(rep *batchRep, counts *[Databases]int64, changed uint32) error {
	for db := 0; db < Databases; db++ {
		if changed&(1<<db) != 0 {
			rep.add(OpPut, sysKeysKey(db), encodeU64(uint64(counts[db])))
		}
	}
	if err := s.writeRep(rep.bytes()); err != nil {
		return fmt.Errorf("rocksdb write: %w", err)
	}
	if s.keys != nil {
		s.keys.apply(rep)
	}
	for db := 0; db < Databases; db++ {
		if changed&(1<<db) != 0 {
			s.keyCounts[db].Store(counts[db])
		}
	}
	return nil
}

// History is the 20-byte ID of the history new records belong to.
func (s *Store) History() [20]byte {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	return s.history
}

// Promote starts a new history after this store stops following a master: records
// from now on carry a fresh history ID, and the old one is remembered with the first
// ID that is not part of it, so followers whose data is a prefix of ours can continue.
// Both are persisted at once.
func (s *Store) Promote() error {
	_, err := s.commit(&commitReq{promote: true, done: make(chan struct{})})
	return err
}

// promote runs in the commit order, between two groups, so every record before it
// has the old history and every record after it the new one.
func (s *Store) promote() error {
	var h [20]byte
	_, _ = rand.Read(h[:])
	s.histMu.Lock()
	s.prevHistory, s.prevEnd = s.history, s.applied.Load()+1
	s.history, s.histSaved = h, true
	prev := append(append([]byte(nil), s.prevHistory[:]...), encodeU64(s.prevEnd)...)
	s.histMu.Unlock()
	rep := newBatchRep(2)
	rep.add(OpPut, sysHistoryKey, h[:])
	rep.add(OpPut, sysPrevHistoryKey, prev)
	if err := s.writeRep(rep.bytes()); err != nil {
		return fmt.Errorf("store: persist promotion: %w", err)
	}
	return nil
}

// PrevHistory returns the history before the last promotion and the first ID after it
// (zero values when there was none).
func (s *Store) PrevHistory() ([20]byte, uint64) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	return s.prevHistory, s.prevEnd
}

// SetActiveExpire turns the background expiry cycle on or off: a follower leaves
// expiry to its master, whose deletions arrive through replication.
func (s *Store) SetActiveExpire(on bool) { s.noExpire.Store(!on) }

// PauseExpire holds the background expiry cycle while clients' writes are paused
// (CLIENT PAUSE): its deletions are writes too.
func (s *Store) PauseExpire(paused bool) { s.expirePaused.Store(paused) }

func (s *Store) addHistory(rep *batchRep) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if !s.histSaved {
		rep.add(OpPut, sysHistoryKey, append([]byte(nil), s.history[:]...))
		s.histSaved = true
	}
}

// rangeDeletesPerFlush bounds the range tombstones a memtable collects: RocksDB 7
// re-fragments all of a memtable's range tombstones on every read, so past this many
// the memtable is flushed, after which the SST's fragmented list is cached.
const rangeDeletesPerFlush = 256

// noteRangeDelete counts a written range deletion and schedules a memtable flush once
// enough have piled up. Called by the commit leader only.
func (s *Store) noteRangeDelete() {
	s.rangeDeletes++
	if s.rangeDeletes < rangeDeletesPerFlush {
		return
	}
	s.rangeDeletes = 0
	fo := grocksdb.NewDefaultFlushOptions()
	fo.SetWait(false)
	_ = s.db.Flush(fo) // best effort: a failed flush only leaves reads slower
	fo.Destroy()
}

// AppliedID is the ID of the last binlog record applied to RocksDB.
func (s *Store) AppliedID() uint64 { return s.applied.Load() }

// threadedWriteMin is the batch size (in changes) from which a group write goes to
// the writer thread: below it, the hand-over costs more than the write.
const threadedWriteMin = 64

func (s *Store) writeRep(rep []byte) error {
	if s.filter != nil && s.filter.addRep(rep) {
		s.filter.requestBuild()
	}
	if s.writer != nil && binary.LittleEndian.Uint32(rep[8:]) >= threadedWriteMin {
		return s.writer.write(s.db, rep)
	}
	wb := grockWriteBatchFrom(rep)
	defer wb.Destroy()
	return s.db.Write(s.wo, wb)
}

// batchRep builds RocksDB's WriteBatch wire representation directly, so a whole group
// crosses into C in one call instead of one call per key.
type batchRep struct {
	b     []byte
	count uint32
	// For the key cache: where the puts and deletes of metadata start in b, and
	// whether a range deletion may cover metadata.
	metaOps  []int32
	hitsMeta bool
}

const (
	repTypeDeletion      = 0x0
	repTypeValue         = 0x1
	repTypeRangeDeletion = 0xF
)

func newBatchRep(hint int) *batchRep {
	b := make([]byte, 12, 12+hint*32)
	return &batchRep{b: b}
}

func (r *batchRep) addOps(ops []Op) {
	for i := range ops {
		r.add(ops[i].Kind, ops[i].Key, ops[i].Value)
	}
}

func (r *batchRep) add(kind opKind, k, v []byte) {
	if kind == OpDeleteRange {
		r.hitsMeta = r.hitsMeta || rangeHitsMeta(k, v)
	} else if cacheable(k) {
		r.metaOps = append(r.metaOps, int32(len(r.b)))
	}
	switch kind {
	case OpPut:
		r.b = append(r.b, repTypeValue)
		r.b = binary.AppendUvarint(r.b, uint64(len(k)))
		r.b = append(r.b, k...)
		r.b = binary.AppendUvarint(r.b, uint64(len(v)))
		r.b = append(r.b, v...)
	case OpDelete:
		r.b = append(r.b, repTypeDeletion)
		r.b = binary.AppendUvarint(r.b, uint64(len(k)))
		r.b = append(r.b, k...)
	case OpDeleteRange:
		r.b = append(r.b, repTypeRangeDeletion)
		r.b = binary.AppendUvarint(r.b, uint64(len(k)))
		r.b = append(r.b, k...)
		r.b = binary.AppendUvarint(r.b, uint64(len(v)))
		r.b = append(r.b, v...)
	}
	r.count++
}

// repEntry decodes the entry at the start of b, in the wire format batchRep writes: its
// type, key and value (a range deletion's end key; none for a deletion), and what follows.
func repEntry(b []byte) (kind byte, k, v, rest []byte) {
	kind = b[0]
	kl, n := binary.Uvarint(b[1:])
	k = b[1+n : 1+n+int(kl)]
	b = b[1+n+int(kl):]
	if kind == repTypeDeletion {
		return kind, k, nil, b
	}
	vl, n := binary.Uvarint(b)
	return kind, k, b[n : n+int(vl)], b[n+int(vl):]
}

func (r *batchRep) bytes() []byte {
	binary.LittleEndian.PutUint32(r.b[8:], r.count)
	return r.b
}
