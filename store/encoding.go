package store

import (
	"encoding/binary"
	"math"
)

// Key prefixes. They are part of the on-disk format: do not change them.
const (
	prefixMeta   = 'm' // m | db | user key                                   -> metadata
	prefixMember = 's' // s | db | len(key) u32 | key | version u64 | member  -> member value
	prefixScore  = 'z' // z | db | len(key) u32 | key | version u64 | score | member -> empty
	prefixRank   = 'r' // r | db | len(key) u32 | key | version u64 | level | score | member -> count
	prefixExpire = 'e' // e | db | expire-at ms u64 | user key                -> empty
	prefixSys    = '!' // ! | name                                            -> system value
)

// FormatVersion is the version of the key encoding written by this build. Version 2
// added the sorted sets' rank index; a format 1 database opens as is (see zset_rank.go).
const FormatVersion = 2

var (
	sysFormatKey  = []byte("!format")
	sysVersionKey = []byte("!version")
	sysKeysPrefix = []byte("!keys/")   // !keys/<db byte> -> u64 number of keys in db
	sysAppliedKey = []byte("!applied") // ID of the last binlog record applied
	sysHistoryKey = []byte("!history") // 20-byte ID of the history being written
	// 20-byte ID of the history before the last promotion + u64 first ID after it.
	sysPrevHistoryKey = []byte("!history2")
)

func sysKeysKey(db int) []byte { return append(append([]byte{}, sysKeysPrefix...), byte(db)) }

// Type is the Redis type of a key.
type Type byte

const (
	TypeNone   Type = 0
	TypeString Type = 1
	TypeHash   Type = 2
	TypeList   Type = 3
	TypeSet    Type = 4
	TypeZSet   Type = 5
)

func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeHash:
		return "hash"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	}
	return "none"
}

// listMid is the index of the first element pushed into an empty list; it leaves
// room for 2^63 pushes on either side.
const listMid = uint64(1) << 63

// Meta is the decoded metadata of one key.
type Meta struct {
	Type     Type
	ExpireAt int64 // unix ms, 0 = no expiry
	// Strings keep their value inline.
	Value []byte
	// Collections: the version tags every member key; Count is the number of members.
	Version uint64
	Count   uint64
	// Lists: Head is the index of the first element, Tail one past the last.
	Head, Tail uint64
}

// Expired reports whether the key is logically gone at nowMs.
func (m *Meta) Expired(nowMs int64) bool { return m.ExpireAt != 0 && m.ExpireAt <= nowMs }

func metaKey(db int, key []byte) []byte {
	b := make([]byte, 0, 2+len(key))
	b = append(b, prefixMeta, byte(db))
	return append(b, key...)
}

func encodeMeta(m *Meta) []byte {
	n := 9
	if m.Type == TypeString {
		n += len(m.Value)
	} else {
		n += 16
		if m.Type == TypeList {
			n += 16
		}
	}
	b := make([]byte, n)
	b[0] = byte(m.Type)
	binary.BigEndian.PutUint64(b[1:], uint64(m.ExpireAt))
	if m.Type == TypeString {
		copy(b[9:], m.Value)
		return b
	}
	binary.BigEndian.PutUint64(b[9:], m.Version)
	binary.BigEndian.PutUint64(b[17:], m.Count)
	if m.Type == TypeList {
		binary.BigEndian.PutUint64(b[25:], m.Head)
		binary.BigEndian.PutUint64(b[33:], m.Tail)
	}
	return b
}

func decodeMeta(b []byte, m *Meta) error {
	if len(b) < 9 {
		return corruptf("metadata too short (%d bytes)", len(b))
	}
	*m = Meta{Type: Type(b[0]), ExpireAt: int64(binary.BigEndian.Uint64(b[1:]))}
	switch m.Type {
	case TypeString:
		m.Value = b[9:]
	case TypeHash, TypeSet, TypeZSet:
		if len(b) < 25 {
			return corruptf("collection metadata too short (%d bytes)", len(b))
		}
		m.Version = binary.BigEndian.Uint64(b[9:])
		m.Count = binary.BigEndian.Uint64(b[17:])
	case TypeList:
		if len(b) < 41 {
			return corruptf("list metadata too short (%d bytes)", len(b))
		}
		m.Version = binary.BigEndian.Uint64(b[9:])
		m.Count = binary.BigEndian.Uint64(b[17:])
		m.Head = binary.BigEndian.Uint64(b[25:])
		m.Tail = binary.BigEndian.Uint64(b[33:])
	default:
		return corruptf("unknown type %d in metadata", b[0])
	}
	return nil
}

// memberPrefix is the prefix shared by every member of one version of a key.
func memberPrefix(prefix byte, db int, key []byte, version uint64) []byte {
	b := make([]byte, 0, 2+4+len(key)+8+16)
	b = append(b, prefix, byte(db))
	b = binary.BigEndian.AppendUint32(b, uint32(len(key)))
	b = append(b, key...)
	return binary.BigEndian.AppendUint64(b, version)
}

// keyPrefix covers every version of a key's members.
func keyPrefix(prefix byte, db int, key []byte) []byte {
	b := make([]byte, 0, 2+4+len(key))
	b = append(b, prefix, byte(db))
	b = binary.BigEndian.AppendUint32(b, uint32(len(key)))
	return append(b, key...)
}

func memberKey(db int, key []byte, version uint64, member []byte) []byte {
	return append(memberPrefix(prefixMember, db, key, version), member...)
}

func listKey(db int, key []byte, version uint64, index uint64) []byte {
	return binary.BigEndian.AppendUint64(memberPrefix(prefixMember, db, key, version), index)
}

func scoreKey(db int, key []byte, version uint64, score float64, member []byte) []byte {
	b := binary.BigEndian.AppendUint64(memberPrefix(prefixScore, db, key, version), encodeScore(score))
	return append(b, member...)
}

// encodeScore maps a float64 to a uint64 whose big-endian bytes sort like the float.
func encodeScore(f float64) uint64 {
	if f == 0 {
		f = 0 // fold -0 into +0
	}
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		return ^u
	}
	return u | 1<<63
}

func decodeScore(u uint64) float64 {
	if u&(1<<63) != 0 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}

func expireKey(db int, at int64, key []byte) []byte {
	b := make([]byte, 0, 10+len(key))
	b = append(b, prefixExpire, byte(db))
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	return append(b, key...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte{}, p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

func encodeU64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
