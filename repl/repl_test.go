package repl

import (
	"bytes"
	"crypto/tls"
	"github.com/strata-kv/strata/internal/testtls"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

func appendText(t *testing.T, src *fakeSource, n int) {
	t.Helper()
	first := src.log.LastID() + 1
	var changes [][]byte
	for _, r := range textRecords(first, n) {
		changes = append(changes, r.Changes)
	}
	if _, err := src.log.Append(src.history, time.Now().UnixMilli(), changes...); err != nil {
		t.Fatal(err)
	}
}

// TestReplCompressNegotiation: the master picks its configured codec among those the
// follower offers, says so in its reply, and the records arrive intact.
func TestReplCompressNegotiation(t *testing.T) {
	for _, tc := range []struct {
		master     string
		noCompress bool
		want       string
	}{
		{CompressZstd, false, CompressZstd},
		{CompressSnappy, false, CompressSnappy},
		{CompressNone, false, CompressNone},
		{CompressZstd, true, CompressNone},
		{"", false, CompressNone},
	} {
		name := tc.master
		if name == "" {
			name = "unset"
		}
		if tc.noCompress {
			name += "-follower-declines"
		}
		t.Run(name, func(t *testing.T) {
			src := newFakeSource(t)
			appendText(t, src, 3000) // before the follower connects: a full copy, then records
			src.setFile("000007.sst", bytes.Repeat([]byte("sst block "), 50000))
			src.setFile("CURRENT", []byte("MANIFEST-000001\n"))
			m := startMaster(t, src, MasterOptions{Compression: tc.master}, nil)
			sink := &fakeSink{}
			f := startFollower(t, m.addr, sink, FollowerOptions{NoCompression: tc.noCompress})
			waitUntil(t, "link up", f.LinkUp)
			appendText(t, src, 2000)
			waitUntil(t, "records", func() bool { return sink.applied() == 2000 })
			if got := f.Compression(); got != tc.want {
				t.Errorf("follower streams with %q, want %q", got, tc.want)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			want := textRecords(3001, 2000)
			for i, r := range sink.recs {
				if r.ID != want[i].ID || !bytes.Equal(r.Changes, want[i].Changes) {
					t.Fatalf("record %d: got ID %d %q, want ID %d %q", i, r.ID, r.Changes, want[i].ID, want[i].Changes)
				}
			}
			if sink.installs != 1 || !bytes.Equal(sink.copy["000007.sst"], src.files["000007.sst"]) {
				t.Fatalf("copy installed %d times, sst of %d bytes", sink.installs, len(sink.copy["000007.sst"]))
			}
			raw, wire := m.Stream.Raw.Load(), m.Stream.Wire.Load()
			if tc.want == CompressNone && raw != wire {
				t.Errorf("no compression, yet %d raw bytes went out as %d", raw, wire)
			}
			if tc.want != CompressNone && wire*3 > raw {
				t.Errorf("%s: %d raw bytes went out as %d, want at least 3x smaller", tc.want, raw, wire)
			}
			t.Logf("%s: %d bytes -> %d on the wire (%.1fx)", tc.want, raw, wire, float64(raw)/float64(wire))
		})
	}
}

// liveDir makes a follower's data directory holding the given files.
func liveDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func names(m map[string][]byte) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestReplFullCopyKeepsFiles: SST files the follower already holds (same identity,
// name, size and tail) are not sent again; everything else is.
func TestReplFullCopyKeepsFiles(t *testing.T) {
	same := randomBytes(1<<20, 10)
	sameName := randomBytes(1<<20, 11) // same name and size on both sides, other content
	ownOld := randomBytes(1<<20, 12)   // only the follower has it
	master := map[string][]byte{
		"IDENTITY":        []byte("4a9a3c1e-identity\n"),
		"CURRENT":         []byte("MANIFEST-000020\n"),
		"MANIFEST-000020": randomBytes(3000, 13),
		"000010.sst":      same,
		"000011.sst":      sameName,
		"000021.sst":      randomBytes(200<<10, 14),
	}
	follower := map[string][]byte{
		"IDENTITY":        []byte("4a9a3c1e-identity\n"),
		"CURRENT":         []byte("MANIFEST-000008\n"),
		"MANIFEST-000008": randomBytes(2000, 15),
		"000010.sst":      same,
		"000011.sst":      randomBytes(1<<20, 16),
		"000004.sst":      ownOld,
	}
	for _, tc := range []struct {
		name        string
		identity    string
		wantKept    int64
		compression string
	}{
		{"same identity", "4a9a3c1e-identity\n", 1, CompressNone},
		{"same identity zstd", "4a9a3c1e-identity\n", 1, CompressZstd},
		{"other identity", "5b0b4d2f-identity\n", 0, CompressNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource(t)
			appendText(t, src, 10)
			for n, b := range master {
				src.setFile(n, b)
			}
			files := map[string][]byte{}
			for n, b := range follower {
				files[n] = b
			}
			files["IDENTITY"] = []byte(tc.identity)
			dir := liveDir(t, files)
			m := startMaster(t, src, MasterOptions{Compression: tc.compression}, nil)
			sink := &fakeSink{dataDir: dir}
			f := startFollower(t, m.addr, sink, FollowerOptions{})
			waitUntil(t, "link up", f.LinkUp)
			sink.mu.Lock()
			got := sink.copy
			sink.mu.Unlock()
			if !equalStrings(names(got), names(master)) {
				t.Fatalf("installed copy holds %v, want %v", names(got), names(master))
			}
			for n, b := range master {
				if !bytes.Equal(got[n], b) {
					t.Errorf("installed %s differs from the master's", n)
				}
			}
			if k := m.CopyFilesKept.Load(); k != tc.wantKept || f.KeptFiles.Load() != tc.wantKept {
				t.Errorf("master kept %d files, follower %d, want %d", k, f.KeptFiles.Load(), tc.wantKept)
			}
			var wantSent int64
			for n, b := range master {
				if tc.wantKept == 0 || n != "000010.sst" {
					wantSent += int64(len(b))
				}
			}
			if s := m.CopyBytesSent.Load(); s != wantSent {
				t.Errorf("master sent %d file bytes, want %d", s, wantSent)
			}
			// The live files were linked, never written through.
			for n, b := range files {
				live, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil || !bytes.Equal(live, b) {
					t.Errorf("live file %s changed (%v)", n, err)
				}
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReplContinueDropsStagedFiles: when the master can continue from the log, the
// files staged for a copy are removed again and the live data is untouched.
func TestReplContinueDropsStagedFiles(t *testing.T) {
	src := newFakeSource(t)
	appendText(t, src, 50)
	dir := liveDir(t, map[string][]byte{"IDENTITY": []byte("x\n"), "000010.sst": randomBytes(1000, 1)})
	sink := &fakeSink{dataDir: dir, history: src.history, next: 21}
	m := startMaster(t, src, MasterOptions{Compression: CompressZstd}, nil)
	copyDir := filepath.Join(t.TempDir(), "copy")
	f := startFollower(t, m.addr, sink, FollowerOptions{CopyDir: copyDir})
	waitUntil(t, "records 21..50", func() bool { return sink.applied() == 30 })
	if f.PartialSync.Load() != 1 || f.FullSyncs.Load() != 0 {
		t.Fatalf("partial syncs %d, full %d; want 1, 0", f.PartialSync.Load(), f.FullSyncs.Load())
	}
	if _, err := os.Stat(copyDir); !os.IsNotExist(err) {
		t.Fatalf("copy dir after a partial sync: %v, want it gone", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "000010.sst")); err != nil {
		t.Fatal(err)
	}
}

// TestReplTLS: a follower dials its master over TLS, checking the master's certificate
// against the CA; with another CA it does not connect.
func TestReplTLS(t *testing.T) {
	ca := testtls.New(t)
	src := newFakeSource(t)
	appendText(t, src, 100)
	src.setFile("CURRENT", []byte("MANIFEST-000001\n"))
	m := startMaster(t, src, MasterOptions{Compression: CompressZstd}, &tls.Config{Certificates: []tls.Certificate{ca.Cert}})

	tc, err := ClientTLS(ca.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	sink := &fakeSink{}
	f := startFollower(t, m.addr, sink, FollowerOptions{TLS: tc})
	waitUntil(t, "link up over TLS", f.LinkUp)
	appendText(t, src, 500)
	waitUntil(t, "records over TLS", func() bool { return sink.applied() == 500 })
	if f.Compression() != CompressZstd {
		t.Errorf("compression over TLS = %q, want zstd", f.Compression())
	}

	other := testtls.New(t)
	tc2, err := ClientTLS(other.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	sink2 := &fakeSink{}
	f2 := startFollower(t, m.addr, sink2, FollowerOptions{TLS: tc2})
	time.Sleep(500 * time.Millisecond)
	sink2.mu.Lock()
	installs := sink2.installs
	sink2.mu.Unlock()
	if f2.LinkUp() || installs != 0 {
		t.Fatal("a follower trusting another CA got a link")
	}
	// Plain TCP to a TLS master gets nowhere either.
	f3 := startFollower(t, m.addr, &fakeSink{}, FollowerOptions{Timeout: time.Second})
	time.Sleep(300 * time.Millisecond)
	if f3.LinkUp() {
		t.Fatal("a plain-TCP follower got a link to a TLS master")
	}

	if _, err := ClientTLS(filepath.Join(t.TempDir(), "missing.pem"), "", ""); err == nil {
		t.Error("ClientTLS with a missing CA file succeeded")
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := ClientTLS(notPEM, "", ""); err == nil {
		t.Error("ClientTLS with a CA file holding no certificate succeeded")
	}
	if c, err := ClientTLS(ca.CAFile, ca.CertFile, ca.KeyFile); err != nil || len(c.Certificates) != 1 {
		t.Errorf("ClientTLS with a client certificate = %v", err)
	}
}
