package tools

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressPlainLines(t *testing.T) {
	old := plainInterval
	plainInterval = 10 * time.Millisecond
	defer func() { plainInterval = old }()
	var out syncBuffer
	p := NewProgress(&out, "load", 4<<20, ProgressAuto) // not a terminal: plain lines
	p.Add(1<<20, 10)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "load: 1.0MB of 4.0MB (25%), 10 keys") {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.SetBytes(4 << 20)
	p.SetNote("a note")
	p.Finish(true)
	p.Finish(true)
	last := strings.TrimSpace(out.String())
	last = last[strings.LastIndex(last, "\n")+1:]
	if !strings.HasPrefix(last, "load: 4.0MB, 10 keys in ") || !strings.HasSuffix(last, "; a note") {
		t.Fatalf("summary %q", last)
	}
}

func TestProgressQuietAndBar(t *testing.T) {
	var out syncBuffer
	p := NewProgress(&out, "dump", 0, ProgressQuiet)
	p.Add(100, 1)
	p.Finish(true)
	if out.String() != "" {
		t.Fatalf("quiet progress printed %q", out.String())
	}
	p = NewProgress(&out, "dump", 0, ProgressBar)
	p.Add(5<<20, 7)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "dump 5.0MB, 7 keys") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Finish(true)
	if s := out.String(); !strings.Contains(s, "dump 5.0MB, 7 keys") || !strings.Contains(s, "dump: 5.0MB, 7 keys in") {
		t.Fatalf("bar output %q", s)
	}
}
