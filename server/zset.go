package server

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/strata-kv/strata/store"
)

// Sorted-set commands. The store side (encoding, rank walks, lex ranges) is described
// in store/zset.go; this file parses arguments exactly as Redis 7 does and renders
// replies with the RESP3 types Redis uses (doubles for scores, [member, score] pairs).
// Ranges live in zset_range.go, ZUNION/ZINTER/ZDIFF in zset_store.go.

func zsetCommands() []*Command {
	w, r := FlagWrite|FlagDenyOOM, FlagReadOnly
	g := "sorted-set"
	one := func(name string, arity int, flags Flag, h func(*Ctx), summary, since string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1,
			Handler: h, Group: g, Summary: summary, Since: since}
	}
	cmds := []*Command{
		one("zadd", -4, w|FlagFast, cmdZAdd, "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "1.2.0"),
		one("zincrby", 4, w|FlagFast, cmdZIncrBy, "Increments the score of a member in a sorted set.", "1.2.0"),
		one("zrem", -3, FlagWrite|FlagFast, cmdZRem, "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "1.2.0"),
		one("zcard", 2, r|FlagFast, cmdZCard, "Returns the number of members in a sorted set.", "1.2.0"),
		one("zscore", 3, r|FlagFast, cmdZScore, "Returns the score of a member in a sorted set.", "1.2.0"),
		one("zmscore", -3, r|FlagFast, cmdZMScore, "Returns the score of one or more members in a sorted set.", "6.2.0"),
		one("zrank", 3, r|FlagFast, func(c *Ctx) { zrank(c, false) }, "Returns the index of a member in a sorted set ordered by ascending scores.", "2.0.0"),
		one("zrevrank", 3, r|FlagFast, func(c *Ctx) { zrank(c, true) }, "Returns the index of a member in a sorted set ordered by descending scores.", "2.0.0"),
		one("zcount", 4, r|FlagFast, cmdZCount, "Returns the count of members in a sorted set that have scores within a range.", "2.0.0"),
		one("zlexcount", 4, r|FlagFast, cmdZLexCount, "Returns the number of members in a sorted set within a lexicographical range.", "2.8.9"),
		one("zpopmin", -2, FlagWrite|FlagFast, func(c *Ctx) { zpop(c, false) }, "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "5.0.0"),
		one("zpopmax", -2, FlagWrite|FlagFast, func(c *Ctx) { zpop(c, true) }, "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "5.0.0"),
		{Name: "bzpopmin", Arity: -3, Flags: FlagWrite | FlagBlocking | FlagFast | FlagNoScript, FirstKey: 1, LastKey: -2, Step: 1,
			Handler: func(c *Ctx) { bzpop(c, false) }, Group: g, Since: "5.0.0",
			Summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."},
		{Name: "bzpopmax", Arity: -3, Flags: FlagWrite | FlagBlocking | FlagFast | FlagNoScript, FirstKey: 1, LastKey: -2, Step: 1,
			Handler: func(c *Ctx) { bzpop(c, true) }, Group: g, Since: "5.0.0",
			Summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped."},
		{Name: "zmpop", Arity: -4, Flags: FlagWrite, Keys: zNumKeys(1, false), Handler: func(c *Ctx) { zmpop(c, 1, false) },
			Group: g, Since: "7.0.0", Summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped."},
		{Name: "bzmpop", Arity: -5, Flags: FlagWrite | FlagBlocking, Keys: zNumKeys(2, false), Handler: func(c *Ctx) { zmpop(c, 2, true) },
			Group: g, Since: "7.0.0", Summary: "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."},
		one("zrandmember", -2, r, cmdZRandMember, "Returns one or more random members from a sorted set.", "6.2.0"),
		one("zscan", -3, r, cmdZScan, "Iterates over members and scores of a sorted set.", "2.8.0"),
	}
	cmds = append(cmds, zsetRangeCommands()...)
	return append(cmds, zsetStoreCommands()...)
}

// numKeysAt returns a Keys func for "... numkeys key [key ...] ..." commands whose
// numkeys is argument i; withDst adds argument 1 (the destination) in front. It returns
// nil when numkeys is malformed; the handler reports that.
func zNumKeys(i int, withDst bool) func(args [][]byte) [][]byte {
	return func(args [][]byte) [][]byte {
		if i >= len(args) {
			return nil
		}
		n, ok := parseInt(args[i])
		if !ok || n < 1 || n > int64(len(args)-i-1) {
			return nil
		}
		keys := make([][]byte, 0, n+1)
		if withDst {
			keys = append(keys, args[1])
		}
		return append(keys, args[i+1:i+1+int(n)]...)
	}
}

const (
	errZNaN      = "ERR resulting score is not a number (NaN)"
	errZMinMax   = "ERR min or max is not a float"
	errZLexRange = "ERR min or max not valid string range item"
	errZPositive = "ERR value is out of range, must be positive"
)

// zfail replies with the Redis text for a store error.
func zfail(c *Ctx, err error) {
	if errors.Is(err, store.ErrScoreNaN) {
		c.Error(errZNaN)
		return
	}
	c.Fail(err)
}

// loadZSet loads the command's sorted set, replying on failure.
func loadZSet(c *Ctx, key []byte) (*store.ZSet, bool) {
	z, err := c.Tx.LoadZSet(c.DB, key)
	if err != nil {
		zfail(c, err)
		return nil, false
	}
	return z, true
}

// writeScored replies with elements: members only, or with WITHSCORES a flat
// member/score array in RESP2 and an array of [member, score] pairs in RESP3.
func zWriteScored(c *Ctx, items []store.ScoredMember, withScores bool) {
	if !withScores {
		c.W.Array(len(items))
		for _, e := range items {
			c.W.Bulk(e.Member)
		}
		return
	}
	if c.W.Proto() >= 3 {
		zWritePairs(c, items)
		return
	}
	c.W.Array(2 * len(items))
	for _, e := range items {
		c.W.Bulk(e.Member)
		c.W.Double(e.Score)
	}
}

// writePairs replies with an array of [member, score] pairs in both protocols.
func zWritePairs(c *Ctx, items []store.ScoredMember) {
	c.W.Array(len(items))
	for _, e := range items {
		c.W.Array(2)
		c.W.Bulk(e.Member)
		c.W.Double(e.Score)
	}
}

func zIsSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

// zParseDouble parses the whole argument as C's strtod does (decimal or hex, inf,
// infinity; never NaN). Strict (scores, increments, weights, timeouts) refuses
// leading white space, the empty string and out-of-range values, as Redis's
// getDoubleFromObject does; lenient (range bounds, parsed with bare strtod) accepts
// leading white space, reads "" as 0 and saturates out-of-range values.
func zParseDouble(b []byte, lenient bool) (float64, bool) {
	s := string(b)
	if lenient {
		s = strings.TrimLeft(s, " \t\n\v\f\r")
		if s == "" {
			return 0, true
		}
	} else if s == "" || len(s) > 5000 || zIsSpace(s[0]) {
		return 0, false
	}
	body := s
	neg := false
	if body[0] == '+' || body[0] == '-' {
		neg = body[0] == '-'
		body = body[1:]
	}
	if l := strings.ToLower(body); l == "inf" || l == "infinity" {
		if neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	hex := len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	digit := func(ch byte) bool { return '0' <= ch && ch <= '9' }
	if hex {
		digit = func(ch byte) bool {
			return '0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F'
		}
		body = body[2:]
	}
	// mantissa: digits [. digits], at least one digit
	i, nd, nonzero := 0, 0, false
	for ; i < len(body) && digit(body[i]); i++ {
		nd++
		nonzero = nonzero || body[i] != '0'
	}
	if i < len(body) && body[i] == '.' {
		for i++; i < len(body) && digit(body[i]); i++ {
			nd++
			nonzero = nonzero || body[i] != '0'
		}
	}
	if nd == 0 {
		return 0, false
	}
	hasExp := false
	if i < len(body) && (!hex && (body[i] == 'e' || body[i] == 'E') || hex && (body[i] == 'p' || body[i] == 'P')) {
		j := i + 1
		if j < len(body) && (body[j] == '+' || body[j] == '-') {
			j++
		}
		k := j
		for k < len(body) && '0' <= body[k] && body[k] <= '9' {
			k++
		}
		if k == j {
			return 0, false
		}
		i, hasExp = k, true
	}
	if i != len(body) {
		return 0, false
	}
	if hex && !hasExp {
		s += "p0"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if !lenient || !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	if f == 0 && nonzero && !lenient {
		return 0, false // underflow: strtod reports ERANGE
	}
	if math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// parseScoreBound parses a ZRANGEBYSCORE-style bound: a float, '(' for exclusive.
func parseScoreBound(b []byte) (store.ScoreBound, bool) {
	var sb store.ScoreBound
	if len(b) > 0 && b[0] == '(' {
		sb.Excl = true
		b = b[1:]
	}
	v, ok := zParseDouble(b, true)
	sb.Value = v
	return sb, ok
}

func parseScoreRange(min, max []byte) (store.ScoreRange, bool) {
	lo, ok1 := parseScoreBound(min)
	hi, ok2 := parseScoreBound(max)
	return store.ScoreRange{Min: lo, Max: hi}, ok1 && ok2
}

// parseLexBound parses a ZRANGEBYLEX-style bound: '-', '+', '[member' or '(member'.
func parseLexBound(b []byte) (store.LexBound, bool) {
	if len(b) == 0 {
		return store.LexBound{}, false
	}
	switch b[0] {
	case '+':
		return store.LexBound{Inf: 1}, len(b) == 1
	case '-':
		return store.LexBound{Inf: -1}, len(b) == 1
	case '(':
		return store.LexBound{Value: b[1:], Excl: true}, true
	case '[':
		return store.LexBound{Value: b[1:]}, true
	}
	return store.LexBound{}, false
}

func parseLexRange(min, max []byte) (store.LexRange, bool) {
	lo, ok1 := parseLexBound(min)
	hi, ok2 := parseLexBound(max)
	return store.LexRange{Min: lo, Max: hi}, ok1 && ok2
}

// zaddArgs parses ZADD's (and ZINCRBY's) options and score/member pairs.
func zaddArgs(c *Ctx, o store.ZAddOptions) (store.ZAddOptions, []store.ScoredMember, bool) {
	i := 2
loop:
	for ; i < len(c.Args); i++ {
		a := c.Args[i]
		switch {
		case argIs(a, "nx"):
			o.NX = true
		case argIs(a, "xx"):
			o.XX = true
		case argIs(a, "ch"):
			o.CH = true
		case argIs(a, "incr"):
			o.Incr = true
		case argIs(a, "gt"):
			o.GT = true
		case argIs(a, "lt"):
			o.LT = true
		default:
			break loop
		}
	}
	n := len(c.Args) - i
	switch {
	case n == 0 || n%2 != 0:
		c.Error(errSyntax)
		return o, nil, false
	case o.NX && o.XX:
		c.Error("ERR XX and NX options at the same time are not compatible")
		return o, nil, false
	case (o.GT && o.NX) || (o.LT && o.NX) || (o.GT && o.LT):
		c.Error("ERR GT, LT, and/or NX options at the same time are not compatible")
		return o, nil, false
	case o.Incr && n > 2:
		c.Error("ERR INCR option supports a single increment-element pair")
		return o, nil, false
	}
	pairs := make([]store.ScoredMember, 0, n/2)
	for ; i < len(c.Args); i += 2 {
		s, ok := zParseDouble(c.Args[i], false)
		if !ok {
			c.Error(errNotFloat)
			return o, nil, false
		}
		pairs = append(pairs, store.ScoredMember{Member: c.Args[i+1], Score: s})
	}
	return o, pairs, true
}

func zadd(c *Ctx, o store.ZAddOptions) {
	o, pairs, ok := zaddArgs(c, o)
	if !ok {
		return
	}
	r, err := c.Tx.ZAdd(c.DB, c.Args[1], o, pairs)
	if err != nil {
		zfail(c, err)
		return
	}
	switch {
	case o.Incr && r.Applied:
		c.W.Double(r.Score)
	case o.Incr:
		c.W.Null()
	case o.CH:
		c.W.Int(r.Added + r.Updated)
	default:
		c.W.Int(r.Added)
	}
}

func cmdZAdd(c *Ctx)    { zadd(c, store.ZAddOptions{}) }
func cmdZIncrBy(c *Ctx) { zadd(c, store.ZAddOptions{Incr: true}) }

func cmdZRem(c *Ctx) {
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	var n int64
	for _, m := range c.Args[2:] {
		if !z.Exists() {
			break
		}
		removed, err := z.Remove(m)
		if err != nil {
			zfail(c, err)
			return
		}
		if removed {
			n++
		}
	}
	if n > 0 {
		z.Save()
	}
	c.W.Int(n)
}

func cmdZCard(c *Ctx) {
	if z, ok := loadZSet(c, c.Args[1]); ok {
		c.W.Int(z.Card())
	}
}

func cmdZScore(c *Ctx) {
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	c.hitOrMiss(z.Exists())
	s, found, err := z.Score(c.Args[2])
	switch {
	case err != nil:
		zfail(c, err)
	case !found:
		c.W.Null()
	default:
		c.W.Double(s)
	}
}

func cmdZMScore(c *Ctx) {
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	c.hitOrMiss(z.Exists())
	scores := make([]float64, len(c.Args)-2)
	found := make([]bool, len(scores))
	for i, m := range c.Args[2:] {
		s, f, err := z.Score(m)
		if err != nil {
			zfail(c, err)
			return
		}
		scores[i], found[i] = s, f
	}
	c.W.Array(len(scores))
	for i, s := range scores {
		if found[i] {
			c.W.Double(s)
		} else {
			c.W.Null()
		}
	}
}

// zrank and ZCOUNT need no snapshot: the store reads a rank in one consistent view.
func zrank(c *Ctx, rev bool) {
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	c.hitOrMiss(z.Exists())
	r, found, err := z.Rank(c.Args[2], rev)
	switch {
	case err != nil:
		zfail(c, err)
	case !found:
		c.W.Null()
	default:
		c.W.Int(r)
	}
}

func cmdZCount(c *Ctx) {
	rng, ok := parseScoreRange(c.Args[2], c.Args[3])
	if !ok {
		c.Error(errZMinMax)
		return
	}
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	n, err := z.CountByScore(rng)
	if err != nil {
		zfail(c, err)
		return
	}
	c.W.Int(n)
}

func cmdZLexCount(c *Ctx) {
	rng, ok := parseLexRange(c.Args[2], c.Args[3])
	if !ok {
		c.Error(errZLexRange)
		return
	}
	c.Tx.Snapshot()
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	n, err := z.CountByLex(rng)
	if err != nil {
		zfail(c, err)
		return
	}
	c.W.Int(n)
}

// zpop is ZPOPMIN / ZPOPMAX key [count].
func zpop(c *Ctx, max bool) {
	if len(c.Args) > 3 {
		c.Error(errSyntax)
		return
	}
	count, hasCount := int64(1), len(c.Args) == 3
	if hasCount {
		n, ok := parseInt(c.Args[2])
		if !ok || n < 0 {
			c.Error(errZPositive)
			return
		}
		count = n
	}
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	items, err := z.Pop(max, count)
	if err != nil {
		zfail(c, err)
		return
	}
	if hasCount && c.W.Proto() >= 3 {
		zWritePairs(c, items)
		return
	}
	c.W.Array(2 * len(items))
	for _, e := range items {
		c.W.Bulk(e.Member)
		c.W.Double(e.Score)
	}
}

// popFirst pops from the first non-empty sorted set among keys, replying through
// reply; a key of another type before it is an error. It reports whether it replied.
func zPopFirst(c *Ctx, tx *store.Tx, keys [][]byte, max bool, count int64,
	reply func(key []byte, items []store.ScoredMember)) bool {
	for _, key := range keys {
		z, err := tx.LoadZSet(c.DB, key)
		if err != nil {
			if c.blockedRetry && errors.Is(err, store.ErrWrongType) {
				continue // a blocked client waits for a sorted set, as in Redis
			}
			zfail(c, err)
			return true
		}
		if !z.Exists() {
			continue
		}
		items, err := z.Pop(max, count)
		if err != nil {
			zfail(c, err)
			return true
		}
		reply(key, items)
		return true
	}
	return false
}

// bzpop is BZPOPMIN / BZPOPMAX key [key ...] timeout.
func bzpop(c *Ctx, max bool) {
	timeout, ok := blockTimeout(c, c.Args[len(c.Args)-1])
	if !ok {
		return
	}
	keys := c.Args[1 : len(c.Args)-1]
	err := c.block(keys, timeout, func(tx *store.Tx) bool {
		return zPopFirst(c, tx, keys, max, 1, func(key []byte, items []store.ScoredMember) {
			c.W.Array(3)
			c.W.Bulk(key)
			c.W.Bulk(items[0].Member)
			c.W.Double(items[0].Score)
		})
	})
	if errors.Is(err, errBlockTimeout) {
		c.W.NullArray()
	}
}

// zmpop is ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] and BZMPOP timeout
// numkeys ...; numIdx is the position of numkeys.
func zmpop(c *Ctx, numIdx int, blocking bool) {
	n, ok := parseInt(c.Args[numIdx])
	if !ok || n < 1 {
		c.Error("ERR numkeys should be greater than 0")
		return
	}
	if n >= int64(len(c.Args)) {
		c.Error(errSyntax)
		return
	}
	whereIdx := int64(numIdx) + n + 1
	if whereIdx >= int64(len(c.Args)) {
		c.Error(errSyntax)
		return
	}
	var max bool
	switch w := c.Args[whereIdx]; {
	case argIs(w, "min"):
	case argIs(w, "max"):
		max = true
	default:
		c.Error(errSyntax)
		return
	}
	count := int64(-1)
	for j := int(whereIdx) + 1; j < len(c.Args); j++ {
		if count == -1 && argIs(c.Args[j], "count") && j+1 < len(c.Args) {
			j++
			v, ok := parseInt(c.Args[j])
			if !ok || v < 1 {
				c.Error("ERR count should be greater than 0")
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
	reply := func(key []byte, items []store.ScoredMember) {
		c.W.Array(2)
		c.W.Bulk(key)
		zWritePairs(c, items)
	}
	if !blocking {
		if !zPopFirst(c, c.Tx, keys, max, count, reply) {
			c.W.NullArray()
		}
		return
	}
	timeout, ok := blockTimeout(c, c.Args[1])
	if !ok {
		return
	}
	err := c.block(keys, timeout, func(tx *store.Tx) bool {
		return zPopFirst(c, tx, keys, max, count, reply)
	})
	if errors.Is(err, errBlockTimeout) {
		c.W.NullArray()
	}
}

func cmdZRandMember(c *Ctx) {
	if len(c.Args) == 2 {
		z, ok := loadZSet(c, c.Args[1])
		if !ok {
			return
		}
		c.hitOrMiss(z.Exists())
		items, err := z.Random(-1)
		switch {
		case err != nil:
			zfail(c, err)
		case len(items) == 0:
			c.W.Null()
		default:
			c.W.Bulk(items[0].Member)
		}
		return
	}
	n, ok := parseInt(c.Args[2])
	if !ok {
		c.Error(errNotInteger)
		return
	}
	if n == math.MinInt64 {
		c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	withScores := false
	if len(c.Args) > 4 || (len(c.Args) == 4 && !argIs(c.Args[3], "withscores")) {
		c.Error(errSyntax)
		return
	} else if len(c.Args) == 4 {
		withScores = true
		if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
			c.Error("ERR value is out of range")
			return
		}
	}
	c.Tx.Snapshot()
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	c.hitOrMiss(z.Exists())
	items, err := z.Random(n)
	if err != nil {
		zfail(c, err)
		return
	}
	zWriteScored(c, items, withScores)
}

func cmdZScan(c *Ctx) {
	if _, err := strconv.ParseUint(string(c.Args[2]), 10, 64); err != nil {
		c.Error("ERR invalid cursor")
		return
	}
	c.Tx.Snapshot()
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	if !z.Exists() {
		c.W.Array(2)
		c.W.BulkString("0")
		c.W.Array(0)
		return
	}
	a, ok := parseScanArgs(c, 2, false)
	if !ok {
		return
	}
	var from []byte
	if a.cursor != 0 {
		from = c.srv.cursors.loadCursor(a.cursor)
	}
	var keep func([]byte) bool
	if a.match != nil {
		keep = func(m []byte) bool { return globMatch(a.match, m, false) }
	}
	items, next, err := z.Scan(from, a.count, keep)
	if err != nil {
		zfail(c, err)
		return
	}
	cursor := uint64(0)
	if next != nil {
		cursor = c.srv.cursors.saveCursor(next)
	}
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(cursor, 10))
	c.W.Array(2 * len(items))
	var buf []byte
	for _, e := range items {
		c.W.Bulk(e.Member)
		buf = appendDouble(buf[:0], e.Score)
		c.W.Bulk(buf)
	}
}
