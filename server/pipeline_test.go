package server

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestPipelineReadsOwnWrites(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		p := c.Pipeline()
		set := p.Set(ctx, "a", "1", 0)
		incr := p.Incr(ctx, "a")
		get := p.Get(ctx, "a")
		bad := p.Incr(ctx, "s")
		p.Set(ctx, "s", "x", 0)
		bad2 := p.Incr(ctx, "s")
		get2 := p.Get(ctx, "s")
		_, _ = p.Exec(ctx)
		if set.Val() != "OK" || incr.Val() != 2 || get.Val() != "2" {
			t.Fatalf("set=%v incr=%v get=%v", set.Val(), incr.Val(), get.Val())
		}
		if bad.Val() != 1 {
			t.Fatalf("incr of missing key in pipeline = %v", bad.Val())
		}
		if bad2.Err() == nil || bad2.Err().Error() != "ERR value is not an integer or out of range" {
			t.Fatalf("incr of string: %v", bad2.Err())
		}
		if get2.Val() != "x" {
			t.Fatalf("failed command leaked its change: %q", get2.Val())
		}
	})
}

// Many connections pipelining INCRs over overlapping keys must neither deadlock nor
// lose an increment.
func TestPipelinesConcurrentOverlappingKeys(t *testing.T) {
	ts := startServer(t)
	const clients, rounds, keys = 8, 50, 5
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := ts.client(t, 2)
			ctx := ctxT(t)
			for r := 0; r < rounds; r++ {
				p := c.Pipeline()
				for k := 0; k < keys; k++ {
					// Each client walks the keys in a different order.
					p.Incr(ctx, "k"+strconv.Itoa((k+i)%keys))
				}
				if _, err := p.Exec(ctx); err != nil {
					errs <- err
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := ts.client(t, 2)
	for k := 0; k < keys; k++ {
		v, err := c.Get(ctxT(t), "k"+strconv.Itoa(k)).Int()
		if err != nil || v != clients*rounds {
			t.Fatalf("k%d = %d (%v), want %d", k, v, err, clients*rounds)
		}
	}
}

func TestPipelineManyWrites(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t, 2)
	ctx := ctxT(t)
	p := c.Pipeline()
	for i := 0; i < 5000; i++ {
		p.Set(ctx, fmt.Sprintf("key:%d", i), i, 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.DBSize(ctx).Val(); n != 5000 {
		t.Fatalf("dbsize = %d", n)
	}
	if v := c.Get(ctx, "key:4999").Val(); v != "4999" {
		t.Fatalf("key:4999 = %q", v)
	}
}

// Many connections pipelining pushes and pops on one list: every transaction is
// ordered, so the list stays whole (its metadata matches its elements).
func TestPipelinedPushPopOneList(t *testing.T) {
	ts := startServer(t)
	const clients, rounds, depth = 20, 30, 16
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := ts.client(t, 2)
			ctx := ctxT(t)
			for r := 0; r < rounds; r++ {
				p := c.Pipeline()
				for d := 0; d < depth; d++ {
					p.LPush(ctx, "mylist", fmt.Sprintf("c%d:%d:%d", i, r, d))
					if d%4 == 3 {
						p.RPop(ctx, "mylist")
					}
				}
				if _, err := p.Exec(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	c := ts.client(t, 2)
	ctx := ctxT(t)
	want := int64(clients * rounds * depth * 3 / 4)
	if n := c.LLen(ctx, "mylist").Val(); n != want {
		t.Fatalf("LLEN = %d, want %d", n, want)
	}
	all, err := c.LRange(ctx, "mylist", 0, -1).Result()
	if err != nil || int64(len(all)) != want {
		t.Fatalf("LRANGE returned %d elements (%v), want %d", len(all), err, want)
	}
	for i := int64(0); i < want; i++ {
		if err := c.LPop(ctx, "mylist").Err(); err != nil {
			t.Fatalf("LPOP %d: %v", i, err)
		}
	}
}
