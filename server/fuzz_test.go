package server

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

// ---- FuzzRESPValidator ----

// refValidate is the reference for respValidator: the same rules, checked on the
// whole input at once with no state carried between reads.
func refValidate(b []byte, maxBulk int64, maxInline int) (int, string) {
	i := 0
	for i < len(b) {
		if b[i] != '*' {
			j := bytes.IndexByte(b[i:], '\n')
			n := j
			if j < 0 {
				n = len(b) - i
			}
			if n > maxInline {
				return i + maxInline, protoErrInline
			}
			if j < 0 {
				return len(b), ""
			}
			i += j + 1
			continue
		}
		count, next, bad := refNumber(b, i+1, maxMultibulkLen, false)
		if bad >= 0 {
			return bad, protoErrMultibulk
		}
		if next < 0 {
			return len(b), ""
		}
		i = next
		for a := int64(0); a < count; a++ {
			if i == len(b) {
				return len(b), ""
			}
			if b[i] != '$' {
				return i, dollarError(b[i])
			}
			n, next, bad := refNumber(b, i+1, maxBulk, true)
			if bad >= 0 {
				return bad, protoErrBulk
			}
			if next < 0 {
				return len(b), ""
			}
			end := next + int(n)
			if end >= len(b) {
				return len(b), ""
			}
			if b[end] != '\r' {
				return end, protoErrBulk
			}
			if end+1 == len(b) {
				return len(b), ""
			}
			if b[end+1] != '\n' {
				return end + 1, protoErrBulk
			}
			i = end + 2
		}
	}
	return len(b), ""
}

// refNumber parses "<digits>\r\n" at b[i:]. It returns the value, the index after the
// "\r\n" (-1 when the input ends first) and the index of the first offending byte (-1
// when there is none).
func refNumber(b []byte, i int, max int64, allowZero bool) (int64, int, int) {
	start := i
	var v int64
	for ; i < len(b) && b[i] != '\r'; i++ {
		c := b[i]
		switch {
		case c < '0' || c > '9':
			return 0, -1, i
		case i > start && b[start] == '0': // leading zero
			return 0, -1, i
		case i == start && c == '0' && !allowZero:
			return 0, -1, i
		}
		v = v*10 + int64(c-'0')
		if v > max {
			return 0, -1, i
		}
	}
	switch {
	case i == len(b):
		return 0, -1, -1
	case i == start:
		return 0, -1, i
	case i+1 == len(b):
		return 0, -1, -1
	case b[i+1] != '\n':
		return 0, -1, i + 1
	}
	return v, i + 2, -1
}

// chunks splits n bytes into read sizes drawn from seed.
func chunks(n int, seed uint64) []int {
	var out []int
	for n > 0 {
		seed = seed*6364136223846793005 + 1442695040888963407
		c := int(seed>>33)%17 + 1
		if seed>>62 == 0 {
			c = int(seed>>20)%4096 + 1
		}
		c = min(c, n)
		out = append(out, c)
		n -= c
	}
	return out
}

func feedChunks(v *respValidator, b []byte, sizes []int) (int, string) {
	off := 0
	for _, c := range sizes {
		n, reason := v.feed(b[off : off+c])
		if reason != "" {
			return off + n, reason
		}
		off += c
	}
	return off, ""
}

// wellFormed turns arbitrary bytes into a valid request stream, multibulk requests
// with binary arguments and inline requests, and returns the requests redcon must read
// from it.
func wellFormed(data []byte) ([]byte, [][]string) {
	var out []byte
	var want [][]string
	for len(data) > 0 {
		k := int(data[0])
		data = data[1:]
		size := min(k%40, len(data))
		piece := append([]byte(nil), data[:size]...)
		data = data[size:]
		if k%5 == 0 {
			// Inline: no newline, no quotes (redcon parses those), no leading '*'.
			for i, c := range piece {
				switch c {
				case '\n', '"', '\'':
					piece[i] = 'q'
				}
			}
			if len(piece) > 0 && piece[0] == '*' {
				piece[0] = '+'
			}
			out = append(out, piece...)
			out = append(out, '\r', '\n')
			var args []string
			for _, a := range strings.Split(string(piece), " ") {
				if a != "" {
					args = append(args, a)
				}
			}
			if args != nil {
				want = append(want, args)
			}
			continue
		}
		sep := ","
		if len(piece) > 0 {
			sep = string(piece[:1])
		}
		args := strings.Split(string(piece), sep)
		out = append(out, respCmd(args...)...)
		want = append(want, args)
	}
	return out, want
}

// fuzzInline is the inline limit FuzzRESPValidator runs with, small so the fuzzer
// reaches it with short inputs.
const fuzzInline = 100

func FuzzRESPValidator(f *testing.F) {
	for _, s := range []string{
		"*1\r\n$4\r\nPING\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nGET k\r\n",
		"*1048577\r\n",
		"*2\r\n$3\r\nGET\r\n$600000000\r\n",
		"*1\r\n$-1\r\n",
		"*1\r\nx",
		"*0\r\n",
		"*01\r\n",
		"*1\r\n$4\r\nPINGxx",
		"\x00\xff\r\n",
		"PING\n\n\r\n",
	} {
		f.Add([]byte(s), uint64(len(s)))
	}
	f.Add(bytes.Repeat([]byte("a"), fuzzInline+3), uint64(7))
	f.Add([]byte("GET k\r\n"+strings.Repeat("b", fuzzInline)+"\r\n"), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		const maxBulk = 1 << 21
		limit := func() int64 { return maxBulk }
		if len(data) > 1<<16 {
			return
		}

		// Any input: the incremental validator agrees with the reference, whatever the
		// read boundaries.
		wantOff, wantReason := refValidate(data, maxBulk, fuzzInline)
		for _, sizes := range [][]int{{len(data)}, chunks(len(data), seed)} {
			if len(data) == 0 {
				break
			}
			v := respValidator{bulkLimit: limit, inlineMax: fuzzInline}
			off, reason := feedChunks(&v, data, sizes)
			if off != wantOff || reason != wantReason {
				t.Fatalf("input %q reads %v: validator (%d, %q), reference (%d, %q)",
					truncArg(data), sizes, off, reason, wantOff, wantReason)
			}
		}

		// Well-formed input is accepted whole and ends on a request boundary.
		stream, want := wellFormed(data)
		if len(stream) == 0 {
			return
		}
		v := respValidator{bulkLimit: limit}
		if off, reason := feedChunks(&v, stream, chunks(len(stream), seed^0x5bd1e995)); reason != "" || off != len(stream) || v.state != vStart {
			t.Fatalf("well-formed %q refused at %d: %q (state %d)", truncArg(stream), off, reason, v.state)
		}
		if off, reason := refValidate(stream, maxBulk, maxInlineLen); reason != "" || off != len(stream) {
			t.Fatalf("reference refused well-formed %q at %d: %q", truncArg(stream), off, reason)
		}
		// And redcon reads exactly the requests that were written.
		rd := redcon.NewReader(bytes.NewReader(stream))
		var got [][]string
		for {
			cmds, err := rd.ReadCommands()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("redcon refused well-formed %q: %v", truncArg(stream), err)
			}
			for _, c := range cmds {
				args := make([]string, len(c.Args))
				for i, a := range c.Args {
					args[i] = string(a)
				}
				got = append(got, args)
			}
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("redcon read %q, want %q", got, want)
		}
	})
}

// ---- FuzzCommands ----

// Commands the fuzzer leaves alone: they stop or reconfigure the server, talk to other
// hosts, block, run scripts, or legitimately stop answering.
var fuzzDeny = map[string]bool{
	"shutdown": true, "quit": true, "debug": true, "monitor": true, "config": true,
	"client": true, "replicaof": true, "slaveof": true, "sync": true, "psync": true,
	"replconf": true, "failover": true, "migrate": true, "wait": true, "waitaof": true,
	"acl": true, "module": true, "eval": true, "evalsha": true, "eval_ro": true,
	"evalsha_ro": true, "script": true, "function": true, "fcall": true, "fcall_ro": true,
	"save": true, "bgsave": true, "bgrewriteaof": true, "xread": true, "xreadgroup": true,
}

var fuzzTokens = []string{
	"k1", "k2", "k3", "k1", "k2", "0", "1", "-1", "2", "3", "10", "100", "-100", "1.5", "-2.5",
	"-inf", "+inf", "inf", "nan", "9223372036854775807", "-9223372036854775808",
	"18446744073709551616", "", " ", "v", "a", "b", "c", "EX", "PX", "EXAT", "PXAT", "NX",
	"XX", "GT", "LT", "CH", "INCR", "KEEPTTL", "GET", "PERSIST", "WITHSCORES", "WITHSCORE",
	"LIMIT", "COUNT", "MATCH", "TYPE", "BYSCORE", "BYLEX", "REV", "LEFT", "RIGHT", "BEFORE",
	"AFTER", "[a", "(a", "(1", "-", "+", "*", "?", "k*", "STORE", "STOREDIST", "WEIGHTS",
	"AGGREGATE", "SUM", "MIN", "MAX", "IDLETIME", "FREQ", "REPLACE", "DB", "ASYNC", "SYNC",
	"FIELDS", "NOVALUES", "RANK", "MAXLEN", "LEN", "IDX", "MINMATCHLEN", "WITHMATCHLEN",
	"ENCODING", "HELP", "NUMSUB", "CHANNELS", "NUMPAT", "\x00\r\n", "string", "hash", "list",
}

// fuzzArgs turns bytes into arguments: a byte below 0xE0 picks a token, a byte from
// 0xE0 takes the next 0..31 bytes literally.
func fuzzArgs(data []byte) []string {
	var args []string
	for len(data) > 0 && len(args) < 16 {
		b := data[0]
		data = data[1:]
		if b < 0xE0 {
			args = append(args, fuzzTokens[int(b)%len(fuzzTokens)])
			continue
		}
		n := min(int(b-0xE0), len(data))
		args = append(args, string(data[:n]))
		data = data[n:]
	}
	return args
}

// fuzzSeed encodes literal arguments for fuzzArgs.
func fuzzSeed(args ...string) []byte {
	var b []byte
	for _, a := range args {
		b = append(b, byte(0xE0+len(a)))
		b = append(b, a...)
	}
	return b
}

func FuzzCommands(f *testing.F) {
	for _, s := range []struct {
		name string
		args []string
	}{
		{"set", []string{"k1", "v", "EX", "100"}},
		{"get", []string{"k1"}},
		{"incr", []string{"k2"}},
		{"incrbyfloat", []string{"k2", "1e308"}},
		{"mset", []string{"k1", "a", "k2"}},
		{"del", []string{"k1", "k2", "k3"}},
		{"expire", []string{"k1", "9223372036854775807"}},
		{"hset", []string{"k3", "f", "v", "g"}},
		{"lpush", []string{"k1", "a", "b"}},
		{"zadd", []string{"k2", "nan", "m"}},
		{"sadd", []string{"k3", "m"}},
		{"setrange", []string{"k1", "-1", "x"}},
		{"getrange", []string{"k1", "-9223372036854775808", "9223372036854775807"}},
		{"scan", []string{"0", "COUNT", "9223372036854775807"}},
		{"subscribe", []string{"ch"}},
		{"pubsub", []string{"NUMSUB", "ch"}},
		{"multi", nil},
		{"nonexistent", []string{"x"}},
	} {
		f.Add(s.name, fuzzSeed(s.args...))
	}
	ts := startServer(f)
	// STRATA_FUZZ_DENY=cmd,cmd leaves more commands out (to fuzz past a known crash).
	for _, name := range strings.Split(os.Getenv("STRATA_FUZZ_DENY"), ",") {
		if name != "" {
			fuzzDeny[strings.ToLower(name)] = true
		}
	}
	var vocab []string
	for _, c := range ts.table.All() {
		if c.Flags&FlagBlocking == 0 && !fuzzDeny[c.Name] {
			vocab = append(vocab, c.Name)
		}
	}
	sort.Strings(vocab)
	known := map[string]bool{}
	for _, n := range vocab {
		known[n] = true
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		name = strings.ToLower(name)
		if !known[name] {
			h := fnv.New32a()
			h.Write([]byte(name))
			name = vocab[h.Sum32()%uint32(len(vocab))]
		}
		args := append([]string{name}, fuzzArgs(data)...)
		if logPath := os.Getenv("STRATA_FUZZ_LOG"); logPath != "" {
			// Debugging aid: append each command, to replay a crash that depends on
			// what ran before it.
			if lf, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				fmt.Fprintf(lf, "%q\n", args)
				lf.Close()
			}
		}
		r := dialResp(t, ts.Addr)
		r.send(t, args...)
		start := time.Now()
		if _, err := r.readTimeout(10 * time.Second); err != nil {
			t.Fatalf("%q: no answer after %v: %v", args, time.Since(start), err)
		}
		r.Close()
	})
}
