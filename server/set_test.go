package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Helpers of this file are prefixed ss so they cannot clash with other groups' tests.

const ssWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

// ssEq runs a command and compares its result, rendered with %v, with want.
func ssEq(t *testing.T, c *redis.Client, want string, args ...any) {
	t.Helper()
	v, err := c.Do(ctxT(t), args...).Result()
	got := fmt.Sprint(v)
	if err == redis.Nil {
		got = "nil"
	} else if err != nil {
		t.Fatalf("%v: unexpected error %v", args, err)
	}
	if got != want {
		t.Fatalf("%v = %s, want %s", args, got, want)
	}
}

// ssSorted runs a command whose reply is a list of strings and returns it sorted.
func ssSorted(t *testing.T, c *redis.Client, args ...any) string {
	t.Helper()
	v := must(t, c, args...)
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%v: reply %T %v is not a list", args, v, v)
	}
	ss := make([]string, len(list))
	for i, e := range list {
		ss[i] = fmt.Sprint(e)
	}
	sort.Strings(ss)
	return strings.Join(ss, ",")
}

// ssList converts a list reply to strings in reply order.
func ssList(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("reply %T %v is not a list", v, v)
	}
	ss := make([]string, len(list))
	for i, e := range list {
		ss[i] = fmt.Sprint(e)
	}
	return ss
}

func ssArity(t *testing.T, c *redis.Client, args ...any) {
	t.Helper()
	mustErr(t, c, "ERR wrong number of arguments for '"+args[0].(string)+"' command", args...)
}

func TestSetCmdBasics(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ssEq(t, c, "3", "sadd", "s", "b", "a", "c", "a")
		ssEq(t, c, "1", "sadd", "s", "a", "d")
		ssEq(t, c, "0", "sadd", "s", "d")
		ssEq(t, c, "set", "type", "s")
		ssEq(t, c, "4", "scard", "s")
		ssEq(t, c, "0", "scard", "nokey")
		ssEq(t, c, "1", "sismember", "s", "a")
		ssEq(t, c, "0", "sismember", "s", "zz")
		ssEq(t, c, "0", "sismember", "nokey", "a")
		ssEq(t, c, "[1 0 1]", "smismember", "s", "a", "zz", "d")
		ssEq(t, c, "[0 0]", "smismember", "nokey", "a", "b")
		if got := ssSorted(t, c, "smembers", "s"); got != "a,b,c,d" {
			t.Fatalf("smembers = %s", got)
		}
		ssEq(t, c, "[]", "smembers", "nokey")
		// Binary-safe members, including the empty one.
		ssEq(t, c, "2", "sadd", "bin", "", "a\x00b\r\n")
		ssEq(t, c, "1", "sismember", "bin", "")
		ssEq(t, c, "1", "sismember", "bin", "a\x00b\r\n")

		// SADD keeps the TTL of an existing set.
		must(t, c, "expire", "s", "100")
		ssEq(t, c, "1", "sadd", "s", "e")
		if ttl := c.TTL(ctxT(t), "s").Val(); ttl <= 0 {
			t.Fatalf("sadd dropped the ttl: %v", ttl)
		}

		ssEq(t, c, "2", "srem", "s", "a", "a", "zz", "b")
		ssEq(t, c, "3", "scard", "s")
		ssEq(t, c, "0", "srem", "nokey", "a")
		ssEq(t, c, "3", "srem", "s", "c", "d", "e")
		ssEq(t, c, "0", "exists", "s")
		ssEq(t, c, "none", "type", "s")
		// Re-created: no old member comes back, no old TTL either.
		ssEq(t, c, "1", "sadd", "s", "x")
		if got := ssSorted(t, c, "smembers", "s"); got != "x" {
			t.Fatalf("re-created set = %s", got)
		}
		ssEq(t, c, "-1", "ttl", "s")
		must(t, c, "del", "s")
		ssEq(t, c, "1", "sadd", "s", "y")
		if got := ssSorted(t, c, "smembers", "s"); got != "y" {
			t.Fatalf("set re-created after DEL = %s", got)
		}

		must(t, c, "set", "str", "v")
		for _, args := range [][]any{
			{"sadd", "str", "a"}, {"srem", "str", "a"}, {"scard", "str"},
			{"sismember", "str", "a"}, {"smismember", "str", "a"}, {"smembers", "str"},
		} {
			mustErr(t, c, ssWrongType, args...)
		}
		ssEq(t, c, "v", "get", "str")
		ssArity(t, c, "sadd", "s")
		ssArity(t, c, "srem", "s")
		ssArity(t, c, "scard")
		ssArity(t, c, "scard", "a", "b")
		ssArity(t, c, "sismember", "s")
		ssArity(t, c, "sismember", "s", "a", "b")
		ssArity(t, c, "smismember", "s")
		ssArity(t, c, "smembers", "s", "a")
	})
}

func TestSetCmdRandomAndPop(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		members := map[string]bool{"a": true, "b": true, "c": true, "d": true}
		must(t, c, "sadd", "s", "a", "b", "c", "d")
		for i := 0; i < 20; i++ {
			v := must(t, c, "srandmember", "s")
			if !members[fmt.Sprint(v)] {
				t.Fatalf("srandmember = %v", v)
			}
		}
		ssEq(t, c, "nil", "srandmember", "nokey")
		ssEq(t, c, "[]", "srandmember", "nokey", "3")
		ssEq(t, c, "[]", "srandmember", "nokey", "-3")
		ssEq(t, c, "[]", "srandmember", "s", "0")
		if got := ssSorted(t, c, "srandmember", "s", "10"); got != "a,b,c,d" {
			t.Fatalf("srandmember 10 = %s", got)
		}
		for i := 0; i < 20; i++ {
			got := ssList(t, must(t, c, "srandmember", "s", "3"))
			if len(got) != 3 || got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
				t.Fatalf("srandmember 3 = %v", got)
			}
		}
		got := ssList(t, must(t, c, "srandmember", "s", "-9"))
		if len(got) != 9 {
			t.Fatalf("srandmember -9 = %v", got)
		}
		for _, m := range got {
			if !members[m] {
				t.Fatalf("srandmember -9 returned %q", m)
			}
		}
		ssEq(t, c, "4", "scard", "s")
		mustErr(t, c, errSyntax, "srandmember", "s", "1", "2")
		mustErr(t, c, errNotInteger, "srandmember", "s", "x")
		mustErr(t, c, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
			"srandmember", "s", "-9223372036854775808")

		// SPOP without count.
		popped := map[string]bool{}
		for i := 0; i < 2; i++ {
			v := fmt.Sprint(must(t, c, "spop", "s"))
			if !members[v] || popped[v] {
				t.Fatalf("spop = %v", v)
			}
			popped[v] = true
		}
		ssEq(t, c, "2", "scard", "s")
		ssEq(t, c, "[]", "spop", "s", "0")
		for _, m := range ssList(t, must(t, c, "spop", "s", "5")) {
			if !members[m] || popped[m] {
				t.Fatalf("spop 5 returned %q", m)
			}
			popped[m] = true
		}
		if len(popped) != 4 {
			t.Fatalf("popped %v", popped)
		}
		ssEq(t, c, "0", "exists", "s")
		ssEq(t, c, "nil", "spop", "s")
		ssEq(t, c, "[]", "spop", "s", "3")
		mustErr(t, c, "ERR value is out of range, must be positive", "spop", "s", "-1")
		mustErr(t, c, "ERR value is out of range, must be positive", "spop", "s", "x")
		mustErr(t, c, errSyntax, "spop", "s", "1", "2")

		// A large set: SPOP count takes exactly count distinct members.
		big := make([]any, 0, 1002)
		big = append(big, "sadd", "big")
		for i := 0; i < 1000; i++ {
			big = append(big, fmt.Sprintf("member-%d", i))
		}
		ssEq(t, c, "1000", big...)
		seen := map[string]bool{}
		for i := 0; i < 10; i++ {
			for _, m := range ssList(t, must(t, c, "spop", "big", "7")) {
				if seen[m] || !strings.HasPrefix(m, "member-") {
					t.Fatalf("spop big returned %q twice or a non-member", m)
				}
				seen[m] = true
			}
		}
		ssEq(t, c, "930", "scard", "big")
		for m := range seen {
			ssEq(t, c, "0", "sismember", "big", m)
		}
		got = ssList(t, must(t, c, "srandmember", "big", "50"))
		uniq := map[string]bool{}
		for _, m := range got {
			if seen[m] {
				t.Fatalf("srandmember returned popped member %q", m)
			}
			uniq[m] = true
		}
		if len(got) != 50 || len(uniq) != 50 {
			t.Fatalf("srandmember big 50: %d members, %d distinct", len(got), len(uniq))
		}

		must(t, c, "set", "str", "v")
		mustErr(t, c, ssWrongType, "srandmember", "str")
		mustErr(t, c, ssWrongType, "srandmember", "str", "0")
		mustErr(t, c, ssWrongType, "spop", "str")
		mustErr(t, c, ssWrongType, "spop", "str", "0")
		mustErr(t, c, errNotInteger, "srandmember", "str", "x")
		mustErr(t, c, "ERR value is out of range, must be positive", "spop", "str", "x")
		ssArity(t, c, "srandmember")
		ssArity(t, c, "spop")
	})
}

func TestSetCmdMove(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "sadd", "a", "1", "2")
		must(t, c, "sadd", "b", "2", "3")
		ssEq(t, c, "1", "smove", "a", "b", "1")
		if got := ssSorted(t, c, "smembers", "b"); got != "1,2,3" {
			t.Fatalf("b = %s", got)
		}
		ssEq(t, c, "1", "smove", "a", "b", "2") // already in b: still 1
		ssEq(t, c, "0", "exists", "a")
		ssEq(t, c, "3", "scard", "b")
		ssEq(t, c, "0", "smove", "b", "c", "zz")
		ssEq(t, c, "0", "exists", "c")
		ssEq(t, c, "1", "smove", "b", "c", "3")
		ssEq(t, c, "set", "type", "c")
		ssEq(t, c, "1", "smove", "b", "b", "1")
		ssEq(t, c, "0", "smove", "b", "b", "zz")
		ssEq(t, c, "2", "scard", "b")
		ssEq(t, c, "0", "smove", "nokey", "b", "1")

		must(t, c, "set", "str", "v")
		ssEq(t, c, "0", "smove", "nokey", "str", "1") // missing source wins
		mustErr(t, c, ssWrongType, "smove", "str", "b", "1")
		mustErr(t, c, ssWrongType, "smove", "b", "str", "1")
		mustErr(t, c, ssWrongType, "smove", "b", "str", "zz")
		ssEq(t, c, "2", "scard", "b")
		ssArity(t, c, "smove", "a", "b")
		ssArity(t, c, "smove", "a", "b", "c", "d")
	})
}

func TestSetCmdAlgebra(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "sadd", "x1", "a", "b", "c")
		must(t, c, "sadd", "x2", "b", "c", "d")
		must(t, c, "sadd", "x3", "c", "d", "e")
		must(t, c, "set", "str", "v")
		for _, tc := range []struct {
			want string
			args []any
		}{
			{"c", []any{"sinter", "x1", "x2", "x3"}},
			{"b,c", []any{"sinter", "x1", "x2"}},
			{"a,b,c", []any{"sinter", "x1"}},
			{"a,b,c", []any{"sinter", "x1", "x1"}},
			{"", []any{"sinter", "x1", "nokey"}},
			{"", []any{"sinter", "nokey"}},
			{"a,b,c,d,e", []any{"sunion", "x1", "x2", "x3", "nokey"}},
			{"a,b,c", []any{"sunion", "x1", "x1"}},
			{"", []any{"sunion", "nokey"}},
			{"a", []any{"sdiff", "x1", "x2", "x3"}},
			{"d", []any{"sdiff", "x2", "x1"}},
			{"a,b,c", []any{"sdiff", "x1", "nokey"}},
			{"", []any{"sdiff", "x1", "x1"}},
			{"", []any{"sdiff", "nokey", "x1"}},
		} {
			if got := ssSorted(t, c, tc.args...); got != tc.want {
				t.Fatalf("%v = %s, want %s", tc.args, got, tc.want)
			}
		}
		for _, cmd := range []string{"sinter", "sunion", "sdiff"} {
			mustErr(t, c, ssWrongType, cmd, "x1", "str")
			mustErr(t, c, ssWrongType, cmd, "nokey", "str")
			mustErr(t, c, ssWrongType, cmd+"store", "dst", "nokey", "str")
			ssArity(t, c, cmd)
			ssArity(t, c, cmd+"store", "dst")
		}
		ssEq(t, c, "0", "exists", "dst")

		// STORE variants: overwrite dst of any type, drop its TTL.
		must(t, c, "set", "dst", "old", "ex", "100")
		ssEq(t, c, "2", "sinterstore", "dst", "x1", "x2")
		ssEq(t, c, "set", "type", "dst")
		ssEq(t, c, "-1", "ttl", "dst")
		if got := ssSorted(t, c, "smembers", "dst"); got != "b,c" {
			t.Fatalf("sinterstore dst = %s", got)
		}
		ssEq(t, c, "5", "sunionstore", "dst", "x1", "x2", "x3")
		if got := ssSorted(t, c, "smembers", "dst"); got != "a,b,c,d,e" {
			t.Fatalf("sunionstore dst = %s", got)
		}
		ssEq(t, c, "5", "scard", "dst")
		ssEq(t, c, "1", "sdiffstore", "dst", "x1", "x2")
		if got := ssSorted(t, c, "smembers", "dst"); got != "a" {
			t.Fatalf("sdiffstore dst = %s", got)
		}
		// An empty result deletes dst.
		ssEq(t, c, "0", "sinterstore", "dst", "x1", "nokey")
		ssEq(t, c, "0", "exists", "dst")
		must(t, c, "set", "dst", "v")
		ssEq(t, c, "0", "sdiffstore", "dst", "x1", "x1")
		ssEq(t, c, "0", "exists", "dst")
		must(t, c, "set", "dst", "v")
		ssEq(t, c, "0", "sunionstore", "dst", "nokey")
		ssEq(t, c, "0", "exists", "dst")

		// dst equal to a source.
		ssEq(t, c, "2", "sinterstore", "x1", "x1", "x2")
		if got := ssSorted(t, c, "smembers", "x1"); got != "b,c" {
			t.Fatalf("x1 = x1 & x2: %s", got)
		}
		ssEq(t, c, "4", "sunionstore", "x1", "x1", "x3")
		if got := ssSorted(t, c, "smembers", "x1"); got != "b,c,d,e" {
			t.Fatalf("x1 = x1 | x3: %s", got)
		}
		ssEq(t, c, "4", "scard", "x1")
		ssEq(t, c, "1", "sdiffstore", "x1", "x1", "x2")
		if got := ssSorted(t, c, "smembers", "x1"); got != "e" {
			t.Fatalf("x1 = x1 - x2: %s", got)
		}
		ssEq(t, c, "0", "sdiffstore", "x1", "x1", "x1")
		ssEq(t, c, "0", "exists", "x1")
		// A failed STORE changes nothing.
		must(t, c, "sadd", "keep", "k")
		mustErr(t, c, ssWrongType, "sunionstore", "keep", "x2", "str")
		if got := ssSorted(t, c, "smembers", "keep"); got != "k" {
			t.Fatalf("failed sunionstore changed dst: %s", got)
		}

		// Inside MULTI the set operations see the transaction's earlier writes.
		ctx := ctxT(t)
		cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SAdd(ctx, "m1", "p", "q", "r")
			p.SAdd(ctx, "m2", "q", "r", "s")
			p.SInterStore(ctx, "m3", "m1", "m2")
			p.SRem(ctx, "m1", "r")
			p.SInter(ctx, "m1", "m3")
			return nil
		})
		if err != nil {
			t.Fatalf("multi: %v", err)
		}
		if n := cmds[2].(*redis.IntCmd).Val(); n != 2 {
			t.Fatalf("sinterstore in multi = %d", n)
		}
		if got := cmds[4].(*redis.StringSliceCmd).Val(); fmt.Sprint(got) != "[q]" {
			t.Fatalf("sinter in multi = %v", got)
		}
	})
}

func TestSetCmdInterCard(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "sadd", "x1", "a", "b", "c", "d")
		must(t, c, "sadd", "x2", "b", "c", "d", "e")
		must(t, c, "set", "str", "v")
		ssEq(t, c, "3", "sintercard", "2", "x1", "x2")
		ssEq(t, c, "4", "sintercard", "1", "x1")
		ssEq(t, c, "3", "sintercard", "2", "x1", "x2", "limit", "0")
		ssEq(t, c, "2", "sintercard", "2", "x1", "x2", "LIMIT", "2")
		ssEq(t, c, "3", "sintercard", "2", "x1", "x2", "limit", "10")
		ssEq(t, c, "2", "sintercard", "2", "x1", "x2", "limit", "10", "limit", "2")
		ssEq(t, c, "0", "sintercard", "2", "x1", "nokey")
		ssEq(t, c, "0", "sintercard", "1", "nokey")
		if n := c.SInterCard(ctxT(t), 0, "x1", "x2").Val(); n != 3 {
			t.Fatalf("go-redis SInterCard = %d", n)
		}
		for _, arg := range []string{"0", "-1", "x"} {
			mustErr(t, c, "ERR numkeys should be greater than 0", "sintercard", arg, "x1")
		}
		mustErr(t, c, "ERR Number of keys can't be greater than number of args", "sintercard", "3", "x1", "x2")
		mustErr(t, c, "ERR Number of keys can't be greater than number of args", "sintercard", "2", "x1")
		mustErr(t, c, "ERR LIMIT can't be negative", "sintercard", "1", "x1", "limit", "-1")
		mustErr(t, c, "ERR LIMIT can't be negative", "sintercard", "1", "x1", "limit", "x")
		mustErr(t, c, errSyntax, "sintercard", "1", "x1", "limit")
		mustErr(t, c, errSyntax, "sintercard", "1", "x1", "x2")
		mustErr(t, c, ssWrongType, "sintercard", "1", "str")
		mustErr(t, c, ssWrongType, "sintercard", "2", "nokey", "str")
		mustErr(t, c, "ERR LIMIT can't be negative", "sintercard", "1", "str", "limit", "-1")
		ssArity(t, c, "sintercard", "1")
		// COMMAND GETKEYS-style key extraction.
		cmd := setCommands()[10]
		if cmd.Name != "sintercard" {
			t.Fatalf("command 10 is %s", cmd.Name)
		}
		keys := cmd.KeysOf([][]byte{[]byte("sintercard"), []byte("2"), []byte("k1"), []byte("k2"), []byte("limit"), []byte("1")})
		if len(keys) != 2 || string(keys[0]) != "k1" || string(keys[1]) != "k2" {
			t.Fatalf("keys = %q", keys)
		}
		if cmd.KeysOf([][]byte{[]byte("sintercard"), []byte("3"), []byte("k1")}) != nil {
			t.Fatal("keys of a malformed call")
		}
	})
}

func TestSetCmdScan(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		args := []any{"sadd", "s"}
		for i := 0; i < 1000; i++ {
			args = append(args, fmt.Sprintf("m%d", i))
		}
		ssEq(t, c, "1000", args...)
		seen := map[string]int{}
		var cursor uint64
		calls := 0
		for {
			keys, next, err := c.SScan(ctx, "s", cursor, "", 25).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) > 25 {
				t.Fatalf("sscan count 25 returned %d", len(keys))
			}
			for _, k := range keys {
				seen[k]++
			}
			calls++
			if next == 0 {
				break
			}
			cursor = next
			if calls > 100 {
				t.Fatal("sscan does not end")
			}
		}
		if len(seen) != 1000 {
			t.Fatalf("sscan saw %d distinct members", len(seen))
		}
		for m, n := range seen {
			if n != 1 {
				t.Fatalf("%s returned %d times", m, n)
			}
		}
		// Default count, and a scan interleaved with writes still ends.
		calls, cursor = 0, 0
		total := 0
		for {
			keys, next, err := c.SScan(ctx, "s", cursor, "", 0).Result()
			if err != nil {
				t.Fatal(err)
			}
			total += len(keys)
			if calls == 3 {
				c.SRem(ctx, "s", "m999")
			}
			calls++
			if next == 0 || calls > 200 {
				break
			}
			cursor = next
		}
		if calls != 100 || total != 999 {
			t.Fatalf("default-count scan: %d calls, %d members", calls, total)
		}
		// MATCH filters.
		var matched []string
		cursor = 0
		for {
			keys, next, err := c.SScan(ctx, "s", cursor, "m1?", 100).Result()
			if err != nil {
				t.Fatal(err)
			}
			matched = append(matched, keys...)
			if next == 0 {
				break
			}
			cursor = next
		}
		sort.Strings(matched)
		if strings.Join(matched, ",") != "m10,m11,m12,m13,m14,m15,m16,m17,m18,m19" {
			t.Fatalf("sscan match m1? = %v", matched)
		}
		ssEq(t, c, "[0 []]", "sscan", "nokey", "0")
		ssEq(t, c, "[0 []]", "sscan", "nokey", "0", "count", "0") // options not read
		must(t, c, "sadd", "small", "x")
		ssEq(t, c, "[0 [x]]", "sscan", "small", "0", "MATCH", "*", "COUNT", "5")
		ssEq(t, c, "[0 []]", "sscan", "small", "0", "match", "y*")
		mustErr(t, c, "ERR invalid cursor", "sscan", "s", "x")
		mustErr(t, c, "ERR invalid cursor", "sscan", "nokey", "x")
		mustErr(t, c, errSyntax, "sscan", "s", "0", "count", "0")
		mustErr(t, c, errNotInteger, "sscan", "s", "0", "count", "x")
		mustErr(t, c, errSyntax, "sscan", "s", "0", "match")
		mustErr(t, c, errSyntax, "sscan", "s", "0", "type", "set")
		mustErr(t, c, errSyntax, "sscan", "s", "0", "foo")
		must(t, c, "set", "str", "v")
		mustErr(t, c, ssWrongType, "sscan", "str", "0")
		mustErr(t, c, ssWrongType, "sscan", "str", "0", "count", "0")
		mustErr(t, c, "ERR invalid cursor", "sscan", "str", "x")
		ssArity(t, c, "sscan", "s")
	})
}

// ssRaw sends one command on a fresh connection (after HELLO 3 when proto is 3) and
// returns the command's raw reply.
func ssRaw(t *testing.T, addr string, proto int, args ...string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	enc := func(args ...string) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		return b.Bytes()
	}
	r := bufio.NewReader(conn)
	if proto == 3 {
		conn.Write(enc("HELLO", "3"))
		ssSkipReply(t, r)
	}
	conn.Write(enc(args...))
	var out bytes.Buffer
	ssCopyReply(t, r, &out)
	return out.String()
}

func ssSkipReply(t *testing.T, r *bufio.Reader) { ssCopyReply(t, r, &bytes.Buffer{}) }

// ssCopyReply copies one RESP2/RESP3 reply from r to out.
func ssCopyReply(t *testing.T, r *bufio.Reader, out *bytes.Buffer) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	out.WriteString(line)
	body := strings.TrimSuffix(line[1:], "\r\n")
	var n int
	switch line[0] {
	case '$', '=', '!':
		fmt.Sscan(body, &n)
		if n >= 0 {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatalf("read bulk: %v", err)
			}
			out.Write(buf)
		}
	case '*', '~', '>':
		fmt.Sscan(body, &n)
		for i := 0; i < n; i++ {
			ssCopyReply(t, r, out)
		}
	case '%', '|':
		fmt.Sscan(body, &n)
		for i := 0; i < 2*n; i++ {
			ssCopyReply(t, r, out)
		}
	}
}

// The reply types Redis 7 uses: SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count
// are sets in RESP3; SRANDMEMBER with a count and SMISMEMBER are arrays; SISMEMBER is
// an integer; SSCAN is [bulk cursor, array].
func TestSetCmdReplyTypes(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t, 2)
	must(t, c, "sadd", "s", "a")
	must(t, c, "sadd", "p", "a", "b")
	for _, tc := range []struct {
		args        []string
		resp2, rsp3 string
	}{
		{[]string{"smembers", "s"}, "*1\r\n$1\r\na\r\n", "~1\r\n$1\r\na\r\n"},
		{[]string{"smembers", "nokey"}, "*0\r\n", "~0\r\n"},
		{[]string{"sinter", "s", "s"}, "*1\r\n$1\r\na\r\n", "~1\r\n$1\r\na\r\n"},
		{[]string{"sunion", "s"}, "*1\r\n$1\r\na\r\n", "~1\r\n$1\r\na\r\n"},
		{[]string{"sdiff", "s", "nokey"}, "*1\r\n$1\r\na\r\n", "~1\r\n$1\r\na\r\n"},
		{[]string{"sismember", "s", "a"}, ":1\r\n", ":1\r\n"},
		{[]string{"smismember", "s", "a", "b"}, "*2\r\n:1\r\n:0\r\n", "*2\r\n:1\r\n:0\r\n"},
		{[]string{"srandmember", "s", "5"}, "*1\r\n$1\r\na\r\n", "*1\r\n$1\r\na\r\n"},
		{[]string{"srandmember", "s", "-2"}, "*2\r\n$1\r\na\r\n$1\r\na\r\n", "*2\r\n$1\r\na\r\n$1\r\na\r\n"},
		{[]string{"srandmember", "nokey"}, "$-1\r\n", "_\r\n"},
		{[]string{"spop", "nokey"}, "$-1\r\n", "_\r\n"},
		{[]string{"spop", "nokey", "2"}, "*0\r\n", "~0\r\n"},
		{[]string{"spop", "s", "0"}, "*0\r\n", "~0\r\n"},
		{[]string{"sscan", "s", "0"}, "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"},
		{[]string{"sintercard", "1", "s"}, ":1\r\n", ":1\r\n"},
	} {
		if got := ssRaw(t, ts.Addr, 2, tc.args...); got != tc.resp2 {
			t.Errorf("RESP2 %v = %q, want %q", tc.args, got, tc.resp2)
		}
		if got := ssRaw(t, ts.Addr, 3, tc.args...); got != tc.rsp3 {
			t.Errorf("RESP3 %v = %q, want %q", tc.args, got, tc.rsp3)
		}
	}
	// SPOP with a count is a set in RESP3 (popping changes p: one pop per protocol).
	if got := ssRaw(t, ts.Addr, 3, "spop", "p", "1"); !strings.HasPrefix(got, "~1\r\n$1\r\n") {
		t.Errorf("RESP3 spop p 1 = %q", got)
	}
	if got := ssRaw(t, ts.Addr, 2, "spop", "p", "1"); !strings.HasPrefix(got, "*1\r\n$1\r\n") {
		t.Errorf("RESP2 spop p 1 = %q", got)
	}
	ssEq(t, c, "0", "exists", "p")
}
