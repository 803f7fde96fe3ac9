package server

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sorted-set integration tests. Expected replies and error texts come from Redis 7.0.15
// (redis-cli against a real server). Helpers carry a z prefix.

// zFlat renders a reply independently of the protocol: nested arrays are flattened
// and doubles printed as Redis prints them, so a RESP2 flat WITHSCORES reply and a
// RESP3 array of [member, double] pairs compare equal. Shapes are tested separately.
func zFlat(v any) string {
	var parts []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case nil:
			parts = append(parts, "nil")
		case string:
			parts = append(parts, x)
		case int64:
			parts = append(parts, strconv.FormatInt(x, 10))
		case float64:
			parts = append(parts, string(appendDouble(nil, x)))
		case []any:
			for _, e := range x {
				walk(e)
			}
		default:
			parts = append(parts, fmt.Sprintf("%T(%v)", v, v))
		}
	}
	if a, ok := v.([]any); ok {
		walk(a)
		return "[" + strings.Join(parts, " ") + "]"
	}
	walk(v)
	return parts[0]
}

// zEq runs a command and compares its flattened reply with want (nil replies: "nil").
func zEq(t testing.TB, c *redis.Client, want string, args ...any) {
	t.Helper()
	v, err := c.Do(ctxT(t), args...).Result()
	if err == redis.Nil {
		v = nil
	} else if err != nil {
		t.Fatalf("%v: unexpected error %v", args, err)
	}
	if got := zFlat(v); got != want {
		t.Fatalf("%v = %s, want %s", args, got, want)
	}
}

// zRaw runs a command and renders its reply with Go types, for exact RESP3 shapes.
func zRaw(t testing.TB, c *redis.Client, args ...any) string {
	t.Helper()
	v, err := c.Do(ctxT(t), args...).Result()
	if err == redis.Nil {
		return "nil"
	}
	if err != nil {
		t.Fatalf("%v: unexpected error %v", args, err)
	}
	return fmt.Sprintf("%#v", v)
}

func zProto(c *redis.Client) int { return c.Options().Protocol }

func TestZAddOptions(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		mustErr(t, c, "ERR XX and NX options at the same time are not compatible", "zadd", "z", "xx", "nx", "1", "a")
		mustErr(t, c, "ERR GT, LT, and/or NX options at the same time are not compatible", "zadd", "z", "gt", "lt", "1", "a")
		mustErr(t, c, "ERR GT, LT, and/or NX options at the same time are not compatible", "zadd", "z", "gt", "nx", "1", "a")
		mustErr(t, c, "ERR GT, LT, and/or NX options at the same time are not compatible", "zadd", "z", "lt", "nx", "1", "a")
		mustErr(t, c, "ERR INCR option supports a single increment-element pair", "zadd", "z", "incr", "1", "a", "2", "b")
		mustErr(t, c, "ERR wrong number of arguments for 'zadd' command", "zadd", "z", "1")
		mustErr(t, c, "ERR syntax error", "zadd", "z", "1", "a", "2")
		mustErr(t, c, "ERR syntax error", "zadd", "z", "xx", "1")
		for _, bad := range []string{"abc", "nan", " 1", "", "1_0", "1e400", "1e-400", "1e", "."} {
			mustErr(t, c, "ERR value is not a valid float", "zadd", "z", bad, "a")
		}
		// A failed score leaves nothing behind: all scores are parsed before any change.
		mustErr(t, c, "ERR value is not a valid float", "zadd", "z", "1", "a", "x", "b")
		zEq(t, c, "0", "exists", "z")

		zEq(t, c, "3", "zadd", "z", "1", "a", "2", "b", "3", "c")
		zEq(t, c, "2.5", "zadd", "z", "incr", "1.5", "a")
		zEq(t, c, "nil", "zadd", "z", "nx", "incr", "1", "a")
		zEq(t, c, "nil", "zadd", "z", "xx", "incr", "1", "q")
		zEq(t, c, "nil", "zadd", "nokey", "xx", "incr", "1", "q")
		zEq(t, c, "0", "zadd", "nokey", "xx", "1", "q")
		zEq(t, c, "0", "exists", "nokey")
		zEq(t, c, "1", "zadd", "z", "gt", "ch", "1", "c", "5", "c")
		zEq(t, c, "1", "zadd", "z", "lt", "ch", "7", "c", "2", "c")
		zEq(t, c, "nil", "zadd", "z", "gt", "incr", "-1", "c")
		zEq(t, c, "3", "zadd", "z", "gt", "incr", "1", "c")
		zEq(t, c, "2", "zadd", "z", "ch", "3", "b", "4", "b")
		zEq(t, c, "1", "zadd", "z", "nx", "10", "a", "10", "n")
		zEq(t, c, "0", "zadd", "z", "xx", "10", "a", "10", "m")
		zEq(t, c, "1", "zadd", "z", "xx", "ch", "11", "a", "10", "m")
		zEq(t, c, "2", "zadd", "z", "0x10", "h", "-0", "zero")
		zEq(t, c, "2", "zadd", "z", "+inf", "pinf", "-INF", "ninf")
		zEq(t, c, "[ninf -inf zero 0 c 3 b 4 n 10 a 11 h 16 pinf inf]", "zrange", "z", "0", "-1", "withscores")
		zEq(t, c, "inf", "zadd", "z", "incr", "1", "pinf")
		mustErr(t, c, "ERR resulting score is not a number (NaN)", "zadd", "z", "incr", "-inf", "pinf")
		zEq(t, c, "inf", "zscore", "z", "pinf")

		must(t, c, "set", "str", "x")
		mustErr(t, c, errWrongType, "zadd", "str", "1", "a")
		mustErr(t, c, errWrongType, "zincrby", "str", "1", "a")
	})
}

func TestZSetBasics(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		n, err := c.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2.5, Member: "b"}, redis.Z{Score: -3, Member: "c"}).Result()
		if err != nil || n != 3 {
			t.Fatalf("zadd = %d %v", n, err)
		}
		zEq(t, c, "3", "zcard", "z")
		zEq(t, c, "0", "zcard", "nokey")
		if s, err := c.ZScore(ctx, "z", "b").Result(); err != nil || s != 2.5 {
			t.Fatalf("zscore = %v %v", s, err)
		}
		zEq(t, c, "nil", "zscore", "z", "missing")
		zEq(t, c, "nil", "zscore", "nokey", "a")
		zEq(t, c, "[1 nil -3]", "zmscore", "z", "a", "x", "c")
		zEq(t, c, "[nil nil]", "zmscore", "nokey", "a", "b")
		mustErr(t, c, "ERR wrong number of arguments for 'zmscore' command", "zmscore", "z")

		zEq(t, c, "3.5", "zincrby", "z", "1", "b")
		zEq(t, c, "5", "zincrby", "nokey2", "5", "m")
		zEq(t, c, "6.5", "zincrby", "nokey2", "1.5", "m")
		mustErr(t, c, "ERR value is not a valid float", "zincrby", "z", "x", "b")
		mustErr(t, c, "ERR value is not a valid float", "zincrby", "z", "nan", "b")
		mustErr(t, c, "ERR wrong number of arguments for 'zincrby' command", "zincrby", "z", "1")
		zEq(t, c, "inf", "zincrby", "z", "inf", "i")
		mustErr(t, c, "ERR resulting score is not a number (NaN)", "zincrby", "z", "-inf", "i")
		zEq(t, c, "inf", "zscore", "z", "i")
		zEq(t, c, "1e+308", "zincrby", "big", "1e308", "m")
		zEq(t, c, "inf", "zincrby", "big", "1e308", "m") // overflow to inf is allowed

		// order now: c -3, a 1, b 3.5, i inf
		zEq(t, c, "0", "zrank", "z", "c")
		zEq(t, c, "2", "zrank", "z", "b")
		zEq(t, c, "1", "zrevrank", "z", "b")
		zEq(t, c, "3", "zrevrank", "z", "c")
		zEq(t, c, "nil", "zrank", "z", "x")
		zEq(t, c, "nil", "zrank", "nokey", "x")
		zEq(t, c, "nil", "zrevrank", "nokey", "x")

		zEq(t, c, "2", "zrem", "z", "a", "x", "a", "i")
		zEq(t, c, "0", "zrem", "nokey", "a")
		mustErr(t, c, "ERR wrong number of arguments for 'zrem' command", "zrem", "z")
		zEq(t, c, "[c -3 b 3.5]", "zrange", "z", "0", "-1", "withscores")
		zEq(t, c, "2", "zrem", "z", "b", "c")
		zEq(t, c, "0", "exists", "z")

		// -0 and 0 are one score.
		zEq(t, c, "1", "zadd", "zero", "-0", "m")
		zEq(t, c, "0", "zadd", "zero", "ch", "0", "m")
		zEq(t, c, "0", "zscore", "zero", "m")

		must(t, c, "set", "str", "x")
		for _, args := range [][]any{{"zcard", "str"}, {"zscore", "str", "a"}, {"zmscore", "str", "a"},
			{"zrank", "str", "a"}, {"zrevrank", "str", "a"}, {"zrem", "str", "a"}, {"zcount", "str", "0", "1"},
			{"zlexcount", "str", "-", "+"}, {"zrange", "str", "0", "-1"}, {"zrangebyscore", "str", "0", "1"},
			{"zrangebylex", "str", "-", "+"}, {"zpopmin", "str"}, {"zpopmax", "str", "0"},
			{"zrandmember", "str"}, {"zrandmember", "str", "1"}, {"zscan", "str", "0"},
			{"zremrangebyrank", "str", "0", "1"}, {"zremrangebyscore", "str", "0", "1"}, {"zremrangebylex", "str", "-", "+"}} {
			mustErr(t, c, errWrongType, args...)
		}
		zEq(t, c, "x", "get", "str")
	})
}

func TestZRangeByRankAndScore(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
		must(t, c, "set", "str", "x")
		for _, e := range []struct {
			err  string
			args []any
		}{
			{"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX", []any{"zrange", "z", "0", "-1", "limit", "0", "1"}},
			{"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX", []any{"zrevrange", "z", "0", "-1", "limit", "0", "1"}},
			{"ERR min or max is not a float", []any{"zrange", "z", "(1", "(a", "byscore"}},
			{"ERR min or max is not a float", []any{"zrange", "z", "1", "x", "byscore"}},
			{"ERR min or max is not a float", []any{"zrangebyscore", "z", "2 ", "3"}},
			{"ERR min or max is not a float", []any{"zrangebyscore", "z", "(nan", "3"}},
			{"ERR min or max is not a float", []any{"zcount", "z", "x", "1"}},
			{"ERR value is not an integer or out of range", []any{"zrange", "z", "a", "b"}},
			{"ERR value is not an integer or out of range", []any{"zrange", "z", "0", "1.5"}},
			{"ERR syntax error", []any{"zrange", "z", "0", "-1", "byscore", "bylex"}},
			{"ERR syntax error", []any{"zrange", "z", "0", "-1", "rev", "rev"}},
			{"ERR syntax error", []any{"zrange", "z", "0", "1", "limit", "0"}},
			{"ERR syntax error", []any{"zrange", "z", "0", "1", "foo"}},
			{"ERR syntax error", []any{"zrangebyscore", "z", "1", "2", "limit"}},
			{"ERR syntax error", []any{"zrangebyscore", "z", "1", "2", "rev"}},
			{"ERR syntax error", []any{"zrangebyscore", "z", "1", "2", "byscore"}},
			{"ERR value is not an integer or out of range", []any{"zrangebyscore", "z", "1", "2", "limit", "0", "x"}},
			{"ERR value is not an integer or out of range", []any{"zrangebyscore", "z", "1", "2", "limit", "x", "0"}},
			{"ERR wrong number of arguments for 'zrangebyscore' command", []any{"zrangebyscore", "z", "-inf"}},
			{errWrongType, []any{"zrange", "str", "0", "-1"}},
		} {
			mustErr(t, c, e.err, e.args...)
		}
		for _, q := range []struct {
			want string
			args []any
		}{
			{"[a b c d e]", []any{"zrange", "z", "0", "-1"}},
			{"[a 1 b 2 c 3 d 4 e 5]", []any{"zrange", "z", "0", "-1", "withscores"}},
			{"[e 5 d 4 c 3 b 2 a 1]", []any{"zrange", "z", "0", "-1", "rev", "withscores"}},
			{"[b c d]", []any{"zrange", "z", "1", "3"}},
			{"[d e]", []any{"zrange", "z", "-2", "-1"}},
			{"[a b c d e]", []any{"zrange", "z", "-100", "100"}},
			{"[]", []any{"zrange", "z", "3", "1"}},
			{"[]", []any{"zrange", "z", "5", "10"}},
			{"[]", []any{"zrange", "z", "-1", "-2"}},
			{"[d]", []any{"zrange", "z", "1", "1", "rev"}},
			{"[a b c d e]", []any{"zrange", "z", "0", "-1", "limit", "0", "-1"}}, // LIMIT x -1 is "no limit"
			{"[e 5 d 4]", []any{"zrevrange", "z", "0", "1", "withscores"}},
			{"[b a]", []any{"zrevrange", "z", "-2", "-1"}},
			{"[]", []any{"zrange", "nokey", "0", "-1"}},
			{"[]", []any{"zrange", "nokey", "0", "-1", "byscore"}},
			// scores: exclusive bounds, infinities, strtod quirks
			{"[b c]", []any{"zrange", "z", "(1", "3", "byscore"}},
			{"[a b c]", []any{"zrange", "z", "(", "3", "byscore"}}, // "(" alone is (0
			{"[a b c]", []any{"zrange", "z", "", "3", "byscore"}},
			{"[b c]", []any{"zrange", "z", " 2", "3", "byscore"}},
			{"[b c]", []any{"zrangebyscore", "z", "0x2", "3"}},
			{"[]", []any{"zrangebyscore", "z", "(inf", "+inf"}},
			{"[]", []any{"zrangebyscore", "z", "-inf", "(-inf"}},
			{"[]", []any{"zrangebyscore", "z", "1e400", "3"}},
			{"[a b c]", []any{"zrangebyscore", "z", "-1e400", "3"}},
			{"[c]", []any{"zrangebyscore", "z", "3", "3"}},
			{"[]", []any{"zrangebyscore", "z", "(3", "3"}},
			{"[]", []any{"zrangebyscore", "z", "3", "(3"}},
			{"[]", []any{"zrangebyscore", "z", "4", "2"}},
			// LIMIT
			{"[a 1 b 2]", []any{"zrangebyscore", "z", "-inf", "+inf", "withscores", "limit", "0", "2"}},
			{"[b 2 c 3]", []any{"zrangebyscore", "z", "-inf", "+inf", "withscores", "limit", "1", "2"}},
			{"[e]", []any{"zrangebyscore", "z", "-inf", "+inf", "limit", "4", "10"}},
			{"[]", []any{"zrangebyscore", "z", "-inf", "+inf", "limit", "5", "10"}},
			{"[]", []any{"zrangebyscore", "z", "-inf", "+inf", "limit", "-1", "10"}},
			{"[]", []any{"zrangebyscore", "z", "-inf", "+inf", "limit", "1", "0"}},
			{"[b c d e]", []any{"zrangebyscore", "z", "-inf", "+inf", "limit", "1", "-5"}},
			// REV: max first
			{"[d c]", []any{"zrevrangebyscore", "z", "4", "(2"}},
			{"[c 3]", []any{"zrevrangebyscore", "z", "4", "(2", "withscores", "limit", "1", "1"}},
			{"[e d]", []any{"zrevrangebyscore", "z", "+inf", "-inf", "limit", "0", "2"}},
			{"[d 4 c 3 b 2 a 1]", []any{"zrange", "z", "5", "1", "byscore", "rev", "withscores", "limit", "1", "-1"}},
			{"[]", []any{"zrange", "z", "1", "5", "byscore", "limit", "-1", "2"}},
			// ZCOUNT
			{"2", []any{"zcount", "z", "(1", "(4"}},
			{"0", []any{"zcount", "z", "5", "1"}},
			{"5", []any{"zcount", "z", "-inf", "+inf"}},
			{"1", []any{"zcount", "z", "3", "3"}},
			{"0", []any{"zcount", "nokey", "1", "2"}},
		} {
			zEq(t, c, q.want, q.args...)
		}
		ctx := ctxT(t)
		zs, err := c.ZRangeByScoreWithScores(ctx, "z", &redis.ZRangeBy{Min: "(1", Max: "3"}).Result()
		if err != nil || len(zs) != 2 || zs[0] != (redis.Z{Score: 2, Member: "b"}) || zs[1] != (redis.Z{Score: 3, Member: "c"}) {
			t.Fatalf("ZRangeByScoreWithScores = %v %v", zs, err)
		}
		zs, err = c.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: "z", Start: "+inf", Stop: "(3", ByScore: true, Rev: true}).Result()
		if err != nil || len(zs) != 2 || zs[0].Member != "e" || zs[1].Score != 4 {
			t.Fatalf("ZRangeArgsWithScores = %v %v", zs, err)
		}
	})
}

func TestZRangeByLex(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g")
		// Mixed scores: Redis leaves this undefined; Strata answers as Redis's listpack does.
		must(t, c, "zadd", "m", "1", "b", "1", "d", "2", "a", "2", "c", "3", "e", "0", "x")
		for _, e := range [][]any{
			{"zrange", "l", "a", "(c", "bylex"},
			{"zrangebylex", "l", "-", "+inf"},
			{"zlexcount", "l", "a", "+"},
			{"zlexcount", "l", "+a", "+"},
			{"zremrangebylex", "l", "x", "0"},
			{"zrangebylex", "l", "", "+"},
		} {
			mustErr(t, c, "ERR min or max not valid string range item", e...)
		}
		mustErr(t, c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX", "zrange", "l", "-", "+", "bylex", "withscores")
		mustErr(t, c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX", "zrangebylex", "l", "-", "+", "withscores")
		for _, q := range []struct {
			want string
			args []any
		}{
			{"[a b]", []any{"zrange", "l", "[a", "(c", "bylex"}},
			{"[a b c d e f g]", []any{"zrange", "l", "-", "+", "bylex"}},
			{"[f e]", []any{"zrange", "l", "+", "-", "bylex", "rev", "limit", "1", "2"}},
			{"[]", []any{"zrange", "l", "+", "-", "bylex"}},
			{"[b c]", []any{"zrange", "l", "(a", "[c", "bylex"}},
			{"[]", []any{"zrange", "l", "(a", "(a", "bylex"}},
			{"[a]", []any{"zrange", "l", "[a", "[a", "bylex"}},
			{"[]", []any{"zrange", "l", "[c", "[a", "bylex"}},
			{"[c d]", []any{"zrange", "l", "[bb", "[dd", "bylex"}},
			{"[b c]", []any{"zrangebylex", "l", "-", "[c", "limit", "1", "10"}},
			{"[]", []any{"zrangebylex", "l", "-", "+", "limit", "7", "1"}},
			{"[]", []any{"zrangebylex", "l", "-", "+", "limit", "-1", "1"}},
			{"[g f]", []any{"zrevrangebylex", "l", "+", "-", "limit", "0", "2"}},
			{"[d c]", []any{"zrevrangebylex", "l", "[d", "(b"}},
			{"[c b]", []any{"zrevrangebylex", "l", "(d", "[b"}},
			{"[g f e]", []any{"zrevrangebylex", "l", "[zz", "[e"}},
			{"[a b]", []any{"zrangebylex", "l", "[", "[b"}},
			{"[]", []any{"zrangebylex", "l", "-", "("}},
			{"[]", []any{"zrangebylex", "l", "+", "+"}},
			{"[]", []any{"zrangebylex", "l", "-", "-"}},
			{"7", []any{"zlexcount", "l", "-", "+"}},
			{"3", []any{"zlexcount", "l", "[b", "(e"}},
			{"0", []any{"zlexcount", "l", "+", "-"}},
			{"0", []any{"zlexcount", "nokey", "-", "+"}},
			{"[x b d a c e]", []any{"zrangebylex", "m", "[c", "+"}},
			{"[]", []any{"zrangebylex", "m", "[b", "[d"}},
			{"[e c]", []any{"zrevrangebylex", "m", "+", "[c"}},
			{"[]", []any{"zrevrangebylex", "m", "[c", "-"}},
			{"[]", []any{"zrevrangebylex", "m", "(x", "(a"}},
			{"6", []any{"zlexcount", "m", "[c", "+"}},
		} {
			zEq(t, c, q.want, q.args...)
		}
		ctx := ctxT(t)
		if got, err := c.ZRangeByLex(ctx, "l", &redis.ZRangeBy{Min: "(b", Max: "[d"}).Result(); err != nil || fmt.Sprint(got) != "[c d]" {
			t.Fatalf("ZRangeByLex = %v %v", got, err)
		}
	})
}

func TestZRemRange(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "a", "1", "x", "2", "y", "3", "z", "4", "w", "5", "v", "inf", "i")
		zEq(t, c, "1", "zremrangebyrank", "a", "0", "0")
		mustErr(t, c, "ERR value is not an integer or out of range", "zremrangebyrank", "a", "x", "0")
		mustErr(t, c, "ERR min or max is not a float", "zremrangebyscore", "a", "x", "0")
		mustErr(t, c, "ERR min or max not valid string range item", "zremrangebylex", "a", "x", "0")
		zEq(t, c, "1", "zremrangebyscore", "a", "(2", "3")
		zEq(t, c, "[y 2 w 4 v 5 i inf]", "zrange", "a", "0", "-1", "withscores")
		zEq(t, c, "1", "zremrangebyrank", "a", "-1", "-1")
		zEq(t, c, "0", "zremrangebyrank", "a", "5", "10")
		zEq(t, c, "0", "zremrangebyrank", "nokey", "0", "1")
		zEq(t, c, "[y w v]", "zrange", "a", "0", "-1")
		zEq(t, c, "3", "zremrangebylex", "a", "-", "+")
		zEq(t, c, "0", "exists", "a")
		must(t, c, "zadd", "a", "0", "a", "0", "b", "0", "c", "0", "d")
		zEq(t, c, "2", "zremrangebylex", "a", "(a", "[c")
		zEq(t, c, "[a d]", "zrange", "a", "0", "-1")
		zEq(t, c, "2", "zremrangebyscore", "a", "-inf", "+inf")
		zEq(t, c, "0", "exists", "a")
	})
}

func TestZPop(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
		zEq(t, c, "[a 1]", "zpopmin", "z")
		zEq(t, c, "[b 2]", "zpopmin", "z", "1")
		zEq(t, c, "[e 5 d 4]", "zpopmax", "z", "2")
		zEq(t, c, "[]", "zpopmin", "z", "0")
		mustErr(t, c, "ERR value is out of range, must be positive", "zpopmin", "z", "-1")
		mustErr(t, c, "ERR value is out of range, must be positive", "zpopmin", "z", "x")
		mustErr(t, c, "ERR syntax error", "zpopmin", "z", "1", "2")
		zEq(t, c, "[]", "zpopmin", "nokey")
		zEq(t, c, "[]", "zpopmin", "nokey", "3")
		zEq(t, c, "[c 3]", "zpopmax", "z", "10")
		zEq(t, c, "0", "exists", "z")
		must(t, c, "set", "str", "x")
		mustErr(t, c, errWrongType, "zpopmin", "str", "0")
		mustErr(t, c, "ERR value is out of range, must be positive", "zpopmin", "str", "-1")

		ctx := ctxT(t)
		must(t, c, "zadd", "z", "1", "a", "2", "b")
		zs, err := c.ZPopMax(ctx, "z").Result()
		if err != nil || len(zs) != 1 || zs[0] != (redis.Z{Score: 2, Member: "b"}) {
			t.Fatalf("ZPopMax = %v %v", zs, err)
		}
	})
}

func TestZMPopAndInterCard(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "a", "1", "x", "2", "y", "3", "z")
		must(t, c, "set", "str", "1")
		for _, e := range []struct {
			err  string
			args []any
		}{
			{"ERR at least 1 input key is needed for 'zintercard' command", []any{"zintercard", "0", "a"}},
			{"ERR value is not an integer or out of range", []any{"zintercard", "x", "a"}},
			{"ERR syntax error", []any{"zintercard", "3", "a"}},
			{"ERR LIMIT can't be negative", []any{"zintercard", "1", "a", "limit", "x"}},
			{"ERR LIMIT can't be negative", []any{"zintercard", "1", "a", "limit", "-1"}},
			{"ERR syntax error", []any{"zintercard", "1", "a", "limit"}},
			{errWrongType, []any{"zintercard", "1", "str", "limit", "x"}},
			{"ERR wrong number of arguments for 'zmpop' command", []any{"zmpop", "1", "a"}},
			{"ERR numkeys should be greater than 0", []any{"zmpop", "x", "a", "min"}},
			{"ERR numkeys should be greater than 0", []any{"zmpop", "-1", "a", "min"}},
			{"ERR syntax error", []any{"zmpop", "2", "a", "min"}},
			{"ERR syntax error", []any{"zmpop", "1", "a", "foo"}},
			{"ERR syntax error", []any{"zmpop", "1", "a", "min", "count"}},
			{"ERR count should be greater than 0", []any{"zmpop", "1", "a", "min", "count", "0"}},
			{"ERR count should be greater than 0", []any{"zmpop", "1", "a", "min", "count", "x"}},
			{"ERR syntax error", []any{"zmpop", "1", "a", "min", "count", "1", "count", "2"}},
			{errWrongType, []any{"zmpop", "1", "str", "min"}},
			{"ERR timeout is not a float or out of range", []any{"bzmpop", "x", "1", "a", "min"}},
			{"ERR timeout is negative", []any{"bzmpop", "-1", "1", "a", "min"}},
			{"ERR numkeys should be greater than 0", []any{"bzmpop", "0", "0", "a", "min"}},
		} {
			mustErr(t, c, e.err, e.args...)
		}
		zEq(t, c, "3", "zintercard", "1", "a")
		zEq(t, c, "2", "zintercard", "1", "a", "limit", "2")
		zEq(t, c, "3", "zintercard", "2", "a", "a", "limit", "0")
		zEq(t, c, "0", "zintercard", "2", "a", "nokey")
		zEq(t, c, "[a x 1 y 2]", "zmpop", "1", "a", "min", "count", "2")
		zEq(t, c, "nil", "zmpop", "1", "nokey", "max")
		zEq(t, c, "[a z 3]", "zmpop", "2", "nokey", "a", "max", "count", "10")
		zEq(t, c, "0", "exists", "a")
		zEq(t, c, "nil", "bzmpop", "0.01", "1", "a", "min")
		must(t, c, "zadd", "b", "5", "q", "6", "r")
		zEq(t, c, "[b r 6]", "bzmpop", "0", "2", "a", "b", "max")
		mustErr(t, c, errWrongType, "bzmpop", "0", "2", "str", "b", "min")
	})
}

func TestBZPop(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		for _, e := range []struct {
			err  string
			args []any
		}{
			{"ERR timeout is not a float or out of range", []any{"bzpopmin", "z", "x"}},
			{"ERR timeout is not a float or out of range", []any{"bzpopmin", "z", "nan"}},
			{"ERR timeout is negative", []any{"bzpopmin", "z", "-1"}},
			{"ERR timeout is negative", []any{"bzpopmin", "z", "inf"}},
			{"ERR timeout is negative", []any{"bzpopmin", "z", "1e20"}},
			{"ERR timeout is negative", []any{"bzpopmin", "z", "1e400"}},
			{"ERR wrong number of arguments for 'bzpopmin' command", []any{"bzpopmin", "z"}},
		} {
			mustErr(t, c, e.err, e.args...)
		}
		must(t, c, "zadd", "z", "1", "x", "2", "y", "3", "z")
		zEq(t, c, "[z x 1]", "bzpopmin", "z", "0")
		zEq(t, c, "[z z 3]", "bzpopmax", "z", "0")
		zEq(t, c, "[z y 2]", "bzpopmin", "nokey", "z", "0.01")
		zEq(t, c, "0", "exists", "z")
		start := time.Now()
		zEq(t, c, "nil", "bzpopmin", "nokey", "0.05")
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Fatalf("bzpopmin returned after %v, before its timeout", d)
		}
		must(t, c, "set", "str", "1")
		mustErr(t, c, errWrongType, "bzpopmin", "str", "0")
		mustErr(t, c, errWrongType, "bzpopmin", "nokey", "str", "0")

		// A blocked client is served by a later ZADD on one of its keys.
		ctx := ctxT(t)
		type res struct {
			v   *redis.ZWithKey
			err error
		}
		done := make(chan res, 1)
		go func() {
			v, err := c.BZPopMax(ctx, 5*time.Second, "k1", "k2").Result()
			done <- res{v, err}
		}()
		time.Sleep(100 * time.Millisecond)
		must(t, c, "zadd", "k2", "7", "m", "8", "n")
		select {
		case r := <-done:
			if r.err != nil || r.v.Key != "k2" || r.v.Member != "n" || r.v.Score != 8 {
				t.Fatalf("BZPopMax = %+v %v", r.v, r.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("BZPOPMAX was not woken by ZADD")
		}
		zEq(t, c, "[m 7]", "zrange", "k2", "0", "-1", "withscores")

		// Inside MULTI a blocking pop never blocks.
		pipe := c.TxPipeline()
		pipe.BZPopMin(ctx, 0, "nokey")
		pipe.BZPopMin(ctx, 0, "k2")
		cmds, _ := pipe.Exec(ctx)
		if len(cmds) != 2 || cmds[0].Err() != redis.Nil {
			t.Fatalf("bzpopmin in multi on an empty key: %v", cmds)
		}
		if v, err := cmds[1].(*redis.ZWithKeyCmd).Result(); err != nil || v.Member != "m" {
			t.Fatalf("bzpopmin in multi = %v %v", v, err)
		}
	})
}

func TestZUnionInterDiff(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "a", "1", "x", "2", "y", "3", "z")
		must(t, c, "zadd", "b", "10", "y", "20", "z", "30", "w")
		must(t, c, "sadd", "s", "y", "w", "v")
		must(t, c, "zadd", "i1", "inf", "m")
		must(t, c, "zadd", "i2", "inf", "m", "1", "n")
		must(t, c, "set", "str", "1")
		for _, e := range []struct {
			err  string
			args []any
		}{
			{"ERR at least 1 input key is needed for 'zunionstore' command", []any{"zunionstore", "d", "0", "a"}},
			{"ERR at least 1 input key is needed for 'zunionstore' command", []any{"zunionstore", "d", "-1", "a"}},
			{"ERR at least 1 input key is needed for 'zunion' command", []any{"zunion", "0", "a"}},
			{"ERR at least 1 input key is needed for 'zinter' command", []any{"zinter", "0", "a"}},
			{"ERR at least 1 input key is needed for 'zdiff' command", []any{"zdiff", "0", "a"}},
			{"ERR at least 1 input key is needed for 'zinterstore' command", []any{"zinterstore", "d", "0", "a"}},
			{"ERR at least 1 input key is needed for 'zdiffstore' command", []any{"zdiffstore", "d", "0", "a"}},
			{"ERR value is not an integer or out of range", []any{"zunionstore", "d", "x", "a"}},
			{"ERR syntax error", []any{"zunionstore", "d", "3", "a", "b"}},
			{"ERR syntax error", []any{"zunion", "3", "a", "b"}},
			{"ERR syntax error", []any{"zunionstore", "d", "2", "a", "b", "weights", "1"}},
			{"ERR weight value is not a float", []any{"zunionstore", "d", "2", "a", "b", "weights", "1", "x"}},
			{"ERR weight value is not a float", []any{"zinterstore", "d", "2", "a", "b", "weights", "1", "nan"}},
			{"ERR syntax error", []any{"zunionstore", "d", "2", "a", "b", "aggregate", "foo"}},
			{"ERR syntax error", []any{"zunionstore", "d", "2", "a", "b", "aggregate"}},
			{"ERR syntax error", []any{"zunionstore", "d", "2", "a", "b", "withscores"}},
			{"ERR syntax error", []any{"zdiff", "1", "a", "weights", "1"}},
			{"ERR syntax error", []any{"zdiff", "1", "a", "aggregate", "sum"}},
			{"ERR syntax error", []any{"zdiffstore", "d", "1", "a", "withscores"}},
			{errWrongType, []any{"zunion", "2", "a", "str"}},
			{errWrongType, []any{"zunion", "2", "a", "str", "weights", "x"}}, // types are checked first
			{"ERR wrong number of arguments for 'zunionstore' command", []any{"zunionstore", "d", "1"}},
		} {
			mustErr(t, c, e.err, e.args...)
		}
		for _, q := range []struct {
			want string
			args []any
		}{
			{"[x 1 y 12 z 23 w 30]", []any{"zunion", "2", "a", "b", "withscores"}},
			{"[x y z w]", []any{"zunion", "2", "a", "b"}},
			{"[x 1 y 12 z 23 w 30]", []any{"zunion", "2", "a", "b", "weights", "1", "2", "weights", "1", "1", "withscores"}},
			{"[x 1 y 10 z 20 w 30]", []any{"zunion", "2", "a", "b", "aggregate", "min", "aggregate", "max", "withscores"}},
			{"[v 1 w 1 x 1 y 2 z 3]", []any{"zunion", "2", "a", "s", "withscores", "aggregate", "max"}},
			{"[w -inf y 0 z 0 x inf]", []any{"zunion", "2", "a", "b", "weights", "inf", "-inf", "withscores"}},
			{"[x 0 w inf y inf z inf]", []any{"zunion", "2", "a", "b", "weights", "0", "inf", "withscores"}},
			{"[x y z]", []any{"zunion", "2", "a", "nokey"}},
			{"[v 2.5 w 2.5 y 2.5]", []any{"zunion", "1", "s", "weights", "2.5", "withscores"}},
			{"[y 13]", []any{"zinter", "3", "a", "b", "s", "withscores"}},
			{"[y 2 z 3]", []any{"zinter", "2", "a", "b", "aggregate", "min", "withscores"}},
			{"[y 10 z 20]", []any{"zinter", "2", "a", "b", "aggregate", "max", "withscores"}},
			{"[y 8 z 17]", []any{"zinter", "2", "b", "a", "weights", "1", "-1", "withscores"}},
			{"[v 2 w 2 y 2]", []any{"zinter", "2", "s", "s", "withscores"}},
			{"[]", []any{"zinter", "1", "nokey"}},
			// 0 * inf: NaN is 0 for the first (smallest) input, but for a looked-up one
			// it reaches the aggregate, where SUM turns it into 0 and MIN/MAX ignore it.
			{"[m 0]", []any{"zinter", "2", "i2", "i1", "weights", "0", "1", "withscores"}},
			{"[m inf]", []any{"zinter", "2", "i2", "i1", "weights", "0", "1", "aggregate", "max", "withscores"}},
			{"[m inf]", []any{"zinter", "2", "i2", "i1", "weights", "0", "1", "aggregate", "min", "withscores"}},
			{"[n 0 m inf]", []any{"zunion", "2", "i1", "i2", "weights", "1", "0", "withscores"}},
			{"[x 1]", []any{"zdiff", "2", "a", "b", "withscores"}},
			{"[x z]", []any{"zdiff", "2", "a", "s"}},
			{"[v 1 w 1]", []any{"zdiff", "2", "s", "a", "withscores"}},
			{"[]", []any{"zdiff", "2", "nokey", "a"}},
		} {
			zEq(t, c, q.want, q.args...)
		}
		zEq(t, c, "4", "zunionstore", "d", "2", "a", "b", "weights", "2", "0.5")
		zEq(t, c, "[x 2 y 9 w 15 z 16]", "zrange", "d", "0", "-1", "withscores")
		zEq(t, c, "2", "zinterstore", "d", "2", "a", "b")
		zEq(t, c, "[y 12 z 23]", "zrange", "d", "0", "-1", "withscores")
		zEq(t, c, "1", "zdiffstore", "d", "2", "a", "b")
		zEq(t, c, "[x 1]", "zrange", "d", "0", "-1", "withscores")
		// An empty result deletes the destination.
		zEq(t, c, "0", "zdiffstore", "d", "2", "b", "b")
		zEq(t, c, "0", "exists", "d")
		zEq(t, c, "0", "zinterstore", "d", "2", "a", "nokey")
		zEq(t, c, "0", "zunionstore", "d", "1", "nokey")
		// The destination may be a source, and of any type; a TTL goes with the old value.
		must(t, c, "pexpire", "a", "100000")
		zEq(t, c, "4", "zunionstore", "a", "2", "a", "b")
		zEq(t, c, "[x 1 y 12 z 23 w 30]", "zrange", "a", "0", "-1", "withscores")
		zEq(t, c, "-1", "ttl", "a")
		zEq(t, c, "3", "zunionstore", "str", "1", "b")
		zEq(t, c, "zset", "type", "str")
		zEq(t, c, "3", "zunionstore", "s", "2", "s", "nokey")
		zEq(t, c, "zset", "type", "s")
		zEq(t, c, "[v 1 w 1 y 1]", "zrange", "s", "0", "-1", "withscores")
		// The key positions of numkeys commands.
		zEq(t, c, "[d a b]", "command", "getkeys", "zunionstore", "d", "2", "a", "b", "weights", "1", "2")
		zEq(t, c, "[a b]", "command", "getkeys", "zdiff", "2", "a", "b")

		ctx := ctxT(t)
		zs, err := c.ZInterWithScores(ctx, &redis.ZStore{Keys: []string{"a", "b"}, Aggregate: "MAX"}).Result()
		if err != nil || fmt.Sprint(zs) != "[{12 y} {23 z} {30 w}]" { // a is the union stored above
			t.Fatalf("ZInterWithScores = %v %v", zs, err)
		}
	})
}

func TestZRangeStore(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "a", "1", "x", "2", "y", "3", "z", "4", "w")
		must(t, c, "set", "str", "1")
		mustErr(t, c, "ERR syntax error", "zrangestore", "d", "a", "0", "-1", "withscores")
		mustErr(t, c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX", "zrangestore", "d", "a", "0", "-1", "limit", "0", "1")
		mustErr(t, c, "ERR wrong number of arguments for 'zrangestore' command", "zrangestore", "d", "a", "0")
		mustErr(t, c, errWrongType, "zrangestore", "d", "str", "0", "-1")
		zEq(t, c, "2", "zrangestore", "d", "a", "1", "2")
		zEq(t, c, "[y 2 z 3]", "zrange", "d", "0", "-1", "withscores")
		zEq(t, c, "2", "zrangestore", "d", "a", "5", "1", "byscore", "rev", "limit", "0", "2")
		zEq(t, c, "[z 3 w 4]", "zrange", "d", "0", "-1", "withscores")
		zEq(t, c, "4", "zrangestore", "d", "a", "-", "+", "bylex")
		zEq(t, c, "0", "zrangestore", "d", "nokey", "0", "-1")
		zEq(t, c, "0", "exists", "d")
		zEq(t, c, "1", "zrangestore", "str", "a", "0", "0")
		zEq(t, c, "[x 1]", "zrange", "str", "0", "-1", "withscores")
		zEq(t, c, "3", "zrangestore", "a", "a", "1", "-1")
		zEq(t, c, "[y 2 z 3 w 4]", "zrange", "a", "0", "-1", "withscores")
	})
}

func TestZRandMember(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "z", "1", "a", "2", "b", "3", "c")
		mustErr(t, c, "ERR value is not an integer or out of range", "zrandmember", "z", "x")
		mustErr(t, c, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807", "zrandmember", "z", "-9223372036854775808")
		mustErr(t, c, "ERR value is out of range", "zrandmember", "z", "-4611686018427387904", "withscores")
		mustErr(t, c, "ERR syntax error", "zrandmember", "z", "1", "foo")
		mustErr(t, c, "ERR syntax error", "zrandmember", "z", "1", "withscores", "foo")
		zEq(t, c, "[]", "zrandmember", "z", "0")
		zEq(t, c, "nil", "zrandmember", "nokey")
		zEq(t, c, "[]", "zrandmember", "nokey", "3")
		zEq(t, c, "[]", "zrandmember", "nokey", "3", "withscores")
		scores := map[string]float64{"a": 1, "b": 2, "c": 3}
		ctx := ctxT(t)
		for i := 0; i < 20; i++ {
			m, err := c.ZRandMember(ctx, "z", 1).Result()
			if err != nil || len(m) != 1 || scores[m[0]] == 0 {
				t.Fatalf("zrandmember 1 = %v %v", m, err)
			}
			one := must(t, c, "zrandmember", "z")
			if _, ok := scores[one.(string)]; !ok {
				t.Fatalf("zrandmember = %v", one)
			}
		}
		all, err := c.ZRandMemberWithScores(ctx, "z", 10).Result()
		sort.Slice(all, func(i, j int) bool { return all[i].Score < all[j].Score })
		if err != nil || fmt.Sprint(all) != "[{1 a} {2 b} {3 c}]" {
			t.Fatalf("zrandmember 10 withscores = %v %v", all, err)
		}
		two, err := c.ZRandMember(ctx, "z", 2).Result()
		if err != nil || len(two) != 2 || two[0] == two[1] {
			t.Fatalf("zrandmember 2 = %v %v", two, err)
		}
		rep, err := c.ZRandMemberWithScores(ctx, "z", -7).Result()
		if err != nil || len(rep) != 7 {
			t.Fatalf("zrandmember -7 withscores = %v %v", rep, err)
		}
		for _, z := range rep {
			if scores[z.Member.(string)] != z.Score {
				t.Fatalf("zrandmember -7 gave %v", z)
			}
		}
		// Larger than the exact-sampling threshold: picks are distinct and real.
		args := []any{"zadd", "big"}
		for i := 0; i < 2000; i++ {
			args = append(args, i, fmt.Sprintf("member:%d", i))
		}
		must(t, c, args...)
		got, err := c.ZRandMemberWithScores(ctx, "big", 50).Result()
		seen := map[string]bool{}
		for _, z := range got {
			m := z.Member.(string)
			if seen[m] || m != fmt.Sprintf("member:%d", int(z.Score)) {
				t.Fatalf("zrandmember big: repeated or wrong %v", z)
			}
			seen[m] = true
		}
		if err != nil || len(got) != 50 {
			t.Fatalf("zrandmember big 50 = %d %v", len(got), err)
		}
	})
}

func TestZScan(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "set", "str", "1")
		must(t, c, "zadd", "small", "1", "a", "1.5", "b")
		mustErr(t, c, "ERR invalid cursor", "zscan", "small", "x")
		mustErr(t, c, "ERR invalid cursor", "zscan", "str", "x")
		mustErr(t, c, errWrongType, "zscan", "str", "0")
		mustErr(t, c, "ERR syntax error", "zscan", "small", "0", "count", "0")
		mustErr(t, c, "ERR syntax error", "zscan", "small", "0", "match")
		mustErr(t, c, "ERR syntax error", "zscan", "small", "0", "foo", "bar")
		zEq(t, c, "[0]", "zscan", "nokey", "0")
		// Scores are bulk strings in both protocols, as in Redis.
		if got := zRaw(t, c, "zscan", "small", "0"); got != `[]interface {}{"0", []interface {}{"a", "1", "b", "1.5"}}` {
			t.Fatalf("zscan small = %s", got)
		}
		args := []any{"zadd", "z"}
		for i := 0; i < 250; i++ {
			args = append(args, i, fmt.Sprintf("m%03d", i))
		}
		must(t, c, args...)
		ctx := ctxT(t)
		seen := map[string]string{}
		var cursor uint64
		for rounds := 0; ; rounds++ {
			if rounds > 100 {
				t.Fatal("zscan does not terminate")
			}
			keys, next, err := c.ZScan(ctx, "z", cursor, "", 30).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) > 60 || len(keys)%2 != 0 {
				t.Fatalf("zscan count 30 returned %d items", len(keys))
			}
			for i := 0; i < len(keys); i += 2 {
				seen[keys[i]] = keys[i+1]
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		if len(seen) != 250 || seen["m042"] != "42" {
			t.Fatalf("zscan saw %d members, m042=%q", len(seen), seen["m042"])
		}
		keys, _, err := c.ZScan(ctx, "z", 0, "m1?7", 1000).Result()
		if err != nil || fmt.Sprint(keys) != "[m107 107 m117 117 m127 127 m137 137 m147 147 m157 157 m167 167 m177 177 m187 187 m197 197]" {
			t.Fatalf("zscan match = %v %v", keys, err)
		}
	})
}

// TestZSetRESP3Types checks the exact reply types Redis 7 uses in RESP3, and their
// RESP2 forms.
func TestZSetRESP3Types(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "z", "1", "a", "2.5", "b")
		must(t, c, "zadd", "one", "1", "a")
		r3 := zProto(c) == 3
		pick := func(resp2, resp3 string) string {
			if r3 {
				return resp3
			}
			return resp2
		}
		for _, q := range []struct {
			resp2, resp3 string
			args         []any
		}{
			{`"2.5"`, `2.5`, []any{"zscore", "z", "b"}},
			{`"3.5"`, `3.5`, []any{"zincrby", "z", "1", "b"}},
			{`"4"`, `4`, []any{"zadd", "z", "incr", "0.5", "b"}},
			{`nil`, `nil`, []any{"zadd", "z", "nx", "incr", "1", "b"}},
			{`[]interface {}{"1", interface {}(nil), "4"}`, `[]interface {}{1, interface {}(nil), 4}`, []any{"zmscore", "z", "a", "x", "b"}},
			{`[]interface {}{"a", "1", "b", "4"}`, `[]interface {}{[]interface {}{"a", 1}, []interface {}{"b", 4}}`, []any{"zrange", "z", "0", "-1", "withscores"}},
			{`[]interface {}{"b", "4"}`, `[]interface {}{[]interface {}{"b", 4}}`, []any{"zrangebyscore", "z", "2", "+inf", "withscores"}},
			{`[]interface {}{"a", "1"}`, `[]interface {}{[]interface {}{"a", 1}}`, []any{"zrandmember", "one", "-1", "withscores"}},
			{`[]interface {}{"a", "1", "b", "4"}`, `[]interface {}{[]interface {}{"a", 1}, []interface {}{"b", 4}}`, []any{"zunion", "1", "z", "withscores"}},
			{`[]interface {}{"a", "1"}`, `[]interface {}{"a", 1}`, []any{"zpopmin", "z"}},
			{`[]interface {}{"b", "4"}`, `[]interface {}{[]interface {}{"b", 4}}`, []any{"zpopmax", "z", "1"}},
			{`[]interface {}{}`, `[]interface {}{}`, []any{"zpopmax", "z"}},
		} {
			want := pick(q.resp2, q.resp3)
			if got := zRaw(t, c, q.args...); got != want {
				t.Errorf("%v = %s, want %s", q.args, got, want)
			}
		}
		must(t, c, "zadd", "z", "7", "m")
		want := pick(`[]interface {}{"z", "m", "7"}`, `[]interface {}{"z", "m", 7}`)
		if got := zRaw(t, c, "bzpopmin", "z", "0"); got != want {
			t.Errorf("bzpopmin = %s, want %s", got, want)
		}
		must(t, c, "zadd", "z", "7", "m")
		want = pick(`[]interface {}{"z", []interface {}{[]interface {}{"m", "7"}}}`, `[]interface {}{"z", []interface {}{[]interface {}{"m", 7}}}`)
		if got := zRaw(t, c, "zmpop", "1", "z", "min"); got != want {
			t.Errorf("zmpop = %s, want %s", got, want)
		}
	})
}

// TestZSetInMulti: reads inside EXEC see the writes queued before them.
func TestZSetInMulti(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "zadd", "z", "5", "old")
		ctx := ctxT(t)
		pipe := c.TxPipeline()
		pipe.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 9, Member: "b"})
		rng := pipe.ZRangeWithScores(ctx, "z", 0, -1)
		rank := pipe.ZRank(ctx, "z", "b")
		cnt := pipe.ZCount(ctx, "z", "2", "+inf")
		pipe.ZRem(ctx, "z", "old")
		card := pipe.ZCard(ctx, "z")
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rng.Val()) != "[{1 a} {5 old} {9 b}]" || rank.Val() != 2 || cnt.Val() != 2 || card.Val() != 2 {
			t.Fatalf("in multi: range %v rank %d count %d card %d", rng.Val(), rank.Val(), cnt.Val(), card.Val())
		}
	})
}

// TestZSetExpiredKeyIsFresh: an expired zset reads as missing and a new one never
// shows its members.
func TestZSetExpiredKeyIsFresh(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t, 2)
	must(t, c, "zadd", "z", "1", "a", "2", "b")
	must(t, c, "pexpire", "z", "30")
	time.Sleep(80 * time.Millisecond)
	zEq(t, c, "0", "zcard", "z")
	zEq(t, c, "1", "zadd", "z", "3", "c")
	zEq(t, c, "[c 3]", "zrange", "z", "0", "-1", "withscores")
	zEq(t, c, "[c 3]", "zrangebyscore", "z", "-inf", "+inf", "withscores")
	zEq(t, c, "nil", "zscore", "z", "a")
}

// TestZSetLarge checks reads near both ends of a 100,000-member zset; each costs a
// seek plus a few steps, or a walk from the nearer end for ranks.
func TestZSetLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large zset")
	}
	ts := startServer(t)
	const n = 100000
	for _, proto := range []int{2, 3} {
		c := ts.client(t, proto)
		ctx := ctxT(t)
		if proto == 2 {
			// score i/2: pairs of members share a score and sort by member
			pipe := c.Pipeline()
			for start := 0; start < n; start += 1000 {
				zs := make([]redis.Z, 0, 1000)
				for i := start; i < start+1000; i++ {
					zs = append(zs, redis.Z{Score: float64(i / 2), Member: fmt.Sprintf("m%06d", i)})
				}
				pipe.ZAdd(ctx, "big", zs...)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		for _, q := range []struct {
			want string
			args []any
		}{
			{"100000", []any{"zcard", "big"}},
			{"[m000000 0 m000001 0 m000002 1 m000003 1 m000004 2]", []any{"zrange", "big", "0", "4", "withscores"}},
			{"[m099997 m099998 m099999]", []any{"zrange", "big", "-3", "-1"}},
			{"[m099999 m099998 m099997]", []any{"zrevrange", "big", "0", "2"}},
			{"[m000001 m000000]", []any{"zrevrange", "big", "-2", "-1"}},
			{"[m000005 m000006]", []any{"zrange", "big", "5", "6"}},
			{"[m099990 m099991]", []any{"zrange", "big", "99990", "99991"}},
			{"[m050000 m050001]", []any{"zrange", "big", "50000", "50001"}},
			{"[m000000 m000001]", []any{"zrangebyscore", "big", "-inf", "(1"}},
			{"[m099996 m099997]", []any{"zrangebyscore", "big", "49998", "(49999"}},
			{"[m099998 49999 m099999 49999]", []any{"zrangebyscore", "big", "(49998", "+inf", "withscores"}},
			{"[m000020 m000021 m000022]", []any{"zrangebyscore", "big", "10", "+inf", "limit", "0", "3"}},
			{"[m000022 m000023]", []any{"zrangebyscore", "big", "10", "+inf", "limit", "2", "2"}},
			{"[m099999 m099998]", []any{"zrevrangebyscore", "big", "+inf", "49999"}},
			{"[m099981 m099980]", []any{"zrevrangebyscore", "big", "49990", "-inf", "limit", "0", "2"}},
			{"[m099999]", []any{"zrange", "big", "+inf", "(49998", "byscore", "rev", "limit", "0", "1"}},
			{"[m000005 m000006]", []any{"zrange", "big", "(1", "+inf", "byscore", "limit", "1", "2"}},
			{"[m050000 m050001]", []any{"zrangebyscore", "big", "25000", "25000"}},
			{"5", []any{"zrank", "big", "m000005"}},
			{"99990", []any{"zrank", "big", "m099990"}},
			{"9", []any{"zrevrank", "big", "m099990"}},
			{"99996", []any{"zrevrank", "big", "m000003"}},
			{"20", []any{"zcount", "big", "49990", "+inf"}},
			{"10", []any{"zcount", "big", "-inf", "4"}},
			{"99990", []any{"zcount", "big", "(4", "+inf"}},
			{"38888", []any{"zscore", "big", "m077777"}},
		} {
			zEq(t, c, q.want, q.args...)
		}
		t.Logf("resp%d: reads near the ends of %d members took %v", proto, n, time.Since(start))
	}
	c := ts.client(t, 2)
	zEq(t, c, "[m099999 49999 m099998 49999]", "zpopmax", "big", "2")
	zEq(t, c, "[m000000 0]", "zpopmin", "big")
	zEq(t, c, "99997", "zcard", "big")
	zEq(t, c, "[m000001]", "zrange", "big", "0", "0")
	zEq(t, c, "99996", "zrank", "big", "m099997")
	zEq(t, c, "2", "zremrangebyrank", "big", "-2", "-1")
	zEq(t, c, "[m099995]", "zrange", "big", "-1", "-1")
	zEq(t, c, "99995", "zcard", "big")
	if got := must(t, c, "zrangebyscore", "big", "-inf", "+inf", "limit", "99994", "5"); fmt.Sprint(got) != "[m099995]" {
		t.Fatalf("limit near the end = %v", got)
	}
}
