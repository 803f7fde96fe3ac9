package tools

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/strata-kv/strata/store"
)

// # Dump file format (version 1)
//
// A dump is a logical copy of a store: the raw records of RocksDB in key order, so a
// load can write SST files directly, grouped into checksummed, zstd-compressed blocks.
// All integers are little-endian. The constants below are part of the format: do not
// change them; a change to the layout bumps DumpVersion.
//
//	header (54 bytes)
//	+--------------+---------+--------------+------------+----------------+-----------+---------+
//	| "STRATADUMP" | version | store format | created    | history ID     | binlog ID | CRC-32C |
//	| 10 bytes     | u16     | u16          | unix ms i64| 20 bytes       | u64       | u32     |
//	+--------------+---------+--------------+------------+----------------+-----------+---------+
//	 the CRC covers the 50 bytes before it
//
//	block, repeated (one or more entries each)
//	+-----+------------------+----------------+-------------------+---------------------+
//	| 'B' | uncompressed len | compressed len | CRC-32C           | zstd payload        |
//	| u8  | u32              | u32            | of the payload    | (compressed len)    |
//	+-----+------------------+----------------+-------------------+---------------------+
//
//	payload, once decompressed: entries back to back
//	+--------------+-----+----------------+-------+
//	| uvarint klen | key | uvarint vlen   | value |
//	+--------------+-----+----------------+-------+
//
//	trailer (29 bytes), then the end of the file
//	+-----+---------------+-------------+---------------+------------------------------+
//	| 'T' | entries u64   | keys u64    | blocks u64    | CRC-32C of every byte before |
//	|     |               | (metadata)  |               | this field, header included  |
//	+-----+---------------+-------------+---------------+------------------------------+
//
// An entry is one record exactly as the store keeps it in RocksDB (see the store
// package doc for the key encoding). Entries are in strictly increasing key order
// across the whole file. Every data record is there — metadata, members, zset score
// index and expiry index entries, including those of keys that expired but were not
// removed yet, exactly as a server would have them. The system records are left out
// except the per-database key counts ("!keys/<db>") and the version high-water mark
// ("!version"): the others ("!format", "!applied", "!history", ...) describe a
// directory, and the loader writes its own. The header's history and binlog ID are
// those of the data dumped: a directory loaded from the dump continues the binlog
// after that ID. Blocks hold about 1MB of entries before compression (a single
// larger record makes a larger block).
//
// Reading checks every block's CRC before decompressing it — a reader never hands out
// an entry from a block whose CRC failed — then the entry framing, the key order, the
// trailer's counts and the whole-file CRC. A file that ends early, a flipped bit and a
// newer version are refused with an error naming the problem and the byte offset.
//
// Picture of a small dump:
//
//	0      54                    54+13+c1          ...               end-29     end
//	| hdr  | B ul1 cl1 crc1 data1 | B ul2 cl2 crc2 data2 | ... | T n k b crc |
const (
	dumpMagic       = "STRATADUMP"
	DumpVersion     = 1
	dumpHeaderLen   = 54
	blockHeaderLen  = 13
	trailerLen      = 29
	tagBlock        = 'B'
	tagTrailer      = 'T'
	maxBlockLen     = 1<<30 + 1<<20                        // one entry may hold a 512MB value, and a bit more
	maxCompressed   = maxBlockLen + maxBlockLen/128 + 4096 // zstd's worst case
	defaultBlockLen = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Dump errors. Every error from DumpReader wraps one of them (test with errors.Is)
// and is a *DumpError naming the byte offset.
var (
	// ErrDumpCorrupt: a checksum does not match or a structure is malformed.
	ErrDumpCorrupt = errors.New("dump: corrupt")
	// ErrDumpTruncated: the file ends before the trailer.
	ErrDumpTruncated = errors.New("dump: truncated")
	// ErrDumpNewer: the file was written by a newer Strata.
	ErrDumpNewer = errors.New("dump: newer format")
)

// DumpError is a problem found at a byte offset of a dump file.
type DumpError struct {
	Offset int64
	Kind   error // ErrDumpCorrupt, ErrDumpTruncated or ErrDumpNewer
	Msg    string
}

func (e *DumpError) Error() string {
	return fmt.Sprintf("%v at byte %d: %s", e.Kind, e.Offset, e.Msg)
}

func (e *DumpError) Unwrap() error { return e.Kind }

// DumpHeader describes a dump.
type DumpHeader struct {
	Version     uint16
	StoreFormat uint16
	Created     time.Time
	History     [20]byte
	BinlogID    uint64
}

// DumpCounts are a dump's totals, as the trailer records them.
type DumpCounts struct {
	Entries uint64 // records
	Keys    uint64 // metadata records: Redis keys
	Blocks  uint64
}

// DumpWriter writes a dump file. Blocks are compressed by a few goroutines and written
// in order by another; Add and Close are for one goroutine.
type DumpWriter struct {
	out    io.Writer
	crc    uint32
	off    atomic.Int64
	counts DumpCounts

	blockLen int
	cur      []byte
	prev     []byte
	closed   bool

	enc   *zstd.Encoder
	jobs  chan *blockJob
	order chan *blockJob
	done  chan struct{}
	wg    sync.WaitGroup

	mu  sync.Mutex
	err error
}

type blockJob struct {
	raw  []byte
	out  []byte
	done chan struct{}
}

var blockPool = sync.Pool{New: func() any { return make([]byte, 0, defaultBlockLen+64<<10) }}

// DumpWriterOptions tune a DumpWriter; the zero value is fine.
type DumpWriterOptions struct {
	BlockLen int // uncompressed bytes per block (default 1MB)
	Level    zstd.EncoderLevel
}

// NewDumpWriter writes the header of a new dump to out.
func NewDumpWriter(out io.Writer, h DumpHeader, o DumpWriterOptions) (*DumpWriter, error) {
	if o.BlockLen <= 0 {
		o.BlockLen = defaultBlockLen
	}
	if o.Level == 0 {
		o.Level = zstd.SpeedFastest
	}
	workers := runtime.GOMAXPROCS(0)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(o.Level), zstd.WithEncoderCRC(false),
		zstd.WithEncoderConcurrency(workers))
	if err != nil {
		return nil, err
	}
	w := &DumpWriter{
		out: out, blockLen: o.BlockLen, enc: enc,
		jobs:  make(chan *blockJob, workers),
		order: make(chan *blockJob, 2*workers),
		done:  make(chan struct{}),
	}
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	hdr := make([]byte, 0, dumpHeaderLen)
	hdr = append(hdr, dumpMagic...)
	hdr = binary.LittleEndian.AppendUint16(hdr, DumpVersion)
	hdr = binary.LittleEndian.AppendUint16(hdr, store.FormatVersion)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(h.Created.UnixMilli()))
	hdr = append(hdr, h.History[:]...)
	hdr = binary.LittleEndian.AppendUint64(hdr, h.BinlogID)
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32.Checksum(hdr, castagnoli))
	if err := w.write(hdr); err != nil {
		enc.Close()
		return nil, err
	}
	for i := 0; i < workers; i++ {
		w.wg.Add(1)
		go w.compressLoop()
	}
	go w.writeLoop()
	w.cur = blockPool.Get().([]byte)[:0]
	return w, nil
}

func (w *DumpWriter) write(b []byte) error {
	w.crc = crc32.Update(w.crc, castagnoli, b)
	n, err := w.out.Write(b)
	off := w.off.Add(int64(n))
	if err != nil {
		return fmt.Errorf("dump: write at byte %d: %w", off, err)
	}
	return nil
}

func (w *DumpWriter) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// Err returns the first write error.
func (w *DumpWriter) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *DumpWriter) compressLoop() {
	defer w.wg.Done()
	for j := range w.jobs {
		j.out = w.enc.EncodeAll(j.raw, j.out[:0])
		close(j.done)
	}
}

func (w *DumpWriter) writeLoop() {
	defer close(w.done)
	var hdr [blockHeaderLen]byte
	for j := range w.order {
		<-j.done
		if w.Err() == nil {
			hdr[0] = tagBlock
			binary.LittleEndian.PutUint32(hdr[1:], uint32(len(j.raw)))
			binary.LittleEndian.PutUint32(hdr[5:], uint32(len(j.out)))
			binary.LittleEndian.PutUint32(hdr[9:], crc32.Checksum(j.out, castagnoli))
			if err := w.write(hdr[:]); err != nil {
				w.setErr(err)
			} else if err := w.write(j.out); err != nil {
				w.setErr(err)
			}
		}
		blockPool.Put(j.raw[:0])
		blockPool.Put(j.out[:0])
	}
}

// Add appends one record. Keys must come in strictly increasing order.
func (w *DumpWriter) Add(key, value []byte) error {
	if w.closed {
		return errors.New("dump: writer closed")
	}
	if err := w.Err(); err != nil {
		return err
	}
	if w.counts.Entries > 0 && bytes.Compare(key, w.prev) <= 0 {
		return fmt.Errorf("dump: record %q is not after %q", key, w.prev)
	}
	if len(key)+len(value) > maxBlockLen-32 {
		return fmt.Errorf("dump: record %q is too large (%d bytes)", key, len(key)+len(value))
	}
	w.prev = append(w.prev[:0], key...)
	if len(w.cur) > 0 && len(w.cur)+len(key)+len(value)+20 > w.blockLen {
		w.flushBlock()
	}
	w.cur = binary.AppendUvarint(w.cur, uint64(len(key)))
	w.cur = append(w.cur, key...)
	w.cur = binary.AppendUvarint(w.cur, uint64(len(value)))
	w.cur = append(w.cur, value...)
	w.counts.Entries++
	if store.IsMetaKey(key) {
		w.counts.Keys++
	}
	if len(w.cur) >= w.blockLen {
		w.flushBlock()
	}
	return nil
}

func (w *DumpWriter) flushBlock() {
	if len(w.cur) == 0 {
		return
	}
	j := &blockJob{raw: w.cur, out: blockPool.Get().([]byte)[:0], done: make(chan struct{})}
	w.counts.Blocks++
	w.order <- j
	w.jobs <- j
	w.cur = blockPool.Get().([]byte)[:0]
}

// Counts returns the totals so far.
func (w *DumpWriter) Counts() DumpCounts { return w.counts }

// Size is the number of bytes written so far.
func (w *DumpWriter) Size() int64 { return w.off.Load() }

// Close writes the last block and the trailer. It does not close the underlying
// writer.
func (w *DumpWriter) Close() error {
	if w.closed {
		return w.Err()
	}
	w.closed = true
	w.flushBlock()
	close(w.jobs)
	close(w.order)
	<-w.done
	w.wg.Wait()
	w.enc.Close()
	if err := w.Err(); err != nil {
		return err
	}
	t := make([]byte, 0, trailerLen)
	t = append(t, tagTrailer)
	t = binary.LittleEndian.AppendUint64(t, w.counts.Entries)
	t = binary.LittleEndian.AppendUint64(t, w.counts.Keys)
	t = binary.LittleEndian.AppendUint64(t, w.counts.Blocks)
	crc := crc32.Update(w.crc, castagnoli, t)
	t = binary.LittleEndian.AppendUint32(t, crc)
	if err := w.write(t); err != nil {
		w.setErr(err)
		return err
	}
	return nil
}

// DumpReader reads a dump file, checking it as it goes (see the format above).
type DumpReader struct {
	in     *bufio.Reader
	off    int64 // offset of the next byte to read
	crc    uint32
	hdr    DumpHeader
	counts DumpCounts
	dec    *zstd.Decoder

	comp     []byte
	block    []byte
	pos      int
	blockOff int64 // where the current block starts
	prev     []byte
	eof      bool
	err      error
}

// NewDumpReader reads and checks the header.
func NewDumpReader(in io.Reader) (*DumpReader, error) {
	dec, err := getDecoder()
	if err != nil {
		return nil, err
	}
	r := &DumpReader{in: bufio.NewReaderSize(in, 64<<10), dec: dec}
	if err := r.readHeader(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Decoders are costly to make and hold no state between DecodeAll calls: reuse them.
var decoderPool sync.Pool

func getDecoder() (*zstd.Decoder, error) {
	if d, ok := decoderPool.Get().(*zstd.Decoder); ok {
		return d, nil
	}
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxMemory(maxBlockLen))
}

func (r *DumpReader) corrupt(off int64, format string, args ...any) error {
	return &DumpError{Offset: off, Kind: ErrDumpCorrupt, Msg: fmt.Sprintf(format, args...)}
}

// readFull reads exactly len(b) bytes into b, folding them into the file CRC. A short
// read is a truncation, reported at the offset where the file ended.
func (r *DumpReader) readFull(b []byte, what string, start int64) error {
	n, err := io.ReadFull(r.in, b)
	r.crc = crc32.Update(r.crc, castagnoli, b[:n])
	r.off += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &DumpError{Offset: r.off, Kind: ErrDumpTruncated,
			Msg: fmt.Sprintf("file ends inside the %s that starts at byte %d (%d of %d bytes)", what, start, n, len(b))}
	}
	if err != nil {
		return fmt.Errorf("dump: read at byte %d: %w", r.off, err)
	}
	return nil
}

// readLarge reads n bytes into buf, growing it as data arrives, so a length field
// damaged into a huge number does not allocate before the data is really there.
func (r *DumpReader) readLarge(buf []byte, n int, what string, start int64) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		chunk := n - len(buf)
		if chunk > 8<<20 {
			chunk = 8 << 20
		}
		if cap(buf)-len(buf) < chunk {
			nb := make([]byte, len(buf), len(buf)+chunk+len(buf)/2)
			copy(nb, buf)
			buf = nb
		}
		k, err := io.ReadFull(r.in, buf[len(buf):len(buf)+chunk])
		r.crc = crc32.Update(r.crc, castagnoli, buf[len(buf):len(buf)+k])
		r.off += int64(k)
		buf = buf[:len(buf)+k]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return buf, &DumpError{Offset: r.off, Kind: ErrDumpTruncated,
				Msg: fmt.Sprintf("file ends inside the %s that starts at byte %d (%d of %d bytes)", what, start, len(buf), n)}
		}
		if err != nil {
			return buf, fmt.Errorf("dump: read at byte %d: %w", r.off, err)
		}
	}
	return buf, nil
}

func (r *DumpReader) readHeader() error {
	var h [dumpHeaderLen]byte
	n, err := io.ReadFull(r.in, h[:])
	r.off = int64(n)
	if n >= len(dumpMagic) && string(h[:len(dumpMagic)]) != dumpMagic || n < len(dumpMagic) && !bytes.HasPrefix([]byte(dumpMagic), h[:n]) {
		return r.corrupt(0, "not a Strata dump (bad magic)")
	}
	if n >= len(dumpMagic)+2 {
		if v := binary.LittleEndian.Uint16(h[10:]); v > DumpVersion {
			return &DumpError{Offset: 10, Kind: ErrDumpNewer,
				Msg: fmt.Sprintf("dump format version %d, this build reads up to %d; upgrade Strata", v, DumpVersion)}
		}
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &DumpError{Offset: r.off, Kind: ErrDumpTruncated,
			Msg: fmt.Sprintf("file ends inside the header (%d of %d bytes)", n, dumpHeaderLen)}
	}
	if err != nil {
		return fmt.Errorf("dump: read header: %w", err)
	}
	if got, want := crc32.Checksum(h[:50], castagnoli), binary.LittleEndian.Uint32(h[50:]); got != want {
		return r.corrupt(0, "header CRC mismatch (stored %08x, computed %08x)", want, got)
	}
	r.crc = crc32.Update(0, castagnoli, h[:])
	r.hdr = DumpHeader{
		Version:     binary.LittleEndian.Uint16(h[10:]),
		StoreFormat: binary.LittleEndian.Uint16(h[12:]),
		Created:     time.UnixMilli(int64(binary.LittleEndian.Uint64(h[14:]))),
		BinlogID:    binary.LittleEndian.Uint64(h[42:]),
	}
	copy(r.hdr.History[:], h[22:42])
	if r.hdr.Version == 0 {
		return r.corrupt(10, "dump format version 0")
	}
	if r.hdr.StoreFormat > store.FormatVersion {
		return &DumpError{Offset: 12, Kind: ErrDumpNewer,
			Msg: fmt.Sprintf("records use store format %d, this build reads up to %d; upgrade Strata", r.hdr.StoreFormat, store.FormatVersion)}
	}
	return nil
}

// Header returns the dump's header.
func (r *DumpReader) Header() DumpHeader { return r.hdr }

// Offset is the number of bytes consumed so far.
func (r *DumpReader) Offset() int64 { return r.off }

// Counts returns the totals read so far; after Next returned io.EOF, the trailer's
// (which have been checked against what was read).
func (r *DumpReader) Counts() DumpCounts { return r.counts }

// Next returns the next record. key and value are valid until the next call. At the
// end it checks the trailer and returns io.EOF; any problem is a *DumpError, and the
// reader stays failed.
func (r *DumpReader) Next() (key, value []byte, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	key, value, err = r.next()
	if err != nil {
		r.err = err
	}
	return key, value, err
}

func (r *DumpReader) next() ([]byte, []byte, error) {
	if r.eof {
		return nil, nil, io.EOF
	}
	for r.pos >= len(r.block) {
		more, err := r.readBlock()
		if err != nil {
			return nil, nil, err
		}
		if !more {
			r.eof = true
			return nil, nil, io.EOF
		}
	}
	b := r.block[r.pos:]
	kl, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < kl {
		return nil, nil, r.corrupt(r.blockOff, "block has a bad entry at payload offset %d", r.pos)
	}
	key := b[n : n+int(kl)]
	b = b[n+int(kl):]
	vl, m := binary.Uvarint(b)
	if m <= 0 || uint64(len(b)-m) < vl {
		return nil, nil, r.corrupt(r.blockOff, "block has a bad entry at payload offset %d", r.pos)
	}
	value := b[m : m+int(vl)]
	if r.counts.Entries > 0 && bytes.Compare(key, r.prev) <= 0 {
		return nil, nil, r.corrupt(r.blockOff, "entry %q at payload offset %d is not after %q", key, r.pos, r.prev)
	}
	r.pos += n + int(kl) + m + int(vl)
	r.prev = append(r.prev[:0], key...)
	r.counts.Entries++
	if store.IsMetaKey(key) {
		r.counts.Keys++
	}
	return key, value, nil
}

// readBlock reads the next block (true) or the trailer (false).
func (r *DumpReader) readBlock() (bool, error) {
	start := r.off
	var tag [1]byte
	n, err := io.ReadFull(r.in, tag[:])
	if n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF) {
		return false, &DumpError{Offset: r.off, Kind: ErrDumpTruncated, Msg: "file ends before the trailer"}
	}
	if err != nil {
		return false, fmt.Errorf("dump: read at byte %d: %w", r.off, err)
	}
	r.crc = crc32.Update(r.crc, castagnoli, tag[:])
	r.off++
	switch tag[0] {
	case tagBlock:
	case tagTrailer:
		return false, r.readTrailer(start)
	default:
		return false, r.corrupt(start, "unknown record tag 0x%02x (want a block or the trailer)", tag[0])
	}
	var h [blockHeaderLen - 1]byte
	if err := r.readFull(h[:], "block header", start); err != nil {
		return false, err
	}
	ulen := binary.LittleEndian.Uint32(h[0:])
	clen := binary.LittleEndian.Uint32(h[4:])
	want := binary.LittleEndian.Uint32(h[8:])
	if ulen == 0 || ulen > maxBlockLen || clen == 0 || clen > maxCompressed {
		return false, r.corrupt(start, "block header has impossible lengths (uncompressed %d, compressed %d)", ulen, clen)
	}
	comp, err := r.readLarge(r.comp, int(clen), "block", start)
	r.comp = comp
	if err != nil {
		return false, err
	}
	if got := crc32.Checksum(comp, castagnoli); got != want {
		return false, r.corrupt(start, "block CRC mismatch (stored %08x, computed %08x)", want, got)
	}
	if cap(r.block) < int(ulen) {
		r.block = make([]byte, 0, ulen)
	}
	out, err := r.dec.DecodeAll(comp, r.block[:0:ulen])
	if err != nil {
		return false, r.corrupt(start, "block does not decompress: %v", err)
	}
	if len(out) != int(ulen) {
		return false, r.corrupt(start, "block decompresses to %d bytes, header says %d", len(out), ulen)
	}
	r.block, r.pos, r.blockOff = out, 0, start
	r.counts.Blocks++
	return true, nil
}

func (r *DumpReader) readTrailer(start int64) error {
	var t [trailerLen - 1]byte
	if err := r.readFull(t[:24], "trailer", start); err != nil {
		return err
	}
	crc := r.crc
	if err := r.readFull(t[24:], "trailer", start); err != nil {
		return err
	}
	if want := binary.LittleEndian.Uint32(t[24:]); crc != want {
		return r.corrupt(start, "trailer: file CRC mismatch (stored %08x, computed %08x)", want, crc)
	}
	got := DumpCounts{
		Entries: binary.LittleEndian.Uint64(t[0:]),
		Keys:    binary.LittleEndian.Uint64(t[8:]),
		Blocks:  binary.LittleEndian.Uint64(t[16:]),
	}
	if got != r.counts {
		return r.corrupt(start, "trailer counts %+v do not match the file's %+v", got, r.counts)
	}
	var extra [1]byte
	if n, _ := io.ReadFull(r.in, extra[:]); n > 0 {
		return r.corrupt(r.off, "data after the trailer")
	}
	return nil
}

// Close releases the decoder. Safe to call more than once.
func (r *DumpReader) Close() {
	if r.dec != nil {
		decoderPool.Put(r.dec)
		r.dec = nil
	}
}

// VerifyDump reads a whole dump, checking everything, and returns its header and
// counts.
func VerifyDump(in io.Reader) (DumpHeader, DumpCounts, error) {
	r, err := NewDumpReader(in)
	if err != nil {
		return DumpHeader{}, DumpCounts{}, err
	}
	defer r.Close()
	for {
		_, _, err := r.Next()
		if err == io.EOF {
			return r.hdr, r.counts, nil
		}
		if err != nil {
			return r.hdr, r.counts, err
		}
	}
}
