package server

import (
	"math"
	"strconv"
	"time"

	"github.com/strata-kv/strata/store"
)

func stringCommands() []*Command {
	w, r := FlagWrite|FlagDenyOOM, FlagReadOnly
	return []*Command{
		{Name: "get", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdGet, Group: "string", Summary: "Returns the string value of a key.", Since: "1.0.0"},
		{Name: "set", Arity: -3, Flags: w, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSet, Group: "string", Summary: "Sets the string value of a key, ignoring its type.", Since: "1.0.0"},
		{Name: "setnx", Arity: 3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSetNX, Group: "string", Summary: "Set the string value of a key only when the key doesn't exist.", Since: "1.0.0"},
		{Name: "setex", Arity: 4, Flags: w, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { setWithTTL(c, time.Second) }, Group: "string", Summary: "Sets the string value and expiration time of a key.", Since: "2.0.0"},
		{Name: "psetex", Arity: 4, Flags: w, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { setWithTTL(c, time.Millisecond) }, Group: "string", Summary: "Sets both string value and expiration time in milliseconds of a key.", Since: "2.6.0"},
		{Name: "getset", Arity: 3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdGetSet, Group: "string", Summary: "Returns the previous string value of a key after setting it to a new value.", Since: "1.0.0"},
		{Name: "getdel", Arity: 2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdGetDel, Group: "string", Summary: "Returns the string value of a key after deleting the key.", Since: "6.2.0"},
		{Name: "getex", Arity: -2, Flags: FlagWrite | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdGetEx, Group: "string", Summary: "Returns the string value of a key after setting its expiration time.", Since: "6.2.0"},
		{Name: "mget", Arity: -2, Flags: r | FlagFast, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdMGet, Group: "string", Summary: "Atomically returns the string values of one or more keys.", Since: "1.0.0"},
		{Name: "mset", Arity: -3, Flags: w, FirstKey: 1, LastKey: -1, Step: 2, Handler: cmdMSet, Group: "string", Summary: "Atomically creates or modifies the string values of one or more keys.", Since: "1.0.1"},
		{Name: "msetnx", Arity: -3, Flags: w, FirstKey: 1, LastKey: -1, Step: 2, Handler: cmdMSetNX, Group: "string", Summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", Since: "1.0.1"},
		{Name: "append", Arity: 3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdAppend, Group: "string", Summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.", Since: "2.0.0"},
		{Name: "strlen", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdStrlen, Group: "string", Summary: "Returns the length of a string value.", Since: "2.2.0"},
		{Name: "incr", Arity: 2, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { incrBy(c, 1) }, Group: "string", Summary: "Increments the integer value of a key by one.", Since: "1.0.0"},
		{Name: "decr", Arity: 2, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { incrBy(c, -1) }, Group: "string", Summary: "Decrements the integer value of a key by one.", Since: "1.0.0"},
		{Name: "incrby", Arity: 3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdIncrBy, Group: "string", Summary: "Increments the integer value of a key by a number.", Since: "1.0.0"},
		{Name: "decrby", Arity: 3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdDecrBy, Group: "string", Summary: "Decrements a number from the integer value of a key.", Since: "1.0.0"},
		{Name: "incrbyfloat", Arity: 3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdIncrByFloat, Group: "string", Summary: "Increment the floating point value of a key by a number.", Since: "2.6.0"},
		{Name: "getrange", Arity: 4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdGetRange, Group: "string", Summary: "Returns a substring of the string stored at a key.", Since: "2.4.0"},
		{Name: "substr", Arity: 4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdGetRange, Group: "string", Summary: "Returns a substring from a string value.", Since: "1.0.0"},
		{Name: "setrange", Arity: 4, Flags: w, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdSetRange, Group: "string", Summary: "Overwrites a part of a string value with another by an offset.", Since: "2.2.0"},
	}
}

func cmdGet(c *Ctx) {
	v, ok, err := c.Tx.GetString(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	c.hitOrMiss(ok)
	if !ok {
		c.W.Null()
		return
	}
	c.W.Bulk(v)
}

func (c *Ctx) hitOrMiss(hit bool) {
	if hit {
		c.srv.store.Stats().KeyspaceHits.Add(1)
	} else {
		c.srv.store.Stats().KeyspaceMiss.Add(1)
	}
}

// parseExpiry turns an EX/PX/EXAT/PXAT argument into an absolute unix-ms time.
func parseExpiry(c *Ctx, unit string, arg []byte) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.Error(errNotInteger)
		return 0, false
	}
	bad := func() (int64, bool) {
		c.Error("ERR invalid expire time in '" + c.Cmd.Name + "' command")
		return 0, false
	}
	if n <= 0 {
		return bad()
	}
	now := c.Tx.Now()
	switch unit {
	case "ex":
		if n > math.MaxInt64/1000-now/1000 {
			return bad()
		}
		return now + n*1000, true
	case "px":
		if n > math.MaxInt64-now {
			return bad()
		}
		return now + n, true
	case "exat":
		if n > math.MaxInt64/1000 {
			return bad()
		}
		return n * 1000, true
	default: // pxat
		return n, true
	}
}

// stringOpts are the options SET and GETEX share, parsed as Redis's
// parseExtendedStringArgumentsOrReply does: a repeated option is allowed (the last
// expiry wins), conflicting ones are a syntax error, and the expiry's value is checked
// only after every option parsed.
type stringOpts struct {
	nx, xx, get, keepTTL, persist bool
	unit                          string // ex, px, exat, pxat; "" = no expiry given
	expire                        []byte
}

func parseStringOpts(c *Ctx, start int, getex bool) (stringOpts, bool) {
	var o stringOpts
	args := c.Args
	for i := start; i < len(args); i++ {
		a := args[i]
		hasNext := i+1 < len(args)
		switch {
		case !getex && argIs(a, "nx") && !o.xx:
			o.nx = true
		case !getex && argIs(a, "xx") && !o.nx:
			o.xx = true
		case !getex && argIs(a, "get"):
			o.get = true
		case !getex && argIs(a, "keepttl") && !o.persist && o.unit == "":
			o.keepTTL = true
		case getex && argIs(a, "persist") && o.unit == "" && !o.keepTTL:
			o.persist = true
		case (argIs(a, "ex") || argIs(a, "px") || argIs(a, "exat") || argIs(a, "pxat")) &&
			!o.keepTTL && !o.persist && (o.unit == "" || argIs(a, o.unit)) && hasNext:
			o.unit = string(lower(a))
			o.expire = args[i+1]
			i++
		default:
			c.Error(errSyntax)
			return o, false
		}
	}
	return o, true
}

// expireAt resolves the parsed expiry to unix ms; 0 when none was given.
func (o *stringOpts) expireAt(c *Ctx) (int64, bool) {
	if o.unit == "" {
		return 0, true
	}
	return parseExpiry(c, o.unit, o.expire)
}

func cmdSet(c *Ctx) {
	so, ok := parseStringOpts(c, 3, false)
	if !ok {
		return
	}
	at, ok := so.expireAt(c)
	if !ok {
		return
	}
	o := store.SetOptions{NX: so.nx, XX: so.xx, Get: so.get, KeepTTL: so.keepTTL, ExpireAt: at}
	r, err := c.Tx.Set(c.DB, c.Args[1], c.Args[2], o)
	if err != nil {
		c.Fail(err)
		return
	}
	switch {
	case o.Get && r.OldExists:
		c.W.Bulk(r.Old)
	case o.Get:
		c.W.Null()
	case r.Applied:
		c.W.OK()
	default:
		c.W.Null()
	}
}

func lower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		out[i] = ch
	}
	return out
}

func cmdSetNX(c *Ctx) {
	r, err := c.Tx.Set(c.DB, c.Args[1], c.Args[2], store.SetOptions{NX: true})
	if err != nil {
		c.Fail(err)
		return
	}
	if r.Applied {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func setWithTTL(c *Ctx, unit time.Duration) {
	u := "ex"
	if unit == time.Millisecond {
		u = "px"
	}
	at, ok := parseExpiry(c, u, c.Args[2])
	if !ok {
		return
	}
	if _, err := c.Tx.Set(c.DB, c.Args[1], c.Args[3], store.SetOptions{ExpireAt: at}); err != nil {
		c.Fail(err)
		return
	}
	c.W.OK()
}

func cmdGetSet(c *Ctx) {
	r, err := c.Tx.Set(c.DB, c.Args[1], c.Args[2], store.SetOptions{Get: true})
	if err != nil {
		c.Fail(err)
		return
	}
	if r.OldExists {
		c.W.Bulk(r.Old)
	} else {
		c.W.Null()
	}
}

func cmdGetDel(c *Ctx) {
	k, err := c.Tx.LoadType(c.DB, c.Args[1], store.TypeString)
	if err != nil {
		c.Fail(err)
		return
	}
	if !k.Exists() {
		c.W.Null()
		return
	}
	v := k.Meta.Value
	c.Tx.Delete(k)
	c.W.Bulk(v)
}

func cmdGetEx(c *Ctx) {
	so, ok := parseStringOpts(c, 2, true)
	if !ok {
		return
	}
	k, err := c.Tx.LoadType(c.DB, c.Args[1], store.TypeString)
	if err != nil {
		c.Fail(err)
		return
	}
	if !k.Exists() {
		c.W.Null()
		return
	}
	// As in Redis, the expiry is checked only once the key is known to exist.
	at, ok := so.expireAt(c)
	if !ok {
		return
	}
	v := k.Meta.Value
	switch {
	case so.persist:
		if k.Meta.ExpireAt != 0 {
			k.Meta.ExpireAt = 0
			c.Tx.Save(k)
		}
	case so.unit != "" && at <= c.Tx.Now():
		c.Tx.Delete(k)
	case so.unit != "":
		k.Meta.ExpireAt = at
		c.Tx.Save(k)
	}
	c.W.Bulk(v)
}

func cmdMGet(c *Ctx) {
	c.Tx.Snapshot()
	keys := c.Args[1:]
	c.W.Array(len(keys))
	for _, key := range keys {
		v, ok, err := c.Tx.GetString(c.DB, key)
		if err != nil || !ok {
			// MGET answers nil for keys of other types.
			c.W.Null()
			continue
		}
		c.W.Bulk(v)
	}
}

func cmdMSet(c *Ctx) {
	if len(c.Args)%2 != 1 {
		c.WrongArgs(c.Cmd.Name)
		return
	}
	for i := 1; i < len(c.Args); i += 2 {
		if _, err := c.Tx.Set(c.DB, c.Args[i], c.Args[i+1], store.SetOptions{}); err != nil {
			c.Fail(err)
			return
		}
	}
	c.W.OK()
}

func cmdMSetNX(c *Ctx) {
	if len(c.Args)%2 != 1 {
		c.WrongArgs(c.Cmd.Name)
		return
	}
	for i := 1; i < len(c.Args); i += 2 {
		k, err := c.Tx.Load(c.DB, c.Args[i])
		if err != nil {
			c.Fail(err)
			return
		}
		if k.Exists() {
			c.W.Int(0)
			return
		}
	}
	for i := 1; i < len(c.Args); i += 2 {
		if _, err := c.Tx.Set(c.DB, c.Args[i], c.Args[i+1], store.SetOptions{}); err != nil {
			c.Fail(err)
			return
		}
	}
	c.W.Int(1)
}

func cmdAppend(c *Ctx) {
	n, err := c.Tx.Append(c.DB, c.Args[1], c.Args[2])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(int64(n))
}

func cmdStrlen(c *Ctx) {
	v, _, err := c.Tx.GetString(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(int64(len(v)))
}

func incrBy(c *Ctx, delta int64) {
	n, err := c.Tx.IncrBy(c.DB, c.Args[1], delta)
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

func cmdIncrBy(c *Ctx) {
	if d, ok := c.Int(2); ok {
		incrBy(c, d)
	}
}

func cmdDecrBy(c *Ctx) {
	d, ok := c.Int(2)
	if !ok {
		return
	}
	if d == math.MinInt64 {
		c.Error("ERR decrement would overflow")
		return
	}
	incrBy(c, -d)
}

func cmdIncrByFloat(c *Ctx) {
	v, err := c.Tx.IncrByFloat(c.DB, c.Args[1], c.Args[2])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Bulk(v)
}

// clampRange converts Redis's inclusive, possibly negative start/end to [lo, hi) over n.
func clampRange(start, end, n int64) (int64, int64) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return 0, 0
	}
	return start, end + 1
}

func cmdGetRange(c *Ctx) {
	start, ok := c.Int(2)
	if !ok {
		return
	}
	end, ok := c.Int(3)
	if !ok {
		return
	}
	v, _, err := c.Tx.GetString(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	// Redis's getrangeCommand, step by step: unlike LRANGE, an end before the start of
	// the string clamps to 0 instead of making the range empty.
	n := int64(len(v))
	if (start < 0 && end < 0 && start > end) || n == 0 {
		c.W.BulkString("")
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end {
		c.W.BulkString("")
		return
	}
	c.W.Bulk(v[start : end+1])
}

func cmdSetRange(c *Ctx) {
	off, ok := c.Int(2)
	if !ok {
		return
	}
	if off < 0 {
		c.Error("ERR offset is out of range")
		return
	}
	val := c.Args[3]
	k, err := c.Tx.LoadType(c.DB, c.Args[1], store.TypeString)
	if err != nil {
		c.Fail(err)
		return
	}
	cur := k.Meta.Value
	if !k.Exists() {
		cur = nil
	}
	if len(val) == 0 {
		c.W.Int(int64(len(cur)))
		return
	}
	if off > store.MaxStringSize-int64(len(val)) {
		c.Error(errTooLarge)
		return
	}
	n := int(off) + len(val)
	if n < len(cur) {
		n = len(cur)
	}
	nv := make([]byte, n)
	copy(nv, cur)
	copy(nv[off:], val)
	exp := k.Meta.ExpireAt
	c.Tx.Reset(k, store.TypeString)
	k.Meta.Value = nv
	k.Meta.ExpireAt = exp
	c.Tx.Save(k)
	c.W.Int(int64(n))
}

var _ = strconv.Itoa
