package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Helpers of this file are prefixed lt so they cannot clash with other tests.

// ltEq runs a command and compares its result (go-redis types) with want; nil means
// a null reply.
func ltEq(t *testing.T, c *redis.Client, want any, args ...any) {
	t.Helper()
	got, err := c.Do(ctxT(t), args...).Result()
	if err == redis.Nil {
		got, err = nil, nil
	}
	if err != nil {
		t.Fatalf("%v: unexpected error %v", args, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v = %#v, want %#v", args, got, want)
	}
}

func ltList(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func ltInts(ns ...int64) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

// ltRange is LRANGE key 0 -1.
func ltRange(t *testing.T, c *redis.Client, key string) []string {
	t.Helper()
	v, err := c.LRange(ctxT(t), key, 0, -1).Result()
	if err != nil {
		t.Fatalf("lrange %s: %v", key, err)
	}
	return v
}

func ltWantRange(t *testing.T, c *redis.Client, key string, want ...string) {
	t.Helper()
	got := ltRange(t, c, key)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lrange %s = %q, want %q", key, got, want)
	}
}

// ltConn is a raw RESP connection, to check the exact reply encoding.
type ltConn struct {
	net.Conn
	br *bufio.Reader
}

func ltDial(t *testing.T, ts *testServer, proto int) *ltConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	lc := &ltConn{Conn: nc, br: bufio.NewReader(nc)}
	if proto == 3 {
		lc.send(t, "hello", "3")
		lc.read(t)
	}
	return lc
}

func (lc *ltConn) send(t *testing.T, args ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := lc.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
}

// read returns one whole reply in its wire form.
func (lc *ltConn) read(t *testing.T) string {
	t.Helper()
	_ = lc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out strings.Builder
	var one func()
	one = func() {
		line, err := lc.br.ReadString('\n')
		if err != nil {
			t.Fatalf("read reply: %v (so far %q)", err, out.String())
		}
		out.WriteString(line)
		body := strings.TrimSuffix(line[1:], "\r\n")
		switch line[0] {
		case '$', '=', '!':
			n, _ := strconv.Atoi(body)
			if n >= 0 {
				buf := make([]byte, n+2)
				if _, err := io.ReadFull(lc.br, buf); err != nil {
					t.Fatalf("read bulk: %v", err)
				}
				out.Write(buf)
			}
		case '*', '~', '>', '%':
			n, _ := strconv.Atoi(body)
			if line[0] == '%' {
				n *= 2
			}
			for i := 0; i < n; i++ {
				one()
			}
		}
	}
	one()
	return out.String()
}

// do sends one command and checks the exact reply.
func (lc *ltConn) do(t *testing.T, want string, args ...string) {
	t.Helper()
	lc.send(t, args...)
	if got := lc.read(t); got != want {
		t.Fatalf("%v = %q, want %q", args, got, want)
	}
}

// ltWaitBlocked waits until n clients are blocked.
func ltWaitBlocked(t *testing.T, ts *testServer, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for ts.blockers.n.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("blocked clients = %d, want %d", ts.blockers.n.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ltProtocols runs f on a fresh server for each protocol, for tests that need more
// than one client.
func ltProtocols(t *testing.T, f func(t *testing.T, ts *testServer, proto int)) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			f(t, startServer(t), proto)
		})
	}
}

const ltWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

func TestListPushPop(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ltEq(t, c, int64(2), "rpush", "l", "c", "d")
		ltEq(t, c, int64(4), "lpush", "l", "b", "a")
		ltEq(t, c, int64(5), "rpushx", "l", "e")
		ltEq(t, c, int64(7), "lpushx", "l", "0", "z")
		ltWantRange(t, c, "l", "z", "0", "a", "b", "c", "d", "e")
		ltEq(t, c, int64(0), "lpushx", "nokey", "a")
		ltEq(t, c, int64(0), "rpushx", "nokey", "a", "b")
		ltEq(t, c, int64(0), "exists", "nokey")
		ltEq(t, c, int64(7), "llen", "l")
		ltEq(t, c, int64(0), "llen", "nokey")

		ltEq(t, c, "z", "lpop", "l")
		ltEq(t, c, "e", "rpop", "l")
		ltEq(t, c, ltList("0", "a"), "lpop", "l", "2")
		ltEq(t, c, ltList("d", "c"), "rpop", "l", "2")
		ltEq(t, c, []any{}, "lpop", "l", "0")
		ltEq(t, c, ltList("b"), "rpop", "l", "10")
		ltEq(t, c, int64(0), "exists", "l") // emptied by pops: deleted
		ltEq(t, c, nil, "lpop", "l")
		ltEq(t, c, nil, "rpop", "l")
		ltEq(t, c, nil, "lpop", "l", "0")
		ltEq(t, c, nil, "rpop", "l", "3")

		mustErr(t, c, "ERR value is out of range, must be positive", "lpop", "l", "-1")
		mustErr(t, c, "ERR value is out of range, must be positive", "rpop", "l", "x")
		mustErr(t, c, "ERR wrong number of arguments for 'lpop' command", "lpop", "l", "1", "2")
		mustErr(t, c, "ERR wrong number of arguments for 'lpop' command", "lpop")
		mustErr(t, c, "ERR wrong number of arguments for 'lpush' command", "lpush", "l")
		mustErr(t, c, "ERR wrong number of arguments for 'rpushx' command", "rpushx", "l")
		mustErr(t, c, "ERR wrong number of arguments for 'llen' command", "llen", "a", "b")

		must(t, c, "set", "s", "v")
		for _, args := range [][]any{
			{"lpush", "s", "a"}, {"rpush", "s", "a"}, {"lpushx", "s", "a"}, {"rpushx", "s", "a"},
			{"lpop", "s"}, {"rpop", "s", "1"}, {"llen", "s"}, {"lrange", "s", "0", "-1"},
			{"lindex", "s", "0"}, {"lset", "s", "0", "a"}, {"linsert", "s", "before", "a", "b"},
			{"lrem", "s", "0", "a"}, {"ltrim", "s", "0", "1"}, {"rpoplpush", "s", "d"},
			{"lmove", "s", "d", "left", "right"}, {"lpos", "s", "a"}, {"lmpop", "1", "s", "left"},
			{"blpop", "s", "0"}, {"brpop", "s", "0"}, {"blmove", "s", "d", "left", "left", "0"},
			{"brpoplpush", "s", "d", "0"}, {"blmpop", "0", "1", "s", "left"},
		} {
			mustErr(t, c, ltWrongType, args...)
		}
		ltEq(t, c, "v", "get", "s")
	})
}

func TestListRangeIndexSet(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "rpush", "l", "a", "b", "c", "d", "e")
		ltEq(t, c, ltList("a", "b", "c", "d", "e"), "lrange", "l", "0", "-1")
		ltEq(t, c, ltList("d", "e"), "lrange", "l", "-2", "-1")
		ltEq(t, c, ltList("b", "c", "d"), "lrange", "l", "1", "-2")
		ltEq(t, c, ltList("a", "b", "c", "d", "e"), "lrange", "l", "-100", "100")
		ltEq(t, c, ltList("a"), "lrange", "l", "-100", "0")
		ltEq(t, c, []any{}, "lrange", "l", "3", "1")
		ltEq(t, c, []any{}, "lrange", "l", "5", "10")
		ltEq(t, c, []any{}, "lrange", "l", "-1", "-2")
		ltEq(t, c, []any{}, "lrange", "nokey", "0", "-1")
		mustErr(t, c, "ERR value is not an integer or out of range", "lrange", "l", "x", "1")
		mustErr(t, c, "ERR value is not an integer or out of range", "lrange", "l", "0", "1.5")
		mustErr(t, c, "ERR wrong number of arguments for 'lrange' command", "lrange", "l", "0")

		ltEq(t, c, "a", "lindex", "l", "0")
		ltEq(t, c, "e", "lindex", "l", "-1")
		ltEq(t, c, "a", "lindex", "l", "-5")
		ltEq(t, c, nil, "lindex", "l", "5")
		ltEq(t, c, nil, "lindex", "l", "-6")
		ltEq(t, c, nil, "lindex", "nokey", "0")
		ltEq(t, c, nil, "lindex", "nokey", "x") // the key is looked up first
		mustErr(t, c, "ERR value is not an integer or out of range", "lindex", "l", "x")

		ltEq(t, c, "OK", "lset", "l", "0", "A")
		ltEq(t, c, "OK", "lset", "l", "-1", "E")
		ltWantRange(t, c, "l", "A", "b", "c", "d", "E")
		mustErr(t, c, "ERR index out of range", "lset", "l", "5", "x")
		mustErr(t, c, "ERR index out of range", "lset", "l", "-6", "x")
		mustErr(t, c, "ERR no such key", "lset", "nokey", "0", "x")
		mustErr(t, c, "ERR no such key", "lset", "nokey", "x", "x")
		mustErr(t, c, "ERR value is not an integer or out of range", "lset", "l", "x", "x")
		mustErr(t, c, "ERR wrong number of arguments for 'lset' command", "lset", "l", "0")
		ltEq(t, c, int64(0), "exists", "nokey")
	})
}

func TestListInsertRemTrim(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "rpush", "l", "a", "b", "c", "d")
		ltEq(t, c, int64(5), "linsert", "l", "before", "b", "B")
		ltEq(t, c, int64(6), "linsert", "l", "AFTER", "c", "C")
		ltEq(t, c, int64(7), "linsert", "l", "before", "a", "0")
		ltEq(t, c, int64(8), "linsert", "l", "after", "d", "9")
		ltEq(t, c, int64(-1), "linsert", "l", "after", "zz", "x")
		ltEq(t, c, int64(0), "linsert", "nokey", "after", "a", "x")
		ltWantRange(t, c, "l", "0", "a", "B", "b", "c", "C", "d", "9")
		mustErr(t, c, "ERR syntax error", "linsert", "l", "middle", "a", "x")
		mustErr(t, c, "ERR wrong number of arguments for 'linsert' command", "linsert", "l", "before", "a")

		must(t, c, "del", "l")
		must(t, c, "rpush", "l", "x", "a", "x", "b", "x", "c", "x")
		ltEq(t, c, int64(1), "lrem", "l", "1", "x")
		ltWantRange(t, c, "l", "a", "x", "b", "x", "c", "x")
		ltEq(t, c, int64(2), "lrem", "l", "-2", "x")
		ltWantRange(t, c, "l", "a", "x", "b", "c")
		ltEq(t, c, int64(0), "lrem", "l", "0", "zz")
		ltEq(t, c, int64(1), "lrem", "l", "0", "x")
		ltWantRange(t, c, "l", "a", "b", "c")
		ltEq(t, c, int64(0), "lrem", "nokey", "0", "x")
		mustErr(t, c, "ERR value is not an integer or out of range", "lrem", "l", "x", "a")
		must(t, c, "rpush", "all", "x", "x")
		ltEq(t, c, int64(2), "lrem", "all", "0", "x")
		ltEq(t, c, int64(0), "exists", "all")

		must(t, c, "rpush", "t", "1", "2", "3", "4", "5", "6")
		ltEq(t, c, "OK", "ltrim", "t", "1", "-2")
		ltWantRange(t, c, "t", "2", "3", "4", "5")
		ltEq(t, c, "OK", "ltrim", "t", "-100", "100")
		ltWantRange(t, c, "t", "2", "3", "4", "5")
		ltEq(t, c, "OK", "ltrim", "t", "-2", "-1")
		ltWantRange(t, c, "t", "4", "5")
		must(t, c, "lpush", "t", "3")
		must(t, c, "rpush", "t", "6")
		ltWantRange(t, c, "t", "3", "4", "5", "6")
		ltEq(t, c, "OK", "ltrim", "t", "2", "1")
		ltEq(t, c, int64(0), "exists", "t")
		ltEq(t, c, "OK", "ltrim", "nokey", "0", "1")
		mustErr(t, c, "ERR value is not an integer or out of range", "ltrim", "t", "0", "x")
	})
}

func TestListMoveCommands(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "rpush", "src", "a", "b", "c")
		ltEq(t, c, "c", "rpoplpush", "src", "dst")
		ltEq(t, c, "a", "lmove", "src", "dst", "left", "right")
		ltEq(t, c, "b", "lmove", "src", "dst", "RIGHT", "LEFT")
		ltEq(t, c, int64(0), "exists", "src")
		ltWantRange(t, c, "dst", "b", "c", "a")
		ltEq(t, c, nil, "rpoplpush", "src", "dst")
		ltEq(t, c, nil, "lmove", "src", "dst", "left", "left")
		// Onto itself: a rotation.
		ltEq(t, c, "a", "rpoplpush", "dst", "dst")
		ltWantRange(t, c, "dst", "a", "b", "c")
		ltEq(t, c, "a", "lmove", "dst", "dst", "left", "right")
		ltWantRange(t, c, "dst", "b", "c", "a")
		must(t, c, "rpush", "one", "x")
		ltEq(t, c, "x", "lmove", "one", "one", "left", "right")
		ltWantRange(t, c, "one", "x")
		// A destination of another type: an error, and nothing moves.
		must(t, c, "set", "s", "v")
		mustErr(t, c, ltWrongType, "lmove", "dst", "s", "left", "left")
		mustErr(t, c, ltWrongType, "rpoplpush", "dst", "s")
		ltWantRange(t, c, "dst", "b", "c", "a")
		ltEq(t, c, nil, "lmove", "nokey", "s", "left", "left") // empty source first
		mustErr(t, c, "ERR syntax error", "lmove", "dst", "x", "left", "up")
		mustErr(t, c, "ERR syntax error", "lmove", "dst", "x", "middle", "left")
		mustErr(t, c, "ERR wrong number of arguments for 'lmove' command", "lmove", "dst", "x", "left")
		mustErr(t, c, "ERR wrong number of arguments for 'rpoplpush' command", "rpoplpush", "dst")
	})
}

func TestListPos(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c")
		ltEq(t, c, int64(2), "lpos", "l", "c")
		ltEq(t, c, int64(6), "lpos", "l", "c", "rank", "2")
		ltEq(t, c, int64(7), "lpos", "l", "c", "rank", "-1")
		ltEq(t, c, int64(6), "lpos", "l", "c", "rank", "-2")
		ltEq(t, c, nil, "lpos", "l", "c", "rank", "4")
		ltEq(t, c, ltInts(2, 6, 7), "lpos", "l", "c", "count", "0")
		ltEq(t, c, ltInts(2, 6), "lpos", "l", "c", "count", "2")
		ltEq(t, c, ltInts(7, 6), "lpos", "l", "c", "rank", "-1", "count", "2")
		ltEq(t, c, ltInts(6, 7), "lpos", "l", "c", "RANK", "2", "COUNT", "0")
		ltEq(t, c, ltInts(2), "lpos", "l", "c", "count", "0", "maxlen", "3")
		ltEq(t, c, nil, "lpos", "l", "c", "maxlen", "2")
		ltEq(t, c, ltInts(7, 6), "lpos", "l", "c", "rank", "-1", "count", "0", "maxlen", "2")
		ltEq(t, c, nil, "lpos", "l", "zz")
		ltEq(t, c, []any{}, "lpos", "l", "zz", "count", "0")
		ltEq(t, c, nil, "lpos", "nokey", "a")
		ltEq(t, c, []any{}, "lpos", "nokey", "a", "count", "1")
		ltEq(t, c, int64(7), "lpos", "l", "c", "rank", "1", "rank", "-1") // the last one wins
		mustErr(t, c, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list", "lpos", "l", "c", "rank", "0")
		mustErr(t, c, "ERR COUNT can't be negative", "lpos", "l", "c", "count", "-1")
		mustErr(t, c, "ERR COUNT can't be negative", "lpos", "l", "c", "count", "x")
		mustErr(t, c, "ERR MAXLEN can't be negative", "lpos", "l", "c", "maxlen", "-1")
		mustErr(t, c, "ERR value is not an integer or out of range", "lpos", "l", "c", "rank", "x")
		mustErr(t, c, "ERR syntax error", "lpos", "l", "c", "rank")
		mustErr(t, c, "ERR syntax error", "lpos", "l", "c", "foo", "1")
	})
}

func TestListMPop(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		must(t, c, "rpush", "b", "1", "2", "3")
		ltEq(t, c, []any{"b", ltList("1")}, "lmpop", "2", "a", "b", "left")
		ltEq(t, c, []any{"b", ltList("3", "2")}, "lmpop", "2", "a", "b", "right", "count", "5")
		ltEq(t, c, int64(0), "exists", "b")
		ltEq(t, c, nil, "lmpop", "2", "a", "b", "left")
		must(t, c, "rpush", "b", "1", "2", "3")
		ltEq(t, c, []any{"b", ltList("1", "2")}, "blmpop", "0", "1", "b", "left", "count", "2")
		ltEq(t, c, nil, "blmpop", "0.01", "1", "a", "left")
		mustErr(t, c, "ERR numkeys should be greater than 0", "lmpop", "0", "a", "left")
		mustErr(t, c, "ERR numkeys should be greater than 0", "lmpop", "x", "a", "left")
		mustErr(t, c, "ERR syntax error", "lmpop", "2", "a", "left")
		mustErr(t, c, "ERR syntax error", "lmpop", "1", "a", "up")
		mustErr(t, c, "ERR syntax error", "lmpop", "1", "a", "left", "count")
		mustErr(t, c, "ERR syntax error", "lmpop", "1", "a", "left", "count", "1", "count", "1")
		mustErr(t, c, "ERR count should be greater than 0", "lmpop", "1", "a", "left", "count", "0")
		mustErr(t, c, "ERR timeout is not a float or out of range", "blmpop", "x", "1", "a", "left")
		mustErr(t, c, "ERR timeout is negative", "blmpop", "-1", "1", "a", "left")
	})
}

// TestListReplyEncoding checks the exact wire form of the null and empty replies,
// which differ between commands (and from go-redis's view of them).
func TestListReplyEncoding(t *testing.T) {
	ts := startServer(t)
	for _, proto := range []int{2, 3} {
		lc := ltDial(t, ts, proto)
		nullBulk, nullArray := "$-1\r\n", "*-1\r\n"
		if proto == 3 {
			nullBulk, nullArray = "_\r\n", "_\r\n"
		}
		lc.do(t, ":3\r\n", "rpush", "l", "a", "b", "c")
		lc.do(t, "*0\r\n", "lpop", "l", "0")
		lc.do(t, nullArray, "lpop", "nokey", "0")
		lc.do(t, nullArray, "rpop", "nokey", "2")
		lc.do(t, nullBulk, "lpop", "nokey")
		lc.do(t, nullBulk, "lindex", "l", "9")
		lc.do(t, nullBulk, "lpos", "l", "z")
		lc.do(t, "*0\r\n", "lpos", "nokey", "z", "count", "2")
		lc.do(t, nullBulk, "lmove", "nokey", "x", "left", "left")
		lc.do(t, nullArray, "lmpop", "1", "nokey", "left")
		lc.do(t, nullArray, "blpop", "nokey", "0.01")
		lc.do(t, nullArray, "blmove", "nokey", "x", "left", "left", "0.01")
		lc.do(t, nullArray, "brpoplpush", "nokey", "x", "0.01")
		lc.do(t, nullArray, "blmpop", "0.01", "1", "nokey", "left")
		lc.do(t, "*2\r\n$1\r\nl\r\n$1\r\na\r\n", "blpop", "nokey", "l", "0")
		lc.do(t, "*2\r\n$1\r\nl\r\n$1\r\nc\r\n", "brpop", "l", "0")
		// Inside MULTI nothing blocks; BLMOVE and BRPOPLPUSH answer a null bulk there.
		lc.do(t, "+OK\r\n", "multi")
		for _, args := range [][]string{
			{"blpop", "nokey", "0"}, {"brpop", "nokey", "0"}, {"blmove", "nokey", "x", "left", "left", "0"},
			{"brpoplpush", "nokey", "x", "0"}, {"blmpop", "0", "1", "nokey", "left"}, {"blpop", "l", "0"},
		} {
			lc.do(t, "+QUEUED\r\n", args...)
		}
		lc.do(t, "*6\r\n"+nullArray+nullArray+nullBulk+nullBulk+nullArray+"*2\r\n$1\r\nl\r\n$1\r\nb\r\n", "exec")
		lc.do(t, ":0\r\n", "exists", "l")
	}
}

func TestListBlockingTimeout(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		start := time.Now()
		ltEq(t, c, nil, "blpop", "a", "b", "0.3")
		if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
			t.Fatalf("blpop 0.3 returned after %v", d)
		}
		start = time.Now()
		ltEq(t, c, nil, "blmove", "a", "b", "left", "right", "0.2")
		if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
			t.Fatalf("blmove 0.2 returned after %v", d)
		}
		mustErr(t, c, "ERR timeout is not a float or out of range", "blpop", "a", "x")
		mustErr(t, c, "ERR timeout is not a float or out of range", "brpop", "a", "")
		mustErr(t, c, "ERR timeout is not a float or out of range", "blpop", "a", "nan")
		mustErr(t, c, "ERR timeout is not a float or out of range", "blmove", "a", "b", "left", "left", "1x")
		mustErr(t, c, "ERR timeout is not a float or out of range", "brpoplpush", "a", "b", " 1")
		mustErr(t, c, "ERR timeout is negative", "blpop", "a", "-1")
		mustErr(t, c, "ERR timeout is negative", "blpop", "a", "-0.5")
		mustErr(t, c, "ERR timeout is negative", "blpop", "a", "inf")
		mustErr(t, c, "ERR timeout is negative", "blpop", "a", "1e20")
		mustErr(t, c, "ERR syntax error", "blmove", "a", "b", "left", "up", "0")
		mustErr(t, c, "ERR wrong number of arguments for 'blpop' command", "blpop", "a")
		mustErr(t, c, "ERR wrong number of arguments for 'blmove' command", "blmove", "a", "b", "left", "left")
		// Tiny timeouts still time out rather than block forever.
		ltEq(t, c, nil, "blpop", "a", "0.0001")
		ltEq(t, c, nil, "blpop", "a", "1e-400")
		ltEq(t, c, nil, "blpop", "a", "0x0.01")
		ltEq(t, c, int64(0), "exists", "a", "b")
	})
}

// ltAsync runs a command on its own client in the background.
func ltAsync(t *testing.T, ts *testServer, proto int, args ...any) <-chan ltResult {
	return doAsync(t, ts.client(t, proto), args...)
}

// doer is a go-redis client or one of its connections.
type doer interface {
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// doAsync runs a command on c in the background; its result arrives on the channel.
func doAsync(t *testing.T, c doer, args ...any) <-chan ltResult {
	ctx := ctxT(t)
	ch := make(chan ltResult, 1)
	go func() {
		v, err := c.Do(ctx, args...).Result()
		ch <- ltResult{v, err}
	}()
	return ch
}

type ltResult struct {
	v   any
	err error
}

func ltAwait(t *testing.T, ch <-chan ltResult, want any) {
	t.Helper()
	select {
	case r := <-ch:
		if r.err == redis.Nil {
			r.v, r.err = nil, nil
		}
		if r.err != nil || !reflect.DeepEqual(r.v, want) {
			t.Fatalf("blocked command = %#v, %v; want %#v", r.v, r.err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocked command not served within 5s")
	}
}

func TestListBlockingWokenByPush(t *testing.T) {
	ltProtocols(t, func(t *testing.T, ts *testServer, proto int) {
		c := ts.client(t, proto)
		// BLPOP on two keys, woken by a push to the second.
		ch := ltAsync(t, ts, proto, "blpop", "k1", "k2", "0")
		ltWaitBlocked(t, ts, 1)
		ltEq(t, c, int64(2), "rpush", "k2", "v1", "v2")
		ltAwait(t, ch, ltList("k2", "v1"))
		ltWantRange(t, c, "k2", "v2")
		ltWaitBlocked(t, ts, 0)

		// BRPOP with a timeout, woken before it.
		ch = ltAsync(t, ts, proto, "brpop", "k3", "5")
		ltWaitBlocked(t, ts, 1)
		must(t, c, "lpush", "k3", "x", "y")
		ltAwait(t, ch, ltList("k3", "x"))

		// BLMOVE to another key: both keys end up right.
		ch = ltAsync(t, ts, proto, "blmove", "src", "dst", "right", "left", "0")
		ltWaitBlocked(t, ts, 1)
		must(t, c, "rpush", "dst", "old")
		must(t, c, "rpush", "src", "a", "b")
		ltAwait(t, ch, "b")
		ltWantRange(t, c, "src", "a")
		ltWantRange(t, c, "dst", "b", "old")

		// BRPOPLPUSH, woken by an LMOVE from another list.
		must(t, c, "del", "src", "dst")
		ch = ltAsync(t, ts, proto, "brpoplpush", "src", "dst", "0")
		ltWaitBlocked(t, ts, 1)
		must(t, c, "rpush", "other", "m")
		ltEq(t, c, "m", "lmove", "other", "src", "left", "left")
		ltAwait(t, ch, "m")
		ltEq(t, c, int64(0), "exists", "src", "other")
		ltWantRange(t, c, "dst", "m")

		// BLMPOP, woken by a push of several elements.
		ch = ltAsync(t, ts, proto, "blmpop", "0", "2", "m1", "m2", "right", "count", "2")
		ltWaitBlocked(t, ts, 1)
		must(t, c, "rpush", "m2", "1", "2", "3")
		ltAwait(t, ch, []any{"m2", ltList("3", "2")})
		ltWantRange(t, c, "m2", "1")

		// A push inside MULTI wakes the waiter when EXEC commits.
		ch = ltAsync(t, ts, proto, "blpop", "tx", "0")
		ltWaitBlocked(t, ts, 1)
		pipe := c.TxPipeline()
		pipe.RPush(ctxT(t), "tx", "in-multi")
		if _, err := pipe.Exec(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		ltAwait(t, ch, ltList("tx", "in-multi"))
		ltWaitBlocked(t, ts, 0)
	})
}

// TestListBlockedSourceChangesType: a blocked BLMOVE keeps waiting while its source
// holds another type, and moves once it is a list again; a destination of another type
// is WRONGTYPE when an element arrives (both as Redis 7 does).
func TestListBlockedSourceChangesType(t *testing.T) {
	ltProtocols(t, func(t *testing.T, ts *testServer, proto int) {
		c := ts.client(t, proto)
		ch := ltAsync(t, ts, proto, "blmove", "src", "dst", "left", "right", "0")
		ltWaitBlocked(t, ts, 1)
		must(t, c, "set", "src", "string")
		must(t, c, "del", "src")
		must(t, c, "sadd", "src", "member")
		must(t, c, "del", "src")
		ltWaitBlocked(t, ts, 1)
		must(t, c, "rpush", "src", "a")
		ltAwait(t, ch, "a")
		ltWantRange(t, c, "dst", "a")

		must(t, c, "del", "src", "dst")
		must(t, c, "set", "dst", "string")
		ch = ltAsync(t, ts, proto, "brpoplpush", "src", "dst", "0")
		ltWaitBlocked(t, ts, 1)
		must(t, c, "rpush", "src", "b")
		select {
		case r := <-ch:
			if r.err == nil || r.err.Error() != "WRONGTYPE Operation against a key holding the wrong kind of value" {
				t.Fatalf("BRPOPLPUSH into a string = %#v, %v; want WRONGTYPE", r.v, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("BRPOPLPUSH into a string still blocked")
		}
		ltWantRange(t, c, "src", "b")
	})
}

// TestListBlockingOneElementTwoWaiters: one pushed element serves exactly one of two
// blocked clients; the other keeps waiting until its timeout.
func TestListBlockingOneElementTwoWaiters(t *testing.T) {
	ltProtocols(t, func(t *testing.T, ts *testServer, proto int) {
		c := ts.client(t, proto)
		ch1 := ltAsync(t, ts, proto, "blpop", "k", "1.5")
		ch2 := ltAsync(t, ts, proto, "blpop", "k", "1.5")
		ltWaitBlocked(t, ts, 2)
		must(t, c, "rpush", "k", "only")
		var got []any
		for _, ch := range []<-chan ltResult{ch1, ch2} {
			select {
			case r := <-ch:
				if r.err == redis.Nil {
					got = append(got, nil)
				} else if r.err != nil {
					t.Fatal(r.err)
				} else {
					got = append(got, r.v)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("waiter not done within 5s")
			}
		}
		served := 0
		for _, g := range got {
			if g != nil {
				served++
				if !reflect.DeepEqual(g, ltList("k", "only")) {
					t.Fatalf("served %#v", g)
				}
			}
		}
		if served != 1 {
			t.Fatalf("%d waiters served by one element: %#v", served, got)
		}
		ltEq(t, c, int64(0), "exists", "k")
	})
}

// TestListBlockedClientDisconnects: a client blocked forever that goes away must not
// take an element pushed later.
func TestListBlockedClientDisconnects(t *testing.T) {
	ltProtocols(t, func(t *testing.T, ts *testServer, proto int) {
		c := ts.client(t, proto)
		for _, args := range [][]string{
			{"blpop", "k", "0"},
			{"blmove", "k", "dst", "left", "left", "0"},
			{"blmpop", "0", "1", "k", "left"},
		} {
			lc := ltDial(t, ts, proto)
			lc.send(t, args...)
			ltWaitBlocked(t, ts, 1)
			lc.Close()
			ltWaitBlocked(t, ts, 0)
			ltEq(t, c, int64(1), "rpush", "k", "v")
			time.Sleep(50 * time.Millisecond)
			ltEq(t, c, int64(1), "llen", "k")
			ltEq(t, c, int64(0), "exists", "dst")
			must(t, c, "del", "k")
		}
	})
}

// TestListBlockedClientDisconnectsWithPipelinedCommand: as above, but the client sent
// another command behind the blocking one before going away.
func TestListBlockedClientDisconnectsWithPipelinedCommand(t *testing.T) {
	ltProtocols(t, func(t *testing.T, ts *testServer, proto int) {
		c := ts.client(t, proto)
		lc := ltDial(t, ts, proto)
		lc.send(t, "blpop", "k", "0")
		ltWaitBlocked(t, ts, 1)
		lc.send(t, "ping")
		time.Sleep(50 * time.Millisecond)
		lc.Close()
		ltWaitBlocked(t, ts, 0)
		ltEq(t, c, int64(1), "rpush", "k", "v")
		time.Sleep(50 * time.Millisecond)
		ltEq(t, c, int64(1), "llen", "k")
	})
}

// TestListBlockingConcurrentProducers: many pushes and many blocked poppers; every
// element is delivered exactly once.
func TestListBlockingConcurrentProducers(t *testing.T) {
	ts := startServer(t)
	const consumers, perConsumer = 4, 25
	var wg sync.WaitGroup
	got := make(chan string, consumers*perConsumer)
	errs := make(chan error, consumers)
	ctx := ctxT(t)
	for i := 0; i < consumers; i++ {
		c := ts.client(t, 2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perConsumer; j++ {
				v, err := c.Do(ctx, "blpop", "q", "5").Result()
				if err != nil {
					errs <- err
					return
				}
				got <- v.([]any)[1].(string)
			}
		}()
	}
	p := ts.client(t, 2)
	for i := 0; i < consumers*perConsumer; i++ {
		if err := p.RPush(ctxT(t), "q", fmt.Sprint(i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("consumers not done within 20s")
	}
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	close(got)
	seen := map[string]bool{}
	for v := range got {
		if seen[v] {
			t.Fatalf("element %s delivered twice", v)
		}
		seen[v] = true
	}
	if len(seen) != consumers*perConsumer {
		t.Fatalf("%d elements delivered, want %d", len(seen), consumers*perConsumer)
	}
	if n := p.LLen(ctxT(t), "q").Val(); n != 0 {
		t.Fatalf("%d elements left", n)
	}
}

func TestListLargeOverTheWire(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t, 2)
	args := []any{"rpush", "big"}
	for i := 0; i < 5000; i++ {
		args = append(args, fmt.Sprint(i))
	}
	ltEq(t, c, int64(5000), args...)
	ltEq(t, c, ltList("4997", "4998", "4999"), "lrange", "big", "-3", "-1")
	ltEq(t, c, "2500", "lindex", "big", "2500")
	ltEq(t, c, int64(5001), "linsert", "big", "before", "2500", "x")
	ltEq(t, c, "x", "lindex", "big", "2500")
	ltEq(t, c, int64(1), "lrem", "big", "0", "x")
	ltEq(t, c, "OK", "ltrim", "big", "1000", "-1001")
	ltEq(t, c, int64(3000), "llen", "big")
	ltEq(t, c, ltList("1000", "1001"), "lrange", "big", "0", "1")
	ltEq(t, c, ltList("3998", "3999"), "lrange", "big", "-2", "-1")
	ltEq(t, c, int64(1500), "lpos", "big", "2500")
}
