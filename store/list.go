package store

import (
	"bytes"
	"encoding/binary"
)

// Lists keep their elements at consecutive indexes [Head, Tail) under the key's version:
// listKey(db, key, version, index) -> element. LPUSH writes at Head-1, RPUSH at Tail, so
// the ends and every index are one point lookup away and a range is one seek.

// listSpanDelRange is the number of consecutive elements above which a span is dropped
// with one range deletion instead of one tombstone per element.
const listSpanDelRange = 256

// loadList loads a key that must be a list or missing.
func (tx *Tx) loadList(db int, key []byte) (*Key, error) {
	return tx.LoadType(db, key, TypeList)
}

func (tx *Tx) listAt(k *Key, index uint64) []byte {
	return listKey(k.DB, k.Name, k.Meta.Version, index)
}

// listGet reads the element at absolute index.
func (tx *Tx) listGet(k *Key, index uint64) ([]byte, error) {
	v, err := tx.get(tx.listAt(k, index))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, corruptf("list %q: element %d of [%d, %d) missing", k.Name, index-k.Meta.Head,
			0, k.Meta.Tail-k.Meta.Head)
	}
	return v, nil
}

// listRead returns the elements at absolute indexes [from, to), in order, or in reverse
// order when reverse is set. One seek, then one step per element.
func (tx *Tx) listRead(k *Key, from, to uint64, reverse bool) ([][]byte, error) {
	n := to - from
	if from >= to {
		return [][]byte{}, nil
	}
	if n <= 2 {
		out := make([][]byte, 0, n)
		for i := uint64(0); i < n; i++ {
			idx := from + i
			if reverse {
				idx = to - 1 - i
			}
			v, err := tx.listGet(k, idx)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	out := make([][]byte, 0, n)
	err := tx.listScan(k, from, to, reverse, func(idx uint64, v []byte) bool {
		out = append(out, bytes.Clone(v))
		return true
	})
	if err != nil {
		return nil, err
	}
	if uint64(len(out)) != n {
		return nil, corruptf("list %q: %d elements in [%d, %d), want %d", k.Name, len(out),
			from-k.Meta.Head, to-k.Meta.Head, n)
	}
	return out, nil
}

// listScan walks the elements at absolute indexes [from, to) forwards (or backwards)
// and calls fn with each index and value (valid only during the call) until fn returns
// false. Nothing may be written to tx while it runs.
func (tx *Tx) listScan(k *Key, from, to uint64, reverse bool, fn func(idx uint64, v []byte) bool) error {
	if from >= to {
		return nil
	}
	it := tx.iter(tx.listAt(k, from), tx.listAt(k, to))
	defer it.Close()
	pl := 2 + 4 + len(k.Name) + 8
	want := from
	if reverse {
		it.SeekLast()
		want = to - 1
	} else {
		it.SeekFirst()
	}
	for it.Valid() {
		key := it.Key()
		if len(key) != pl+8 {
			return corruptf("list %q: bad element key length %d", k.Name, len(key))
		}
		idx := binary.BigEndian.Uint64(key[pl:])
		if idx != want {
			return corruptf("list %q: element %d missing", k.Name, want-k.Meta.Head)
		}
		if !fn(idx, it.Value()) {
			break
		}
		if reverse {
			if idx == from {
				break
			}
			want--
			it.Prev()
		} else {
			want++
			it.Next()
		}
	}
	return it.Err()
}

// listDelSpan deletes the elements at absolute indexes [from, to).
func (tx *Tx) listDelSpan(k *Key, from, to uint64) {
	if from >= to {
		return
	}
	if to-from > listSpanDelRange {
		tx.delRange(tx.listAt(k, from), tx.listAt(k, to))
		return
	}
	for i := from; i < to; i++ {
		tx.del(tx.listAt(k, i))
	}
}

// ListLen returns the length of the list at key (0 when missing).
func (tx *Tx) ListLen(db int, key []byte) (int64, error) {
	k, err := tx.loadList(db, key)
	if err != nil {
		return 0, err
	}
	return int64(k.Meta.Count), nil
}

// ListPush pushes vals one after the other at the head (left) or the tail of the list,
// creating it when missing unless onlyExisting is set (LPUSHX/RPUSHX). It returns the
// new length, or 0 when onlyExisting found no list.
func (tx *Tx) ListPush(db int, key []byte, left, onlyExisting bool, vals ...[]byte) (int64, error) {
	k, err := tx.loadList(db, key)
	if err != nil {
		return 0, err
	}
	if !k.Exists() {
		if onlyExisting {
			return 0, nil
		}
		tx.Reset(k, TypeList)
	}
	for _, v := range vals {
		tx.listPushOne(k, left, v)
	}
	tx.Save(k)
	return int64(k.Meta.Count), nil
}

func (tx *Tx) listPushOne(k *Key, left bool, v []byte) {
	if left {
		k.Meta.Head--
		tx.put(tx.listAt(k, k.Meta.Head), v)
	} else {
		tx.put(tx.listAt(k, k.Meta.Tail), v)
		k.Meta.Tail++
	}
	k.Meta.Count++
}

// ListPop removes up to count elements from the head (left) or the tail and returns
// them in pop order. exists is false when there is no list (count 0 still reports
// whether the list exists, with no elements). A list left empty is deleted.
func (tx *Tx) ListPop(db int, key []byte, left bool, count int64) (vals [][]byte, exists bool, err error) {
	k, err := tx.loadList(db, key)
	if err != nil || !k.Exists() {
		return nil, false, err
	}
	vals, err = tx.listPop(k, left, count)
	if err != nil {
		return nil, true, err
	}
	if len(vals) > 0 {
		tx.Save(k)
	}
	return vals, true, nil
}

// listPop removes up to count elements from one end of the loaded list k; the caller
// saves k.
func (tx *Tx) listPop(k *Key, left bool, count int64) ([][]byte, error) {
	m := &k.Meta
	if count < 0 {
		count = 0
	}
	n := uint64(count)
	if n > m.Count {
		n = m.Count
	}
	var from, to uint64
	if left {
		from, to = m.Head, m.Head+n
	} else {
		from, to = m.Tail-n, m.Tail
	}
	vals, err := tx.listRead(k, from, to, !left)
	if err != nil {
		return nil, err
	}
	m.Count -= n
	if m.Count > 0 || n <= listSpanDelRange {
		// Save range-deletes the elements of a list saved empty; a list emptied here may
		// still be refilled before it is saved (LMOVE of a list onto itself), so small
		// pops always delete what they took.
		tx.listDelSpan(k, from, to)
	}
	if left {
		m.Head = to
	} else {
		m.Tail = from
	}
	return vals, nil
}

// listIndex converts a Redis index (negative counts from the end) to an absolute one.
func listIndex(m *Meta, index int64) (uint64, bool) {
	n := int64(m.Count)
	if index < 0 {
		index += n
	}
	if index < 0 || index >= n {
		return 0, false
	}
	return m.Head + uint64(index), true
}

// ListIndex returns the element at index (negative counts from the tail). val is nil
// when the list is missing (exists false) or the index is out of range.
func (tx *Tx) ListIndex(db int, key []byte, index int64) (val []byte, exists bool, err error) {
	k, err := tx.loadList(db, key)
	if err != nil || !k.Exists() {
		return nil, false, err
	}
	abs, ok := listIndex(&k.Meta, index)
	if !ok {
		return nil, true, nil
	}
	v, err := tx.listGet(k, abs)
	if err != nil {
		return nil, true, err
	}
	return v, true, nil
}

// ListSet replaces the element at index. ErrNoSuchKey when the list is missing,
// ErrIndexOutOfRange when index is outside it.
func (tx *Tx) ListSet(db int, key []byte, index int64, val []byte) error {
	k, err := tx.loadList(db, key)
	if err != nil {
		return err
	}
	if !k.Exists() {
		return ErrNoSuchKey
	}
	abs, ok := listIndex(&k.Meta, index)
	if !ok {
		return ErrIndexOutOfRange
	}
	tx.put(tx.listAt(k, abs), val)
	tx.Save(k)
	return nil
}

// listRange converts Redis's inclusive start/stop (negative from the end) into relative
// [lo, hi) over a list of n elements, as LRANGE and LTRIM do.
func listRange(start, stop, n int64) (lo, hi int64) {
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, 0
	}
	if stop >= n {
		stop = n - 1
	}
	return start, stop + 1
}

// ListRange returns the elements from start to stop inclusive (negative indexes count
// from the tail), O(log n + k): one seek to the first element. exists reports whether
// there is a list at key.
func (tx *Tx) ListRange(db int, key []byte, start, stop int64) (vals [][]byte, exists bool, err error) {
	k, err := tx.loadList(db, key)
	if err != nil {
		return nil, false, err
	}
	if !k.Exists() {
		return [][]byte{}, false, nil
	}
	lo, hi := listRange(start, stop, int64(k.Meta.Count))
	vals, err = tx.listRead(k, k.Meta.Head+uint64(lo), k.Meta.Head+uint64(hi), false)
	return vals, true, err
}

// ListTrim keeps only the elements from start to stop inclusive; the trimmed ends are
// deleted and Head/Tail move. A list trimmed to nothing is deleted.
func (tx *Tx) ListTrim(db int, key []byte, start, stop int64) error {
	k, err := tx.loadList(db, key)
	if err != nil || !k.Exists() {
		return err
	}
	m := &k.Meta
	lo, hi := listRange(start, stop, int64(m.Count))
	if lo == 0 && hi == int64(m.Count) {
		// Nothing to cut, but LTRIM still counts as a write of the key (WATCH), as in
		// Redis.
		tx.Save(k)
		return nil
	}
	if hi == 0 {
		m.Count = 0 // Save drops every element with the key
		tx.Save(k)
		return nil
	}
	newHead, newTail := m.Head+uint64(lo), m.Head+uint64(hi)
	tx.listDelSpan(k, m.Head, newHead)
	tx.listDelSpan(k, newTail, m.Tail)
	m.Head, m.Tail = newHead, newTail
	m.Count = uint64(hi - lo)
	tx.Save(k)
	return nil
}

// ListInsert inserts val before (or after) the first element equal to pivot. It
// returns the new length, 0 when the list is missing and -1 when pivot is not found.
// The shorter side of the list shifts by one to make room.
func (tx *Tx) ListInsert(db int, key []byte, after bool, pivot, val []byte) (int64, error) {
	k, err := tx.loadList(db, key)
	if err != nil {
		return 0, err
	}
	if !k.Exists() {
		return 0, nil
	}
	m := &k.Meta
	n := m.Count
	// Remember the elements before the pivot while they are few enough that shifting
	// the head side would be the cheaper move.
	var front [][]byte
	pos := int64(-1)
	err = tx.listScan(k, m.Head, m.Tail, false, func(idx uint64, v []byte) bool {
		if bytes.Equal(v, pivot) {
			pos = int64(idx - m.Head)
			return false
		}
		if uint64(len(front)) < n/2+1 {
			front = append(front, bytes.Clone(v))
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	if pos < 0 {
		return -1, nil
	}
	ins := uint64(pos) // relative index the new element takes
	if after {
		ins++
	}
	if ins <= n-ins {
		// Shift [0, ins) one to the left.
		if after {
			front = append(front, bytes.Clone(pivot))
		}
		if uint64(len(front)) != ins {
			return 0, corruptf("list %q: insert bookkeeping", k.Name)
		}
		for i, v := range front {
			tx.put(tx.listAt(k, m.Head+uint64(i)-1), v)
		}
		tx.put(tx.listAt(k, m.Head+ins-1), val)
		m.Head--
	} else {
		// Shift [ins, n) one to the right.
		back, err := tx.listRead(k, m.Head+ins, m.Tail, false)
		if err != nil {
			return 0, err
		}
		for i, v := range back {
			tx.put(tx.listAt(k, m.Head+ins+uint64(i)+1), v)
		}
		tx.put(tx.listAt(k, m.Head+ins), val)
		m.Tail++
	}
	m.Count++
	tx.Save(k)
	return int64(m.Count), nil
}

// ListRem removes up to count elements equal to val: count > 0 from the head, count < 0
// from the tail, 0 all of them. It returns how many were removed.
func (tx *Tx) ListRem(db int, key []byte, count int64, val []byte) (int64, error) {
	k, err := tx.loadList(db, key)
	if err != nil || !k.Exists() {
		return 0, err
	}
	m := &k.Meta
	reverse := count < 0
	limit := uint64(count)
	if reverse {
		limit = -uint64(count) // also right for math.MinInt64
	}
	var removed []uint64 // absolute indexes, in scan order
	err = tx.listScan(k, m.Head, m.Tail, reverse, func(idx uint64, v []byte) bool {
		if bytes.Equal(v, val) {
			removed = append(removed, idx)
			if limit != 0 && uint64(len(removed)) >= limit {
				return false
			}
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	if len(removed) == 0 {
		return 0, nil
	}
	if reverse {
		for i, j := 0, len(removed)-1; i < j; i, j = i+1, j-1 {
			removed[i], removed[j] = removed[j], removed[i]
		}
	}
	if err := tx.listRemoveAt(k, removed); err != nil {
		return 0, err
	}
	tx.Save(k)
	return int64(len(removed)), nil
}

// listRemoveAt removes the elements at the given absolute indexes (ascending) from the
// loaded list k, closing the gaps by moving the cheaper side: the elements before the
// last removed one towards the tail, or those after the first removed one towards the
// head. The caller saves k.
func (tx *Tx) listRemoveAt(k *Key, removed []uint64) error {
	m := &k.Meta
	r := uint64(len(removed))
	if r == m.Count {
		m.Count = 0
		return nil
	}
	lo, hi := removed[0], removed[r-1]
	if hi-m.Head+1 <= m.Tail-lo {
		// Move the kept elements of [Head, hi] right by the number of removed ones after them.
		kept, err := tx.listKept(k, m.Head, hi+1, removed)
		if err != nil {
			return err
		}
		j := len(removed) - 1
		for i := len(kept) - 1; i >= 0; i-- {
			for j >= 0 && removed[j] > kept[i].idx {
				j--
			}
			shift := uint64(len(removed) - 1 - j)
			tx.put(tx.listAt(k, kept[i].idx+shift), kept[i].v)
		}
		tx.listDelSpan(k, m.Head, m.Head+r)
		m.Head += r
	} else {
		// Move the kept elements of [lo, Tail) left by the number of removed ones before them.
		kept, err := tx.listKept(k, lo, m.Tail, removed)
		if err != nil {
			return err
		}
		j := 0
		for _, e := range kept {
			for j < len(removed) && removed[j] < e.idx {
				j++
			}
			tx.put(tx.listAt(k, e.idx-uint64(j)), e.v)
		}
		tx.listDelSpan(k, m.Tail-r, m.Tail)
		m.Tail -= r
	}
	m.Count -= r
	return nil
}

type listElem struct {
	idx uint64
	v   []byte
}

// listKept reads the elements of [from, to) whose index is not in removed (ascending).
func (tx *Tx) listKept(k *Key, from, to uint64, removed []uint64) ([]listElem, error) {
	var kept []listElem
	j := 0
	err := tx.listScan(k, from, to, false, func(idx uint64, v []byte) bool {
		for j < len(removed) && removed[j] < idx {
			j++
		}
		if j < len(removed) && removed[j] == idx {
			return true
		}
		kept = append(kept, listElem{idx: idx, v: bytes.Clone(v)})
		return true
	})
	return kept, err
}

// ListMove pops an element from one end of src and pushes it at one end of dst (LMOVE,
// RPOPLPUSH). ok is false when src is missing. A dst of another type is ErrWrongType
// and nothing changes. src and dst may be the same list.
func (tx *Tx) ListMove(db int, src, dst []byte, srcLeft, dstLeft bool) (val []byte, ok bool, err error) {
	sk, err := tx.loadList(db, src)
	if err != nil || !sk.Exists() {
		return nil, false, err
	}
	same := bytes.Equal(src, dst)
	dk := sk
	if !same {
		if dk, err = tx.loadList(db, dst); err != nil {
			return nil, false, err
		}
	}
	vals, err := tx.listPop(sk, srcLeft, 1)
	if err != nil {
		return nil, false, err
	}
	if len(vals) == 0 {
		return nil, false, corruptf("list %q: empty list stored", src)
	}
	if !same {
		tx.Save(sk)
		if !dk.Exists() {
			tx.Reset(dk, TypeList)
		}
	}
	tx.listPushOne(dk, dstLeft, vals[0])
	tx.Save(dk)
	return vals[0], true, nil
}

// ListPos finds the indexes of elements equal to val like LPOS: rank selects the first
// match to report (negative scans from the tail), count bounds the number of results
// (0 = all), maxlen bounds the number of elements compared (0 = all). exists reports
// whether there is a list at key.
func (tx *Tx) ListPos(db int, key, val []byte, rank, count, maxlen int64) (pos []int64, exists bool, err error) {
	k, err := tx.loadList(db, key)
	if err != nil || !k.Exists() {
		return nil, false, err
	}
	m := &k.Meta
	reverse := rank < 0
	if reverse {
		rank = -rank // math.MinInt64 stays negative: every match qualifies, as in Redis
	}
	n := int64(m.Count)
	var out []int64
	var index, matches int64
	err = tx.listScan(k, m.Head, m.Tail, reverse, func(_ uint64, v []byte) bool {
		if maxlen != 0 && index >= maxlen {
			return false
		}
		if bytes.Equal(v, val) {
			matches++
			if matches >= rank {
				pos := index
				if reverse {
					pos = n - index - 1
				}
				out = append(out, pos)
				if count != 0 && matches-rank+1 >= count {
					return false
				}
			}
		}
		index++
		return true
	})
	return out, true, err
}
