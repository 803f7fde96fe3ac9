package tools

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"
)

type kv struct{ k, v string }

// testEntries returns n records in key order, some metadata ("m"), some members.
func testEntries(n int) []kv {
	out := make([]kv, 0, n)
	for i := 0; i < n; i++ {
		p := "s"
		if i < n/3 {
			p = "m"
		}
		// Keys sort by prefix then number; values vary in size and compressibility.
		k := fmt.Sprintf("%s\x00key-%08d", p, i)
		v := strings.Repeat(fmt.Sprintf("v%d-", i), i%17)
		if p == "m" {
			v = "\x01\x00\x00\x00\x00\x00\x00\x00\x00" + v // a string's metadata
		}
		out = append(out, kv{k, v})
	}
	return out
}

func writeTestDump(t testing.TB, entries []kv, blockLen int) ([]byte, DumpHeader) {
	t.Helper()
	var buf bytes.Buffer
	h := DumpHeader{Created: time.UnixMilli(1700000000123), BinlogID: 4242}
	copy(h.History[:], "0123456789abcdefghij")
	w, err := NewDumpWriter(&buf, h, DumpWriterOptions{BlockLen: blockLen})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := w.Add([]byte(e.k), []byte(e.v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(buf.Len()) {
		t.Fatalf("writer says %d bytes, wrote %d", w.Size(), buf.Len())
	}
	return buf.Bytes(), h
}

// readAll reads a dump and returns the entries handed out before the first error.
func readAll(data []byte) ([]kv, DumpHeader, DumpCounts, error) {
	r, err := NewDumpReader(bytes.NewReader(data))
	if err != nil {
		return nil, DumpHeader{}, DumpCounts{}, err
	}
	defer r.Close()
	var out []kv
	for {
		k, v, err := r.Next()
		if err == io.EOF {
			return out, r.Header(), r.Counts(), nil
		}
		if err != nil {
			return out, r.Header(), r.Counts(), err
		}
		out = append(out, kv{string(k), string(v)})
	}
}

func TestDumpFileRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			entries := testEntries(n)
			data, h := writeTestDump(t, entries, 4096)
			got, gh, counts, err := readAll(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(entries) {
				t.Fatalf("read %d entries, wrote %d", len(got), len(entries))
			}
			for i := range got {
				if got[i] != entries[i] {
					t.Fatalf("entry %d: %q, want %q", i, got[i], entries[i])
				}
			}
			if gh.BinlogID != h.BinlogID || gh.History != h.History || !gh.Created.Equal(h.Created) || gh.Version != DumpVersion {
				t.Fatalf("header %+v, want %+v", gh, h)
			}
			if counts.Entries != uint64(n) || counts.Keys != uint64(n/3) {
				t.Fatalf("counts %+v", counts)
			}
			if n == 1000 && counts.Blocks < 10 {
				t.Fatalf("%d blocks, want many with 4KB blocks", counts.Blocks)
			}
			if n == 0 && len(data) != dumpHeaderLen+trailerLen {
				t.Fatalf("empty dump is %d bytes, want %d", len(data), dumpHeaderLen+trailerLen)
			}
		})
	}
}

func TestDumpWriterRefusesDisorder(t *testing.T) {
	w, err := NewDumpWriter(io.Discard, DumpHeader{}, DumpWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add([]byte("b"), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Add([]byte("a"), nil); err == nil {
		t.Fatal("out-of-order record accepted")
	}
	if err := w.Add([]byte("b"), nil); err == nil {
		t.Fatal("duplicate record accepted")
	}
}

// Every cut of the file is refused as truncated, at the byte where the file ends.
func TestDumpFileTruncated(t *testing.T) {
	entries := testEntries(300)
	data, _ := writeTestDump(t, entries, 2048)
	for cut := 0; cut < len(data); cut++ {
		got, _, _, err := readAll(data[:cut])
		if !errors.Is(err, ErrDumpTruncated) {
			t.Fatalf("cut at %d of %d: got %v, want ErrDumpTruncated", cut, len(data), err)
		}
		var de *DumpError
		if !errors.As(err, &de) || de.Offset != int64(cut) {
			t.Fatalf("cut at %d: error %v does not name offset %d", cut, err, cut)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("at byte %d", cut)) {
			t.Fatalf("cut at %d: message %q lacks the offset", cut, err)
		}
		for i := range got {
			if got[i] != entries[i] {
				t.Fatalf("cut at %d: entry %d is %q, want %q", cut, i, got[i], entries[i])
			}
		}
	}
}

// Any flipped bit is refused, and no entry of a damaged block is ever handed out.
func TestDumpFileBitFlips(t *testing.T) {
	entries := testEntries(300)
	data, _ := writeTestDump(t, entries, 2048)
	for pos := 0; pos < len(data); pos++ {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(data)
			bad[pos] ^= bit
			got, _, _, err := readAll(bad)
			if err == nil {
				t.Fatalf("flip of bit %02x at byte %d not detected", bit, pos)
			}
			var de *DumpError
			if !errors.As(err, &de) {
				t.Fatalf("flip at %d: %v is not a DumpError", pos, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("at byte %d", de.Offset)) {
				t.Fatalf("flip at %d: message %q lacks the offset", pos, err)
			}
			// The error points at the damaged structure or before the flip — never
			// past it, except for a damaged length read past the end.
			if de.Offset > int64(pos) && !errors.Is(err, ErrDumpTruncated) {
				t.Fatalf("flip at %d reported at %d: %v", pos, de.Offset, err)
			}
			for i := range got {
				if got[i] != entries[i] {
					t.Fatalf("flip at %d: entry %d is %q, want %q (handed out from a damaged block)", pos, i, got[i], entries[i])
				}
			}
		}
	}
}

func TestDumpFileNewerVersion(t *testing.T) {
	data, _ := writeTestDump(t, testEntries(10), 0)
	bad := bytes.Clone(data)
	binary.LittleEndian.PutUint16(bad[10:], DumpVersion+1)
	_, _, _, err := readAll(bad)
	if !errors.Is(err, ErrDumpNewer) || !strings.Contains(err.Error(), "at byte 10") ||
		!strings.Contains(err.Error(), fmt.Sprintf("version %d", DumpVersion+1)) {
		t.Fatalf("got %v, want a newer-version error at byte 10", err)
	}
	// Newer store format, with a valid header CRC.
	w := bytes.Clone(data)
	binary.LittleEndian.PutUint16(w[12:], 99)
	binary.LittleEndian.PutUint32(w[50:], crcOf(w[:50]))
	if _, _, _, err := readAll(w); !errors.Is(err, ErrDumpNewer) || !strings.Contains(err.Error(), "store format 99") {
		t.Fatalf("got %v, want a newer store format error", err)
	}
	if _, _, _, err := readAll([]byte("REDIS0011 not a dump at all, but long enough for a header ......")); !errors.Is(err, ErrDumpCorrupt) ||
		!strings.Contains(err.Error(), "bad magic") {
		t.Fatalf("got %v, want bad magic", err)
	}
}

func TestDumpFileTrailingData(t *testing.T) {
	data, _ := writeTestDump(t, testEntries(10), 0)
	_, _, _, err := readAll(append(bytes.Clone(data), 0))
	if !errors.Is(err, ErrDumpCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("at byte %d: data after the trailer", len(data))) {
		t.Fatalf("got %v", err)
	}
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// FuzzDumpReader: any bytes read as a dump end in io.EOF after a trailer that matched,
// or in a *DumpError; entries come out in strictly increasing key order either way.
// Seeds live in testdata/fuzz/FuzzDumpReader.
func FuzzDumpReader(f *testing.F) {
	for _, n := range []int{0, 3, 40} {
		data, _ := writeTestDump(f, testEntries(n), 256)
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _, counts, err := readAll(data)
		if err != nil {
			var de *DumpError
			if !errors.As(err, &de) {
				t.Fatalf("%v is not a DumpError", err)
			}
		} else if counts.Entries != uint64(len(got)) {
			t.Fatalf("trailer counts %d entries, %d read", counts.Entries, len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].k <= got[i-1].k {
				t.Fatalf("entry %d %q is not after %q", i, got[i].k, got[i-1].k)
			}
		}
	})
}
