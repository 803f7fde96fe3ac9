package server

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// Flag describes how the dispatcher treats a command.
type Flag uint32

const (
	FlagWrite      Flag = 1 << iota // changes data: refused on a read-only replica, keys locked
	FlagReadOnly                    // reads data only
	FlagAdmin                       // server administration
	FlagPubSub                      // publish/subscribe
	FlagNoAuth                      // allowed before AUTH
	FlagFast                        // O(1) or O(log n)
	FlagNoMulti                     // runs at once even inside MULTI (MULTI, EXEC, DISCARD, ...)
	FlagBlocking                    // may block the client; the handler locks and commits itself
	FlagGlobal                      // locks every key: FLUSHDB, FLUSHALL, MOVE, SWAPDB, ...
	FlagStale                       // allowed while the data is stale or loading
	FlagSubscribed                  // allowed in RESP2 subscribed mode
	FlagNoScript
	FlagDenyOOM
	// FlagMayReplicate: writes no data but is held by CLIENT PAUSE WRITE like a write,
	// as Redis holds what it may pass on to replicas (PUBLISH). Not shown by COMMAND,
	// as Redis 7.0 does not show it.
	FlagMayReplicate
)

var flagNames = []struct {
	f    Flag
	name string
}{
	{FlagWrite, "write"}, {FlagReadOnly, "readonly"}, {FlagDenyOOM, "denyoom"}, {FlagAdmin, "admin"},
	{FlagPubSub, "pubsub"}, {FlagNoScript, "noscript"}, {FlagBlocking, "blocking"},
	{FlagStale, "stale"}, {FlagNoAuth, "no_auth"}, {FlagFast, "fast"},
}

// Names lists the flags as COMMAND INFO spells them.
func (f Flag) Names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// Command is one entry of the command table. The dispatcher enforces arity, flags and
// key locking from it; handlers only implement the command itself.
type Command struct {
	Name  string // lower case
	Arity int    // exact argument count including the name; negative: at least -Arity
	Flags Flag
	// Key positions in the argument list (the name is position 0). LastKey -1 means the
	// last argument, -2 the one before it. Step is the distance between keys.
	FirstKey, LastKey, Step int
	// Keys overrides the positions for commands whose keys follow a count (ZUNIONSTORE).
	// It returns nil when the arguments are malformed; the handler reports that.
	Keys func(args [][]byte) [][]byte
	// Handler runs the command. Replies go to c.W; failures through c.Error.
	Handler func(c *Ctx)
	Group   string // string, hash, list, set, sorted-set, generic, transactions, pubsub, connection, server
	Summary string
	Since   string
	// Subcommands of a container command (CONFIG, CLIENT, ...), for COMMAND DOCS/INFO.
	Subcommands []*Command

	calls, usec atomic.Int64 // INFO commandstats
}

// KeysOf returns the key arguments of one invocation.
func (cmd *Command) KeysOf(args [][]byte) [][]byte {
	if cmd.Keys != nil {
		return cmd.Keys(args)
	}
	if cmd.FirstKey <= 0 || cmd.FirstKey >= len(args) {
		return nil
	}
	last := cmd.LastKey
	if last < 0 {
		last = len(args) + last
	}
	if last >= len(args) {
		last = len(args) - 1
	}
	step := cmd.Step
	if step <= 0 {
		step = 1
	}
	keys := make([][]byte, 0, (last-cmd.FirstKey)/step+1)
	for i := cmd.FirstKey; i <= last; i += step {
		keys = append(keys, args[i])
	}
	return keys
}

func (cmd *Command) arityOK(n int) bool {
	if cmd.Arity >= 0 {
		return n == cmd.Arity
	}
	return n >= -cmd.Arity
}

// Table is the set of commands a server answers.
type Table struct {
	byName map[string]*Command
	list   []*Command
}

// NewTable builds a table; a duplicate name is a programming error and panics at start-up.
func NewTable(groups ...[]*Command) *Table {
	t := &Table{byName: map[string]*Command{}}
	for _, g := range groups {
		for _, c := range g {
			if c.Name != strings.ToLower(c.Name) {
				panic(fmt.Sprintf("server: command %q must be lower case", c.Name))
			}
			if _, dup := t.byName[c.Name]; dup {
				panic(fmt.Sprintf("server: command %q registered twice", c.Name))
			}
			if c.Handler == nil {
				panic(fmt.Sprintf("server: command %q has no handler", c.Name))
			}
			t.byName[c.Name] = c
			t.list = append(t.list, c)
		}
	}
	return t
}

// Lookup finds a command by name, case-insensitively.
func (t *Table) Lookup(name []byte) *Command {
	var buf [32]byte
	if len(name) <= len(buf) {
		b := buf[:len(name)]
		for i, ch := range name {
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			b[i] = ch
		}
		return t.byName[string(b)]
	}
	return t.byName[strings.ToLower(string(name))]
}

// All returns every command in registration order.
func (t *Table) All() []*Command { return t.list }
