package server

import (
	"math"
	"strconv"
)

// Writer renders typed replies as RESP2 or RESP3, per connection. Handlers say what a
// reply is (a map, a set, a double, a null) and never which protocol is spoken.
type Writer struct {
	buf   []byte
	proto int // 2 or 3
}

// Proto is the protocol version the connection speaks.
func (w *Writer) Proto() int { return w.proto }

func (w *Writer) header(c byte, n int) {
	w.buf = append(w.buf, c)
	w.buf = strconv.AppendInt(w.buf, int64(n), 10)
	w.buf = append(w.buf, '\r', '\n')
}

// Array starts an array of n elements.
func (w *Writer) Array(n int) { w.header('*', n) }

// Map starts a map of n key/value pairs (a flat array of 2n in RESP2).
func (w *Writer) Map(n int) {
	if w.proto >= 3 {
		w.header('%', n)
	} else {
		w.header('*', 2*n)
	}
}

// Set starts a set of n members (an array in RESP2).
func (w *Writer) Set(n int) {
	if w.proto >= 3 {
		w.header('~', n)
	} else {
		w.header('*', n)
	}
}

// Push starts an out-of-band message (an array in RESP2).
func (w *Writer) Push(n int) {
	if w.proto >= 3 {
		w.header('>', n)
	} else {
		w.header('*', n)
	}
}

// Bulk writes a binary-safe string.
func (w *Writer) Bulk(b []byte) {
	w.header('$', len(b))
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, '\r', '\n')
}

// BulkString writes a binary-safe string.
func (w *Writer) BulkString(s string) {
	w.header('$', len(s))
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// Simple writes a status reply such as OK.
func (w *Writer) Simple(s string) {
	w.buf = append(w.buf, '+')
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// OK writes +OK.
func (w *Writer) OK() { w.buf = append(w.buf, "+OK\r\n"...) }

// Error writes an error reply; msg starts with its code (ERR, WRONGTYPE, ...).
func (w *Writer) Error(msg string) {
	w.buf = append(w.buf, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		w.buf = append(w.buf, c)
	}
	w.buf = append(w.buf, '\r', '\n')
}

// Int writes an integer.
func (w *Writer) Int(n int64) {
	w.buf = append(w.buf, ':')
	w.buf = strconv.AppendInt(w.buf, n, 10)
	w.buf = append(w.buf, '\r', '\n')
}

// Bool writes a boolean (1/0 in RESP2).
func (w *Writer) Bool(b bool) {
	if w.proto >= 3 {
		if b {
			w.buf = append(w.buf, "#t\r\n"...)
		} else {
			w.buf = append(w.buf, "#f\r\n"...)
		}
		return
	}
	if b {
		w.Int(1)
	} else {
		w.Int(0)
	}
}

// Double writes a floating-point reply (a bulk string in RESP2).
func (w *Writer) Double(f float64) {
	if w.proto >= 3 {
		w.buf = append(w.buf, ',')
		w.buf = appendDouble(w.buf, f)
		w.buf = append(w.buf, '\r', '\n')
		return
	}
	var tmp [32]byte
	w.Bulk(appendDouble(tmp[:0], f))
}

// appendDouble formats like Redis 7: the shortest representation that reads back.
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e17 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// Null writes a null bulk string ($-1 in RESP2, _ in RESP3).
func (w *Writer) Null() {
	if w.proto >= 3 {
		w.buf = append(w.buf, "_\r\n"...)
	} else {
		w.buf = append(w.buf, "$-1\r\n"...)
	}
}

// NullArray writes a null array (*-1 in RESP2, _ in RESP3).
func (w *Writer) NullArray() {
	if w.proto >= 3 {
		w.buf = append(w.buf, "_\r\n"...)
	} else {
		w.buf = append(w.buf, "*-1\r\n"...)
	}
}

// Verbatim writes text meant for humans (INFO, CLIENT LIST): a bulk string in RESP2.
func (w *Writer) Verbatim(s string) {
	if w.proto >= 3 {
		w.header('=', len(s)+4)
		w.buf = append(w.buf, "txt:"...)
		w.buf = append(w.buf, s...)
		w.buf = append(w.buf, '\r', '\n')
		return
	}
	w.BulkString(s)
}

// BulkStrings writes an array of strings.
func (w *Writer) BulkStrings(ss []string) {
	w.Array(len(ss))
	for _, s := range ss {
		w.BulkString(s)
	}
}

// Bulks writes an array of binary strings; nil entries are nulls.
func (w *Writer) Bulks(bs [][]byte) {
	w.Array(len(bs))
	for _, b := range bs {
		if b == nil {
			w.Null()
		} else {
			w.Bulk(b)
		}
	}
}

// Raw appends bytes already in RESP form.
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// Len is the number of bytes buffered.
func (w *Writer) Len() int { return len(w.buf) }

// Truncate drops everything after n bytes (to replace a reply with an error).
func (w *Writer) Truncate(n int) { w.buf = w.buf[:n] }
