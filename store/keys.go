package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
)

// ErrSameObject: COPY, MOVE or RENAME with a source that is also the destination.
var ErrSameObject = errors.New("store: source and destination objects are the same")

// Generic key operations: copy, rename, move, and walks over a database's keys. They
// work on every type because every type keeps its members under the same prefixes
// (prefixMember, and for sorted sets prefixScore and prefixRank), tagged by key name
// and version.

// Copy copies the live key src of srcDB to dst of dstDB, with its TTL. It reports false,
// changing nothing, when src does not exist or when dst exists and replace is false.
// The copy is a new value: a fresh version, every member record rewritten for it.
func (tx *Tx) Copy(srcDB int, src []byte, dstDB int, dst []byte, replace bool) (bool, error) {
	if srcDB == dstDB && bytes.Equal(src, dst) {
		return false, ErrSameObject
	}
	sk, err := tx.Load(srcDB, src)
	if err != nil || !sk.Exists() {
		return false, err
	}
	dk, err := tx.Load(dstDB, dst)
	if err != nil {
		return false, err
	}
	if dk.Exists() && !replace {
		return false, nil
	}
	if err := tx.copyKeyValue(sk, dk); err != nil {
		return false, err
	}
	return true, nil
}

// Rename moves src to dst inside db, keeping the TTL; whatever dst held is replaced,
// unless nx is set, in which case an existing dst makes it report false. A missing src
// is ErrNoSuchKey. Renaming a key to itself changes nothing (and reports !nx, as
// RENAMENX answers 0 there).
func (tx *Tx) Rename(db int, src, dst []byte, nx bool) (bool, error) {
	sk, err := tx.Load(db, src)
	if err != nil {
		return false, err
	}
	if !sk.Exists() {
		return false, ErrNoSuchKey
	}
	if bytes.Equal(src, dst) {
		return !nx, nil
	}
	dk, err := tx.Load(db, dst)
	if err != nil {
		return false, err
	}
	if dk.Exists() && nx {
		return false, nil
	}
	if err := tx.copyKeyValue(sk, dk); err != nil {
		return false, err
	}
	tx.Delete(sk)
	return true, nil
}

// Move moves key from db to dstDB, keeping its TTL. It reports false when the key does
// not exist or already exists in dstDB.
func (tx *Tx) Move(db int, key []byte, dstDB int) (bool, error) {
	if db == dstDB {
		return false, ErrSameObject
	}
	sk, err := tx.Load(db, key)
	if err != nil || !sk.Exists() {
		return false, err
	}
	dk, err := tx.Load(dstDB, key)
	if err != nil {
		return false, err
	}
	if dk.Exists() {
		return false, nil
	}
	if err := tx.copyKeyValue(sk, dk); err != nil {
		return false, err
	}
	tx.Delete(sk)
	return true, nil
}

// copyKeyValue replaces dst with a copy of the live key src: metadata with a fresh
// version (lists keep Head and Tail, so element indexes stay valid) and every member,
// score-index and rank-index record rewritten under dst's name, database and version.
func (tx *Tx) copyKeyValue(src, dst *Key) error {
	m := src.Meta
	var ops []Op
	if m.Type != TypeString {
		for _, p := range []byte{prefixMember, prefixScore, prefixRank} {
			if p == prefixRank && m.Type != TypeZSet {
				continue
			}
			var err error
			if ops, err = tx.collectKeyRecords(ops, p, src, dst); err != nil {
				return err
			}
		}
	}
	tx.Reset(dst, m.Type)
	ver := dst.Meta.Version
	dst.Meta = m
	dst.Meta.Version = ver
	if m.Type == TypeString {
		dst.Meta.Value = bytes.Clone(m.Value)
	}
	// The collected records carry a placeholder version: patch it in now that the new
	// version is known.
	for i := range ops {
		k := ops[i].Key
		off := 2 + 4 + len(dst.Name)
		binary.BigEndian.PutUint64(k[off:off+8], ver)
		tx.put(k, ops[i].Value)
	}
	tx.Save(dst)
	return nil
}

// collectKeyRecords reads every record of src's current version under prefix p and
// returns them re-keyed for dst (version left as zero for the caller to fill in).
// The iterator is closed before anything is written.
func (tx *Tx) collectKeyRecords(ops []Op, p byte, src, dst *Key) ([]Op, error) {
	sp := memberPrefix(p, src.DB, src.Name, src.Meta.Version)
	dp := memberPrefix(p, dst.DB, dst.Name, 0)
	it := tx.iter(sp, prefixEnd(sp))
	for it.SeekFirst(); it.Valid(); it.Next() {
		suffix := it.Key()[len(sp):]
		k := make([]byte, 0, len(dp)+len(suffix))
		k = append(append(k, dp...), suffix...)
		ops = append(ops, Op{Kind: OpPut, Key: k, Value: bytes.Clone(it.Value())})
	}
	err := it.Err()
	it.Close()
	return ops, err
}

// DBSize is the number of keys in db as this transaction sees it: the committed count
// plus the transaction's own creations and deletions. Keys that expired but are not
// removed yet still count, as in Redis.
func (tx *Tx) DBSize(db int) int64 {
	if tx.flushed&(1<<db) != 0 {
		return tx.deltas[db]
	}
	return tx.s.DBSize(db) + tx.deltas[db]
}

// dbMetaRange is the raw key range of db's metadata records whose names start with prefix.
func dbMetaRange(db int, prefix []byte) (lo, hi []byte) {
	lo = metaKey(db, prefix)
	return lo, prefixEnd(lo)
}

// metaIsLive reports whether a raw metadata value is a live key at now, and its type.
func metaIsLive(v []byte, now int64) (Type, bool) {
	if len(v) < 9 {
		return TypeNone, false
	}
	exp := int64(binary.BigEndian.Uint64(v[1:9]))
	return Type(v[0]), exp == 0 || exp > now
}

// ScanKeys walks the live keys of db in key order, calling fn with each name (valid
// only during the call) and type. Only names starting with prefix are visited. The walk
// starts at resume, a position returned by an earlier call (nil: the beginning), and
// stops after examining limit metadata records (expired ones included; limit <= 0: no
// limit). It returns where to resume, nil when the walk reached the end.
func (tx *Tx) ScanKeys(db int, prefix, resume []byte, limit int, fn func(name []byte, t Type)) ([]byte, error) {
	lo, hi := dbMetaRange(db, prefix)
	start := lo
	if resume != nil && bytes.Compare(resume, lo) > 0 {
		start = resume
	}
	if hi != nil && bytes.Compare(start, hi) >= 0 {
		return nil, nil
	}
	it := tx.iter(lo, hi)
	defer it.Close()
	n := 0
	for it.Seek(start); it.Valid(); it.Next() {
		if limit > 0 && n == limit {
			return bytes.Clone(it.Key()), nil
		}
		n++
		if t, ok := metaIsLive(it.Value(), tx.now); ok {
			fn(it.Key()[2:], t)
		}
	}
	return nil, it.Err()
}

// randomAttempts and randomProbes bound the cheap part of RandomKey: a few random
// positions, a few records each. Only a database whose keys are nearly all expired (and
// not yet reached by the active cycle) falls through to the full walk.
const (
	randomAttempts = 8
	randomProbes   = 64
)

// RandomKey returns a random live key of db, nil when the db has none. It seeks to a
// random position of the db's metadata range and takes the next live key, wrapping
// around at the end.
func (tx *Tx) RandomKey(db int) ([]byte, error) {
	lo, hi := dbMetaRange(db, nil)
	it := tx.iter(lo, hi)
	defer it.Close()
	it.SeekFirst()
	if !it.Valid() {
		return nil, it.Err()
	}
	first := bytes.Clone(it.Key()[len(lo):])
	it.SeekLast()
	if !it.Valid() {
		return nil, it.Err()
	}
	last := bytes.Clone(it.Key()[len(lo):])
	for a := 0; a < randomAttempts; a++ {
		pivot := append(bytes.Clone(lo), randomKeyPivot(first, last)...)
		if k, ok := nextLiveKey(it, pivot, lo, randomProbes, tx.now); ok {
			return k, nil
		}
	}
	// Nearly everything probed was expired: walk the whole range once.
	pivot := append(bytes.Clone(lo), randomKeyPivot(first, last)...)
	k, _ := nextLiveKey(it, pivot, lo, -1, tx.now)
	return k, it.Err()
}

// nextLiveKey returns the first live key at or after pivot, wrapping around to the start
// of the range; it examines at most probes records (probes < 0: no bound).
func nextLiveKey(it *Iter, pivot, lo []byte, probes int, now int64) ([]byte, bool) {
	n := 0
	for pass := 0; pass < 2; pass++ {
		if pass == 0 {
			it.Seek(pivot)
		} else {
			it.SeekFirst()
		}
		for ; it.Valid(); it.Next() {
			if pass == 1 && bytes.Compare(it.Key(), pivot) >= 0 {
				break
			}
			if probes >= 0 && n == probes {
				return nil, false
			}
			n++
			if _, ok := metaIsLive(it.Value(), now); ok {
				return bytes.Clone(it.Key()[len(lo):]), true
			}
		}
	}
	return nil, false
}

// randomKeyPivot returns a random byte string between the names first and last: their
// common prefix, a random byte between the first bytes where they differ, then random
// printable bytes. Keys usually share a prefix and use printable bytes, so this spreads
// the picks far better than uniformly random bytes would.
func randomKeyPivot(first, last []byte) []byte {
	n := 0
	for n < len(first) && n < len(last) && first[n] == last[n] {
		n++
	}
	out := bytes.Clone(first[:n])
	lo, hi := 0, 255
	if n < len(first) {
		lo = int(first[n])
	}
	if n < len(last) {
		hi = int(last[n])
	}
	out = append(out, byte(lo+rand.IntN(hi-lo+1)))
	for i := 0; i < 6; i++ {
		out = append(out, byte(0x20+rand.IntN(0x7f-0x20)))
	}
	return out
}

// Flush drops every key of db (FLUSHDB, FLUSHALL).
func (tx *Tx) Flush(db int) { tx.FlushDB(db) }

// StoredSize estimates the bytes key k's records take in the store before compression:
// its metadata and expiry records and, for a collection, its member records (a sorted
// set's score-index records too). Like Redis's MEMORY USAGE it averages the first
// samples members (0: all of them) and scales to the member count.
func (tx *Tx) StoredSize(k *Key, samples int64) (int64, error) {
	m := &k.Meta
	size := int64(2 + len(k.Name) + 9) // metadata record: key, type and expiry
	switch m.Type {
	case TypeNone:
		return 0, nil
	case TypeString:
		return size + int64(len(m.Value)) + expirySize(k), nil
	case TypeList:
		size += 32
	default:
		size += 16
	}
	size += expirySize(k)
	if m.Count == 0 {
		return size, nil
	}
	if samples <= 0 || uint64(samples) > m.Count {
		samples = int64(m.Count)
	}
	p := memberPrefix(prefixMember, k.DB, k.Name, m.Version)
	it := tx.iter(p, prefixEnd(p))
	defer it.Close()
	var n, bytes int64
	for it.SeekFirst(); it.Valid() && n < samples; it.Next() {
		bytes += int64(len(it.Key()) + len(it.Value()))
		if m.Type == TypeZSet {
			bytes += int64(len(it.Key()) + 8) // the score-index record: the score added, no value
		}
		n++
	}
	if err := it.Err(); err != nil {
		return 0, err
	}
	if n == 0 {
		return size, nil
	}
	if uint64(n) == m.Count {
		return size + bytes, nil
	}
	return size + int64(float64(bytes)/float64(n)*float64(m.Count)), nil
}

func expirySize(k *Key) int64 {
	if k.Meta.ExpireAt == 0 {
		return 0
	}
	return int64(2 + 8 + len(k.Name))
}
