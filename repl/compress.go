package repl

import (
	"bufio"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Stream compression. The follower offers the codecs it can decode with
// `REPLCONF capa compress-<codec>`; the master picks one and names it in its PSYNC
// reply (`compress=<codec>`). From then on a frame whose type has frameCompressed set
// carries its payload compressed on its own (zstd frame or snappy block), so every
// frame can be decoded without the ones before it. Frames that do not shrink, and
// small ones, are sent as they are.

// Codec names, as in the configuration and on the wire.
const (
	CompressNone   = "none"
	CompressZstd   = "zstd"
	CompressSnappy = "snappy"
)

// frameCompressed is the frame type bit marking a compressed payload.
const frameCompressed = 0x80

// minCompress is the smallest payload worth compressing.
const minCompress = 512

type codec uint8

const (
	codecNone codec = iota
	codecZstd
	codecSnappy
)

// Codecs lists the codecs a follower offers, in the master's order of preference.
var Codecs = []string{CompressZstd, CompressSnappy}

func parseCodec(name string) (codec, bool) {
	switch name {
	case CompressNone, "":
		return codecNone, true
	case CompressZstd:
		return codecZstd, true
	case CompressSnappy:
		return codecSnappy, true
	}
	return codecNone, false
}

func (c codec) String() string {
	switch c {
	case codecZstd:
		return CompressZstd
	case codecSnappy:
		return CompressSnappy
	}
	return CompressNone
}

// CapaName is the REPLCONF capa value offering a codec.
func CapaName(codecName string) string { return "compress-" + codecName }

// pickCodec chooses the stream codec for a follower that offered capas: the
// configured one when offered; zstd falls back to snappy, which every follower of
// this version offers along with zstd.
func pickCodec(configured string, capas []string) codec {
	offered := func(name string) bool {
		for _, c := range capas {
			if c == CapaName(name) {
				return true
			}
		}
		return false
	}
	switch configured {
	case CompressZstd:
		if offered(CompressZstd) {
			return codecZstd
		}
		if offered(CompressSnappy) {
			return codecSnappy
		}
	case CompressSnappy:
		if offered(CompressSnappy) {
			return codecSnappy
		}
	}
	return codecNone
}

var (
	zencOnce sync.Once
	zenc     *zstd.Encoder
	zdecOnce sync.Once
	zdec     *zstd.Decoder
)

func zstdEncoder() *zstd.Encoder {
	zencOnce.Do(func() {
		// Frames are at most ~1MB (a records batch or a file chunk): a 1MB window
		// finds every match and keeps the per-goroutine state small.
		e, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithWindowSize(1<<20),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
		if err != nil {
			panic(err)
		}
		zenc = e
	})
	return zenc
}

func zstdDecoder() *zstd.Decoder {
	zdecOnce.Do(func() {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithDecoderMaxMemory(maxFrame),
			zstd.WithDecoderMaxWindow(maxFrame))
		if err != nil {
			panic(err)
		}
		zdec = d
	})
	return zdec
}

// compress appends src compressed to dst[:0]. ok is false when compression did not
// pay, and the payload is to be sent as it is.
func (c codec) compress(dst, src []byte) (out []byte, ok bool) {
	if c == codecNone || len(src) < minCompress {
		return dst, false
	}
	switch c {
	case codecZstd:
		out = zstdEncoder().EncodeAll(src, dst[:0])
	case codecSnappy:
		n := s2.MaxEncodedLen(len(src))
		if n < 0 {
			return dst, false
		}
		if cap(dst) < n {
			dst = make([]byte, n)
		}
		out = s2.EncodeSnappy(dst[:n], src)
	}
	// Keep the gain worth the follower's decoding time: at least 1/32 smaller.
	if len(out) >= len(src)-len(src)/32 {
		return out[:0], false
	}
	return out, true
}

// decompress appends the payload src decompressed to dst[:0].
func (c codec) decompress(dst, src []byte) ([]byte, error) {
	if len(src) == 0 && c != codecNone {
		return nil, fmt.Errorf("%w: empty compressed frame", ErrProtocol)
	}
	switch c {
	case codecZstd:
		out, err := zstdDecoder().DecodeAll(src, dst[:0])
		if err != nil {
			return nil, fmt.Errorf("%w: zstd frame: %v", ErrProtocol, err)
		}
		if len(out) > maxFrame {
			return nil, fmt.Errorf("%w: frame of %d bytes", ErrProtocol, len(out))
		}
		return out, nil
	case codecSnappy:
		n, err := s2.DecodedLen(src)
		if err != nil {
			return nil, fmt.Errorf("%w: snappy block: %v", ErrProtocol, err)
		}
		if n > maxFrame {
			return nil, fmt.Errorf("%w: frame of %d bytes", ErrProtocol, n)
		}
		if cap(dst) < n {
			dst = make([]byte, n)
		}
		out, err := s2.Decode(dst[:n], src)
		if err != nil {
			return nil, fmt.Errorf("%w: snappy block: %v", ErrProtocol, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: compressed frame on an uncompressed stream", ErrProtocol)
}

// StreamStats count the bytes of the frames sent (Raw: payloads as they are, Wire:
// as sent, after compression; both without the 5-byte frame headers).
type StreamStats struct {
	Raw, Wire atomic.Int64
}

// frameWriter writes frames, compressing their payloads with codec.
type frameWriter struct {
	w     *bufio.Writer
	codec codec
	cbuf  []byte
	stats *StreamStats
}

func (fw *frameWriter) write(typ byte, payload []byte) error {
	out := payload
	if c, ok := fw.codec.compress(fw.cbuf, payload); ok {
		out, typ = c, typ|frameCompressed
		fw.cbuf = c[:0]
	} else if c != nil {
		fw.cbuf = c[:0]
	}
	if fw.stats != nil {
		fw.stats.Raw.Add(int64(len(payload)))
		fw.stats.Wire.Add(int64(len(out)))
	}
	return writeFrame(fw.w, typ, out)
}

// frameReader reads frames and decompresses their payloads. A payload is valid until
// the next call.
type frameReader struct {
	r     *bufio.Reader
	codec codec
	buf   []byte
	dbuf  []byte
}

func (fr *frameReader) next() (byte, []byte, error) {
	typ, payload, err := readFrame(fr.r, fr.buf)
	if err != nil {
		return 0, nil, err
	}
	fr.buf = payload[:0]
	if typ&frameCompressed == 0 {
		return typ, payload, nil
	}
	if fr.codec == codecNone {
		return 0, nil, fmt.Errorf("%w: compressed frame on an uncompressed stream", ErrProtocol)
	}
	out, err := fr.codec.decompress(fr.dbuf, payload)
	if err != nil {
		return 0, nil, err
	}
	fr.dbuf = out[:0]
	return typ &^ frameCompressed, out, nil
}

var errUnknownCodec = errors.New("repl: unknown compression")
