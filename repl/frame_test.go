package repl

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/strata-kv/strata/binlog"
)

// textRecords builds records whose changes look like a JSON-ish write workload.
func textRecords(first uint64, n int) []binlog.Record {
	recs := make([]binlog.Record, n)
	for i := range recs {
		id := first + uint64(i)
		var r binlog.Record
		r.ID = id
		copy(r.History[:], "master-history-00001")
		r.Time = 1700000000000 + int64(id)
		r.Changes = fmt.Appendf(nil, `m|0|user:%d:profile {"name":"user %d","email":"user%d@example.com","plan":"free","visits":%d,"tags":["a","b"]}`, id, id, id, id*7)
		recs[i] = r
	}
	return recs
}

func recordsPayload(recs []binlog.Record) []byte {
	p := binary.LittleEndian.AppendUint32(nil, uint32(len(recs)))
	for i := range recs {
		p = appendRecord(p, &recs[i])
	}
	return p
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestFrameRoundTripCompress(t *testing.T) {
	text := recordsPayload(textRecords(1, 500))
	random := randomBytes(300<<10, 1)
	frames := []struct {
		typ        byte
		payload    []byte
		compressed bool // expected with a codec
	}{
		{frameRecords, text, true},
		{frameHeartbeat, make([]byte, 16), false}, // too small to bother
		{frameChunk, random, false},               // does not shrink
		{frameCopyDone, nil, false},
		{frameChunk, bytes.Repeat([]byte("abcdefgh"), 1<<17), true}, // 1MB
		{frameFile, appendFileHeader(nil, "000012.sst", 1234), false},
		{frameRecords, recordsPayload(textRecords(501, 1)), false},
	}
	for _, name := range []string{CompressNone, CompressZstd, CompressSnappy} {
		t.Run(name, func(t *testing.T) {
			cd, ok := parseCodec(name)
			if !ok {
				t.Fatalf("parseCodec(%q) failed", name)
			}
			var wire bytes.Buffer
			var stats StreamStats
			fw := &frameWriter{w: bufio.NewWriter(&wire), codec: cd, stats: &stats}
			var raw int64
			for _, f := range frames {
				if err := fw.write(f.typ, f.payload); err != nil {
					t.Fatal(err)
				}
				raw += int64(len(f.payload))
			}
			if err := fw.w.Flush(); err != nil {
				t.Fatal(err)
			}
			if stats.Raw.Load() != raw {
				t.Errorf("stats.Raw = %d, want %d", stats.Raw.Load(), raw)
			}
			if got := int64(wire.Len()) - 5*int64(len(frames)); got != stats.Wire.Load() {
				t.Errorf("stats.Wire = %d, but %d payload bytes were written", stats.Wire.Load(), got)
			}
			// Check the flag bit on the wire, then decode with frameReader.
			rd := bufio.NewReader(bytes.NewReader(wire.Bytes()))
			for i, f := range frames {
				typ, _, err := readFrame(rd, nil)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				want := f.typ
				if f.compressed && cd != codecNone {
					want |= frameCompressed
				}
				if typ != want {
					t.Errorf("frame %d: wire type %#x, want %#x", i, typ, want)
				}
			}
			fr := &frameReader{r: bufio.NewReader(bytes.NewReader(wire.Bytes())), codec: cd}
			for i, f := range frames {
				typ, payload, err := fr.next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if typ != f.typ || !bytes.Equal(payload, f.payload) {
					t.Fatalf("frame %d: got type %d and %d bytes, want type %d and %d bytes", i, typ, len(payload), f.typ, len(f.payload))
				}
				if f.typ == frameRecords {
					recs, err := decodeRecords(payload)
					if err != nil || len(recs) == 0 {
						t.Fatalf("frame %d: decodeRecords = %d records, %v", i, len(recs), err)
					}
				}
			}
			if _, _, err := fr.next(); err != io.EOF {
				t.Fatalf("after the last frame: %v, want EOF", err)
			}
			if cd != codecNone && stats.Wire.Load() >= stats.Raw.Load()*3/4 {
				t.Errorf("%s: %d bytes on the wire for %d, want real compression", name, stats.Wire.Load(), stats.Raw.Load())
			}
		})
	}
}

// TestCompressedFrameCorrupt: a broken compressed payload is a protocol error, never
// a panic or a huge allocation.
func TestCompressedFrameCorrupt(t *testing.T) {
	text := recordsPayload(textRecords(1, 200))
	frame := func(typ byte, p []byte) []byte {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		if err := writeFrame(w, typ, p); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		return b.Bytes()
	}
	read := func(cd codec, wire []byte) error {
		fr := &frameReader{r: bufio.NewReader(bytes.NewReader(wire)), codec: cd}
		_, _, err := fr.next()
		return err
	}
	for _, cd := range []codec{codecZstd, codecSnappy} {
		c, ok := cd.compress(nil, text)
		if !ok {
			t.Fatalf("%s did not compress %d bytes of text", cd, len(text))
		}
		c = append([]byte(nil), c...)
		if err := read(cd, frame(frameRecords|frameCompressed, c)); err != nil {
			t.Fatalf("%s: intact frame: %v", cd, err)
		}
		for _, cut := range []int{0, 1, len(c) / 2, len(c) - 1} {
			if err := read(cd, frame(frameRecords|frameCompressed, c[:cut])); !errors.Is(err, ErrProtocol) {
				t.Errorf("%s: payload cut to %d bytes: %v, want ErrProtocol", cd, cut, err)
			}
		}
		r := rand.New(rand.NewPCG(7, uint64(cd)))
		for i := 0; i < 200; i++ {
			bad := append([]byte(nil), c...)
			bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
			err := read(cd, frame(frameRecords|frameCompressed, bad))
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Fatalf("%s: flipped byte: %v, want nil or ErrProtocol", cd, err)
			}
		}
		// The other codec's bytes.
		other := codecSnappy
		if cd == codecSnappy {
			other = codecZstd
		}
		if err := read(other, frame(frameRecords|frameCompressed, c)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s payload read as %s: %v, want ErrProtocol", cd, other, err)
		}
	}
	// A compressed frame on a stream without compression.
	if err := read(codecNone, frame(frameRecords|frameCompressed, text)); !errors.Is(err, ErrProtocol) {
		t.Errorf("compressed frame on a plain stream: %v, want ErrProtocol", err)
	}
	// A snappy block claiming a 1GB result is refused before anything is allocated.
	huge := binary.AppendUvarint(nil, 1<<30)
	huge = append(huge, 0, 0, 0, 0)
	if err := read(codecSnappy, frame(frameChunk|frameCompressed, huge)); !errors.Is(err, ErrProtocol) {
		t.Errorf("snappy block of 1GB: %v, want ErrProtocol", err)
	}
	// A frame header announcing more than maxFrame.
	hdr := []byte{frameChunk | frameCompressed, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(hdr[1:], maxFrame+1)
	if err := read(codecZstd, hdr); !errors.Is(err, ErrProtocol) {
		t.Errorf("frame of maxFrame+1 bytes: %v, want ErrProtocol", err)
	}
}

func TestDecodeRecordsCorrupt(t *testing.T) {
	recs := textRecords(10, 5)
	recs = append(recs, binlog.Record{ID: 15}) // empty changes
	p := recordsPayload(recs)
	got, err := decodeRecords(p)
	if err != nil || len(got) != len(recs) {
		t.Fatalf("decodeRecords(valid) = %d records, %v", len(got), err)
	}
	for i := range recs {
		if got[i].ID != recs[i].ID || got[i].History != recs[i].History || got[i].Time != recs[i].Time || !bytes.Equal(got[i].Changes, recs[i].Changes) {
			t.Fatalf("record %d: got %+v, want %+v", i, got[i], recs[i])
		}
	}
	for cut := 0; cut < len(p); cut++ {
		if _, err := decodeRecords(p[:cut]); !errors.Is(err, ErrProtocol) {
			t.Fatalf("payload cut to %d of %d bytes: %v, want ErrProtocol", cut, len(p), err)
		}
	}
	if _, err := decodeRecords(append(append([]byte(nil), p...), 0)); !errors.Is(err, ErrProtocol) {
		t.Fatalf("trailing byte: %v, want ErrProtocol", err)
	}
	// A count far beyond what the bytes can hold must not allocate for it.
	bad := append([]byte(nil), p...)
	binary.LittleEndian.PutUint32(bad, 0xffffffff)
	if _, err := decodeRecords(bad); !errors.Is(err, ErrProtocol) {
		t.Fatalf("count 2^32-1: %v, want ErrProtocol", err)
	}
	// A record length past the end.
	bad = append([]byte(nil), p...)
	binary.LittleEndian.PutUint32(bad[4+36:], 0xfffffff0)
	if _, err := decodeRecords(bad); !errors.Is(err, ErrProtocol) {
		t.Fatalf("huge record length: %v, want ErrProtocol", err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		bad := append([]byte(nil), p...)
		for j := 0; j <= r.IntN(3); j++ {
			bad[r.IntN(len(bad))] = byte(r.Uint32())
		}
		if _, err := decodeRecords(bad); err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("corrupted payload: %v, want nil or ErrProtocol", err)
		}
	}
}

// FuzzDecodeRecords: any input either decodes into records that encode back to the
// same bytes, or fails with ErrProtocol. Seeds live in testdata/fuzz/FuzzDecodeRecords.
func FuzzDecodeRecords(f *testing.F) {
	f.Add(recordsPayload(textRecords(1, 3)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		recs, err := decodeRecords(p)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if back := recordsPayload(recs); !bytes.Equal(back, p) {
			t.Fatalf("%d records re-encode to %x, input was %x", len(recs), back, p)
		}
	})
}

// FuzzFrameReader: a compressed stream of any bytes yields frames or an error, never
// a panic; a decoded frame never exceeds maxFrame.
func FuzzFrameReader(f *testing.F) {
	var b bytes.Buffer
	for _, cd := range []codec{codecZstd, codecSnappy} {
		b.Reset()
		fw := &frameWriter{w: bufio.NewWriter(&b), codec: cd}
		fw.write(frameRecords, recordsPayload(textRecords(1, 20)))
		fw.write(frameHeartbeat, make([]byte, 16))
		fw.w.Flush()
		f.Add(byte(cd), append([]byte(nil), b.Bytes()...))
	}
	f.Fuzz(func(t *testing.T, c byte, wire []byte) {
		cd := codec(c % 3)
		fr := &frameReader{r: bufio.NewReader(bytes.NewReader(wire)), codec: cd}
		for {
			typ, p, err := fr.next()
			if err != nil {
				return
			}
			if typ&frameCompressed != 0 || len(p) > maxFrame {
				t.Fatalf("frame type %#x of %d bytes", typ, len(p))
			}
		}
	})
}

func TestParseHaveFiles(t *testing.T) {
	tail := "0123456789abcdef0123456789abcdef"
	m := map[string]FileSig{}
	list := FormatHaveFile("000010.sst", FileSig{Size: 100, Tail: tail}) + "," + FormatHaveFile("000011.sst", FileSig{Size: 0, Tail: tail})
	if err := ParseHaveFiles(m, list); err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["000010.sst"] != (FileSig{100, tail}) || m["000011.sst"] != (FileSig{0, tail}) {
		t.Fatalf("ParseHaveFiles = %v", m)
	}
	for _, bad := range []string{"MANIFEST-000005:10:" + tail, "000010.sst:-1:" + tail, "000010.sst:10", "../x.sst:1:" + tail, "a.sst:x:" + tail, "a.sst:1:short", ","} {
		if err := ParseHaveFiles(map[string]FileSig{}, bad); !errors.Is(err, ErrProtocol) {
			t.Errorf("ParseHaveFiles(%q) = %v, want ErrProtocol", bad, err)
		}
	}
}

// TestThrottle: throttled holds a writer to repl_max_bandwidth, roughly.
func TestThrottle(t *testing.T) {
	var sink bytes.Buffer
	if w := throttled(&sink, 0); w != io.Writer(&sink) {
		t.Fatal("throttled(w, 0) should be w itself")
	}
	const rate = 2 << 20 // 2MB/s
	w := throttled(&sink, rate)
	chunk := make([]byte, 32<<10)
	start := time.Now()
	total := 0
	for total < rate/2 { // 1MB: half a second
		n, err := w.Write(chunk)
		if err != nil || n != len(chunk) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		total += n
	}
	elapsed := time.Since(start)
	if elapsed < 400*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("%d bytes at %d B/s took %s, want about 500ms", total, rate, elapsed)
	}
	if sink.Len() != total {
		t.Fatalf("%d bytes reached the writer, want %d", sink.Len(), total)
	}
}
