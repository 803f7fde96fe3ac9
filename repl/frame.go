package repl

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-kv/strata/binlog"
)

// Frame types of the master-to-follower stream; part of the wire protocol.
const (
	frameRecords   = 1
	frameHeartbeat = 2
	frameFile      = 3
	frameChunk     = 4
	frameCopyDone  = 5
	frameKept      = 6 // a file the follower already has: same header as frameFile
)

// maxFrame bounds one frame; a larger length can only be a broken stream.
const maxFrame = 256 << 20

// ErrProtocol marks a stream that does not follow the replication protocol.
var ErrProtocol = errors.New("repl: protocol error")

func writeFrame(w *bufio.Writer, typ byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = typ
	binary.LittleEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame; payload reuses buf when it is large enough.
func readFrame(r *bufio.Reader, buf []byte) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%w: frame of %d bytes", ErrProtocol, n)
	}
	if cap(buf) >= int(n) {
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return 0, nil, err
		}
		return hdr[0], buf, nil
	}
	// Grow with the bytes that actually arrive, so a broken length does not
	// allocate up to maxFrame at once.
	buf = buf[:0]
	for len(buf) < int(n) {
		step := min(int(n)-len(buf), max(len(buf), 1<<20))
		buf = slices.Grow(buf, step)
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
	}
	return hdr[0], buf, nil
}

func appendRecord(dst []byte, r *binlog.Record) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, r.ID)
	dst = append(dst, r.History[:]...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Time))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Changes)))
	return append(dst, r.Changes...)
}

// decodeRecords parses a records frame; the records' changes alias p.
func decodeRecords(p []byte) ([]binlog.Record, error) {
	if len(p) < 4 {
		return nil, fmt.Errorf("%w: short records frame", ErrProtocol)
	}
	n := binary.LittleEndian.Uint32(p)
	p = p[4:]
	if uint64(n) > uint64(len(p))/40+1 {
		return nil, fmt.Errorf("%w: %d records in %d bytes", ErrProtocol, n, len(p))
	}
	recs := make([]binlog.Record, 0, n)
	for i := uint32(0); i < n; i++ {
		if len(p) < 40 {
			return nil, fmt.Errorf("%w: truncated record", ErrProtocol)
		}
		var r binlog.Record
		r.ID = binary.LittleEndian.Uint64(p)
		copy(r.History[:], p[8:28])
		r.Time = int64(binary.LittleEndian.Uint64(p[28:]))
		l := binary.LittleEndian.Uint32(p[36:])
		p = p[40:]
		if uint64(l) > uint64(len(p)) {
			return nil, fmt.Errorf("%w: truncated record", ErrProtocol)
		}
		r.Changes = p[:l]
		p = p[l:]
		recs = append(recs, r)
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after records", ErrProtocol, len(p))
	}
	return recs, nil
}

// appendFileHeader encodes the payload of a file or kept frame.
func appendFileHeader(dst []byte, name string, size int64) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(name)))
	dst = append(dst, name...)
	return binary.LittleEndian.AppendUint64(dst, uint64(size))
}

// parseFileHeader decodes a file or kept frame; the name must be a plain file name.
func parseFileHeader(p []byte) (string, int64, error) {
	if len(p) < 2 {
		return "", 0, fmt.Errorf("%w: bad file header", ErrProtocol)
	}
	n := int(binary.LittleEndian.Uint16(p))
	if len(p) != 2+n+8 {
		return "", 0, fmt.Errorf("%w: bad file header", ErrProtocol)
	}
	name := string(p[2 : 2+n])
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return "", 0, fmt.Errorf("%w: file name %q", ErrProtocol, name)
	}
	size := binary.LittleEndian.Uint64(p[2+n:])
	if size > 1<<62 {
		return "", 0, fmt.Errorf("%w: file size %d", ErrProtocol, size)
	}
	return name, int64(size), nil
}

// FileSig identifies an immutable data file a follower already holds.
type FileSig struct {
	Size int64
	Tail string // hash of the file's last bytes, see fileTail
}

// tailLen is how much of a file's end fileTail hashes. An SST file ends with its
// properties block (which names the DB session that wrote it), the meta index and
// the footer: two files of one name and size written by different sessions — the
// master's and a follower's own flush after a copy, say — differ there.
const tailLen = 16 << 10

// fileTail hashes the last tailLen bytes of the file at path.
func fileTail(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	off := size - tailLen
	if off < 0 {
		off = 0
	}
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return "", err
	}
	h := sha256.New()
	var sz [8]byte
	binary.LittleEndian.PutUint64(sz[:], uint64(size))
	h.Write(sz[:])
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// keepable reports whether a file may be reused from a follower's own data: only
// SST files, which RocksDB never changes once written.
func keepable(name string) bool {
	return strings.HasSuffix(name, ".sst") && name == filepath.Base(name) && !strings.ContainsAny(name, ":,")
}

// FormatHaveFile is one entry of `REPLCONF have-files`: name:size:tail.
func FormatHaveFile(name string, sig FileSig) string {
	return name + ":" + strconv.FormatInt(sig.Size, 10) + ":" + sig.Tail
}

// ParseHaveFiles adds the entries of one `REPLCONF have-files` argument (a comma
// separated list of name:size:tail) to dst.
func ParseHaveFiles(dst map[string]FileSig, list string) error {
	if list == "" {
		return nil
	}
	for _, ent := range strings.Split(list, ",") {
		name, rest, ok1 := strings.Cut(ent, ":")
		size, tail, ok2 := strings.Cut(rest, ":")
		n, err := strconv.ParseInt(size, 10, 64)
		if !ok1 || !ok2 || err != nil || n < 0 || !keepable(name) || len(tail) != 32 {
			return fmt.Errorf("%w: bad have-files entry %q", ErrProtocol, ent)
		}
		dst[name] = FileSig{Size: n, Tail: tail}
	}
	return nil
}
