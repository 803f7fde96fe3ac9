package store

import (
	"encoding/binary"
	"fmt"
)

// Change encoding: what one committed transaction did, as the binlog stores it and
// replication ships it. It is Strata's own format (not RocksDB's batch bytes), so a
// follower replays exactly what the master decided and the log outlives RocksDB
// upgrades. All lengths are uvarints.
//
//	+---------+---------+----------------------------------+-------+-----------------+
//	| version | ndeltas | ndeltas × (db u8, flags u8,      | nops  | nops × op       |
//	| u8 = 1  | u8      |           delta zigzag varint)   |       |                 |
//	+---------+---------+----------------------------------+-------+-----------------+
//	flags bit 0: the database was flushed first (its key count restarts at delta)
//	op: kind u8 (1 put, 2 delete, 3 delete range) | len | key | [len | value or range end]
const changesVersion = 1

// Changes is the decoded form of one transaction's changes.
type Changes struct {
	Ops     []Op
	Deltas  [Databases]int64 // change of each database's key count
	Flushed uint32           // databases whose count restarts (FLUSHDB), bit per db
}

// EncodeChanges renders the transaction's changes for the log.
func (tx *Tx) EncodeChanges(dst []byte) []byte {
	return encodeChanges(dst, tx.ops, &tx.deltas, tx.flushed)
}

func encodeChanges(dst []byte, ops []Op, deltas *[Databases]int64, flushed uint32) []byte {
	dst = append(dst, changesVersion)
	n := 0
	for db := 0; db < Databases; db++ {
		if deltas[db] != 0 || flushed&(1<<db) != 0 {
			n++
		}
	}
	dst = append(dst, byte(n))
	for db := 0; db < Databases; db++ {
		reset := flushed&(1<<db) != 0
		if deltas[db] == 0 && !reset {
			continue
		}
		var flags byte
		if reset {
			flags = 1
		}
		dst = append(dst, byte(db), flags)
		dst = binary.AppendVarint(dst, deltas[db])
	}
	dst = binary.AppendUvarint(dst, uint64(len(ops)))
	for i := range ops {
		op := &ops[i]
		dst = append(dst, byte(op.Kind))
		dst = binary.AppendUvarint(dst, uint64(len(op.Key)))
		dst = append(dst, op.Key...)
		if op.Kind != OpDelete {
			dst = binary.AppendUvarint(dst, uint64(len(op.Value)))
			dst = append(dst, op.Value...)
		}
	}
	return dst
}

// DecodeChanges parses a change record. Keys and values alias b.
func DecodeChanges(b []byte) (*Changes, error) {
	bad := func(what string) (*Changes, error) {
		return nil, fmt.Errorf("%w: change record: %s", ErrCorrupt, what)
	}
	if len(b) < 2 {
		return bad("too short")
	}
	if b[0] != changesVersion {
		return bad(fmt.Sprintf("unknown version %d", b[0]))
	}
	c := &Changes{}
	n := int(b[1])
	b = b[2:]
	for i := 0; i < n; i++ {
		if len(b) < 2 {
			return bad("truncated delta")
		}
		db, flags := int(b[0]), b[1]
		if db >= Databases {
			return bad(fmt.Sprintf("database %d", db))
		}
		d, k := binary.Varint(b[2:])
		if k <= 0 {
			return bad("bad delta")
		}
		c.Deltas[db] = d
		if flags&1 != 0 {
			c.Flushed |= 1 << db
		}
		b = b[2+k:]
	}
	nops, k := binary.Uvarint(b)
	if k <= 0 || nops > uint64(len(b)) {
		return bad("bad op count")
	}
	b = b[k:]
	c.Ops = make([]Op, 0, nops)
	field := func() ([]byte, bool) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, false
		}
		v := b[k : k+int(l)]
		b = b[k+int(l):]
		return v, true
	}
	for i := uint64(0); i < nops; i++ {
		if len(b) < 1 {
			return bad("truncated op")
		}
		op := Op{Kind: opKind(b[0])}
		b = b[1:]
		var ok bool
		if op.Key, ok = field(); !ok {
			return bad("truncated key")
		}
		switch op.Kind {
		case OpPut, OpDeleteRange:
			if op.Value, ok = field(); !ok {
				return bad("truncated value")
			}
		case OpDelete:
		default:
			return bad(fmt.Sprintf("op kind %d", op.Kind))
		}
		c.Ops = append(c.Ops, op)
	}
	if len(b) != 0 {
		return bad(fmt.Sprintf("%d trailing bytes", len(b)))
	}
	return c, nil
}
