package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Wire constants: part of the on-disk format, do not change.
const (
	headerSize = 9 // crc u32 | length u32 | type u8

	TypeHeader byte = 1 // first record of every segment
	TypeChange byte = 2 // one committed transaction

	segmentMagic   = "STRATABL"
	segmentVersion = 1

	// MaxRecordSize bounds one record; a larger length field can only be damage.
	MaxRecordSize = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Sentinel errors of the binlog.
var (
	// ErrCorrupt marks a log whose contents fail their checksums or framing.
	ErrCorrupt = errors.New("binlog: corrupt")
	// ErrFailed: an earlier write or fsync failed; the log accepts nothing more.
	ErrFailed = errors.New("binlog: log failed earlier")
	// ErrNotFound: the requested ID is not in the log (purged, or not written yet).
	ErrNotFound = errors.New("binlog: record not in log")
	// ErrClosed: the log has been closed.
	ErrClosed = errors.New("binlog: closed")
	// errTorn is internal: a record cut short at the end of the data.
	errTorn = errors.New("binlog: torn record")
)

// IsCorruption reports whether err means the log is damaged.
func IsCorruption(err error) bool { return errors.Is(err, ErrCorrupt) }

// Record is one committed transaction.
type Record struct {
	ID      uint64
	History [20]byte
	Time    int64 // unix ms
	Changes []byte
}

const changeFixed = 8 + 20 + 8

func appendFrame(dst []byte, typ byte, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, headerSize)...)
	dst = append(dst, payload...)
	binary.LittleEndian.PutUint32(dst[start+4:], uint32(len(payload)))
	dst[start+8] = typ
	crc := crc32.Checksum(dst[start+4:], castagnoli)
	binary.LittleEndian.PutUint32(dst[start:], crc)
	return dst
}

func appendChange(dst []byte, r *Record) []byte {
	start := len(dst)
	n := changeFixed + len(r.Changes)
	dst = append(dst, make([]byte, headerSize+changeFixed)...)
	p := dst[start+headerSize:]
	binary.LittleEndian.PutUint64(p, r.ID)
	copy(p[8:28], r.History[:])
	binary.LittleEndian.PutUint64(p[28:], uint64(r.Time))
	dst = append(dst, r.Changes...)
	binary.LittleEndian.PutUint32(dst[start+4:], uint32(n))
	dst[start+8] = TypeChange
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], castagnoli))
	return dst
}

// DecodeChange parses the payload of a TypeChange record. Changes aliases payload.
func DecodeChange(payload []byte) (Record, error) {
	var r Record
	if len(payload) < changeFixed {
		return r, fmt.Errorf("%w: change record of %d bytes", ErrCorrupt, len(payload))
	}
	r.ID = binary.LittleEndian.Uint64(payload)
	copy(r.History[:], payload[8:28])
	r.Time = int64(binary.LittleEndian.Uint64(payload[28:]))
	r.Changes = payload[changeFixed:]
	return r, nil
}

func headerPayload(firstID uint64) []byte {
	b := make([]byte, 0, len(segmentMagic)+2+8)
	b = append(b, segmentMagic...)
	b = binary.LittleEndian.AppendUint16(b, segmentVersion)
	return binary.LittleEndian.AppendUint64(b, firstID)
}

func parseHeader(payload []byte) (uint64, error) {
	if len(payload) != len(segmentMagic)+10 || string(payload[:8]) != segmentMagic {
		return 0, fmt.Errorf("%w: bad segment header", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint16(payload[8:]); v > segmentVersion {
		return 0, fmt.Errorf("%w: segment format %d is newer than %d", ErrCorrupt, v, segmentVersion)
	}
	return binary.LittleEndian.Uint64(payload[10:]), nil
}

// frameReader reads frames from a byte stream, tracking the offset.
type frameReader struct {
	r   io.Reader
	off int64
	hdr [headerSize]byte
	buf []byte
}

// next returns the type and payload of the next frame (payload valid until the next
// call). io.EOF at a clean end; errTorn when the data ends inside a frame; ErrCorrupt
// on a checksum mismatch or an impossible length.
func (fr *frameReader) next() (byte, []byte, error) {
	n, err := io.ReadFull(fr.r, fr.hdr[:])
	if err == io.EOF {
		return 0, nil, io.EOF
	}
	if err == io.ErrUnexpectedEOF {
		return 0, nil, errTorn
	}
	if err != nil {
		return 0, nil, err
	}
	_ = n
	crc := binary.LittleEndian.Uint32(fr.hdr[0:])
	length := binary.LittleEndian.Uint32(fr.hdr[4:])
	typ := fr.hdr[8]
	if crc == 0 && length == 0 && typ == 0 {
		return 0, nil, fmt.Errorf("%w: zeroed frame", errTorn)
	}
	if length > MaxRecordSize {
		return 0, nil, fmt.Errorf("%w: frame length %d", ErrCorrupt, length)
	}
	if cap(fr.buf) < int(length) {
		fr.buf = make([]byte, length)
	}
	fr.buf = fr.buf[:length]
	if _, err := io.ReadFull(fr.r, fr.buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, nil, errTorn
		}
		return 0, nil, err
	}
	h := crc32.Update(0, castagnoli, fr.hdr[4:])
	h = crc32.Update(h, castagnoli, fr.buf)
	if h != crc {
		return 0, nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	fr.off += headerSize + int64(length)
	return typ, fr.buf, nil
}
