package store

import (
	"encoding/binary"
	"fmt"
)

// Committer is the seam in front of the store's single commit path: everything that
// changes data goes through Commit, so a log can be put in front of it.
type Committer interface {
	Commit(tx *Tx) error
}

var _ Committer = (*Store)(nil)

type commitReq struct {
	tx   *Tx
	err  error
	lead bool
	done chan struct{}
}

// Commit applies the transaction's changes atomically. Concurrent commits are grouped
// into one RocksDB write: the first caller to arrive writes for everyone queued
// behind it, then hands the lead to the next waiter.
func (s *Store) Commit(tx *Tx) error {
	if len(tx.ops) == 0 {
		return nil
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

func (s *Store) writeGroup(group []*commitReq) {
	if err := s.checkOpen(); err != nil {
		for _, r := range group {
			r.err = err
		}
		return
	}
	var counts [Databases]int64
	var changed uint32
	for db := range counts {
		counts[db] = s.keyCounts[db].Load()
	}
	n := 0
	for _, r := range group {
		tx := r.tx
		for db := 0; db < Databases; db++ {
			if tx.flushed&(1<<db) != 0 {
				counts[db] = tx.deltas[db]
				changed |= 1 << db
			} else if tx.deltas[db] != 0 {
				counts[db] += tx.deltas[db]
				changed |= 1 << db
			}
		}
		n += len(tx.ops)
	}
	rep := newBatchRep(n + Databases)
	for _, r := range group {
		rep.addOps(r.tx.ops)
	}
	for db := 0; db < Databases; db++ {
		if changed&(1<<db) != 0 {
			rep.add(OpPut, sysKeysKey(db), encodeU64(uint64(counts[db])))
		}
	}
	err := s.writeRep(rep.bytes())
	if err != nil {
		err = fmt.Errorf("store: write batch of %d transactions: %w", len(group), err)
	} else {
		for db := 0; db < Databases; db++ {
			if changed&(1<<db) != 0 {
				s.keyCounts[db].Store(counts[db])
			}
		}
		s.stats.Groups.Add(1)
		s.stats.Commits.Add(int64(len(group)))
	}
	for _, r := range group {
		r.err = err
	}
	if err == nil && len(s.hooks) > 0 {
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

// WriteOps applies raw changes produced elsewhere (binlog replay, replication), as
// one atomic write with the given key-count corrections.
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
