package server

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// hashKeyExists reads the key's metadata straight from the store: whether the hash is
// still there, without relying on another group's EXISTS.
func hashKeyExists(t *testing.T, ts *testServer, key string) bool {
	t.Helper()
	tx := ts.Store().Begin()
	defer tx.Close()
	k, err := tx.Load(0, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return k.Exists()
}

func hashSorted(t *testing.T, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("reply %#v is not an array", v)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("element %#v is not a string", e)
		}
		out[i] = s
	}
	sort.Strings(out)
	return out
}

func TestHashCommands(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			ts := startServer(t)
			c := ts.client(t, proto)
			ctx := ctxT(t)

			if n := must(t, c, "hset", "h", "a", "1", "b", "2", "a", "3"); n != int64(2) {
				t.Fatalf("hset = %v, want 2", n)
			}
			if n := must(t, c, "hset", "h", "b", "20", "c", "30"); n != int64(1) {
				t.Fatalf("hset existing = %v, want 1", n)
			}
			if v := must(t, c, "hmset", "h", "d", "", "e", "5"); v != "OK" {
				t.Fatalf("hmset = %v", v)
			}
			if v := must(t, c, "hget", "h", "a"); v != "3" {
				t.Fatalf("hget a = %v", v)
			}
			if err := c.HGet(ctx, "h", "zz").Err(); err != redis.Nil {
				t.Fatalf("hget missing field: %v", err)
			}
			if err := c.HGet(ctx, "nokey", "a").Err(); err != redis.Nil {
				t.Fatalf("hget missing key: %v", err)
			}
			if v := must(t, c, "hget", "h", "d"); v != "" {
				t.Fatalf("hget empty value = %#v", v)
			}
			if v := must(t, c, "hmget", "h", "a", "zz", "d"); !reflect.DeepEqual(v, []any{"3", nil, ""}) {
				t.Fatalf("hmget = %#v", v)
			}
			if v := must(t, c, "hmget", "nokey", "a", "b"); !reflect.DeepEqual(v, []any{nil, nil}) {
				t.Fatalf("hmget missing key = %#v", v)
			}
			if n := must(t, c, "hlen", "h"); n != int64(5) {
				t.Fatalf("hlen = %v", n)
			}
			if n := must(t, c, "hlen", "nokey"); n != int64(0) {
				t.Fatalf("hlen missing = %v", n)
			}
			// HEXISTS and HSETNX answer integers in both protocols, as Redis 7 does.
			if v := must(t, c, "hexists", "h", "c"); v != int64(1) {
				t.Fatalf("hexists c = %#v", v)
			}
			if v := must(t, c, "hexists", "h", "zz"); v != int64(0) {
				t.Fatalf("hexists zz = %#v", v)
			}
			if v := must(t, c, "hsetnx", "h", "a", "x"); v != int64(0) {
				t.Fatalf("hsetnx existing = %#v", v)
			}
			if v := must(t, c, "hsetnx", "h", "f", "6"); v != int64(1) {
				t.Fatalf("hsetnx new = %#v", v)
			}
			if v := must(t, c, "hsetnx", "new", "f", "1"); v != int64(1) {
				t.Fatalf("hsetnx on a missing key = %#v", v)
			}
			if n := must(t, c, "hstrlen", "h", "b"); n != int64(2) {
				t.Fatalf("hstrlen = %v", n)
			}
			if n := must(t, c, "hstrlen", "h", "zz"); n != int64(0) {
				t.Fatalf("hstrlen missing = %v", n)
			}
			if got := hashSorted(t, must(t, c, "hkeys", "h")); !reflect.DeepEqual(got, []string{"a", "b", "c", "d", "e", "f"}) {
				t.Fatalf("hkeys = %v", got)
			}
			if got := hashSorted(t, must(t, c, "hvals", "h")); !reflect.DeepEqual(got, []string{"", "20", "3", "30", "5", "6"}) {
				t.Fatalf("hvals = %v", got)
			}
			if v := must(t, c, "hkeys", "nokey"); !reflect.DeepEqual(v, []any{}) {
				t.Fatalf("hkeys missing = %#v", v)
			}

			want := map[string]string{"a": "3", "b": "20", "c": "30", "d": "", "e": "5", "f": "6"}
			if got := c.HGetAll(ctx, "h").Val(); !reflect.DeepEqual(got, want) {
				t.Fatalf("hgetall = %v", got)
			}
			raw := must(t, c, "hgetall", "h")
			if proto == 3 {
				m, ok := raw.(map[any]any)
				if !ok || len(m) != 6 || m["b"] != "20" || m["d"] != "" {
					t.Fatalf("RESP3 hgetall is not the map: %#v", raw)
				}
				if v := must(t, c, "hgetall", "nokey"); !reflect.DeepEqual(v, map[any]any{}) {
					t.Fatalf("RESP3 hgetall of a missing key = %#v", v)
				}
			} else {
				arr, ok := raw.([]any)
				if !ok || len(arr) != 12 {
					t.Fatalf("RESP2 hgetall is not a flat array of 12: %#v", raw)
				}
				for i := 0; i < len(arr); i += 2 {
					if want[arr[i].(string)] != arr[i+1] {
						t.Fatalf("RESP2 hgetall pair %v=%v", arr[i], arr[i+1])
					}
				}
				if v := must(t, c, "hgetall", "nokey"); !reflect.DeepEqual(v, []any{}) {
					t.Fatalf("RESP2 hgetall of a missing key = %#v", v)
				}
			}

			if n := must(t, c, "hdel", "h", "a", "a", "zz"); n != int64(1) {
				t.Fatalf("hdel = %v", n)
			}
			if n := must(t, c, "hlen", "h"); n != int64(5) {
				t.Fatalf("hlen after hdel = %v", n)
			}
			if n := must(t, c, "hdel", "h", "b", "c", "d", "e", "f"); n != int64(5) {
				t.Fatalf("hdel rest = %v", n)
			}
			if hashKeyExists(t, ts, "h") {
				t.Fatal("hash still exists after its last field was deleted")
			}
			if n := must(t, c, "hdel", "h", "a"); n != int64(0) {
				t.Fatalf("hdel on a missing key = %v", n)
			}
			if n := must(t, c, "hset", "h", "z", "1"); n != int64(1) {
				t.Fatalf("hset after the hash vanished = %v", n)
			}
			if got := c.HGetAll(ctx, "h").Val(); !reflect.DeepEqual(got, map[string]string{"z": "1"}) {
				t.Fatalf("recreated hash = %v", got)
			}
		})
	}
}

func TestHashErrors(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "set", "str", "v")
		const wrong = "WRONGTYPE Operation against a key holding the wrong kind of value"
		for _, args := range [][]any{
			{"hset", "str", "f", "v"}, {"hsetnx", "str", "f", "v"}, {"hmset", "str", "f", "v"},
			{"hget", "str", "f"}, {"hmget", "str", "f"}, {"hgetall", "str"}, {"hdel", "str", "f"},
			{"hlen", "str"}, {"hexists", "str", "f"}, {"hkeys", "str"}, {"hvals", "str"},
			{"hincrby", "str", "f", "1"}, {"hincrbyfloat", "str", "f", "1"}, {"hstrlen", "str", "f"},
			{"hscan", "str", "0"}, {"hrandfield", "str"}, {"hrandfield", "str", "2"},
			{"hrandfield", "str", "2", "withvalues"},
		} {
			mustErr(t, c, wrong, args...)
		}
		if v := must(t, c, "get", "str"); v != "v" {
			t.Fatalf("string changed by a failed hash command: %v", v)
		}

		for _, args := range [][]any{
			{"hset", "h"}, {"hset", "h", "f"}, {"hset", "h", "f", "v", "g"},
			{"hmset", "h", "f"}, {"hmset", "h", "f", "v", "g"}, {"hsetnx", "h", "f"},
			{"hget", "h"}, {"hget", "h", "f", "g"}, {"hmget", "h"}, {"hgetall"}, {"hgetall", "h", "x"},
			{"hdel", "h"}, {"hlen"}, {"hexists", "h"}, {"hkeys"}, {"hvals"},
			{"hincrby", "h", "f"}, {"hincrbyfloat", "h", "f"}, {"hstrlen", "h"},
			{"hscan", "h"}, {"hrandfield"},
		} {
			mustErr(t, c, "ERR wrong number of arguments for '"+args[0].(string)+"' command", args...)
		}
		if n := must(t, c, "hlen", "h"); n != int64(0) {
			t.Fatalf("a refused HSET created the hash: hlen %v", n)
		}
	})
}

func TestHashIncr(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		if n := c.HIncrBy(ctx, "h", "n", 5).Val(); n != 5 {
			t.Fatalf("hincrby on a missing key = %d", n)
		}
		if n := c.HIncrBy(ctx, "h", "n", -8).Val(); n != -3 {
			t.Fatalf("hincrby = %d", n)
		}
		must(t, c, "hset", "h", "max", "9223372036854775807", "min", "-9223372036854775808", "s", "abc", "f", "1.5", "sp", " 1")
		mustErr(t, c, "ERR increment or decrement would overflow", "hincrby", "h", "max", "1")
		mustErr(t, c, "ERR increment or decrement would overflow", "hincrby", "h", "min", "-1")
		mustErr(t, c, "ERR hash value is not an integer", "hincrby", "h", "s", "1")
		mustErr(t, c, "ERR hash value is not an integer", "hincrby", "h", "f", "1")
		mustErr(t, c, "ERR hash value is not an integer", "hincrby", "h", "sp", "1")
		mustErr(t, c, "ERR value is not an integer or out of range", "hincrby", "h", "n", "1.5")
		mustErr(t, c, "ERR value is not an integer or out of range", "hincrby", "h", "n", "x")
		mustErr(t, c, "ERR value is not an integer or out of range", "hincrby", "h", "n", "9223372036854775808")
		if v := must(t, c, "hget", "h", "max"); v != "9223372036854775807" {
			t.Fatalf("failed hincrby changed the value: %v", v)
		}

		if v := must(t, c, "hincrbyfloat", "h", "f", "9"); v != "10.5" {
			t.Fatalf("hincrbyfloat = %v", v)
		}
		if v := must(t, c, "hincrbyfloat", "h", "f", "0.1"); v != "10.6" {
			t.Fatalf("hincrbyfloat 0.1 = %v", v)
		}
		if v := must(t, c, "hincrbyfloat", "h", "g", "3.0e3"); v != "3000" {
			t.Fatalf("hincrbyfloat new field = %v", v)
		}
		if v := must(t, c, "hincrbyfloat", "h", "g", "-3000"); v != "0" {
			t.Fatalf("hincrbyfloat to zero = %v", v)
		}
		if f := c.HIncrByFloat(ctx, "h", "n", 0.5).Val(); f != -2.5 {
			t.Fatalf("hincrbyfloat on an integer field = %v", f)
		}
		mustErr(t, c, "ERR hash value is not a float", "hincrbyfloat", "h", "s", "1")
		mustErr(t, c, "ERR hash value is not a float", "hincrbyfloat", "h", "sp", "1")
		mustErr(t, c, "ERR value is not a valid float", "hincrbyfloat", "h", "f", "abc")
		mustErr(t, c, "ERR value is not a valid float", "hincrbyfloat", "h", "f", "nan")
		mustErr(t, c, "ERR value is NaN or Infinity", "hincrbyfloat", "h", "f", "inf")
		// Redis adds in long double: 1e308+1e308 is a number, 1e4932+1e4932 is not.
		must(t, c, "hset", "h", "big", "1e4932")
		mustErr(t, c, "ERR increment would produce NaN or Infinity", "hincrbyfloat", "h", "big", "1e4932")
		// n, max, min, s, f, sp, g, big
		if n := must(t, c, "hlen", "h"); n != int64(8) {
			t.Fatalf("hlen = %v", n)
		}
	})
}

// TestHashIncrConcurrent checks that concurrent HINCRBYs on one field lose no update.
func TestHashIncrConcurrent(t *testing.T) {
	ts := startServer(t)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		c := ts.client(t, 2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxT(t)
			for i := 0; i < each; i++ {
				if err := c.HIncrBy(ctx, "counters", "hits", 1).Err(); err != nil {
					errs <- err
					return
				}
				if err := c.HIncrBy(ctx, "counters", "w"+strconv.Itoa(i%5), 1).Err(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := ts.client(t, 2)
	if v := must(t, c, "hget", "counters", "hits"); v != strconv.Itoa(workers*each) {
		t.Fatalf("hits = %v, want %d", v, workers*each)
	}
	if n := must(t, c, "hlen", "counters"); n != int64(6) {
		t.Fatalf("hlen = %v, want 6", n)
	}
}

func TestHashScan(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		const n = 1000
		args := []any{"hset", "big"}
		for i := 0; i < n; i++ {
			args = append(args, "f"+strconv.Itoa(i), "v"+strconv.Itoa(i))
		}
		if got := must(t, c, args...); got != int64(n) {
			t.Fatalf("hset = %v", got)
		}

		seen := map[string]int{}
		cursor, calls := uint64(0), 0
		for {
			calls++
			if calls > n {
				t.Fatal("hscan does not finish")
			}
			fields, next, err := c.HScan(ctx, "big", cursor, "", 37).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(fields)%2 != 0 || len(fields) > 2*37 {
				t.Fatalf("hscan page of %d elements", len(fields))
			}
			for i := 0; i < len(fields); i += 2 {
				if "v"+fields[i][1:] != fields[i+1] {
					t.Fatalf("field %s came with %s", fields[i], fields[i+1])
				}
				seen[fields[i]]++
			}
			cursor = next
			if cursor == 0 {
				break
			}
		}
		if len(seen) != n {
			t.Fatalf("hscan returned %d distinct fields, want %d", len(seen), n)
		}
		for f, k := range seen {
			if k != 1 {
				t.Fatalf("field %s returned %d times", f, k)
			}
		}
		if want := (n + 36) / 37; calls != want {
			t.Fatalf("hscan took %d calls, want %d", calls, want)
		}

		// MATCH filters the examined fields; a full pass returns exactly the matches.
		var matched []string
		cursor = 0
		for {
			fields, next, err := c.HScan(ctx, "big", cursor, "f1?", 100).Result()
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(fields); i += 2 {
				matched = append(matched, fields[i])
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		sort.Strings(matched)
		if want := []string{"f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19"}; !reflect.DeepEqual(matched, want) {
			t.Fatalf("hscan match f1? = %v", matched)
		}

		// NOVALUES returns fields only; "novalues" as a MATCH pattern stays a pattern.
		must(t, c, "hset", "small", "a", "1", "b", "2", "novalues", "3")
		if v := must(t, c, "hscan", "small", "0", "novalues"); !reflect.DeepEqual(v, []any{"0", []any{"a", "b", "novalues"}}) {
			t.Fatalf("hscan novalues = %#v", v)
		}
		if v := must(t, c, "hscan", "small", "0", "match", "novalues"); !reflect.DeepEqual(v, []any{"0", []any{"novalues", "3"}}) {
			t.Fatalf("hscan match novalues = %#v", v)
		}
		if v := must(t, c, "hscan", "small", "0", "COUNT", "10", "MATCH", "[ab]", "NOVALUES"); !reflect.DeepEqual(v, []any{"0", []any{"a", "b"}}) {
			t.Fatalf("hscan with every option = %#v", v)
		}
		if keys, cur, err := c.HScanNoValues(ctx, "small", 0, "", 1).Result(); err != nil || len(keys) != 1 || keys[0] != "a" || cur == 0 {
			t.Fatalf("hscan novalues count 1 = %v %d %v", keys, cur, err)
		}
		if v := must(t, c, "hscan", "nokey", "0"); !reflect.DeepEqual(v, []any{"0", []any{}}) {
			t.Fatalf("hscan missing key = %#v", v)
		}
		// Like Redis: the cursor is checked first, then the key, then the options.
		mustErr(t, c, "ERR invalid cursor", "hscan", "nokey", "x")
		mustErr(t, c, "ERR invalid cursor", "hscan", "small", "1x")
		if v := must(t, c, "hscan", "nokey", "0", "count", "0"); !reflect.DeepEqual(v, []any{"0", []any{}}) {
			t.Fatalf("hscan missing key with bad options = %#v", v)
		}
		mustErr(t, c, "ERR syntax error", "hscan", "small", "0", "count", "0")
		mustErr(t, c, "ERR syntax error", "hscan", "small", "0", "bogus")
		mustErr(t, c, "ERR syntax error", "hscan", "small", "0", "match")
		mustErr(t, c, "ERR value is not an integer or out of range", "hscan", "small", "0", "count", "x")
	})
}

func TestHashRandField(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			ts := startServer(t)
			c := ts.client(t, proto)
			ctx := ctxT(t)
			values := map[string]string{}
			args := []any{"hset", "h"}
			for i := 0; i < 5; i++ {
				f := "f" + strconv.Itoa(i)
				values[f] = "v" + strconv.Itoa(i)
				args = append(args, f, values[f])
			}
			must(t, c, args...)

			if err := c.Do(ctx, "hrandfield", "nokey").Err(); err != redis.Nil {
				t.Fatalf("hrandfield missing key: %v", err)
			}
			if v := must(t, c, "hrandfield", "nokey", "3"); !reflect.DeepEqual(v, []any{}) {
				t.Fatalf("hrandfield missing key with count = %#v", v)
			}
			if v := must(t, c, "hrandfield", "nokey", "-3", "withvalues"); !reflect.DeepEqual(v, []any{}) {
				t.Fatalf("hrandfield missing key with count and values = %#v", v)
			}
			f, ok := must(t, c, "hrandfield", "h").(string)
			if _, known := values[f]; !ok || !known {
				t.Fatalf("hrandfield = %#v", f)
			}
			if v := must(t, c, "hrandfield", "h", "0"); !reflect.DeepEqual(v, []any{}) {
				t.Fatalf("hrandfield 0 = %#v", v)
			}

			distinct := func(fields []string, want int) {
				t.Helper()
				seen := map[string]bool{}
				for _, f := range fields {
					if _, known := values[f]; !known || seen[f] {
						t.Fatalf("fields %v: unknown or repeated %q", fields, f)
					}
					seen[f] = true
				}
				if len(fields) != want {
					t.Fatalf("got %d fields, want %d", len(fields), want)
				}
			}
			distinct(c.HRandField(ctx, "h", 3).Val(), 3)
			distinct(c.HRandField(ctx, "h", 5).Val(), 5)
			distinct(c.HRandField(ctx, "h", 100).Val(), 5)
			rep := c.HRandField(ctx, "h", -50).Val()
			if len(rep) != 50 {
				t.Fatalf("hrandfield -50 returned %d fields", len(rep))
			}
			for _, f := range rep {
				if _, known := values[f]; !known {
					t.Fatalf("hrandfield -50 returned unknown %q", f)
				}
			}

			kvs, err := c.HRandFieldWithValues(ctx, "h", -7).Result()
			if err != nil || len(kvs) != 7 {
				t.Fatalf("hrandfield -7 withvalues = %v %v", kvs, err)
			}
			for _, kv := range kvs {
				if values[kv.Key] != kv.Value {
					t.Fatalf("hrandfield withvalues pair %s=%s", kv.Key, kv.Value)
				}
			}
			// The reply's shape: RESP3 nests [field, value] pairs, RESP2 is flat.
			raw, ok := must(t, c, "hrandfield", "h", "2", "WITHVALUES").([]any)
			if proto == 3 {
				if !ok || len(raw) != 2 {
					t.Fatalf("RESP3 hrandfield withvalues = %#v", raw)
				}
				for _, p := range raw {
					pair, ok := p.([]any)
					if !ok || len(pair) != 2 || values[pair[0].(string)] != pair[1] {
						t.Fatalf("RESP3 hrandfield withvalues pair = %#v", p)
					}
				}
			} else {
				if !ok || len(raw) != 4 || values[raw[0].(string)] != raw[1] || values[raw[2].(string)] != raw[3] || raw[0] == raw[2] {
					t.Fatalf("RESP2 hrandfield withvalues = %#v", raw)
				}
			}

			// The count is checked before the key's type.
			must(t, c, "set", "str", "v")
			mustErr(t, c, "ERR value is not an integer or out of range", "hrandfield", "h", "x")
			mustErr(t, c, "ERR value is not an integer or out of range", "hrandfield", "str", "x")
			mustErr(t, c, "ERR syntax error", "hrandfield", "h", "1", "withvalue")
			mustErr(t, c, "ERR syntax error", "hrandfield", "h", "1", "withvalues", "x")
			mustErr(t, c, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
				"hrandfield", "h", "-9223372036854775808")
			mustErr(t, c, "ERR value is out of range", "hrandfield", "h", "-9223372036854775807", "withvalues")
			mustErr(t, c, "ERR value is out of range", "hrandfield", "h", "9223372036854775807", "withvalues")
			distinct(c.HRandField(ctx, "h", 9223372036854775807).Val(), 5)

			// A big hash is sampled by seeking: a few fields, all real, none repeated.
			big := []any{"hset", "big"}
			for i := 0; i < 5000; i++ {
				big = append(big, "k"+strconv.Itoa(i), strconv.Itoa(i))
			}
			must(t, c, big...)
			kvs, err = c.HRandFieldWithValues(ctx, "big", 5).Result()
			if err != nil || len(kvs) != 5 {
				t.Fatalf("hrandfield big 5 = %v %v", kvs, err)
			}
			seen := map[string]bool{}
			for _, kv := range kvs {
				if "k"+kv.Value != kv.Key || seen[kv.Key] {
					t.Fatalf("hrandfield big returned %s=%s (repeat: %v)", kv.Key, kv.Value, seen[kv.Key])
				}
				seen[kv.Key] = true
			}
		})
	}
}
