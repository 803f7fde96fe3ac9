package server

import (
	"math"
	"strconv"
)

func setCommands() []*Command {
	w, r := FlagWrite|FlagDenyOOM, FlagReadOnly
	return []*Command{
		{Name: "sadd", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSAdd, Group: "set", Summary: "Adds one or more members to a set. Creates the key if it doesn't exist.", Since: "1.0.0"},
		{Name: "srem", Arity: -3, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSRem, Group: "set", Summary: "Removes one or more members from a set. Deletes the set if the last member was removed.", Since: "1.0.0"},
		{Name: "scard", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSCard, Group: "set", Summary: "Returns the number of members in a set.", Since: "1.0.0"},
		{Name: "sismember", Arity: 3, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSIsMember, Group: "set", Summary: "Determines whether a member belongs to a set.", Since: "1.0.0"},
		{Name: "smismember", Arity: -3, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSMIsMember, Group: "set", Summary: "Determines whether multiple members belong to a set.", Since: "6.2.0"},
		{Name: "smembers", Arity: 2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSMembers, Group: "set", Summary: "Returns all members of a set.", Since: "1.0.0"},
		{Name: "srandmember", Arity: -2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSRandMember, Group: "set", Summary: "Get one or multiple random members from a set", Since: "1.0.0"},
		{Name: "spop", Arity: -2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSPop, Group: "set", Summary: "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", Since: "1.0.0"},
		{Name: "smove", Arity: 4, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 2, Step: 1, Handler: cmdSMove, Group: "set", Summary: "Moves a member from one set to another.", Since: "1.0.0"},
		{Name: "sinter", Arity: -2, Flags: r, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdSInter, Group: "set", Summary: "Returns the intersect of multiple sets.", Since: "1.0.0"},
		{Name: "sintercard", Arity: -3, Flags: r, Keys: sinterCardKeys, Handler: cmdSInterCard, Group: "set", Summary: "Returns the number of members of the intersect of multiple sets.", Since: "7.0.0"},
		{Name: "sinterstore", Arity: -3, Flags: w, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdSInterStore, Group: "set", Summary: "Stores the intersect of multiple sets in a key.", Since: "1.0.0"},
		{Name: "sunion", Arity: -2, Flags: r, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdSUnion, Group: "set", Summary: "Returns the union of multiple sets.", Since: "1.0.0"},
		{Name: "sunionstore", Arity: -3, Flags: w, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdSUnionStore, Group: "set", Summary: "Stores the union of multiple sets in a key.", Since: "1.0.0"},
		{Name: "sdiff", Arity: -2, Flags: r, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdSDiff, Group: "set", Summary: "Returns the difference of multiple sets.", Since: "1.0.0"},
		{Name: "sdiffstore", Arity: -3, Flags: w, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdSDiffStore, Group: "set", Summary: "Stores the difference of multiple sets in a key.", Since: "1.0.0"},
		{Name: "sscan", Arity: -3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSScan, Group: "set", Summary: "Iterates over members of a set.", Since: "2.8.0"},
	}
}

// maxRandCount bounds SRANDMEMBER's negative count (members that may repeat): the
// reply is built in memory, and Redis itself falls over on counts near the limit of
// its range. Larger counts get Redis's range error with this bound.
const maxRandCount = 1 << 24

func cmdSAdd(c *Ctx) {
	n, err := c.Tx.SAdd(c.DB, c.Args[1], c.Args[2:])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

func cmdSRem(c *Ctx) {
	n, err := c.Tx.SRem(c.DB, c.Args[1], c.Args[2:])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

func cmdSCard(c *Ctx) {
	n, err := c.Tx.SCard(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

func cmdSIsMember(c *Ctx) {
	ok, err := c.Tx.SIsMember(c.DB, c.Args[1], c.Args[2])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(int01(ok))
}

func cmdSMIsMember(c *Ctx) {
	in, err := c.Tx.SMIsMember(c.DB, c.Args[1], c.Args[2:])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Array(len(in))
	for _, ok := range in {
		c.W.Int(int01(ok))
	}
}

// replySetMembers replies with members as a set (RESP3) or an array (RESP2).
func (c *Ctx) replySetMembers(members [][]byte) {
	c.W.Set(len(members))
	for _, m := range members {
		c.W.Bulk(m)
	}
}

func cmdSMembers(c *Ctx) {
	ms, err := c.Tx.SMembers(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	c.replySetMembers(ms)
}

// setReplyOne answers the count-less form of SRANDMEMBER and SPOP: the member, or
// null for a missing key.
func setReplyOne(c *Ctx, ms [][]byte, err error) {
	switch {
	case err != nil:
		c.Fail(err)
	case len(ms) == 0:
		c.W.Null()
	default:
		c.W.Bulk(ms[0])
	}
}

func cmdSRandMember(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(errSyntax)
		return
	}
	if len(c.Args) == 2 {
		ms, err := c.Tx.SRandMember(c.DB, c.Args[1], 1)
		setReplyOne(c, ms, err)
		return
	}
	n, ok := c.Int(2)
	if !ok {
		return
	}
	if n == math.MinInt64 {
		c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	if n < -maxRandCount {
		c.Error("ERR value is out of range, value must between -" + strconv.Itoa(maxRandCount) + " and 9223372036854775807")
		return
	}
	ms, err := c.Tx.SRandMember(c.DB, c.Args[1], n)
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Array(len(ms))
	for _, m := range ms {
		c.W.Bulk(m)
	}
}

func cmdSPop(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(errSyntax)
		return
	}
	if len(c.Args) == 2 {
		ms, err := c.Tx.SPop(c.DB, c.Args[1], 1)
		setReplyOne(c, ms, err)
		return
	}
	n, ok := parseInt(c.Args[2])
	if !ok || n < 0 {
		c.Error("ERR value is out of range, must be positive")
		return
	}
	ms, err := c.Tx.SPop(c.DB, c.Args[1], n)
	if err != nil {
		c.Fail(err)
		return
	}
	c.replySetMembers(ms)
}

func cmdSMove(c *Ctx) {
	ok, err := c.Tx.SMove(c.DB, c.Args[1], c.Args[2], c.Args[3])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(int01(ok))
}

func cmdSInter(c *Ctx) {
	c.Tx.Snapshot()
	ms, err := c.Tx.SInter(c.DB, c.Args[1:])
	if err != nil {
		c.Fail(err)
		return
	}
	c.replySetMembers(ms)
}

// sinterCardKeys returns SINTERCARD's keys: numkeys key [key ...] [LIMIT limit].
func sinterCardKeys(args [][]byte) [][]byte {
	if len(args) < 2 {
		return nil
	}
	n, ok := parseInt(args[1])
	if !ok || n < 1 || n > int64(len(args)-2) {
		return nil
	}
	return args[2 : 2+n]
}

func cmdSInterCard(c *Ctx) {
	n, ok := parseInt(c.Args[1])
	if !ok || n < 1 {
		c.Error("ERR numkeys should be greater than 0")
		return
	}
	if n > int64(len(c.Args)-2) {
		c.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	keys := c.Args[2 : 2+n]
	var limit int64
	for i := 2 + int(n); i < len(c.Args); i++ {
		if argIs(c.Args[i], "limit") && i+1 < len(c.Args) {
			l, ok := parseInt(c.Args[i+1])
			if !ok || l < 0 {
				c.Error("ERR LIMIT can't be negative")
				return
			}
			limit = l
			i++
			continue
		}
		c.Error(errSyntax)
		return
	}
	c.Tx.Snapshot()
	card, err := c.Tx.SInterCard(c.DB, keys, limit)
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(card)
}

func cmdSUnion(c *Ctx) {
	c.Tx.Snapshot()
	ms, err := c.Tx.SUnion(c.DB, c.Args[1:])
	if err != nil {
		c.Fail(err)
		return
	}
	c.replySetMembers(ms)
}

func cmdSDiff(c *Ctx) {
	c.Tx.Snapshot()
	ms, err := c.Tx.SDiff(c.DB, c.Args[1:])
	if err != nil {
		c.Fail(err)
		return
	}
	c.replySetMembers(ms)
}

// setStore runs a set operation over args[2:] and stores the result in args[1].
func setStore(c *Ctx, op func(db int, keys [][]byte) ([][]byte, error)) {
	c.Tx.Snapshot()
	ms, err := op(c.DB, c.Args[2:])
	if err != nil {
		c.Fail(err)
		return
	}
	n, err := c.Tx.SStore(c.DB, c.Args[1], ms)
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

func cmdSInterStore(c *Ctx) { setStore(c, c.Tx.SInter) }
func cmdSUnionStore(c *Ctx) { setStore(c, c.Tx.SUnion) }
func cmdSDiffStore(c *Ctx)  { setStore(c, c.Tx.SDiff) }

// cmdSScan: SSCAN key cursor [MATCH pattern] [COUNT count]. Like Redis, the cursor is
// checked first, then the key (a missing key ends the scan before the options are
// read), then the options. A cursor stands for the raw member key to resume from.
func cmdSScan(c *Ctx) {
	if _, err := strconv.ParseUint(string(c.Args[2]), 10, 64); err != nil {
		c.Error("ERR invalid cursor")
		return
	}
	c.Tx.Snapshot()
	n, err := c.Tx.SCard(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	if n == 0 {
		c.W.Array(2)
		c.W.BulkString("0")
		c.W.Array(0)
		return
	}
	a, ok := parseScanArgs(c, 2, false)
	if !ok {
		return
	}
	var match func([]byte) bool
	if a.match != nil {
		match = func(m []byte) bool { return globMatch(a.match, m, false) }
	}
	ms, next, err := c.Tx.SScan(c.DB, c.Args[1], c.srv.cursors.loadCursor(a.cursor), a.count, match)
	if err != nil {
		c.Fail(err)
		return
	}
	cursor := "0"
	if next != nil {
		cursor = strconv.FormatUint(c.srv.cursors.saveCursor(next), 10)
	}
	c.W.Array(2)
	c.W.BulkString(cursor)
	c.W.Array(len(ms))
	for _, m := range ms {
		c.W.Bulk(m)
	}
}
