package server

import (
	"errors"
	"math"
	"strconv"

	"github.com/strata-kv/strata/store"
)

const errSameObject = "ERR source and destination objects are the same"

func keyCommands() []*Command {
	w, r := FlagWrite, FlagReadOnly
	cmds := []*Command{
		{Name: "del", Arity: -2, Flags: w, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdDel, Group: "generic", Summary: "Deletes one or more keys.", Since: "1.0.0"},
		{Name: "unlink", Arity: -2, Flags: w | FlagFast, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdDel, Group: "generic", Summary: "Asynchronously deletes one or more keys.", Since: "4.0.0"},
		{Name: "exists", Arity: -2, Flags: r | FlagFast, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdExists, Group: "generic", Summary: "Determines whether one or more keys exist.", Since: "1.0.0"},
		// Redis's TOUCH updates the keys' access time for eviction; there is none here.
		{Name: "touch", Arity: -2, Flags: r | FlagFast, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdExists, Group: "generic", Summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.", Since: "3.2.1"},
		{Name: "type", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdType, Group: "generic", Summary: "Determines the type of value stored at a key.", Since: "1.0.0"},
		{Name: "expire", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { expireGeneric(c, true, 1000) }, Group: "generic", Summary: "Sets the expiration time of a key in seconds.", Since: "1.0.0"},
		{Name: "pexpire", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { expireGeneric(c, true, 1) }, Group: "generic", Summary: "Sets the expiration time of a key in milliseconds.", Since: "2.6.0"},
		{Name: "expireat", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { expireGeneric(c, false, 1000) }, Group: "generic", Summary: "Sets the expiration time of a key to a Unix timestamp.", Since: "1.2.0"},
		{Name: "pexpireat", Arity: -3, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { expireGeneric(c, false, 1) }, Group: "generic", Summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.", Since: "2.6.0"},
		{Name: "ttl", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { ttlGeneric(c, false, false) }, Group: "generic", Summary: "Returns the expiration time in seconds of a key.", Since: "1.0.0"},
		{Name: "pttl", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { ttlGeneric(c, true, false) }, Group: "generic", Summary: "Returns the expiration time in milliseconds of a key.", Since: "2.6.0"},
		{Name: "expiretime", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { ttlGeneric(c, false, true) }, Group: "generic", Summary: "Returns the expiration time of a key as a Unix timestamp.", Since: "7.0.0"},
		{Name: "pexpiretime", Arity: 2, Flags: r | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: func(c *Ctx) { ttlGeneric(c, true, true) }, Group: "generic", Summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.", Since: "7.0.0"},
		{Name: "persist", Arity: 2, Flags: w | FlagFast, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdPersist, Group: "generic", Summary: "Removes the expiration time of a key.", Since: "2.2.0"},
		{Name: "keys", Arity: 2, Flags: r, Handler: cmdKeys, Group: "generic", Summary: "Returns all key names that match a pattern.", Since: "1.0.0"},
		{Name: "scan", Arity: -2, Flags: r, Handler: cmdScan, Group: "generic", Summary: "Iterates over the key names in the database.", Since: "2.8.0"},
		{Name: "randomkey", Arity: 1, Flags: r, Handler: cmdRandomKey, Group: "generic", Summary: "Returns a random key name from the database.", Since: "1.0.0"},
		{Name: "rename", Arity: 3, Flags: w, FirstKey: 1, LastKey: 2, Step: 1, Handler: func(c *Ctx) { renameGeneric(c, false) }, Group: "generic", Summary: "Renames a key and overwrites the destination.", Since: "1.0.0"},
		{Name: "renamenx", Arity: 3, Flags: w | FlagFast, FirstKey: 1, LastKey: 2, Step: 1, Handler: func(c *Ctx) { renameGeneric(c, true) }, Group: "generic", Summary: "Renames a key only when the target key name doesn't exist.", Since: "1.0.0"},
		// COPY ... DB n and MOVE write to a second database, whose keys the per-database
		// key locks cannot name: they take the global lock.
		{Name: "copy", Arity: -3, Flags: w | FlagDenyOOM | FlagGlobal, FirstKey: 1, LastKey: 2, Step: 1, Handler: cmdCopy, Group: "generic", Summary: "Copies the value of a key to a new key.", Since: "6.2.0"},
		{Name: "move", Arity: 3, Flags: w | FlagFast | FlagGlobal, FirstKey: 1, LastKey: 1, Step: 1, Handler: cmdMove, Group: "generic", Summary: "Moves a key to another database.", Since: "1.0.0"},
		{Name: "dbsize", Arity: 1, Flags: r | FlagFast, Handler: cmdDBSize, Group: "server", Summary: "Returns the number of keys in the database.", Since: "1.0.0"},
		{Name: "flushdb", Arity: -1, Flags: w | FlagGlobal, Handler: func(c *Ctx) { flushGeneric(c, false) }, Group: "server", Summary: "Removes all keys from the current database.", Since: "1.0.0"},
		{Name: "flushall", Arity: -1, Flags: w | FlagGlobal, Handler: func(c *Ctx) { flushGeneric(c, true) }, Group: "server", Summary: "Removes all keys from all databases.", Since: "1.0.0"},
	}
	return append(cmds, bitCommands()...)
}

func cmdDel(c *Ctx) {
	n := int64(0)
	for _, key := range c.Args[1:] {
		k, err := c.Tx.Load(c.DB, key)
		if err != nil {
			c.Fail(err)
			return
		}
		if c.Tx.Delete(k) {
			n++
		}
	}
	c.W.Int(n)
}

func cmdExists(c *Ctx) {
	if len(c.Args) > 2 {
		c.Tx.Snapshot()
	}
	n := int64(0)
	for _, key := range c.Args[1:] {
		k, err := c.Tx.Load(c.DB, key)
		if err != nil {
			c.Fail(err)
			return
		}
		if k.Exists() {
			n++
		}
	}
	c.W.Int(n)
}

func cmdType(c *Ctx) {
	k, err := c.Tx.Load(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Simple(k.Meta.Type.String())
}

// expireGeneric implements EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: relative says the
// time counts from now, unit is the milliseconds in one unit of the argument.
func expireGeneric(c *Ctx, relative bool, unit int64) {
	var nx, xx, gt, lt bool
	for _, a := range c.Args[3:] {
		switch {
		case argIs(a, "nx"):
			nx = true
		case argIs(a, "xx"):
			xx = true
		case argIs(a, "gt"):
			gt = true
		case argIs(a, "lt"):
			lt = true
		default:
			c.Error("ERR Unsupported option " + string(a))
			return
		}
	}
	if nx && (xx || gt || lt) {
		c.Error("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if gt && lt {
		c.Error("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := c.Int(2)
	if !ok {
		return
	}
	badTime := func() { c.Error("ERR invalid expire time in '" + c.Cmd.Name + "' command") }
	if unit != 1 {
		if when > math.MaxInt64/unit || when < math.MinInt64/unit {
			badTime()
			return
		}
		when *= unit
	}
	if relative {
		base := c.Tx.Now()
		if when > math.MaxInt64-base {
			badTime()
			return
		}
		when += base
	}
	k, err := c.Tx.Load(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	if !k.Exists() {
		c.W.Int(0)
		return
	}
	cur := k.Meta.ExpireAt // 0: no expiry, an infinite TTL for GT and LT
	if (nx && cur != 0) || (xx && cur == 0) || (gt && (cur == 0 || when <= cur)) || (lt && cur != 0 && when >= cur) {
		c.W.Int(0)
		return
	}
	if when <= c.Tx.Now() {
		c.Tx.Delete(k)
	} else {
		k.Meta.ExpireAt = when
		c.Tx.Save(k)
	}
	c.W.Int(1)
}

// ttlGeneric implements TTL, PTTL, EXPIRETIME and PEXPIRETIME.
func ttlGeneric(c *Ctx, ms, abs bool) {
	k, err := c.Tx.Load(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	switch {
	case !k.Exists():
		c.W.Int(-2)
		return
	case k.Meta.ExpireAt == 0:
		c.W.Int(-1)
		return
	}
	t := k.Meta.ExpireAt
	if !abs {
		t -= c.Tx.Now()
	}
	if t < 0 {
		t = 0
	}
	if !ms {
		// Unsigned, as Redis's arithmetic ends up: a PEXPIREAT near 2^63 still rounds.
		t = int64((uint64(t) + 500) / 1000)
	}
	c.W.Int(t)
}

func cmdPersist(c *Ctx) {
	k, err := c.Tx.Load(c.DB, c.Args[1])
	if err != nil {
		c.Fail(err)
		return
	}
	if !k.Exists() || k.Meta.ExpireAt == 0 {
		c.W.Int(0)
		return
	}
	k.Meta.ExpireAt = 0
	c.Tx.Save(k)
	c.W.Int(1)
}

// globPrefix is the literal prefix every name matching the glob pattern p starts with,
// so that KEYS and SCAN seek to it instead of walking the whole database.
func globPrefix(p []byte) []byte {
	for i, ch := range p {
		switch ch {
		case '*', '?', '[', '\\':
			return p[:i]
		}
	}
	return p
}

func cmdKeys(c *Ctx) {
	pat := c.Args[1]
	all := len(pat) == 1 && pat[0] == '*'
	var out [][]byte
	_, err := c.Tx.ScanKeys(c.DB, globPrefix(pat), nil, 0, func(name []byte, _ store.Type) {
		if all || globMatch(pat, name, false) {
			out = append(out, append([]byte(nil), name...))
		}
	})
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Array(len(out))
	for _, k := range out {
		c.W.Bulk(k)
	}
}

func cmdScan(c *Ctx) {
	a, ok := parseScanArgs(c, 1, true)
	if !ok {
		return
	}
	var resume []byte
	if a.cursor != 0 {
		resume = c.srv.cursors.loadCursor(a.cursor)
		// A cursor handed out for another database restarts from the beginning.
		if len(resume) < 2 || resume[1] != byte(c.DB) {
			resume = nil
		}
	}
	var out [][]byte
	next, err := c.Tx.ScanKeys(c.DB, globPrefix(a.match), resume, a.count, func(name []byte, t store.Type) {
		if a.typ != "" && t.String() != a.typ {
			return
		}
		if a.match != nil && !globMatch(a.match, name, false) {
			return
		}
		out = append(out, append([]byte(nil), name...))
	})
	if err != nil {
		c.Fail(err)
		return
	}
	cursor := uint64(0)
	if next != nil {
		cursor = c.srv.cursors.saveCursor(next)
	}
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(cursor, 10))
	c.W.Array(len(out))
	for _, k := range out {
		c.W.Bulk(k)
	}
}

func cmdRandomKey(c *Ctx) {
	k, err := c.Tx.RandomKey(c.DB)
	if err != nil {
		c.Fail(err)
		return
	}
	if k == nil {
		c.W.Null()
		return
	}
	c.W.Bulk(k)
}

func renameGeneric(c *Ctx, nx bool) {
	ok, err := c.Tx.Rename(c.DB, c.Args[1], c.Args[2], nx)
	if err != nil {
		c.Fail(err)
		return
	}
	if !nx {
		c.W.OK()
		return
	}
	c.W.Int(int01(ok))
}

// parseDB parses a database index argument with Redis's errors.
func parseDB(c *Ctx, arg []byte) (int, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.Error(errNotInteger)
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		c.Error("ERR value is out of range, value must between -2147483648 and 2147483647")
		return 0, false
	}
	if n < 0 || n >= store.Databases {
		c.Error(errDBIndex)
		return 0, false
	}
	return int(n), true
}

func cmdCopy(c *Ctx) {
	dstDB, replace := c.DB, false
	for i := 3; i < len(c.Args); i++ {
		switch {
		case argIs(c.Args[i], "replace"):
			replace = true
		case argIs(c.Args[i], "db") && i+1 < len(c.Args):
			db, ok := parseDB(c, c.Args[i+1])
			if !ok {
				return
			}
			dstDB = db
			i++
		default:
			c.Error(errSyntax)
			return
		}
	}
	ok, err := c.Tx.Copy(c.DB, c.Args[1], dstDB, c.Args[2], replace)
	if errors.Is(err, store.ErrSameObject) {
		c.Error(errSameObject)
		return
	}
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(int01(ok))
}

func cmdMove(c *Ctx) {
	db, ok := parseDB(c, c.Args[2])
	if !ok {
		return
	}
	moved, err := c.Tx.Move(c.DB, c.Args[1], db)
	if errors.Is(err, store.ErrSameObject) {
		c.Error(errSameObject)
		return
	}
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(int01(moved))
}

func cmdDBSize(c *Ctx) { c.W.Int(c.Tx.DBSize(c.DB)) }

// flushGeneric implements FLUSHDB and FLUSHALL. ASYNC and SYNC are accepted; both drop
// the data with range deletions, which is already constant-time.
func flushGeneric(c *Ctx, all bool) {
	if len(c.Args) > 2 || (len(c.Args) == 2 && !argIs(c.Args[1], "async") && !argIs(c.Args[1], "sync")) {
		c.Error(errSyntax)
		return
	}
	for db := 0; db < store.Databases; db++ {
		if all || db == c.DB {
			c.srv.watches.touchExisting(db, func(key string) bool {
				k, err := c.Tx.Load(db, []byte(key))
				return err != nil || k.Exists()
			})
		}
	}
	if !all {
		c.Tx.Flush(c.DB)
	} else {
		c.Tx.FlushAll()
	}
	c.W.OK()
}

// int01 turns a yes/no answer into the integer reply Redis gives for it (RENAMENX, COPY,
// MOVE, HSETNX and SISMEMBER answer :1/:0 in RESP3 too, not booleans).
func int01(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
