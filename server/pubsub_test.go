package server

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// receive reads the next pubsub event within 10s.
func receive(t *testing.T, ps *redis.PubSub) any {
	t.Helper()
	v, err := ps.ReceiveTimeout(ctxT(t), 10*time.Second)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return v
}

func wantSub(t *testing.T, v any, kind, channel string, count int) {
	t.Helper()
	s, ok := v.(*redis.Subscription)
	if !ok || s.Kind != kind || s.Channel != channel || s.Count != count {
		t.Fatalf("got %#v, want subscription %s %q %d", v, kind, channel, count)
	}
}

func wantMsg(t *testing.T, v any, pattern, channel, payload string) {
	t.Helper()
	m, ok := v.(*redis.Message)
	if !ok || m.Pattern != pattern || m.Channel != channel || m.Payload != payload {
		t.Fatalf("got %#v, want message %q %q %q", v, pattern, channel, payload)
	}
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPubSubGoRedis(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		ctx := ctxT(t)
		if n := c.Publish(ctx, "news", "nobody").Val(); n != 0 {
			t.Fatalf("publish without subscribers: %d", n)
		}
		ps := c.Subscribe(ctx, "news", "sport")
		defer ps.Close()
		wantSub(t, receive(t, ps), "subscribe", "news", 1)
		wantSub(t, receive(t, ps), "subscribe", "sport", 2)
		if err := ps.PSubscribe(ctx, "n*", "x?"); err != nil {
			t.Fatal(err)
		}
		wantSub(t, receive(t, ps), "psubscribe", "n*", 3)
		wantSub(t, receive(t, ps), "psubscribe", "x?", 4)

		if n := c.Publish(ctx, "news", "hello").Val(); n != 2 {
			t.Fatalf("publish news: %d receivers, want 2", n)
		}
		wantMsg(t, receive(t, ps), "", "news", "hello")
		wantMsg(t, receive(t, ps), "n*", "news", "hello")
		if n := c.Publish(ctx, "sport", "goal").Val(); n != 1 {
			t.Fatalf("publish sport: %d", n)
		}
		wantMsg(t, receive(t, ps), "", "sport", "goal")
		if n := c.Publish(ctx, "xy", "bin\x00\r\n").Val(); n != 1 {
			t.Fatalf("publish xy: %d", n)
		}
		wantMsg(t, receive(t, ps), "x?", "xy", "bin\x00\r\n")

		chans, err := c.PubSubChannels(ctx, "*").Result()
		sort.Strings(chans)
		if err != nil || fmt.Sprint(chans) != "[news sport]" {
			t.Fatalf("PUBSUB CHANNELS: %v %v", chans, err)
		}
		chans, _ = c.PubSubChannels(ctx, "s*").Result()
		if fmt.Sprint(chans) != "[sport]" {
			t.Fatalf("PUBSUB CHANNELS s*: %v", chans)
		}
		num, err := c.PubSubNumSub(ctx, "news", "sport", "none").Result()
		if err != nil || num["news"] != 1 || num["sport"] != 1 || num["none"] != 0 || len(num) != 3 {
			t.Fatalf("PUBSUB NUMSUB: %v %v", num, err)
		}
		if n := c.PubSubNumPat(ctx).Val(); n != 2 {
			t.Fatalf("PUBSUB NUMPAT: %d", n)
		}

		// A second subscriber on the same channel and the same pattern.
		ps2 := c.PSubscribe(ctx, "n*")
		defer ps2.Close()
		wantSub(t, receive(t, ps2), "psubscribe", "n*", 1)
		if n := c.PubSubNumPat(ctx).Val(); n != 2 {
			t.Fatalf("PUBSUB NUMPAT counts unique patterns: %d", n)
		}
		if n := c.Publish(ctx, "news", "again").Val(); n != 3 {
			t.Fatalf("publish to 3 receivers: %d", n)
		}
		wantMsg(t, receive(t, ps2), "n*", "news", "again")

		if err := ps.Ping(ctx, "hi"); err != nil {
			t.Fatal(err)
		}
		if err := ps.Unsubscribe(ctx, "news"); err != nil {
			t.Fatal(err)
		}
		wantMsg(t, receive(t, ps), "", "news", "again")
		wantMsg(t, receive(t, ps), "n*", "news", "again")
		if p, ok := receive(t, ps).(*redis.Pong); !ok || p.Payload != "hi" {
			t.Fatalf("ping while subscribed")
		}
		wantSub(t, receive(t, ps), "unsubscribe", "news", 3)
		num, _ = c.PubSubNumSub(ctx, "news").Result()
		if num["news"] != 0 {
			t.Fatalf("NUMSUB after unsubscribe: %v", num)
		}
		if err := ps.PUnsubscribe(ctx); err != nil {
			t.Fatal(err)
		}
		wantSub(t, receive(t, ps), "punsubscribe", "n*", 2)
		wantSub(t, receive(t, ps), "punsubscribe", "x?", 1)
		if n := c.Publish(ctx, "news", "last").Val(); n != 1 {
			t.Fatalf("publish after punsubscribe: %d", n)
		}
		if n := c.Publish(ctx, "sport", "still").Val(); n != 1 {
			t.Fatalf("publish sport: %d", n)
		}
		wantMsg(t, receive(t, ps), "", "sport", "still")
	})
}

func TestPubSubRESP2Raw(t *testing.T) {
	ts := startServer(t)
	r := dialResp(t, ts.Addr)
	wantRESP(t, r.do(t, "UNSUBSCRIBE"), []any{"unsubscribe", nil, int64(0)})
	wantRESP(t, r.do(t, "PUNSUBSCRIBE"), []any{"punsubscribe", nil, int64(0)})
	wantRESP(t, r.do(t, "SET", "k", "v"), "OK")
	r.send(t, "SUBSCRIBE", "a", "a", "b")
	wantRESP(t, r.reply(t), []any{"subscribe", "a", int64(1)})
	wantRESP(t, r.reply(t), []any{"subscribe", "a", int64(1)})
	wantRESP(t, r.reply(t), []any{"subscribe", "b", int64(2)})
	wantRESP(t, r.do(t, "GET", "k"), respErr("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
	wantRESP(t, r.do(t, "PUBLISH", "a", "x"), respErr("ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
	wantRESP(t, r.do(t, "PING"), []any{"pong", ""})
	wantRESP(t, r.do(t, "PING", "x"), []any{"pong", "x"})
	wantRESP(t, r.do(t, "PSUBSCRIBE", "p*"), []any{"psubscribe", "p*", int64(3)})
	wantRESP(t, r.do(t, "SUBSCRIBE"), respErr("ERR wrong number of arguments for 'subscribe' command"))

	pub := dialResp(t, ts.Addr)
	wantRESP(t, pub.do(t, "PUBLISH", "a", "m1"), int64(1))
	wantRESP(t, r.reply(t), []any{"message", "a", "m1"})
	wantRESP(t, pub.do(t, "PUBLISH", "pa", "m2"), int64(1))
	wantRESP(t, r.reply(t), []any{"pmessage", "p*", "pa", "m2"})

	r.send(t, "UNSUBSCRIBE")
	wantRESP(t, r.reply(t), []any{"unsubscribe", "a", int64(2)})
	wantRESP(t, r.reply(t), []any{"unsubscribe", "b", int64(1)})
	wantRESP(t, r.do(t, "UNSUBSCRIBE", "zzz"), []any{"unsubscribe", "zzz", int64(1)})
	wantRESP(t, r.do(t, "UNSUBSCRIBE"), []any{"unsubscribe", nil, int64(1)})
	wantRESP(t, r.do(t, "PUNSUBSCRIBE"), []any{"punsubscribe", "p*", int64(0)})
	// Out of subscribed mode: normal commands again, replies through redcon.
	wantRESP(t, r.do(t, "GET", "k"), "v")
	wantRESP(t, r.do(t, "PING"), "PONG")
	wantRESP(t, pub.do(t, "PUBLISH", "a", "m3"), int64(0))

	// Subscribe again, then RESET leaves subscribed mode.
	wantRESP(t, r.do(t, "SUBSCRIBE", "c"), []any{"subscribe", "c", int64(1)})
	wantRESP(t, r.do(t, "RESET"), "RESET")
	wantRESP(t, r.do(t, "GET", "k"), "v")
	wantRESP(t, pub.do(t, "PUBSUB", "NUMSUB", "c"), []any{"c", int64(0)})

	// SUBSCRIBE inside MULTI, as Redis allows.
	r.writeRaw(t, []byte("MULTI\r\nSUBSCRIBE x\r\nEXEC\r\n"))
	wantRESP(t, r.reply(t), "OK")
	wantRESP(t, r.reply(t), "QUEUED")
	wantRESP(t, r.reply(t), []any{[]any{"subscribe", "x", int64(1)}})
	wantRESP(t, pub.do(t, "PUBLISH", "x", "after exec"), int64(1))
	wantRESP(t, r.reply(t), []any{"message", "x", "after exec"})
	wantRESP(t, r.do(t, "QUIT"), "OK")
	r.expectClosed(t)
}

func TestPubSubRESP3Raw(t *testing.T) {
	ts := startServer(t)
	r := dialResp(t, ts.Addr)
	r.do(t, "HELLO", "3")
	wantRESP(t, r.do(t, "UNSUBSCRIBE"), respPush{"unsubscribe", nil, int64(0)})
	wantRESP(t, r.do(t, "SUBSCRIBE", "a"), respPush{"subscribe", "a", int64(1)})
	// Any command works while subscribed in RESP3.
	wantRESP(t, r.do(t, "SET", "k", "v"), "OK")
	wantRESP(t, r.do(t, "GET", "k"), "v")
	wantRESP(t, r.do(t, "PING"), "PONG")
	// Publishing to itself: the message comes before the reply, as in Redis.
	r.send(t, "PUBLISH", "a", "self")
	wantRESP(t, r.reply(t), respPush{"message", "a", "self"})
	wantRESP(t, r.reply(t), int64(1))
	// Pipelined: subscribe confirmation first, then the message, then the count.
	r.writeRaw(t, append(respCmd("PSUBSCRIBE", "b*"), respCmd("PUBLISH", "bb", "pipelined")...))
	wantRESP(t, r.reply(t), respPush{"psubscribe", "b*", int64(2)})
	wantRESP(t, r.reply(t), respPush{"pmessage", "b*", "bb", "pipelined"})
	wantRESP(t, r.reply(t), int64(1))

	pub := dialResp(t, ts.Addr)
	wantRESP(t, pub.do(t, "PUBLISH", "a", "from other"), int64(1))
	wantRESP(t, r.reply(t), respPush{"message", "a", "from other"})
	wantRESP(t, pub.do(t, "PUBSUB", "NUMSUB", "a", "b*"), []any{"a", int64(1), "b*", int64(0)})
	wantRESP(t, pub.do(t, "PUBSUB", "NUMPAT"), int64(1))
	wantRESP(t, pub.do(t, "PUBSUB", "CHANNELS"), []any{"a"})

	// HELLO 2 while subscribed: messages become RESP2 arrays.
	r.do(t, "HELLO", "2")
	wantRESP(t, pub.do(t, "PUBLISH", "a", "now resp2"), int64(1))
	wantRESP(t, r.reply(t), []any{"message", "a", "now resp2"})
	wantRESP(t, r.do(t, "GET", "k"), respErr("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
}

func TestPubSubErrors(t *testing.T) {
	ts := startServer(t)
	r := dialResp(t, ts.Addr)
	wantRESP(t, r.do(t, "PUBSUB"), respErr("ERR wrong number of arguments for 'pubsub' command"))
	wantRESP(t, r.do(t, "PUBSUB", "foo"), respErr("ERR unknown subcommand 'foo'. Try PUBSUB HELP."))
	wantRESP(t, r.do(t, "PUBSUB", "CHANNELS", "a", "b"), respErr("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."))
	wantRESP(t, r.do(t, "PUBSUB", "numpat", "x"), respErr("ERR wrong number of arguments for 'pubsub|numpat' command"))
	wantRESP(t, r.do(t, "PUBSUB", "NUMSUB"), []any{})
	wantRESP(t, r.do(t, "PUBSUB", "SHARDCHANNELS"), []any{})
	wantRESP(t, r.do(t, "PUBSUB", "SHARDNUMSUB", "s"), []any{"s", int64(0)})
	wantRESP(t, r.do(t, "PUBLISH", "a"), respErr("ERR wrong number of arguments for 'publish' command"))
	help, ok := r.do(t, "PUBSUB", "HELP").([]any)
	if !ok || len(help) != 14 || help[0] != "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" {
		t.Fatalf("PUBSUB HELP: %#v", help)
	}
}

func TestPubSubGlobPatterns(t *testing.T) {
	ts := startServer(t)
	r := dialResp(t, ts.Addr)
	r.send(t, "PSUBSCRIBE", "news.[ab]*", "h?llo", "esc\\*")
	for i := 1; i <= 3; i++ {
		r.reply(t)
	}
	pub := ts.client(t, 2)
	for _, tc := range []struct {
		ch string
		n  int64
	}{{"news.alpha", 1}, {"news.c", 0}, {"hello", 1}, {"hallo", 1}, {"hllo", 0}, {"esc*", 1}, {"escx", 0}} {
		if n := pub.Publish(ctxT(t), tc.ch, "m").Val(); n != tc.n {
			t.Fatalf("publish %q: %d receivers, want %d", tc.ch, n, tc.n)
		}
		if tc.n > 0 {
			v := r.reply(t).([]any)
			if v[0] != "pmessage" || v[2] != tc.ch {
				t.Fatalf("publish %q delivered %#v", tc.ch, v)
			}
		}
	}
	wantRESP(t, must(t, pub, "PUBSUB", "CHANNELS", "h?llo"), []any{})
}

func TestPubSubDisconnectRemovesSubscriber(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t, 2)
	r := dialResp(t, ts.Addr)
	wantRESP(t, r.do(t, "SUBSCRIBE", "gone"), []any{"subscribe", "gone", int64(1)})
	wantRESP(t, r.do(t, "PSUBSCRIBE", "go*"), []any{"psubscribe", "go*", int64(2)})
	if n := c.PubSubNumSub(ctxT(t), "gone").Val()["gone"]; n != 1 {
		t.Fatalf("NUMSUB before disconnect: %d", n)
	}
	found := 0
	for _, cl := range ts.clientList() {
		if ch, pat := ts.pubsub.counts(cl); ch == 1 && pat == 1 {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("hub.counts: %d clients with 1 channel and 1 pattern", found)
	}
	r.Close()
	eventually(t, "NUMSUB drops to 0", func() bool {
		return c.PubSubNumSub(ctxT(t), "gone").Val()["gone"] == 0 && c.PubSubNumPat(ctxT(t)).Val() == 0
	})
	if n := c.Publish(ctxT(t), "gone", "x").Val(); n != 0 {
		t.Fatalf("publish after disconnect: %d", n)
	}
}

func TestPubSubSlowSubscriberDoesNotBlockPublisher(t *testing.T) {
	ts := startServer(t)
	slow := dialResp(t, ts.Addr)
	wantRESP(t, slow.do(t, "SUBSCRIBE", "firehose"), []any{"subscribe", "firehose", int64(1)})
	// The slow subscriber never reads again. A healthy one keeps up.
	fast := dialResp(t, ts.Addr)
	wantRESP(t, fast.do(t, "SUBSCRIBE", "firehose"), []any{"subscribe", "firehose", int64(1)})
	msg := strings.Repeat("x", 256<<10)
	const total = 400 // 100MB: far past socket buffers and the 32MB queue limit
	var got int
	var readErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for got < total {
			v, err := fast.readTimeout(20 * time.Second)
			if err != nil {
				readErr = err
				return
			}
			if a, ok := v.([]any); !ok || len(a) != 3 || a[2] != msg {
				readErr = fmt.Errorf("unexpected frame %.60q", fmt.Sprint(v))
				return
			}
			got++
		}
	}()

	c := ts.client(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	for i := 0; i < total; i++ {
		if err := c.Publish(ctx, "firehose", msg).Err(); err != nil {
			t.Fatalf("publish %d: %v (after %v)", i, err, time.Since(start))
		}
	}
	wg.Wait()
	if readErr != nil || got != total {
		t.Fatalf("healthy subscriber got %d/%d messages: %v", got, total, readErr)
	}
	// The slow subscriber was disconnected; only the healthy one remains.
	eventually(t, "slow subscriber dropped", func() bool {
		return c.PubSubNumSub(ctxT(t), "firehose").Val()["firehose"] == 1
	})
	wantRESP(t, must(t, c, "PING"), "PONG")
}

func TestPubSubStuckSubscriberTimesOut(t *testing.T) {
	old := pushWriteTimeout
	pushWriteTimeout = 300 * time.Millisecond
	defer func() { pushWriteTimeout = old }()
	ts := startServer(t)
	stuck := dialResp(t, ts.Addr)
	_ = stuck.Conn.(*net.TCPConn).SetReadBuffer(4096)
	wantRESP(t, stuck.do(t, "SUBSCRIBE", "slow"), []any{"subscribe", "slow", int64(1)})
	c := ts.client(t, 2)
	msg := strings.Repeat("s", 512<<10)
	for i := 0; i < 20; i++ { // 10MB: more than the socket buffers, less than the queue limit
		if n := c.Publish(ctxT(t), "slow", msg).Val(); n != 1 {
			break // already dropped
		}
	}
	eventually(t, "stuck subscriber dropped", func() bool {
		return c.PubSubNumSub(ctxT(t), "slow").Val()["slow"] == 0
	})
}

func TestPubSubConcurrent(t *testing.T) {
	ts := startServer(t)
	const subs, pubs, each = 4, 4, 200
	var ready, done sync.WaitGroup
	counts := make([]int, subs)
	for i := 0; i < subs; i++ {
		r := dialResp(t, ts.Addr)
		r.send(t, "SUBSCRIBE", "c1", "c2")
		r.reply(t)
		r.reply(t)
		ready.Add(1)
		done.Add(1)
		go func(i int, r *respConn) {
			defer done.Done()
			ready.Done()
			for counts[i] < pubs*each*2 {
				if _, err := r.readTimeout(20 * time.Second); err != nil {
					return
				}
				counts[i]++
			}
		}(i, r)
	}
	ready.Wait()
	var pw sync.WaitGroup
	for p := 0; p < pubs; p++ {
		pw.Add(1)
		go func() {
			defer pw.Done()
			c := ts.client(t, 3)
			for j := 0; j < each; j++ {
				for _, ch := range []string{"c1", "c2"} {
					if n, err := c.Publish(context.Background(), ch, "m").Result(); err != nil || n != subs {
						t.Errorf("publish: %d %v", n, err)
						return
					}
				}
			}
		}()
	}
	pw.Wait()
	done.Wait()
	for i, n := range counts {
		if n != pubs*each*2 {
			t.Fatalf("subscriber %d got %d messages, want %d", i, n, pubs*each*2)
		}
	}
}
