package server

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/strata-kv/strata/store"
)

// Redis error texts, shared by every handler.
const (
	errSyntax        = "ERR syntax error"
	errNotInteger    = "ERR value is not an integer or out of range"
	errNotFloat      = "ERR value is not a valid float"
	errWrongType     = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errNoSuchKey     = "ERR no such key"
	errOverflow      = "ERR increment or decrement would overflow"
	errIndexRange    = "ERR index out of range"
	errDBIndex       = "ERR DB index is out of range"
	errNaN           = "ERR increment would produce NaN or Infinity"
	errInvalidExpire = "ERR invalid expire time in '%s' command"
	errReadOnly      = "READONLY You can't write against a read only replica."
	errNoAuth        = "NOAUTH Authentication required."
	errTooLarge      = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
)

// Ctx is one command invocation: the client, its arguments and the transaction the
// command reads and writes through.
type Ctx struct {
	*Client
	Args [][]byte
	Cmd  *Command
	Tx   *store.Tx
	// InExec is set while the command runs inside EXEC: blocking commands must not block.
	InExec bool
	// blockedRetry is set while a blocked client retries after a wake-up: a key that
	// now holds another type counts as empty instead of answering WRONGTYPE.
	blockedRetry bool
	failed       bool
}

// Error replies with an error and marks the command failed, so its changes are dropped.
func (c *Ctx) Error(msg string) {
	c.failed = true
	c.W.Error(msg)
}

// Failed reports whether the command replied with an error.
func (c *Ctx) Failed() bool { return c.failed }

// Fail replies with the Redis text for a store error.
func (c *Ctx) Fail(err error) {
	c.Error(errorText(err))
}

func errorText(err error) string {
	switch {
	case errors.Is(err, store.ErrWrongType):
		return errWrongType
	case errors.Is(err, store.ErrNotInteger):
		return errNotInteger
	case errors.Is(err, store.ErrNotFloat):
		return errNotFloat
	case errors.Is(err, store.ErrOverflow):
		return errOverflow
	case errors.Is(err, store.ErrNaN):
		return errNaN
	case errors.Is(err, store.ErrNoSuchKey):
		return errNoSuchKey
	case errors.Is(err, store.ErrIndexOutOfRange):
		return errIndexRange
	case errors.Is(err, store.ErrTooLarge):
		return errTooLarge
	case errors.Is(err, store.ErrWritesDisabled):
		return "MISCONF Errors writing to the binlog, writes are refused until the server is restarted: " + strings.TrimPrefix(err.Error(), store.ErrWritesDisabled.Error()+": ")
	}
	return "ERR " + err.Error()
}

// WrongArgs replies with Redis's arity error for the command (or "cmd|sub").
func (c *Ctx) WrongArgs(name string) {
	c.Error("ERR wrong number of arguments for '" + name + "' command")
}

// Int parses argument i as a 64-bit integer, replying with Redis's error when it is not.
func (c *Ctx) Int(i int) (int64, bool) {
	n, ok := parseInt(c.Args[i])
	if !ok {
		c.Error(errNotInteger)
	}
	return n, ok
}

// Float parses argument i as a float (inf allowed, NaN refused).
func (c *Ctx) Float(i int) (float64, bool) {
	f, ok := parseFloat(c.Args[i])
	if !ok {
		c.Error(errNotFloat)
	}
	return f, ok
}

// parseInt accepts exactly what Redis's string2ll accepts: no spaces, no '+', no
// leading zeros.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) > 1 && (b[0] == '0' || (b[0] == '-' && b[1] == '0')) {
		return 0, false
	}
	if b[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// parseFloat accepts what Redis's strtold accepts for scores and increments.
func parseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 256 {
		return 0, false
	}
	s := string(b)
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return 0, false
	}
	switch strings.ToLower(s) {
	case "inf", "+inf", "infinity", "+infinity":
		return math.Inf(1), true
	case "-inf", "-infinity":
		return math.Inf(-1), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, false
		}
		return 0, false
	}
	if math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// argIs compares an argument with a lower-case keyword, ignoring case.
func argIs(b []byte, kw string) bool {
	if len(b) != len(kw) {
		return false
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != kw[i] {
			return false
		}
	}
	return true
}
