package server

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// CLIENT PAUSE holds clients' commands (all of them, or those that write) until a
// deadline or CLIENT UNPAUSE, the way an operator quiesces a master before handing
// over to a follower: with writes paused, the follower's offset stops at the master's
// and it can be promoted without losing anything. Background expiry pauses too, since
// its deletions are writes.

type pauseMode int

const (
	pauseNone pauseMode = iota
	pauseWrite
	pauseAll
)

type pauser struct {
	on    atomic.Bool // a pause may be in force: the fast path of every command
	mu    sync.Mutex
	mode  pauseMode
	until time.Time
	timer *time.Timer
	ended chan struct{} // closed when the current pause ends or changes
	// onChange is told whether a pause is in force (the store's expiry follows it).
	onChange func(paused bool)
}

// pause starts or extends a pause: the newest mode wins and the later deadline, as in
// Redis.
func (p *pauser) pause(mode pauseMode, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == pauseNone || until.After(p.until) {
		p.until = until
	}
	was := p.mode
	p.mode = mode
	p.changed()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(time.Until(p.until), p.expire)
	if was == pauseNone {
		p.on.Store(true)
		if p.onChange != nil {
			p.onChange(true)
		}
	}
}

// unpause ends the pause at once.
func (p *pauser) unpause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.end()
}

func (p *pauser) expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != pauseNone && !time.Now().Before(p.until) {
		p.end()
	}
}

// end clears the pause; p.mu is held.
func (p *pauser) end() {
	if p.mode == pauseNone {
		return
	}
	p.mode = pauseNone
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.on.Store(false)
	p.changed()
	if p.onChange != nil {
		p.onChange(false)
	}
}

// changed wakes everyone waiting on the current pause; p.mu is held.
func (p *pauser) changed() {
	if p.ended != nil {
		close(p.ended)
	}
	p.ended = make(chan struct{})
}

// state returns the mode in force and a channel closed when it changes.
func (p *pauser) state() (pauseMode, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != pauseNone && !time.Now().Before(p.until) {
		p.end()
	}
	return p.mode, p.ended
}

// pausedBy reports whether a pause in mode m holds cmd back for this client.
func (c *Client) pausedBy(m pauseMode, cmd *Command) bool {
	switch m {
	case pauseAll:
		return true
	case pauseWrite:
		// What writes or is passed on: writes, PUBLISH, and an EXEC with queued writes.
		if cmd.Flags&(FlagWrite|FlagMayReplicate) != 0 {
			return true
		}
		if cmd.Name == "exec" && c.multi != nil {
			for _, q := range c.multi.cmds {
				if q.Flags&FlagWrite != 0 {
					return true
				}
			}
		}
	}
	return false
}

// waitPause holds the client until no pause applies to cmd, or it goes away. It
// reports false when the client or the server is gone. Nothing is held meanwhile:
// a pending pipeline batch is committed and the replies before cmd are sent first.
func (c *Client) waitPause(cmd *Command) bool {
	p := &c.srv.pause
	m, ch := p.state()
	if !c.pausedBy(m, cmd) {
		return true
	}
	c.flushBeforeWait()
	c.srv.blockers.n.Add(1)
	defer c.srv.blockers.n.Add(-1)
	for {
		select {
		case <-ch:
		case <-c.closing:
			return false
		case <-c.srv.done:
			return false
		}
		if m, ch = p.state(); !c.pausedBy(m, cmd) {
			c.resumed = time.Now() // the command's time starts now, for SLOWLOG
			return true
		}
	}
}

// runStart is when a command admitted at start began to run: later if it waited for a
// pause.
func (c *Client) runStart(start time.Time) time.Time {
	if c.resumed.IsZero() {
		return start
	}
	start, c.resumed = c.resumed, time.Time{}
	return start
}

// cmdClientPause: CLIENT PAUSE timeout [WRITE|ALL].
func cmdClientPause(c *Ctx) {
	if len(c.Args) > 4 {
		c.Error("ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.")
		return
	}
	ms, err := strconv.ParseInt(string(c.Args[2]), 10, 64)
	if err != nil {
		c.Error("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.Error("ERR timeout is negative")
		return
	}
	mode := pauseAll
	if len(c.Args) == 4 {
		switch {
		case argIs(c.Args[3], "write"):
			mode = pauseWrite
		case argIs(c.Args[3], "all"):
		default:
			c.Error("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	now := time.Now()
	until := now.Add(time.Duration(ms) * time.Millisecond)
	if ms > math.MaxInt64/int64(time.Millisecond) || until.Before(now) {
		until = now.Add(time.Duration(math.MaxInt64))
	}
	c.srv.pause.pause(mode, until)
	c.W.OK()
}

func cmdClientUnpause(c *Ctx) {
	c.srv.pause.unpause()
	c.W.OK()
}

// pausedExpiry follows the pause with the store's background expiry.
func (s *Server) pausedExpiry(paused bool) { s.store.PauseExpire(paused) }
