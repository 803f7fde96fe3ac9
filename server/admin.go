package server

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-kv/strata/store"
)

// serverCommands is the server/admin group: INFO, CONFIG, CLIENT, COMMAND, SLOWLOG,
// TIME, LASTSAVE, ROLE, SHUTDOWN, DEBUG. The handlers live in info.go, config_cmd.go,
// client_cmd.go, command_cmd.go, slowlog.go and here.
func serverCommands() []*Command {
	return []*Command{
		{Name: "info", Arity: -1, Flags: FlagStale, Handler: cmdInfo, Group: "server",
			Summary: "Returns information and statistics about the server.", Since: "1.0.0"},
		configCommand(),
		clientCommand(),
		commandCommand(),
		slowlogCommand(),
		{Name: "time", Arity: 1, Flags: FlagFast | FlagStale, Handler: cmdTime, Group: "server",
			Summary: "Returns the server time.", Since: "2.6.0"},
		{Name: "lastsave", Arity: 1, Flags: FlagFast | FlagStale, Handler: cmdLastSave, Group: "server",
			Summary: "Returns the Unix timestamp of the last successful save to disk.", Since: "1.0.0"},
		// Redis refuses SHUTDOWN inside MULTI; FlagNoMulti lets the handler say so at once.
		{Name: "shutdown", Arity: -1, Flags: FlagAdmin | FlagNoScript | FlagStale | FlagNoMulti, Handler: cmdShutdown,
			Group: "server", Summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.", Since: "1.0.0"},
		debugCommand(),
		memoryCommand(),
		latencyCommand(),
	}
}

// container builds a command whose first argument names a subcommand (CONFIG GET,
// CLIENT LIST, ...). Subcommands are named "parent|sub" as COMMAND INFO spells them;
// their Arity counts the whole invocation, like Redis. The dispatcher counts the
// parent's calls; container counts each subcommand's for INFO commandstats.
func container(parent *Command, subs ...*Command) *Command {
	for _, s := range subs {
		s.Name = parent.Name + "|" + s.Name
		if s.Group == "" {
			s.Group = parent.Group
		}
	}
	if parent.Arity == 0 {
		parent.Arity = -2
	}
	help := &Command{Name: parent.Name + "|help", Arity: 2, Flags: FlagStale, Group: parent.Group,
		Summary: "Returns helpful text about the different subcommands.", Since: "5.0.0"}
	subs = append(subs, help)
	parent.Subcommands = subs
	help.Handler = func(c *Ctx) { writeHelp(c, parent) }
	own := parent.Handler // runs when the container is called without a subcommand (COMMAND)
	parent.Handler = func(c *Ctx) {
		if len(c.Args) < 2 {
			if own != nil {
				own(c)
				return
			}
			c.WrongArgs(parent.Name)
			return
		}
		sub := parent.subcommand(c.Args[1])
		if sub == nil {
			c.Error("ERR unknown subcommand '" + truncArg(c.Args[1]) + "'. Try " +
				strings.ToUpper(parent.Name) + " HELP.")
			return
		}
		if !sub.arityOK(len(c.Args)) {
			c.WrongArgs(sub.Name)
			return
		}
		c.lastCmd.Store(sub.Name)
		start := time.Now()
		sub.Handler(c)
		sub.calls.Add(1)
		sub.usec.Add(time.Since(start).Microseconds())
	}
	return parent
}

// subcommand finds a subcommand of a container by its bare name, ignoring case.
func (cmd *Command) subcommand(name []byte) *Command {
	for _, s := range cmd.Subcommands {
		if argIs(name, s.Name[len(cmd.Name)+1:]) {
			return s
		}
	}
	return nil
}

// writeHelp answers PARENT HELP with Redis's layout: a header line, then each
// subcommand and an indented summary, as status replies.
func writeHelp(c *Ctx, parent *Command) {
	up := strings.ToUpper(parent.Name)
	lines := []string{up + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"}
	for _, s := range parent.Subcommands {
		sum := s.Summary
		if s.Name == parent.Name+"|help" {
			sum = "Prints this help."
		}
		lines = append(lines, strings.ToUpper(s.Name[len(parent.Name)+1:]), "    "+sum)
	}
	c.W.Array(len(lines))
	for _, l := range lines {
		c.W.Simple(l)
	}
}

func cmdTime(c *Ctx) {
	now := time.Now()
	c.W.Array(2)
	c.W.BulkString(strconv.FormatInt(now.Unix(), 10))
	c.W.BulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}

func cmdLastSave(c *Ctx) { c.W.Int(c.srv.stats.lastSave.Load()) }

// cmdRole answers in the master form: role, replication offset, replicas.
// cmdShutdown stops the server. Every write is already durable in RocksDB, so SAVE and
// NOSAVE change nothing; like Redis, a successful SHUTDOWN sends no reply.
func cmdShutdown(c *Ctx) {
	if c.multi != nil {
		c.multi.dirty = true
		c.Error("ERR Command not allowed inside a transaction")
		return
	}
	var save, nosave, abort bool
	for _, a := range c.Args[1:] {
		switch {
		case argIs(a, "save"):
			save = true
		case argIs(a, "nosave"):
			nosave = true
		case argIs(a, "now"), argIs(a, "force"):
		case argIs(a, "abort"):
			abort = true
		default:
			c.Error(errSyntax)
			return
		}
	}
	if (save && nosave) || (abort && len(c.Args) > 2) {
		c.Error(errSyntax)
		return
	}
	if abort {
		c.Error("ERR No shutdown in progress.")
		return
	}
	s := c.srv
	s.log.Warn().Str("client", c.netConn.RemoteAddr().String()).Msg("SHUTDOWN requested by client")
	c.flush()
	go s.Close()
}

func debugCommand() *Command {
	f := FlagAdmin | FlagNoScript | FlagStale
	return container(&Command{Name: "debug", Flags: f, Group: "server",
		Summary: "A container for debugging commands.", Since: "1.0.0"},
		&Command{Name: "sleep", Arity: 3, Flags: f, Handler: cmdDebugSleep,
			Summary: "Sleeps for the given number of seconds (this connection only).", Since: "1.0.0"},
		&Command{Name: "object", Arity: 3, Flags: f, Handler: cmdDebugObject,
			Summary: "Shows low-level information about the key.", Since: "1.0.0"},
	)
}

// cmdDebugSleep sleeps this connection only: unlike Redis, other clients keep going.
func cmdDebugSleep(c *Ctx) {
	f, ok := parseFloat(c.Args[2])
	if !ok || f < 0 {
		f = 0
	}
	if f > 0 {
		t := time.NewTimer(time.Duration(f * float64(time.Second)))
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.closing:
		case <-c.srv.done:
		}
	}
	c.W.OK()
}

func cmdDebugObject(c *Ctx) {
	k, err := c.Tx.Load(c.DB, c.Args[2])
	if err != nil {
		c.Fail(err)
		return
	}
	if !k.Exists() {
		c.Error(errNoSuchKey)
		return
	}
	enc, n := "", uint64(0)
	switch k.Meta.Type {
	case store.TypeString:
		n = uint64(len(k.Meta.Value))
		switch _, isInt := parseInt(k.Meta.Value); {
		case isInt:
			enc = "int"
		case n <= 44:
			enc = "embstr"
		default:
			enc = "raw"
		}
	case store.TypeList:
		enc, n = "quicklist", k.Meta.Count
	case store.TypeZSet:
		enc, n = "skiplist", k.Meta.Count
	default:
		enc, n = "hashtable", k.Meta.Count
	}
	c.W.Simple("Value at:0x0 refcount:1 encoding:" + enc + " serializedlength:" +
		strconv.FormatUint(n, 10) + " lru:0 lru_seconds_idle:0")
}

func memoryCommand() *Command {
	return container(&Command{Name: "memory", Group: "server",
		Summary: "A container for memory diagnostics commands.", Since: "4.0.0"},
		&Command{Name: "usage", Arity: -3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Handler: cmdMemoryUsage,
			Summary: "Estimates the memory usage of a key.", Since: "4.0.0"},
	)
}

// cmdMemoryUsage answers MEMORY USAGE key [SAMPLES count] with the bytes the key's
// records take in the store (see store.Tx.StoredSize): data lives on disk here, so
// that is what a key costs.
func cmdMemoryUsage(c *Ctx) {
	samples := int64(5)
	for i := 3; i < len(c.Args); i++ {
		if !strings.EqualFold(string(c.Args[i]), "samples") || i+1 == len(c.Args) {
			c.Error(errSyntax)
			return
		}
		n, ok := parseInt(c.Args[i+1])
		if !ok {
			c.Error(errNotInteger)
			return
		}
		if n < 0 {
			c.Error(errSyntax)
			return
		}
		samples = n
		i++
	}
	k, err := c.Tx.Load(c.DB, c.Args[2])
	if err != nil {
		c.Fail(err)
		return
	}
	if !k.Exists() {
		c.W.Null()
		return
	}
	n, err := c.Tx.StoredSize(k, samples)
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.Int(n)
}

// adminState is per-server state of this group that has no field in Server: the
// sampler behind instantaneous_ops_per_sec. It is created on the first INFO and lives
// until the server closes.
type adminState struct {
	mu                       sync.Mutex
	samples                  [16]opsSample // ring, like Redis's STATS_METRIC_SAMPLES
	next                     int
	filled                   int
	opsRate, inRate, outRate atomic.Int64 // per second; in and out in bytes
}

type opsSample struct {
	at           time.Time
	ops, in, out int64
}

var adminStates sync.Map // *Server -> *adminState

func (s *Server) admin() *adminState {
	if v, ok := adminStates.Load(s); ok {
		return v.(*adminState)
	}
	a := &adminState{}
	v, loaded := adminStates.LoadOrStore(s, a)
	if !loaded {
		go a.sampleLoop(s)
	}
	return v.(*adminState)
}

// sampleLoop takes a sample every 100ms, as Redis's serverCron does, and keeps the
// rates over the last 16 samples.
func (a *adminState) sampleLoop(s *Server) {
	defer adminStates.Delete(s)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	a.sample(s, time.Now())
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			a.sample(s, now)
		}
	}
}

func (a *adminState) sample(s *Server, now time.Time) {
	cur := opsSample{at: now, ops: s.stats.commandsProcessed.Load(),
		in: s.stats.netInputBytes.Load(), out: s.stats.netOutputBytes.Load()}
	a.mu.Lock()
	defer a.mu.Unlock()
	oldest := a.samples[a.next]
	if a.filled < len(a.samples) {
		oldest = a.samples[0]
		a.filled++
	}
	a.samples[a.next] = cur
	a.next = (a.next + 1) % len(a.samples)
	if el := cur.at.Sub(oldest.at).Seconds(); el > 0 {
		// CONFIG RESETSTAT can move a counter back: report 0, not a negative rate.
		rate := func(d int64) int64 { return max(0, int64(float64(d)/el)) }
		a.opsRate.Store(rate(cur.ops - oldest.ops))
		a.inRate.Store(rate(cur.in - oldest.in))
		a.outRate.Store(rate(cur.out - oldest.out))
	}
}
