package server

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"slices"

	"github.com/strata-kv/strata/store"
)

// ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD. Inputs may be sorted sets
// or plain sets (every member scoring 1), as in Redis. The result is built in memory,
// as Redis builds it, then replied in (score, member) order or stored.

func zsetStoreCommands() []*Command {
	g := "sorted-set"
	op := func(name string, o zsetOp, dst bool, summary, since string) *Command {
		c := &Command{Name: name, Arity: -3, Flags: FlagReadOnly, Keys: zNumKeys(1, false),
			Handler: func(c *Ctx) { zsetCombine(c, o, dst) }, Group: g, Summary: summary, Since: since}
		if dst {
			c.Arity, c.Flags, c.Keys = -4, FlagWrite|FlagDenyOOM, zNumKeys(2, true)
			c.FirstKey, c.LastKey, c.Step = 1, 1, 1 // the destination, as COMMAND INFO shows it
		}
		return c
	}
	return []*Command{
		op("zunion", zopUnion, false, "Returns the union of multiple sorted sets.", "6.2.0"),
		op("zinter", zopInter, false, "Returns the intersect of multiple sorted sets.", "6.2.0"),
		op("zdiff", zopDiff, false, "Returns the difference between multiple sorted sets.", "6.2.0"),
		op("zunionstore", zopUnion, true, "Stores the union of multiple sorted sets in a key.", "2.0.0"),
		op("zinterstore", zopInter, true, "Stores the intersect of multiple sorted sets in a key.", "2.0.0"),
		op("zdiffstore", zopDiff, true, "Stores the difference of multiple sorted sets in a key.", "6.2.0"),
		{Name: "zintercard", Arity: -3, Flags: FlagReadOnly, Keys: zNumKeys(1, false), Handler: cmdZInterCard,
			Group: g, Summary: "Returns the number of members of the intersect of multiple sorted sets.", Since: "7.0.0"},
	}
}

// errZStop ends a walk over an input early.
var errZStop = errors.New("stop")

type zsetOp int

const (
	zopUnion zsetOp = iota
	zopInter
	zopDiff
)

type zAggr int

const (
	zAggrSum zAggr = iota
	zAggrMin
	zAggrMax
)

// zSrc is one input with its weight.
type zSrc struct {
	op     *store.ZOperand
	weight float64
}

// aggregate folds val into *acc as Redis's zunionInterAggregate does.
func zAggregate(acc *float64, val float64, a zAggr) {
	switch a {
	case zAggrSum:
		*acc += val
		if math.IsNaN(*acc) { // inf + -inf
			*acc = 0
		}
	case zAggrMin: // C comparisons: a NaN val leaves acc alone
		if val < *acc {
			*acc = val
		}
	case zAggrMax:
		if val > *acc {
			*acc = val
		}
	}
}

// weighted is score * weight, with NaN (0 * inf) read as 0, as in Redis.
func zWeighted(score, weight float64) float64 {
	v := score * weight
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// loadZSources reads numkeys and loads the input keys; it replies on failure.
func loadZSources(c *Ctx, numIdx int) ([]zSrc, int, bool) {
	n, ok := c.Int(numIdx)
	if !ok {
		return nil, 0, false
	}
	if n < 1 {
		c.Error("ERR at least 1 input key is needed for '" + c.Cmd.Name + "' command")
		return nil, 0, false
	}
	if n > int64(len(c.Args)-numIdx-1) {
		c.Error(errSyntax)
		return nil, 0, false
	}
	srcs := make([]zSrc, n)
	j := numIdx + 1
	for i := range srcs {
		op, err := c.Tx.LoadZOperand(c.DB, c.Args[j])
		if err != nil {
			zfail(c, err)
			return nil, 0, false
		}
		srcs[i] = zSrc{op: op, weight: 1}
		j++
	}
	return srcs, j, true
}

// zsetCombine is ZUNION/ZINTER/ZDIFF numkeys key ... [WEIGHTS w ...] [AGGREGATE
// SUM|MIN|MAX] [WITHSCORES] and the STORE forms with a destination first.
func zsetCombine(c *Ctx, op zsetOp, dst bool) {
	numIdx := 1
	if dst {
		numIdx = 2
	} else {
		c.Tx.Snapshot()
	}
	srcs, j, ok := loadZSources(c, numIdx)
	if !ok {
		return
	}
	agg, withScores := zAggrSum, false
	for j < len(c.Args) {
		a, remaining := c.Args[j], len(c.Args)-j
		switch {
		case op != zopDiff && remaining >= len(srcs)+1 && argIs(a, "weights"):
			j++
			for i := range srcs {
				w, ok := zParseDouble(c.Args[j], false)
				if !ok {
					c.Error("ERR weight value is not a float")
					return
				}
				srcs[i].weight = w
				j++
			}
		case op != zopDiff && remaining >= 2 && argIs(a, "aggregate"):
			switch v := c.Args[j+1]; {
			case argIs(v, "sum"):
				agg = zAggrSum
			case argIs(v, "min"):
				agg = zAggrMin
			case argIs(v, "max"):
				agg = zAggrMax
			default:
				c.Error(errSyntax)
				return
			}
			j += 2
		case !dst && argIs(a, "withscores"):
			withScores = true
			j++
		default:
			c.Error(errSyntax)
			return
		}
	}
	var items []store.ScoredMember
	var err error
	switch op {
	case zopUnion:
		items, err = zunion(srcs, agg)
	case zopInter:
		items, err = zinter(srcs, agg, 0)
	case zopDiff:
		items, err = zdiff(srcs)
	}
	if err != nil {
		zfail(c, err)
		return
	}
	if dst {
		if err := c.Tx.StoreZSet(c.DB, c.Args[1], items); err != nil {
			zfail(c, err)
			return
		}
		c.W.Int(int64(len(items)))
		return
	}
	zWriteScored(c, items, withScores)
}

// zSortScored orders elements as a sorted set does: by score, then member.
func zSortScored(items []store.ScoredMember) {
	slices.SortFunc(items, func(a, b store.ScoredMember) int {
		if a.Score != b.Score {
			return cmp.Compare(a.Score, b.Score)
		}
		return bytes.Compare(a.Member, b.Member)
	})
}

func zunion(srcs []zSrc, agg zAggr) ([]store.ScoredMember, error) {
	acc := map[string]float64{}
	var order []string
	for _, s := range srcs {
		err := s.op.Each(func(m []byte, score float64) error {
			v := zWeighted(score, s.weight)
			if cur, ok := acc[string(m)]; ok {
				zAggregate(&cur, v, agg)
				acc[string(m)] = cur
			} else {
				acc[string(m)] = v
				order = append(order, string(m))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	items := make([]store.ScoredMember, 0, len(order))
	for _, m := range order {
		items = append(items, store.ScoredMember{Member: []byte(m), Score: acc[m]})
	}
	zSortScored(items)
	return items, nil
}

// zinter walks the smallest input and looks each member up in the others, as Redis
// does; limit > 0 stops after that many members (ZINTERCARD).
func zinter(srcs []zSrc, agg zAggr, limit int) ([]store.ScoredMember, error) {
	srcs = slices.Clone(srcs)
	slices.SortStableFunc(srcs, func(a, b zSrc) int { return cmp.Compare(a.op.Card(), b.op.Card()) })
	if srcs[0].op.Card() == 0 {
		return nil, nil
	}
	var items []store.ScoredMember
	err := srcs[0].op.Each(func(m []byte, score float64) error {
		acc := zWeighted(score, srcs[0].weight)
		for _, s := range srcs[1:] {
			v, ok, err := s.op.Score(m)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			// Unlike the first input's, these products are not cleaned of NaN (0 * inf)
			// before aggregating, as in Redis: SUM then turns the NaN into 0.
			zAggregate(&acc, v*s.weight, agg)
		}
		items = append(items, store.ScoredMember{Member: m, Score: acc})
		if limit > 0 && len(items) >= limit {
			return errZStop
		}
		return nil
	})
	if err != nil && err != errZStop {
		return nil, err
	}
	zSortScored(items)
	return items, nil
}

func zdiff(srcs []zSrc) ([]store.ScoredMember, error) {
	var items []store.ScoredMember
	err := srcs[0].op.Each(func(m []byte, score float64) error {
		for _, s := range srcs[1:] {
			_, ok, err := s.op.Score(m)
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
		}
		items = append(items, store.ScoredMember{Member: m, Score: score})
		return nil
	})
	if err != nil {
		return nil, err
	}
	zSortScored(items)
	return items, nil
}

// cmdZInterCard is ZINTERCARD numkeys key [key ...] [LIMIT limit].
func cmdZInterCard(c *Ctx) {
	c.Tx.Snapshot()
	srcs, j, ok := loadZSources(c, 1)
	if !ok {
		return
	}
	limit := int64(0)
	for ; j < len(c.Args); j++ {
		if argIs(c.Args[j], "limit") && j+1 < len(c.Args) {
			j++
			n, ok := parseInt(c.Args[j])
			if !ok || n < 0 {
				c.Error("ERR LIMIT can't be negative")
				return
			}
			limit = n
			continue
		}
		c.Error(errSyntax)
		return
	}
	if limit > math.MaxInt32 {
		limit = 0 // no practical limit
	}
	items, err := zinter(srcs, zAggrSum, int(limit))
	if err != nil {
		zfail(c, err)
		return
	}
	c.W.Int(int64(len(items)))
}
