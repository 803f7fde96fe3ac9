package server

import (
	"time"

	"github.com/tidwall/redcon"

	"github.com/strata-kv/strata/store"
)

// pipeline lets the commands one read brought in share a transaction, key locks and a
// single commit, so pipelined writes cost one RocksDB write instead of one each.
// Replies are held until the commit; if it fails, each write's reply becomes the error.
type pipeline struct {
	tx    *store.Tx
	locks *store.LockSet
	segs  []replySeg // replies of writes waiting for the commit
}

type replySeg struct{ start, end int }

// executePipeline runs several commands received together; start is when the first
// one began, and each command ends when the next begins (one clock read per command).
func (c *Client) executePipeline(cmds []redcon.Command, start time.Time) {
	for _, rc := range cmds {
		if c.quitting {
			break
		}
		c.replyMark = c.W.Len()
		cmd := c.admit(rc.Args)
		if cmd == nil {
			c.afterCommand()
			continue
		}
		start = c.runStart(start)
		if c.batchable(cmd) {
			c.runBatched(cmd, rc.Args)
		} else {
			c.endBatch()
			if cmd.Flags&FlagBlocking != 0 {
				c.srv.feedMonitors(c, cmd, rc.Args, false) // shown when it starts, as Redis does
			}
			c.run(cmd, rc.Args, nil)
		}
		c.afterCommand()
		end := time.Now()
		c.srv.recordCall(cmd, rc.Args, end.Sub(start), c)
		start = end
	}
	c.endBatch()
}

// batchable: plain reads and key-addressed writes. Anything that blocks, locks the
// world, changes connection state or talks to subscribers ends the batch first.
func (c *Client) batchable(cmd *Command) bool {
	if cmd.Flags&(FlagBlocking|FlagGlobal|FlagNoMulti|FlagPubSub) != 0 || c.pusher != nil {
		return false
	}
	return cmd.Flags&(FlagWrite|FlagReadOnly) != 0
}

func (c *Client) runBatched(cmd *Command, args [][]byte) {
	p := &c.pipe
	if p.tx == nil {
		p.tx = c.srv.store.Begin()
		if p.locks == nil {
			p.locks = c.srv.store.NewLockSet()
		}
	}
	write := cmd.Flags&FlagWrite != 0
	if write {
		keys := cmd.KeysOf(args)
		if !p.locks.TryAdd(c.DB, keys...) {
			// Another client holds one of the keys: finish what we have, then wait.
			c.endBatch()
			p.tx = c.srv.store.Begin()
			p.locks.Add(c.DB, keys...)
		}
	}
	start := c.W.Len()
	c.replyMark = start
	ctx := Ctx{Client: c, Args: args, Cmd: cmd, Tx: p.tx}
	sp := p.tx.Mark()
	p.tx.ForRead(!write)
	cmd.Handler(&ctx)
	if ctx.failed {
		p.tx.Rollback(sp)
		return
	}
	if write && len(p.tx.Ops()) > sp.Ops() {
		p.segs = append(p.segs, replySeg{start, c.W.Len()})
	}
}

// endBatch commits the pending pipeline transaction and releases its locks.
func (c *Client) endBatch() {
	p := &c.pipe
	if p.tx == nil {
		return
	}
	if p.tx.Dirty() {
		pend := c.srv.store.Submit(p.tx)
		p.locks.Release()
		id, err := c.srv.store.Wait(pend)
		if err != nil {
			c.srv.log.Error().Err(err).Msg("pipeline commit failed")
			c.replaceReplies(p.segs, errorText(err))
		} else if id != 0 {
			c.lastWriteID = id
			c.writeSegs = append(c.writeSegs, p.segs...)
		}
	}
	p.tx.Close()
	p.tx = nil
	p.locks.Release()
	p.segs = p.segs[:0]
}

// abortBatch drops the pending pipeline transaction without committing it.
func (c *Client) abortBatch() {
	p := &c.pipe
	if p.tx == nil {
		return
	}
	p.tx.Close()
	p.tx = nil
	p.locks.Release()
	p.segs = p.segs[:0]
}

// replaceReplies swaps the given reply segments of the output buffer for an error.
func (c *Client) replaceReplies(segs []replySeg, msg string) {
	if len(segs) == 0 {
		return
	}
	var e Writer
	e.Error(msg)
	old := c.W.buf
	out := make([]byte, 0, len(old))
	prev := 0
	for _, s := range segs {
		out = append(out, old[prev:s.start]...)
		out = append(out, e.buf...)
		prev = s.end
	}
	out = append(out, old[prev:]...)
	c.W.buf = out
}
