package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Helpers for the replication tests: processes configured as masters or followers,
// INFO fields, catching up, and a canonical dump of all 16 databases for comparing
// a master with its followers.

// replProc starts nothing: it prepares a server whose config has a [replication]
// section (replicaof = follow, "" for a master) plus the given extra sections.
// replExtra holds the lines of the [replication] section other than replicaof.
func replProc(t testing.TB, follow, replExtra, extra string) *proc {
	t.Helper()
	return newProc(t, fmt.Sprintf("[replication]\nreplicaof = %q\n%s\n\n%s", follow, replExtra, extra))
}

var replicaOfLine = regexp.MustCompile(`(?m)^replicaof\s*=\s*".*"$`)

// setReplicaOf rewrites the replicaof key of p's config file (for the next start).
func setReplicaOf(t testing.TB, p *proc, addr string) {
	t.Helper()
	b, err := os.ReadFile(p.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !replicaOfLine.Match(b) {
		t.Fatalf("config %s has no replicaof line:\n%s", p.cfgPath, b)
	}
	b = replicaOfLine.ReplaceAll(b, []byte(fmt.Sprintf("replicaof = %q", addr)))
	if err := os.WriteFile(p.cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) hostPort() (string, string) {
	h, port, _ := net.SplitHostPort(p.addr)
	return h, port
}

func (p *proc) port() int {
	_, port := p.hostPort()
	n, _ := strconv.Atoi(port)
	return n
}

// dbClient is a client bound to one database.
func (p *proc) dbClient(db int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: p.addr, DB: db, DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, MaxRetries: -1, PoolSize: 2, DisableIdentity: true,
	})
}

// quick gives a client (closed at the end of the test).
func (p *proc) quick(t testing.TB) *redis.Client {
	c := p.client()
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// info returns the fields of an INFO section, or an error (usable off the test goroutine).
func info(c *redis.Client, section string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// infoInt reads one integer INFO field, failing the test when it is missing.
func infoInt(t testing.TB, c *redis.Client, section, field string) int64 {
	t.Helper()
	v := infoField(t, c, section, field)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("INFO %s %s = %q: not an integer", section, field, v)
	}
	return n
}

// eventually polls cond until it holds or d passes; cond returns a description of
// what it is still waiting for.
func eventually(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last state: %s)", d, what, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// lastID is the master's last binlog ID.
func lastID(c *redis.Client) (int64, error) {
	m, err := info(c, "replication")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(m["master_repl_offset"], 10, 64)
}

// appliedID is a follower's applied position.
func appliedID(c *redis.Client) (int64, error) {
	m, err := info(c, "replication")
	if err != nil {
		return 0, err
	}
	if m["role"] != "slave" {
		return 0, fmt.Errorf("role is %s", m["role"])
	}
	return strconv.ParseInt(m["slave_repl_offset"], 10, 64)
}

// caughtUp waits until every follower has applied everything the master logged
// (writes must have stopped).
func caughtUp(t testing.TB, d time.Duration, master *proc, followers ...*proc) {
	t.Helper()
	mc := master.client()
	defer mc.Close()
	fcs := make([]*redis.Client, len(followers))
	for i, f := range followers {
		fcs[i] = f.client()
		defer fcs[i].Close()
	}
	eventually(t, d, "followers to catch up", func() (bool, string) {
		last, err := lastID(mc)
		if err != nil {
			return false, "master: " + err.Error()
		}
		state := fmt.Sprintf("master last=%d", last)
		ok := true
		for i, fc := range fcs {
			a, err := appliedID(fc)
			if err != nil {
				return false, state + "; follower " + followers[i].addr + ": " + err.Error()
			}
			state += fmt.Sprintf("; %s applied=%d", followers[i].addr, a)
			if a != last {
				ok = false
			}
		}
		return ok, state
	})
}

// role returns ROLE's first element.
func roleOf(c *redis.Client) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	v, err := c.Do(ctx, "role").Slice()
	if err != nil {
		return "", err
	}
	if len(v) == 0 {
		return "", errors.New("empty ROLE")
	}
	s, _ := v[0].(string)
	return s, nil
}

// linkUp waits until the follower reports master_link_status:up.
func linkUp(t testing.TB, d time.Duration, f *proc) {
	t.Helper()
	c := f.client()
	defer c.Close()
	eventually(t, d, "replication link of "+f.addr+" to be up", func() (bool, string) {
		m, err := info(c, "replication")
		if err != nil {
			return false, err.Error()
		}
		return m["master_link_status"] == "up", fmt.Sprintf("role=%s link=%s", m["role"], m["master_link_status"])
	})
}

// ---- canonical dump ----

// dumpDB renders one database as key -> canonical description (type, value,
// members sorted, list order, zset scores, whether a TTL is set).
func dumpDB(ctx context.Context, p *proc, db int) (map[string]string, error) {
	c := p.dbClient(db)
	defer c.Close()
	var keys []string
	var cursor uint64
	for {
		ks, cur, err := c.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("SCAN db %d: %w", db, err)
		}
		keys = append(keys, ks...)
		cursor = cur
		if cursor == 0 {
			break
		}
	}
	sort.Strings(keys)
	keys = dedup(keys)
	out := map[string]string{}
	for start := 0; start < len(keys); start += 500 {
		batch := keys[start:min(start+500, len(keys))]
		types := make([]*redis.StatusCmd, len(batch))
		ttls := make([]*redis.DurationCmd, len(batch))
		if _, err := c.Pipelined(ctx, func(pp redis.Pipeliner) error {
			for i, k := range batch {
				types[i] = pp.Type(ctx, k)
				ttls[i] = pp.PTTL(ctx, k)
			}
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("TYPE/PTTL db %d: %w", db, err)
		}
		vals := make([]redis.Cmder, len(batch))
		if _, err := c.Pipelined(ctx, func(pp redis.Pipeliner) error {
			for i, k := range batch {
				switch types[i].Val() {
				case "string":
					vals[i] = pp.Get(ctx, k)
				case "hash":
					vals[i] = pp.HGetAll(ctx, k)
				case "list":
					vals[i] = pp.LRange(ctx, k, 0, -1)
				case "set":
					vals[i] = pp.SMembers(ctx, k)
				case "zset":
					vals[i] = pp.ZRangeWithScores(ctx, k, 0, -1)
				}
			}
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("values db %d: %w", db, err)
		}
		for i, k := range batch {
			typ := types[i].Val()
			if typ == "none" || vals[i] == nil {
				continue // expired meanwhile
			}
			if errors.Is(vals[i].Err(), redis.Nil) {
				continue
			}
			ttl := "persist"
			if ttls[i].Val() >= 0 {
				ttl = "ttl"
			}
			var v string
			switch cmd := vals[i].(type) {
			case *redis.StringCmd:
				v = strconv.Quote(cmd.Val())
			case *redis.MapStringStringCmd:
				fs := make([]string, 0, len(cmd.Val()))
				for f, x := range cmd.Val() {
					fs = append(fs, strconv.Quote(f)+"="+strconv.Quote(x))
				}
				sort.Strings(fs)
				v = strings.Join(fs, ",")
			case *redis.StringSliceCmd:
				ms := append([]string(nil), cmd.Val()...)
				if typ == "set" {
					sort.Strings(ms)
				}
				for j := range ms {
					ms[j] = strconv.Quote(ms[j])
				}
				v = strings.Join(ms, ",")
			case *redis.ZSliceCmd:
				var b strings.Builder
				for _, z := range cmd.Val() {
					fmt.Fprintf(&b, "%q:%s,", z.Member, strconv.FormatFloat(z.Score, 'g', 17, 64))
				}
				v = b.String()
			}
			out[k] = typ + " " + ttl + " " + v
		}
	}
	return out, nil
}

func dedup(s []string) []string {
	out := s[:0]
	for i, k := range s {
		if i == 0 || k != s[i-1] {
			out = append(out, k)
		}
	}
	return out
}

// dumpAll dumps all 16 databases.
func dumpAll(ctx context.Context, p *proc) ([16]map[string]string, error) {
	var all [16]map[string]string
	for db := 0; db < 16; db++ {
		d, err := dumpDB(ctx, p, db)
		if err != nil {
			return all, fmt.Errorf("%s: %w", p.addr, err)
		}
		all[db] = d
	}
	return all, nil
}

// diffDumps describes the first differences between two dumps ("" when equal).
func diffDumps(a, b [16]map[string]string) string {
	var out []string
	for db := 0; db < 16; db++ {
		for k, va := range a[db] {
			if vb, ok := b[db][k]; !ok {
				out = append(out, fmt.Sprintf("db%d %q only on the first: %.200s", db, k, va))
			} else if va != vb {
				out = append(out, fmt.Sprintf("db%d %q differs:\n  %.300s\n  %.300s", db, k, va, vb))
			}
		}
		for k, vb := range b[db] {
			if _, ok := a[db][k]; !ok {
				out = append(out, fmt.Sprintf("db%d %q only on the second: %.200s", db, k, vb))
			}
		}
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... and %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}

func countKeys(d [16]map[string]string) int {
	n := 0
	for _, m := range d {
		n += len(m)
	}
	return n
}

// hasDigest reports whether the server registers DIGEST.
func hasDigest(c *redis.Client) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	v, err := c.Do(ctx, "command", "info", "digest").Slice()
	return err == nil && len(v) == 1 && v[0] != nil
}

// sameData waits (bounded) until the follower's data equals the master's: canonical
// dumps of all 16 databases, and DIGEST of each when the server has it. Writes must
// have stopped.
func sameData(t testing.TB, master *proc, followers ...*proc) {
	t.Helper()
	caughtUp(t, 30*time.Second, master, followers...)
	ctx := ctxTimeout(t, 60*time.Second)
	md, err := dumpAll(ctx, master)
	if err != nil {
		t.Fatal(err)
	}
	mc := master.client()
	defer mc.Close()
	useDigest := hasDigest(mc)
	for _, f := range followers {
		fd, err := dumpAll(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffDumps(md, fd); d != "" {
			t.Fatalf("data differs between master %s and follower %s:\n%s", master.addr, f.addr, d)
		}
		if useDigest {
			fc := f.client()
			for db := 0; db < 16; db++ {
				a, err1 := mc.Do(ctx, "digest", db).Text()
				b, err2 := fc.Do(ctx, "digest", db).Text()
				if err1 != nil || err2 != nil || a != b {
					fc.Close()
					t.Fatalf("DIGEST %d: master %s %q (%v), follower %s %q (%v), though the dumps match", db, master.addr, a, err1, f.addr, b, err2)
				}
			}
			fc.Close()
		}
	}
	t.Logf("data matches on %d keys (DIGEST compared too: %v)", countKeys(md), useDigest)
}

// ---- writes ----

// writeAllTypes writes n groups of keys of every type in db 0 and 3, with long TTLs on
// some, a counter, and a MULTI.
func writeAllTypes(t testing.TB, c *redis.Client, prefix string, n int) {
	t.Helper()
	ctx := ctxTimeout(t, 60*time.Second)
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("%s:%d", prefix, i)
			p.Set(ctx, k+":s", i, 0)
			p.HSet(ctx, k+":h", "f", i, "g", "x")
			p.RPush(ctx, k+":l", "a", "b", i)
			p.LPush(ctx, k+":l", "z")
			p.SAdd(ctx, k+":set", "a", i)
			p.ZAdd(ctx, k+":z", redis.Z{Score: float64(i), Member: "m"}, redis.Z{Score: 1.5, Member: "n"})
			p.Set(ctx, k+":ttl", "v", time.Hour)
			p.HSet(ctx, k+":httl", "a", "b")
			p.Expire(ctx, k+":httl", time.Hour)
			p.Incr(ctx, prefix+":counter")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("writes %s: %v", prefix, err)
	}
	if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, prefix+":m1", "1", 0)
		p.LPush(ctx, prefix+":m2", "x", "y")
		p.ZIncrBy(ctx, prefix+":m3", 2.5, "a")
		return nil
	}); err != nil {
		t.Fatalf("MULTI %s: %v", prefix, err)
	}
	c3 := redis.NewClient(&redis.Options{Addr: c.Options().Addr, DB: 3, DisableIdentity: true})
	defer c3.Close()
	if err := c3.Set(ctx, prefix+":db3", "x", 0).Err(); err != nil {
		t.Fatalf("SET in db 3: %v", err)
	}
}

// loadWriter writes SETs (value of size bytes) on keys prefix:<i> until stop is
// closed, pipelining depth commands per round trip, and returns how many it wrote.
// With keys > 0 it cycles over that many keys instead of writing new ones.
func loadWriter(c *redis.Client, prefix string, size, depth, keys int, stop <-chan struct{}) (int, error) {
	ctx := context.Background()
	val := strings.Repeat("x", size)
	n := 0
	for {
		select {
		case <-stop:
			return n, nil
		default:
		}
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := 0; j < depth; j++ {
				i := n + j
				if keys > 0 {
					i %= keys
				}
				p.Set(ctx, fmt.Sprintf("%s:%d", prefix, i), val, 0)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += depth
	}
}

// load describes background writes: clients each pipelining depth SETs of size bytes,
// over keys keys per client (0: always new keys).
type load struct{ clients, size, depth, keys int }

// background runs loadWriter on several clients until the returned stop function is
// called; stop returns the total written and fails the test on an error.
func background(t testing.TB, p *proc, prefix string, l load) func() int {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	var firstErr error
	for i := 0; i < l.clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := p.client()
			defer c.Close()
			n, err := loadWriter(c, fmt.Sprintf("%s:%d", prefix, i), l.size, l.depth, l.keys, stop)
			mu.Lock()
			total += n
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}(i)
	}
	var once sync.Once
	return func() int {
		once.Do(func() { close(stop); wg.Wait() })
		if firstErr != nil {
			t.Fatalf("background writes on %s: %v", p.addr, firstErr)
		}
		return total
	}
}
