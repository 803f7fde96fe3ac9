package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tcpProxy is a user-space TCP proxy for a replication link. It can stall the link
// (stop forwarding in both directions, leaving connections open), drop it (close
// every connection, both sides) and delay it (hold each chunk for a fixed one-way
// latency, without limiting how many chunks are in flight: a long fat pipe, not a
// slow one).
type tcpProxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   map[*proxyConn]struct{}
	open    chan struct{} // closed while the link forwards; replaced by stall
	delay   time.Duration
	closed  bool
	accepts atomic.Int64
}

type proxyConn struct {
	a, b net.Conn
	once sync.Once
	done chan struct{}
}

func (pc *proxyConn) close() {
	pc.once.Do(func() {
		close(pc.done)
		pc.a.Close()
		pc.b.Close()
	})
}

func newProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, ln: ln, target: target, conns: map[*proxyConn]struct{}{}, open: make(chan struct{})}
	close(p.open)
	go p.acceptLoop()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) acceptLoop() {
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			a.Close()
			continue
		}
		pc := &proxyConn{a: a, b: b, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pc.close()
			return
		}
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		p.accepts.Add(1)
		go p.pipe(pc, a, b)
		go p.pipe(pc, b, a)
	}
}

type chunk struct {
	data []byte
	due  time.Time
}

// gate returns once the link forwards (or the connection is closed: false).
func (p *tcpProxy) gate(pc *proxyConn) bool {
	for {
		p.mu.Lock()
		open := p.open
		p.mu.Unlock()
		select {
		case <-open:
			// A stall may have begun between reading p.open and now: check again.
			p.mu.Lock()
			same := p.open == open
			p.mu.Unlock()
			if same {
				return true
			}
		case <-pc.done:
			return false
		}
	}
}

// pipe copies src to dst: a reader that timestamps chunks and a writer that holds
// each until its due time. Both stop while the link is stalled.
func (p *tcpProxy) pipe(pc *proxyConn, src, dst net.Conn) {
	defer pc.close()
	ch := make(chan chunk, 256)
	go func() {
		defer pc.close()
		for {
			select {
			case c, ok := <-ch:
				if !ok {
					return
				}
				if d := time.Until(c.due); d > 0 {
					select {
					case <-time.After(d):
					case <-pc.done:
						return
					}
				}
				if !p.gate(pc) {
					return
				}
				if _, err := dst.Write(c.data); err != nil {
					return
				}
			case <-pc.done:
				return
			}
		}
	}()
	defer close(ch)
	buf := make([]byte, 64<<10)
	for {
		if !p.gate(pc) {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			c := chunk{data: append([]byte(nil), buf[:n]...), due: time.Now().Add(d)}
			select {
			case ch <- c:
			case <-pc.done:
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// stall stops forwarding in both directions; connections stay open.
func (p *tcpProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
}

// resume forwards again.
func (p *tcpProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// drop closes every connection (both sides); new connections are still accepted.
func (p *tcpProxy) drop() {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[*proxyConn]struct{}{}
	p.mu.Unlock()
	for pc := range conns {
		pc.close()
	}
}

// setDelay sets the one-way latency added to every chunk.
func (p *tcpProxy) setDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

func (p *tcpProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.resume()
	p.drop()
}

// burst runs clients goroutines each doing n sequential SETs of a size-byte value and
// returns the total time and the slowest single write.
func burst(t testing.TB, p *proc, prefix string, clients, n, size int) (time.Duration, time.Duration) {
	t.Helper()
	val := make([]byte, size)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var worst time.Duration
	var firstErr error
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := p.client()
			defer c.Close()
			ctx := context.Background()
			local := time.Duration(0)
			for i := 0; i < n; i++ {
				s := time.Now()
				if err := c.Set(ctx, fmt.Sprintf("%s:%d:%d", prefix, w, i), val, 0).Err(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if d := time.Since(s); d > local {
					local = d
				}
			}
			mu.Lock()
			if local > worst {
				worst = local
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("burst %s: %v", prefix, firstErr)
	}
	return time.Since(start), worst
}

// The master's clients never wait for a stalled follower link; a stalled, dropped or
// timed-out link is reconnected and the follower catches up.
func TestReplProxyStallDrop(t *testing.T) {
	t.Parallel()
	m := replProc(t, "", "repl_timeout = \"2s\"", "")
	m.start()
	mc := m.quick(t)
	writeAllTypes(t, mc, "a", 20)
	px := newProxy(t, m.addr)
	f := replProc(t, px.addr(), "repl_timeout = \"2s\"", "")
	f.start()
	caughtUp(t, 20*time.Second, m, f)
	fc := f.quick(t)

	const clients, n, size = 8, 1500, 1024 // 12MB: more than the socket buffers hold
	base, baseWorst := burst(t, m, "base", clients, n, size)
	caughtUp(t, 20*time.Second, m, f)

	px.stall()
	before, _ := appliedID(fc)
	stalled, stalledWorst := burst(t, m, "stalled", clients, n, size)
	after, _ := appliedID(fc)
	last, _ := lastID(mc)
	t.Logf("burst of %d SETs of %dB: %s (slowest %s) with the link up, %s (slowest %s) with it stalled; follower applied %d -> %d, master at %d",
		clients*n, size, base.Round(time.Millisecond), baseWorst.Round(time.Millisecond),
		stalled.Round(time.Millisecond), stalledWorst.Round(time.Millisecond), before, after, last)
	if after >= last {
		t.Fatalf("the follower kept up although the link was stalled (applied %d, master %d): the proxy does not stall", after, last)
	}
	if stalled > 3*base+time.Second || stalledWorst > 2*time.Second {
		t.Fatalf("master writes slowed down by a stalled follower link: %s vs %s, slowest write %s", stalled, base, stalledWorst)
	}
	px.resume()
	caughtUp(t, 30*time.Second, m, f)
	ok0 := infoInt(t, mc, "stats", "sync_partial_ok")

	// Drop the link under writes: the follower reconnects and resumes partially.
	stop := background(t, m, "drop", load{clients: 2, size: 100, depth: 10})
	time.Sleep(200 * time.Millisecond)
	px.drop()
	time.Sleep(300 * time.Millisecond)
	px.drop()
	time.Sleep(300 * time.Millisecond)
	stop()
	caughtUp(t, 30*time.Second, m, f)
	if got := infoInt(t, mc, "stats", "sync_partial_ok"); got < ok0+1 {
		t.Fatalf("after drops: sync_partial_ok %d -> %d", ok0, got)
	}
	ok1 := infoInt(t, mc, "stats", "sync_partial_ok")

	// Stall past repl_timeout: the follower gives up on the silent link and reconnects
	// once the link forwards again.
	acc := px.accepts.Load()
	px.stall()
	writeAllTypes(t, mc, "during-long-stall", 10)
	time.Sleep(3500 * time.Millisecond)
	px.resume()
	caughtUp(t, 30*time.Second, m, f)
	if px.accepts.Load() == acc {
		t.Fatal("the follower did not reconnect after its link was silent past repl_timeout")
	}
	if got := infoInt(t, mc, "stats", "sync_partial_ok"); got < ok1+1 {
		t.Fatalf("after a long stall: sync_partial_ok %d -> %d", ok1, got)
	}
	if got := infoInt(t, mc, "stats", "sync_full"); got != 1 {
		t.Fatalf("sync_full = %d: a reconnect was a full sync", got)
	}
	sameData(t, m, f)
}

// Throughput over a 50ms-RTT link is not bounded by the round trip: records are
// pushed without waiting for acknowledgements. Two figures, each with and without the
// added latency: the rate at which the follower applies records during a sustained
// write burst (it should keep up with the master), and the rate at which it catches
// up on a backlog of records once a stalled link forwards again.
func TestReplProxyLatencyThroughput(t *testing.T) {
	m := replProc(t, "", "", "")
	m.start()
	mc := m.quick(t)
	px := newProxy(t, m.addr)
	f := replProc(t, px.addr(), "", "")
	f.start()
	caughtUp(t, 20*time.Second, m, f)
	fc := f.quick(t)

	sustained := func(label string) (master, follower float64) {
		stop := background(t, m, "sus", load{clients: 8, size: 100, depth: 1, keys: 2000})
		time.Sleep(500 * time.Millisecond)
		a0, _ := appliedID(fc)
		m0, _ := lastID(mc)
		t0 := time.Now()
		time.Sleep(2 * time.Second)
		a1, _ := appliedID(fc)
		m1, _ := lastID(mc)
		dt := time.Since(t0).Seconds()
		stop()
		caughtStart := time.Now()
		caughtUp(t, 60*time.Second, m, f)
		master, follower = float64(m1-m0)/dt, float64(a1-a0)/dt
		t.Logf("%s, sustained writes: master wrote %.0f records/s, follower applied %.0f records/s; lag at the end %d records, caught up %s after the writes stopped",
			label, master, follower, m1-a1, time.Since(caughtStart).Round(time.Millisecond))
		return master, follower
	}
	backlog := func(label string) float64 {
		px.stall()
		stop := background(t, m, "bk", load{clients: 8, size: 100, depth: 1, keys: 2000})
		start, _ := appliedID(fc)
		eventually(t, 30*time.Second, "a backlog of 20000 records", func() (bool, string) {
			last, err := lastID(mc)
			return err == nil && last-start >= 20000, fmt.Sprintf("last=%d applied=%d", last, start)
		})
		stop()
		last, _ := lastID(mc)
		t0 := time.Now()
		px.resume()
		caughtUp(t, 60*time.Second, m, f)
		dt := time.Since(t0)
		rate := float64(last-start) / dt.Seconds()
		t.Logf("%s, backlog: %d records caught up in %s: %.0f records/s", label, last-start, dt.Round(time.Millisecond), rate)
		return rate
	}
	dm, df := sustained("no added latency")
	db := backlog("no added latency")

	px.setDelay(25 * time.Millisecond)
	// Measure the round trip through the proxy with a client of its own.
	pcl := (&proc{addr: px.addr()}).client()
	defer pcl.Close()
	var rtts []time.Duration
	for i := 0; i < 5; i++ {
		s := time.Now()
		if err := pcl.Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(s))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	rtt := rtts[len(rtts)/2]
	if rtt < 45*time.Millisecond {
		t.Fatalf("RTT through the proxy is %s, want about 50ms", rtt)
	}
	label := rtt.Round(time.Millisecond).String() + " RTT"
	lm, lf := sustained(label)
	lb := backlog(label)
	t.Logf("replication throughput: sustained %.0f/%.0f records/s (master/follower) direct, %.0f/%.0f over %s; backlog %.0f records/s direct, %.0f over %s (%.0f records per round trip)",
		dm, df, lm, lf, label, db, lb, label, lb*rtt.Seconds())
	// The follower keeps up with the master over the slow link.
	if lf < 0.7*lm {
		t.Fatalf("over %s the follower applied %.0f records/s while the master wrote %.0f", label, lf, lm)
	}
	// A link waiting for an acknowledgement per record would manage 1/RTT = 20 records/s,
	// per batch of 4096 about 80000; require well over a thousand per round trip.
	if per := lb * rtt.Seconds(); per < 1000 {
		t.Fatalf("catching up over %s: %.0f records/s, only %.0f records per round trip", label, lb, per)
	}
	sameData(t, m, f)
}
