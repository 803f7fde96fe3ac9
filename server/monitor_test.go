package server

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMonitor checks MONITOR's lines against what redis-server 7.0 prints for the same
// commands: what is shown, in which order, with which database and quoting.
func TestMonitor(t *testing.T) {
	ts := startServer(t)
	mon := admDial(t, ts.Addr)
	mon.send(t, "monitor")
	if got := mon.line(t); got != "+OK" {
		t.Fatalf("MONITOR = %q", got)
	}
	c := dialResp(t, ts.Addr)
	addr := c.LocalAddr().String()
	for _, args := range [][]string{
		{"set", "k", "v"},
		{"set", "q", "a\"b\\c\n\x01\xff"},
		{"nosuch", "x"},                 // refused: not shown
		{"get"},                         // refused: not shown
		{"config", "get", "maxclients"}, // admin: not shown
		{"client", "foo"},               // unknown subcommand: not shown
		{"client", "setname", "nm"},
		{"auth", "secret"},
		{"hello", "2", "auth", "user", "secret"},
		{"lpush", "k", "x"}, // WRONGTYPE, but it ran
		{"multi"}, {"set", "m", "1"}, {"incr", "m"}, {"exec"},
		{"select", "2"}, {"set", "indb2", "1"},
	} {
		c.do(t, args...)
	}
	c.writeRaw(t, append(respCmd("set", "p1", "1"), respCmd("SET", "p2", "2")...))
	c.reply(t)
	c.reply(t)
	if got := fmt.Sprint(c.do(t, "client", "list")); !strings.Contains(got, "flags=O") {
		t.Fatalf("CLIENT LIST shows no monitor: %s", got)
	}
	want := []string{
		`[0 A] "set" "k" "v"`,
		`[0 A] "set" "q" "a\"b\\c\n\x01\xff"`,
		`[0 A] "client" "setname" "nm"`,
		`[0 A] "auth" "(redacted)"`,
		`[0 A] "hello" "2" "auth" "(redacted)" "(redacted)"`,
		`[0 A] "lpush" "k" "x"`,
		`[0 A] "multi"`, `[0 A] "set" "m" "1"`, `[0 A] "incr" "m"`, `[0 A] "exec"`,
		`[2 A] "select" "2"`, `[2 A] "set" "indb2" "1"`,
		`[2 A] "set" "p1" "1"`, `[2 A] "SET" "p2" "2"`,
	}
	stamp := regexp.MustCompile(`^\+\d{10}\.\d{6} `)
	for i, w := range want {
		got := mon.line(t)
		if !stamp.MatchString(got) {
			t.Fatalf("line %d %q has no timestamp", i, got)
		}
		if got, w := got[len("+1700000000.000000 "):], strings.Replace(w, "A", addr, 1); got != w {
			t.Fatalf("line %d = %s, want %s", i, got, w)
		}
	}

	// The monitor's own commands: those that touch no data run and are shown after
	// their reply; the others are refused.
	mon.send(t, "ping")
	if got := mon.line(t); got != "+PONG" {
		t.Fatalf("PING from the monitor = %q", got)
	}
	if got := mon.line(t); !strings.HasSuffix(got, `] "ping"`) {
		t.Fatalf("the monitor's PING shown as %q", got)
	}
	for _, args := range [][]string{{"get", "k"}, {"publish", "ch", "m"}, {"memory", "usage", "k"}} {
		mon.send(t, args...)
		if got := mon.line(t); got != "-"+errMonitorKeyspace {
			t.Fatalf("%v from the monitor = %q", args, got)
		}
	}
	mon.send(t, "reset")
	if got := mon.line(t); got != "+RESET" {
		t.Fatalf("RESET = %q", got)
	}
	c.do(t, "set", "after", "1") // not shown any more: the next line is GET's reply
	mon.send(t, "get", "k")
	if got := mon.line(t); got != "$1" {
		t.Fatalf("after RESET, GET from the old monitor = %q", got)
	}
}

// MONITOR inside MULTI is refused as Redis refuses it; a second MONITOR gets no
// reply; a monitor that disconnects is forgotten.
func TestMonitorEdges(t *testing.T) {
	ts := startServer(t)
	c := dialResp(t, ts.Addr)
	c.do(t, "multi")
	c.do(t, "monitor")
	if got := fmt.Sprint(c.do(t, "exec")); got != "[ERR MONITOR isn't allowed for DENY BLOCKING client]" {
		t.Fatalf("EXEC of MONITOR = %s", got)
	}
	mon := dialResp(t, ts.Addr)
	mon.do(t, "monitor")
	mon.send(t, "monitor")
	if v, err := mon.readTimeout(200 * time.Millisecond); err == nil {
		t.Fatalf("a second MONITOR was answered: %v", v)
	}
	if n := ts.monitors.n.Load(); n != 1 {
		t.Fatalf("%d monitors registered, want 1", n)
	}

	// A blocking command is shown when it starts, before the write that wakes it.
	c.send(t, "blpop", "list", "5")
	ltWaitBlocked(t, ts, 1)
	other := dialResp(t, ts.Addr)
	other.do(t, "lpush", "list", "x")
	if got := fmt.Sprint(c.reply(t)); got != "[list x]" {
		t.Fatalf("BLPOP = %s", got)
	}
	for _, w := range []string{`"blpop" "list" "5"`, `"lpush" "list" "x"`} {
		if got, err := mon.readTimeout(5 * time.Second); err != nil || !strings.HasSuffix(fmt.Sprint(got), w) {
			t.Fatalf("monitor line %v, %v; want one ending %s", got, err, w)
		}
	}

	mon.Close()
	waitFor(t, "the closed monitor forgotten", 5*time.Second, func() bool { return ts.monitors.n.Load() == 0 })
	c.do(t, "set", "k", "v")
}
