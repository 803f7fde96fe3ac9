package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
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
	tx   *Tx
	err  error
	lead bool
	done chan struct{}
}

// Commit logs and applies the transaction's changes atomically. Concurrent commits are
// grouped: the first caller to arrive appends and writes for everyone queued behind it
// (one binlog append, one fsync, one RocksDB write), then hands the lead to the next
// waiter.
func (s *Store) Commit(tx *Tx) error {
	if len(tx.ops) == 0 {
		return nil
	}
	if err := s.WriteError(); err != nil {
		return err
	}
	req := &commitReq{tx: tx, done: make(chan struct{})}
	s.cmu.Lock()
	s.queue = append(s.queue, req)
	if s.leading {
		s.cmu.Unlock()
		<-req.done
		if !req.lead {
			return req.err
		}
		s.cmu.Lock()
	} else {
		s.leading = true
	}
	group := s.queue
	s.queue = nil
	s.cmu.Unlock()

	s.writeGroup(group)

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
	return req.err
}

// WriteError returns why writes are refused, or nil.
func (s *Store) WriteError() error {
	if p := s.failure.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Store) fail(err error) error {
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
	for _, r := range group {
		rep.addOps(r.tx.ops)
	}
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

// SetHistory starts a new history (promotion of a follower); it is persisted with the
// next write.
func (s *Store) SetHistory(h [20]byte) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if h != s.history {
		s.history = h
		s.histSaved = false
	}
}

func (s *Store) addHistory(rep *batchRep) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	if !s.histSaved {
		rep.add(OpPut, sysHistoryKey, append([]byte(nil), s.history[:]...))
		s.histSaved = true
	}
}

// AppliedID is the ID of the last binlog record applied to RocksDB.
func (s *Store) AppliedID() uint64 { return s.applied.Load() }

func (s *Store) writeRep(rep []byte) error {
	wb := grockWriteBatchFrom(rep)
	defer wb.Destroy()
	return s.db.Write(s.wo, wb)
}

// batchRep builds RocksDB's WriteBatch wire representation directly, so a whole group
// crosses into C in one call instead of one call per key.
type batchRep struct {
	b     []byte
	count uint32
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

func (r *batchRep) bytes() []byte {
	binary.LittleEndian.PutUint32(r.b[8:], r.count)
	return r.b
}
