package server

import (
	"bytes"
	"strings"
)

func commandCommand() *Command {
	f := FlagStale
	return container(&Command{Name: "command", Arity: -1, Flags: f, Handler: cmdCommandAll, Group: "server",
		Summary: "Returns detailed information about all commands.", Since: "2.8.13"},
		&Command{Name: "count", Arity: 2, Flags: f, Handler: func(c *Ctx) { c.W.Int(int64(len(c.srv.table.All()))) },
			Summary: "Returns a count of commands.", Since: "2.8.13"},
		&Command{Name: "info", Arity: -2, Flags: f, Handler: cmdCommandInfo,
			Summary: "Returns information about one, multiple or all commands.", Since: "2.8.13"},
		&Command{Name: "docs", Arity: -2, Flags: f, Handler: cmdCommandDocs,
			Summary: "Returns documentary information about one, multiple or all commands.", Since: "7.0.0"},
		&Command{Name: "list", Arity: -2, Flags: f, Handler: cmdCommandList,
			Summary: "Returns a list of command names.", Since: "7.0.0"},
		&Command{Name: "getkeys", Arity: -4, Flags: f, Handler: func(c *Ctx) { cmdCommandGetKeys(c, false) },
			Summary: "Extracts the key names from an arbitrary command.", Since: "2.8.13"},
		&Command{Name: "getkeysandflags", Arity: -4, Flags: f, Handler: func(c *Ctx) { cmdCommandGetKeys(c, true) },
			Summary: "Extracts the key names and access flags for an arbitrary command.", Since: "7.0.0"},
	)
}

// lookupCommand finds a command or, for "parent|sub", a subcommand.
func (t *Table) lookupCommand(name []byte) *Command {
	parent, sub, found := bytes.Cut(name, []byte("|"))
	cmd := t.Lookup(parent)
	if cmd == nil || !found {
		return cmd
	}
	return cmd.subcommand(sub)
}

func cmdCommandAll(c *Ctx) {
	all := c.srv.table.All()
	c.W.Array(len(all))
	for _, cmd := range all {
		writeCommandInfo(&c.W, cmd)
	}
}

// cmdCommandInfo answers COMMAND INFO [name ...]: an entry per name, null for an
// unknown one; without names, every command.
func cmdCommandInfo(c *Ctx) {
	if len(c.Args) == 2 {
		cmdCommandAll(c)
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, name := range c.Args[2:] {
		if cmd := c.srv.table.lookupCommand(name); cmd != nil {
			writeCommandInfo(&c.W, cmd)
		} else {
			c.W.Null()
		}
	}
}

// writeCommandInfo writes Redis 7's ten-field COMMAND INFO entry: name, arity, flags,
// first key, last key, step, ACL categories, tips, key specs, subcommands.
func writeCommandInfo(w *Writer, cmd *Command) {
	w.Array(10)
	w.BulkString(cmd.Name)
	w.Int(int64(cmd.Arity))
	flags := cmd.Flags.Names()
	if cmd.Keys != nil {
		flags = append(flags, "movablekeys")
	}
	writeSimpleSet(w, flags)
	first, last, step := cmd.keyPositions()
	w.Int(int64(first))
	w.Int(int64(last))
	w.Int(int64(step))
	writeSimpleSet(w, aclCategories(cmd))
	w.Set(0) // tips
	if first > 0 {
		w.Array(1)
		writeKeySpec(w, cmd)
	} else {
		w.Array(0)
	}
	w.Array(len(cmd.Subcommands))
	for _, sub := range cmd.Subcommands {
		writeCommandInfo(w, sub)
	}
}

func (cmd *Command) keyPositions() (first, last, step int) {
	if cmd.FirstKey <= 0 {
		return 0, 0, 0
	}
	step = cmd.Step
	if step <= 0 {
		step = 1
	}
	return cmd.FirstKey, cmd.LastKey, step
}

func writeSimpleSet(w *Writer, items []string) {
	w.Set(len(items))
	for _, s := range items {
		w.Simple(s)
	}
}

// writeKeySpec describes the table's key positions as one Redis 7 key spec: an index
// begin_search and a range find_keys (lastkey relative to the first key, or negative
// from the end).
func writeKeySpec(w *Writer, cmd *Command) {
	first, last, step := cmd.keyPositions()
	rel := last
	if last >= 0 {
		rel = last - first
	}
	w.Map(3)
	w.BulkString("flags")
	writeSimpleSet(w, keySpecFlags(cmd))
	w.BulkString("begin_search")
	w.Map(2)
	w.BulkString("type")
	w.BulkString("index")
	w.BulkString("spec")
	w.Map(1)
	w.BulkString("index")
	w.Int(int64(first))
	w.BulkString("find_keys")
	w.Map(2)
	w.BulkString("type")
	w.BulkString("range")
	w.BulkString("spec")
	w.Map(3)
	w.BulkString("lastkey")
	w.Int(int64(rel))
	w.BulkString("keystep")
	w.Int(int64(step))
	w.BulkString("limit")
	w.Int(0)
}

func keySpecFlags(cmd *Command) []string {
	switch {
	case cmd.Flags&FlagWrite != 0:
		return []string{"RW", "access", "update"}
	case cmd.Flags&FlagReadOnly != 0:
		return []string{"RO", "access"}
	}
	return []string{"RO"}
}

// aclCategories derives Redis's ACL categories from a command's flags and group.
func aclCategories(cmd *Command) []string {
	var out []string
	f := cmd.Flags
	if f&FlagWrite != 0 {
		out = append(out, "@write")
	}
	if f&FlagReadOnly != 0 {
		out = append(out, "@read")
	}
	switch cmd.Group {
	case "string":
		out = append(out, "@string")
	case "hash":
		out = append(out, "@hash")
	case "list":
		out = append(out, "@list")
	case "set":
		out = append(out, "@set")
	case "sorted-set":
		out = append(out, "@sortedset")
	case "generic":
		out = append(out, "@keyspace")
	case "transactions":
		out = append(out, "@transaction")
	case "connection":
		out = append(out, "@connection")
	case "pubsub":
		if f&FlagPubSub == 0 {
			out = append(out, "@pubsub")
		}
	}
	if f&FlagPubSub != 0 {
		out = append(out, "@pubsub")
	}
	if f&FlagAdmin != 0 {
		out = append(out, "@admin", "@dangerous")
	}
	if f&FlagBlocking != 0 {
		out = append(out, "@blocking")
	}
	if f&FlagFast != 0 {
		out = append(out, "@fast")
	} else {
		out = append(out, "@slow")
	}
	return out
}

// cmdCommandDocs answers COMMAND DOCS [name ...] with a map of name to its docs;
// unknown names are left out.
func cmdCommandDocs(c *Ctx) {
	var cmds []*Command
	if len(c.Args) == 2 {
		cmds = c.srv.table.All()
	} else {
		for _, name := range c.Args[2:] {
			if cmd := c.srv.table.lookupCommand(name); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	writeDocs(&c.W, cmds)
}

func writeDocs(w *Writer, cmds []*Command) {
	w.Map(len(cmds))
	for _, cmd := range cmds {
		w.BulkString(cmd.Name)
		n := 3
		if len(cmd.Subcommands) > 0 {
			n++
		}
		w.Map(n)
		w.BulkString("summary")
		w.BulkString(cmd.Summary)
		w.BulkString("since")
		w.BulkString(cmd.Since)
		w.BulkString("group")
		w.BulkString(cmd.Group)
		if len(cmd.Subcommands) > 0 {
			w.BulkString("subcommands")
			writeDocs(w, cmd.Subcommands)
		}
	}
}

// cmdCommandList answers COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]
// with the names of commands and subcommands.
func cmdCommandList(c *Ctx) {
	match := func(*Command) bool { return true }
	switch args := c.Args[2:]; {
	case len(args) == 0:
	case len(args) == 3 && argIs(args[0], "filterby"):
		val := args[2]
		switch {
		case argIs(args[1], "module"):
			match = func(*Command) bool { return false }
		case argIs(args[1], "aclcat"):
			cat := "@" + strings.ToLower(string(val))
			match = func(cmd *Command) bool {
				for _, a := range aclCategories(cmd) {
					if a == cat {
						return true
					}
				}
				return false
			}
		case argIs(args[1], "pattern"):
			match = func(cmd *Command) bool { return globMatch(val, []byte(cmd.Name), true) }
		default:
			c.Error(errSyntax)
			return
		}
	default:
		c.Error(errSyntax)
		return
	}
	var names []string
	for _, cmd := range c.srv.table.All() {
		if match(cmd) {
			names = append(names, cmd.Name)
		}
		for _, sub := range cmd.Subcommands {
			if match(sub) {
				names = append(names, sub.Name)
			}
		}
	}
	c.W.BulkStrings(names)
}

// cmdCommandGetKeys answers COMMAND GETKEYS / GETKEYSANDFLAGS cmd arg ... from the
// command table's key positions.
func cmdCommandGetKeys(c *Ctx, withFlags bool) {
	args := c.Args[2:]
	cmd := c.srv.table.Lookup(args[0])
	if cmd == nil {
		c.Error("ERR Invalid command specified")
		return
	}
	if cmd.FirstKey <= 0 && cmd.Keys == nil {
		c.Error("ERR The command has no key arguments")
		return
	}
	if !cmd.arityOK(len(args)) {
		c.Error("ERR Invalid number of arguments specified for command")
		return
	}
	keys := cmd.KeysOf(args)
	if keys == nil && cmd.Keys != nil {
		c.Error("ERR Invalid arguments specified for command")
		return
	}
	if len(keys) == 0 {
		c.Error("ERR The command has no key arguments")
		return
	}
	if !withFlags {
		c.W.Bulks(keys)
		return
	}
	flags := keySpecFlags(cmd)
	c.W.Array(len(keys))
	for _, k := range keys {
		c.W.Array(2)
		c.W.Bulk(k)
		writeSimpleSet(&c.W, flags)
	}
}
