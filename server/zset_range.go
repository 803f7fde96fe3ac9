package server

import "github.com/strata-kv/strata/store"

// ZRANGE and its older spellings, ZRANGESTORE, and ZREMRANGEBY*.

func zsetRangeCommands() []*Command {
	r := FlagReadOnly
	g := "sorted-set"
	rng := func(name string, kind zrangeKind, dir zrangeDir, summary, since string) *Command {
		return &Command{Name: name, Arity: -4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1,
			Handler: func(c *Ctx) { zrangeGeneric(c, 1, false, kind, dir) }, Group: g, Summary: summary, Since: since}
	}
	rem := func(name string, h func(*Ctx), summary, since string) *Command {
		return &Command{Name: name, Arity: 4, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1,
			Handler: h, Group: g, Summary: summary, Since: since}
	}
	return []*Command{
		rng("zrange", zrAuto, zDirAuto, "Returns members in a sorted set within a range of indexes.", "1.2.0"),
		rng("zrevrange", zrRank, zDirRev, "Returns members in a sorted set within a range of indexes in reverse order.", "1.2.0"),
		rng("zrangebyscore", zrScore, zDirFwd, "Returns members in a sorted set within a range of scores.", "1.0.5"),
		rng("zrevrangebyscore", zrScore, zDirRev, "Returns members in a sorted set within a range of scores in reverse order.", "2.2.0"),
		rng("zrangebylex", zrLex, zDirFwd, "Returns members in a sorted set within a lexicographical range.", "2.8.9"),
		rng("zrevrangebylex", zrLex, zDirRev, "Returns members in a sorted set within a lexicographical range in reverse order.", "2.8.9"),
		{Name: "zrangestore", Arity: -5, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 2, Step: 1,
			Handler: func(c *Ctx) { zrangeGeneric(c, 2, true, zrAuto, zDirAuto) }, Group: g, Since: "6.2.0",
			Summary: "Stores a range of members from sorted set in a key."},
		rem("zremrangebyrank", cmdZRemRangeByRank, "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "2.0.0"),
		rem("zremrangebyscore", cmdZRemRangeByScore, "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "1.2.0"),
		rem("zremrangebylex", cmdZRemRangeByLex, "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", "2.8.9"),
	}
}

type zrangeKind int

const (
	zrAuto zrangeKind = iota
	zrRank
	zrScore
	zrLex
)

type zrangeDir int

const (
	zDirAuto zrangeDir = iota
	zDirFwd
	zDirRev
)

// zrangeGeneric follows Redis's zrangeGenericCommand: the source key is argument
// argStart, then min and max, then options; kind and dir are fixed by the legacy
// commands and chosen by BYSCORE/BYLEX/REV for ZRANGE and ZRANGESTORE.
func zrangeGeneric(c *Ctx, argStart int, storeDst bool, kind zrangeKind, dir zrangeDir) {
	args := c.Args
	minIdx, maxIdx := argStart+1, argStart+2
	withScores := false
	offset, limit := int64(0), int64(-1)
	for j := argStart + 3; j < len(args); j++ {
		a, left := args[j], len(args)-j-1
		switch {
		case !storeDst && argIs(a, "withscores"):
			withScores = true
		case argIs(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = c.Int(j + 1); !ok {
				return
			}
			if limit, ok = c.Int(j + 2); !ok {
				return
			}
			j += 2
		case dir == zDirAuto && argIs(a, "rev"):
			dir = zDirRev
		case kind == zrAuto && argIs(a, "bylex"):
			kind = zrLex
		case kind == zrAuto && argIs(a, "byscore"):
			kind = zrScore
		default:
			c.Error(errSyntax)
			return
		}
	}
	if kind == zrAuto {
		kind = zrRank
	}
	rev := dir == zDirRev
	if limit != -1 && kind == zrRank {
		c.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && kind == zrLex {
		c.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	if rev && kind != zrRank {
		minIdx, maxIdx = maxIdx, minIdx // given as max, min
	}
	var (
		start, stop int64
		srng        store.ScoreRange
		lrng        store.LexRange
		ok          bool
	)
	switch kind {
	case zrRank:
		if start, ok = c.Int(minIdx); !ok {
			return
		}
		if stop, ok = c.Int(maxIdx); !ok {
			return
		}
	case zrScore:
		if srng, ok = parseScoreRange(args[minIdx], args[maxIdx]); !ok {
			c.Error(errZMinMax)
			return
		}
	case zrLex:
		if lrng, ok = parseLexRange(args[minIdx], args[maxIdx]); !ok {
			c.Error(errZLexRange)
			return
		}
	}
	if !storeDst && kind != zrRank {
		// Reads by rank see one consistent state by themselves (the store's rank view).
		c.Tx.Snapshot()
	}
	z, ok := loadZSet(c, args[argStart])
	if !ok {
		return
	}
	if !storeDst {
		c.hitOrMiss(z.Exists())
	}
	var items []store.ScoredMember
	var err error
	switch kind {
	case zrRank:
		items, err = z.RangeByRank(start, stop, rev)
	case zrScore:
		items, err = z.RangeByScore(srng, rev, offset, limit)
	case zrLex:
		items, err = z.RangeByLex(lrng, rev, offset, limit)
	}
	if err != nil {
		zfail(c, err)
		return
	}
	if !storeDst {
		zWriteScored(c, items, withScores)
		return
	}
	if err := c.Tx.StoreZSet(c.DB, args[1], items); err != nil {
		zfail(c, err)
		return
	}
	c.W.Int(int64(len(items)))
}

func cmdZRemRangeByRank(c *Ctx) {
	start, ok := c.Int(2)
	if !ok {
		return
	}
	stop, ok := c.Int(3)
	if !ok {
		return
	}
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	n, err := z.RemoveRangeByRank(start, stop)
	if err != nil {
		zfail(c, err)
		return
	}
	c.W.Int(n)
}

func cmdZRemRangeByScore(c *Ctx) {
	rng, ok := parseScoreRange(c.Args[2], c.Args[3])
	if !ok {
		c.Error(errZMinMax)
		return
	}
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	n, err := z.RemoveRangeByScore(rng)
	if err != nil {
		zfail(c, err)
		return
	}
	c.W.Int(n)
}

func cmdZRemRangeByLex(c *Ctx) {
	rng, ok := parseLexRange(c.Args[2], c.Args[3])
	if !ok {
		c.Error(errZLexRange)
		return
	}
	z, ok := loadZSet(c, c.Args[1])
	if !ok {
		return
	}
	n, err := z.RemoveRangeByLex(rng)
	if err != nil {
		zfail(c, err)
		return
	}
	c.W.Int(n)
}
