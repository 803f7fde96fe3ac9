package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func stillWaiting(t *testing.T, ch <-chan ltResult, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s ran during the pause: %v %v", what, r.v, r.err)
	case <-time.After(200 * time.Millisecond):
	}
}

func blockedClients(t *testing.T, c *redis.Client) int {
	t.Helper()
	n, _ := strconv.Atoi(admParseInfo(t, c.Info(ctxT(t), "clients").Val())["clients"]["blocked_clients"])
	return n
}

// CLIENT PAUSE WRITE holds writes, PUBLISH, EXEC of queued writes and background
// expiry; reads go on. CLIENT UNPAUSE lets everything held run.
func TestClientPauseWrite(t *testing.T) {
	ts := startServer(t)
	admin := ts.client(t, 2)
	other := ts.client(t, 2)
	must(t, admin, "set", "k", "v0")
	must(t, admin, "set", "short", "1", "px", "50")
	tx := other.Conn()
	defer tx.Close()
	must(t, admin, "multi")
	if got := tx.Do(ctxT(t), "multi").Val(); got != "OK" {
		t.Fatalf("MULTI = %v", got)
	}
	if got := tx.Do(ctxT(t), "set", "k", "from-exec").Val(); got != "QUEUED" {
		t.Fatalf("SET in MULTI = %v", got)
	}
	must(t, admin, "discard")

	must(t, admin, "client", "pause", "60000", "write")
	if got := must(t, other, "get", "k"); got != "v0" {
		t.Fatalf("GET during a write pause = %v", got)
	}
	set := doAsync(t, other, "set", "k", "v1")
	pub := doAsync(t, other, "publish", "ch", "m")
	exec := doAsync(t, tx, "exec")
	stillWaiting(t, set, "SET")
	stillWaiting(t, pub, "PUBLISH")
	stillWaiting(t, exec, "EXEC of a queued SET")
	if n := blockedClients(t, admin); n != 3 {
		t.Fatalf("blocked_clients = %d during the pause, want 3", n)
	}
	// The expired key reads as missing but is not deleted while writes are paused.
	if got := must(t, admin, "exists", "short"); got != int64(0) {
		t.Fatalf("EXISTS of an expired key = %v", got)
	}
	time.Sleep(300 * time.Millisecond)
	if got := must(t, admin, "dbsize"); got != int64(2) {
		t.Fatalf("DBSIZE = %v during the pause: background expiry ran", got)
	}

	must(t, admin, "client", "unpause")
	ltAwait(t, set, "OK")
	ltAwait(t, pub, int64(0))
	ltAwait(t, exec, []any{"OK"})
	if n := blockedClients(t, admin); n != 0 {
		t.Fatalf("blocked_clients = %d after the pause", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for must(t, admin, "dbsize") != int64(1) {
		if time.Now().After(deadline) {
			t.Fatal("the expired key was not removed after the pause")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CLIENT PAUSE ALL holds every command, CLIENT UNPAUSE included, until the timeout.
func TestClientPauseAllTimesOut(t *testing.T) {
	ts := startServer(t)
	admin := ts.client(t, 2)
	other := ts.client(t, 3)
	must(t, admin, "client", "pause", "400")
	start := time.Now()
	ping := doAsync(t, other, "ping")
	unpause := doAsync(t, other, "client", "unpause")
	ltAwait(t, ping, "PONG")
	ltAwait(t, unpause, "OK")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("PING answered after %v of a 400ms pause", d)
	}
	// Over: commands run at once again.
	start = time.Now()
	must(t, other, "set", "a", "1")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("SET took %v after the pause ended", d)
	}
}

func TestClientPauseErrors(t *testing.T) {
	bothProtocols(t, func(t *testing.T, c *redis.Client) {
		mustErr(t, c, "ERR timeout is not an integer or out of range", "client", "pause", "abc")
		mustErr(t, c, "ERR timeout is not an integer or out of range", "client", "pause", "99999999999999999999")
		mustErr(t, c, "ERR timeout is negative", "client", "pause", "-1")
		mustErr(t, c, "ERR CLIENT PAUSE mode must be WRITE or ALL", "client", "pause", "100", "foo")
		mustErr(t, c, "ERR wrong number of arguments for 'client|pause' command", "client", "pause")
		mustErr(t, c, "ERR wrong number of arguments for 'client|unpause' command", "client", "unpause", "x")
		mustErr(t, c, "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.",
			"client", "pause", "10", "write", "extra")
		// A zero timeout pauses nothing; UNPAUSE without a pause is fine.
		must(t, c, "client", "pause", "0")
		must(t, c, "set", "k", "v")
		must(t, c, "client", "unpause")
	})
}

// A later pause keeps the later deadline and takes the newer mode, as in Redis.
func TestPauserExtends(t *testing.T) {
	var p pauser
	var calls []bool
	p.onChange = func(on bool) { calls = append(calls, on) }
	now := time.Now()
	p.pause(pauseWrite, now.Add(time.Hour))
	p.pause(pauseAll, now.Add(time.Millisecond))
	if m, _ := p.state(); m != pauseAll {
		t.Fatalf("mode %v, want all", m)
	}
	if !p.until.Equal(now.Add(time.Hour)) {
		t.Fatalf("deadline %v, want the later one", p.until)
	}
	_, ch := p.state()
	p.unpause()
	select {
	case <-ch:
	default:
		t.Fatal("unpause did not wake the waiters")
	}
	if m, _ := p.state(); m != pauseNone || p.on.Load() {
		t.Fatalf("mode %v after unpause", m)
	}
	if len(calls) != 2 || !calls[0] || calls[1] {
		t.Fatalf("expiry told %v, want [true false]", calls)
	}
}

// drain reads what the server sends until nothing more arrives for quiet.
func drain(t *testing.T, rc *respConn, quiet time.Duration) string {
	t.Helper()
	var got []byte
	buf := make([]byte, 4096)
	for {
		_ = rc.SetReadDeadline(time.Now().Add(quiet))
		n, err := rc.rd.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return string(got)
		}
	}
}

// CLIENT REPLY OFF/SKIP/ON, byte for byte what redis-server 7.0.15 answers to the same
// input, sent at once (one pipeline) and one command at a time.
func TestClientReply(t *testing.T) {
	ts := startServer(t)
	cmds := []string{
		"CLIENT REPLY SKIP", "SET a 1", "GET a",
		"CLIENT REPLY OFF", "SET b 2", "GET b", "NOSUCH", "CLIENT REPLY ON", "GET b",
		"CLIENT REPLY SKIP", "CLIENT REPLY SKIP", "GET a", "GET b",
		"CLIENT REPLY foo", "CLIENT REPLY SKIP", "CLIENT REPLY ON", "GET a",
		"CLIENT REPLY OFF", "CLIENT REPLY SKIP", "GET a", "RESET", "GET a",
	}
	want := "$1\r\n1\r\n+OK\r\n$1\r\n2\r\n$1\r\n2\r\n-ERR syntax error\r\n+OK\r\n$1\r\n1\r\n+RESET\r\n$1\r\n1\r\n"

	rc := dialResp(t, ts.Addr)
	rc.writeRaw(t, []byte(strings.Join(cmds, "\r\n")+"\r\n"))
	if got := drain(t, rc, 300*time.Millisecond); got != want {
		t.Fatalf("pipelined:\n got %q\nwant %q", got, want)
	}

	// One command per write: each is its own read on the server.
	rc = dialResp(t, ts.Addr)
	var got string
	for _, c := range cmds {
		rc.writeRaw(t, []byte(c+"\r\n"))
		got += drain(t, rc, 50*time.Millisecond)
	}
	if got != want {
		t.Fatalf("one at a time:\n got %q\nwant %q", got, want)
	}
}

// A client that pipelines commands before a blocking command, a WAIT, or a command a
// pause holds, gets the earlier replies at once, as redis-server 7.0 sends them; the
// held command's reply follows when it runs. With CLIENT REPLY OFF nothing is sent.
func TestRepliesBeforeAWaitAreSent(t *testing.T) {
	ts := startServer(t)
	for _, c := range []struct {
		name         string
		pause        bool // another client runs CLIENT PAUSE 500 WRITE first
		input        string
		first, after string
	}{
		{name: "blocking", input: "SET a 1\r\nGET a\r\nBLPOP l 0.4\r\n", first: "+OK\r\n$1\r\n1\r\n", after: "*-1\r\n"},
		{name: "paused", pause: true, input: "GET a\r\nSET b 2\r\n", first: "$1\r\n1\r\n", after: "+OK\r\n"},
		{name: "wait", input: "SET a 1\r\nWAIT 1 400\r\n", first: "+OK\r\n", after: ":0\r\n"},
		{name: "reply off", input: "CLIENT REPLY OFF\r\nSET a 1\r\nBLPOP l 0.4\r\nCLIENT REPLY ON\r\n", after: "+OK\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := dialResp(t, ts.Addr)
			if c.pause {
				other := dialResp(t, ts.Addr)
				other.writeRaw(t, respCmd("CLIENT", "PAUSE", "500", "WRITE"))
				if got := drain(t, other, 50*time.Millisecond); got != "+OK\r\n" {
					t.Fatalf("CLIENT PAUSE: %q", got)
				}
			}
			rc.writeRaw(t, []byte(c.input))
			if got := drain(t, rc, 200*time.Millisecond); got != c.first {
				t.Fatalf("before the wait ends: %q, want %q", got, c.first)
			}
			if got := drain(t, rc, 800*time.Millisecond); got != c.after {
				t.Fatalf("after: %q, want %q", got, c.after)
			}
		})
	}
}
