package store

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/linxGnu/grocksdb"
)

// Digest is a SHA-1 over the logical contents of one database: what a client could
// read back, and nothing of how it is stored. Two stores holding the same keys, types,
// values and expiry times give the same digest, whatever their internal versions,
// list head/tail positions or write histories. Keys already past their expiry are
// left out, as every read leaves them out. An empty database digests to 20 zero bytes
// (as Redis's DEBUG DIGEST does).
//
// The hashed stream, for each live key in name (byte) order; integers big-endian:
//
//	u32 len(name) | name | type u8 | expire-at ms u64 (0 = none) | body
//	string: u32 len | value
//	hash:   u64 count | (u32 len | field | u32 len | value)*   fields in byte order
//	list:   u64 count | (u32 len | element)*                   head to tail
//	set:    u64 count | (u32 len | member)*                    members in byte order
//	zset:   u64 count | (u32 len | member | score u64)*        members in byte order;
//	        the score in the order-preserving encoding (-0 folded into +0)
//
// The type bytes are those of the store's Type (string 1, hash 2, list 3, set 4,
// zset 5).
func (s *Store) Digest(db int) ([20]byte, error) {
	tx := s.Begin()
	defer tx.Close()
	tx.Snapshot()
	return tx.Digest(db)
}

// Digest computes the digest of db as this transaction sees it (see Store.Digest).
// Call tx.Snapshot first for a consistent point in time.
func (tx *Tx) Digest(db int) ([20]byte, error) {
	var out [20]byte
	if db < 0 || db >= Databases {
		return out, fmt.Errorf("store: database %d out of range", db)
	}
	d := digester{h: sha1.New()}
	lo, hi := dbMetaRange(db, nil)
	mit := tx.scanIter(lo, hi)
	defer mit.Close()
	sp := []byte{prefixMember, byte(db)}
	sit := tx.scanIter(sp, prefixEnd(sp))
	defer sit.Close()
	keys := 0
	var m Meta
	for mit.SeekFirst(); mit.Valid(); mit.Next() {
		if err := decodeMeta(mit.Value(), &m); err != nil {
			return out, fmt.Errorf("key %q: %w", mit.Key()[2:], err)
		}
		if m.Expired(tx.now) {
			continue
		}
		keys++
		name := mit.Key()[2:]
		d.bytes(name)
		d.u8(byte(m.Type))
		d.u64(uint64(m.ExpireAt))
		if m.Type == TypeString {
			d.bytes(m.Value)
			continue
		}
		d.u64(m.Count)
		p := memberPrefix(prefixMember, db, name, m.Version)
		for sit.Seek(p); sit.Valid() && bytes.HasPrefix(sit.Key(), p); sit.Next() {
			member := sit.Key()[len(p):]
			switch m.Type {
			case TypeHash:
				d.bytes(member)
				d.bytes(sit.Value())
			case TypeList:
				d.bytes(sit.Value())
			case TypeSet:
				d.bytes(member)
			case TypeZSet:
				v := sit.Value()
				if len(v) != 8 {
					return out, corruptf("zset %q member %q: score has %d bytes", name, member, len(v))
				}
				d.bytes(member)
				d.raw(v)
			}
		}
		if err := sit.Err(); err != nil {
			return out, err
		}
	}
	if err := mit.Err(); err != nil {
		return out, err
	}
	if keys == 0 {
		return out, nil
	}
	copy(out[:], d.h.Sum(nil))
	return out, nil
}

// scanIter is tx.iter for a walk over a whole database: when the transaction has no
// writes of its own, the blocks it reads bypass the block cache, so a DIGEST of a large
// database does not evict the data clients are using.
func (tx *Tx) scanIter(lower, upper []byte) *Iter {
	if len(tx.ops) > 0 || tx.flushed != 0 {
		return tx.iter(lower, upper)
	}
	ro := grocksdb.NewDefaultReadOptions()
	if tx.snap != nil {
		ro.SetSnapshot(tx.snap)
	}
	ro.SetFillCache(false)
	ro.SetIterateLowerBound(lower)
	ro.SetIterateUpperBound(upper)
	return &Iter{it: tx.s.db.NewIterator(ro), ro: ro, lower: lower, upper: upper, steps: &tx.steps}
}

// digester feeds length-prefixed fields into a hash through a small buffer.
type digester struct {
	h   hash.Hash
	buf [8]byte
}

func (d *digester) raw(b []byte) { d.h.Write(b) }

func (d *digester) u8(v byte) {
	d.buf[0] = v
	d.h.Write(d.buf[:1])
}

func (d *digester) u64(v uint64) {
	binary.BigEndian.PutUint64(d.buf[:], v)
	d.h.Write(d.buf[:8])
}

func (d *digester) bytes(b []byte) {
	binary.BigEndian.PutUint32(d.buf[:], uint32(len(b)))
	d.h.Write(d.buf[:4])
	d.h.Write(b)
}
