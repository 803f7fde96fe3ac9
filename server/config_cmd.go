package server

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/strata-kv/strata/config"
	"github.com/strata-kv/strata/store"
)

// configParam maps one Redis CONFIG parameter onto config.Config. set is nil for a
// parameter Strata fixes (databases, bind, ...); set returns Redis's reason text when
// the value is refused.
type configParam struct {
	name string
	get  func(s *Server, cfg *config.Config) string
	set  func(cfg *config.Config, v string) string
	// fixed parameters still accept their own value (CONFIG SET save "" is common in
	// scripts and tests and means what Strata already does).
	acceptSame bool
}

const errImmutable = "can't set immutable config"

var configParams = []*configParam{
	{name: "requirepass",
		get: func(_ *Server, c *config.Config) string { return c.Server.RequirePass },
		set: func(c *config.Config, v string) string { c.Server.RequirePass = v; return "" }},
	{name: "maxclients",
		get: func(_ *Server, c *config.Config) string { return strconv.Itoa(c.Server.MaxClients) },
		set: func(c *config.Config, v string) string {
			n, msg := configInt(v, 1, math.MaxUint32)
			c.Server.MaxClients = int(n)
			return msg
		}},
	{name: "timeout",
		get: func(_ *Server, c *config.Config) string {
			return strconv.FormatInt(int64(c.Server.Timeout.D()/time.Second), 10)
		},
		set: func(c *config.Config, v string) string {
			n, msg := configInt(v, 0, math.MaxInt32)
			c.Server.Timeout = config.Duration(time.Duration(n) * time.Second)
			return msg
		}},
	{name: "slowlog-log-slower-than",
		get: func(_ *Server, c *config.Config) string {
			d := c.Server.SlowlogLogSlowerThan.D()
			if d < 0 {
				return "-1"
			}
			return strconv.FormatInt(d.Microseconds(), 10)
		},
		set: func(c *config.Config, v string) string {
			n, msg := configInt(v, -1, math.MaxInt64)
			if n > math.MaxInt64/int64(time.Microsecond) {
				n = math.MaxInt64 / int64(time.Microsecond)
			}
			c.Server.SlowlogLogSlowerThan = config.Duration(time.Duration(n) * time.Microsecond)
			return msg
		}},
	{name: "latency-monitor-threshold",
		get: func(_ *Server, c *config.Config) string {
			return strconv.FormatInt(c.Server.LatencyMonitorThreshold.D().Milliseconds(), 10)
		},
		set: func(c *config.Config, v string) string {
			n, msg := configInt(v, 0, math.MaxInt64/int64(time.Millisecond))
			c.Server.LatencyMonitorThreshold = config.Duration(time.Duration(n) * time.Millisecond)
			return msg
		}},
	{name: "slowlog-max-len",
		get: func(_ *Server, c *config.Config) string { return strconv.Itoa(c.Server.SlowlogMaxLen) },
		set: func(c *config.Config, v string) string {
			n, msg := configInt(v, 0, math.MaxInt64)
			c.Server.SlowlogMaxLen = int(n)
			return msg
		}},
	{name: "proto-max-bulk-len",
		get: func(_ *Server, c *config.Config) string {
			return strconv.FormatInt(int64(c.Server.ProtoMaxBulkLen), 10)
		},
		set: func(c *config.Config, v string) string {
			n, ok := parseMemory(v)
			if !ok {
				return "argument must be a memory value"
			}
			if n < 1<<20 {
				return "argument must be between 1048576 and 9223372036854775807 inclusive"
			}
			c.Server.ProtoMaxBulkLen = config.Size(n)
			return ""
		}},
	{name: "loglevel",
		get: func(_ *Server, c *config.Config) string {
			switch c.Server.LogLevel {
			case "debug":
				return "debug"
			case "info":
				return "notice"
			}
			return "warning"
		},
		set: func(c *config.Config, v string) string {
			lvl, ok := map[string]string{"debug": "debug", "verbose": "info", "notice": "info",
				"warning": "warn", "info": "info", "warn": "warn", "error": "error"}[strings.ToLower(v)]
			if !ok {
				return "argument(s) must be one of the following: debug, verbose, notice, warning"
			}
			c.Server.LogLevel = lvl
			return ""
		}},
	{name: "databases", get: fixed(strconv.Itoa(store.Databases))},
	{name: "save", get: fixed(""), acceptSame: true},
	{name: "appendonly", get: fixed("no"), acceptSame: true},
	{name: "maxmemory", get: fixed("0"), acceptSame: true},
	{name: "maxmemory-policy", get: fixed("noeviction"), acceptSame: true},
	{name: "notify-keyspace-events", get: fixed(""), acceptSame: true},
	{name: "cluster-enabled", get: fixed("no")},
	{name: "daemonize", get: fixed("no")},
	{name: "io-threads", get: fixed("1")},
	{name: "hz", get: fixed("10")},
	{name: "bind", get: func(_ *Server, c *config.Config) string {
		host, _, _ := net.SplitHostPort(c.Server.Addr)
		if host == "" {
			return "*"
		}
		return host
	}},
	{name: "port", get: func(s *Server, _ *config.Config) string { return strconv.Itoa(s.port()) }},
	{name: "dir", get: func(_ *Server, c *config.Config) string {
		if abs, err := filepath.Abs(c.Server.DataDir); err == nil {
			return abs
		}
		return c.Server.DataDir
	}},
	{name: "appendfsync", get: func(_ *Server, c *config.Config) string { return c.Binlog.Sync }},
	{name: "binlog-sync", get: func(_ *Server, c *config.Config) string { return c.Binlog.Sync }},
	{name: "binlog-max-file-size", get: func(_ *Server, c *config.Config) string { return c.Binlog.MaxFileSize.String() }},
	{name: "binlog-retention", get: func(_ *Server, c *config.Config) string { return c.Binlog.Retention.D().String() }},
	{name: "binlog-max-total-size", get: func(_ *Server, c *config.Config) string { return c.Binlog.MaxTotalSize.String() }},
	{name: "rocksdb-block-cache-size", get: func(_ *Server, c *config.Config) string { return c.RocksDB.BlockCacheSize.String() }},
	{name: "rocksdb-write-buffer-size", get: func(_ *Server, c *config.Config) string { return c.RocksDB.WriteBufferSize.String() }},
	{name: "rocksdb-max-write-buffers", get: func(_ *Server, c *config.Config) string { return strconv.Itoa(c.RocksDB.MaxWriteBuffers) }},
	{name: "rocksdb-compression", get: func(_ *Server, c *config.Config) string { return c.RocksDB.Compression }},
	{name: "rocksdb-bloom-bits-per-key", get: func(_ *Server, c *config.Config) string { return strconv.Itoa(c.RocksDB.BloomBitsPerKey) }},
	{name: "rocksdb-key-cache-size", get: func(_ *Server, c *config.Config) string { return c.RocksDB.KeyCacheSize.String() }},
	{name: "rocksdb-rank-cache-size", get: func(_ *Server, c *config.Config) string { return c.RocksDB.RankCacheSize.String() }},
	{name: "rocksdb-key-filter-size", get: func(_ *Server, c *config.Config) string { return c.RocksDB.KeyFilterSize.String() }},
	{name: "rocksdb-max-open-files", get: func(_ *Server, c *config.Config) string { return strconv.Itoa(c.RocksDB.MaxOpenFiles) }},
}

func fixed(v string) func(*Server, *config.Config) string {
	return func(*Server, *config.Config) string { return v }
}

func lookupConfigParam(name []byte) *configParam {
	for _, p := range configParams {
		if argIs(name, p.name) {
			return p
		}
	}
	return nil
}

// configInt parses a CONFIG SET integer with Redis's reasons for refusing it.
func configInt(v string, lo, hi int64) (int64, string) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, "argument couldn't be parsed into an integer"
	}
	if n < lo || n > hi {
		return 0, fmt.Sprintf("argument must be between %d and %d inclusive", lo, hi)
	}
	return n, ""
}

// parseMemory parses a Redis memory value: a number with an optional unit, where
// k/m/g are powers of 1000 and kb/mb/gb powers of 1024 (Redis's memtoull).
func parseMemory(v string) (int64, bool) {
	s := strings.ToLower(v)
	mul := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1000}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mul = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || s == "" || s[0] == '+' || n > math.MaxInt64/uint64(mul) {
		return 0, false
	}
	return int64(n) * mul, true
}

func configCommand() *Command {
	f := FlagAdmin | FlagNoScript | FlagStale
	return container(&Command{Name: "config", Flags: f, Group: "server",
		Summary: "A container for server configuration commands.", Since: "2.0.0"},
		&Command{Name: "get", Arity: -3, Flags: f, Handler: cmdConfigGet,
			Summary: "Returns the effective values of configuration parameters.", Since: "2.0.0"},
		&Command{Name: "set", Arity: -4, Flags: f, Handler: cmdConfigSet,
			Summary: "Sets configuration parameters in-flight.", Since: "2.0.0"},
		&Command{Name: "resetstat", Arity: 2, Flags: f, Handler: cmdConfigResetStat,
			Summary: "Resets the server's statistics.", Since: "2.0.0"},
		&Command{Name: "rewrite", Arity: 2, Flags: f, Handler: cmdConfigRewrite,
			Summary: "Persists the effective configuration to file.", Since: "2.8.0"},
	)
}

// cmdConfigGet answers CONFIG GET pattern [pattern ...] with a map. A pattern without
// glob characters is looked up directly and answered under the name as given, as Redis
// does; each parameter appears once.
func cmdConfigGet(c *Ctx) {
	cfg := c.srv.Config()
	type kv struct{ k, v string }
	var out []kv
	seen := map[*configParam]bool{}
	for _, pat := range c.Args[2:] {
		if !strings.ContainsAny(string(pat), "*?[") {
			if p := lookupConfigParam(pat); p != nil && !seen[p] {
				seen[p] = true
				out = append(out, kv{string(pat), p.get(c.srv, &cfg)})
			}
			continue
		}
		for _, p := range configParams {
			if !seen[p] && globMatch(pat, []byte(p.name), true) {
				seen[p] = true
				out = append(out, kv{p.name, p.get(c.srv, &cfg)})
			}
		}
	}
	c.W.Map(len(out))
	for _, e := range out {
		c.W.BulkString(e.k)
		c.W.BulkString(e.v)
	}
}

// cmdConfigSet applies CONFIG SET name value [name value ...] all or nothing.
func cmdConfigSet(c *Ctx) {
	if len(c.Args)%2 != 0 {
		c.Error(errSyntax)
		return
	}
	n := (len(c.Args) - 2) / 2
	params := make([]*configParam, n)
	fail := func(arg, reason string) {
		c.Error("ERR CONFIG SET failed (possibly related to argument '" + arg + "') - " + reason)
	}
	for i := 0; i < n; i++ {
		name := c.Args[2+2*i]
		p := lookupConfigParam(name)
		if p == nil {
			c.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + string(name) + "'")
			return
		}
		params[i] = p
	}
	for i, p := range params {
		if p.set == nil && !p.acceptSame {
			fail(string(c.Args[2+2*i]), errImmutable)
			return
		}
		for _, q := range params[:i] {
			if q == p {
				fail(string(c.Args[2+2*i]), "duplicate parameter")
				return
			}
		}
	}
	s := c.srv
	s.cfgMu.Lock()
	next := s.cfg
	for i, p := range params {
		v := string(c.Args[3+2*i])
		if p.set == nil {
			if v != p.get(s, &next) {
				s.cfgMu.Unlock()
				fail(p.name, errImmutable)
				return
			}
			continue
		}
		if msg := p.set(&next, v); msg != "" {
			s.cfgMu.Unlock()
			fail(p.name, msg)
			return
		}
	}
	if err := next.Validate(); err != nil {
		s.cfgMu.Unlock()
		c.Error("ERR CONFIG SET failed - " + strings.TrimPrefix(err.Error(), config.ErrInvalid.Error()+": "))
		return
	}
	levelChanged := next.Server.LogLevel != s.cfg.Server.LogLevel
	s.cfg = next
	s.cfgMu.Unlock()
	s.slowlog.reload(s)
	s.latency.setThreshold(next.Server.LatencyMonitorThreshold.D())
	if levelChanged {
		// The logger was built with the start-up level; the global level can only
		// raise that floor (cmd/strata decides how loggers are built).
		if lvl, err := zerolog.ParseLevel(next.Server.LogLevel); err == nil {
			zerolog.SetGlobalLevel(lvl)
		}
	}
	c.W.OK()
}

// cmdConfigResetStat zeroes what INFO stats and commandstats count.
func cmdConfigResetStat(c *Ctx) {
	s := c.srv
	s.stats.connectionsReceived.Store(0)
	s.stats.commandsProcessed.Store(0)
	s.stats.rejectedConnections.Store(0)
	s.stats.netInputBytes.Store(0)
	s.stats.netOutputBytes.Store(0)
	st := s.store.Stats()
	st.ExpiredKeys.Store(0)
	st.KeyspaceHits.Store(0)
	st.KeyspaceMiss.Store(0)
	for _, cmd := range s.table.All() {
		cmd.calls.Store(0)
		cmd.usec.Store(0)
		for _, sub := range cmd.Subcommands {
			sub.calls.Store(0)
			sub.usec.Store(0)
		}
	}
	c.W.OK()
}

// cmdConfigRewrite writes the effective configuration as TOML over the file the
// server was started with: to a temporary file first, synced, then renamed.
func cmdConfigRewrite(c *Ctx) {
	s := c.srv
	if s.cfgFile == "" {
		c.Error("ERR The server is running without a config file")
		return
	}
	cfg := s.Config()
	data, err := cfg.Encode()
	if err == nil {
		err = writeFileAtomic(s.cfgFile, data)
	}
	if err != nil {
		s.log.Warn().Err(err).Str("file", s.cfgFile).Msg("CONFIG REWRITE failed")
		c.Error("ERR Rewriting config file: " + errText(err))
		return
	}
	s.log.Info().Str("file", s.cfgFile).Msg("CONFIG REWRITE executed with success")
	c.W.OK()
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
