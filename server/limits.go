package server

import (
	"bytes"
	"errors"
	"net"
	"syscall"
	"time"
)

// Protocol input limits. Every accepted connection reads through a small RESP
// validator, so a malicious or broken client is refused before redcon buffers its
// request: a multibulk count or bulk length is checked as soon as its digits arrive,
// and an inline request may not grow past 64KB without a newline.
const (
	maxMultibulkLen = 1024 * 1024 // arguments in one request
	maxInlineLen    = 64 * 1024   // bytes of an inline request line
	// Bulk lengths up to this never need the configured proto-max-bulk-len, which
	// cannot be set below 1MB.
	minBulkLimit = 1 << 20
)

// Error texts, after "-ERR Protocol error: ".
const (
	protoErrMultibulk = "invalid multibulk length"
	protoErrBulk      = "invalid bulk length"
	protoErrInline    = "too big inline request"
)

// limitListener wraps accepted connections so protocol limits are enforced before
// redcon buffers a request.
type limitListener struct {
	net.Listener
	srv *Server
}

// Accept wraps the next connection in a validating limitConn.
func (l *limitListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitConn{Conn: conn}
	lc.v.bulkLimit = l.bulkLimit
	return lc, nil
}

// bulkLimit is the configured proto-max-bulk-len, read only for lengths above 1MB so
// CONFIG SET applies at once without costing anything for ordinary requests.
func (l *limitListener) bulkLimit() int64 {
	if l.srv == nil {
		return 512 << 20
	}
	return int64(l.srv.Config().Server.ProtoMaxBulkLen)
}

// limitConn validates the bytes redcon reads. On a violation it answers the client
// directly and fails the Read, so redcon drops the connection; the commands that came
// before the offending byte are still handed over and run first, as in Redis.
type limitConn struct {
	net.Conn
	v      respValidator
	reason string // violation waiting to be reported by the next Read
	err    error  // sticky once reported
}

// protocolError is the Read error of a connection that broke a protocol limit.
type protocolError struct{ reason string }

func (e *protocolError) Error() string { return "Protocol error: " + e.reason }

func (c *limitConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.reason != "" {
		return 0, c.reject()
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		ok, reason := c.v.feed(p[:n])
		if reason != "" {
			c.reason = reason
			if ok == 0 {
				return 0, c.reject()
			}
			return ok, nil
		}
	}
	return n, err
}

// reject writes the protocol error to the client and makes the connection fail.
func (c *limitConn) reject() error {
	c.err = &protocolError{reason: c.reason}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Conn.Write([]byte("-ERR Protocol error: " + c.reason + "\r\n"))
	return c.err
}

// SyscallConn exposes the socket (peerGone peeks at it while a client blocks).
func (c *limitConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("server: connection has no file descriptor")
}

// validator states
const (
	vStart   uint8 = iota // at a request boundary
	vInline               // inside an inline request line
	vCount                // after '*': multibulk count digits
	vCountLF              // after the count's '\r'
	vDollar               // expecting the '$' of the next argument
	vLen                  // after '$': bulk length digits
	vLenLF                // after the length's '\r'
	vData                 // skipping a bulk payload
	vDataCR               // expecting the '\r' after a payload
	vDataLF               // expecting the '\n' after a payload
)

// respValidator follows the request stream incrementally, across arbitrary read
// boundaries, without copying or buffering: it only parses headers and counts its way
// over payloads and inline lines.
//
// The rules (stricter than redcon, as strict as Redis where the two differ on limits):
//   - a request starting with '*' is a multibulk: "*<count>\r\n" with count 1..1048576
//     written without sign or leading zero, then count arguments "$<len>\r\n<payload>\r\n"
//     with len 0..proto-max-bulk-len and no sign or leading zero;
//   - any other request is an inline line, at most 64KB before its '\n'.
type respValidator struct {
	state uint8
	zero  bool  // the number being read started with '0'
	ndig  int   // digits of the number being read
	num   int64 // value of the number being read
	args  int64 // arguments left in the current multibulk
	skip  int64 // payload bytes left
	line  int   // bytes of the current inline line so far
	limit int64 // proto-max-bulk-len for the current length, 0 = not fetched yet
	// inlineMax overrides the 64KB inline limit (tests); 0 means maxInlineLen.
	inlineMax int
	// bulkLimit returns proto-max-bulk-len; nil means Redis's default of 512MB.
	bulkLimit func() int64
}

// feed checks the next bytes of the stream. It returns len(p) and "" when they are
// fine; otherwise the index of the first offending byte (everything before it is
// valid) and the reason, after which the validator must not be fed again.
func (v *respValidator) feed(p []byte) (int, string) {
	i := 0
	for i < len(p) {
		switch v.state {
		case vStart:
			if p[i] == '*' {
				v.state = vCount
				v.num, v.ndig, v.zero = 0, 0, false
				i++
				continue
			}
			v.state = vInline
			v.line = 0
		case vInline:
			max := maxInlineLen
			if v.inlineMax > 0 {
				max = v.inlineMax
			}
			rest := p[i:]
			j := bytes.IndexByte(rest, '\n')
			if j < 0 {
				if v.line+len(rest) > max {
					return i + max - v.line, protoErrInline
				}
				v.line += len(rest)
				return len(p), ""
			}
			if v.line+j > max {
				return i + max - v.line, protoErrInline
			}
			i += j + 1
			v.state = vStart
		case vCount:
			ch := p[i]
			if ch == '\r' {
				if v.ndig == 0 {
					return i, protoErrMultibulk
				}
				v.state = vCountLF
				i++
				continue
			}
			if !v.digit(ch, maxMultibulkLen) || v.zero {
				// A count of zero or a negative one is refused too (redcon would).
				return i, protoErrMultibulk
			}
			i++
		case vCountLF:
			if p[i] != '\n' {
				return i, protoErrMultibulk
			}
			v.args = v.num
			v.state = vDollar
			i++
		case vDollar:
			if p[i] != '$' {
				return i, dollarError(p[i])
			}
			v.state = vLen
			v.num, v.ndig, v.zero, v.limit = 0, 0, false, 0
			i++
		case vLen:
			ch := p[i]
			if ch == '\r' {
				if v.ndig == 0 {
					return i, protoErrBulk
				}
				v.state = vLenLF
				i++
				continue
			}
			if !v.digit(ch, v.maxBulk(ch)) {
				return i, protoErrBulk
			}
			i++
		case vLenLF:
			if p[i] != '\n' {
				return i, protoErrBulk
			}
			v.skip = v.num
			v.state = vData
			i++
		case vData:
			if avail := int64(len(p) - i); avail < v.skip {
				v.skip -= avail
				return len(p), ""
			}
			i += int(v.skip)
			v.skip = 0
			v.state = vDataCR
		case vDataCR:
			if p[i] != '\r' {
				return i, protoErrBulk
			}
			v.state = vDataLF
			i++
		case vDataLF:
			if p[i] != '\n' {
				return i, protoErrBulk
			}
			v.args--
			if v.args == 0 {
				v.state = vStart
			} else {
				v.state = vDollar
			}
			i++
		}
	}
	return len(p), ""
}

// digit adds one character to the number being read. It fails on a non-digit, on a
// digit after a leading zero and when the value would pass max.
func (v *respValidator) digit(ch byte, max int64) bool {
	if ch < '0' || ch > '9' || (v.ndig > 0 && v.zero) {
		return false
	}
	if v.ndig == 0 && ch == '0' {
		v.zero = true
	}
	d := int64(ch - '0')
	if v.num > (max-d)/10 {
		return false
	}
	v.num = v.num*10 + d
	v.ndig++
	return true
}

// maxBulk is the largest bulk length allowed, as the digit ch is added. Lengths up to
// 1MB pass without asking the configuration; a bigger one reads it once per length.
func (v *respValidator) maxBulk(ch byte) int64 {
	if ch < '0' || ch > '9' || v.num <= (minBulkLimit-int64(ch-'0'))/10 {
		return minBulkLimit
	}
	if v.limit == 0 {
		v.limit = 512 << 20
		if v.bulkLimit != nil {
			v.limit = v.bulkLimit()
		}
		if v.limit < minBulkLimit {
			v.limit = minBulkLimit
		}
	}
	return v.limit
}

func dollarError(ch byte) string {
	if ch == '\r' || ch == '\n' {
		ch = ' '
	}
	return "expected '$', got '" + string([]byte{ch}) + "'"
}
