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

// LockSet accumulates key locks command by command, so a pipeline of writes from one
// connection can share one transaction and one commit.
type LockSet struct {
	s     *Store
	world bool
	held  []int
}

// NewLockSet returns an empty lock set.
func (s *Store) NewLockSet() *LockSet { return &LockSet{s: s} }

// TryAdd locks keys without waiting. It reports false, holding nothing new, when one of
// them is held elsewhere; the caller then commits, releases and uses Add.
func (ls *LockSet) TryAdd(db int, keys ...[]byte) bool {
	l := &ls.s.locks
	if !ls.world {
		if !l.world.TryRLock() {
			return false
		}
		ls.world = true
	}
	n := len(ls.held)
	for _, k := range keys {
		i := l.stripe(db, k)
		if ls.holds(i) {
			continue
		}
		if !l.stripes[i].TryLock() {
			for _, j := range ls.held[n:] {
				l.stripes[j].Unlock()
			}
			ls.held = ls.held[:n]
			return false
		}
		ls.held = append(ls.held, i)
	}
	return true
}

// Add locks keys, waiting for them. Only call it on an empty set (after Release), so
// that locks are always taken in one global order.
func (ls *LockSet) Add(db int, keys ...[]byte) {
	l := &ls.s.locks
	l.world.RLock()
	ls.world = true
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, l.stripe(db, k))
	}
	sort.Ints(idx)
	for j, i := range idx {
		if j > 0 && idx[j-1] == i {
			continue
		}
		l.stripes[i].Lock()
		ls.held = append(ls.held, i)
	}
}

func (ls *LockSet) holds(i int) bool {
	for _, h := range ls.held {
		if h == i {
			return true
		}
	}
	return false
}

// Empty reports whether the set holds nothing.
func (ls *LockSet) Empty() bool { return !ls.world }

// Release unlocks everything the set holds.
func (ls *LockSet) Release() {
	l := &ls.s.locks
	for j := len(ls.held) - 1; j >= 0; j-- {
		l.stripes[ls.held[j]].Unlock()
	}
	ls.held = ls.held[:0]
	if ls.world {
		l.world.RUnlock()
		ls.world = false
	}
}
