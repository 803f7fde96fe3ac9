package server

import (
	"crypto/subtle"
	"strconv"
)

func connectionCommands() []*Command {
	f := FlagFast | FlagStale
	return []*Command{
		{Name: "ping", Arity: -1, Flags: f | FlagSubscribed, Handler: cmdPing, Group: "connection", Summary: "Returns the server's liveliness response.", Since: "1.0.0"},
		{Name: "echo", Arity: 2, Flags: f, Handler: func(c *Ctx) { c.W.Bulk(c.Args[1]) }, Group: "connection", Summary: "Returns the given string.", Since: "1.0.0"},
		{Name: "select", Arity: 2, Flags: f, Handler: cmdSelect, Group: "connection", Summary: "Changes the selected database.", Since: "1.0.0"},
		{Name: "quit", Arity: -1, Flags: f | FlagNoAuth | FlagNoMulti | FlagSubscribed, Handler: cmdQuit, Group: "connection", Summary: "Closes the connection.", Since: "1.0.0"},
		{Name: "auth", Arity: -2, Flags: f | FlagNoAuth | FlagNoMulti, Handler: cmdAuth, Group: "connection", Summary: "Authenticates the connection.", Since: "1.0.0"},
		{Name: "hello", Arity: -1, Flags: f | FlagNoAuth | FlagNoMulti, Handler: cmdHello, Group: "connection", Summary: "Handshakes with the Redis server.", Since: "6.0.0"},
		{Name: "reset", Arity: 1, Flags: f | FlagNoAuth | FlagNoMulti | FlagSubscribed, Handler: cmdReset, Group: "connection", Summary: "Resets the connection.", Since: "6.2.0"},
	}
}

func cmdPing(c *Ctx) {
	if len(c.Args) > 2 {
		c.WrongArgs("ping")
		return
	}
	if c.W.proto < 3 && c.subscribed() {
		c.W.Array(2)
		c.W.BulkString("pong")
		if len(c.Args) == 2 {
			c.W.Bulk(c.Args[1])
		} else {
			c.W.BulkString("")
		}
		return
	}
	if len(c.Args) == 2 {
		c.W.Bulk(c.Args[1])
		return
	}
	c.W.Simple("PONG")
}

func cmdSelect(c *Ctx) {
	n, ok := parseInt(c.Args[1])
	if !ok {
		c.Error(errNotInteger)
		return
	}
	if n < 0 || n >= 16 {
		c.Error(errDBIndex)
		return
	}
	c.DB = int(n)
	c.W.OK()
}

func cmdQuit(c *Ctx) {
	c.W.OK()
	c.quitting = true
	c.flush()
	c.conn.Close() // flushes the OK before closing
}

// checkAuth compares credentials in constant time. Only the default user exists.
func (c *Ctx) checkAuth(user, pass []byte) bool {
	want := c.srv.Config().Server.RequirePass
	if user != nil && string(user) != "default" {
		return false
	}
	if want == "" {
		return false
	}
	return subtle.ConstantTimeCompare(pass, []byte(want)) == 1
}

func cmdAuth(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(errSyntax)
		return
	}
	var user, pass []byte
	if len(c.Args) == 3 {
		user, pass = c.Args[1], c.Args[2]
	} else {
		pass = c.Args[1]
	}
	if c.srv.Config().Server.RequirePass == "" && user == nil {
		c.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if !c.checkAuth(user, pass) {
		c.Error("WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	c.authed = true
	c.W.OK()
}

func cmdHello(c *Ctx) {
	proto := c.W.proto
	args := c.Args[1:]
	if len(args) > 0 {
		v, ok := parseInt(args[0])
		if !ok {
			c.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.Error("NOPROTO unsupported protocol version")
			return
		}
		proto = int(v)
		args = args[1:]
	}
	for len(args) > 0 {
		switch {
		case argIs(args[0], "auth") && len(args) >= 3:
			if !c.checkAuth(args[1], args[2]) {
				c.Error("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			c.authed = true
			args = args[3:]
		case argIs(args[0], "setname") && len(args) >= 2:
			if !validClientName(args[1]) {
				c.Error("ERR Client names cannot contain spaces, newlines or special characters.")
				return
			}
			c.name.Store(string(args[1]))
			args = args[2:]
		default:
			c.Error("ERR Syntax error in HELLO option '" + string(args[0]) + "'")
			return
		}
	}
	if !c.authed {
		c.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	c.W.proto = proto
	c.W.Map(7)
	c.W.BulkString("server")
	c.W.BulkString("redis")
	c.W.BulkString("version")
	c.W.BulkString(RedisVersion)
	c.W.BulkString("proto")
	c.W.Int(int64(proto))
	c.W.BulkString("id")
	c.W.Int(c.ID)
	c.W.BulkString("mode")
	c.W.BulkString("standalone")
	c.W.BulkString("role")
	c.W.BulkString(c.srv.role())
	c.W.BulkString("modules")
	c.W.Array(0)
}

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdReset(c *Ctx) {
	c.multi = nil
	c.unwatch()
	c.srv.pubsub.removeClient(c.Client)
	c.srv.monitors.remove(c.Client)
	c.DB = 0
	c.W.proto = 2
	c.name.Store("")
	c.authed = c.srv.Config().Server.RequirePass == ""
	c.replyOff, c.skipping, c.skipNext = false, false, false
	c.W.Simple("RESET")
}

var _ = strconv.Itoa
