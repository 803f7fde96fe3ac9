package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// OpInfo is a readable account of one change, for `strata binlog dump`.
type OpInfo struct {
	Op     string `json:"op"`     // set, del, delrange
	Record string `json:"record"` // meta, member, score, expire, system
	DB     int    `json:"db"`
	Key    string `json:"key,omitempty"`
	Detail string `json:"detail,omitempty"` // member, score, index, type, ...
	End    string `json:"end,omitempty"`    // range end, for delrange
}

// Describe explains one change in terms of Redis keys.
func Describe(op Op) OpInfo {
	info := OpInfo{Op: map[opKind]string{OpPut: "set", OpDelete: "del", OpDeleteRange: "delrange"}[op.Kind]}
	k := op.Key
	if len(k) == 0 {
		info.Record = "?"
		return info
	}
	if k[0] == prefixSys {
		info.Record, info.Key = "system", string(k)
		return info
	}
	if len(k) < 2 {
		info.Record = "?"
		return info
	}
	info.DB = int(k[1])
	switch k[0] {
	case prefixMeta:
		info.Record, info.Key = "meta", strconv.Quote(string(k[2:]))
		var m Meta
		if op.Kind == OpPut && decodeMeta(op.Value, &m) == nil {
			info.Detail = m.Type.String()
			if m.ExpireAt != 0 {
				info.Detail += fmt.Sprintf(" expire-at=%d", m.ExpireAt)
			}
			if m.Type == TypeString {
				info.Detail += " value=" + strconv.Quote(string(m.Value))
			} else {
				info.Detail += fmt.Sprintf(" version=%d count=%d", m.Version, m.Count)
			}
		}
	case prefixMember, prefixScore, prefixRank:
		switch k[0] {
		case prefixMember:
			info.Record = "member"
		case prefixScore:
			info.Record = "score"
		default:
			info.Record = "rank" // rank-node or rank-count below
		}
		if len(k) < 6 {
			break
		}
		n := int(binary.BigEndian.Uint32(k[2:]))
		if len(k) < 6+n+8 {
			info.Key = strconv.Quote(string(k[6:]))
			break
		}
		info.Key = strconv.Quote(string(k[6 : 6+n]))
		rest := k[6+n:]
		info.Detail = fmt.Sprintf("version=%d", binary.BigEndian.Uint64(rest))
		rest = rest[8:]
		if k[0] == prefixRank && len(rest) > 0 {
			info.Record = "rank-node"
			if rest[0]&rankCounts != 0 {
				info.Record = "rank-count"
			}
			info.Detail += fmt.Sprintf(" level=%d", rest[0]&^rankCounts)
			rest = rest[1:]
			if bytes.Equal(rest, rankTail) {
				info.Detail += " tail"
				rest = nil
			}
		}
		if k[0] != prefixMember && len(rest) >= 8 {
			info.Detail += fmt.Sprintf(" score=%g member=%q", decodeScore(binary.BigEndian.Uint64(rest)), rest[8:])
		} else if len(rest) > 0 {
			info.Detail += fmt.Sprintf(" member=%q", rest)
		}
		if op.Kind == OpPut && k[0] == prefixRank && len(op.Value) == 8 {
			info.Detail += fmt.Sprintf(" count=%d", decodeU64(op.Value))
		} else if op.Kind == OpPut && len(op.Value) > 0 {
			info.Detail += fmt.Sprintf(" value=%q", op.Value)
		}
	case prefixExpire:
		info.Record = "expire"
		if len(k) >= 10 {
			info.Key = strconv.Quote(string(k[10:]))
			info.Detail = fmt.Sprintf("at=%d", binary.BigEndian.Uint64(k[2:]))
		}
	default:
		info.Record = "?"
		info.Key = strconv.Quote(string(k))
	}
	if op.Kind == OpDeleteRange {
		info.End = strconv.Quote(string(op.Value))
	}
	return info
}
