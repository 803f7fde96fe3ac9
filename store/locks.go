package store

import (
	"hash/maphash"
	"sort"
	"sync"
)

const lockStripes = 4096

// keyLocks serialises read-modify-write commands per key. Writers hold the world lock
// shared; commands that touch a whole database (FLUSHDB, EXEC) hold it exclusively.
type keyLocks struct {
	world   sync.RWMutex
	seed    maphash.Seed
	stripes [lockStripes]sync.Mutex
}

func (l *keyLocks) stripe(db int, key []byte) int {
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteByte(byte(db))
	h.Write(key)
	return int(h.Sum64() % lockStripes)
}

// Unlocker releases locks taken by LockKeys or LockAll.
type Unlocker func()

// LockKeys locks the given keys of db (in a fixed order, so that two commands over the
// same keys cannot deadlock) until the returned function is called.
func (s *Store) LockKeys(db int, keys ...[]byte) Unlocker {
	l := &s.locks
	l.world.RLock()
	switch len(keys) {
	case 0:
		return l.world.RUnlock
	case 1:
		m := &l.stripes[l.stripe(db, keys[0])]
		m.Lock()
		return func() { m.Unlock(); l.world.RUnlock() }
	}
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, l.stripe(db, k))
	}
	sort.Ints(idx)
	uniq := idx[:0]
	for i, v := range idx {
		if i == 0 || v != idx[i-1] {
			uniq = append(uniq, v)
		}
	}
	for _, i := range uniq {
		l.stripes[i].Lock()
	}
	return func() {
		for j := len(uniq) - 1; j >= 0; j-- {
			l.stripes[uniq[j]].Unlock()
		}
		l.world.RUnlock()
	}
}

// LockAll excludes every other writer, for commands whose keys are not known up front.
func (s *Store) LockAll() Unlocker {
	s.locks.world.Lock()
	return s.locks.world.Unlock
}
