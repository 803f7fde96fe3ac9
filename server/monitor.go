package server

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MONITOR shows every command the server runs to the clients that asked, one status
// line each, in Redis's format:
//
//	+1700000000.123456 [0 127.0.0.1:51234] "set" "k" "v"
//
// A line is written once its command has run (so SELECT shows its new database and
// EXEC comes after the commands it ran). Commands refused before running, admin
// commands and an unknown or misused subcommand are not shown, AUTH's and HELLO
// AUTH's secrets are redacted, as in Redis. A monitoring client may still run
// commands that touch no data (PING, CLIENT, SUBSCRIBE, ...), and leaves the mode
// with RESET or by disconnecting. Lines reach other monitors through their pusher,
// like pub/sub messages; a monitor that cannot keep up is disconnected.

func monitorCommands() []*Command {
	return []*Command{
		{Name: "monitor", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagStale, Handler: cmdMonitor, Group: "server",
			Summary: "Listens for all requests received by the server in real-time.", Since: "1.0.0"},
	}
}

const errMonitorKeyspace = "ERR Replica can't interact with the keyspace"

type monitorRegistry struct {
	mu sync.Mutex
	n  atomic.Int32 // monitors, so commands skip the lock when there are none
	cs map[*Client]struct{}
}

func (r *monitorRegistry) add(c *Client) {
	r.mu.Lock()
	if r.cs == nil {
		r.cs = map[*Client]struct{}{}
	}
	r.cs[c] = struct{}{}
	r.n.Store(int32(len(r.cs)))
	r.mu.Unlock()
}

func (r *monitorRegistry) remove(c *Client) {
	if !c.monitoring.Load() {
		return
	}
	c.monitoring.Store(false)
	r.mu.Lock()
	delete(r.cs, c)
	r.n.Store(int32(len(r.cs)))
	r.mu.Unlock()
}

func cmdMonitor(c *Ctx) {
	if c.InExec {
		c.Error("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	if c.monitoring.Load() {
		return // Redis does not answer a second MONITOR either
	}
	p := c.startPusher()
	c.W.OK()
	c.monitoring.Store(true)
	p.barrier() // lines wait until the +OK is flushed
	c.srv.monitors.add(c.Client)
}

// effective is the command whose flags apply: a container's subcommand when the
// arguments name one.
func effective(cmd *Command, args [][]byte) *Command {
	if len(cmd.Subcommands) > 0 && len(args) > 1 {
		if sub := cmd.subcommand(args[1]); sub != nil {
			return sub
		}
	}
	return cmd
}

// feedMonitors shows a command that ran to every monitor. inExec: it ran inside EXEC,
// whose reply is still being written.
func (s *Server) feedMonitors(c *Client, cmd *Command, args [][]byte, inExec bool) {
	if s.monitors.n.Load() == 0 {
		return
	}
	if len(cmd.Subcommands) > 0 {
		sub := effective(cmd, args)
		if sub == cmd || !sub.arityOK(len(args)) {
			return // refused, as Redis refuses it before running it
		}
		cmd = sub
	}
	if cmd.Flags&FlagAdmin != 0 {
		return
	}
	line := monitorLine(time.Now(), c, args)
	s.monitors.mu.Lock()
	defer s.monitors.mu.Unlock()
	for m := range s.monitors.cs {
		if m == c && !inExec {
			c.W.Raw(line) // after the command's own reply
			continue
		}
		if p := m.pusher; p != nil && !p.deliver(line) {
			m.kill()
		}
	}
}

func monitorLine(now time.Time, c *Client, args [][]byte) []byte {
	b := make([]byte, 0, 64+16*len(args))
	b = append(b, '+')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	us := strconv.Itoa(now.Nanosecond() / 1000)
	for i := len(us); i < 6; i++ {
		b = append(b, '0')
	}
	b = append(b, us...)
	b = append(b, " ["...)
	b = strconv.AppendInt(b, int64(c.DB), 10)
	b = append(b, ' ')
	b = append(b, addrString(c.netConn.RemoteAddr())...)
	b = append(b, ']')
	redact := redacted(args)
	for i, a := range args {
		b = append(b, ' ')
		if redact(i) {
			b = append(b, `"(redacted)"`...)
			continue
		}
		b = appendRepr(b, a)
	}
	return append(b, "\r\n"...)
}

// redacted says which arguments are secrets: AUTH's, and the user name and password
// after HELLO's AUTH.
func redacted(args [][]byte) func(i int) bool {
	switch {
	case argIs(args[0], "auth"):
		return func(i int) bool { return i > 0 }
	case argIs(args[0], "hello"):
		for j := 2; j+2 < len(args); j++ {
			if argIs(args[j], "auth") {
				return func(i int) bool { return i == j+1 || i == j+2 }
			}
		}
	}
	return func(int) bool { return false }
}

// appendRepr quotes a as Redis's sdscatrepr does.
func appendRepr(b, a []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range a {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= 0x20 && ch <= 0x7e {
				b = append(b, ch)
			} else {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(b, '"')
}
