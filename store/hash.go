package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Hash errors. They live here rather than in errors.go because the hash type owns them.
var (
	// ErrHashNotInteger: HINCRBY on a field whose value is not an integer.
	ErrHashNotInteger = errors.New("store: hash value is not an integer")
	// ErrHashNotFloat: HINCRBYFLOAT on a field whose value is not a float.
	ErrHashNotFloat = errors.New("store: hash value is not a float")
)

// FieldValue is one field of a hash and its value.
type FieldValue struct {
	Field, Value []byte
}

// HSet sets fields of a hash, creating it when missing, and returns how many fields
// were added (not counting fields that only had their value replaced). A field given
// twice is set once, to its last value.
func (tx *Tx) HSet(db int, key []byte, pairs []FieldValue) (int, error) {
	k, err := tx.LoadType(db, key, TypeHash)
	if err != nil {
		return 0, err
	}
	fresh := !k.Exists()
	if fresh {
		tx.Reset(k, TypeHash)
	}
	added := 0
	var seen map[string]struct{}
	if fresh && len(pairs) > 1 {
		seen = make(map[string]struct{}, len(pairs))
	}
	for _, p := range pairs {
		isNew := false
		if fresh {
			// A new version has no members on disk: only repeats inside pairs matter.
			if seen == nil {
				isNew = true
			} else if _, dup := seen[string(p.Field)]; !dup {
				seen[string(p.Field)] = struct{}{}
				isNew = true
			}
		} else {
			old, err := tx.getMember(k, p.Field)
			if err != nil {
				return 0, err
			}
			isNew = old == nil
		}
		if isNew {
			added++
			k.Meta.Count++
		}
		tx.putMember(k, p.Field, p.Value)
	}
	tx.Save(k)
	return added, nil
}

// HSetNX sets field only when it does not exist yet; it reports whether it did.
func (tx *Tx) HSetNX(db int, key, field, value []byte) (bool, error) {
	k, err := tx.Create(db, key, TypeHash)
	if err != nil {
		return false, err
	}
	if k.Meta.Count > 0 {
		old, err := tx.getMember(k, field)
		if err != nil {
			return false, err
		}
		if old != nil {
			return false, nil
		}
	}
	tx.putMember(k, field, value)
	k.Meta.Count++
	tx.Save(k)
	return true, nil
}

// loadHash loads a hash for reading; ok is false when the key does not exist.
func (tx *Tx) loadHash(db int, key []byte) (*Key, bool, error) {
	k, err := tx.LoadType(db, key, TypeHash)
	if err != nil {
		return nil, false, err
	}
	return k, k.Exists(), nil
}

// HGet returns the value of a field; ok is false when the field or the key is missing.
func (tx *Tx) HGet(db int, key, field []byte) (val []byte, ok bool, err error) {
	k, exists, err := tx.loadHash(db, key)
	if err != nil || !exists {
		return nil, false, err
	}
	v, err := tx.getMember(k, field)
	if err != nil {
		return nil, false, err
	}
	return v, v != nil, nil
}

// HMGet returns the values of fields, nil for each missing one.
func (tx *Tx) HMGet(db int, key []byte, fields [][]byte) ([][]byte, error) {
	out := make([][]byte, len(fields))
	tx.Snapshot()
	k, exists, err := tx.loadHash(db, key)
	if err != nil || !exists {
		return out, err
	}
	for i, f := range fields {
		if out[i], err = tx.getMember(k, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// HExists reports whether field exists in the hash.
func (tx *Tx) HExists(db int, key, field []byte) (bool, error) {
	_, ok, err := tx.HGet(db, key, field)
	return ok, err
}

// HStrLen returns the length of a field's value, 0 when it is missing.
func (tx *Tx) HStrLen(db int, key, field []byte) (int, error) {
	v, _, err := tx.HGet(db, key, field)
	return len(v), err
}

// HLen returns the number of fields; it reads only the metadata.
func (tx *Tx) HLen(db int, key []byte) (int64, error) {
	k, _, err := tx.loadHash(db, key)
	if err != nil {
		return 0, err
	}
	return int64(k.Meta.Count), nil
}

// HDel removes fields and returns how many existed. The hash disappears with its last field.
func (tx *Tx) HDel(db int, key []byte, fields [][]byte) (int, error) {
	k, exists, err := tx.loadHash(db, key)
	if err != nil || !exists {
		return 0, err
	}
	removed := 0
	for _, f := range fields {
		v, err := tx.getMember(k, f)
		if err != nil {
			return 0, err
		}
		if v == nil {
			continue
		}
		tx.delMember(k, f)
		k.Meta.Count--
		removed++
	}
	if removed > 0 {
		tx.Save(k)
	}
	return removed, nil
}

// HGetAll returns every field and value, in field order.
func (tx *Tx) HGetAll(db int, key []byte) ([]FieldValue, error) {
	return tx.hashAll(db, key, true, true)
}

// HKeys returns every field, in order.
func (tx *Tx) HKeys(db int, key []byte) ([][]byte, error) {
	all, err := tx.hashAll(db, key, true, false)
	return fieldsOf(all), err
}

// HVals returns every value, in field order.
func (tx *Tx) HVals(db int, key []byte) ([][]byte, error) {
	all, err := tx.hashAll(db, key, false, true)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(all))
	for i := range all {
		out[i] = all[i].Value
	}
	return out, nil
}

func fieldsOf(all []FieldValue) [][]byte {
	out := make([][]byte, len(all))
	for i := range all {
		out[i] = all[i].Field
	}
	return out
}

// hashAll reads a whole hash. Metadata and members are read from one snapshot so a
// concurrent writer cannot make them disagree.
func (tx *Tx) hashAll(db int, key []byte, fields, values bool) ([]FieldValue, error) {
	tx.Snapshot()
	k, exists, err := tx.loadHash(db, key)
	if err != nil || !exists {
		return nil, err
	}
	out := make([]FieldValue, 0, min(k.Meta.Count, 1<<16))
	it := tx.members(k)
	defer it.Close()
	for it.SeekFirst(); it.Valid(); it.Next() {
		out = append(out, copyMember(k, it, fields, values))
	}
	return out, it.Err()
}

// copyMember copies the member under the iterator; an empty value stays non-nil so
// callers can tell it from a missing one.
func copyMember(k *Key, it *Iter, field, value bool) FieldValue {
	var fv FieldValue
	if field {
		fv.Field = append([]byte{}, memberName(k, it.Key())...)
	}
	if value {
		fv.Value = append([]byte{}, it.Value()...)
	}
	return fv
}

// HIncrBy adds delta to the integer in field (0 when missing) and returns the result.
func (tx *Tx) HIncrBy(db int, key, field []byte, delta int64) (int64, error) {
	k, err := tx.Create(db, key, TypeHash)
	if err != nil {
		return 0, err
	}
	old, err := tx.hashField(k, field)
	if err != nil {
		return 0, err
	}
	var cur int64
	if old != nil {
		if cur, err = parseStoredInt(old); err != nil {
			return 0, ErrHashNotInteger
		}
	}
	if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
		return 0, ErrOverflow
	}
	cur += delta
	tx.putMember(k, field, strconv.AppendInt(nil, cur, 10))
	if old == nil {
		k.Meta.Count++
	}
	tx.Save(k)
	return cur, nil
}

// HIncrByFloat adds delta to the float in field (0 when missing) and returns the new
// value as stored, formatted like INCRBYFLOAT.
func (tx *Tx) HIncrByFloat(db int, key, field []byte, incr []byte) ([]byte, error) {
	k, err := tx.Create(db, key, TypeHash)
	if err != nil {
		return nil, err
	}
	old, err := tx.hashField(k, field)
	if err != nil {
		return nil, err
	}
	v, err := AddFloat(old, incr, ErrHashNotFloat)
	if err != nil {
		return nil, err
	}
	tx.putMember(k, field, v)
	if old == nil {
		k.Meta.Count++
	}
	tx.Save(k)
	return v, nil
}

// hashField reads a field of a hash handle; a hash Create just made has none.
func (tx *Tx) hashField(k *Key, field []byte) ([]byte, error) {
	if k.Meta.Count == 0 {
		return nil, nil
	}
	return tx.getMember(k, field)
}

// HScan returns up to count fields starting at field resume (inclusive; nil starts at
// the beginning), in field order, and the field the next call resumes from (nil when
// the hash is exhausted). Values are left nil unless values is set.
func (tx *Tx) HScan(db int, key, resume []byte, count int, values bool) ([]FieldValue, []byte, error) {
	tx.Snapshot()
	k, exists, err := tx.loadHash(db, key)
	if err != nil || !exists {
		return nil, nil, err
	}
	it := tx.members(k)
	defer it.Close()
	if len(resume) == 0 {
		it.SeekFirst()
	} else {
		it.Seek(memberKey(db, key, k.Meta.Version, resume))
	}
	out := make([]FieldValue, 0, min(count, 1024))
	for ; it.Valid() && len(out) < count; it.Next() {
		out = append(out, copyMember(k, it, true, values))
	}
	var next []byte
	if it.Valid() {
		next = append([]byte{}, memberName(k, it.Key())...)
	}
	return out, next, it.Err()
}

// HRANDFIELD strategy. RocksDB has no "n-th key" lookup, so exact uniform sampling
// means reading the hash once. HRandField does that when it is cheap or unavoidable:
// for hashes of up to hrandSmall fields, and when the reply is a sizeable part of the
// hash (more than 1/hrandScanRatio of it: one pass then costs about what the seeks
// would). Such a pass keeps only the chosen fields in memory.
//
// Otherwise (a few fields from a big hash) each pick descends the trie of field names
// by seeking, instead of reading O(n) fields. At a prefix it steps through the fields
// under it; up to hrandSmallBranch of them it picks one exactly. Past that, it seeks
// to the last field under the prefix, takes the common prefix q of the first and last
// and the distinct bytes that follow q (a seek each, plus a step to see whether that
// branch is a single field), then goes on under one of them, or stops at q when q is
// itself a field. Branches are weighted by estimated size: a single field weighs 1,
// and bigger branches share the rest of their parent's estimate equally (the root's
// is HLEN). Where more than hrandMaxKids bytes follow q (binary or random fields), or
// past hrandMaxDepth levels, it seeks to a random string between the first and last
// field under the prefix and takes the next field (past hrandMaxDepth, then walking
// on up to hrandMaxWalk fields). Nodes are remembered for the later picks of the same
// call. On a million "user:<n>" fields a pick costs about 20-60 seeks, well under a
// millisecond. The result is random but not exactly uniform as in Redis: sibling
// branches of different sizes weigh the same ("id:1" holds id:1, id:10..19,
// id:100..199, ...; "id:9" may hold fewer).
const (
	hrandSmall       = 1000
	hrandScanRatio   = 512
	hrandMaxKids     = 32
	hrandSmallBranch = 64       // branches up to this size are counted by stepping
	hrandMaxKept     = 16 << 20 // bytes of trie nodes remembered by one sampler
	hrandMaxDepth    = 64       // branchings descended before seeking at random
	hrandMaxWalk     = 1024     // fields walked past after giving up the descent
)

// HRandField returns random fields of a hash with Redis's HRANDFIELD count rules:
// count >= 0 returns min(count, HLEN) distinct fields; count < 0 returns -count fields
// that may repeat. A missing key returns nothing. Values are filled in when withValues.
func (tx *Tx) HRandField(db int, key []byte, count int64, withValues bool) ([]FieldValue, error) {
	tx.Snapshot()
	k, exists, err := tx.loadHash(db, key)
	if err != nil || !exists || count == 0 {
		return nil, err
	}
	n := k.Meta.Count
	distinct := count > 0
	want := uint64(count)
	if !distinct {
		want = uint64(-count)
	}
	switch {
	case distinct && want >= n:
		// The whole hash, as Redis replies.
		return tx.hashAll(db, key, true, withValues)
	case !distinct && n <= hrandSmall:
		all, err := tx.hashAll(db, key, true, withValues)
		if err != nil || len(all) == 0 {
			return nil, err
		}
		out := make([]FieldValue, 0, min(want, 1<<16))
		for i := uint64(0); i < want; i++ {
			out = append(out, all[rand.IntN(len(all))])
		}
		return out, nil
	case n <= hrandSmall || want > n/hrandScanRatio:
		return tx.hrandByScan(k, distinct, want, withValues)
	}
	return tx.hrandBySeek(k, distinct, want, withValues)
}

// hrandByScan picks random ranks (distinct ones with Floyd's algorithm), sorts them
// and collects the fields at those ranks in one pass.
func (tx *Tx) hrandByScan(k *Key, distinct bool, want uint64, withValues bool) ([]FieldValue, error) {
	n := k.Meta.Count
	ranks := make([]uint64, 0, min(want, 1<<16))
	if distinct {
		chosen := make(map[uint64]struct{}, want)
		for j := n - want; j < n; j++ {
			r := rand.Uint64N(j + 1)
			if _, dup := chosen[r]; dup {
				r = j
			}
			chosen[r] = struct{}{}
			ranks = append(ranks, r)
		}
	} else {
		for i := uint64(0); i < want; i++ {
			ranks = append(ranks, rand.Uint64N(n))
		}
	}
	slices.Sort(ranks)
	out := make([]FieldValue, 0, len(ranks))
	it := tx.members(k)
	defer it.Close()
	rank := uint64(0)
	for it.SeekFirst(); it.Valid() && len(ranks) > 0; it.Next() {
		if ranks[0] == rank {
			fv := copyMember(k, it, true, withValues)
			for len(ranks) > 0 && ranks[0] == rank {
				out = append(out, fv)
				ranks = ranks[1:]
			}
		}
		rank++
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// hrandBySeek samples a big hash by descending the trie of its fields; see above.
func (tx *Tx) hrandBySeek(k *Key, distinct bool, want uint64, withValues bool) ([]FieldValue, error) {
	it := tx.members(k)
	defer it.Close()
	s := &hashSampler{it: it, prefix: memberPrefix(prefixMember, k.DB, k.Name, k.Meta.Version), count: k.Meta.Count, nodes: map[string]*trieNode{}}
	var chosen map[string]struct{}
	if distinct {
		chosen = make(map[string]struct{}, want)
	}
	out := make([]FieldValue, 0, min(want, 1<<16))
	for uint64(len(out)) < want {
		if !s.pick() {
			return nil, it.Err()
		}
		if distinct {
			// A repeat walks on to the next field not chosen yet; fewer than one in
			// hrandScanRatio fields is ever chosen, so the walk is short.
			for {
				if !it.Valid() {
					return nil, it.Err()
				}
				if _, dup := chosen[string(memberName(k, it.Key()))]; !dup {
					break
				}
				hrandStep(it)
			}
			chosen[string(memberName(k, it.Key()))] = struct{}{}
		}
		out = append(out, copyMember(k, it, true, withValues))
	}
	return out, it.Err()
}

// hrandStep moves to the next field, wrapping from the last to the first.
func hrandStep(it *Iter) {
	it.Next()
	if !it.Valid() {
		it.SeekFirst()
	}
}

// trieNode describes the fields under one prefix of a hash.
type trieNode struct {
	lo, hi  []byte // first and last field under the prefix
	size    int    // number of fields when at most hrandSmallBranch, else 0
	q       int    // length of the common prefix of lo and hi
	isWord  bool   // lo[:q] is itself a field
	kids    []byte // the distinct bytes after lo[:q]; nil when dense
	kidLeaf []bool // whether the branch of each kid holds a single field
	leaves  int    // number of single-field kids
	dense   bool   // more than hrandMaxKids kids
}

// hashSampler positions an iterator on random fields of a big hash.
type hashSampler struct {
	it     *Iter
	prefix []byte // member-key prefix of the hash's version
	count  uint64 // fields in the hash
	nodes  map[string]*trieNode
	kept   int // bytes held by nodes
	buf    []byte
}

// seek positions the iterator at the first field >= f and returns its name, or nil.
func (s *hashSampler) seek(f []byte) []byte {
	s.buf = append(append(s.buf[:0], s.prefix...), f...)
	s.it.Seek(s.buf)
	return s.name()
}

// name is the field under the iterator, or nil.
func (s *hashSampler) name() []byte {
	if !s.it.Valid() {
		return nil
	}
	return s.it.Key()[len(s.prefix):]
}

// node describes the fields under prefix p, or returns nil when there are none.
func (s *hashSampler) node(p []byte) *trieNode {
	if n, ok := s.nodes[string(p)]; ok {
		return n
	}
	f := s.seek(p)
	if f == nil || !bytes.HasPrefix(f, p) {
		return nil
	}
	n := &trieNode{lo: bytes.Clone(f)}
	// A small branch is counted by stepping through it: steps cost less than seeks.
	for size := 1; size <= hrandSmallBranch; size++ {
		s.it.Next()
		if g := s.name(); g == nil || !bytes.HasPrefix(g, p) {
			n.size = size
			s.keep(p, n)
			return n
		}
	}
	// The last field under p: the one before the first key past every p-prefixed key.
	s.buf = prefixEnd(append(append(s.buf[:0], s.prefix...), p...))
	s.it.SeekForPrev(s.buf)
	if s.it.Valid() && bytes.Equal(s.it.Key(), s.buf) {
		s.it.Prev()
	}
	if !s.it.Valid() {
		return nil
	}
	n.hi = bytes.Clone(s.name())
	for n.q < len(n.lo) && n.q < len(n.hi) && n.lo[n.q] == n.hi[n.q] {
		n.q++
	}
	n.isWord = len(n.lo) == n.q
	{
		// One seek per distinct next byte; one step tells whether its branch holds
		// a single field.
		q := n.lo[:n.q:n.q]
		next := append(q, 0)
		for {
			f := s.seek(next)
			if f == nil || len(f) == len(q) || !bytes.HasPrefix(f, q) {
				break
			}
			c := f[len(q)]
			s.it.Next()
			g := s.name()
			leaf := g == nil || len(g) <= len(q) || !bytes.HasPrefix(g, q) || g[len(q)] != c
			n.kids = append(n.kids, c)
			n.kidLeaf = append(n.kidLeaf, leaf)
			if leaf {
				n.leaves++
			}
			if len(n.kids) > hrandMaxKids {
				n.kids, n.kidLeaf, n.dense = nil, nil, true
				break
			}
			if c == 255 {
				break
			}
			next = append(q, c+1)
		}
	}
	s.keep(p, n)
	return n
}

// keep remembers node n of prefix p for later picks, within a memory budget.
func (s *hashSampler) keep(p []byte, n *trieNode) {
	s.kept += len(p) + len(n.lo) + len(n.hi) + 2*len(n.kids)
	if s.kept <= hrandMaxKept {
		s.nodes[string(p)] = n
	}
}

// pick positions the iterator on a random field; false when the hash is empty.
//
// Each branch is weighted by an estimate of its size: a single field weighs 1, and
// the branches holding more share what is left of the parent's estimate equally
// (the root's estimate is the hash's field count).
func (s *hashSampler) pick() bool {
	var p []byte
	est := float64(s.count)
	for depth := 0; ; depth++ {
		n := s.node(p)
		switch {
		case n == nil:
			return false
		case n.size > 0:
			// A small branch: exactly uniform among its fields.
			s.seek(n.lo)
			for i := rand.IntN(n.size); i > 0; i-- {
				s.it.Next()
			}
			return s.it.Valid()
		case !n.dense && len(n.kids) == 0:
			return s.seek(n.lo) != nil
		case n.dense || depth >= hrandMaxDepth:
			q := n.lo[:n.q:n.q]
			if s.seek(append(q, randomBetween(n.lo[n.q:], n.hi[n.q:])...)) == nil {
				return s.seek(n.hi) != nil
			}
			if !n.dense {
				// Deep, narrow tries (fields that are prefixes of one another) end
				// here with most of their fields below: walk a random distance on,
				// wrapping inside the prefix.
				for i := rand.IntN(int(min(est, hrandMaxWalk))); i > 0; i-- {
					s.it.Next()
					if f := s.name(); f == nil || !bytes.HasPrefix(f, q) {
						s.seek(q)
					}
				}
			}
			return true
		}
		single := float64(n.leaves)
		if n.isWord {
			single++
		}
		multi := len(n.kids) - n.leaves
		share := 1.0
		if multi > 0 {
			share = max((est-single)/float64(multi), 1)
		}
		r := rand.Float64() * (single + share*float64(multi))
		if n.isWord {
			if r < 1 {
				return s.seek(n.lo) != nil // the prefix itself is a field
			}
			r--
		}
		i := 0
		for ; i < len(n.kids)-1; i++ {
			w := share
			if n.kidLeaf[i] {
				w = 1
			}
			if r < w {
				break
			}
			r -= w
		}
		p = append(n.lo[:n.q:n.q], n.kids[i])
		if n.kidLeaf[i] {
			return s.seek(p) != nil
		}
		est = share
	}
}

// randomBetween returns a random string >= lo and below hi's first 8 bytes, for lo < hi
// differing in their first byte (or lo empty): an 8-byte number drawn between theirs.
func randomBetween(lo, hi []byte) []byte {
	a, b := be8(lo), be8(hi)
	r := a
	if b > a {
		r = a + rand.Uint64N(b-a)
	}
	if r == a {
		return lo
	}
	return binary.BigEndian.AppendUint64(nil, r)
}

// be8 reads up to 8 bytes as a big-endian number, zero-padded on the right.
func be8(b []byte) uint64 {
	var buf [8]byte
	copy(buf[:], b)
	return binary.BigEndian.Uint64(buf[:])
}
