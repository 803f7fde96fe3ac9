package server

import (
	"math/bits"

	"github.com/strata-kv/strata/store"
)

const (
	errBitOffset = "ERR bit offset is not an integer or out of range"
	errBitValue  = "ERR bit is not an integer or out of range"
)

func bitCommands() []*Command {
	w, r := FlagWrite|FlagDenyOOM, FlagReadOnly
	return []*Command{
		{Name: "setbit", Arity: 4, Flags: w, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSetBit, Group: "bitmap", Summary: "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", Since: "2.2.0"},
		{Name: "getbit", Arity: 3, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdGetBit, Group: "bitmap", Summary: "Returns a bit value by offset.", Since: "2.2.0"},
		{Name: "bitcount", Arity: -2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdBitCount, Group: "bitmap", Summary: "Counts the number of set bits (population counting) in a string.", Since: "2.6.0"},
		{Name: "bitpos", Arity: -3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdBitPos, Group: "bitmap", Summary: "Finds the first set (1) or clear (0) bit in a string.", Since: "2.8.7"},
		{Name: "bitop", Arity: -4, Flags: w, FirstKey: 2, LastKey: -1, Step: 1, Keys: bitopKeys, Handler: cmdBitOp, Group: "bitmap", Summary: "Performs bitwise operations on multiple strings, and stores the result.", Since: "2.6.0"},
	}
}

// bitopKeys: BITOP op destkey key [key ...] — every argument after the operation.
func bitopKeys(args [][]byte) [][]byte {
	if len(args) < 4 {
		return nil
	}
	return args[2:]
}

// bitOffset parses a bit offset: 0 up to the last bit of a 512MB string.
func bitOffset(c *Ctx, arg []byte) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok || n < 0 || n>>3 >= store.MaxStringSize {
		c.Error(errBitOffset)
		return 0, false
	}
	return n, true
}

func cmdSetBit(c *Ctx) {
	off, ok := bitOffset(c, c.Args[2])
	if !ok {
		return
	}
	on, ok := parseInt(c.Args[3])
	if !ok || on&^1 != 0 {
		c.Error(errBitValue)
		return
	}
	k, err := c.Tx.LoadType(c.DB, c.Args[1], store.TypeString)
	if err != nil {
		c.Fail(err)
		return
	}
	var cur []byte
	if k.Exists() {
		cur = k.Meta.Value
	}
	byteIdx := int(off >> 3)
	n := len(cur)
	if byteIdx >= n {
		n = byteIdx + 1
	}
	nv := make([]byte, n)
	copy(nv, cur)
	mask := byte(1) << (7 - uint(off&7))
	old := int64(0)
	if nv[byteIdx]&mask != 0 {
		old = 1
	}
	if k.Exists() && byteIdx < len(cur) && old == on {
		// The bit already holds the value: no write, as in Redis (WATCH is not fired).
		c.W.Int(old)
		return
	}
	if on == 1 {
		nv[byteIdx] |= mask
	} else {
		nv[byteIdx] &^= mask
	}
	exp := k.Meta.ExpireAt
	c.Tx.Reset(k, store.TypeString)
	k.Meta.Value = nv
	k.Meta.ExpireAt = exp
	c.Tx.Save(k)
	c.W.Int(old)
}

func cmdGetBit(c *Ctx) {
	off, ok := bitOffset(c, c.Args[2])
	if !ok {
		return
	}
	v, _, err := c.Tx.GetString(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	i := off >> 3
	if i >= int64(len(v)) {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(v[i]>>(7-uint(off&7))) & 1)
}

// bitRange turns BITCOUNT/BITPOS start and end (bytes, or bits with isBit) into an
// inclusive range of bit indexes over a string of n bytes, as Redis clamps them. empty
// reports that no bit is in range.
func bitRange(start, end int64, isBit bool, n int64) (lo, hi int64, empty bool) {
	total := n
	if isBit {
		total = n * 8
	}
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= total {
		end = total - 1
	}
	if start > end {
		return 0, 0, true
	}
	if isBit {
		return start, end, false
	}
	return start * 8, end*8 + 7, false
}

// countBits counts the set bits of v between bit indexes lo and hi inclusive.
func countBits(v []byte, lo, hi int64) int64 {
	bl, bh := lo>>3, hi>>3
	if bl == bh {
		return int64(bits.OnesCount8(v[bl] & edgeMask(lo, hi)))
	}
	n := bits.OnesCount8(v[bl]&edgeMask(lo, bl*8+7)) + bits.OnesCount8(v[bh]&edgeMask(bh*8, hi))
	mid := v[bl+1 : bh]
	for len(mid) >= 8 {
		n += bits.OnesCount64(uint64(mid[0]) | uint64(mid[1])<<8 | uint64(mid[2])<<16 | uint64(mid[3])<<24 |
			uint64(mid[4])<<32 | uint64(mid[5])<<40 | uint64(mid[6])<<48 | uint64(mid[7])<<56)
		mid = mid[8:]
	}
	for _, b := range mid {
		n += bits.OnesCount8(b)
	}
	return int64(n)
}

// edgeMask selects bits lo..hi (absolute indexes within one byte, MSB first).
func edgeMask(lo, hi int64) byte {
	return byte(0xff>>uint(lo&7)) & byte(0xff<<uint(7-hi&7))
}

func cmdBitCount(c *Ctx) {
	// Redis 7.0 looks the key up before it parses the range.
	v, ok, err := c.Tx.GetString(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	if !ok {
		c.W.Int(0)
		return
	}
	switch len(c.Args) {
	case 2:
		if len(v) == 0 {
			c.W.Int(0)
			return
		}
		c.W.Int(countBits(v, 0, int64(len(v))*8-1))
	case 4, 5:
		start, ok := c.Int(2)
		if !ok {
			return
		}
		end, ok := c.Int(3)
		if !ok {
			return
		}
		if start < 0 && end < 0 && start > end {
			c.W.Int(0)
			return
		}
		isBit := false
		if len(c.Args) == 5 {
			switch {
			case argIs(c.Args[4], "bit"):
				isBit = true
			case argIs(c.Args[4], "byte"):
			default:
				c.Error(errSyntax)
				return
			}
		}
		lo, hi, empty := bitRange(start, end, isBit, int64(len(v)))
		if empty {
			c.W.Int(0)
			return
		}
		c.W.Int(countBits(v, lo, hi))
	default:
		c.Error(errSyntax)
	}
}

func cmdBitPos(c *Ctx) {
	bit, ok := c.Int(2)
	if !ok {
		return
	}
	if bit != 0 && bit != 1 {
		c.Error("ERR The bit argument must be 1 or 0.")
		return
	}
	v, exists, err := c.Tx.GetString(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	if !exists {
		// A missing key is an endless run of zeros.
		if bit == 1 {
			c.W.Int(-1)
		} else {
			c.W.Int(0)
		}
		return
	}
	n := int64(len(v))
	var lo, hi int64
	var empty, endGiven bool
	switch len(c.Args) {
	case 3:
		lo, hi, empty = 0, n*8-1, n == 0
	case 4, 5, 6:
		start, ok := c.Int(3)
		if !ok {
			return
		}
		isBit := false
		if len(c.Args) == 6 {
			switch {
			case argIs(c.Args[5], "bit"):
				isBit = true
			case argIs(c.Args[5], "byte"):
			default:
				c.Error(errSyntax)
				return
			}
		}
		end := n - 1
		if isBit {
			end = n*8 - 1
		}
		if len(c.Args) >= 5 {
			if end, ok = c.Int(4); !ok {
				return
			}
			endGiven = true
		}
		lo, hi, empty = bitRange(start, end, isBit, n)
	default:
		c.Error(errSyntax)
		return
	}
	if empty {
		c.W.Int(-1)
		return
	}
	if pos := findBit(v, lo, hi, bit == 1); pos >= 0 {
		c.W.Int(pos)
		return
	}
	// No clear bit in range: without an explicit end the string counts as padded with
	// zeros on the right, so the answer is the first bit past the range.
	if bit == 0 && !endGiven {
		c.W.Int((hi>>3 + 1) * 8)
		return
	}
	c.W.Int(-1)
}

// findBit returns the index of the first bit equal to one between lo and hi inclusive,
// -1 when there is none.
func findBit(v []byte, lo, hi int64, one bool) int64 {
	skip := byte(0xff) // a byte that holds no match
	if one {
		skip = 0
	}
	for i := lo; i <= hi; {
		b := v[i>>3]
		if i&7 == 0 && i+7 <= hi && b == skip {
			i += 8
			continue
		}
		if (b>>(7-uint(i&7))&1 == 1) == one {
			return i
		}
		i++
	}
	return -1
}

func cmdBitOp(c *Ctx) {
	op := lower(c.Args[1])
	switch string(op) {
	case "and", "or", "xor", "not":
	default:
		c.Error(errSyntax)
		return
	}
	srcs := c.Args[3:]
	if string(op) == "not" && len(srcs) != 1 {
		c.Error("ERR BITOP NOT must be called with a single source key.")
		return
	}
	vals := make([][]byte, len(srcs))
	maxLen := 0
	for i, key := range srcs {
		v, _, err := c.Tx.GetString(c.DB, key)
		if err != nil {
			c.Fail(err)
			return
		}
		vals[i] = v
		if len(v) > maxLen {
			maxLen = len(v)
		}
	}
	var res []byte
	if maxLen > 0 {
		res = make([]byte, maxLen)
		switch string(op) {
		case "not":
			for i, b := range vals[0] {
				res[i] = ^b
			}
		case "and":
			copy(res, vals[0])
			for _, v := range vals[1:] {
				for i := range res {
					if i < len(v) {
						res[i] &= v[i]
					} else {
						res[i] = 0
					}
				}
			}
		case "or":
			for _, v := range vals {
				for i, b := range v {
					res[i] |= b
				}
			}
		case "xor":
			for _, v := range vals {
				for i, b := range v {
					res[i] ^= b
				}
			}
		}
	}
	dst, err := c.Tx.Load(c.DB, c.Args[2])
	if err != nil {
		c.Fail(err)
		return
	}
	if maxLen > 0 {
		c.Tx.Reset(dst, store.TypeString)
		dst.Meta.Value = res
		c.Tx.Save(dst)
	} else {
		c.Tx.Delete(dst)
	}
	c.W.Int(int64(maxLen))
}
