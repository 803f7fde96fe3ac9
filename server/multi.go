package server

import (
	"sync"
	"sync/atomic"

	"github.com/strata-kv/strata/store"
)

func transactionCommands() []*Command {
	return []*Command{
		{Name: "multi", Arity: 1, Flags: FlagNoMulti | FlagFast | FlagStale, Handler: cmdMulti, Group: "transactions", Summary: "Starts a transaction.", Since: "1.2.0"},
		{Name: "exec", Arity: 1, Flags: FlagNoMulti | FlagStale, Handler: cmdExec, Group: "transactions", Summary: "Executes all commands in a transaction.", Since: "1.2.0"},
		{Name: "discard", Arity: 1, Flags: FlagNoMulti | FlagFast | FlagStale, Handler: cmdDiscard, Group: "transactions", Summary: "Discards a transaction.", Since: "2.0.0"},
		{Name: "watch", Arity: -2, Flags: FlagNoMulti | FlagFast | FlagStale, FirstKey: 1, LastKey: -1, Step: 1, Handler: cmdWatch, Group: "transactions", Summary: "Monitors changes to keys to determine the execution of a transaction.", Since: "2.2.0"},
		{Name: "unwatch", Arity: 1, Flags: FlagFast | FlagStale, Handler: cmdUnwatch, Group: "transactions", Summary: "Forgets about watched keys of a transaction.", Since: "2.2.0"},
	}
}

func cmdMulti(c *Ctx) {
	if c.multi != nil {
		c.Error("ERR MULTI calls can not be nested")
		return
	}
	c.multi = &multiState{}
	c.W.OK()
}

func cmdDiscard(c *Ctx) {
	if c.multi == nil {
		c.Error("ERR DISCARD without MULTI")
		return
	}
	c.multi = nil
	c.unwatch()
	c.W.OK()
}

// cmdExec runs the queued commands on one transaction under the exclusive lock, so
// they are isolated from other writers and reach disk in one atomic write.
func cmdExec(c *Ctx) {
	m := c.multi
	if m == nil {
		c.Error("ERR EXEC without MULTI")
		return
	}
	c.multi = nil
	if m.dirty {
		c.unwatch()
		c.Error("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	unlock := c.srv.store.LockAll()
	defer unlock()
	c.srv.store.Barrier() // writes queued before the lock have marked their watchers
	dirty := c.watchDirty.Load()
	c.unwatch()
	if dirty {
		c.W.NullArray()
		return
	}
	mark := c.W.Len()
	tx := c.srv.store.Begin()
	defer tx.Close()
	c.W.Array(len(m.queue))
	for i, args := range m.queue {
		cmd := m.cmds[i]
		if cmd.Flags&FlagWrite != 0 && c.srv.readOnlyFor(c.Client) {
			c.W.Error(errReadOnly)
			continue
		}
		c.run(cmd, args, tx)
		c.srv.feedMonitors(c.Client, cmd, args, true)
	}
	if tx.Dirty() {
		id, err := c.srv.store.CommitID(tx)
		if err != nil {
			c.W.Truncate(mark)
			c.Error(errorText(err))
			return
		}
		c.noteWrite(id, mark)
	}
}

func cmdWatch(c *Ctx) {
	if c.multi != nil {
		c.Error("ERR WATCH inside MULTI is not allowed")
		return
	}
	for _, k := range c.Args[1:] {
		c.srv.watches.add(c.Client, store.KeyRef{DB: c.DB, Key: string(k)})
	}
	c.W.OK()
}

func cmdUnwatch(c *Ctx) {
	c.unwatch()
	c.W.OK()
}

func (c *Client) unwatch() {
	if len(c.watched) > 0 {
		c.srv.watches.remove(c)
	}
	c.watchDirty.Store(false)
}

// watchRegistry maps watched keys to the clients watching them.
type watchRegistry struct {
	mu   sync.Mutex
	n    atomic.Int64 // number of watched keys, to skip the lock when nobody watches
	keys map[store.KeyRef]map[*Client]struct{}
	dbs  [store.Databases]int // watchers per db, for FLUSHDB
}

func (r *watchRegistry) init() { r.keys = map[store.KeyRef]map[*Client]struct{}{} }

func (r *watchRegistry) add(c *Client, k store.KeyRef) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.keys[k]
	if set == nil {
		set = map[*Client]struct{}{}
		r.keys[k] = set
	}
	if _, ok := set[c]; ok {
		return
	}
	set[c] = struct{}{}
	c.watched = append(c.watched, k)
	r.dbs[k.DB]++
	r.n.Add(1)
}

func (r *watchRegistry) remove(c *Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range c.watched {
		if set := r.keys[k]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(r.keys, k)
			}
			r.dbs[k.DB]--
			r.n.Add(-1)
		}
	}
	c.watched = nil
}

// touch marks every client watching one of keys.
func (r *watchRegistry) touch(keys []store.KeyRef) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if k.Flush {
			continue // touchExisting ran before the flush
		}
		if k.All {
			if r.dbs[k.DB] == 0 {
				continue
			}
			for wk, set := range r.keys {
				if wk.DB == k.DB {
					for c := range set {
						c.watchDirty.Store(true)
					}
				}
			}
			continue
		}
		for c := range r.keys[k] {
			c.watchDirty.Store(true)
		}
	}
}

// touchExisting marks the watchers of watched keys of db that exist, before FLUSHDB or
// FLUSHALL drops them: Redis aborts only the transactions whose watched key existed.
func (r *watchRegistry) touchExisting(db int, exists func(key string) bool) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dbs[db] == 0 {
		return
	}
	for wk, set := range r.keys {
		if wk.DB != db || !exists(wk.Key) {
			continue
		}
		for c := range set {
			c.watchDirty.Store(true)
		}
	}
}
