package store

import (
	"encoding/binary"
	"time"
)

// expireCycle is how often the background cycle looks for keys past their expiry.
const expireCycle = 100 * time.Millisecond

// expireBatch bounds the keys removed per database per cycle, so one cycle never holds
// up writers for long; a backlog drains over the following cycles.
const expireBatch = 256

func (s *Store) expireLoop() {
	defer s.bg.Done()
	t := time.NewTicker(expireCycle)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if s.noExpire.Load() || s.expirePaused.Load() {
			continue
		}
		for db := 0; db < Databases; db++ {
			for {
				n, err := s.ExpireCycle(db, expireBatch)
				if err != nil || n < expireBatch {
					break
				}
				select {
				case <-s.stop:
					return
				default:
				}
			}
		}
	}
}

// ExpireCycle deletes up to limit keys of db whose expiry has passed, through the
// normal commit path, and returns how many it deleted.
func (s *Store) ExpireCycle(db int, limit int) (int, error) {
	now := time.Now().UnixMilli()
	start := []byte{prefixExpire, byte(db)}
	end := binary.BigEndian.AppendUint64([]byte{prefixExpire, byte(db)}, uint64(now+1))
	var due [][]byte
	tx := s.Begin()
	it := tx.iter(start, end)
	for it.SeekFirst(); it.Valid() && len(due) < limit; it.Next() {
		due = append(due, append([]byte(nil), it.Key()...))
	}
	err := it.Err()
	it.Close()
	tx.Close()
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, ek := range due {
		ok, err := s.expireKey(db, int64(binary.BigEndian.Uint64(ek[2:10])), ek[10:])
		if err != nil {
			return deleted, err
		}
		if ok {
			deleted++
		}
	}
	return deleted, nil
}

// expireKey removes key if it is still expired once locked.
func (s *Store) expireKey(db int, at int64, key []byte) (bool, error) {
	unlock := s.LockKeys(db, key)
	defer unlock()
	tx := s.Begin()
	defer tx.Close()
	k, err := tx.Load(db, key)
	if err != nil {
		return false, err
	}
	if !k.phys || k.old.ExpireAt != at {
		// The index entry outlived its key; drop it so the cycle does not revisit it.
		tx.del(expireKey(db, at, key))
		return false, s.Commit(tx)
	}
	if !k.old.Expired(tx.now) {
		return false, nil
	}
	tx.Delete(k)
	if err := s.Commit(tx); err != nil {
		return false, err
	}
	s.stats.ExpiredKeys.Add(1)
	return true, nil
}
