package repl

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-kv/strata/binlog"
	"github.com/strata-kv/strata/store"
)

// realisticWorkload writes n commands of a web-application mix through a real store,
// so the binlog holds the store's own change encoding: JSON profiles with TTLs,
// session hashes with random tokens, event-log lists, a leaderboard, counters, tags.
func realisticWorkload(t testing.TB, st *store.Store, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(42, 43))
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	plans := []string{"free", "pro", "team", "enterprise"}
	pages := []string{"/", "/login", "/cart", "/checkout", "/search?q=shoes", "/product/1234", "/account/settings"}
	token := func() []byte {
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return fmt.Appendf(nil, "%x", b)
	}
	for i := 0; i < n; i++ {
		tx := st.Begin()
		uid := r.IntN(50000)
		var err error
		switch op := r.IntN(100); {
		case op < 35:
			v := fmt.Appendf(nil, `{"id":%d,"name":"%s %d","email":"%s%d@example.com","plan":"%s","created":%d,"last_login":%d,"prefs":{"lang":"en","tz":"Europe/Paris","newsletter":%t}}`,
				uid, names[uid%len(names)], uid, names[uid%len(names)], uid, plans[r.IntN(len(plans))], 1600000000+r.IntN(1e8), 1700000000+r.IntN(1e7), r.IntN(2) == 0)
			_, err = tx.Set(0, fmt.Appendf(nil, "user:%d:profile", uid), v, store.SetOptions{ExpireAt: tx.Now() + int64(r.IntN(86400000))})
		case op < 55:
			_, err = tx.HSet(0, fmt.Appendf(nil, "session:%s", token()), []store.FieldValue{
				{Field: []byte("user_id"), Value: fmt.Appendf(nil, "%d", uid)},
				{Field: []byte("csrf"), Value: token()},
				{Field: []byte("ip"), Value: fmt.Appendf(nil, "10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256))},
				{Field: []byte("ua"), Value: []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")},
			})
		case op < 75:
			line := fmt.Appendf(nil, "%d GET %s 200 %dms user=%d", time.Now().UnixMilli()+int64(i), pages[r.IntN(len(pages))], r.IntN(900), uid)
			_, err = tx.ListPush(0, fmt.Appendf(nil, "events:%d", uid%1000), true, false, line)
		case op < 85:
			_, err = tx.ZAdd(0, []byte("leaderboard:weekly"), store.ZAddOptions{}, []store.ScoredMember{{Member: fmt.Appendf(nil, "user:%d", uid), Score: float64(r.IntN(100000))}})
		case op < 95:
			_, err = tx.IncrBy(0, fmt.Appendf(nil, "counter:page:%s", pages[r.IntN(len(pages))]), 1)
		default:
			_, err = tx.SAdd(0, fmt.Appendf(nil, "tags:%d", uid%5000), [][]byte{[]byte(plans[r.IntN(len(plans))]), []byte("beta"), fmt.Appendf(nil, "cohort-%d", r.IntN(20))})
		}
		if err == nil {
			err = st.Commit(tx)
		}
		tx.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

type measured struct {
	raw, wire   int64
	comp, decom time.Duration // CPU time of this thread
}

func (m measured) String() string {
	mbs := func(d time.Duration) float64 { return float64(m.raw) / (1 << 20) / max(d, time.Microsecond).Seconds() }
	return fmt.Sprintf("ratio %5.2fx  compress %6.0f MB/s  decompress %6.0f MB/s (of uncompressed data, per core)", float64(m.raw)/float64(m.wire), mbs(m.comp), mbs(m.decom))
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure compresses every payload, then decompresses the results, timing both on
// one locked thread so that other load on the machine does not count.
func measure(t testing.TB, cd codec, payloads [][]byte) measured {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var m measured
	out := make([][]byte, len(payloads))
	var buf []byte
	start := threadCPU()
	for i, p := range payloads {
		c, ok := cd.compress(buf, p)
		m.raw += int64(len(p))
		if !ok {
			m.wire += int64(len(p))
			buf = c
			continue
		}
		m.wire += int64(len(c))
		out[i] = append([]byte(nil), c...)
		buf = c[:0]
	}
	m.comp = threadCPU() - start
	var dst []byte
	start = threadCPU()
	for i, c := range out {
		if c == nil {
			continue
		}
		d, err := cd.decompress(dst, c)
		if err != nil || len(d) != len(payloads[i]) {
			t.Fatalf("%s round trip: %v", cd, err)
		}
		dst = d[:0]
	}
	m.decom = threadCPU() - start
	return m
}

// TestCompressRealisticStream measures the codecs on a realistic stream: records
// batched as the master batches them (one per frame when followers keep up, many
// when they catch up), and the SST chunks of a full copy. It logs ratio and speed
// (go test -run CompressRealistic -v ./repl), and checks zstd pays on catch-up.
func TestCompressRealisticStream(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	dir := t.TempDir()
	bl, err := binlog.Open(binlog.Options{Dir: filepath.Join(dir, "binlog"), MaxFileSize: 1 << 30, Sync: binlog.SyncNo, MaxTotalSize: 4 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	opts := store.DefaultOptions(filepath.Join(dir, "db"))
	opts.Log = bl
	opts.BlockCacheSize, opts.WriteBufferSize = 8<<20, 8<<20
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 60000
	if s := os.Getenv("STRATA_MEASURE_COMMANDS"); s != "" {
		fmt.Sscan(s, &n)
	}
	realisticWorkload(t, st, n)

	var recs []binlog.Record
	rd, err := bl.NewReader(bl.FirstID())
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		r.Changes = append([]byte(nil), r.Changes...)
		recs = append(recs, r)
	}
	rd.Close()
	batches := func(per int) [][]byte {
		var out [][]byte
		for i := 0; i < len(recs); i += per {
			var p []byte
			p = binary.LittleEndian.AppendUint32(p, 0)
			cnt := 0
			for j := i; j < len(recs) && j < i+per && len(p) < 1<<20; j++ {
				p = appendRecord(p, &recs[j])
				cnt++
			}
			binary.LittleEndian.PutUint32(p, uint32(cnt))
			out = append(out, p)
		}
		return out
	}
	cp := filepath.Join(dir, "checkpoint")
	if _, _, err := st.Checkpoint(cp); err != nil {
		t.Fatal(err)
	}
	var chunks [][]byte
	ents, _ := os.ReadDir(cp)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".sst") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(cp, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for len(b) > 0 {
			k := min(len(b), 1<<20)
			chunks = append(chunks, b[:k])
			b = b[k:]
		}
	}
	var size int
	for _, r := range recs {
		size += len(r.Changes) + 40
	}
	t.Logf("%d records, %.1f MB in frames; SST (RocksDB lz4) %d chunks", len(recs), float64(size)/(1<<20), len(chunks))
	var zstdCatchUp measured
	for _, set := range []struct {
		name     string
		payloads [][]byte
	}{
		{"records, 1 per frame (live)", batches(1)},
		{"records, 16 per frame", batches(16)},
		{"records, 4096 per frame (catch-up)", batches(4096)},
		{"SST chunks of 1MB (full copy)", chunks},
	} {
		for _, cd := range []codec{codecZstd, codecSnappy} {
			m := measure(t, cd, set.payloads)
			t.Logf("%-36s %-6s %s", set.name, cd, m)
			if cd == codecZstd && strings.Contains(set.name, "catch-up") {
				zstdCatchUp = m
			}
		}
	}
	if zstdCatchUp.wire*2 > zstdCatchUp.raw {
		t.Errorf("zstd on batched records: %d -> %d bytes, want at least 2x", zstdCatchUp.raw, zstdCatchUp.wire)
	}
}
