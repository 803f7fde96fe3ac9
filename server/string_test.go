package server

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStringBasics(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		if err := c.Set(ctx, "a", "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v := c.Get(ctx, "a").Val(); v != "1" {
			t.Fatalf("get a = %q", v)
		}
		if err := c.Get(ctx, "missing").Err(); err != redis.Nil {
			t.Fatalf("get missing: %v", err)
		}
		if n := c.Incr(ctx, "a").Val(); n != 2 {
			t.Fatalf("incr = %d", n)
		}
		if n := c.IncrBy(ctx, "a", -5).Val(); n != -3 {
			t.Fatalf("incrby = %d", n)
		}
		if f := c.IncrByFloat(ctx, "f", 10.5).Val(); f != 10.5 {
			t.Fatalf("incrbyfloat = %v", f)
		}
		if got := must(t, c, "incrbyfloat", "f", "0.1"); got != "10.6" {
			t.Fatalf("incrbyfloat 0.1 = %v", got)
		}
		mustErr(t, c, "ERR value is not an integer or out of range", "incr", "f")
		if n := c.Append(ctx, "s", "hello").Val(); n != 5 {
			t.Fatalf("append = %d", n)
		}
		c.Append(ctx, "s", " world")
		if v := c.GetRange(ctx, "s", -5, -1).Val(); v != "world" {
			t.Fatalf("getrange = %q", v)
		}
		if n := c.SetRange(ctx, "s", 6, "WORLD").Val(); n != 11 {
			t.Fatalf("setrange = %d", n)
		}
		if v := c.Get(ctx, "s").Val(); v != "hello WORLD" {
			t.Fatalf("after setrange = %q", v)
		}
		if n := c.StrLen(ctx, "s").Val(); n != 11 {
			t.Fatalf("strlen = %d", n)
		}
		vals := c.MGet(ctx, "a", "nope", "s").Val()
		if len(vals) != 3 || vals[0] != "-3" || vals[1] != nil || vals[2] != "hello WORLD" {
			t.Fatalf("mget = %#v", vals)
		}
		mustErr(t, c, "ERR wrong number of arguments for 'get' command", "get")
		mustErr(t, c, "ERR syntax error", "set", "k", "v", "nx", "xx")
		mustErr(t, c, "ERR invalid expire time in 'set' command", "set", "k", "v", "ex", "0")
	})
}

func TestSetOptions(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		if ok := c.SetNX(ctx, "k", "1", 0).Val(); !ok {
			t.Fatal("setnx on missing key failed")
		}
		if ok := c.SetNX(ctx, "k", "2", 0).Val(); ok {
			t.Fatal("setnx on existing key succeeded")
		}
		if ok, err := c.SetXX(ctx, "nokey", "1", 0).Result(); ok || err != nil {
			t.Fatalf("set xx on missing: %v %v", ok, err)
		}
		if v := must(t, c, "set", "k", "3", "get"); v != "1" {
			t.Fatalf("set get = %v", v)
		}
		c.Set(ctx, "t", "v", time.Hour)
		if ttl := c.TTL(ctx, "t").Val(); ttl < 3590*time.Second || ttl > time.Hour {
			t.Fatalf("ttl = %v", ttl)
		}
		must(t, c, "set", "t", "w", "keepttl")
		if ttl := c.PTTL(ctx, "t").Val(); ttl <= 0 {
			t.Fatalf("keepttl lost ttl: %v", ttl)
		}
		c.Set(ctx, "t", "x", 0)
		if ttl := c.TTL(ctx, "t").Val(); ttl != -1 {
			t.Fatalf("plain set kept ttl: %v", ttl)
		}
		must(t, c, "set", "p", "v", "px", "30")
		time.Sleep(60 * time.Millisecond)
		if err := c.Get(ctx, "p").Err(); err != redis.Nil {
			t.Fatalf("expired key still readable: %v", err)
		}
		if v := c.GetDel(ctx, "k").Val(); v != "3" {
			t.Fatalf("getdel = %q", v)
		}
		if n := c.Exists(ctx, "k").Val(); n != 0 {
			t.Fatalf("getdel left key")
		}
		if ok := c.MSetNX(ctx, "m1", "1", "t", "2").Val(); ok {
			t.Fatal("msetnx with an existing key succeeded")
		}
		if n := c.Exists(ctx, "m1").Val(); n != 0 {
			t.Fatal("msetnx partially applied")
		}
	})
}

// Found by fuzzing: offsets and counts near the int64 limits used to overflow.
func TestHugeArgumentsDoNotOverflow(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t, 2)
	mustErr(t, c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)", "setrange", "k", "9223372036854775807", "x")
	if _, err := do(t, c, "zmpop", "9223372036854775807", "k", "MIN"); err == nil {
		t.Fatal("ZMPOP with a huge numkeys succeeded")
	}
	if v := must(t, c, "ping"); v != "PONG" {
		t.Fatalf("server unwell after huge arguments: %v", v)
	}
}
