package server

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestSort(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "rpush", "l", "3", "1", "2", "10")
		kEq(t, c, []any{"1", "2", "3", "10"}, "sort", "l")
		kEq(t, c, []any{"10", "3", "2", "1"}, "sort", "l", "desc")
		kEq(t, c, []any{"1", "10", "2", "3"}, "sort", "l", "alpha")
		kEq(t, c, []any{"2", "3"}, "sort", "l", "limit", "1", "2")
		kEq(t, c, []any{"10"}, "sort_ro", "l", "limit", "3", "100")
		kEq(t, c, []any{}, "sort", "l", "limit", "9", "1")
		kEq(t, c, []any{}, "sort", "nosuch")
		// A constant BY keeps the list's order; DESC reverses it.
		kEq(t, c, []any{"10", "2", "1", "3"}, "sort", "l", "by", "nosort", "desc")

		// Weights and values from other keys and hash fields.
		must(t, c, "sadd", "s", "a", "b", "c", "d")
		must(t, c, "mset", "w_a", "3", "w_b", "1", "w_c", " 2") // strtod skips the space
		must(t, c, "hset", "o_a", "name", "Ann")
		must(t, c, "hset", "o_b", "name", "Bob")
		kEq(t, c, []any{"d", "b", "c", "a"}, "sort", "s", "by", "w_*") // d has no weight: 0
		kEq(t, c, []any{"d", nil, "b", "Bob", "c", nil, "a", "Ann"}, "sort", "s", "by", "w_*", "get", "#", "get", "o_*->name")
		kEq(t, c, []any{"3", "1", " 2", nil}, "sort", "s", "alpha", "get", "w_*")
		// Ties in the weight fall back to the elements' bytes.
		must(t, c, "mset", "w_a", "1", "w_c", "1")
		kEq(t, c, []any{"d", "a", "b", "c"}, "sort", "s", "by", "w_*")

		// STORE replaces the destination with a list, missing values stored as "".
		must(t, c, "set", "dst", "old")
		kEq(t, c, int64(4), "sort", "s", "alpha", "get", "o_*->name", "store", "dst")
		kEq(t, c, []any{"Ann", "Bob", "", ""}, "lrange", "dst", "0", "-1")
		kEq(t, c, int64(0), "sort", "nosuch", "store", "dst")
		kEq(t, c, int64(0), "exists", "dst")
		// An unsorted set is sorted when stored, so the result does not depend on it.
		kEq(t, c, int64(4), "sort", "s", "by", "nosort", "store", "dst")
		kEq(t, c, []any{"a", "b", "c", "d"}, "lrange", "dst", "0", "-1")

		must(t, c, "zadd", "z", "1", "x", "2", "y", "3", "w")
		kEq(t, c, []any{"x", "y", "w"}, "sort", "z", "by", "nosort")
		kEq(t, c, []any{"y", "x"}, "sort", "z", "by", "nosort", "desc", "limit", "1", "2")
		kEq(t, c, []any{"w", "x", "y"}, "sort", "z", "alpha")

		// strtod's zeros, underflows and the smallest normal number, as redis-server
		// reads them. (Not in the differential scenarios: Redis never clears errno, so
		// an earlier overflow there can make it refuse these too.)
		must(t, c, "rpush", "zeros", "0e1", "0.0e-5", "0x0p5", "-0e9", "00", "2.2250738585072014e-308")
		kEq(t, c, []any{"-0e9", "0.0e-5", "00", "0e1", "0x0p5", "2.2250738585072014e-308"}, "sort", "zeros")
		for _, v := range []string{"1e-400", "1e-310", "5e-324", "0x1p-1080"} {
			must(t, c, "rpush", "under:"+v, v)
			mustErr(t, c, "ERR One or more scores can't be converted into double", "sort", "under:"+v)
		}

		must(t, c, "rpush", "bad", "1", "x")
		mustErr(t, c, "ERR One or more scores can't be converted into double", "sort", "bad")
		mustErr(t, c, "ERR value is not an integer or out of range", "sort", "l", "limit", "x", "1")
		mustErr(t, c, "ERR syntax error", "sort", "l", "limit", "1")
		mustErr(t, c, "ERR syntax error", "sort", "l", "foo")
		mustErr(t, c, "ERR syntax error", "sort_ro", "l", "store", "dst")
		must(t, c, "set", "str", "v")
		mustErr(t, c, "WRONGTYPE Operation against a key holding the wrong kind of value", "sort", "str")
		mustErr(t, c, "ERR wrong number of arguments for 'sort' command", "sort")
	})
}
