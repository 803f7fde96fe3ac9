package server

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/strata-kv/strata/store"
)

func listCommands() []*Command {
	w, r := FlagWrite|FlagDenyOOM, FlagReadOnly
	b := FlagWrite | FlagBlocking | FlagNoScript
	return []*Command{
		{Name: "lpush", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { listPush(c, true, false) }, Group: "list", Summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.", Since: "1.0.0"},
		{Name: "rpush", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { listPush(c, false, false) }, Group: "list", Summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.", Since: "1.0.0"},
		{Name: "lpushx", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { listPush(c, true, true) }, Group: "list", Summary: "Prepends one or more elements to a list only when the list exists.", Since: "2.2.0"},
		{Name: "rpushx", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { listPush(c, false, true) }, Group: "list", Summary: "Appends an element to a list only when the list exists.", Since: "2.2.0"},
		{Name: "lpop", Arity: -2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { listPop(c, true) }, Group: "list", Summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", Since: "1.0.0"},
		{Name: "rpop", Arity: -2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { listPop(c, false) }, Group: "list", Summary: "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", Since: "1.0.0"},
		{Name: "llen", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdLLen, Group: "list", Summary: "Returns the length of a list.", Since: "1.0.0"},
		{Name: "lrange", Arity: 4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdLRange, Group: "list", Summary: "Returns a range of elements from a list.", Since: "1.0.0"},
		{Name: "lindex", Arity: 3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdLIndex, Group: "list", Summary: "Returns an element from a list by its index.", Since: "1.0.0"},
		{Name: "lset", Arity: 4, Flags: w, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdLSet, Group: "list", Summary: "Sets the value of an element in a list by its index.", Since: "1.0.0"},
		{Name: "linsert", Arity: 5, Flags: w, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdLInsert, Group: "list", Summary: "Inserts an element before or after another element in a list.", Since: "2.2.0"},
		{Name: "lrem", Arity: 4, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdLRem, Group: "list", Summary: "Removes elements from a list. Deletes the list if the last element was removed.", Since: "1.0.0"},
		{Name: "ltrim", Arity: 4, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdLTrim, Group: "list", Summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", Since: "1.0.0"},
		{Name: "rpoplpush", Arity: 3, Flags: w, FirstKey: 1, LastKey: 2, Step: 1, Handler: cmdRPopLPush, Group: "list", Summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", Since: "1.2.0"},
		{Name: "lmove", Arity: 5, Flags: w, FirstKey: 1, LastKey: 2, Step: 1, Handler: cmdLMove, Group: "list", Summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", Since: "6.2.0"},
		{Name: "lpos", Arity: -3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdLPos, Group: "list", Summary: "Returns the index of matching elements in a list.", Since: "6.0.6"},
		{Name: "lmpop", Arity: -4, Flags: FlagWrite, Keys: listMPopKeys(1), Handler: func(c *Ctx) { listMPop(c, 1, false) }, Group: "list", Summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", Since: "7.0.0"},
		{Name: "blpop", Arity: -3, Flags: b, FirstKey: 1, LastKey: -2, Step: 1, Handler: func(c *Ctx) { listBPop(c, true) }, Group: "list", Summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.0.0"},
		{Name: "brpop", Arity: -3, Flags: b, FirstKey: 1, LastKey: -2, Step: 1, Handler: func(c *Ctx) { listBPop(c, false) }, Group: "list", Summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.0.0"},
		{Name: "blmove", Arity: 6, Flags: b | FlagDenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Handler: cmdBLMove, Group: "list", Summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", Since: "6.2.0"},
		{Name: "brpoplpush", Arity: 4, Flags: b | FlagDenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Handler: cmdBRPopLPush, Group: "list", Summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.2.0"},
		{Name: "blmpop", Arity: -5, Flags: FlagWrite | FlagBlocking, Keys: listMPopKeys(2), Handler: func(c *Ctx) { listMPop(c, 2, true) }, Group: "list", Summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "7.0.0"},
	}
}

const (
	errListTimeout    = "ERR timeout is not a float or out of range"
	errListTimeoutNeg = "ERR timeout is negative"
	errListPositive   = "ERR value is out of range, must be positive"
	errListNumKeys    = "ERR numkeys should be greater than 0"
	errListCount      = "ERR count should be greater than 0"
)

func listPush(c *Ctx, left, onlyExisting bool) {
	n, err := c.Tx.ListPush(c.DB, c.Args[1], left, onlyExisting, c.Args[2:]...)
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

// listPop is LPOP / RPOP key [count].
func listPop(c *Ctx, left bool) {
	if len(c.Args) > 3 {
		c.WrongArgs(c.Cmd.Name)
		return
	}
	withCount := len(c.Args) == 3
	count := int64(1)
	if withCount {
		n, ok := parseInt(c.Args[2])
		if !ok || n < 0 {
			c.Error(errListPositive)
			return
		}
		count = n
	}
	vals, exists, err := c.Tx.ListPop(c.DB, c.Args[1], left, count)
	switch {
	case err != nil:
		c.Fail(err)
	case !exists && withCount:
		c.W.NullArray()
	case !exists:
		c.W.Null()
	case withCount:
		c.W.Bulks(vals)
	default:
		c.W.Bulk(vals[0])
	}
}

func cmdLLen(c *Ctx) {
	n, err := c.Tx.ListLen(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	c.hitOrMiss(n > 0)
	c.W.Int(n)
}

func cmdLRange(c *Ctx) {
	start, ok := c.Int(2)
	if !ok {
		return
	}
	stop, ok := c.Int(3)
	if !ok {
		return
	}
	vals, exists, err := c.Tx.ListRange(c.DB, c.Args[1], start, stop)
	if err != nil {
		c.Fail(err)
		return
	}
	c.hitOrMiss(exists)
	c.W.Bulks(vals)
}

// listIndexArg parses the index of LINDEX / LSET. Redis looks the key up first, so a
// bad index on a missing key (or a key of another type) answers like the key does:
// missing reports false with nothing written, so the caller replies for the key.
func listIndexArg(c *Ctx) (idx int64, ok, missing bool) {
	idx, ok = parseInt(c.Args[2])
	if ok {
		return idx, true, false
	}
	n, err := c.Tx.ListLen(c.DB, c.Args[1])
	switch {
	case err != nil:
		c.Fail(err)
	case n == 0:
		return 0, false, true
	default:
		c.Error(errNotInteger)
	}
	return 0, false, false
}

func cmdLIndex(c *Ctx) {
	idx, ok, missing := listIndexArg(c)
	if missing {
		c.hitOrMiss(false)
		c.W.Null()
		return
	}
	if !ok {
		return
	}
	v, exists, err := c.Tx.ListIndex(c.DB, c.Args[1], idx)
	if err != nil {
		c.Fail(err)
		return
	}
	c.hitOrMiss(exists)
	if v == nil {
		c.W.Null()
		return
	}
	c.W.Bulk(v)
}

func cmdLSet(c *Ctx) {
	idx, ok, missing := listIndexArg(c)
	if missing {
		c.Error(errNoSuchKey)
		return
	}
	if !ok {
		return
	}
	if err := c.Tx.ListSet(c.DB, c.Args[1], idx, c.Args[3]); err != nil {
		c.Fail(err)
		return
	}
	c.W.OK()
}

func cmdLInsert(c *Ctx) {
	var after bool
	switch {
	case argIs(c.Args[2], "after"):
		after = true
	case argIs(c.Args[2], "before"):
	default:
		c.Error(errSyntax)
		return
	}
	n, err := c.Tx.ListInsert(c.DB, c.Args[1], after, c.Args[3], c.Args[4])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

func cmdLRem(c *Ctx) {
	count, ok := c.Int(2)
	if !ok {
		return
	}
	n, err := c.Tx.ListRem(c.DB, c.Args[1], count, c.Args[3])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

func cmdLTrim(c *Ctx) {
	start, ok := c.Int(2)
	if !ok {
		return
	}
	stop, ok := c.Int(3)
	if !ok {
		return
	}
	if err := c.Tx.ListTrim(c.DB, c.Args[1], start, stop); err != nil {
		c.Fail(err)
		return
	}
	c.W.OK()
}

// listEnd parses LEFT / RIGHT.
func listEnd(c *Ctx, arg []byte) (left, ok bool) {
	switch {
	case argIs(arg, "left"):
		return true, true
	case argIs(arg, "right"):
		return false, true
	}
	c.Error(errSyntax)
	return false, false
}

// listMove runs LMOVE on tx and replies; it reports whether an element was moved or an
// error replied (false: the source is empty and nothing was written).
func listMove(c *Ctx, tx *store.Tx, srcLeft, dstLeft bool) bool {
	v, ok, err := tx.ListMove(c.DB, c.Args[1], c.Args[2], srcLeft, dstLeft)
	switch {
	case err != nil:
		c.Fail(err)
	case ok:
		c.W.Bulk(v)
	default:
		return false
	}
	return true
}

func cmdRPopLPush(c *Ctx) {
	if !listMove(c, c.Tx, false, true) {
		c.W.Null()
	}
}

func cmdLMove(c *Ctx) {
	srcLeft, ok := listEnd(c, c.Args[3])
	if !ok {
		return
	}
	dstLeft, ok := listEnd(c, c.Args[4])
	if !ok {
		return
	}
	if !listMove(c, c.Tx, srcLeft, dstLeft) {
		c.W.Null()
	}
}

// cmdLPos is LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
func cmdLPos(c *Ctx) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(c.Args); j++ {
		opt := c.Args[j]
		more := j+1 < len(c.Args)
		switch {
		case argIs(opt, "rank") && more:
			j++
			n, ok := c.Int(j)
			if !ok {
				return
			}
			if n == 0 {
				c.Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
			rank = n
		case argIs(opt, "count") && more:
			j++
			n, ok := parseInt(c.Args[j])
			if !ok || n < 0 {
				c.Error("ERR COUNT can't be negative")
				return
			}
			count = n
		case argIs(opt, "maxlen") && more:
			j++
			n, ok := parseInt(c.Args[j])
			if !ok || n < 0 {
				c.Error("ERR MAXLEN can't be negative")
				return
			}
			maxlen = n
		default:
			c.Error(errSyntax)
			return
		}
	}
	limit := count
	if count == -1 {
		limit = 1
	}
	pos, exists, err := c.Tx.ListPos(c.DB, c.Args[1], c.Args[2], rank, limit, maxlen)
	if err != nil {
		c.Fail(err)
		return
	}
	c.hitOrMiss(exists)
	if count != -1 {
		c.W.Array(len(pos))
		for _, p := range pos {
			c.W.Int(p)
		}
		return
	}
	if len(pos) == 0 {
		c.W.Null()
		return
	}
	c.W.Int(pos[0])
}

// blockTimeout parses the timeout of every blocking command (BLPOP, BZPOPMIN, ...) in
// seconds the way Redis 7.0 does: a long
// double, times 1000, rounded up to whole milliseconds. 0 means forever. A value too
// large for a long long converts to LLONG_MIN there, hence "negative".
func blockTimeout(c *Ctx, arg []byte) (time.Duration, bool) {
	f, ok := listParseLongDouble(arg)
	if !ok {
		c.Error(errListTimeout)
		return 0, false
	}
	ms := math.Ceil(f * 1000)
	if ms < 0 || ms >= math.MaxInt64 || math.IsInf(ms, 0) {
		c.Error(errListTimeoutNeg)
		return 0, false
	}
	if ms == 0 {
		if f > 0 {
			ms = 1 // a positive value too small for a double is still at least 1ms
		} else {
			return 0, true
		}
	}
	if ms > float64(math.MaxInt64/int64(time.Millisecond)) {
		return 0, true // beyond what time.Duration holds: as good as forever
	}
	return time.Duration(ms) * time.Millisecond, true
}

// listParseLongDouble accepts what Redis's getLongDoubleFromObject accepts (strtold:
// decimal or hex, inf; no leading space, nothing trailing, no NaN). A positive value
// too small for a float64 comes back as the smallest positive float64.
func listParseLongDouble(arg []byte) (float64, bool) {
	if len(arg) == 0 || len(arg) > 5*1024 {
		return 0, false
	}
	switch arg[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return 0, false
	}
	s := string(arg)
	body := strings.TrimLeft(s, "+-")
	if len(body) > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') && !strings.ContainsAny(body, "pP") {
		s += "p0" // strtold takes hex without a binary exponent; Go needs one
	}
	if strings.Contains(s, "_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return 0, false
		}
		// Out of a double's range but inside a long double's: huge stays ±Inf (and
		// overflows the millisecond conversion as in Redis).
	}
	if math.IsNaN(f) {
		return 0, false
	}
	if f == 0 && strings.IndexAny(listMantissa(body), "123456789abcdefABCDEF") >= 0 {
		if s[0] == '-' {
			return math.Copysign(0, -1), true
		}
		return math.SmallestNonzeroFloat64, true
	}
	return f, true
}

// listMantissa is the digits of a number before its exponent.
func listMantissa(body string) string {
	hex := len(body) > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	if hex {
		body = body[2:]
		if i := strings.IndexAny(body, "pP"); i >= 0 {
			return body[:i]
		}
		return body
	}
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		return body[:i]
	}
	return body
}

// listBlockNull replies to a blocking list command that served nothing: a null array
// on timeout, as Redis does; inside MULTI, BLMOVE and BRPOPLPUSH answer a null bulk.
func listBlockNull(c *Ctx, bulk bool) {
	if bulk && c.InExec {
		c.W.Null()
		return
	}
	c.W.NullArray()
}

// listDedup drops repeated keys, so a waiter registers each key once.
func listDedup(keys [][]byte) [][]byte {
	out := make([][]byte, 0, len(keys))
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[string(k)]; dup {
			continue
		}
		seen[string(k)] = struct{}{}
		out = append(out, k)
	}
	return out
}

// listPopFirst pops up to count elements from the first non-empty list among keys and
// replies with reply; a key of another type met before it is an error. It reports
// whether it replied.
func listPopFirst(c *Ctx, tx *store.Tx, keys [][]byte, left bool, count int64, reply func(key []byte, vals [][]byte)) bool {
	for _, key := range keys {
		vals, exists, err := tx.ListPop(c.DB, key, left, count)
		if err != nil {
			if c.blockedRetry && errors.Is(err, store.ErrWrongType) {
				continue // a blocked client waits for a list, as in Redis
			}
			c.Fail(err)
			return true
		}
		if exists && len(vals) > 0 {
			reply(key, vals)
			return true
		}
	}
	return false
}

// listBPop is BLPOP / BRPOP key [key ...] timeout.
func listBPop(c *Ctx, left bool) {
	timeout, ok := blockTimeout(c, c.Args[len(c.Args)-1])
	if !ok {
		return
	}
	keys := c.Args[1 : len(c.Args)-1]
	err := c.block(listDedup(keys), timeout, func(tx *store.Tx) bool {
		return listPopFirst(c, tx, keys, left, 1, func(key []byte, vals [][]byte) {
			c.W.Array(2)
			c.W.Bulk(key)
			c.W.Bulk(vals[0])
		})
	})
	if errors.Is(err, errBlockTimeout) {
		listBlockNull(c, false)
	}
}

func listBMove(c *Ctx, srcLeft, dstLeft bool, timeoutArg []byte) {
	timeout, ok := blockTimeout(c, timeoutArg)
	if !ok {
		return
	}
	err := c.block(listDedup(c.Args[1:3]), timeout, func(tx *store.Tx) bool {
		if c.blockedRetry {
			// A blocked client waits for a list at the source, as in Redis: another
			// type there is not an error, only not a list yet.
			k, err := tx.Load(c.DB, c.Args[1])
			if err != nil {
				c.Fail(err)
				return true
			}
			if k.Exists() && k.Meta.Type != store.TypeList {
				return false
			}
		}
		return listMove(c, tx, srcLeft, dstLeft)
	})
	if errors.Is(err, errBlockTimeout) {
		listBlockNull(c, true)
	}
}

func cmdBLMove(c *Ctx) {
	srcLeft, ok := listEnd(c, c.Args[3])
	if !ok {
		return
	}
	dstLeft, ok := listEnd(c, c.Args[4])
	if !ok {
		return
	}
	listBMove(c, srcLeft, dstLeft, c.Args[5])
}

func cmdBRPopLPush(c *Ctx) { listBMove(c, false, true, c.Args[3]) }

// listMPopKeys finds the keys of LMPOP (numkeys at position 1) and BLMPOP (position 2).
func listMPopKeys(numIdx int) func(args [][]byte) [][]byte {
	return func(args [][]byte) [][]byte {
		if numIdx >= len(args) {
			return nil
		}
		n, ok := parseInt(args[numIdx])
		if !ok || n < 1 || n > int64(len(args)-numIdx-1) {
			return nil
		}
		return args[numIdx+1 : numIdx+1+int(n)]
	}
}

// listMPop is LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] and BLMPOP timeout
// numkeys ...; numIdx is the position of numkeys.
func listMPop(c *Ctx, numIdx int, blocking bool) {
	n, ok := parseInt(c.Args[numIdx])
	if !ok || n < 1 {
		c.Error(errListNumKeys)
		return
	}
	if n >= int64(len(c.Args)-numIdx-1) {
		c.Error(errSyntax)
		return
	}
	whereIdx := numIdx + int(n) + 1
	left, ok := listEnd(c, c.Args[whereIdx])
	if !ok {
		return
	}
	count := int64(-1)
	for j := whereIdx + 1; j < len(c.Args); j++ {
		if count == -1 && argIs(c.Args[j], "count") && j+1 < len(c.Args) {
			j++
			v, ok := parseInt(c.Args[j])
			if !ok || v < 1 {
				c.Error(errListCount)
				return
			}
			count = v
			continue
		}
		c.Error(errSyntax)
		return
	}
	if count == -1 {
		count = 1
	}
	keys := c.Args[numIdx+1 : whereIdx]
	reply := func(key []byte, vals [][]byte) {
		c.W.Array(2)
		c.W.Bulk(key)
		c.W.Bulks(vals)
	}
	if !blocking {
		if !listPopFirst(c, c.Tx, keys, left, count, reply) {
			c.W.NullArray()
		}
		return
	}
	timeout, ok := blockTimeout(c, c.Args[1])
	if !ok {
		return
	}
	err := c.block(listDedup(keys), timeout, func(tx *store.Tx) bool {
		return listPopFirst(c, tx, keys, left, count, reply)
	})
	if errors.Is(err, errBlockTimeout) {
		listBlockNull(c, false)
	}
}
