package store

import (
	"fmt"
)

// replayBatch bounds how many records one RocksDB write applies during replay.
const replayBatch = 1024

// recover brings RocksDB up to the end of the log: every record after the last
// applied ID is applied again, so nothing acknowledged is lost although RocksDB's WAL
// is off.
func (s *Store) recover() error {
	if s.log == nil {
		return nil
	}
	applied := s.applied.Load()
	last := s.log.LastID()
	if last < applied {
		// RocksDB holds records the log lost (a crash under sync=no/everysec after a
		// memtable flush): continue numbering after what RocksDB has.
		if err := s.log.SetLastID(applied); err != nil {
			return fmt.Errorf("store: align binlog with applied id %d: %w", applied, err)
		}
		return nil
	}
	if last == applied {
		return nil
	}
	var counts [Databases]int64
	for db := range counts {
		counts[db] = s.keyCounts[db].Load()
	}
	rep := newBatchRep(1024)
	var changed uint32
	pending := 0
	var lastID uint64
	var lastHist [20]byte
	flush := func() error {
		if pending == 0 {
			return nil
		}
		rep.add(OpPut, sysAppliedKey, encodeU64(lastID))
		rep.add(OpPut, sysHistoryKey, append([]byte(nil), lastHist[:]...))
		if err := s.writeCounts(rep, &counts, changed); err != nil {
			return fmt.Errorf("store: replay up to record %d: %w", lastID, err)
		}
		s.applied.Store(lastID)
		rep = newBatchRep(1024)
		changed, pending = 0, 0
		return nil
	}
	err := s.log.Replay(applied, func(id uint64, hist [20]byte, payload []byte) error {
		ch, err := DecodeChanges(payload)
		if err != nil {
			return fmt.Errorf("record %d: %w", id, err)
		}
		rep.addOps(ch.Ops)
		changed |= applyDeltas(&counts, &ch.Deltas, ch.Flushed)
		lastID, lastHist = id, hist
		pending++
		if pending >= replayBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: replay binlog after %d: %w", applied, err)
	}
	if err := flush(); err != nil {
		return err
	}
	s.histMu.Lock()
	s.history, s.histSaved = lastHist, true
	s.histMu.Unlock()
	if v := s.version.Load(); v < s.versionFloor() {
		s.version.Store(s.versionFloor())
	}
	return nil
}

// versionFloor re-reads the persisted version high-water mark after a replay.
func (s *Store) versionFloor() uint64 {
	v, err := s.db.GetBytes(s.ro, sysVersionKey)
	if err != nil || len(v) != 8 {
		return 0
	}
	return decodeU64(v)
}
