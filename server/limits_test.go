package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-kv/strata/config"
)

// ---- raw RESP connection used by the limits, pubsub and fuzz tests ----

// respErr is an error reply read by respConn.
type respErr string

// respPush is a RESP3 push frame read by respConn.
type respPush []any

// respConn is a bare TCP connection that writes bytes as given and parses replies.
type respConn struct {
	net.Conn
	rd *bufio.Reader
}

func dialResp(t testing.TB, addr string) *respConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &respConn{Conn: conn, rd: bufio.NewReader(conn)}
}

// respCmd renders a request as a RESP multibulk.
func respCmd(args ...string) []byte {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}

func (r *respConn) writeRaw(t testing.TB, b []byte) {
	t.Helper()
	_ = r.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (r *respConn) send(t testing.TB, args ...string) {
	t.Helper()
	r.writeRaw(t, respCmd(args...))
}

// reply reads one reply, failing the test on a network error.
func (r *respConn) reply(t testing.TB) any {
	t.Helper()
	v, err := r.readTimeout(10 * time.Second)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return v
}

// do sends a command and reads its reply.
func (r *respConn) do(t testing.TB, args ...string) any {
	t.Helper()
	r.send(t, args...)
	return r.reply(t)
}

func (r *respConn) readTimeout(d time.Duration) (any, error) {
	_ = r.SetReadDeadline(time.Now().Add(d))
	return readRESP(r.rd)
}

// expectClosed asserts that the server closes the connection with nothing more to say.
func (r *respConn) expectClosed(t testing.TB) {
	t.Helper()
	v, err := r.readTimeout(10 * time.Second)
	if err == nil {
		t.Fatalf("expected the connection to close, got reply %q", v)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after 10s")
	}
}

// readRESP parses one RESP2/RESP3 value: simple and bulk strings as string, nulls as
// nil, integers as int64, errors as respErr, arrays/sets/maps as []any (maps flat),
// pushes as respPush, booleans as bool, doubles as their text.
func readRESP(rd *bufio.Reader) (any, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed line %q", line)
	}
	typ, body := line[0], line[1:len(line)-2]
	switch typ {
	case '+', ',', '(':
		return body, nil
	case '-':
		return respErr(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '_':
		return nil, nil
	case '#':
		return body == "t", nil
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("bad length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		if typ == '!' {
			return respErr(b[:n]), nil
		}
		if typ == '=' {
			return string(b[4:n]), nil
		}
		return string(b[:n]), nil
	case '*', '~', '%', '>', '|':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("bad length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		if typ == '%' || typ == '|' {
			n *= 2
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readRESP(rd); err != nil {
				return nil, err
			}
		}
		switch typ {
		case '>':
			return respPush(out), nil
		case '|': // attributes precede the real reply
			return readRESP(rd)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply type %q", line)
}

func wantRESP(t testing.TB, got, want any) {
	t.Helper()
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

// ---- validator unit tests ----

func feedAll(v *respValidator, b []byte, chunk int) (int, string) {
	off := 0
	for off < len(b) {
		end := off + chunk
		if end > len(b) {
			end = len(b)
		}
		n, reason := v.feed(b[off:end])
		if reason != "" {
			return off + n, reason
		}
		off = end
	}
	return off, ""
}

func TestValidatorCases(t *testing.T) {
	big := strings.Repeat("a", maxInlineLen)
	cases := []struct {
		in     string
		off    int // offset of the offending byte; -1 when valid
		reason string
	}{
		{"*1\r\n$4\r\nPING\r\n", -1, ""},
		{"*2\r\n$3\r\nGET\r\n$0\r\n\r\n", -1, ""},
		{"PING\r\n*1\r\n$4\r\nPING\r\n\r\n\n", -1, ""},
		{"*1048576\r\n$1\r\n", -1, ""},
		{"*1048577\r\n", 7, protoErrMultibulk},
		{"*99999999999999999999999\r\n", 7, protoErrMultibulk},
		{"*0\r\n", 1, protoErrMultibulk},
		{"*-1\r\n", 1, protoErrMultibulk},
		{"*01\r\n", 1, protoErrMultibulk},
		{"*\r\n", 1, protoErrMultibulk},
		{"*1x\r\n", 2, protoErrMultibulk},
		{"*1\rx", 3, protoErrMultibulk},
		{"*1\n", 2, protoErrMultibulk},
		{"*1\r\nx", 4, "expected '$', got 'x'"},
		{"*1\r\n\r\n", 4, "expected '$', got ' '"},
		{"*1\r\n$-1\r\n", 5, protoErrBulk},
		{"*1\r\n$\r\n", 5, protoErrBulk},
		{"*1\r\n$00\r\n", 6, protoErrBulk},
		{"*1\r\n$0\r\n\r\n", -1, ""},
		{"*1\r\n$536870912\r\n", -1, ""},
		{"*1\r\n$536870913\r\n", 13, protoErrBulk},
		{"*1\r\n$99999999999999999999\r\n", 13, protoErrBulk},
		{"*1\r\n$4\r\nPINGxx", 12, protoErrBulk},
		{"*1\r\n$4\r\nPING\rx", 13, protoErrBulk},
		{"*1\r\n$4\rx", 7, protoErrBulk},
		{"*2\r\n$1\r\na\r\n*", 11, "expected '$', got '*'"},
		{big + "\r\n", maxInlineLen, protoErrInline}, // 64KB + '\r' is one byte too many
		{big[1:] + "\r\n", -1, ""},
		{big + "a", maxInlineLen, protoErrInline},
		{"GET k\r\n" + big + "b\n", 7 + maxInlineLen, protoErrInline},
	}
	for i, tc := range cases {
		for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
			var v respValidator
			off, reason := feedAll(&v, []byte(tc.in), chunk)
			wantOff := tc.off
			if wantOff < 0 {
				wantOff = len(tc.in)
			}
			if off != wantOff || reason != tc.reason {
				t.Errorf("case %d %q chunk %d: got (%d, %q), want (%d, %q)",
					i, truncArg([]byte(tc.in)), chunk, off, reason, wantOff, tc.reason)
			}
		}
	}
}

func TestValidatorConfiguredBulkLimit(t *testing.T) {
	v := respValidator{bulkLimit: func() int64 { return 2 << 20 }}
	if _, r := v.feed([]byte("*2\r\n$2097152\r\n")); r != "" {
		t.Fatalf("2MB bulk refused: %s", r)
	}
	v = respValidator{bulkLimit: func() int64 { return 2 << 20 }}
	if n, r := v.feed([]byte("*2\r\n$2097153\r\n")); r != protoErrBulk || n != 11 {
		t.Fatalf("2MB+1 bulk: got (%d, %q)", n, r)
	}
	// Lengths up to 1MB never consult the configuration.
	v = respValidator{bulkLimit: func() int64 { t.Fatal("limit read for a small bulk"); return 0 }}
	if _, r := v.feed([]byte("*1\r\n$1048576\r\n")); r != "" {
		t.Fatalf("1MB bulk refused: %s", r)
	}
}

func BenchmarkValidator(b *testing.B) {
	for _, size := range []int{16, 1024, 64 << 10} {
		var stream []byte
		val := strings.Repeat("v", size)
		for len(stream) < 1<<20 {
			stream = append(stream, respCmd("SET", "key:"+strconv.Itoa(len(stream)), val)...)
		}
		b.Run(fmt.Sprintf("set-%d", size), func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var v respValidator
				// Reads as redcon issues them: 4KB-ish buffers.
				for off := 0; off < len(stream); off += 4096 {
					end := min(off+4096, len(stream))
					if _, r := v.feed(stream[off:end]); r != "" {
						b.Fatal(r)
					}
				}
			}
		})
	}
	b.Run("inline", func(b *testing.B) {
		stream := bytes.Repeat([]byte("SET somekey somevalue\r\n"), 1<<15)
		b.SetBytes(int64(len(stream)))
		for i := 0; i < b.N; i++ {
			var v respValidator
			if _, r := v.feed(stream); r != "" {
				b.Fatal(r)
			}
		}
	})
}

// ---- over the network ----

func TestLimitsOverTCP(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Server.ProtoMaxBulkLen = 2 << 20 })
	rc := ts.client(t, 2)
	must(t, rc, "SET", "before", "kept")

	bad := []struct {
		name, in, want string
	}{
		{"huge bulk", "*2\r\n$3\r\nGET\r\n$600000000\r\n", "ERR Protocol error: invalid bulk length"},
		{"bulk over configured limit", "*2\r\n$3\r\nGET\r\n$2097153\r\n", "ERR Protocol error: invalid bulk length"},
		{"negative bulk", "*2\r\n$3\r\nGET\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"},
		{"huge multibulk", "*1048577\r\n", "ERR Protocol error: invalid multibulk length"},
		{"overflowing multibulk", "*99999999999999999999999999\r\n", "ERR Protocol error: invalid multibulk length"},
		{"non-numeric multibulk", "*abc\r\n", "ERR Protocol error: invalid multibulk length"},
		{"missing dollar", "*1\r\nPING\r\n", "ERR Protocol error: expected '$', got 'P'"},
		{"bad payload end", "*1\r\n$4\r\nPINGxx\r\n", "ERR Protocol error: invalid bulk length"},
		{"too big inline", "GET " + strings.Repeat("a", 70000), "ERR Protocol error: too big inline request"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := dialResp(t, ts.Addr)
			r.writeRaw(t, []byte(tc.in))
			wantRESP(t, r.reply(t), respErr(tc.want))
			r.expectClosed(t)
		})
	}

	t.Run("commands before the violation run", func(t *testing.T) {
		r := dialResp(t, ts.Addr)
		r.writeRaw(t, []byte("*3\r\n$3\r\nSET\r\n$4\r\npre1\r\n$1\r\nx\r\nSET pre2 y\r\n*1\r\n$-3\r\n"))
		wantRESP(t, r.reply(t), "OK")
		wantRESP(t, r.reply(t), "OK")
		wantRESP(t, r.reply(t), respErr("ERR Protocol error: invalid bulk length"))
		r.expectClosed(t)
		wantRESP(t, must(t, rc, "MGET", "pre1", "pre2"), []any{"x", "y"})
	})

	t.Run("bulk under the configured limit", func(t *testing.T) {
		r := dialResp(t, ts.Addr)
		val := strings.Repeat("z", 2<<20)
		wantRESP(t, r.do(t, "SET", "bigval", val), "OK")
		wantRESP(t, r.do(t, "STRLEN", "bigval"), int64(2<<20))
	})

	t.Run("longest inline request", func(t *testing.T) {
		r := dialResp(t, ts.Addr)
		line := "SET inl " + strings.Repeat("i", maxInlineLen-len("SET inl ")-1) + "\r\n"
		r.writeRaw(t, []byte(line))
		wantRESP(t, r.reply(t), "OK")
		wantRESP(t, r.do(t, "STRLEN", "inl"), int64(maxInlineLen-len("SET inl ")-1))
	})

	t.Run("garbage", func(t *testing.T) {
		r := dialResp(t, ts.Addr)
		r.writeRaw(t, []byte("\x00\xff\xfe garbage \x01\x02\r\n"))
		v := r.reply(t)
		if e, ok := v.(respErr); !ok || !strings.HasPrefix(string(e), "ERR unknown command") {
			t.Fatalf("garbage: got %#v", v)
		}
		wantRESP(t, r.do(t, "PING"), "PONG") // an unknown command keeps the connection
		r.writeRaw(t, []byte("\"unbalanced\r\n"))
		v = r.reply(t)
		if e, ok := v.(respErr); !ok || !strings.Contains(string(e), "Protocol error") {
			t.Fatalf("unbalanced quotes: got %#v", v)
		}
		r.expectClosed(t)
		r2 := dialResp(t, ts.Addr)
		r2.writeRaw(t, []byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\x00\x01\x02*\xff\r\n"))
		wantRESP(t, r2.reply(t), nil)
	})

	t.Run("request split into tiny writes", func(t *testing.T) {
		r := dialResp(t, ts.Addr)
		req := respCmd("SET", "split\r\nkey", "va\x00l\r\nue")
		req = append(req, "GET split\\r\\nkey\r\n"...)
		req = append(req, respCmd("GET", "split\r\nkey")...)
		for i := range req {
			r.writeRaw(t, req[i:i+1])
			if i%7 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		wantRESP(t, r.reply(t), "OK")
		wantRESP(t, r.reply(t), nil) // inline: the backslashes are literal outside quotes
		wantRESP(t, r.reply(t), "va\x00l\r\nue")
	})

	t.Run("binary and empty keys", func(t *testing.T) {
		r := dialResp(t, ts.Addr)
		keys := []string{"", "\r\n", "a\r\nb\x00c", "\x00", "*1\r\n$4\r\nPING\r\n", "$-1\r\n"}
		for i, k := range keys {
			val := fmt.Sprintf("v%d\r\n\x00%s", i, k)
			wantRESP(t, r.do(t, "SET", k, val), "OK")
		}
		wantRESP(t, r.do(t, "SET", "empty", ""), "OK")
		for i, k := range keys {
			wantRESP(t, r.do(t, "GET", k), fmt.Sprintf("v%d\r\n\x00%s", i, k))
			got, err := rc.Get(ctxT(t), k).Result()
			if err != nil || got != fmt.Sprintf("v%d\r\n\x00%s", i, k) {
				t.Fatalf("go-redis GET %q: %q %v", k, got, err)
			}
		}
		wantRESP(t, r.do(t, "GET", "empty"), "")
	})

	t.Run("disconnect mid-command", func(t *testing.T) {
		for _, cut := range []string{
			"*3\r\n$3\r\nSET\r\n$3\r\nmid\r\n$10\r\nab",
			"*3\r\n$3\r\nSET\r\n$3\r\nmid\r\n$10",
			"*3\r\n$3\r\nSE",
			"*3",
			"SET mid inline",
		} {
			r := dialResp(t, ts.Addr)
			r.writeRaw(t, []byte(cut))
			r.Close()
		}
		r := dialResp(t, ts.Addr)
		wantRESP(t, r.do(t, "EXISTS", "mid"), int64(0))
	})

	// The server is still up and the data is intact.
	wantRESP(t, must(t, rc, "PING"), "PONG")
	wantRESP(t, must(t, rc, "GET", "before"), "kept")
}

func TestLimitConnDelegates(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := &limitListener{Listener: ln}
	defer ll.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ll.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	defer sc.Close()
	if _, ok := sc.(*limitConn); !ok {
		t.Fatalf("accepted %T, want *limitConn", sc)
	}
	if sc.RemoteAddr().String() != client.LocalAddr().String() || sc.LocalAddr().String() != client.RemoteAddr().String() {
		t.Fatalf("addresses: %v %v vs %v %v", sc.RemoteAddr(), sc.LocalAddr(), client.LocalAddr(), client.RemoteAddr())
	}
	raw, err := sc.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatalf("SyscallConn: %v", err)
	}
	if err := raw.Control(func(fd uintptr) {}); err != nil {
		t.Fatalf("Control: %v", err)
	}
	// The deadline reaches the socket.
	_ = sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var buf [16]byte
	var ne net.Error
	if _, err := sc.Read(buf[:]); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read with deadline: %v", err)
	}
	_ = sc.SetDeadline(time.Time{})
	if _, err := client.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	n, err := sc.Read(buf[:])
	if err != nil || string(buf[:n]) != "*1\r\n$4\r\nPING\r\n" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	// A violation is reported to the peer and fails the read.
	if _, err := client.Write([]byte("*0\r\n")); err != nil {
		t.Fatal(err)
	}
	// The byte before the offending one is handed over first.
	if n, err := sc.Read(buf[:]); err != nil || string(buf[:n]) != "*" {
		t.Fatalf("read before violation: %q %v", buf[:n], err)
	}
	if _, err := sc.Read(buf[:]); err == nil {
		t.Fatal("violation not reported")
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := bufio.NewReader(client).ReadString('\n')
	if got != "-ERR Protocol error: invalid multibulk length\r\n" {
		t.Fatalf("peer got %q", got)
	}
}
