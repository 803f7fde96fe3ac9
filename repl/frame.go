package repl

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/strata-kv/strata/binlog"
)

// Frame types of the master-to-follower stream; part of the wire protocol.
const (
	frameRecords   = 1
	frameHeartbeat = 2
	frameFile      = 3
	frameChunk     = 4
	frameCopyDone  = 5
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
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
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
