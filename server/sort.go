package server

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"sort"

	"github.com/strata-kv/strata/store"
)

// SORT and SORT_RO, as Redis 7.0 sorts: numbers by their value (ties by the elements'
// bytes), ALPHA by bytes, BY and GET patterns that read other keys or hash fields.

func sortCommands() []*Command {
	return []*Command{
		{Name: "sort", Arity: -2, Flags: FlagWrite | FlagDenyOOM, Keys: sortKeys, Handler: func(c *Ctx) { cmdSort(c, false) },
			Group: "generic", Summary: "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", Since: "1.0.0"},
		{Name: "sort_ro", Arity: -2, Flags: FlagReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { cmdSort(c, true) },
			Group: "generic", Summary: "Returns the sorted elements of a list, a set, or a sorted set.", Since: "7.0.0"},
	}
}

const errSortScore = "ERR One or more scores can't be converted into double"

// sortKeys: the sorted key and the STORE destination (the keys BY and GET read are
// only known from the data).
func sortKeys(args [][]byte) [][]byte {
	keys := [][]byte{args[1]}
	for i := 2; i+1 < len(args); i++ {
		if argIs(args[i], "store") {
			keys = append(keys, args[i+1])
		}
	}
	return keys
}

type sortOpts struct {
	by         []byte // nil: by the elements themselves
	dontSort   bool   // BY a pattern without '*'
	gets       [][]byte
	desc       bool
	alpha      bool
	limit      bool
	start, cnt int64
	store      []byte
}

func parseSortOpts(c *Ctx, readOnly bool) (sortOpts, bool) {
	var o sortOpts
	args := c.Args
	for i := 2; i < len(args); i++ {
		left := len(args) - i - 1
		switch a := args[i]; {
		case argIs(a, "asc"):
			o.desc = false
		case argIs(a, "desc"):
			o.desc = true
		case argIs(a, "alpha"):
			o.alpha = true
		case argIs(a, "limit") && left >= 2:
			start, ok1 := parseInt(args[i+1])
			cnt, ok2 := parseInt(args[i+2])
			if !ok1 || !ok2 {
				c.Error(errNotInteger)
				return o, false
			}
			o.limit, o.start, o.cnt = true, start, cnt
			i += 2
		case argIs(a, "store") && left >= 1 && !readOnly:
			o.store = args[i+1]
			i++
		case argIs(a, "by") && left >= 1:
			o.by = args[i+1]
			if bytes.IndexByte(o.by, '*') < 0 {
				o.dontSort = true // and stays so, whatever BY follows, as in Redis
			}
			i++
		case argIs(a, "get") && left >= 1:
			o.gets = append(o.gets, args[i+1])
			i++
		default:
			c.Error(errSyntax)
			return o, false
		}
	}
	return o, true
}

type sortItem struct {
	elem  []byte
	score float64
	cmp   []byte // ALPHA BY: the value compared; nil when the key is missing
}

func cmdSort(c *Ctx, readOnly bool) {
	o, ok := parseSortOpts(c, readOnly)
	if !ok {
		return
	}
	if o.by != nil || len(o.gets) > 0 {
		c.Tx.Snapshot() // other keys are read: one point in time for all of them
	}
	k, err := c.Tx.Load(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	var elems [][]byte
	switch k.Meta.Type {
	case store.TypeNone:
	case store.TypeList:
		elems, _, err = c.Tx.ListRange(c.DB, c.Args[1], 0, -1)
		if o.dontSort && o.desc {
			slices.Reverse(elems)
		}
	case store.TypeSet:
		elems, err = c.Tx.SMembers(c.DB, c.Args[1])
		if o.dontSort && o.store != nil {
			// An unsorted set would store in no particular order; Redis sorts it then.
			o.dontSort, o.alpha = false, true
			o.by = nil
		}
	case store.TypeZSet:
		var z *store.ZSet
		if z, err = c.Tx.LoadZSet(c.DB, c.Args[1]); err == nil {
			var ms []store.ScoredMember
			ms, err = z.Members()
			for _, m := range ms {
				elems = append(elems, m.Member)
			}
			if o.dontSort && o.desc {
				slices.Reverse(elems)
			}
		}
	default:
		err = store.ErrWrongType
	}
	if err != nil {
		c.Fail(err)
		return
	}

	items := make([]sortItem, len(elems))
	for i, e := range elems {
		items[i].elem = e
	}
	if !o.dontSort {
		for i := range items {
			it := &items[i]
			val := it.elem
			if o.by != nil {
				v, found, err := sortLookup(c, o.by, it.elem)
				if err != nil {
					c.Fail(err)
					return
				}
				if !found {
					continue
				}
				val = v
			}
			if o.alpha {
				if o.by != nil {
					it.cmp = val
				}
				continue
			}
			f, ok := sortScore(val)
			if !ok {
				c.Error(errSortScore)
				return
			}
			it.score = f
		}
		sort.SliceStable(items, func(i, j int) bool {
			cmp := sortCompare(&items[i], &items[j], o)
			if o.desc {
				cmp = -cmp
			}
			return cmp < 0
		})
	}

	start, end := sortWindow(o, int64(len(items)))
	var out [][]byte
	var missing []bool
	for i := start; i <= end; i++ {
		it := &items[i]
		if len(o.gets) == 0 {
			out = append(out, it.elem)
			missing = append(missing, false)
			continue
		}
		for _, g := range o.gets {
			v, found, err := sortLookup(c, g, it.elem)
			if err != nil {
				c.Fail(err)
				return
			}
			out = append(out, v)
			missing = append(missing, !found)
		}
	}
	if o.store != nil {
		sortStore(c, o.store, out)
		return
	}
	c.W.Array(len(out))
	for i, v := range out {
		if missing[i] {
			c.W.Null()
		} else {
			c.W.Bulk(v)
		}
	}
}

// sortWindow applies LIMIT as Redis clamps it; end < start means nothing.
func sortWindow(o sortOpts, n int64) (start, end int64) {
	start, end = 0, n-1
	if !o.limit {
		return start, end
	}
	start = min(max(o.start, 0), n)
	cnt := min(max(o.cnt, -1), n)
	if cnt < 0 {
		end = n - 1
	} else {
		end = start + cnt - 1
	}
	if start >= n {
		start, end = n-1, n-2
	}
	return start, min(end, n-1)
}

func sortCompare(a, b *sortItem, o sortOpts) int {
	switch {
	case !o.alpha:
		switch {
		case a.score > b.score:
			return 1
		case a.score < b.score:
			return -1
		}
		return bytes.Compare(a.elem, b.elem)
	case o.by != nil:
		switch {
		case a.cmp == nil && b.cmp == nil:
			return 0
		case a.cmp == nil:
			return -1
		case b.cmp == nil:
			return 1
		}
		return collate(a.cmp, b.cmp, o.store != nil)
	}
	return collate(a.elem, b.elem, o.store != nil)
}

// collate compares as Redis does under the C locale: strcoll, which stops at the
// first NUL byte, except when storing, where whole strings are compared.
func collate(a, b []byte, whole bool) int {
	if !whole {
		if i := bytes.IndexByte(a, 0); i >= 0 {
			a = a[:i]
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
	}
	return bytes.Compare(a, b)
}

// sortScore converts a weight as Redis's SORT does with strtod: leading white space
// and an empty string (0) are accepted, trailing bytes, NaN and out-of-range values
// are not.
func sortScore(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	s := bytes.TrimLeft(b, " \t\n\v\f\r")
	if len(s) == 0 {
		return 0, false
	}
	if digits := bytes.TrimLeft(s, "+-"); len(digits) > 2 && digits[0] == '0' && (digits[1]|0x20) == 'x' &&
		!bytes.ContainsAny(digits, "pP") {
		s = append(bytes.Clone(s), "p0"...) // strtod reads hex without an exponent, ParseFloat does not
	}
	f, ok := parseFloat(s)
	if !ok {
		return 0, false
	}
	if f != 0 && math.Abs(f) < 0x1p-1022 || f == 0 && nonZeroMantissa(s) {
		return 0, false // strtod reports an underflow
	}
	return f, true
}

// nonZeroMantissa reports whether a number's digits before its exponent are not all
// zeros: one that still reads as 0 underflowed.
func nonZeroMantissa(s []byte) bool {
	s = bytes.TrimLeft(s, "+-")
	hex := len(s) > 1 && s[0] == '0' && s[1]|0x20 == 'x'
	if hex {
		s = s[2:]
	}
	for _, ch := range s {
		switch {
		case ch == '0' || ch == '.':
		case hex && ch|0x20 == 'p', !hex && ch|0x20 == 'e':
			return false
		default:
			return true
		}
	}
	return false
}

// sortLookup resolves a BY or GET pattern for element e: "#" is e itself; the first
// '*' is replaced by e, and "->field" after it names a hash field. A missing key, a
// key of another type or a pattern without '*' finds nothing.
func sortLookup(c *Ctx, pattern, e []byte) ([]byte, bool, error) {
	if len(pattern) == 1 && pattern[0] == '#' {
		return e, true, nil
	}
	star := bytes.IndexByte(pattern, '*')
	if star < 0 {
		return nil, false, nil
	}
	var field []byte
	rest := pattern[star+1:]
	if arrow := bytes.Index(rest, []byte("->")); arrow >= 0 && arrow+2 < len(rest) {
		field = rest[arrow+2:]
		rest = rest[:arrow]
	}
	name := make([]byte, 0, len(pattern)+len(e))
	name = append(append(append(name, pattern[:star]...), e...), rest...)
	var v []byte
	var found bool
	var err error
	if field == nil {
		v, found, err = c.Tx.GetString(c.DB, name)
	} else {
		v, found, err = c.Tx.HGet(c.DB, name, field)
	}
	if errors.Is(err, store.ErrWrongType) {
		return nil, false, nil
	}
	return v, found, err
}

// sortStore replaces dst with a list of the results (a missing GET value stores as an
// empty string) and answers with its length; no results deletes dst.
func sortStore(c *Ctx, dst []byte, vals [][]byte) {
	k, err := c.Tx.Load(c.DB, dst)
	if err != nil {
		c.Fail(err)
		return
	}
	c.Tx.Delete(k)
	if len(vals) > 0 {
		for i, v := range vals {
			if v == nil {
				vals[i] = []byte{}
			}
		}
		if _, err := c.Tx.ListPush(c.DB, dst, false, false, vals...); err != nil {
			c.Fail(err)
			return
		}
	}
	c.W.Int(int64(len(vals)))
}
