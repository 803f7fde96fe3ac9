package server

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on what one slow log entry keeps, as in Redis (SLOWLOG_ENTRY_MAX_ARGC and
// SLOWLOG_ENTRY_MAX_STRING).
const (
	slowlogMaxArgc   = 32
	slowlogMaxString = 128
)

// slowlog keeps the most recent commands that ran longer than
// server.slowlog_log_slower_than. The threshold and length are cached in atomics so
// the check after every command costs two loads; CONFIG SET calls reload.
type slowlog struct {
	once      sync.Once
	threshold atomic.Int64 // microseconds; negative disables
	maxLen    atomic.Int64

	mu      sync.Mutex
	entries []slowlogEntry // oldest first
	nextID  int64
}

type slowlogEntry struct {
	id     int64
	unix   int64
	micros int64
	args   [][]byte
	addr   string
	name   string
}

func (l *slowlog) init() {
	l.threshold.Store(-1)
}

// reload reads the threshold and length from the current configuration.
func (l *slowlog) reload(s *Server) {
	l.once.Do(func() {}) // a concurrent first load finishes before this one
	l.apply(s)
}

func (l *slowlog) apply(s *Server) {
	cfg := s.Config().Server
	th := cfg.SlowlogLogSlowerThan.D()
	if th < 0 {
		l.threshold.Store(-1)
	} else {
		l.threshold.Store(th.Microseconds())
	}
	l.maxLen.Store(int64(cfg.SlowlogMaxLen))
	l.mu.Lock()
	l.trim()
	l.mu.Unlock()
}

// maybeAdd records one executed command if it was slow enough.
func (l *slowlog) maybeAdd(s *Server, d time.Duration, args [][]byte, c *Client) {
	l.once.Do(func() { l.apply(s) })
	th := l.threshold.Load()
	us := d.Microseconds()
	if th < 0 || us < th || l.maxLen.Load() == 0 {
		return
	}
	e := slowlogEntry{
		unix:   time.Now().Unix(),
		micros: us,
		args:   slowlogArgs(args),
		addr:   c.netConn.RemoteAddr().String(),
		name:   c.Name(),
	}
	l.mu.Lock()
	e.id = l.nextID
	l.nextID++
	l.entries = append(l.entries, e)
	l.trim()
	l.mu.Unlock()
}

// trim drops the oldest entries beyond the maximum length; l.mu must be held.
func (l *slowlog) trim() {
	limit := int(l.maxLen.Load())
	if over := len(l.entries) - limit; over > 0 {
		n := copy(l.entries, l.entries[over:])
		clear(l.entries[n:])
		l.entries = l.entries[:n]
	}
}

// slowlogArgs copies the arguments as Redis keeps them: at most 32, the last one
// replaced by "... (N more arguments)" when there are more, strings cut at 128 bytes,
// and passwords redacted.
func slowlogArgs(args [][]byte) [][]byte {
	redact := redactedArgs(args)
	n := min(len(args), slowlogMaxArgc)
	out := make([][]byte, n)
	for i := 0; i < n; i++ {
		switch {
		case i == slowlogMaxArgc-1 && len(args) > slowlogMaxArgc:
			out[i] = []byte("... (" + strconv.Itoa(len(args)-slowlogMaxArgc+1) + " more arguments)")
		case redact(i):
			out[i] = []byte("(redacted)")
		case len(args[i]) > slowlogMaxString:
			a := append([]byte(nil), args[i][:slowlogMaxString]...)
			out[i] = append(a, "... ("+strconv.Itoa(len(args[i])-slowlogMaxString)+" more bytes)"...)
		default:
			out[i] = append([]byte(nil), args[i]...)
		}
	}
	return out
}

// redactedArgs tells which arguments hold secrets: AUTH's, HELLO's AUTH pair and
// CONFIG SET requirepass's value.
func redactedArgs(args [][]byte) func(i int) bool {
	none := func(int) bool { return false }
	switch {
	case argIs(args[0], "auth"):
		return func(i int) bool { return i > 0 }
	case argIs(args[0], "hello"):
		secret := map[int]bool{}
		for i := 2; i < len(args); i++ {
			if argIs(args[i], "auth") && i+2 < len(args) {
				secret[i+1], secret[i+2] = true, true
				i += 2
			} else if argIs(args[i], "setname") {
				i++
			}
		}
		return func(i int) bool { return secret[i] }
	case argIs(args[0], "config") && len(args) > 2 && argIs(args[1], "set"):
		return func(i int) bool { return i > 2 && i%2 == 1 && argIs(args[i-1], "requirepass") }
	}
	return none
}

func (l *slowlog) reset() {
	l.mu.Lock()
	clear(l.entries)
	l.entries = l.entries[:0]
	l.mu.Unlock()
}

func (l *slowlog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// newest returns up to n entries, newest first; n < 0 means all.
func (l *slowlog) newest(n int) []slowlogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n > len(l.entries) {
		n = len(l.entries)
	}
	out := make([]slowlogEntry, n)
	for i := range out {
		out[i] = l.entries[len(l.entries)-1-i]
	}
	return out
}

func slowlogCommand() *Command {
	f := FlagAdmin | FlagStale
	return container(&Command{Name: "slowlog", Flags: f, Group: "server",
		Summary: "A container for slow log commands.", Since: "2.2.12"},
		&Command{Name: "get", Arity: -2, Flags: f, Handler: cmdSlowlogGet,
			Summary: "Returns the slow log's entries.", Since: "2.2.12"},
		&Command{Name: "len", Arity: 2, Flags: f, Handler: func(c *Ctx) { c.W.Int(int64(c.srv.slowlog.len())) },
			Summary: "Returns the number of entries in the slow log.", Since: "2.2.12"},
		&Command{Name: "reset", Arity: 2, Flags: f, Handler: func(c *Ctx) { c.srv.slowlog.reset(); c.W.OK() },
			Summary: "Clears all entries from the slow log.", Since: "2.2.12"},
	)
}

// cmdSlowlogGet answers SLOWLOG GET [count]: 10 entries by default, -1 for all.
func cmdSlowlogGet(c *Ctx) {
	n := int64(10)
	if len(c.Args) > 3 {
		c.Error("ERR unknown subcommand or wrong number of arguments for '" + string(c.Args[1]) + "'. Try SLOWLOG HELP.")
		return
	}
	if len(c.Args) == 3 {
		v, ok := parseInt(c.Args[2])
		if !ok || v < -1 {
			c.Error("ERR count should be greater than or equal to -1")
			return
		}
		n = v
	}
	if n > 1<<31 {
		n = -1
	}
	entries := c.srv.slowlog.newest(int(n))
	c.W.Array(len(entries))
	for _, e := range entries {
		c.W.Array(6)
		c.W.Int(e.id)
		c.W.Int(e.unix)
		c.W.Int(e.micros)
		c.W.Array(len(e.args))
		for _, a := range e.args {
			c.W.Bulk(a)
		}
		c.W.BulkString(e.addr)
		c.W.BulkString(e.name)
	}
}
