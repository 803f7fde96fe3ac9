package server

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"

	"github.com/strata-kv/strata/store"
)

// Client is the state of one connection.
type Client struct {
	ID      int64
	srv     *Server
	conn    redcon.Conn
	netConn net.Conn
	// rawQueued: replies were handed to redcon during this handler call, so bytes
	// written to netConn directly would overtake them.
	rawQueued bool
	W         Writer

	DB              int
	authed          bool
	name            atomic.Value // string
	libName, libVer string

	created    time.Time
	lastActive atomic.Int64 // unix ms
	lastCmd    atomic.Value // string

	multi      *multiState
	watched    []store.KeyRef
	watchDirty atomic.Bool

	subs   map[string]struct{}
	psubs  map[string]struct{}
	pusher *pusher // set while subscribed or monitoring: replies and messages leave through it
	// monitoring: in MONITOR mode (atomic: CLIENT LIST reads it from other goroutines)
	monitoring atomic.Bool
	// waited: what the running command spent blocked, left out of its duration
	waited time.Duration

	pipe     pipeline
	quitting bool
	// CLIENT REPLY: replyOff drops every reply; skipping drops the current command's,
	// skipNext the next command's.
	replyOff, skipping, skipNext bool
	replyMark                    int  // where the current command's reply starts in W
	detached                     bool // the connection became a replication stream
	// exempt from the idle timeout: a replication stream, or a client blocked in BLPOP
	// and friends (their own timeout applies), as in Redis
	noIdle atomic.Int32

	replPort    int       // REPLCONF listening-port of a follower
	replIP      string    // REPLCONF ip-address
	lastWriteID uint64    // binlog ID of this client's last write, for WAIT and semi-sync
	resumed     time.Time // when a command held by CLIENT PAUSE was let go
	writeSegs   []replySeg

	closing chan struct{} // closed when the connection goes away
	once    sync.Once
	killed  atomic.Bool
}

type multiState struct {
	queue [][][]byte
	cmds  []*Command
	dirty bool // a queued command was refused: EXEC aborts
}

func newClient(s *Server, conn redcon.Conn) *Client {
	c := &Client{
		ID:      s.nextID.Add(1),
		srv:     s,
		conn:    conn,
		netConn: conn.NetConn(),
		W:       Writer{proto: 2},
		created: time.Now(),
		closing: make(chan struct{}),
	}
	c.authed = s.Config().Server.RequirePass == ""
	c.name.Store("")
	c.lastCmd.Store("NULL")
	c.lastActive.Store(time.Now().UnixMilli())
	return c
}

// Name is the name set by CLIENT SETNAME.
func (c *Client) Name() string { return c.name.Load().(string) }

// kill closes the connection from another goroutine.
func (c *Client) kill() {
	c.killed.Store(true)
	c.once.Do(func() { close(c.closing) })
	_ = c.netConn.Close()
}

// Closing is closed when the client disconnects or is killed.
func (c *Client) Closing() <-chan struct{} { return c.closing }

func (c *Client) cleanup() {
	c.once.Do(func() { close(c.closing) })
	c.unwatch()
	c.srv.pubsub.removeClient(c)
	c.srv.monitors.remove(c)
	if c.pusher != nil {
		c.pusher.close()
	}
}

// waitDurable holds the replies of writes until their records are fsynced, under
// binlog.sync = always. Writes are applied (and their key locks released) before the
// fsync, so one fsync covers everything that connections wrote meanwhile. A failed
// fsync stops writes and turns the replies into the error.
func (c *Client) waitDurable(id uint64) bool {
	s := c.srv
	if s.syncAlways && id != 0 {
		if err := s.binlog.WaitDurable(id); err != nil {
			err = s.store.Fail(fmt.Errorf("binlog fsync: %w", err))
			c.replaceReplies(c.writeSegs, errorText(err))
			return false
		}
	}
	return true
}

// noteWrite remembers a committed write and where its reply starts, for WAIT and
// semi-sync.
func (c *Client) noteWrite(id uint64, mark int) {
	if id == 0 {
		return
	}
	c.lastWriteID = id
	c.writeSegs = append(c.writeSegs, replySeg{start: mark, end: -1})
}

// flush hands the buffered replies to the connection; semi-sync writes wait for their
// followers first.
func (c *Client) flush() { c.flushOut(false) }

// flushOut is flush; now writes them to the socket at once rather than when the
// handler returns.
func (c *Client) flushOut(now bool) {
	if c.detached {
		return
	}
	if len(c.writeSegs) > 0 {
		for i := range c.writeSegs {
			if c.writeSegs[i].end < 0 {
				c.writeSegs[i].end = len(c.W.buf)
			}
		}
		if c.waitDurable(c.lastWriteID) {
			c.waitForFollowers(c.lastWriteID, c.writeSegs)
		}
		c.writeSegs = c.writeSegs[:0]
	}
	if len(c.W.buf) == 0 {
		return
	}
	c.srv.stats.netOutputBytes.Add(int64(len(c.W.buf)))
	switch {
	case c.pusher != nil:
		c.pusher.send(c.W.buf)
		c.W.buf = c.W.buf[:0]
		return
	case now && !c.rawQueued:
		// Nothing waits in redcon's buffer, so the socket gets the replies in order.
		if _, err := c.netConn.Write(c.W.buf); err != nil {
			_ = c.netConn.Close()
		}
	default:
		c.conn.WriteRaw(c.W.buf) // sent when the handler returns
		c.rawQueued = true
	}
	if cap(c.W.buf) > 64<<10 {
		c.W.buf = nil
	} else {
		c.W.buf = c.W.buf[:0]
	}
}

// flushBeforeWait sends the replies of the commands before the current one, as Redis
// does before a client blocks or is paused: a pipelining client may be waiting for
// them. A pending pipeline batch is committed first.
func (c *Client) flushBeforeWait() {
	c.endBatch()
	if c.W.Len() != c.replyMark {
		return // the current command has started its reply: keep it whole
	}
	c.flushOut(true)
	c.replyMark = c.W.Len()
}

// execute runs one command from the wire.
func (c *Client) execute(args [][]byte, start time.Time) {
	c.replyMark = c.W.Len()
	defer c.afterCommand()
	cmd := c.admit(args)
	if cmd == nil {
		return
	}
	start = c.runStart(start)
	if cmd.Flags&FlagBlocking != 0 {
		c.srv.feedMonitors(c, cmd, args, false) // shown when it starts, as Redis does
	}
	c.run(cmd, args, nil)
	c.srv.recordCall(cmd, args, time.Since(start), c)
}

// afterCommand applies CLIENT REPLY to the current command's reply, and moves a SKIP
// on to the command after the one that asked for it.
func (c *Client) afterCommand() {
	if c.replyOff || c.skipping {
		c.dropReplies(c.replyMark)
	}
	c.skipping, c.skipNext = c.skipNext, false
}

// dropReplies removes what was written since mark, and the records that would wait for
// or rewrite those replies.
func (c *Client) dropReplies(mark int) {
	if c.W.Len() <= mark {
		return
	}
	c.W.Truncate(mark)
	for n := len(c.pipe.segs); n > 0 && c.pipe.segs[n-1].start >= mark; n-- {
		c.pipe.segs = c.pipe.segs[:n-1]
	}
	for n := len(c.writeSegs); n > 0 && c.writeSegs[n-1].start >= mark; n-- {
		c.writeSegs = c.writeSegs[:n-1]
	}
}

// admit is the single place where arity, auth, MULTI queueing, subscribed mode, the
// read-only rule and CLIENT PAUSE are enforced. It returns the command to run now, or nil when it has
// already answered (an error, or QUEUED).
func (c *Client) admit(args [][]byte) *Command {
	s := c.srv
	n := 0
	for _, a := range args {
		n += len(a)
	}
	s.stats.netInputBytes.Add(int64(n))
	cmd := s.table.Lookup(args[0])
	if cmd == nil {
		c.refuse(unknownCommandText(args))
		return nil
	}
	c.lastCmd.Store(cmd.Name)
	if !cmd.arityOK(len(args)) {
		msg := "wrong number of arguments for '" + cmd.Name + "' command"
		if cmd.Name == "exec" {
			// Redis aborts the transaction when EXEC itself is refused.
			c.multi = nil
			c.unwatch()
			c.W.Error("EXECABORT Transaction discarded because of: " + msg)
			return nil
		}
		c.refuse("ERR " + msg)
		return nil
	}
	if !c.authed && cmd.Flags&FlagNoAuth == 0 {
		c.refuse(errNoAuth)
		return nil
	}
	if c.W.proto < 3 && c.subscribed() && cmd.Flags&FlagSubscribed == 0 {
		c.W.Error("ERR Can't execute '" + cmd.Name +
			"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return nil
	}
	if c.monitoring.Load() && effective(cmd, args).Flags&(FlagReadOnly|FlagWrite|FlagMayReplicate) != 0 {
		c.refuse(errMonitorKeyspace)
		return nil
	}
	if f := s.repl.follower.Load(); f != nil {
		if cmd.Flags&FlagWrite != 0 {
			c.refuse(errReadOnly)
			return nil
		}
		if cmd.Flags&FlagStale == 0 && !f.LinkUp() && !s.Config().Replication.ReplicaServeStaleData {
			c.refuse("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
			return nil
		}
	}
	if s.pause.on.Load() && !c.waitPause(cmd) {
		return nil
	}
	if c.multi != nil && cmd.Flags&FlagNoMulti == 0 {
		c.multi.queue = append(c.multi.queue, cloneArgs(args))
		c.multi.cmds = append(c.multi.cmds, cmd)
		c.W.Simple("QUEUED")
		return nil
	}
	return cmd
}

// refuse answers an error for a command that cannot run; inside MULTI it also dooms
// the transaction, as Redis does.
func (c *Client) refuse(msg string) {
	if c.multi != nil {
		c.multi.dirty = true
	}
	c.W.Error(msg)
}

// run executes one command. With tx nil it takes the command's locks, opens a
// transaction and commits it; inside EXEC it runs on EXEC's transaction.
func (c *Client) run(cmd *Command, args [][]byte, tx *store.Tx) {
	ctx := Ctx{Client: c, Args: args, Cmd: cmd}
	if tx != nil {
		ctx.Tx = tx
		ctx.InExec = true
		sp := tx.Mark()
		cmd.Handler(&ctx)
		if ctx.failed {
			tx.Rollback(sp)
		}
		return
	}
	c.replyMark = c.W.Len() // after any pipeline batch was committed (and its replies fixed)
	if cmd.Flags&FlagWrite == 0 || cmd.Flags&FlagBlocking != 0 {
		// Reads take no locks; blocking commands lock around each attempt themselves.
		ctx.Tx = c.srv.store.Begin()
		ctx.Tx.ForRead(cmd.Flags&FlagWrite == 0)
		cmd.Handler(&ctx)
		if !ctx.failed && ctx.Tx.Dirty() {
			c.commit(&ctx, 0)
		}
		ctx.Tx.Close()
		return
	}
	global := cmd.Flags&FlagGlobal != 0
	var unlock store.Unlocker
	if global {
		unlock = c.srv.store.LockAll()
	} else {
		unlock = c.srv.store.LockKeys(c.DB, cmd.KeysOf(args)...)
	}
	locked := true
	release := func() {
		if locked {
			locked = false
			unlock()
		}
	}
	defer release() // deferred: a panicking handler must not leave keys locked
	mark := c.W.Len()
	ctx.Tx = c.srv.store.Begin()
	defer ctx.Tx.Close()
	cmd.Handler(&ctx)
	if ctx.failed || !ctx.Tx.Dirty() {
		return
	}
	if global {
		// Whole-database changes (FLUSHDB) cannot be shown through the overlay of
		// queued writes: they are applied before anyone else may write.
		c.commit(&ctx, mark)
		return
	}
	// The write is visible to others once queued, so the keys are released before it
	// reaches disk: the next writer of a hot key joins the same group.
	p := c.srv.store.Submit(ctx.Tx)
	release()
	id, err := c.srv.store.Wait(p)
	c.finishCommit(&ctx, mark, id, err)
}

// commit commits the context's transaction; on failure the reply written since mark
// is replaced with the error, so a client is never told a failed write succeeded.
func (c *Client) commit(ctx *Ctx, mark int) {
	id, err := c.srv.store.CommitID(ctx.Tx)
	c.finishCommit(ctx, mark, id, err)
}

func (c *Client) finishCommit(ctx *Ctx, mark int, id uint64, err error) {
	if err == nil {
		c.noteWrite(id, mark)
		return
	}
	c.srv.log.Error().Err(err).Str("cmd", ctx.Cmd.Name).Msg("commit failed")
	c.W.Truncate(mark)
	ctx.Error(errorText(err))
}

func (c *Client) subscribed() bool { return len(c.subs)+len(c.psubs) > 0 }

func cloneArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = append([]byte(nil), a...)
	}
	return out
}

func unknownCommandText(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(truncArg(args[0]))
	b.WriteString("', with args beginning with: ")
	for _, a := range args[1:] {
		b.WriteString("'")
		b.WriteString(truncArg(a))
		b.WriteString("' ")
	}
	return b.String()
}

func truncArg(a []byte) string {
	if len(a) > 128 {
		a = a[:128]
	}
	return string(a)
}

// recordCall accounts for a command from the wire once it ran: statistics, SLOWLOG,
// LATENCY, and the monitors (which saw a blocking command when it started).
func (s *Server) recordCall(cmd *Command, args [][]byte, d time.Duration, c *Client) {
	// A blocked command's wait is not time it ran, as in Redis.
	d, c.waited = max(d-c.waited, 0), 0
	s.stats.commandsProcessed.Add(1)
	cmd.calls.Add(1)
	cmd.usec.Add(d.Microseconds())
	s.slowlog.maybeAdd(s, d, args, c)
	if s.latency.reaches(d) {
		event := "command"
		if effective(cmd, args).Flags&FlagFast != 0 {
			event = "fast-command"
		}
		s.latency.add(event, d.Milliseconds(), time.Now().Unix())
	}
	if cmd.Flags&FlagBlocking == 0 {
		s.feedMonitors(c, cmd, args, false)
	}
}
