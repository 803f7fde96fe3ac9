package server

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-kv/strata/config"
)

// keyTypes are the types every generic command must handle.
var keyTypes = []string{"string", "hash", "list", "set", "zset"}

// kFill creates key as a value of type typ with a few members (tag varies them).
func kFill(t testing.TB, c *redis.Client, typ, key, tag string) {
	t.Helper()
	switch typ {
	case "string":
		must(t, c, "set", key, "v-"+tag)
	case "hash":
		must(t, c, "hset", key, "f1", "v1"+tag, "f2", "v2"+tag, "f3"+tag, "v3")
	case "list":
		must(t, c, "rpush", key, "a"+tag, "b", "c")
		must(t, c, "lpush", key, "z"+tag) // moves the head left
	case "set":
		must(t, c, "sadd", key, "m1"+tag, "m2", "m3")
	case "zset":
		must(t, c, "zadd", key, "1", "a"+tag, "2.5", "b", "-3", "c")
	default:
		t.Fatalf("unknown type %s", typ)
	}
}

// kDump renders a key's type and whole value, so two keys can be compared.
func kDump(t testing.TB, c *redis.Client, key string) string {
	t.Helper()
	ctx := ctxT(t)
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		t.Fatalf("type %s: %v", key, err)
	}
	var val any
	switch typ {
	case "none":
		return "none"
	case "string":
		val, err = c.Get(ctx, key).Result()
	case "hash":
		var m map[string]string
		m, err = c.HGetAll(ctx, key).Result()
		var fs []string
		for f, v := range m {
			fs = append(fs, f+"="+v)
		}
		sort.Strings(fs)
		val = fs
	case "list":
		val, err = c.LRange(ctx, key, 0, -1).Result()
	case "set":
		var ms []string
		ms, err = c.SMembers(ctx, key).Result()
		sort.Strings(ms)
		val = ms
	case "zset":
		val, err = c.ZRangeWithScores(ctx, key, 0, -1).Result()
	}
	if err != nil {
		t.Fatalf("read %s %s: %v", typ, key, err)
	}
	return fmt.Sprintf("%s:%v", typ, val)
}

// kEq runs a command and checks its reply.
func kEq(t testing.TB, c *redis.Client, want any, args ...any) {
	t.Helper()
	got, err := do(t, c, args...)
	if err == redis.Nil {
		got = nil
	} else if err != nil {
		t.Fatalf("%v: unexpected error %v", args, err)
	}
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Fatalf("%v = %#v, want %#v", args, got, want)
	}
}

// kDB returns a client for another database of the same server.
func kDB(t testing.TB, c *redis.Client, db int) *redis.Client {
	t.Helper()
	o := c.Options()
	dc := redis.NewClient(&redis.Options{
		Addr: o.Addr, Protocol: o.Protocol, DB: db, DisableIdentity: true,
		DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, PoolSize: 2,
	})
	t.Cleanup(func() { dc.Close() })
	return dc
}

// kSorted returns a reply array as sorted strings.
func kSorted(t testing.TB, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("not an array: %#v", v)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		out = append(out, e.(string))
	}
	sort.Strings(out)
	return out
}

func TestKeysDelExistsType(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		for _, typ := range keyTypes {
			kFill(t, c, typ, "k:"+typ, "")
			kEq(t, c, typ, "type", "k:"+typ)
		}
		kEq(t, c, "none", "type", "nosuch")
		kEq(t, c, int64(5), "exists", "k:string", "k:hash", "k:list", "k:set", "k:zset", "nosuch")
		kEq(t, c, int64(3), "exists", "k:hash", "k:hash", "k:hash")
		kEq(t, c, int64(0), "exists", "nosuch")
		kEq(t, c, int64(4), "touch", "k:string", "k:zset", "k:zset", "nosuch", "k:list")
		kEq(t, c, int64(5), "dbsize")
		kEq(t, c, int64(2), "del", "k:string", "k:hash", "k:hash", "nosuch")
		kEq(t, c, int64(3), "unlink", "k:list", "k:set", "k:zset", "k:list")
		for _, typ := range keyTypes {
			kEq(t, c, "none", "type", "k:"+typ)
			kEq(t, c, int64(0), "exists", "k:"+typ)
		}
		kEq(t, c, int64(0), "dbsize")
		kEq(t, c, int64(0), "del", "nosuch")
		mustErr(t, c, "ERR wrong number of arguments for 'del' command", "del")
		mustErr(t, c, "ERR wrong number of arguments for 'unlink' command", "unlink")
		mustErr(t, c, "ERR wrong number of arguments for 'exists' command", "exists")
		mustErr(t, c, "ERR wrong number of arguments for 'touch' command", "touch")
		mustErr(t, c, "ERR wrong number of arguments for 'type' command", "type", "a", "b")
		// A deleted collection re-created at once has none of its old members.
		for _, typ := range keyTypes {
			kFill(t, c, typ, "r", "old")
			kEq(t, c, int64(1), "del", "r")
			kFill(t, c, typ, "r", "new")
			kFill(t, c, typ, "fresh", "new")
			if got, want := kDump(t, c, "r"), kDump(t, c, "fresh"); got != want {
				t.Fatalf("%s re-created after DEL: %s, want %s", typ, got, want)
			}
			must(t, c, "del", "r", "fresh")
		}
	})
}

func TestKeysExpire(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		for _, typ := range keyTypes {
			k := "e:" + typ
			kFill(t, c, typ, k, "")
			kEq(t, c, int64(-1), "ttl", k)
			kEq(t, c, int64(-1), "pttl", k)
			kEq(t, c, int64(-1), "expiretime", k)
			kEq(t, c, int64(-1), "pexpiretime", k)
			kEq(t, c, int64(0), "expire", k, "100", "xx")
			kEq(t, c, int64(0), "expire", k, "100", "gt") // no TTL counts as infinite
			kEq(t, c, int64(1), "expire", k, "100", "lt")
			kEq(t, c, int64(100), "ttl", k)
			kEq(t, c, int64(0), "expire", k, "200", "nx")
			kEq(t, c, int64(0), "expire", k, "50", "gt")
			kEq(t, c, int64(1), "expire", k, "200", "GT")
			kEq(t, c, int64(0), "expire", k, "300", "lt")
			kEq(t, c, int64(1), "pexpire", k, "150000", "xx", "lt")
			pttl := must(t, c, "pttl", k).(int64)
			if pttl <= 149000 || pttl > 150000 {
				t.Fatalf("pttl = %d", pttl)
			}
			kEq(t, c, int64(150), "ttl", k)
			at := time.Now().Add(time.Hour).Unix()
			kEq(t, c, int64(1), "expireat", k, at)
			kEq(t, c, at, "expiretime", k)
			kEq(t, c, at*1000, "pexpiretime", k)
			kEq(t, c, int64(1), "pexpireat", k, at*1000+1234)
			kEq(t, c, at*1000+1234, "pexpiretime", k)
			kEq(t, c, at+1, "expiretime", k) // rounded like Redis: (ms+500)/1000
			kEq(t, c, int64(1), "persist", k)
			kEq(t, c, int64(0), "persist", k)
			kEq(t, c, int64(-1), "ttl", k)
			kEq(t, c, typ, "type", k) // PERSIST kept the value
			// A time in the past deletes the key, whatever the form.
			past := []any{"expire", k, "-1"}
			switch typ {
			case "hash":
				past = []any{"pexpire", k, "0"}
			case "list":
				past = []any{"expireat", k, "1"}
			case "set":
				past = []any{"pexpireat", k, time.Now().Add(-time.Second).UnixMilli()}
			case "zset":
				past = []any{"expire", k, "-100", "lt"}
			}
			kEq(t, c, int64(1), past...)
			kEq(t, c, int64(0), "exists", k)
			kEq(t, c, int64(-2), "ttl", k)
			kEq(t, c, int64(-2), "pttl", k)
			kEq(t, c, int64(-2), "expiretime", k)
			kEq(t, c, int64(-2), "pexpiretime", k)
		}
		kEq(t, c, int64(0), "dbsize")
		kEq(t, c, int64(0), "expire", "nosuch", "100")
		kEq(t, c, int64(0), "pexpireat", "nosuch", "1")
		kEq(t, c, int64(0), "persist", "nosuch")
		must(t, c, "set", "s", "v")
		mustErr(t, c, "ERR NX and XX, GT or LT options at the same time are not compatible", "expire", "s", "10", "nx", "xx")
		mustErr(t, c, "ERR NX and XX, GT or LT options at the same time are not compatible", "expire", "s", "10", "nx", "gt")
		mustErr(t, c, "ERR NX and XX, GT or LT options at the same time are not compatible", "pexpire", "s", "10", "lt", "nx")
		mustErr(t, c, "ERR GT and LT options at the same time are not compatible", "expire", "s", "10", "gt", "lt")
		mustErr(t, c, "ERR Unsupported option foo", "expire", "s", "10", "foo")
		mustErr(t, c, "ERR Unsupported option foo", "expire", "s", "abc", "foo") // options first
		mustErr(t, c, "ERR value is not an integer or out of range", "expire", "s", "abc")
		mustErr(t, c, "ERR value is not an integer or out of range", "expire", "s", "1.5")
		mustErr(t, c, "ERR invalid expire time in 'expire' command", "expire", "s", "9223372036854775807")
		mustErr(t, c, "ERR invalid expire time in 'expire' command", "expire", "s", "-9223372036854775807")
		mustErr(t, c, "ERR invalid expire time in 'pexpire' command", "pexpire", "s", "9223372036854775807")
		mustErr(t, c, "ERR invalid expire time in 'expireat' command", "expireat", "s", "9223372036854775807")
		mustErr(t, c, "ERR wrong number of arguments for 'expire' command", "expire", "s")
		mustErr(t, c, "ERR wrong number of arguments for 'ttl' command", "ttl")
		kEq(t, c, "v", "get", "s") // failed commands changed nothing
		kEq(t, c, int64(-1), "ttl", "s")
		kEq(t, c, int64(1), "pexpireat", "s", "9223372036854775807")
		kEq(t, c, int64(9223372036854775807), "pexpiretime", "s")
		kEq(t, c, int64(9223372036854776), "expiretime", "s") // Redis rounds without overflowing
		// SET without KEEPTTL drops the TTL; a TTL survives updates in place.
		kEq(t, c, int64(1), "expire", "s", "100")
		must(t, c, "append", "s", "x")
		kEq(t, c, int64(100), "ttl", "s")
		must(t, c, "set", "s", "y")
		kEq(t, c, int64(-1), "ttl", "s")
	})
}

// An expired key is gone for every command, before the active cycle removes it.
func TestKeysExpiredNeverVisible(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		for _, typ := range keyTypes {
			kFill(t, c, typ, "x:"+typ, "")
			kEq(t, c, int64(1), "pexpire", "x:"+typ, "30")
		}
		kFill(t, c, "hash", "live", "")
		time.Sleep(60 * time.Millisecond)
		for _, typ := range keyTypes {
			k := "x:" + typ
			kEq(t, c, "none", "type", k)
			kEq(t, c, int64(0), "exists", k)
			kEq(t, c, int64(-2), "ttl", k)
			kEq(t, c, int64(-2), "pttl", k)
			kEq(t, c, int64(-2), "expiretime", k)
			kEq(t, c, int64(0), "persist", k)
			kEq(t, c, int64(0), "expire", k, "100")
			mustErr(t, c, "ERR no such key", "rename", k, "y")
			kEq(t, c, int64(0), "copy", k, "y")
			kEq(t, c, int64(0), "move", k, "1")
			if got := kDump(t, c, k); got != "none" {
				t.Fatalf("expired %s reads as %s", k, got)
			}
		}
		if err := c.Get(ctx, "x:string").Err(); err != redis.Nil {
			t.Fatalf("get expired: %v", err)
		}
		kEq(t, c, []any{"live"}, "keys", "*")
		kEq(t, c, []any{"0", []any{"live"}}, "scan", "0", "count", "1000")
		for i := 0; i < 20; i++ {
			kEq(t, c, "live", "randomkey")
		}
		kEq(t, c, int64(0), "del", "x:string", "x:hash") // already gone: nothing deleted
		// Re-created after expiring, a key has none of its old members.
		for _, typ := range keyTypes {
			kFill(t, c, typ, "x:"+typ, "new")
			kFill(t, c, typ, "cmp", "new")
			if got, want := kDump(t, c, "x:"+typ), kDump(t, c, "cmp"); got != want {
				t.Fatalf("%s re-created after expiry: %s, want %s", typ, got, want)
			}
			must(t, c, "del", "cmp")
		}
	})
}

// The active cycle removes expired keys nobody touches: DBSIZE drops by itself.
func TestKeysActiveExpiry(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		for i := 0; i < 50; i++ {
			typ := keyTypes[i%len(keyTypes)]
			kFill(t, c, typ, fmt.Sprint("ae:", i), "")
			kEq(t, c, int64(1), "pexpire", fmt.Sprint("ae:", i), "50")
		}
		must(t, c, "set", "keep", "1")
		kEq(t, c, int64(51), "dbsize")
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := must(t, c, "dbsize").(int64)
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("dbsize still %d: the active cycle did not remove expired keys", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		kEq(t, c, []any{"keep"}, "keys", "*")
	})
}

func TestKeysKeysAndScan(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		var all []string
		for i := 0; i < 60; i++ {
			typ := keyTypes[i%len(keyTypes)]
			k := fmt.Sprintf("%s:%02d", typ, i)
			kFill(t, c, typ, k, "")
			all = append(all, k)
		}
		must(t, c, "set", "h*llo", "1")
		must(t, c, "set", "hello", "1")
		must(t, c, "set", "hallo", "1")
		all = append(all, "h*llo", "hello", "hallo")
		sort.Strings(all)
		kEq(t, c, []any{}, "keys", "nomatch*")
		if got := kSorted(t, must(t, c, "keys", "*")); fmt.Sprint(got) != fmt.Sprint(all) {
			t.Fatalf("keys * = %v", got)
		}
		if got := kSorted(t, must(t, c, "keys", "h?llo")); fmt.Sprint(got) != "[h*llo hallo hello]" {
			t.Fatalf("keys h?llo = %v", got)
		}
		if got := kSorted(t, must(t, c, "keys", `h\*llo`)); fmt.Sprint(got) != "[h*llo]" {
			t.Fatalf(`keys h\*llo = %v`, got)
		}
		if got := kSorted(t, must(t, c, "keys", "h[ae]llo")); fmt.Sprint(got) != "[hallo hello]" {
			t.Fatalf("keys h[ae]llo = %v", got)
		}
		if got := kSorted(t, must(t, c, "keys", "hello")); fmt.Sprint(got) != "[hello]" {
			t.Fatalf("keys hello = %v", got)
		}
		if got := kSorted(t, must(t, c, "keys", "zset:*4")); fmt.Sprint(got) != "[zset:04 zset:14 zset:24 zset:34 zset:44 zset:54]" {
			t.Fatalf("keys zset:*4 = %v", got)
		}

		// A full SCAN returns every key exactly once, whatever COUNT.
		scanAll := func(args ...any) []string {
			seen := map[string]int{}
			cursor := "0"
			for rounds := 0; ; rounds++ {
				if rounds > 1000 {
					t.Fatal("scan does not terminate")
				}
				r := must(t, c, append([]any{"scan", cursor}, args...)...).([]any)
				if len(r) != 2 {
					t.Fatalf("scan reply %#v", r)
				}
				for _, k := range r[1].([]any) {
					seen[k.(string)]++
				}
				cursor = r[0].(string)
				if cursor == "0" {
					break
				}
			}
			var out []string
			for k, n := range seen {
				if n != 1 {
					t.Fatalf("scan returned %s %d times", k, n)
				}
				out = append(out, k)
			}
			sort.Strings(out)
			return out
		}
		for _, count := range []string{"1", "7", "10", "1000"} {
			if got := scanAll("count", count); fmt.Sprint(got) != fmt.Sprint(all) {
				t.Fatalf("scan count %s = %v", count, got)
			}
		}
		// A small COUNT returns a non-zero cursor first.
		r := must(t, c, "scan", "0", "count", "5").([]any)
		if r[0] == "0" || len(r[1].([]any)) != 5 {
			t.Fatalf("scan 0 count 5 = %#v", r)
		}
		if got := scanAll("match", "list:*", "count", "3"); len(got) != 12 || got[0] != "list:02" {
			t.Fatalf("scan match list:* = %v", got)
		}
		if got := scanAll("match", "*:1?", "count", "4"); len(got) != 10 || got[0] != "hash:11" {
			t.Fatalf("scan match *:1? = %v", got)
		}
		for _, typ := range keyTypes {
			got := scanAll("type", strings.ToUpper(typ), "count", "9")
			want := 12
			if typ == "string" {
				want = 15
			}
			if len(got) != want {
				t.Fatalf("scan type %s = %v", typ, got)
			}
			for _, k := range got {
				if kt := must(t, c, "type", k); kt != typ {
					t.Fatalf("scan type %s returned %s of type %v", typ, k, kt)
				}
			}
		}
		if got := scanAll("type", "stream"); len(got) != 0 {
			t.Fatalf("scan type stream = %v", got)
		}
		if got := scanAll("type", "nosuchtype"); len(got) != 0 {
			t.Fatalf("scan type nosuchtype = %v", got)
		}
		if got := scanAll("match", "set:*", "type", "set"); len(got) != 12 {
			t.Fatalf("scan match set:* type set = %v", got)
		}
		if got := scanAll("match", "set:*", "type", "hash"); len(got) != 0 {
			t.Fatalf("scan match set:* type hash = %v", got)
		}
		// An unknown cursor restarts from the beginning; another db's scan is empty.
		if got := must(t, c, "scan", "987654321", "count", "1000").([]any); len(got[1].([]any)) != len(all) {
			t.Fatalf("scan with an unknown cursor = %v", got)
		}
		kEq(t, kDB(t, c, 2), []any{"0", []any{}}, "scan", "0")
		kEq(t, kDB(t, c, 2), []any{}, "keys", "*")
		mustErr(t, c, "ERR invalid cursor", "scan", "x")
		mustErr(t, c, "ERR syntax error", "scan", "0", "count", "0")
		mustErr(t, c, "ERR syntax error", "scan", "0", "match")
		mustErr(t, c, "ERR syntax error", "scan", "0", "foo", "bar")
		mustErr(t, c, "ERR value is not an integer or out of range", "scan", "0", "count", "x")
		mustErr(t, c, "ERR wrong number of arguments for 'keys' command", "keys")
		mustErr(t, c, "ERR wrong number of arguments for 'scan' command", "scan")
	})
}

func TestKeysRandomKey(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		kEq(t, c, nil, "randomkey")
		seen := map[string]bool{}
		for _, typ := range keyTypes {
			kFill(t, c, typ, "rk:"+typ, "")
		}
		for i := 0; i < 300; i++ {
			k := must(t, c, "randomkey").(string)
			if !strings.HasPrefix(k, "rk:") {
				t.Fatalf("randomkey = %q", k)
			}
			seen[k] = true
		}
		if len(seen) < 3 {
			t.Fatalf("randomkey is not random: only %v in 300 calls", seen)
		}
		must(t, c, "flushdb")
		kEq(t, c, nil, "randomkey")
		mustErr(t, c, "ERR wrong number of arguments for 'randomkey' command", "randomkey", "x")
	})
}

func TestKeysRename(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		for _, typ := range keyTypes {
			kFill(t, c, typ, "src", "")
			want := kDump(t, c, "src")
			kEq(t, c, int64(1), "expire", "src", "1000")
			kEq(t, c, "OK", "rename", "src", "dst")
			kEq(t, c, "none", "type", "src")
			if got := kDump(t, c, "dst"); got != want {
				t.Fatalf("rename %s: %s, want %s", typ, got, want)
			}
			kEq(t, c, int64(1000), "ttl", "dst")
			// Over an existing key of every type: replaced, its TTL gone with it.
			for _, other := range keyTypes {
				kFill(t, c, other, "other", "o")
				kEq(t, c, int64(0), "renamenx", "dst", "other")
				kEq(t, c, "OK", "rename", "dst", "other")
				if got := kDump(t, c, "other"); got != want {
					t.Fatalf("rename %s over %s: %s, want %s", typ, other, got, want)
				}
				kEq(t, c, int64(1000), "ttl", "other")
				kEq(t, c, int64(1), "renamenx", "other", "dst")
				kEq(t, c, int64(0), "exists", "other")
			}
			kEq(t, c, "OK", "rename", "dst", "dst")
			kEq(t, c, int64(0), "renamenx", "dst", "dst")
			if got := kDump(t, c, "dst"); got != want {
				t.Fatalf("rename %s to itself: %s", typ, got)
			}
			kEq(t, c, int64(1), "persist", "dst")
			kEq(t, c, "OK", "rename", "dst", "nottl")
			kEq(t, c, int64(-1), "ttl", "nottl")
			must(t, c, "del", "nottl")
		}
		kEq(t, c, int64(0), "dbsize")
		mustErr(t, c, "ERR no such key", "rename", "nosuch", "x")
		mustErr(t, c, "ERR no such key", "rename", "nosuch", "nosuch")
		mustErr(t, c, "ERR no such key", "renamenx", "nosuch", "x")
		mustErr(t, c, "ERR wrong number of arguments for 'rename' command", "rename", "a")
		mustErr(t, c, "ERR wrong number of arguments for 'renamenx' command", "renamenx", "a", "b", "c")
	})
}

func TestKeysCopy(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		db3 := kDB(t, c, 3)
		for _, typ := range keyTypes {
			kFill(t, c, typ, "src", "")
			want := kDump(t, c, "src")
			kEq(t, c, int64(1), "copy", "src", "dst")
			if got := kDump(t, c, "dst"); got != want {
				t.Fatalf("copy %s: %s, want %s", typ, got, want)
			}
			kEq(t, c, int64(-1), "ttl", "dst")
			// The copy is independent of its source.
			switch typ {
			case "string":
				must(t, c, "append", "dst", "more")
			case "hash":
				must(t, c, "hset", "dst", "extra", "1")
			case "list":
				must(t, c, "rpush", "dst", "extra")
			case "set":
				must(t, c, "sadd", "dst", "extra")
			case "zset":
				must(t, c, "zadd", "dst", "9", "extra")
			}
			if got := kDump(t, c, "src"); got != want {
				t.Fatalf("source changed with its copy: %s", got)
			}
			kEq(t, c, int64(0), "copy", "src", "dst")
			kEq(t, c, int64(1), "pexpire", "src", "500000")
			kEq(t, c, int64(1), "copy", "src", "dst", "replace")
			if got := kDump(t, c, "dst"); got != want {
				t.Fatalf("copy replace %s: %s, want %s", typ, got, want)
			}
			if ttl := must(t, c, "ttl", "dst").(int64); ttl != 500 {
				t.Fatalf("copy kept ttl %d, want 500", ttl)
			}
			// To another database, over a key of another type.
			kFill(t, db3, keyTypes[(len(typ))%len(keyTypes)], "dst", "x")
			kEq(t, c, int64(0), "copy", "src", "dst", "db", "3")
			kEq(t, c, int64(1), "copy", "src", "dst", "REPLACE", "DB", "3")
			if got := kDump(t, db3, "dst"); got != want {
				t.Fatalf("copy %s to db 3: %s, want %s", typ, got, want)
			}
			kEq(t, c, int64(1), "copy", "src", "src", "db", "3", "replace")
			kEq(t, db3, int64(2), "dbsize")
			must(t, db3, "flushdb")
			must(t, c, "del", "src", "dst")
		}
		kEq(t, c, int64(0), "copy", "nosuch", "x")
		kEq(t, c, int64(0), "exists", "x")
		must(t, c, "set", "a", "1")
		mustErr(t, c, "ERR source and destination objects are the same", "copy", "a", "a")
		mustErr(t, c, "ERR source and destination objects are the same", "copy", "a", "a", "db", "0")
		mustErr(t, c, "ERR source and destination objects are the same", "copy", "nosuch", "nosuch")
		mustErr(t, c, "ERR DB index is out of range", "copy", "a", "b", "db", "16")
		mustErr(t, c, "ERR DB index is out of range", "copy", "a", "b", "db", "-1")
		mustErr(t, c, "ERR value is not an integer or out of range", "copy", "a", "b", "db", "x")
		mustErr(t, c, "ERR value is out of range, value must between -2147483648 and 2147483647", "copy", "a", "b", "db", "2147483648")
		mustErr(t, c, "ERR syntax error", "copy", "a", "b", "foo")
		mustErr(t, c, "ERR syntax error", "copy", "a", "b", "db")
		mustErr(t, c, "ERR wrong number of arguments for 'copy' command", "copy", "a")
		kEq(t, c, int64(0), "exists", "b")
	})
}

func TestKeysMove(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		db5 := kDB(t, c, 5)
		for _, typ := range keyTypes {
			kFill(t, c, typ, "mv", "")
			want := kDump(t, c, "mv")
			kEq(t, c, int64(1), "expire", "mv", "700")
			kEq(t, c, int64(1), "move", "mv", "5")
			kEq(t, c, int64(0), "exists", "mv")
			if got := kDump(t, db5, "mv"); got != want {
				t.Fatalf("move %s: %s, want %s", typ, got, want)
			}
			kEq(t, db5, int64(700), "ttl", "mv")
			kEq(t, c, int64(0), "dbsize")
			kEq(t, db5, int64(1), "dbsize")
			// Refused when the name is taken in the target; nothing changes.
			must(t, c, "set", "mv", "here")
			kEq(t, db5, int64(0), "move", "mv", "0")
			kEq(t, c, "here", "get", "mv")
			if got := kDump(t, db5, "mv"); got != want {
				t.Fatalf("refused move changed the source: %s", got)
			}
			must(t, c, "del", "mv")
			kEq(t, db5, int64(1), "move", "mv", "0")
			if got := kDump(t, c, "mv"); got != want {
				t.Fatalf("move back %s: %s, want %s", typ, got, want)
			}
			must(t, c, "del", "mv")
		}
		kEq(t, c, int64(0), "move", "nosuch", "1")
		mustErr(t, c, "ERR source and destination objects are the same", "move", "a", "0")
		mustErr(t, c, "ERR DB index is out of range", "move", "a", "16")
		mustErr(t, c, "ERR DB index is out of range", "move", "a", "-1")
		mustErr(t, c, "ERR value is not an integer or out of range", "move", "a", "x")
		mustErr(t, c, "ERR value is out of range, value must between -2147483648 and 2147483647", "move", "a", "99999999999")
		mustErr(t, c, "ERR value is out of range, value must between -2147483648 and 2147483647", "move", "a", "-2147483649")
		mustErr(t, c, "ERR value is not an integer or out of range", "move", "a", "99999999999999999999")
		mustErr(t, c, "ERR value is not an integer or out of range", "move", "a", "1.5")
		mustErr(t, c, "ERR wrong number of arguments for 'move' command", "move", "a")
	})
}

func TestKeysFlushAndDBSize(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		db1, db2 := kDB(t, c, 1), kDB(t, c, 2)
		for i, typ := range keyTypes {
			kFill(t, c, typ, "f:"+typ, "")
			kFill(t, db1, typ, "f:"+typ, "")
			if i < 2 {
				kFill(t, db2, typ, "f:"+typ, "")
			}
		}
		kEq(t, c, int64(5), "dbsize")
		kEq(t, db2, int64(2), "dbsize")
		kEq(t, db1, "OK", "flushdb")
		kEq(t, db1, int64(0), "dbsize")
		kEq(t, db1, []any{}, "keys", "*")
		kEq(t, c, int64(5), "dbsize") // other databases untouched
		kEq(t, c, "OK", "flushdb", "async")
		kEq(t, c, int64(0), "dbsize")
		kEq(t, db2, int64(2), "dbsize")
		for _, typ := range keyTypes {
			kFill(t, c, typ, "f:"+typ, "")
		}
		kEq(t, c, "OK", "flushall", "SYNC")
		for _, cl := range []*redis.Client{c, db1, db2} {
			kEq(t, cl, int64(0), "dbsize")
			kEq(t, cl, nil, "randomkey")
		}
		// Flushed collections re-created have none of their old members.
		for _, typ := range keyTypes {
			kFill(t, c, typ, "f:"+typ, "new")
			kFill(t, c, typ, "cmp", "new")
			if got, want := kDump(t, c, "f:"+typ), kDump(t, c, "cmp"); got != want {
				t.Fatalf("%s after flush: %s, want %s", typ, got, want)
			}
			must(t, c, "del", "cmp")
		}
		kEq(t, c, int64(5), "dbsize")
		kEq(t, c, "OK", "flushall")
		kEq(t, c, "OK", "flushdb", "sync")
		kEq(t, c, "OK", "flushall", "async")
		mustErr(t, c, "ERR syntax error", "flushdb", "foo")
		mustErr(t, c, "ERR syntax error", "flushdb", "sync", "async")
		mustErr(t, c, "ERR syntax error", "flushall", "async", "x")
		mustErr(t, c, "ERR wrong number of arguments for 'dbsize' command", "dbsize", "x")
	})
}

// DBSIZE inside MULTI sees the transaction's own writes, as Redis does.
func TestKeysDBSizeInMulti(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		must(t, c, "set", "a", "1")
		var size1, size2, exists *redis.IntCmd
		var get *redis.StringCmd
		var keys *redis.StringSliceCmd
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "b", "1", 0)
			p.HSet(ctx, "h", "f", "v")
			size1 = p.DBSize(ctx)
			p.FlushDB(ctx)
			p.Set(ctx, "c", "1", 0)
			size2 = p.DBSize(ctx)
			// Writes made before the flush, in the same transaction, are gone too.
			get = p.Get(ctx, "b")
			exists = p.Exists(ctx, "b", "h")
			keys = p.Keys(ctx, "*")
			return nil
		})
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		if size1.Val() != 3 || size2.Val() != 1 {
			t.Fatalf("dbsize in multi = %d, %d; want 3, 1", size1.Val(), size2.Val())
		}
		if get.Err() != redis.Nil || exists.Val() != 0 || fmt.Sprint(keys.Val()) != "[c]" {
			t.Fatalf("after flush in multi: get %v, exists %d, keys %v", get.Err(), exists.Val(), keys.Val())
		}
		kEq(t, c, []any{"c"}, "keys", "*")
	})
}

// Keys deleted, expired, overwritten or flushed and then re-created show no old members,
// and the data (TTLs included) survives a restart.
func TestKeysRecreateAcrossRestart(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprint("resp", proto), func(t *testing.T) {
			dir := t.TempDir()
			useDir := func(cfg *config.Config) { cfg.Server.DataDir = dir }
			ts := startServer(t, useDir)
			c := ts.client(t, proto)
			want := map[string]string{}
			for _, typ := range keyTypes {
				for _, way := range []string{"del", "expire", "overwrite", "rename-over", "copy-over"} {
					k := way + ":" + typ
					kFill(t, c, typ, k, "old")
					switch way {
					case "del":
						kEq(t, c, int64(1), "del", k)
					case "expire":
						kEq(t, c, int64(1), "pexpire", k, "1")
						time.Sleep(5 * time.Millisecond)
					case "overwrite":
						kEq(t, c, "OK", "set", k, "plain")
						kEq(t, c, int64(1), "del", k)
					case "rename-over":
						kFill(t, c, "string", "tmp", "")
						kEq(t, c, "OK", "rename", "tmp", k)
						kEq(t, c, int64(1), "del", k)
					case "copy-over":
						kFill(t, c, "set", "tmp", "")
						kEq(t, c, int64(1), "copy", "tmp", k, "replace")
						must(t, c, "del", "tmp", k)
					}
					kFill(t, c, typ, k, "new")
					kFill(t, c, typ, "cmp", "new")
					want[k] = kDump(t, c, "cmp")
					must(t, c, "del", "cmp")
					if got := kDump(t, c, k); got != want[k] {
						t.Fatalf("%s re-created: %s, want %s", k, got, want[k])
					}
				}
			}
			kEq(t, c, int64(1), "pexpire", "del:hash", "5000")
			size := must(t, c, "dbsize").(int64)
			ts.Close()

			ts = startServer(t, useDir)
			c = ts.client(t, proto)
			kEq(t, c, size, "dbsize")
			for k, w := range want {
				if got := kDump(t, c, k); got != w {
					t.Fatalf("%s after restart: %s, want %s", k, got, w)
				}
			}
			if ttl := must(t, c, "ttl", "del:hash").(int64); ttl < 4 || ttl > 5 {
				t.Fatalf("ttl after restart = %d", ttl)
			}
			// And once more: delete and re-create after the restart.
			for k := range want {
				typ := must(t, c, "type", k).(string)
				must(t, c, "del", k)
				kFill(t, c, typ, k, "new")
				if got := kDump(t, c, k); got != want[k] {
					t.Fatalf("%s re-created after restart: %s, want %s", k, got, want[k])
				}
			}
		})
	}
}
