package repl

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/strata-kv/strata/binlog"
)

// fakeSource is a master's data: a binlog and a fixed set of files a checkpoint holds.
type fakeSource struct {
	log     *binlog.Log
	history [20]byte
	mu      sync.Mutex
	files   map[string][]byte // what Checkpoint writes
}

func newFakeSource(t *testing.T) *fakeSource {
	t.Helper()
	l, err := binlog.Open(binlog.Options{Dir: t.TempDir(), MaxFileSize: 64 << 20, Sync: binlog.SyncNo, MaxTotalSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	src := &fakeSource{log: l, files: map[string][]byte{}}
	copy(src.history[:], "master-history-00001")
	return src
}

func (s *fakeSource) Log() *binlog.Log                { return s.log }
func (s *fakeSource) History() [20]byte               { return s.history }
func (s *fakeSource) PrevHistory() ([20]byte, uint64) { return [20]byte{}, 0 }
func (s *fakeSource) Checkpoint(dir string) (uint64, [20]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, s.history, err
	}
	for name, data := range s.files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return 0, s.history, err
		}
	}
	return s.log.LastID(), s.history, nil
}

func (s *fakeSource) setFile(name string, data []byte) {
	s.mu.Lock()
	s.files[name] = data
	s.mu.Unlock()
}

// fakeSink is a follower's data: the records it applied and the copies it installed.
type fakeSink struct {
	mu       sync.Mutex
	history  [20]byte
	next     uint64
	recs     []binlog.Record
	installs int
	copy     map[string][]byte // the files of the last installed copy
	dataDir  string
}

func (s *fakeSink) Position() ([20]byte, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == 0 {
		return s.history, 1
	}
	return s.history, s.next
}

func (s *fakeSink) ApplyRecords(recs []binlog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		if r.ID != s.next && s.next != 0 {
			return fmt.Errorf("record %d, want %d", r.ID, s.next)
		}
		r.Changes = append([]byte(nil), r.Changes...)
		s.recs = append(s.recs, r)
		s.history, s.next = r.History, r.ID+1
	}
	return nil
}

func (s *fakeSink) InstallCopy(dir string, id uint64, history [20]byte) error {
	files := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		files[e.Name()] = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.copy, s.installs = files, s.installs+1
	s.history, s.next = history, id+1
	return os.RemoveAll(dir)
}

func (s *fakeSink) DataDir() string { return s.dataDir }

func (s *fakeSink) applied() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// respConn is the master's side of a follower connection: RESP commands in, raw
// bytes out.
type respConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *respConn) ReadCommand() ([][]byte, error) { return readCommand(c.r) }

func readCommand(r *bufio.Reader) ([][]byte, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "*") {
		return nil, fmt.Errorf("not a RESP array: %q", line)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad array length %q", line)
	}
	args := make([][]byte, n)
	for i := range args {
		l, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if !strings.HasPrefix(l, "$") {
			return nil, fmt.Errorf("not a bulk: %q", l)
		}
		size, err := strconv.Atoi(l[1:])
		if err != nil || size < 0 || size > 1<<26 {
			return nil, fmt.Errorf("bad bulk length %q", l)
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = b[:size]
	}
	return args, nil
}

// testMaster serves a Master on a loopback listener, answering the handshake the way
// server/replication.go does.
type testMaster struct {
	*Master
	addr string
	ln   net.Listener
}

func startMaster(t *testing.T, src Source, opts MasterOptions, tc *tls.Config) *testMaster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	if opts.CopyDir == "" {
		opts.CopyDir = t.TempDir()
	}
	m := NewMaster(src, opts, zerolog.New(io.Discard))
	tm := &testMaster{Master: m, addr: ln.Addr().String(), ln: ln}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				tm.handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		m.Close()
		wg.Wait()
	})
	return tm
}

func (tm *testMaster) handle(c net.Conn) {
	rc := &respConn{Conn: c, r: bufio.NewReader(c)}
	hs := Handshake{IP: "127.0.0.1"}
	for {
		args, err := rc.ReadCommand()
		if err != nil || len(args) == 0 {
			c.Close()
			return
		}
		cmd := strings.ToLower(string(args[0]))
		switch {
		case cmd == "psync" && len(args) == 3:
			hs.History, hs.Next = string(args[1]), string(args[2])
			tm.Serve(rc, hs)
			return
		case cmd == "replconf":
			ok := true
			for i := 1; i+1 < len(args); i += 2 {
				v := string(args[i+1])
				switch strings.ToLower(string(args[i])) {
				case "capa":
					hs.Capa = append(hs.Capa, v)
				case "listening-port":
					hs.Port, _ = strconv.Atoi(v)
				case "have-identity":
					hs.Identity = v
				case "have-files":
					if hs.Have == nil {
						hs.Have = map[string]FileSig{}
					}
					ok = ParseHaveFiles(hs.Have, v) == nil
				}
			}
			if ok {
				io.WriteString(c, "+OK\r\n")
			} else {
				io.WriteString(c, "-ERR Invalid have-files list\r\n")
			}
		default:
			io.WriteString(c, "+OK\r\n")
		}
	}
}

func startFollower(t *testing.T, addr string, sink Sink, opts FollowerOptions) *Follower {
	t.Helper()
	opts.MasterAddr = addr
	if opts.CopyDir == "" {
		opts.CopyDir = filepath.Join(t.TempDir(), "copy")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	f := NewFollower(opts, sink, zerolog.New(io.Discard))
	f.Start()
	t.Cleanup(f.Stop)
	return f
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
