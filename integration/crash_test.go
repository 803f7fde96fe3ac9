package integration

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ackedOp is a write the server acknowledged.
type ackedOp struct {
	kind int
	i    int
	at   time.Time
}

const opKinds = 6

// writer performs writes of every type on keys of its own until ctx ends, recording
// what was acknowledged. A write in flight when the server dies is not recorded.
func writer(ctx context.Context, c *redis.Client, ns string, acked *[]ackedOp, attempted *int) {
	for i := 0; ctx.Err() == nil; i++ {
		kind := i % opKinds
		*attempted = i
		var err error
		switch kind {
		case 0:
			err = c.Set(ctx, fmt.Sprintf("s:%s:%d", ns, i), "v"+strconv.Itoa(i), 0).Err()
		case 1:
			err = c.HSet(ctx, "h:"+ns, "f"+strconv.Itoa(i), "v"+strconv.Itoa(i)).Err()
		case 2:
			err = c.RPush(ctx, "l:"+ns, "v"+strconv.Itoa(i)).Err()
		case 3:
			err = c.SAdd(ctx, "set:"+ns, "m"+strconv.Itoa(i)).Err()
		case 4:
			err = c.ZAdd(ctx, "z:"+ns, redis.Z{Score: float64(i), Member: "m" + strconv.Itoa(i)}).Err()
		case 5:
			_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, fmt.Sprintf("ma:%s:%d", ns, i), "x", 0)
				p.Set(ctx, fmt.Sprintf("mb:%s:%d", ns, i), "x", 0)
				p.Incr(ctx, "mc:"+ns)
				return nil
			})
		}
		if err != nil {
			return
		}
		*acked = append(*acked, ackedOp{kind: kind, i: i, at: time.Now()})
	}
}

// verify checks that every acknowledged write acked before cutoff is present with its
// value, and that no MULTI is half-visible.
func verify(t *testing.T, c *redis.Client, ns string, acked []ackedOp, attempted int, cutoff time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	list, err := c.LRange(ctx, "l:"+ns, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	inList := map[string]int{}
	for pos, v := range list {
		inList[v] = pos
	}
	lastPos := -1
	multis := 0
	for _, op := range acked {
		if op.at.After(cutoff) {
			continue
		}
		v := "v" + strconv.Itoa(op.i)
		m := "m" + strconv.Itoa(op.i)
		switch op.kind {
		case 0:
			got, err := c.Get(ctx, fmt.Sprintf("s:%s:%d", ns, op.i)).Result()
			if err != nil || got != v {
				t.Fatalf("%s: acknowledged SET %d lost (%q, %v)", ns, op.i, got, err)
			}
		case 1:
			got, err := c.HGet(ctx, "h:"+ns, "f"+strconv.Itoa(op.i)).Result()
			if err != nil || got != v {
				t.Fatalf("%s: acknowledged HSET %d lost (%q, %v)", ns, op.i, got, err)
			}
		case 2:
			pos, ok := inList[v]
			if !ok || pos <= lastPos {
				t.Fatalf("%s: acknowledged RPUSH %d lost or out of order", ns, op.i)
			}
			lastPos = pos
		case 3:
			if ok, err := c.SIsMember(ctx, "set:"+ns, m).Result(); err != nil || !ok {
				t.Fatalf("%s: acknowledged SADD %d lost", ns, op.i)
			}
		case 4:
			score, err := c.ZScore(ctx, "z:"+ns, m).Result()
			if err != nil || score != float64(op.i) {
				t.Fatalf("%s: acknowledged ZADD %d lost (%v, %v)", ns, op.i, score, err)
			}
		case 5:
			multis++
		}
	}
	// MULTI: each transaction's keys are all there or all missing, acknowledged ones all there.
	ackedMulti := map[int]bool{}
	for _, op := range acked {
		if op.kind == 5 && !op.at.After(cutoff) {
			ackedMulti[op.i] = true
		}
	}
	present := 0
	for i := 5; i <= attempted; i += opKinds {
		a, _ := c.Exists(ctx, fmt.Sprintf("ma:%s:%d", ns, i)).Result()
		b, _ := c.Exists(ctx, fmt.Sprintf("mb:%s:%d", ns, i)).Result()
		if a != b {
			t.Fatalf("%s: MULTI %d is half-visible (ma=%d mb=%d)", ns, i, a, b)
		}
		if ackedMulti[i] && a == 0 {
			t.Fatalf("%s: acknowledged MULTI %d lost", ns, i)
		}
		present += int(a)
	}
	counter, _ := c.Get(ctx, "mc:"+ns).Int()
	if counter != present {
		t.Fatalf("%s: MULTI counter %d but %d transactions visible", ns, counter, present)
	}
	_ = multis
}

func crashRounds(t *testing.T, policy string, rounds int, window time.Duration) {
	p := newProc(t, fmt.Sprintf("[binlog]\nsync = %q\nmax_file_size = \"256KB\"\n", policy))
	p.start()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < rounds; round++ {
		const writers = 20
		ctx, cancel := context.WithCancel(context.Background())
		acked := make([][]ackedOp, writers)
		attempted := make([]int, writers)
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				c := p.client()
				defer c.Close()
				writer(ctx, c, fmt.Sprintf("r%dw%d", round, w), &acked[w], &attempted[w])
			}(w)
		}
		time.Sleep(300*time.Millisecond + time.Duration(rng.Int63n(int64(900*time.Millisecond))))
		killedAt := time.Now()
		p.kill9()
		cancel()
		wg.Wait()
		p.start()
		c := p.client()
		total := 0
		for w := 0; w < writers; w++ {
			total += len(acked[w])
			verify(t, c, fmt.Sprintf("r%dw%d", round, w), acked[w], attempted[w], killedAt.Add(-window))
		}
		c.Close()
		if total == 0 {
			t.Fatalf("round %d: no write was acknowledged before the kill", round)
		}
		t.Logf("round %d: %d acknowledged writes checked after SIGKILL", round, total)
	}
}

// With sync=always every acknowledged write survives SIGKILL, and no MULTI is
// half-visible, across several kill points.
func TestCrashSyncAlways(t *testing.T) { crashRounds(t, "always", 3, 0) }

// With sync=everysec the server restarts clean and loses at most the last second.
func TestCrashSyncEverySec(t *testing.T) { crashRounds(t, "everysec", 2, 1100*time.Millisecond) }
