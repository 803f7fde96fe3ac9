package server

import (
	"errors"
	"math"
	"strconv"

	"github.com/strata-kv/strata/store"
)

func hashCommands() []*Command {
	w, r := FlagWrite|FlagDenyOOM, FlagReadOnly
	return []*Command{
		{Name: "hset", Arity: -4, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHSet, Group: "hash", Summary: "Creates or modifies the value of a field in a hash.", Since: "2.0.0"},
		{Name: "hsetnx", Arity: 4, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHSetNX, Group: "hash", Summary: "Sets the value of a field in a hash only when the field doesn't exist.", Since: "2.0.0"},
		{Name: "hmset", Arity: -4, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHSet, Group: "hash", Summary: "Sets the values of multiple fields.", Since: "2.0.0"},
		{Name: "hget", Arity: 3, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHGet, Group: "hash", Summary: "Returns the value of a field in a hash.", Since: "2.0.0"},
		{Name: "hmget", Arity: -3, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHMGet, Group: "hash", Summary: "Returns the values of all fields in a hash.", Since: "2.0.0"},
		{Name: "hgetall", Arity: 2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHGetAll, Group: "hash", Summary: "Returns all fields and values in a hash.", Since: "2.0.0"},
		{Name: "hdel", Arity: -3, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHDel, Group: "hash", Summary: "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", Since: "2.0.0"},
		{Name: "hlen", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHLen, Group: "hash", Summary: "Returns the number of fields in a hash.", Since: "2.0.0"},
		{Name: "hexists", Arity: 3, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHExists, Group: "hash", Summary: "Determines whether a field exists in a hash.", Since: "2.0.0"},
		{Name: "hkeys", Arity: 2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHKeys, Group: "hash", Summary: "Returns all fields in a hash.", Since: "2.0.0"},
		{Name: "hvals", Arity: 2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHVals, Group: "hash", Summary: "Returns all values in a hash.", Since: "2.0.0"},
		{Name: "hincrby", Arity: 4, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHIncrBy, Group: "hash", Summary: "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", Since: "2.0.0"},
		{Name: "hincrbyfloat", Arity: 4, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHIncrByFloat, Group: "hash", Summary: "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", Since: "2.6.0"},
		{Name: "hstrlen", Arity: 3, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHStrLen, Group: "hash", Summary: "Returns the length of the value of a field.", Since: "3.2.0"},
		{Name: "hscan", Arity: -3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHScan, Group: "hash", Summary: "Iterates over fields and values of a hash.", Since: "2.8.0"},
		{Name: "hrandfield", Arity: -2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdHRandField, Group: "hash", Summary: "Returns one or more random fields from a hash.", Since: "6.2.0"},
	}
}

// hashFail replies with the Redis text for a store error of a hash command.
func hashFail(c *Ctx, err error) {
	switch {
	case errors.Is(err, store.ErrHashNotInteger):
		c.Error("ERR hash value is not an integer")
	case errors.Is(err, store.ErrHashNotFloat):
		c.Error("ERR hash value is not a float")
	default:
		c.Fail(err)
	}
}

// cmdHSet serves HSET (replies with the number of fields added) and HMSET (OK).
func cmdHSet(c *Ctx) {
	if len(c.Args)%2 != 0 {
		c.WrongArgs(c.Cmd.Name)
		return
	}
	pairs := make([]store.FieldValue, 0, (len(c.Args)-2)/2)
	for i := 2; i < len(c.Args); i += 2 {
		pairs = append(pairs, store.FieldValue{Field: c.Args[i], Value: c.Args[i+1]})
	}
	added, err := c.Tx.HSet(c.DB, c.Args[1], pairs)
	if err != nil {
		hashFail(c, err)
		return
	}
	if c.Cmd.Name == "hmset" {
		c.W.OK()
		return
	}
	c.W.Int(int64(added))
}

func cmdHSetNX(c *Ctx) {
	ok, err := c.Tx.HSetNX(c.DB, c.Args[1], c.Args[2], c.Args[3])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Int(int01(ok))
}

func cmdHGet(c *Ctx) {
	v, ok, err := c.Tx.HGet(c.DB, c.Args[1], c.Args[2])
	if err != nil {
		hashFail(c, err)
		return
	}
	if !ok {
		c.W.Null()
		return
	}
	c.W.Bulk(v)
}

func cmdHMGet(c *Ctx) {
	vals, err := c.Tx.HMGet(c.DB, c.Args[1], c.Args[2:])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Bulks(vals)
}

func cmdHGetAll(c *Ctx) {
	all, err := c.Tx.HGetAll(c.DB, c.Args[1])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Map(len(all))
	for _, fv := range all {
		c.W.Bulk(fv.Field)
		c.W.Bulk(fv.Value)
	}
}

func cmdHDel(c *Ctx) {
	n, err := c.Tx.HDel(c.DB, c.Args[1], c.Args[2:])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Int(int64(n))
}

func cmdHLen(c *Ctx) {
	n, err := c.Tx.HLen(c.DB, c.Args[1])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Int(n)
}

func cmdHExists(c *Ctx) {
	ok, err := c.Tx.HExists(c.DB, c.Args[1], c.Args[2])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Int(int01(ok))
}

func cmdHKeys(c *Ctx) {
	keys, err := c.Tx.HKeys(c.DB, c.Args[1])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Bulks(keys)
}

func cmdHVals(c *Ctx) {
	vals, err := c.Tx.HVals(c.DB, c.Args[1])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Bulks(vals)
}

func cmdHStrLen(c *Ctx) {
	n, err := c.Tx.HStrLen(c.DB, c.Args[1], c.Args[2])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Int(int64(n))
}

func cmdHIncrBy(c *Ctx) {
	d, ok := c.Int(3)
	if !ok {
		return
	}
	n, err := c.Tx.HIncrBy(c.DB, c.Args[1], c.Args[2], d)
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Int(n)
}

func cmdHIncrByFloat(c *Ctx) {
	if f, ok := parseFloat(c.Args[3]); ok && math.IsInf(f, 0) {
		c.Error("ERR value is NaN or Infinity")
		return
	}
	// Redis parses the increment before it looks at the key.
	if _, err := store.AddFloat(nil, c.Args[3], store.ErrNotFloat); err == store.ErrNotFloat {
		c.Error(errNotFloat)
		return
	}
	v, err := c.Tx.HIncrByFloat(c.DB, c.Args[1], c.Args[2], c.Args[3])
	if err != nil {
		hashFail(c, err)
		return
	}
	c.W.Bulk(v)
}

// cmdHScan serves HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]. COUNT is
// the number of fields examined, as in Redis; MATCH filters them afterwards. The
// cursor stands for the field the next call resumes from (see server/scan.go).
func cmdHScan(c *Ctx) {
	// Redis checks the cursor, then the key, then the options: a missing key answers
	// an empty scan whatever the options say.
	if _, err := strconv.ParseUint(string(c.Args[2]), 10, 64); err != nil {
		c.Error("ERR invalid cursor")
		return
	}
	n, err := c.Tx.HLen(c.DB, c.Args[1])
	if err != nil {
		hashFail(c, err)
		return
	}
	if n == 0 {
		c.W.Array(2)
		c.W.BulkString("0")
		c.W.Array(0)
		return
	}
	a, ok := parseHScanArgs(c)
	if !ok {
		return
	}
	resume := c.srv.cursors.loadCursor(a.cursor)
	fields, next, err := c.Tx.HScan(c.DB, c.Args[1], resume, a.count, !a.novals)
	if err != nil {
		hashFail(c, err)
		return
	}
	cursor := "0"
	if next != nil {
		cursor = strconv.FormatUint(c.srv.cursors.saveCursor(next), 10)
	}
	matched := fields[:0]
	for _, fv := range fields {
		if a.match == nil || globMatch(a.match, fv.Field, false) {
			matched = append(matched, fv)
		}
	}
	per := 2
	if a.novals {
		per = 1
	}
	c.W.Array(2)
	c.W.BulkString(cursor)
	c.W.Array(per * len(matched))
	for _, fv := range matched {
		c.W.Bulk(fv.Field)
		if !a.novals {
			c.W.Bulk(fv.Value)
		}
	}
}

// parseHScanArgs parses HSCAN's cursor and options. parseScanArgs knows MATCH and
// COUNT; NOVALUES (Redis 7.4) is taken out here, in option position only, so that a
// MATCH pattern spelled "novalues" stays a pattern.
func parseHScanArgs(c *Ctx) (scanArgs, bool) {
	args := make([][]byte, 0, len(c.Args))
	args = append(args, c.Args[:3]...)
	novals := false
	for i := 3; i < len(c.Args); i++ {
		switch {
		case (argIs(c.Args[i], "match") || argIs(c.Args[i], "count")) && i+1 < len(c.Args):
			args = append(args, c.Args[i], c.Args[i+1])
			i++
		case argIs(c.Args[i], "novalues"):
			novals = true
		default:
			args = append(args, c.Args[i])
		}
	}
	orig := c.Args
	c.Args = args
	a, ok := parseScanArgs(c, 2, false)
	c.Args = orig
	a.novals = novals
	return a, ok
}

// cmdHRandField serves HRANDFIELD key [count [WITHVALUES]].
func cmdHRandField(c *Ctx) {
	if len(c.Args) == 2 {
		fvs, err := c.Tx.HRandField(c.DB, c.Args[1], 1, false)
		if err != nil {
			hashFail(c, err)
			return
		}
		if len(fvs) == 0 {
			c.W.Null()
			return
		}
		c.W.Bulk(fvs[0].Field)
		return
	}
	count, ok := parseInt(c.Args[2])
	if !ok {
		c.Error(errNotInteger)
		return
	}
	if count == math.MinInt64 {
		c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	withValues := false
	if len(c.Args) > 4 || (len(c.Args) == 4 && !argIs(c.Args[3], "withvalues")) {
		c.Error(errSyntax)
		return
	}
	if len(c.Args) == 4 {
		withValues = true
		// Redis refuses counts whose reply length (2 per field) would overflow.
		if count < -math.MaxInt64/2 || count > math.MaxInt64/2 {
			c.Error("ERR value is out of range")
			return
		}
	}
	fvs, err := c.Tx.HRandField(c.DB, c.Args[1], count, withValues)
	if err != nil {
		hashFail(c, err)
		return
	}
	if !withValues {
		c.W.Array(len(fvs))
		for _, fv := range fvs {
			c.W.Bulk(fv.Field)
		}
		return
	}
	if c.W.Proto() >= 3 {
		// RESP3: an array of [field, value] pairs, like Redis 7.
		c.W.Array(len(fvs))
		for _, fv := range fvs {
			c.W.Array(2)
			c.W.Bulk(fv.Field)
			c.W.Bulk(fv.Value)
		}
		return
	}
	c.W.Array(2 * len(fvs))
	for _, fv := range fvs {
		c.W.Bulk(fv.Field)
		c.W.Bulk(fv.Value)
	}
}
