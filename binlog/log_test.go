package binlog

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var hist = [20]byte{0xde, 0xad, 0xbe, 0xef}

func openLog(t *testing.T, dir string, edit ...func(*Options)) *Log {
	t.Helper()
	o := Options{Dir: dir, MaxFileSize: 1 << 20, Sync: SyncNo}
	for _, e := range edit {
		e(&o)
	}
	l, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func appendN(t *testing.T, l *Log, n int, size int) {
	t.Helper()
	for i := 0; i < n; i++ {
		payload := bytes.Repeat([]byte{byte(i)}, size)
		if _, err := l.Append(hist, int64(1000+i), payload); err != nil {
			t.Fatal(err)
		}
	}
}

func readAll(t *testing.T, l *Log, from uint64) []Record {
	t.Helper()
	r, err := l.NewReader(from)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		rec.Changes = append([]byte(nil), rec.Changes...)
		out = append(out, rec)
	}
}

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	first, err := l.Append(hist, 5, []byte("a"), []byte("b"), []byte("c"))
	if err != nil || first != 1 {
		t.Fatalf("append = %d, %v", first, err)
	}
	recs := readAll(t, l, 2)
	if len(recs) != 2 || string(recs[0].Changes) != "b" || recs[1].ID != 3 || recs[1].History != hist || recs[1].Time != 5 {
		t.Fatalf("records = %+v", recs)
	}
	l.Close()
	l = openLog(t, dir)
	if l.LastID() != 3 {
		t.Fatalf("last id after reopen = %d", l.LastID())
	}
	if id, _ := l.Append(hist, 6, []byte("d")); id != 4 {
		t.Fatalf("next id = %d", id)
	}
}

func TestRotationAndReaderAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.MaxFileSize = 4096 })
	appendN(t, l, 200, 100)
	st := l.Stats()
	if st.Files < 5 {
		t.Fatalf("expected rotation into several files, got %d", st.Files)
	}
	segs, _ := listSegments(dir)
	for i := 1; i < len(segs); i++ {
		if segs[i-1].size < 4096 && i < len(segs) {
			t.Fatalf("segment %s rotated early at %d bytes", segs[i-1].path, segs[i-1].size)
		}
	}
	recs := readAll(t, l, 57)
	if len(recs) != 144 || recs[0].ID != 57 || recs[143].ID != 200 {
		t.Fatalf("read %d records from 57", len(recs))
	}
	for _, r := range recs {
		if r.Changes[0] != byte(r.ID-1) {
			t.Fatalf("record %d holds wrong payload", r.ID)
		}
	}
	l.Close()
	l = openLog(t, dir, func(o *Options) { o.MaxFileSize = 4096 })
	if l.LastID() != 200 {
		t.Fatalf("reopened last id = %d", l.LastID())
	}
}

func TestReaderFollowsAppends(t *testing.T) {
	l := openLog(t, t.TempDir(), func(o *Options) { o.MaxFileSize = 2048 })
	r, err := l.NewReader(1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("empty log: %v", err)
	}
	for i := 1; i <= 100; i++ {
		notify := l.Notify()
		go l.Append(hist, 1, []byte(fmt.Sprint(i)))
		select {
		case <-notify:
		case <-time.After(5 * time.Second):
			t.Fatal("no notification")
		}
		rec, err := r.Next()
		if err != nil || rec.ID != uint64(i) || string(rec.Changes) != fmt.Sprint(i) {
			t.Fatalf("record %d: %+v %v", i, rec, err)
		}
	}
}

func lastSegment(t *testing.T, dir string) string {
	segs, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatal(err)
	}
	return segs[len(segs)-1].path
}

func TestTornTailIsTruncated(t *testing.T) {
	for name, tear := range map[string]func(path string, size int64){
		"cut": func(p string, size int64) { os.Truncate(p, size-7) },
		"zeroes": func(p string, size int64) {
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.Write(make([]byte, 100))
			f.Close()
		},
		"badcrc-last": func(p string, size int64) {
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			f.WriteAt([]byte{0xff}, size-3)
			f.Close()
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir)
			appendN(t, l, 10, 50)
			l.Close()
			path := lastSegment(t, dir)
			info, _ := os.Stat(path)
			tear(path, info.Size())
			var warned string
			l = openLog(t, dir, func(o *Options) { o.Warn = func(m string) { warned = m } })
			want := uint64(10)
			if name != "zeroes" {
				want = 9
			}
			if l.LastID() != want {
				t.Fatalf("last id after recovery = %d, want %d", l.LastID(), want)
			}
			if name != "zeroes" && !strings.Contains(warned, filepath.Base(path)) {
				t.Fatalf("warning does not name the file: %q", warned)
			}
			if warned != "" {
				kept, _ := filepath.Glob(path + ".torn-*")
				if len(kept) != 1 {
					t.Fatalf("cut bytes not kept: %v", kept)
				}
			}
			if id, err := l.Append(hist, 1, []byte("after")); err != nil || id != want+1 {
				t.Fatalf("append after recovery = %d %v", id, err)
			}
			if recs := readAll(t, l, 1); len(recs) != int(want)+1 {
				t.Fatalf("read %d records", len(recs))
			}
		})
	}
}

func TestMidLogCorruptionRefusesToOpen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	appendN(t, l, 10, 50)
	l.Close()
	path := lastSegment(t, dir)
	data, _ := os.ReadFile(path)
	first := len(appendFrame(nil, TypeHeader, headerPayload(1)))
	data[first+headerSize+20] ^= 0x01 // inside the first change record's payload
	os.WriteFile(path, data, 0o644)
	_, err := Open(Options{Dir: dir, Sync: SyncNo})
	if !IsCorruption(err) {
		t.Fatalf("open corrupt log: %v", err)
	}
	if !strings.Contains(err.Error(), filepath.Base(path)) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", first)) {
		t.Fatalf("error does not say where: %v", err)
	}
	if _, err := Verify(dir); !IsCorruption(err) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", first)) {
		t.Fatalf("verify: %v", err)
	}
}

func TestCorruptionInOlderSegment(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.MaxFileSize = 2048 })
	appendN(t, l, 100, 100)
	l.Close()
	segs, _ := listSegments(dir)
	// Cut the first segment short: in a segment that is not the last, that is damage.
	os.Truncate(segs[0].path, segs[0].size-5)
	_, err := Open(Options{Dir: dir, Sync: SyncNo, MaxFileSize: 2048})
	if !IsCorruption(err) || !strings.Contains(err.Error(), filepath.Base(segs[0].path)) {
		t.Fatalf("open: %v", err)
	}
}

func TestVerifySummary(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.MaxFileSize = 2048 })
	appendN(t, l, 50, 100)
	l.Close()
	sum, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 50 || sum.FirstID != 1 || sum.LastID != 50 || sum.Files < 2 || sum.TornTail != "" {
		t.Fatalf("summary %+v", sum)
	}
	path := lastSegment(t, dir)
	info, _ := os.Stat(path)
	os.Truncate(path, info.Size()-3)
	sum, err = Verify(dir)
	if err != nil || sum.TornTail == "" || sum.LastID != 49 {
		t.Fatalf("verify torn: %+v %v", sum, err)
	}
}

func TestPurge(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.MaxFileSize = 2048; o.Retention = time.Hour; o.MaxTotalSize = 1 << 30 })
	appendN(t, l, 100, 100)
	files := l.Stats().Files
	if n, _ := l.Purge(100, ^uint64(0), time.Now()); n != 0 {
		t.Fatalf("purged %d young segments", n)
	}
	if n, _ := l.Purge(0, ^uint64(0), time.Now().Add(2*time.Hour)); n != 0 {
		t.Fatalf("purged %d segments not yet applied", n)
	}
	early, _ := l.Purge(100, 30, time.Now().Add(2*time.Hour))
	if early >= files-1 || l.FirstID() > 30 {
		t.Fatalf("purged %d segments (first id now %d) a follower still needs from 30", early, l.FirstID())
	}
	n, err := l.Purge(100, ^uint64(0), time.Now().Add(2*time.Hour))
	n += early
	if err != nil || n != files-1 {
		t.Fatalf("purged %d of %d: %v", n, files, err)
	}
	if _, err := l.NewReader(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reader of purged id: %v", err)
	}
	if l.FirstID() <= 1 {
		t.Fatalf("first id after purge = %d", l.FirstID())
	}
	appendN(t, l, 1, 10)
	if l.LastID() != 101 {
		t.Fatalf("last id = %d", l.LastID())
	}
}

func TestSizeLimitPurge(t *testing.T) {
	l := openLog(t, t.TempDir(), func(o *Options) { o.MaxFileSize = 2048; o.MaxTotalSize = 8192 })
	appendN(t, l, 100, 100)
	if _, err := l.Purge(100, ^uint64(0), time.Now()); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.TotalSize > 8192+2048 {
		t.Fatalf("total size %d after purge", st.TotalSize)
	}
}

func TestSetLastID(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	if err := l.SetLastID(500); err != nil {
		t.Fatal(err)
	}
	if id, _ := l.Append(hist, 1, []byte("x")); id != 501 {
		t.Fatalf("append after SetLastID = %d", id)
	}
	l.Close()
	l = openLog(t, dir)
	if l.LastID() != 501 {
		t.Fatalf("last id after reopen = %d", l.LastID())
	}
	if recs := readAll(t, l, 501); len(recs) != 1 {
		t.Fatalf("read %d", len(recs))
	}
}

func TestSyncPolicyParse(t *testing.T) {
	for _, s := range []string{"always", "everysec", "no"} {
		p, err := ParseSyncPolicy(s)
		if err != nil || p.String() != s {
			t.Fatalf("%s: %v %v", s, p, err)
		}
	}
	if _, err := ParseSyncPolicy("sometimes"); err == nil {
		t.Fatal("bad policy accepted")
	}
}

// The segment bytes are the on-disk format: any change to them must be deliberate.
func TestGoldenSegment(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	l.Append(hist, 1700000000000, []byte("first change"), []byte{})
	l.Append(hist, 1700000000001, []byte("third"))
	l.Close()
	got, err := os.ReadFile(lastSegment(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.binlog")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("segment bytes differ from %s:\n got %x\nwant %x", golden, got, want)
	}
}

func FuzzFrameDecoder(f *testing.F) {
	f.Add(appendChange(nil, &Record{ID: 1, History: hist, Time: 2, Changes: []byte("x")}))
	f.Add(appendFrame(nil, TypeHeader, headerPayload(1)))
	f.Add([]byte{})
	f.Add(make([]byte, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := &frameReader{r: bytes.NewReader(data)}
		for i := 0; i < 1000; i++ {
			typ, payload, err := fr.next()
			if err != nil {
				return
			}
			if typ == TypeChange {
				if _, err := DecodeChange(payload); err != nil && !IsCorruption(err) {
					t.Fatalf("decode error is not corruption: %v", err)
				}
			}
			if fr.off > int64(len(data)) {
				t.Fatalf("offset %d past input %d", fr.off, len(data))
			}
		}
	})
}

// Concurrent writers waiting for durability share fsyncs instead of paying one each.
func TestWaitDurableSharesFsyncs(t *testing.T) {
	var syncs atomic.Int64
	l := openLog(t, t.TempDir(), func(o *Options) {
		o.Sync = SyncAlways
		o.OpenFile = func(path string, flag int, perm os.FileMode) (File, error) {
			f, err := os.OpenFile(path, flag, perm)
			if err != nil {
				return nil, err
			}
			return countingFile{File: f, n: &syncs}, nil
		}
	})
	const writers, each = 20, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id, err := l.Append(hist, 1, []byte("x"))
				if err == nil {
					err = l.WaitDurable(id)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := syncs.Load()
	t.Logf("%d durable appends took %d fsyncs", writers*each, n)
	if n >= writers*each {
		t.Fatalf("%d fsyncs for %d appends: waiters did not share", n, writers*each)
	}
}

type countingFile struct {
	*os.File
	n *atomic.Int64
}

func (f countingFile) Sync() error {
	f.n.Add(1)
	return f.File.Sync()
}
