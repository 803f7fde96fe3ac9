package server

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func clientCommand() *Command {
	f := FlagNoScript | FlagStale
	a := f | FlagAdmin
	return container(&Command{Name: "client", Flags: f, Group: "connection",
		Summary: "A container for client connection commands.", Since: "2.4.0"},
		&Command{Name: "id", Arity: 2, Flags: f, Handler: func(c *Ctx) { c.W.Int(c.ID) },
			Summary: "Returns the unique client ID of the connection.", Since: "5.0.0"},
		&Command{Name: "setname", Arity: 3, Flags: f, Handler: cmdClientSetName,
			Summary: "Sets the connection name.", Since: "2.6.9"},
		&Command{Name: "getname", Arity: 2, Flags: f, Handler: cmdClientGetName,
			Summary: "Returns the name of the connection.", Since: "2.6.9"},
		&Command{Name: "list", Arity: -2, Flags: a, Handler: cmdClientList,
			Summary: "Lists open connections.", Since: "2.4.0"},
		&Command{Name: "info", Arity: 2, Flags: f, Handler: func(c *Ctx) { c.W.Verbatim(c.srv.clientLine(c.Client)) },
			Summary: "Returns information about the connection.", Since: "6.2.0"},
		&Command{Name: "kill", Arity: -3, Flags: a, Handler: cmdClientKill,
			Summary: "Terminates open connections.", Since: "2.4.0"},
		&Command{Name: "setinfo", Arity: 4, Flags: f, Handler: cmdClientSetInfo,
			Summary: "Sets information specific to the client or connection.", Since: "7.2.0"},
		&Command{Name: "no-evict", Arity: 3, Flags: a, Handler: cmdClientOnOff,
			Summary: "Sets the client eviction mode of the connection.", Since: "7.0.0"},
		&Command{Name: "no-touch", Arity: 3, Flags: f, Handler: cmdClientOnOff,
			Summary: "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", Since: "7.2.0"},
		&Command{Name: "reply", Arity: 3, Flags: f, Handler: cmdClientReply,
			Summary: "Instructs the server whether to reply to commands.", Since: "3.2.0"},
		&Command{Name: "pause", Arity: -3, Flags: a, Handler: cmdClientPause,
			Summary: "Suspends commands processing.", Since: "3.0.0"},
		&Command{Name: "unpause", Arity: 2, Flags: a, Handler: cmdClientUnpause,
			Summary: "Resumes processing commands from paused clients.", Since: "6.2.0"},
		&Command{Name: "getredir", Arity: 2, Flags: f, Handler: func(c *Ctx) { c.W.Int(-1) },
			Summary: "Returns the client ID to which the connection's tracking notifications are redirected.", Since: "6.0.0"},
	)
}

func cmdClientSetName(c *Ctx) {
	if !validClientName(c.Args[2]) {
		c.Error("ERR Client names cannot contain spaces, newlines or special characters.")
		return
	}
	c.name.Store(string(c.Args[2]))
	c.W.OK()
}

func cmdClientGetName(c *Ctx) {
	if n := c.Name(); n != "" {
		c.W.BulkString(n)
		return
	}
	c.W.Null()
}

// cmdClientSetInfo stores LIB-NAME / LIB-VER (Redis 7.2). They are written and read
// under clientsMu because CLIENT LIST reads them from other connections.
func cmdClientSetInfo(c *Ctx) {
	attr, val := c.Args[2], c.Args[3]
	lower := strings.ToLower(string(attr))
	if lower != "lib-name" && lower != "lib-ver" {
		c.Error("ERR Unrecognized option '" + string(attr) + "'")
		return
	}
	if !validClientName(val) {
		c.Error("ERR " + string(attr) + " cannot contain spaces, newlines or special characters.")
		return
	}
	s := c.srv
	s.clientsMu.Lock()
	if lower == "lib-name" {
		c.libName = string(val)
	} else {
		c.libVer = string(val)
	}
	s.clientsMu.Unlock()
	c.W.OK()
}

// cmdClientOnOff accepts NO-EVICT and NO-TOUCH: Strata evicts nothing and keeps no
// LRU clock, so both are no-ops.
func cmdClientOnOff(c *Ctx) {
	if !argIs(c.Args[2], "on") && !argIs(c.Args[2], "off") {
		c.Error(errSyntax)
		return
	}
	c.W.OK()
}

// cmdClientReply: ON answers OK (even as the command a SKIP applies to); OFF and SKIP
// answer nothing. SKIP under OFF changes nothing.
func cmdClientReply(c *Ctx) {
	switch {
	case argIs(c.Args[2], "on"):
		c.replyOff, c.skipping, c.skipNext = false, false, false
		c.W.OK()
	case argIs(c.Args[2], "off"):
		c.replyOff = true
	case argIs(c.Args[2], "skip"):
		if !c.replyOff {
			c.skipNext = true
		}
	default:
		c.Error(errSyntax)
	}
}

// clientType is the CLIENT LIST / KILL type of a connection.
func clientType(cl *Client) string {
	if cl.subscribed() {
		return "pubsub"
	}
	return "normal"
}

// parseClientType maps the names CLIENT LIST and KILL accept onto clientType's.
func parseClientType(b []byte) (string, bool) {
	switch strings.ToLower(string(b)) {
	case "normal":
		return "normal", true
	case "pubsub":
		return "pubsub", true
	case "master":
		return "master", true
	case "replica", "slave":
		return "replica", true
	}
	return "", false
}

// sortedClients returns the connected clients in ID order, as Redis lists them.
func (s *Server) sortedClients() []*Client {
	cl := s.clientList()
	slices.SortFunc(cl, func(a, b *Client) int { return cmp.Compare(a.ID, b.ID) })
	return cl
}

func cmdClientList(c *Ctx) {
	var typ string
	var ids map[int64]bool
	args := c.Args[2:]
	switch {
	case len(args) == 0:
	case len(args) == 2 && argIs(args[0], "type"):
		t, ok := parseClientType(args[1])
		if !ok {
			c.Error("ERR Unknown client type '" + string(args[1]) + "'")
			return
		}
		typ = t
	case len(args) >= 2 && argIs(args[0], "id"):
		ids = map[int64]bool{}
		for _, a := range args[1:] {
			id, ok := parseInt(a)
			if !ok || id <= 0 {
				c.Error("ERR Invalid client ID")
				return
			}
			ids[id] = true
		}
	default:
		c.Error(errSyntax)
		return
	}
	var b strings.Builder
	for _, cl := range c.srv.sortedClients() {
		if typ != "" && clientType(cl) != typ {
			continue
		}
		if ids != nil && !ids[cl.ID] {
			continue
		}
		b.WriteString(c.srv.clientLine(cl))
	}
	c.W.Verbatim(b.String())
}

// clientLine renders one CLIENT LIST line (ending in \n) with Redis's fields; the
// buffer and memory fields Strata does not track are 0.
//
// DB, multi, subs and the protocol of another connection are read without a lock:
// they are plain fields its own goroutine writes (see client.go), so the values can be
// a moment old.
func (s *Server) clientLine(cl *Client) string {
	now := time.Now()
	flags := ""
	if cl.monitoring.Load() {
		flags += "O"
	}
	if cl.subscribed() {
		flags += "P"
	}
	multi := -1
	if m := cl.multi; m != nil {
		flags += "x"
		multi = len(m.queue)
	}
	if flags == "" {
		flags = "N"
	}
	s.clientsMu.Lock()
	libName, libVer := cl.libName, cl.libVer
	s.clientsMu.Unlock()
	var b strings.Builder
	field := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	num := func(k string, v int64) { field(k, strconv.FormatInt(v, 10)) }
	num("id", cl.ID)
	field("addr", addrString(cl.netConn.RemoteAddr()))
	field("laddr", addrString(cl.netConn.LocalAddr()))
	num("fd", connFD(cl.netConn))
	field("name", cl.Name())
	num("age", int64(now.Sub(cl.created)/time.Second))
	num("idle", (now.UnixMilli()-cl.lastActive.Load())/1000)
	field("flags", flags)
	num("db", int64(cl.DB))
	num("sub", int64(len(cl.subs)))
	num("psub", int64(len(cl.psubs)))
	num("ssub", 0)
	num("multi", int64(multi))
	for _, k := range []string{"qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem"} {
		num(k, 0)
	}
	field("events", "r")
	field("cmd", cl.lastCmd.Load().(string))
	field("user", "default")
	num("redir", -1)
	num("resp", int64(cl.W.proto))
	field("lib-name", libName)
	field("lib-ver", libVer)
	b.WriteByte('\n')
	return b.String()
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// connFD returns the connection's file descriptor without duplicating it (-1 if none).
func connFD(c net.Conn) int64 {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := int64(-1)
	if raw.Control(func(f uintptr) { fd = int64(f) }) != nil {
		return -1
	}
	return fd
}

// clientFilter is the new form of CLIENT KILL: every given condition must hold.
type clientFilter struct {
	id          int64
	addr, laddr string
	typ         string
	skipMe      bool
}

func (f *clientFilter) match(cl, self *Client) bool {
	switch {
	case f.skipMe && cl == self:
		return false
	case f.id != 0 && cl.ID != f.id:
		return false
	case f.addr != "" && addrString(cl.netConn.RemoteAddr()) != f.addr:
		return false
	case f.laddr != "" && addrString(cl.netConn.LocalAddr()) != f.laddr:
		return false
	case f.typ != "" && clientType(cl) != f.typ:
		return false
	}
	return true
}

// cmdClientKill implements both forms: CLIENT KILL addr (reply OK or an error) and
// CLIENT KILL <filter> <value> ... (reply the number killed; SKIPME defaults to yes).
func cmdClientKill(c *Ctx) {
	if len(c.Args) == 3 {
		f := clientFilter{addr: string(c.Args[2])}
		n, self := killClients(c, &f)
		if n == 0 {
			c.Error("ERR No such client")
			return
		}
		c.W.OK()
		if self {
			c.closeAfterReply()
		}
		return
	}
	f := clientFilter{skipMe: true}
	args := c.Args[2:]
	for len(args) > 0 {
		if len(args) < 2 {
			c.Error(errSyntax)
			return
		}
		opt, val := args[0], args[1]
		args = args[2:]
		switch {
		case argIs(opt, "id"):
			id, ok := parseInt(val)
			if !ok || id <= 0 {
				c.Error("ERR client-id should be greater than 0")
				return
			}
			f.id = id
		case argIs(opt, "type"):
			t, ok := parseClientType(val)
			if !ok {
				c.Error("ERR Unknown client type '" + string(val) + "'")
				return
			}
			f.typ = t
		case argIs(opt, "addr"):
			f.addr = string(val)
		case argIs(opt, "laddr"):
			f.laddr = string(val)
		case argIs(opt, "user"):
			if string(val) != "default" {
				c.Error("ERR No such user '" + string(val) + "'")
				return
			}
		case argIs(opt, "skipme"):
			switch {
			case argIs(val, "yes"):
				f.skipMe = true
			case argIs(val, "no"):
				f.skipMe = false
			default:
				c.Error(errSyntax)
				return
			}
		default:
			c.Error(errSyntax)
			return
		}
	}
	n, self := killClients(c, &f)
	c.W.Int(int64(n))
	if self {
		c.closeAfterReply()
	}
}

// killClients disconnects every client f matches except the caller; self reports
// whether the caller matched, so its connection is closed after the reply, as Redis
// does.
func killClients(c *Ctx, f *clientFilter) (n int, self bool) {
	for _, cl := range c.srv.clientList() {
		if !f.match(cl, c.Client) {
			continue
		}
		n++
		if cl == c.Client {
			self = true
			continue
		}
		cl.kill()
	}
	return n, self
}

// closeAfterReply sends what is buffered and closes the connection, like QUIT. Inside
// EXEC the replies of the commands queued after it are lost.
func (c *Ctx) closeAfterReply() {
	c.flush()
	c.conn.Close()
}
