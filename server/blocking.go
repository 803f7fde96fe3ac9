package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/strata-kv/strata/store"
)

// blockRegistry wakes clients blocked in BLPOP and friends when a key they wait on is
// written. Clients are served first come, first served, as in Redis: a write wakes only
// the longest-waiting client of the key, and a client that leaves the line (served,
// timed out, gone) wakes the next one, which finds whatever is left.
type blockRegistry struct {
	mu      sync.Mutex
	n       atomic.Int64
	waiters map[store.KeyRef][]*waiter // in the order the clients blocked
	dbs     [store.Databases]int
	closed  bool
}

type waiter struct {
	ch   chan struct{}
	keys []store.KeyRef
}

func (r *blockRegistry) init() { r.waiters = map[store.KeyRef][]*waiter{} }

func (r *blockRegistry) register(keys []store.KeyRef) *waiter {
	w := &waiter{ch: make(chan struct{}, 1), keys: keys}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		close(w.ch)
		return w
	}
	for _, k := range keys {
		r.waiters[k] = append(r.waiters[k], w)
		r.dbs[k.DB]++
	}
	r.n.Add(1)
	return w
}

func (r *blockRegistry) unregister(w *waiter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for _, k := range w.keys {
		line := r.waiters[k]
		for i, x := range line {
			if x == w {
				line = append(line[:i:i], line[i+1:]...)
				break
			}
		}
		if len(line) == 0 {
			delete(r.waiters, k)
		} else {
			r.waiters[k] = line
			wake(line[0]) // the next in line looks for what may be left
		}
		r.dbs[k.DB]--
	}
	r.n.Add(-1)
}

func (r *blockRegistry) signal(keys []store.KeyRef) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if k.All {
			if r.dbs[k.DB] == 0 {
				continue
			}
			for wk, line := range r.waiters {
				if wk.DB == k.DB {
					wake(line[0])
				}
			}
			continue
		}
		if line := r.waiters[k]; len(line) > 0 {
			wake(line[0])
		}
	}
}

func wake(w *waiter) {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func (r *blockRegistry) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, line := range r.waiters {
		for _, w := range line {
			wake(w)
		}
	}
}

// errBlockTimeout is returned by block when the timeout passed with nothing served.
var errBlockTimeout = errors.New("server: block timeout")

// block serves a blocking command: it calls attempt with keys locked until attempt
// reports it served the client, the timeout passes (0 = forever), the client goes away
// or the server stops. attempt writes the reply when it serves; on timeout the caller
// writes the null reply. Inside EXEC it tries once and never waits.
func (c *Ctx) block(keys [][]byte, timeout time.Duration, attempt func(tx *store.Tx) bool) error {
	if c.InExec {
		if attempt(c.Tx) {
			return nil
		}
		return errBlockTimeout
	}
	c.noIdle.Add(1)
	defer c.noIdle.Add(-1)
	refs := make([]store.KeyRef, len(keys))
	for i, k := range keys {
		refs[i] = store.KeyRef{DB: c.DB, Key: string(k)}
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	var w *waiter
	defer func() {
		if w != nil {
			c.srv.blockers.unregister(w)
		}
	}()
	alive := time.NewTicker(200 * time.Millisecond)
	defer alive.Stop()
	for {
		served, err := c.tryLocked(keys, attempt)
		if err != nil || served {
			return err
		}
		if w == nil {
			// Register, then try once more, so a push between the two is not missed.
			w = c.srv.blockers.register(refs)
			c.flushBeforeWait()
			continue
		}
		waitStart, stop := time.Now(), false
		select {
		case <-w.ch:
			c.blockedRetry = true
		case <-deadline:
			stop = true
		case <-c.closing:
			stop = true
		case <-c.srv.done:
			stop = true
		case <-alive.C:
			stop = c.peerGone()
		}
		c.waited += time.Since(waitStart)
		if stop {
			return errBlockTimeout
		}
	}
}

// tryLocked runs attempt once under the keys' locks and commits what it wrote.
func (c *Ctx) tryLocked(keys [][]byte, attempt func(tx *store.Tx) bool) (bool, error) {
	unlock := c.srv.store.LockKeys(c.DB, keys...)
	defer unlock()
	tx := c.srv.store.Begin()
	defer tx.Close()
	mark := c.W.Len()
	if !attempt(tx) {
		c.W.Truncate(mark)
		return false, nil
	}
	if tx.Dirty() && !c.failed {
		id, err := c.srv.store.CommitID(tx)
		if err == nil {
			c.noteWrite(id, mark)
		}
		if err != nil {
			c.W.Truncate(mark)
			c.Error(errorText(err))
			return true, err
		}
	}
	return true, nil
}

// peerGone reports whether the client closed its end (or the connection broke), without
// consuming bytes it may have pipelined behind the blocking command: POLLRDHUP reports
// the peer's FIN even when unread data sits before it.
func (c *Client) peerGone() bool {
	sc, ok := c.netConn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	_ = raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		n, err := unix.Poll(fds, 0)
		gone = err == nil && n > 0 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
	})
	return gone
}
