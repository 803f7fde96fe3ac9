package server

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The latency monitor, as Redis's: with server.latency_monitor_threshold set, every
// event that takes at least that long is sampled into its event's series of the last
// 160 seconds with a spike (the worst per second), and the worst ever is kept.
// Events: "command" and "fast-command" (commands flagged fast) for the time a command
// ran (a blocking command's wait left out), "binlog-fsync" for an fsync of the binlog. LATENCY LATEST, HISTORY, RESET and
// DOCTOR read them.

const latencySeriesLen = 160 // LATENCY_TS_LEN

type latencySample struct {
	unix int64
	ms   int64
}

type latencySeries struct {
	samples [latencySeriesLen]latencySample
	idx     int // next slot
	max     int64
}

type latencyMonitor struct {
	threshold atomic.Int64 // milliseconds; 0 disables

	mu     sync.Mutex
	events map[string]*latencySeries
}

// setThreshold applies server.latency_monitor_threshold (at start and on CONFIG SET).
func (m *latencyMonitor) setThreshold(d time.Duration) { m.threshold.Store(d.Milliseconds()) }

// reaches reports whether an event of duration d is to be sampled.
func (m *latencyMonitor) reaches(d time.Duration) bool {
	th := m.threshold.Load()
	return th != 0 && d.Milliseconds() >= th
}

// maybeAdd samples event if it took at least the threshold.
func (m *latencyMonitor) maybeAdd(event string, d time.Duration) {
	if m.reaches(d) {
		m.add(event, d.Milliseconds(), time.Now().Unix())
	}
}

func (m *latencyMonitor) add(event string, ms, now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events == nil {
		m.events = map[string]*latencySeries{}
	}
	ts := m.events[event]
	if ts == nil {
		ts = &latencySeries{}
		m.events[event] = ts
	}
	ts.max = max(ts.max, ms)
	prev := &ts.samples[(ts.idx+latencySeriesLen-1)%latencySeriesLen]
	if prev.unix == now {
		prev.ms = max(prev.ms, ms)
		return
	}
	ts.samples[ts.idx] = latencySample{unix: now, ms: ms}
	ts.idx = (ts.idx + 1) % latencySeriesLen
}

// history returns an event's samples, oldest first.
func (ts *latencySeries) history() []latencySample {
	var out []latencySample
	for j := 0; j < latencySeriesLen; j++ {
		if s := ts.samples[(ts.idx+j)%latencySeriesLen]; s.unix != 0 {
			out = append(out, s)
		}
	}
	return out
}

func (m *latencyMonitor) names() []string {
	names := make([]string, 0, len(m.events))
	for name := range m.events {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func latencyCommand() *Command {
	f := FlagAdmin | FlagNoScript | FlagStale
	return container(&Command{Name: "latency", Flags: f, Group: "server",
		Summary: "A container for latency diagnostics commands.", Since: "2.8.13"},
		&Command{Name: "latest", Arity: 2, Flags: f, Handler: cmdLatencyLatest,
			Summary: "Returns the latest latency samples for all events.", Since: "2.8.13"},
		&Command{Name: "history", Arity: 3, Flags: f, Handler: cmdLatencyHistory,
			Summary: "Returns timestamp-latency samples for an event.", Since: "2.8.13"},
		&Command{Name: "reset", Arity: -2, Flags: f, Handler: cmdLatencyReset,
			Summary: "Resets the latency data for one or more events.", Since: "2.8.13"},
		&Command{Name: "doctor", Arity: 2, Flags: f, Handler: cmdLatencyDoctor,
			Summary: "Returns a human-readable latency analysis report.", Since: "2.8.13"},
	)
}

func cmdLatencyLatest(c *Ctx) {
	m := c.srv.latency
	m.mu.Lock()
	defer m.mu.Unlock()
	c.W.Array(len(m.events))
	for _, name := range m.names() {
		ts := m.events[name]
		last := ts.samples[(ts.idx+latencySeriesLen-1)%latencySeriesLen]
		c.W.Array(4)
		c.W.BulkString(name)
		c.W.Int(last.unix)
		c.W.Int(last.ms)
		c.W.Int(ts.max)
	}
}

func cmdLatencyHistory(c *Ctx) {
	m := c.srv.latency
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := m.events[string(c.Args[2])]
	if ts == nil {
		c.W.Array(0)
		return
	}
	h := ts.history()
	c.W.Array(len(h))
	for _, s := range h {
		c.W.Array(2)
		c.W.Int(s.unix)
		c.W.Int(s.ms)
	}
}

func cmdLatencyReset(c *Ctx) {
	m := c.srv.latency
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	if len(c.Args) == 2 {
		n = len(m.events)
		m.events = nil
	}
	for _, name := range c.Args[2:] {
		if _, ok := m.events[string(name)]; ok {
			delete(m.events, string(name))
			n++
		}
	}
	c.W.Int(int64(n))
}

func cmdLatencyDoctor(c *Ctx) {
	m := c.srv.latency
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	switch {
	case len(m.events) == 0 && m.threshold.Load() == 0:
		b.WriteString("Latency monitoring is disabled. Use CONFIG SET latency-monitor-threshold <milliseconds> " +
			"to sample every event that takes at least that long.\n")
	case len(m.events) == 0:
		b.WriteString("No latency spike was observed since the server started.\n")
	default:
		b.WriteString("Latency spikes observed (events of at least the latency-monitor-threshold):\n\n")
		for i, name := range m.names() {
			ts := m.events[name]
			h := ts.history()
			var sum int64
			for _, s := range h {
				sum += s.ms
			}
			avg := int64(0)
			if len(h) > 0 {
				avg = sum / int64(len(h))
			}
			fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms). Worst all time event %dms.\n",
				i+1, name, len(h), avg, ts.max)
		}
		b.WriteString("\nSLOWLOG names the commands; \"binlog-fsync\" spikes come from the disk the binlog is on.\n")
	}
	c.W.Verbatim(b.String())
}
