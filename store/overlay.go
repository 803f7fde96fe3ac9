package store

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// The overlay holds the point writes of transactions that are queued but not yet in
// RocksDB (commit.go). Point reads look keys up in it; iterators merge the part of it
// inside their range with what RocksDB returns (Iter below), so no read waits for the
// queue to drain.

type overlayVal struct {
	v   []byte
	del bool
	seq uint64
}

type overlayEntry struct {
	k, v []byte
	del  bool
}

// collLen is the length of k's collection prefix (member, score-index or rank record:
// prefix | db | len(key) | key | version, plus the level byte of a rank record), or 0
// for other records.
func collLen(k []byte) int {
	if len(k) < 6 || (k[0] != prefixMember && k[0] != prefixScore && k[0] != prefixRank) {
		return 0
	}
	n := 6 + int(binary.BigEndian.Uint32(k[2:])) + 8
	if k[0] == prefixRank {
		n++
	}
	if len(k) < n {
		return 0
	}
	return n
}

// layPut and layDrop change the overlay and its index by collection; pmu is held.
func (s *Store) layPut(k []byte, v overlayVal) {
	if _, had := s.overlay[string(k)]; !had {
		if n := collLen(k); n > 0 {
			c := s.overlayColl[string(k[:n])]
			if c == nil {
				c = map[string]struct{}{}
				s.overlayColl[string(k[:n])] = c
			}
			c[string(k)] = struct{}{}
		}
	}
	s.overlay[string(k)] = v
}

func (s *Store) layDrop(k []byte) {
	delete(s.overlay, string(k))
	if n := collLen(k); n > 0 {
		if c := s.overlayColl[string(k[:n])]; c != nil {
			delete(c, string(k))
			if len(c) == 0 {
				delete(s.overlayColl, string(k[:n]))
			}
		}
	}
}

// overlayGet looks a key up among queued, not yet applied writes.
func (s *Store) overlayGet(k []byte) (overlayVal, bool) {
	if s.overlayN.Load() == 0 {
		return overlayVal{}, false
	}
	s.pmu.RLock()
	e, ok := s.overlay[string(k)]
	s.pmu.RUnlock()
	return e, ok
}

// overlayRange returns the queued writes to keys in [lower, upper) (nil upper: no
// end), sorted. A range inside one collection is found through the collection index;
// any other walks the whole overlay, which holds only what is queued right now.
func (s *Store) overlayRange(lower, upper []byte) []overlayEntry {
	if s.overlayN.Load() == 0 {
		return nil
	}
	in := func(k string) bool {
		return k >= string(lower) && (upper == nil || k < string(upper))
	}
	var out []overlayEntry
	add := func(k string, e overlayVal) {
		out = append(out, overlayEntry{k: []byte(k), v: bytes.Clone(e.v), del: e.del})
	}
	s.pmu.RLock()
	if n := collLen(lower); n > 0 && upper != nil && bytes.Compare(upper, prefixEnd(lower[:n])) <= 0 {
		for k := range s.overlayColl[string(lower[:n])] {
			if in(k) {
				add(k, s.overlay[k])
			}
		}
	} else {
		for k, e := range s.overlay {
			if in(k) {
				add(k, e)
			}
		}
	}
	s.pmu.RUnlock()
	slices.SortFunc(out, func(a, b overlayEntry) int { return bytes.Compare(a.k, b.k) })
	return out
}

// An Iter with overlay entries merges two sorted sources: the RocksDB iterator (with
// the transaction's own writes) and the entries, which win on equal keys and whose
// deletions hide the key. It walks in one direction at a time; turning re-seeks both
// sources from the current key.

const (
	srcNone  = iota
	srcInner // the RocksDB iterator
	srcLay   // an overlay entry
	srcBoth  // both, on one key: the entry wins
)

func (it *Iter) innerValid() bool {
	if !it.it.Valid() {
		return false
	}
	if it.bounded {
		return true
	}
	k := it.it.Key().Data()
	return bytes.Compare(k, it.lower) >= 0 && (it.upper == nil || bytes.Compare(k, it.upper) < 0)
}

func (it *Iter) innerStep() {
	if it.dir > 0 {
		it.it.Next()
	} else {
		it.it.Prev()
	}
}

// settle skips deleted entries and picks the source of the current key.
func (it *Iter) settle() {
	for {
		iv := it.innerValid()
		lv := it.li >= 0 && it.li < len(it.lay)
		var c int // < 0: the inner key comes first in walking order
		switch {
		case !iv && !lv:
			it.src = srcNone
			return
		case !lv:
			c = -1
		case !iv:
			c = 1
		default:
			c = bytes.Compare(it.it.Key().Data(), it.lay[it.li].k) * it.dir
		}
		if c < 0 {
			it.src = srcInner
			return
		}
		if it.lay[it.li].del {
			if c == 0 {
				it.innerStep()
			}
			it.li += it.dir
			continue
		}
		it.src = srcLay
		if c == 0 {
			it.src = srcBoth
		}
		return
	}
}

// layFrom is the index of the first entry with key >= k (after: > k).
func (it *Iter) layFrom(k []byte, after bool) int {
	i, found := slices.BinarySearchFunc(it.lay, k, func(e overlayEntry, k []byte) int { return bytes.Compare(e.k, k) })
	if found && after {
		i++
	}
	return i
}

func (it *Iter) mergedSeek(k []byte) {
	it.dir = 1
	it.it.Seek(k)
	it.li = it.layFrom(k, false)
	it.settle()
}

func (it *Iter) mergedSeekForPrev(k []byte) {
	it.dir = -1
	it.it.SeekForPrev(k)
	it.li = it.layFrom(k, true) - 1
	it.settle()
}

func (it *Iter) mergedStep(dir int) {
	if it.src == srcNone {
		return
	}
	if it.dir != dir {
		// Turn: position both sources just past the current key the other way.
		k := bytes.Clone(it.Key())
		it.dir = dir
		if dir > 0 {
			it.it.Seek(k)
			if it.innerValid() && bytes.Equal(it.it.Key().Data(), k) {
				it.it.Next()
			}
			it.li = it.layFrom(k, true)
		} else {
			it.it.SeekForPrev(k)
			if it.innerValid() && bytes.Equal(it.it.Key().Data(), k) {
				it.it.Prev()
			}
			it.li = it.layFrom(k, false) - 1
		}
		it.settle()
		return
	}
	if it.src != srcLay {
		it.innerStep()
	}
	if it.src != srcInner {
		it.li += dir
	}
	it.settle()
}
