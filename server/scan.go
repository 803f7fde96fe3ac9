package server

import (
	"strconv"
	"sync"
)

// Cursors of the SCAN family. RocksDB iterates in key order, so a scan resumes from
// the last key it returned; Redis clients expect an integer cursor, so the server keeps
// a bounded table from cursor numbers to resume positions. A cursor that fell out of the
// table restarts from the beginning, which SCAN's guarantees allow (elements may repeat).
const maxCursors = 16384

type cursorTable struct {
	mu   sync.Mutex
	next uint64
	pos  map[uint64][]byte
	ring [maxCursors]uint64
	head int
}

// saveCursor remembers where a scan resumes and returns the cursor to hand out.
func (t *cursorTable) saveCursor(resume []byte) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pos == nil {
		t.pos = map[uint64][]byte{}
	}
	t.next++
	id := t.next
	if old := t.ring[t.head]; old != 0 {
		delete(t.pos, old)
	}
	t.ring[t.head] = id
	t.head = (t.head + 1) % maxCursors
	t.pos[id] = append([]byte(nil), resume...)
	return id
}

// loadCursor returns the resume position of a cursor; nil means start from the beginning.
func (t *cursorTable) loadCursor(id uint64) []byte {
	if id == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pos[id]
}

// scanArgs are the options shared by SCAN, HSCAN, SSCAN and ZSCAN.
type scanArgs struct {
	cursor uint64
	match  []byte // nil = everything
	count  int
	typ    string // SCAN only
	novals bool   // HSCAN NOVALUES
}

// parseScanArgs parses "cursor [MATCH p] [COUNT n] [TYPE t]" starting at args[i].
func parseScanArgs(c *Ctx, i int, allowType bool) (scanArgs, bool) {
	a := scanArgs{count: 10}
	cur, err := strconv.ParseUint(string(c.Args[i]), 10, 64)
	if err != nil {
		c.Error("ERR invalid cursor")
		return a, false
	}
	a.cursor = cur
	for i++; i < len(c.Args); i++ {
		switch {
		case argIs(c.Args[i], "match") && i+1 < len(c.Args):
			a.match = c.Args[i+1]
			if len(a.match) == 1 && a.match[0] == '*' {
				a.match = nil
			}
			i++
		case argIs(c.Args[i], "count") && i+1 < len(c.Args):
			n, ok := parseInt(c.Args[i+1])
			if !ok {
				c.Error(errNotInteger)
				return a, false
			}
			if n < 1 {
				c.Error(errSyntax)
				return a, false
			}
			if n > 1<<20 {
				n = 1 << 20
			}
			a.count = int(n)
			i++
		case allowType && argIs(c.Args[i], "type") && i+1 < len(c.Args):
			a.typ = string(lower(c.Args[i+1]))
			i++
		default:
			c.Error(errSyntax)
			return a, false
		}
	}
	return a, true
}

// globMatch reports whether s matches the Redis glob pattern p (*, ?, [a-z], [^x], \x),
// ported from Redis's stringmatchlen so that edge cases agree.
func globMatch(p, s []byte, nocase bool) bool {
	return globMatchDepth(p, s, nocase, 0)
}

func globMatchDepth(p, s []byte, nocase bool, depth int) bool {
	if depth > 1000 {
		return false
	}
	fold := func(b byte) byte {
		if nocase && 'A' <= b && b <= 'Z' {
			return b + 'a' - 'A'
		}
		return b
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if globMatchDepth(p[1:], s, nocase, depth+1) {
					return true
				}
				s = s[1:]
			}
			return false
		case '?':
			s = s[1:]
		case '[':
			p = p[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			match := false
			for {
				if len(p) == 0 {
					break
				}
				if p[0] == '\\' && len(p) >= 2 {
					p = p[1:]
					if p[0] == s[0] {
						match = true
					}
				} else if p[0] == ']' {
					break
				} else if len(p) >= 3 && p[1] == '-' {
					start, end := fold(p[0]), fold(p[2])
					if start > end {
						start, end = end, start
					}
					c := fold(s[0])
					p = p[2:]
					if c >= start && c <= end {
						match = true
					}
				} else if fold(p[0]) == fold(s[0]) {
					match = true
				}
				p = p[1:]
			}
			if len(p) == 0 {
				// Unterminated class: Redis treats the end of the pattern as ']'.
				p = []byte{']'}
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if fold(p[0]) != fold(s[0]) {
				return false
			}
			s = s[1:]
		}
		p = p[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}
