package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/strata-kv/strata/config"
)

// admParseInfo splits INFO text into sections of field:value, failing the test when a
// line is not CRLF-terminated or not of that form.
func admParseInfo(t *testing.T, text string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	if text == "" {
		return out
	}
	if !strings.HasSuffix(text, "\r\n") {
		t.Fatalf("INFO does not end in CRLF: %q", text[max(0, len(text)-20):])
	}
	var cur map[string]string
	for _, line := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n") {
		if strings.Contains(line, "\n") || strings.Contains(line, "\r") {
			t.Fatalf("INFO line with a bare line break: %q", line)
		}
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "# "):
			cur = map[string]string{}
			out[strings.ToLower(line[2:])] = cur
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || cur == nil || k == "" {
				t.Fatalf("INFO line %q is not field:value inside a section", line)
			}
			cur[k] = v
		}
	}
	return out
}

func TestAdminInfo(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		must(t, c, "set", "k1", "v")
		must(t, c, "get", "k1")
		def := admParseInfo(t, c.Info(ctx).Val())
		for _, sec := range []string{"server", "clients", "memory", "persistence", "stats", "replication", "keyspace", "rocksdb"} {
			if def[sec] == nil {
				t.Fatalf("INFO has no %s section: %v", sec, def)
			}
		}
		if def["commandstats"] != nil {
			t.Fatalf("INFO default includes commandstats")
		}
		srv := def["server"]
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(srv["run_id"]) {
			t.Fatalf("run_id = %q", srv["run_id"])
		}
		if srv["redis_version"] != RedisVersion || srv["redis_mode"] != "standalone" || srv["strata_version"] != Version {
			t.Fatalf("server section: %v", srv)
		}
		if srv["process_id"] != strconv.Itoa(os.Getpid()) {
			t.Fatalf("process_id = %q", srv["process_id"])
		}
		if got := def["keyspace"]["db0"]; got != "keys=1,expires=0,avg_ttl=0" {
			t.Fatalf("keyspace db0 = %q", got)
		}
		repl := def["replication"]
		if repl["role"] != "master" || repl["master_replid2"] != strings.Repeat("0", 40) ||
			!regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(repl["master_replid"]) || repl["master_replid"] == srv["run_id"] {
			t.Fatalf("replication section: %v", repl)
		}
		if def["stats"]["keyspace_hits"] != "1" || def["clients"]["connected_clients"] != "1" {
			t.Fatalf("stats %v clients %v", def["stats"], def["clients"])
		}
		if n, _ := strconv.Atoi(def["memory"]["used_memory"]); n <= 0 {
			t.Fatalf("used_memory = %q", def["memory"]["used_memory"])
		}
		if def["rocksdb"]["block_cache_capacity"] != strconv.Itoa(8<<20) {
			t.Fatalf("rocksdb section: %v", def["rocksdb"])
		}
		// SET missed k1 in the key cache and wrote it there; GET found it.
		rk := def["rocksdb"]
		if rk["key_cache_capacity"] != strconv.Itoa(64<<20) || rk["key_cache_entries"] != "1" ||
			rk["key_cache_lookups"] != "2" || rk["key_cache_misses"] != "1" {
			t.Fatalf("key cache in the rocksdb section: %v", rk)
		}

		// Asked sections only, in Redis's order whatever the order asked.
		two := c.Info(ctx, "clients", "SERVER").Val()
		if !strings.HasPrefix(two, "# Server\r\n") || !strings.Contains(two, "\r\n\r\n# Clients\r\n") {
			t.Fatalf("INFO clients server = %q", two)
		}
		if got := admParseInfo(t, two); len(got) != 2 {
			t.Fatalf("INFO clients server has sections %v", got)
		}
		if got := c.Info(ctx, "nosuch").Val(); got != "" {
			t.Fatalf("INFO nosuch = %q", got)
		}
		for _, arg := range []string{"all", "everything"} {
			all := admParseInfo(t, c.Info(ctx, arg).Val())
			if got := all["commandstats"]["cmdstat_set"]; !regexp.MustCompile(`^calls=1,usec=\d+,usec_per_call=\d+\.\d\d$`).MatchString(got) {
				t.Fatalf("INFO %s cmdstat_set = %q", arg, got)
			}
			if all["server"] == nil || all["keyspace"] == nil {
				t.Fatalf("INFO %s lacks default sections", arg)
			}
		}
		must(t, c, "config", "get", "maxclients")
		cs := admParseInfo(t, c.Info(ctx, "commandstats").Val())["commandstats"]
		if !strings.HasPrefix(cs["cmdstat_config|get"], "calls=1,") {
			t.Fatalf("commandstats of a subcommand: %v", cs)
		}
		must(t, c, "config", "resetstat")
		st := admParseInfo(t, c.Info(ctx, "stats", "commandstats").Val())
		if st["stats"]["keyspace_hits"] != "0" || st["commandstats"]["cmdstat_set"] != "" {
			t.Fatalf("after RESETSTAT: %v", st)
		}
	})
}

// startSized starts a server with one memory size configured by set, and checks that
// CONFIG GET param shows it.
func startSized(t *testing.T, param string, size config.Size, set func(*config.Config)) (*redis.Client, context.Context) {
	t.Helper()
	ts := startServer(t, set)
	c := redis.NewClient(&redis.Options{Addr: ts.Addr})
	t.Cleanup(func() { c.Close() })
	ctx := ctxT(t)
	if got := c.ConfigGet(ctx, param).Val(); got[param] != size.String() {
		t.Fatalf("CONFIG GET %s = %v", param, got)
	}
	return c, ctx
}

// INFO rocksdb shows the rank cache: empty at first, one level once a large sorted set
// is written to again.
func TestAdminInfoRankCache(t *testing.T) {
	for _, size := range []config.Size{config.Default().RocksDB.RankCacheSize, 0} {
		t.Run(size.String(), func(t *testing.T) {
			c, ctx := startSized(t, "rocksdb-rank-cache-size", size, func(c *config.Config) { c.RocksDB.RankCacheSize = size })
			rk := admParseInfo(t, c.Info(ctx, "rocksdb").Val())["rocksdb"]
			if rk["rank_cache_levels"] != "0" || rk["rank_cache_bytes"] != "0" {
				t.Fatalf("rank cache before any sorted set: %v", rk)
			}
			var zs []redis.Z
			for i := 0; i < 1100; i++ {
				zs = append(zs, redis.Z{Score: float64(i), Member: strconv.Itoa(i)})
			}
			c.ZAdd(ctx, "z", zs...)
			c.ZAdd(ctx, "z", redis.Z{Score: 0.5, Member: "x"})
			rk = admParseInfo(t, c.Info(ctx, "rocksdb").Val())["rocksdb"]
			n, _ := strconv.Atoi(rk["rank_cache_bytes"])
			if size == 0 && (rk["rank_cache_levels"] != "0" || n != 0) {
				t.Fatalf("rank cache turned off holds %v", rk)
			}
			if size != 0 && (rk["rank_cache_levels"] != "1" || n <= 0) {
				t.Fatalf("rank cache after writes to a set of 1101: %v", rk)
			}
			if r := c.ZRank(ctx, "z", "x").Val(); r != 1 {
				t.Fatalf("ZRANK x = %d", r)
			}
			if r := c.ZRevRank(ctx, "z", "1000").Val(); r != 99 {
				t.Fatalf("ZREVRANK 1000 = %d", r)
			}
			if got := c.ZRange(ctx, "z", 1000, 1002).Val(); fmt.Sprint(got) != "[999 1000 1001]" {
				t.Fatalf("ZRANGE z 1000 1002 = %v", got)
			}
			if n := c.ZCount(ctx, "z", "(0", "500").Val(); n != 501 {
				t.Fatalf("ZCOUNT z (0 500 = %d", n)
			}
		})
	}
}

// INFO rocksdb shows the key filter: built at start, then answering reads of keys
// that were never written; turned off, it answers none and reads still work.
func TestAdminInfoKeyFilter(t *testing.T) {
	for _, size := range []config.Size{config.Default().RocksDB.KeyFilterSize, 0} {
		t.Run(size.String(), func(t *testing.T) {
			c, ctx := startSized(t, "rocksdb-key-filter-size", size, func(c *config.Config) { c.RocksDB.KeyFilterSize = size })
			rk := map[string]string{}
			for deadline := time.Now().Add(10 * time.Second); rk["key_filter_ready"] != "1" && size != 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("key filter not ready in 10s: %v", rk)
				}
				rk = admParseInfo(t, c.Info(ctx, "rocksdb").Val())["rocksdb"]
			}
			must(t, c, "set", "present", "v")
			for i := 0; i < 100; i++ {
				if err := c.Get(ctx, fmt.Sprintf("missing%d", i)).Err(); err != redis.Nil {
					t.Fatalf("GET missing%d: %v", i, err)
				}
			}
			if v := c.Get(ctx, "present").Val(); v != "v" {
				t.Fatalf("GET present = %q", v)
			}
			rk = admParseInfo(t, c.Info(ctx, "rocksdb").Val())["rocksdb"]
			skips, _ := strconv.Atoi(rk["key_filter_skips"])
			if size == 0 && (rk["key_filter_ready"] != "0" || skips != 0 || rk["key_filter_bytes"] != "0") {
				t.Fatalf("key filter turned off: %v", rk)
			}
			// SET's read of its new key and 100 GETs; a false positive or two may go on to RocksDB.
			if size != 0 && (skips < 95 || rk["key_filter_bytes"] != strconv.Itoa(int(size)) || rk["key_filter_builds"] != "1") {
				t.Fatalf("key filter after 101 reads of missing keys: %v", rk)
			}
		})
	}
}

func TestAdminInfoVerbatim(t *testing.T) {
	ts := startServer(t)
	conn := admDial(t, ts.Addr)
	conn.send(t, "HELLO", "3")
	conn.skipReply(t)
	conn.send(t, "INFO", "cluster")
	want := "# Cluster\r\ncluster_enabled:0\r\n"
	if got := conn.line(t); got != "="+strconv.Itoa(len(want)+4) {
		t.Fatalf("RESP3 INFO header %q", got)
	}
	if got := conn.line(t); got != "txt:# Cluster" {
		t.Fatalf("RESP3 INFO first line %q", got)
	}
}

func TestAdminConfig(t *testing.T) {
	// CONFIG SET loglevel moves zerolog's process-wide level: put it back.
	t.Cleanup(func() { zerolog.SetGlobalLevel(zerolog.TraceLevel) })
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		got := c.ConfigGet(ctx, "maxclients").Val()
		if len(got) != 1 || got["maxclients"] != "10000" {
			t.Fatalf("config get maxclients = %v", got)
		}
		got = c.ConfigGet(ctx, "slowlog*").Val()
		if len(got) != 2 || got["slowlog-log-slower-than"] != "10000" || got["slowlog-max-len"] != "128" {
			t.Fatalf("config get slowlog* = %v", got)
		}
		multi := must(t, c, "config", "get", "databases", "save", "appendonly", "port", "nosuch", "databases")
		want := map[string]string{"databases": "16", "save": "", "appendonly": "no", "port": strings.Split(c.Options().Addr, ":")[1]}
		if m := admStringMap(t, multi); len(m) != len(want) {
			t.Fatalf("config get several = %v", m)
		} else {
			for k, v := range want {
				if m[k] != v {
					t.Fatalf("config get %s = %q, want %q (%v)", k, m[k], v, m)
				}
			}
		}
		if got := must(t, c, "config", "set", "maxclients", "50", "timeout", "30", "slowlog-log-slower-than", "-1",
			"proto-max-bulk-len", "2mb", "loglevel", "warning", "save", ""); got != "OK" {
			t.Fatalf("config set = %v", got)
		}
		got = c.ConfigGet(ctx, "*").Val()
		for k, v := range map[string]string{"maxclients": "50", "timeout": "30", "slowlog-log-slower-than": "-1",
			"proto-max-bulk-len": "2097152", "loglevel": "warning"} {
			if got[k] != v {
				t.Fatalf("after set, %s = %q, want %q", k, got[k], v)
			}
		}
		mustErr(t, c, "ERR Unknown option or number of arguments for CONFIG SET - 'x'", "config", "set", "x", "1")
		mustErr(t, c, "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
			"config", "set", "maxclients", "abc")
		mustErr(t, c, "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive",
			"config", "set", "maxclients", "0")
		mustErr(t, c, "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
			"config", "set", "databases", "3")
		mustErr(t, c, "ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter",
			"config", "set", "timeout", "1", "timeout", "2")
		mustErr(t, c, "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning",
			"config", "set", "loglevel", "loud")
		mustErr(t, c, "ERR syntax error", "config", "set", "timeout", "1", "maxclients")
		mustErr(t, c, "ERR wrong number of arguments for 'config|set' command", "config", "set", "timeout")
		mustErr(t, c, "ERR unknown subcommand 'nope'. Try CONFIG HELP.", "config", "nope")
		// All or nothing: the bad second pair leaves the first unchanged.
		mustErr(t, c, "ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 9223372036854775807 inclusive",
			"config", "set", "timeout", "7", "slowlog-max-len", "-1")
		if v := c.ConfigGet(ctx, "timeout").Val()["timeout"]; v != "30" {
			t.Fatalf("timeout after failed set = %q", v)
		}
		mustErr(t, c, "ERR The server is running without a config file", "config", "rewrite")
	})
}

func TestAdminConfigRequirePass(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t, 3)
	ctx := ctxT(t)
	if err := c.ConfigSet(ctx, "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("existing connection after requirepass: %v", err)
	}
	for _, proto := range []int{2, 3} {
		anon := ts.client(t, proto)
		if err := anon.Ping(ctx).Err(); err == nil || err.Error() != errNoAuth {
			t.Fatalf("resp%d new connection without password: %v", proto, err)
		}
		authed := redis.NewClient(&redis.Options{Addr: ts.Addr, Protocol: proto, Password: "s3cret", DisableIdentity: true})
		if err := authed.Ping(ctx).Err(); err != nil {
			t.Fatalf("resp%d with password: %v", proto, err)
		}
		authed.Close()
	}
	conn := admDial(t, ts.Addr)
	conn.send(t, "GET", "x")
	if got := conn.line(t); got != "-"+errNoAuth {
		t.Fatalf("raw GET before AUTH = %q", got)
	}
	conn.send(t, "AUTH", "s3cret")
	if got := conn.line(t); got != "+OK" {
		t.Fatalf("AUTH = %q", got)
	}
	conn.send(t, "GET", "x")
	if got := conn.line(t); got != "$-1" {
		t.Fatalf("GET after AUTH = %q", got)
	}
	if v := c.ConfigGet(ctx, "requirepass").Val()["requirepass"]; v != "s3cret" {
		t.Fatalf("config get requirepass = %q", v)
	}
}

// admStartServerWithFile starts a server that was given a configuration file, for
// CONFIG REWRITE.
func admStartServerWithFile(t *testing.T) (*testServer, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "strata.toml")
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.DataDir = filepath.Join(dir, "data")
	cfg.RocksDB.BlockCacheSize = 8 << 20
	cfg.RocksDB.WriteBufferSize = 4 << 20
	data, err := cfg.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, path, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("server did not stop within 10s")
		}
	})
	return &testServer{Server: srv, Addr: srv.Addr().String()}, path
}

func TestAdminConfigRewrite(t *testing.T) {
	ts, path := admStartServerWithFile(t)
	c := ts.client(t, 2)
	must(t, c, "config", "set", "maxclients", "77", "slowlog-log-slower-than", "2500", "requirepass", "pw")
	if got := must(t, c, "config", "rewrite"); got != "OK" {
		t.Fatalf("config rewrite = %v", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(data)
	if err != nil {
		t.Fatalf("load rewritten config: %v\n%s", err, data)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("rewritten config invalid: %v", err)
	}
	if cfg.Server.MaxClients != 77 || cfg.Server.SlowlogLogSlowerThan.D() != 2500*time.Microsecond ||
		cfg.Server.RequirePass != "pw" || cfg.Server.DataDir != ts.Config().Server.DataDir {
		t.Fatalf("rewritten config: %+v", cfg.Server)
	}
	if v := must(t, c, "info", "server"); !strings.Contains(v.(string), "config_file:"+path+"\r\n") {
		t.Fatalf("INFO config_file: %q", v)
	}
}

func TestAdminClient(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		if err := c.Do(ctx, "client", "getname").Err(); err != redis.Nil {
			t.Fatalf("client getname without a name: %v", err)
		}
		must(t, c, "client", "setname", "alpha")
		if got := must(t, c, "client", "getname"); got != "alpha" {
			t.Fatalf("client getname = %v", got)
		}
		mustErr(t, c, "ERR Client names cannot contain spaces, newlines or special characters.", "client", "setname", "a b")
		must(t, c, "client", "setinfo", "lib-name", "mylib")
		must(t, c, "client", "setinfo", "LIB-VER", "1.2")
		mustErr(t, c, "ERR Unrecognized option 'foo'", "client", "setinfo", "foo", "x")
		id := c.ClientID(ctx).Val()
		info, err := c.ClientInfo(ctx).Result()
		if err != nil {
			t.Fatalf("client info (as go-redis parses it): %v", err)
		}
		if info.ID != id || info.Name != "alpha" || info.LibName != "mylib" || info.LibVer != "1.2" || info.DB != 0 ||
			info.LastCmd != "client|info" || info.LAddr != c.Options().Addr {
			t.Fatalf("client info = %+v (id %d)", info, id)
		}

		other := admDial(t, c.Options().Addr)
		other.send(t, "CLIENT", "SETNAME", "victim")
		other.skipReply(t)
		list := c.ClientList(ctx).Val()
		lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("client list = %q", list)
		}
		if !strings.HasPrefix(lines[0], "id="+strconv.FormatInt(id, 10)+" ") ||
			!strings.Contains(lines[0], " name=alpha ") || !strings.Contains(lines[0], " cmd=client|list ") ||
			!strings.Contains(lines[1], " name=victim ") || !strings.Contains(lines[1], " flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 ") {
			t.Fatalf("client list = %q", list)
		}
		if got := must(t, c, "client", "list", "type", "pubsub"); got != "" {
			t.Fatalf("client list type pubsub = %q", got)
		}
		if got := must(t, c, "client", "list", "id", strconv.FormatInt(id, 10)); !strings.Contains(got.(string), "name=alpha") ||
			strings.Contains(got.(string), "victim") {
			t.Fatalf("client list id = %q", got)
		}
		mustErr(t, c, "ERR Unknown client type 'foo'", "client", "list", "type", "foo")
		mustErr(t, c, "ERR No such client", "client", "kill", "1.2.3.4:5")
		mustErr(t, c, "ERR client-id should be greater than 0", "client", "kill", "id", "x")
		mustErr(t, c, "ERR No such user 'nobody'", "client", "kill", "user", "nobody")
		mustErr(t, c, "ERR syntax error", "client", "kill", "skipme", "maybe")

		// Sentinel's pattern, queued inside MULTI: every other normal client goes, the
		// caller stays.
		killer := admDial(t, c.Options().Addr)
		killer.send(t, "CLIENT", "LIST")
		others := strings.Count(killer.bulk(t), "\n") - 1
		for _, cmd := range [][]string{{"MULTI"}, {"CONFIG", "SET", "timeout", "0"},
			{"CLIENT", "KILL", "TYPE", "normal"}, {"CLIENT", "KILL", "TYPE", "pubsub"}} {
			killer.send(t, cmd...)
			killer.skipReply(t)
		}
		killer.send(t, "EXEC")
		for _, want := range []string{"*3", "+OK", ":" + strconv.Itoa(others), ":0"} {
			if got := killer.line(t); got != want {
				t.Fatalf("EXEC reply line %q, want %q", got, want)
			}
		}
		other.expectClosed(t)
		killer.send(t, "CLIENT", "LIST")
		if got := killer.bulk(t); strings.Count(got, "\n") != 1 || !strings.Contains(got, " cmd=client|list ") {
			t.Fatalf("client list after kill = %q", got)
		}
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("go-redis does not reconnect after CLIENT KILL: %v", err)
		}
	})
}

func TestAdminClientKillSelfAndAddr(t *testing.T) {
	ts := startServer(t)
	a := admDial(t, ts.Addr)
	b := admDial(t, ts.Addr)
	b.send(t, "CLIENT", "INFO")
	line := b.bulk(t)
	addr := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(line)[1]
	a.send(t, "CLIENT", "KILL", addr)
	if got := a.line(t); got != "+OK" {
		t.Fatalf("client kill addr = %q", got)
	}
	b.expectClosed(t)
	a.send(t, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")
	if got := a.line(t); got != ":1" {
		t.Fatalf("client kill self = %q", got)
	}
	a.expectClosed(t)
}

// TestAdminClientListFields checks fields CLIENT LIST reads from another connection.
func TestAdminClientListFields(t *testing.T) {
	ts := startServer(t)
	a := admDial(t, ts.Addr)
	b := admDial(t, ts.Addr)
	for _, cmd := range [][]string{{"SELECT", "3"}, {"HELLO", "3"}, {"MULTI"}, {"SET", "k", "v"}, {"GET", "k"}} {
		b.send(t, cmd...)
		b.skipReply(t)
	}
	a.send(t, "CLIENT", "LIST", "ID", "2")
	got := a.bulk(t)
	if !strings.HasPrefix(got, "id=2 ") || !strings.Contains(got, " flags=x db=3 sub=0 psub=0 ssub=0 multi=2 ") ||
		!strings.Contains(got, " cmd=get ") || !strings.Contains(got, " resp=3 ") || strings.Count(got, "\n") != 1 {
		t.Fatalf("client list id 2 = %q", got)
	}
}

func TestAdminCommand(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		n, err := c.Do(ctx, "command", "count").Int64()
		if err != nil {
			t.Fatal(err)
		}
		all := must(t, c, "command").([]any)
		if int(n) != len(all) || n < 50 {
			t.Fatalf("command count %d, command lists %d", n, len(all))
		}
		info := must(t, c, "command", "info", "get", "nosuchcmd").([]any)
		if len(info) != 2 || info[1] != nil {
			t.Fatalf("command info get nosuchcmd = %#v", info)
		}
		get := info[0].([]any)
		if len(get) != 10 || get[0] != "get" || get[1] != int64(2) || get[3] != int64(1) || get[4] != int64(1) || get[5] != int64(1) {
			t.Fatalf("command info get = %#v", get)
		}
		if flags := get[2].([]any); len(flags) != 2 || flags[0] != "readonly" || flags[1] != "fast" {
			t.Fatalf("command info get flags = %#v", flags)
		}
		cmds, err := c.Command(ctx).Result()
		if err != nil {
			t.Fatalf("go-redis COMMAND parse: %v", err)
		}
		if g := cmds["get"]; g == nil || g.Arity != 2 || g.FirstKeyPos != 1 || g.LastKeyPos != 1 || g.StepCount != 1 || !g.ReadOnly {
			t.Fatalf("go-redis COMMAND get = %+v", cmds["get"])
		}
		if cfg := cmds["config"]; cfg == nil || cfg.Arity != -2 {
			t.Fatalf("go-redis COMMAND config = %+v", cmds["config"])
		}
		keys, err := c.CommandGetKeys(ctx, "mset", "a", "1", "b", "2").Result()
		if err != nil || strings.Join(keys, ",") != "a,b" {
			t.Fatalf("command getkeys mset = %v %v", keys, err)
		}
		mustErr(t, c, "ERR The command has no key arguments", "command", "getkeys", "ping", "x")
		mustErr(t, c, "ERR Invalid command specified", "command", "getkeys", "nosuch", "x")
		mustErr(t, c, "ERR Invalid number of arguments specified for command", "command", "getkeys", "get", "a", "b")
		list, err := c.CommandList(ctx, nil).Result()
		if err != nil || !admContains(list, "get") || !admContains(list, "config|get") || !admContains(list, "client|kill") {
			t.Fatalf("command list = %v %v", list, err)
		}
		list = c.CommandList(ctx, &redis.FilterBy{Pattern: "slowlog*"}).Val()
		if strings.Join(list, ",") != "slowlog,slowlog|get,slowlog|len,slowlog|reset,slowlog|help" {
			t.Fatalf("command list filterby pattern = %v", list)
		}
		if list = c.CommandList(ctx, &redis.FilterBy{ACLCat: "admin"}).Val(); !admContains(list, "config") || admContains(list, "get") {
			t.Fatalf("command list filterby aclcat admin = %v", list)
		}
		docs := admAnyMap(t, must(t, c, "command", "docs", "get", "nosuch", "config"))
		if len(docs) != 2 {
			t.Fatalf("command docs = %#v", docs)
		}
		getDoc := admAnyMap(t, docs["get"])
		if getDoc["since"] != "1.0.0" || getDoc["summary"] == "" {
			t.Fatalf("command docs get = %#v", getDoc)
		}
		subs := admAnyMap(t, admAnyMap(t, docs["config"])["subcommands"])
		if _, ok := subs["config|rewrite"]; !ok || len(subs) != 5 {
			t.Fatalf("command docs config subcommands = %#v", subs)
		}
		mustErr(t, c, "ERR unknown subcommand 'foo'. Try COMMAND HELP.", "command", "foo")
	})
}

func TestAdminSlowlog(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		must(t, c, "set", "before", "1") // default threshold 10ms: not logged
		if got := must(t, c, "slowlog", "len"); got != int64(0) {
			t.Fatalf("slowlog len at start = %v", got)
		}
		must(t, c, "client", "setname", "slowpoke")
		must(t, c, "config", "set", "slowlog-log-slower-than", "0")
		must(t, c, "slowlog", "reset")
		must(t, c, "set", "k", strings.Repeat("x", 200))
		keys := make([]any, 0, 41)
		keys = append(keys, "del")
		for i := 0; i < 40; i++ {
			keys = append(keys, "key"+strconv.Itoa(i))
		}
		must(t, c, keys...)
		mustErr(t, c, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
			"auth", "secret") // refused, but logged, redacted
		logs, err := c.SlowLogGet(ctx, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) != 4 {
			t.Fatalf("slowlog get -1 = %+v", logs)
		}
		auth, del, set, reset := logs[0], logs[1], logs[2], logs[3]
		if strings.Join(reset.Args, " ") != "slowlog reset" || reset.ClientName != "slowpoke" || reset.ClientAddr == "" {
			t.Fatalf("slowlog entry for RESET = %+v", reset)
		}
		if set.ID != reset.ID+1 || del.ID != set.ID+1 || auth.ID != del.ID+1 {
			t.Fatalf("slowlog ids %d %d %d %d", reset.ID, set.ID, del.ID, auth.ID)
		}
		if len(set.Args) != 3 || set.Args[2] != strings.Repeat("x", 128)+"... (72 more bytes)" {
			t.Fatalf("slowlog SET args = %q", set.Args)
		}
		if len(del.Args) != 32 || del.Args[0] != "del" || del.Args[30] != "key29" || del.Args[31] != "... (10 more arguments)" {
			t.Fatalf("slowlog DEL args = %q", del.Args)
		}
		if strings.Join(auth.Args, " ") != "auth (redacted)" {
			t.Fatalf("slowlog AUTH args = %q", auth.Args)
		}
		if time.Since(set.Time) > time.Minute || set.Duration < 0 {
			t.Fatalf("slowlog SET time %v duration %v", set.Time, set.Duration)
		}
		if got := c.SlowLogGet(ctx, 2).Val(); len(got) != 2 || got[0].ID <= auth.ID {
			t.Fatalf("slowlog get 2 = %+v", got)
		}
		if got := c.SlowLogGet(ctx, 0).Val(); len(got) != 0 {
			t.Fatalf("slowlog get 0 = %+v", got)
		}
		mustErr(t, c, "ERR count should be greater than or equal to -1", "slowlog", "get", "-2")
		must(t, c, "config", "set", "slowlog-max-len", "3")
		for i := 0; i < 5; i++ {
			must(t, c, "ping")
		}
		if got := must(t, c, "slowlog", "len"); got != int64(3) {
			t.Fatalf("slowlog len with max 3 = %v", got)
		}
		must(t, c, "config", "set", "slowlog-log-slower-than", "-1")
		must(t, c, "slowlog", "reset")
		must(t, c, "ping")
		if got := must(t, c, "slowlog", "len"); got != int64(0) {
			t.Fatalf("slowlog len when disabled = %v", got)
		}
	})
}

func TestAdminMisc(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		tm, err := c.Time(ctx).Result()
		if err != nil || time.Since(tm).Abs() > time.Minute {
			t.Fatalf("time = %v %v", tm, err)
		}
		if got := must(t, c, "lastsave").(int64); time.Since(time.Unix(got, 0)) > time.Minute {
			t.Fatalf("lastsave = %d", got)
		}
		role := must(t, c, "role").([]any)
		if len(role) != 3 || role[0] != "master" || role[1] != int64(0) || len(role[2].([]any)) != 0 {
			t.Fatalf("role = %#v", role)
		}
		must(t, c, "set", "n", "12")
		if got := must(t, c, "debug", "object", "n").(string); !strings.Contains(got, " encoding:int ") {
			t.Fatalf("debug object = %q", got)
		}
		mustErr(t, c, "ERR no such key", "debug", "object", "missing")
		if got := must(t, c, "debug", "sleep", "0"); got != "OK" {
			t.Fatalf("debug sleep 0 = %v", got)
		}
		mustErr(t, c, "ERR syntax error", "shutdown", "save", "nosave")
		mustErr(t, c, "ERR No shutdown in progress.", "shutdown", "abort")
		help := must(t, c, "config", "help").([]any)
		if len(help) < 3 || !strings.HasPrefix(help[0].(string), "CONFIG <subcommand>") {
			t.Fatalf("config help = %#v", help)
		}
	})
}

func TestAdminShutdown(t *testing.T) {
	ts := startServer(t)
	conn := admDial(t, ts.Addr)
	conn.send(t, "MULTI")
	conn.skipReply(t)
	conn.send(t, "SHUTDOWN")
	if got := conn.line(t); got != "-ERR Command not allowed inside a transaction" {
		t.Fatalf("shutdown in multi = %q", got)
	}
	conn.send(t, "EXEC")
	if got := conn.line(t); !strings.HasPrefix(got, "-EXECABORT") {
		t.Fatalf("exec after refused shutdown = %q", got)
	}
	conn.send(t, "SHUTDOWN", "NOSAVE")
	conn.expectClosed(t)
	select {
	case <-ts.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10s after SHUTDOWN")
	}
}

// admConn is a bare RESP connection, for replies go-redis would hide (closed connections,
// verbatim headers).
type admConn struct {
	net.Conn
	r *bufio.Reader
}

func admDial(t *testing.T, addr string) *admConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &admConn{Conn: c, r: bufio.NewReader(c)}
}

func (r *admConn) send(t *testing.T, args ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	r.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
}

func (r *admConn) line(t *testing.T) string {
	t.Helper()
	r.SetDeadline(time.Now().Add(10 * time.Second))
	s, err := r.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return strings.TrimSuffix(s, "\r\n")
}

// bulk reads one bulk or verbatim string reply.
func (r *admConn) bulk(t *testing.T) string {
	t.Helper()
	h := r.line(t)
	n, err := strconv.Atoi(h[1:])
	if err != nil || (h[0] != '$' && h[0] != '=') {
		t.Fatalf("not a bulk reply: %q", h)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r.r, buf); err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// skipReply reads and drops one whole reply.
func (r *admConn) skipReply(t *testing.T) {
	t.Helper()
	h := r.line(t)
	switch h[0] {
	case '$', '=':
		if n, _ := strconv.Atoi(h[1:]); n >= 0 {
			if _, err := io.ReadFull(r.r, make([]byte, n+2)); err != nil {
				t.Fatal(err)
			}
		}
	case '*', '~', '>', '%':
		n, _ := strconv.Atoi(h[1:])
		if h[0] == '%' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			r.skipReply(t)
		}
	}
}

// expectClosed waits for the server to close the connection.
func (r *admConn) expectClosed(t *testing.T) {
	t.Helper()
	r.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := r.r.ReadByte()
	if err == nil {
		t.Fatalf("connection still open: read %q", b)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection not closed within 10s")
	}
}

func admContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// admStringMap turns a map reply (RESP3 map or RESP2 flat array) into a map.
func admStringMap(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range admAnyMap(t, v) {
		out[k] = v.(string)
	}
	return out
}

func admAnyMap(t *testing.T, v any) map[string]any {
	t.Helper()
	out := map[string]any{}
	switch m := v.(type) {
	case map[any]any:
		for k, v := range m {
			out[k.(string)] = v
		}
	case []any:
		if len(m)%2 != 0 {
			t.Fatalf("odd map reply %#v", m)
		}
		for i := 0; i < len(m); i += 2 {
			out[m[i].(string)] = m[i+1]
		}
	default:
		t.Fatalf("not a map reply: %#v", v)
	}
	return out
}

// CONFIG SET timeout closes idle clients; subscribers and blocked clients stay.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t)
	admin := ts.client(t, 2)
	ctx := ctxT(t)
	idle, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	sub := ts.client(t, 2).Subscribe(ctx, "news")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	blocked := ts.client(t, 2)
	go blocked.BLPop(ctx, 8*time.Second, "nolist")
	must(t, admin, "config", "set", "timeout", "1")
	// The idle connection is closed within a few seconds.
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Fatal("idle client got data instead of being closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("idle client was not closed within 5s")
	}
	// A fresh connection: the admin's own may have idled past the timeout meanwhile.
	check := ts.client(t, 2)
	must(t, check, "config", "set", "timeout", "0")
	if n := check.PubSubNumSub(ctx, "news").Val()["news"]; n != 1 {
		t.Fatalf("subscriber closed by the idle timeout (numsub %d)", n)
	}
	if n := infoFieldInt(t, check, "clients", "blocked_clients"); n != 1 {
		t.Fatalf("blocked client closed by the idle timeout (blocked_clients %d)", n)
	}
}

func infoFieldInt(t *testing.T, c *redis.Client, section, field string) int {
	t.Helper()
	for _, line := range strings.Split(c.Info(ctxT(t), section).Val(), "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return 0
}

// MEMORY USAGE answers with the bytes a key's records take: it grows with the value,
// counts every member of a collection (estimated from SAMPLES members, exactly with
// SAMPLES 0) and is nil for a missing or expired key. Errors are Redis's.
func TestAdminMemoryUsage(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		usage := func(args ...any) int64 {
			t.Helper()
			n, err := c.Do(ctx, append([]any{"memory", "usage"}, args...)...).Int64()
			if err != nil {
				t.Fatalf("MEMORY USAGE %v: %v", args, err)
			}
			return n
		}
		must(t, c, "set", "small", "v")
		must(t, c, "set", "big", strings.Repeat("x", 10000))
		if s, b := usage("small"), usage("big"); s <= int64(len("small")+1) || b-s < 9990 {
			t.Fatalf("MEMORY USAGE small = %d, big = %d", s, b)
		}
		// 1000 fields of about 100 bytes each, names and values growing along the hash.
		for i := 0; i < 1000; i++ {
			must(t, c, "hset", "h", fmt.Sprintf("field:%04d", i), strings.Repeat("v", 80+i%40))
		}
		all := usage("h", "samples", 0)
		if all < 1000*100 || all > 1000*140 {
			t.Fatalf("MEMORY USAGE h SAMPLES 0 = %d, want 100-140 bytes a field", all)
		}
		if est := usage("h"); est < all/2 || est > all*2 {
			t.Fatalf("MEMORY USAGE h = %d from 5 samples, %d counted", est, all)
		}
		if one := usage("h", "SAMPLES", 2000); one != all {
			t.Fatalf("SAMPLES beyond the count = %d, want %d", one, all)
		}
		for _, typ := range keyTypes {
			kFill(t, c, typ, "t:"+typ, "")
			if n := usage("t:" + typ); n <= 0 {
				t.Fatalf("MEMORY USAGE of a %s = %d", typ, n)
			}
		}
		before := usage("t:zset", "samples", 0)
		must(t, c, "zadd", "t:zset", 1, "another-member")
		if after := usage("t:zset", "samples", 0); after <= before {
			t.Fatalf("a sorted set grew from %d to %d bytes with a member", before, after)
		}
		kEq(t, c, nil, "memory", "usage", "nosuch")
		must(t, c, "set", "gone", "v", "px", 1)
		time.Sleep(5 * time.Millisecond)
		kEq(t, c, nil, "memory", "usage", "gone")

		mustErr(t, c, "ERR syntax error", "memory", "usage", "small", "samples", -1)
		mustErr(t, c, "ERR value is not an integer or out of range", "memory", "usage", "small", "samples", "x")
		mustErr(t, c, "ERR syntax error", "memory", "usage", "small", "samples")
		mustErr(t, c, "ERR syntax error", "memory", "usage", "small", "foo")
		mustErr(t, c, "ERR wrong number of arguments for 'memory' command", "memory")
		mustErr(t, c, "ERR wrong number of arguments for 'memory|usage' command", "memory", "usage")
		mustErr(t, c, "ERR unknown subcommand 'stats'. Try MEMORY HELP.", "memory", "stats")
	})
}

// A blocking command's time in SLOWLOG and LATENCY is the time it ran, not the time it
// waited, as in Redis: a BLPOP that waits 300ms is not slower than 100ms.
func TestAdminSlowlogLeavesOutTheWait(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t, 2)
	must(t, c, "config", "set", "slowlog-log-slower-than", "100000", "latency-monitor-threshold", "100")
	kEq(t, c, nil, "blpop", "empty", "0.3")
	other := ts.client(t, 2)
	go func() {
		time.Sleep(300 * time.Millisecond)
		other.RPush(ctxT(t), "later", "x")
	}()
	kEq(t, c, []any{"later", "x"}, "blpop", "later", "5")
	if n := must(t, c, "slowlog", "len"); n != int64(0) {
		t.Fatalf("SLOWLOG holds %d entries: %v", n, c.SlowLogGet(ctxT(t), -1).Val())
	}
	kEq(t, c, []any{}, "latency", "latest")
	must(t, c, "debug", "sleep", "0.15") // a command that is slow does go in
	if n := must(t, c, "slowlog", "len"); n != int64(1) {
		t.Fatalf("SLOWLOG after a 150ms command holds %d entries", n)
	}
}
