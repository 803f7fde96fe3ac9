package store

import (
	"bytes"
	"container/heap"
	"math/rand/v2"
	"sort"
)

// Sets store one record per member, `s|db|len|key|version|member` -> empty value, so a
// set's members come back from RocksDB in byte order. Meta.Count is the exact size.

// loadSet loads a set key (missing keys load as non-existing, other types are
// ErrWrongType).
func (tx *Tx) loadSet(db int, key []byte) (*Key, error) {
	return tx.LoadType(db, key, TypeSet)
}

// setHas reports whether member is in the set handle k.
func (tx *Tx) setHas(k *Key, member []byte) (bool, error) {
	if !k.Exists() || k.Meta.Count == 0 {
		return false, nil
	}
	v, err := tx.getMember(k, member)
	return v != nil, err
}

// setMembersOf reads every member of the set handle k, in byte order.
func (tx *Tx) setMembersOf(k *Key) ([][]byte, error) {
	if !k.Exists() || k.Meta.Count == 0 {
		return nil, nil
	}
	out := make([][]byte, 0, min(k.Meta.Count, 1<<16))
	it := tx.members(k)
	defer it.Close()
	for it.SeekFirst(); it.Valid(); it.Next() {
		out = append(out, bytes.Clone(memberName(k, it.Key())))
	}
	return out, it.Err()
}

// SAdd adds members to the set at key, creating it when missing. It returns how many
// members were not there before.
func (tx *Tx) SAdd(db int, key []byte, members [][]byte) (int64, error) {
	k, err := tx.Create(db, key, TypeSet)
	if err != nil {
		return 0, err
	}
	var add [][]byte
	seen := make(map[string]struct{}, len(members))
	for _, m := range members {
		if _, dup := seen[string(m)]; dup {
			continue
		}
		seen[string(m)] = struct{}{}
		has, err := tx.setHas(k, m)
		if err != nil {
			return 0, err
		}
		if !has {
			add = append(add, m)
		}
	}
	if len(add) == 0 {
		return 0, nil
	}
	for _, m := range add {
		tx.putMember(k, m, nil)
	}
	k.Meta.Count += uint64(len(add))
	tx.Save(k)
	return int64(len(add)), nil
}

// SRem removes members from the set at key and returns how many were there. A set
// left empty is deleted.
func (tx *Tx) SRem(db int, key []byte, members [][]byte) (int64, error) {
	k, err := tx.loadSet(db, key)
	if err != nil || !k.Exists() {
		return 0, err
	}
	var rem [][]byte
	seen := make(map[string]struct{}, len(members))
	for _, m := range members {
		if _, dup := seen[string(m)]; dup {
			continue
		}
		seen[string(m)] = struct{}{}
		has, err := tx.setHas(k, m)
		if err != nil {
			return 0, err
		}
		if has {
			rem = append(rem, m)
		}
	}
	if len(rem) == 0 {
		return 0, nil
	}
	for _, m := range rem {
		tx.delMember(k, m)
	}
	k.Meta.Count -= uint64(len(rem))
	tx.Save(k)
	return int64(len(rem)), nil
}

// SCard returns the number of members of the set at key (0 when missing), in O(1).
func (tx *Tx) SCard(db int, key []byte) (int64, error) {
	k, err := tx.loadSet(db, key)
	if err != nil {
		return 0, err
	}
	return int64(k.Meta.Count), nil
}

// SIsMember reports whether member belongs to the set at key.
func (tx *Tx) SIsMember(db int, key, member []byte) (bool, error) {
	k, err := tx.loadSet(db, key)
	if err != nil {
		return false, err
	}
	return tx.setHas(k, member)
}

// SMIsMember reports for each member whether it belongs to the set at key.
func (tx *Tx) SMIsMember(db int, key []byte, members [][]byte) ([]bool, error) {
	k, err := tx.loadSet(db, key)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(members))
	for i, m := range members {
		if out[i], err = tx.setHas(k, m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SMembers returns every member of the set at key, in byte order.
func (tx *Tx) SMembers(db int, key []byte) ([][]byte, error) {
	k, err := tx.loadSet(db, key)
	if err != nil {
		return nil, err
	}
	return tx.setMembersOf(k)
}

// SMove moves member from set src to set dst. It reports whether src held it. A
// missing src is not an error even when dst has another type (as in Redis).
func (tx *Tx) SMove(db int, src, dst, member []byte) (bool, error) {
	sk, err := tx.loadSet(db, src)
	if err != nil || !sk.Exists() {
		return false, err
	}
	dk, err := tx.loadSet(db, dst)
	if err != nil {
		return false, err
	}
	has, err := tx.setHas(sk, member)
	if err != nil || !has {
		return false, err
	}
	if bytes.Equal(src, dst) {
		return true, nil
	}
	in, err := tx.setHas(dk, member)
	if err != nil {
		return false, err
	}
	tx.delMember(sk, member)
	sk.Meta.Count--
	tx.Save(sk)
	if !dk.Exists() {
		tx.Reset(dk, TypeSet)
	}
	if !in {
		tx.putMember(dk, member, nil)
		dk.Meta.Count++
	}
	tx.Save(dk)
	return true, nil
}

// loadSets loads every key as a set; any key of another type fails the whole call
// with ErrWrongType, as Redis checks all of them before computing.
func (tx *Tx) loadSets(db int, keys [][]byte) ([]*Key, error) {
	ks := make([]*Key, len(keys))
	for i, key := range keys {
		k, err := tx.loadSet(db, key)
		if err != nil {
			return nil, err
		}
		ks[i] = k
	}
	return ks, nil
}

// sinter walks the smallest set and probes the others, like Redis: O(N*M) with N the
// smallest cardinality and M the number of sets. emit returns false to stop.
func (tx *Tx) sinter(db int, keys [][]byte, emit func(member []byte) bool) error {
	ks, err := tx.loadSets(db, keys)
	if err != nil {
		return err
	}
	for _, k := range ks {
		if !k.Exists() {
			return nil
		}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].Meta.Count < ks[j].Meta.Count })
	small := ks[0]
	others := make([]*Key, 0, len(ks)-1)
	for _, k := range ks[1:] {
		if !bytes.Equal(k.Name, small.Name) {
			others = append(others, k)
		}
	}
	it := tx.members(small)
	defer it.Close()
	for it.SeekFirst(); it.Valid(); it.Next() {
		m := memberName(small, it.Key())
		in := true
		for _, o := range others {
			if in, err = tx.setHas(o, m); err != nil {
				return err
			}
			if !in {
				break
			}
		}
		if in && !emit(m) {
			break
		}
	}
	return it.Err()
}

// SInter returns the members common to every set (a missing key is an empty set).
// Call tx.Snapshot first when the keys are not locked.
func (tx *Tx) SInter(db int, keys [][]byte) ([][]byte, error) {
	var out [][]byte
	err := tx.sinter(db, keys, func(m []byte) bool {
		out = append(out, bytes.Clone(m))
		return true
	})
	return out, err
}

// SInterCard returns the size of the intersection of the sets, stopping at limit
// when limit > 0.
func (tx *Tx) SInterCard(db int, keys [][]byte, limit int64) (int64, error) {
	var n int64
	err := tx.sinter(db, keys, func([]byte) bool {
		n++
		return limit <= 0 || n < limit
	})
	return n, err
}

// unionIter is one set's iterator in the k-way merge of SUnion.
type unionIter struct {
	k   *Key
	it  *Iter
	cur []byte // current member (valid until the iterator moves)
}

type unionHeap []*unionIter

func (h unionHeap) Len() int           { return len(h) }
func (h unionHeap) Less(i, j int) bool { return bytes.Compare(h[i].cur, h[j].cur) < 0 }
func (h unionHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *unionHeap) Push(x any)        { *h = append(*h, x.(*unionIter)) }
func (h *unionHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// SUnion returns the members of all the sets, in byte order: a k-way merge of the
// sets' sorted member ranges, O(total * log k).
func (tx *Tx) SUnion(db int, keys [][]byte) ([][]byte, error) {
	ks, err := tx.loadSets(db, keys)
	if err != nil {
		return nil, err
	}
	var h unionHeap
	done := map[string]bool{}
	defer func() {
		for _, u := range h {
			u.it.Close()
		}
	}()
	for _, k := range ks {
		if !k.Exists() || done[string(k.Name)] {
			continue
		}
		done[string(k.Name)] = true
		u := &unionIter{k: k, it: tx.members(k)}
		u.it.SeekFirst()
		if !u.it.Valid() {
			err := u.it.Err()
			u.it.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		u.cur = memberName(k, u.it.Key())
		h = append(h, u)
	}
	heap.Init(&h)
	var out [][]byte
	for len(h) > 0 {
		u := h[0]
		if len(out) == 0 || !bytes.Equal(out[len(out)-1], u.cur) {
			out = append(out, bytes.Clone(u.cur))
		}
		u.it.Next()
		if u.it.Valid() {
			u.cur = memberName(u.k, u.it.Key())
			heap.Fix(&h, 0)
			continue
		}
		if err := u.it.Err(); err != nil {
			return nil, err
		}
		heap.Pop(&h)
		u.it.Close()
	}
	return out, nil
}

// SDiff returns the members of the first set that are in none of the others: the
// first set is walked and each member probed in the others, O(N*M).
func (tx *Tx) SDiff(db int, keys [][]byte) ([][]byte, error) {
	ks, err := tx.loadSets(db, keys)
	if err != nil {
		return nil, err
	}
	first := ks[0]
	if !first.Exists() {
		return nil, nil
	}
	var others []*Key
	for _, k := range ks[1:] {
		if !k.Exists() {
			continue
		}
		if bytes.Equal(k.Name, first.Name) {
			return nil, nil // A - A - ... is empty
		}
		others = append(others, k)
	}
	var out [][]byte
	it := tx.members(first)
	defer it.Close()
	for it.SeekFirst(); it.Valid(); it.Next() {
		m := memberName(first, it.Key())
		keep := true
		for _, o := range others {
			in, err := tx.setHas(o, m)
			if err != nil {
				return nil, err
			}
			if in {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, bytes.Clone(m))
		}
	}
	return out, it.Err()
}

// SStore replaces whatever dst holds (any type) with a set of the given distinct
// members, or deletes dst when members is empty. It returns the new cardinality. The
// *STORE commands compute their result first, so dst may be one of their sources.
func (tx *Tx) SStore(db int, dst []byte, members [][]byte) (int64, error) {
	k, err := tx.Load(db, dst)
	if err != nil {
		return 0, err
	}
	if len(members) == 0 {
		tx.Delete(k)
		return 0, nil
	}
	tx.Reset(k, TypeSet)
	for _, m := range members {
		tx.putMember(k, m, nil)
	}
	k.Meta.Count = uint64(len(members))
	tx.Save(k)
	return int64(len(members)), nil
}

// SScan returns the members examined by one SSCAN step: up to count members starting
// at the raw member key resume (inclusive; nil starts at the first member), those that
// pass match (nil matches all), and the raw member key the next step resumes from (nil
// when the set is exhausted). A resume key of an older version of the same key (the
// set was deleted and re-created in between) resumes at the same member name in the
// current version; any other resume key starts from the beginning.
func (tx *Tx) SScan(db int, key, resume []byte, count int, match func(member []byte) bool) ([][]byte, []byte, error) {
	k, err := tx.loadSet(db, key)
	if err != nil || !k.Exists() {
		return nil, nil, err
	}
	it := tx.members(k)
	defer it.Close()
	kp := keyPrefix(prefixMember, db, key)
	if len(resume) >= len(kp)+8 && bytes.HasPrefix(resume, kp) {
		it.Seek(memberKey(db, key, k.Meta.Version, resume[len(kp)+8:]))
	} else {
		it.SeekFirst()
	}
	var out [][]byte
	for n := 0; n < count && it.Valid(); n++ {
		m := memberName(k, it.Key())
		if match == nil || match(m) {
			out = append(out, bytes.Clone(m))
		}
		it.Next()
	}
	var next []byte
	if it.Valid() {
		next = bytes.Clone(it.Key())
	}
	return out, next, it.Err()
}

// Random members.
//
// RocksDB has no "n-th key" lookup, so a large set is sampled by random seeks rather
// than read whole. A pick descends the sorted member keys like a trie: between the
// first and the last member of the current range it finds their common prefix, picks
// a byte uniformly between the smallest and the largest byte that follow that prefix
// (or the prefix itself when it is a member), seeks there and narrows the range to
// the members sharing the byte it landed on, until one member is left. That costs a
// few seeks per branching level, O(depth * log n), and spreads picks over irregular
// member names (common prefixes, digits, ...) far better than one seek to random
// bytes would. The descent knows the probability p it had of reaching its member; a
// member reached with p above 1/SCARD (a short name beside big subtrees, such as
// "user:0" beside "user:1...") is kept only with probability 1/(SCARD*p), else the
// descent is redone (at most setRandTries times). Finally the pick steps forward a
// random 0..setRandWalk-1 members (wrapping), which spreads what weight is left over
// neighbours. The result is random but not exactly uniform for irregular names. Sets
// up to setRandSmall members, and requests for more than a third of the set, read the
// set once and sample exactly.
const (
	setRandSmall = 256
	setRandTries = 16
	setRandWalk  = 32
)

// setSample returns want random members of k: distinct ones (want <= Count) or, when
// !distinct, want independent picks that may repeat.
func (tx *Tx) setSample(k *Key, want uint64, distinct bool) ([][]byte, error) {
	n := k.Meta.Count
	if n == 0 || want == 0 {
		return nil, nil
	}
	if distinct && want >= n {
		return tx.setMembersOf(k)
	}
	if n <= setRandSmall || want > n/3 {
		return tx.setSampleAll(k, want, distinct)
	}
	it := tx.members(k)
	defer it.Close()
	s, ok := newSetSampler(it, n)
	if !ok {
		return nil, it.Err()
	}
	var chosen map[string]struct{}
	if distinct {
		chosen = make(map[string]struct{}, want)
	}
	out := make([][]byte, 0, min(want, 1<<16))
	for uint64(len(out)) < want {
		if !s.pick() {
			return nil, it.Err()
		}
		if distinct {
			// A repeat walks on to the next member not chosen yet (wrapping); fewer
			// than a third of the members are ever chosen, so the walk is short.
			for steps := uint64(0); ; steps++ {
				if _, dup := chosen[string(it.Key())]; !dup {
					break
				}
				if steps > n {
					return out, it.Err() // fewer members than Count: cannot happen
				}
				it.Next()
				if !it.Valid() {
					it.SeekFirst()
				}
				if !it.Valid() {
					return nil, it.Err()
				}
			}
			chosen[string(it.Key())] = struct{}{}
		}
		out = append(out, bytes.Clone(memberName(k, it.Key())))
	}
	return out, it.Err()
}

// setSampleAll samples exactly after reading the whole set.
func (tx *Tx) setSampleAll(k *Key, want uint64, distinct bool) ([][]byte, error) {
	all, err := tx.setMembersOf(k)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	if !distinct {
		out := make([][]byte, want)
		for i := range out {
			out[i] = all[rand.IntN(len(all))]
		}
		return out, nil
	}
	// Partial Fisher-Yates: the first want entries become a uniform random sample.
	for i := 0; uint64(i) < want && i < len(all); i++ {
		j := i + rand.IntN(len(all)-i)
		all[i], all[j] = all[j], all[i]
	}
	return all[:min(want, uint64(len(all)))], nil
}

// setSampler positions an iterator over one set's member keys on random members.
type setSampler struct {
	it          *Iter
	n           uint64 // members
	first, last []byte // raw keys of the first and last member
}

func newSetSampler(it *Iter, n uint64) (*setSampler, bool) {
	it.SeekFirst()
	if !it.Valid() {
		return nil, false
	}
	s := &setSampler{it: it, n: n, first: bytes.Clone(it.Key())}
	it.SeekLast()
	if !it.Valid() {
		return nil, false
	}
	s.last = bytes.Clone(it.Key())
	return s, true
}

// pick positions the iterator on a random member; false on an iterator error.
func (s *setSampler) pick() bool {
	for try := 0; ; try++ {
		p, ok := s.descend()
		if !ok {
			return false
		}
		// Clip over-weighted members: one reached with probability p > 1/n is kept
		// with probability 1/(n*p). Bounded, so a pick always ends.
		if try < setRandTries && p*float64(s.n) > 1 && rand.Float64()*p*float64(s.n) > 1 {
			continue
		}
		for i := rand.IntN(setRandWalk); i > 0 && s.it.Valid(); i-- {
			s.it.Next()
			if !s.it.Valid() {
				s.it.SeekFirst()
			}
		}
		return s.it.Valid()
	}
}

// descend positions the iterator on a member chosen by one trie descent and returns
// the probability the descent had of choosing it.
func (s *setSampler) descend() (float64, bool) {
	it := s.it
	first, last := s.first, s.last
	p := 1.0
	for !bytes.Equal(first, last) {
		d := 0
		for d < len(first) && d < len(last) && first[d] == last[d] {
			d++
		}
		// first < last and they share d bytes, so last is longer than d. The choices
		// at depth d: the prefix itself when it is a member (first == prefix), then
		// the bytes present at position d, from lo to hi.
		self := len(first) == d
		var lo int
		if self {
			it.Seek(first)
			if it.Valid() {
				it.Next()
			}
			if !it.Valid() {
				return 0, false
			}
			lo = int(it.Key()[d])
		} else {
			lo = int(first[d])
		}
		hi := int(last[d])
		span := hi - lo + 1
		if self {
			span++
		}
		r := rand.IntN(span)
		if self {
			if r == 0 {
				p /= float64(span)
				last = first
				break
			}
			r--
		}
		prefix := first[:d:d]
		it.Seek(append(prefix, byte(lo+r)))
		if !it.Valid() {
			return 0, false
		}
		next := bytes.Clone(it.Key())
		// Every byte from the previous present one (exclusive) up to the one landed
		// on leads here: that is this step's weight.
		prev := lo - 1
		it.Prev()
		if it.Valid() && len(it.Key()) > d && bytes.HasPrefix(it.Key(), prefix) {
			prev = int(it.Key()[d])
		}
		p *= float64(int(next[d])-prev) / float64(span)
		first = next
		end := prefixEnd(first[:d+1])
		it.SeekForPrev(end)
		if it.Valid() && bytes.Equal(it.Key(), end) {
			it.Prev()
		}
		if !it.Valid() {
			return 0, false
		}
		last = bytes.Clone(it.Key())
	}
	it.Seek(first)
	return p, it.Valid()
}

// SRandMember returns random members of the set at key with Redis's count rules:
// count >= 0 returns min(count, SCARD) distinct members, count < 0 returns -count
// members that may repeat. A missing key returns nothing.
func (tx *Tx) SRandMember(db int, key []byte, count int64) ([][]byte, error) {
	tx.Snapshot() // the metadata's count and the members read must agree
	k, err := tx.loadSet(db, key)
	if err != nil || !k.Exists() || count == 0 {
		return nil, err
	}
	if count > 0 {
		return tx.setSample(k, uint64(count), true)
	}
	return tx.setSample(k, uint64(-count), false)
}

// SPop removes and returns up to count random distinct members of the set at key; a
// set left empty is deleted. The choice is random, but the transaction records plain
// deletes of the chosen members, so replaying it removes exactly the same ones.
func (tx *Tx) SPop(db int, key []byte, count int64) ([][]byte, error) {
	k, err := tx.loadSet(db, key)
	if err != nil || !k.Exists() || count <= 0 {
		return nil, err
	}
	if uint64(count) >= k.Meta.Count {
		out, err := tx.setMembersOf(k)
		if err != nil {
			return nil, err
		}
		tx.Delete(k)
		return out, nil
	}
	out, err := tx.setSample(k, uint64(count), true)
	if err != nil {
		return nil, err
	}
	for _, m := range out {
		tx.delMember(k, m)
	}
	k.Meta.Count -= uint64(len(out))
	tx.Save(k)
	return out, nil
}
