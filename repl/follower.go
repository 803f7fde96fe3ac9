package repl

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/strata-kv/strata/binlog"
)

// Sink is what a follower needs of the server it runs in.
type Sink interface {
	// Position is the history of the last applied record and the next ID wanted.
	Position() (history [20]byte, next uint64)
	// ApplyRecords logs and applies records received from the master.
	ApplyRecords(recs []binlog.Record) error
	// InstallCopy swaps in a full copy received into dir, holding data up to id.
	InstallCopy(dir string, id uint64, history [20]byte) error
	// DataDir is the RocksDB directory of the data now served, whose SST files a
	// full copy may reuse; "" offers none.
	DataDir() string
}

// FollowerOptions configure the receiving side.
type FollowerOptions struct {
	MasterAddr    string
	Password      string
	ListeningPort int
	AnnounceIP    string
	CopyDir       string        // where a full copy is received
	Timeout       time.Duration // a link silent this long is dropped
	TLS           *tls.Config   // nil = plain TCP
	NoCompression bool          // do not offer the master stream compression
	copyOnly      bool          // FetchCopy: stop after the full copy
}

// Follower keeps a replication link to a master up, reconnecting with backoff.
type Follower struct {
	opts FollowerOptions
	sink Sink
	log  zerolog.Logger

	linkUp      atomic.Bool
	syncing     atomic.Bool
	lastIO      atomic.Int64 // unix ms
	downSince   atomic.Int64 // unix ms
	masterLast  atomic.Uint64
	FullSyncs   atomic.Int64
	PartialSync atomic.Int64
	// KeptFiles counts files of full copies taken from the follower's own data.
	KeptFiles atomic.Int64
	codec     atomic.Value // string: the current link's compression

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	conn     net.Conn
}

// NewFollower prepares a follower; Start runs it.
func NewFollower(opts FollowerOptions, sink Sink, log zerolog.Logger) *Follower {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	f := &Follower{opts: opts, sink: sink, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	f.downSince.Store(time.Now().UnixMilli())
	return f
}

// Start runs the link in the background until Stop.
func (f *Follower) Start() { go f.run() }

// Stop closes the link and waits for the follower to finish.
func (f *Follower) Stop() {
	f.stopOnce.Do(func() {
		close(f.stop)
		f.mu.Lock()
		if f.conn != nil {
			f.conn.Close()
		}
		f.mu.Unlock()
	})
	<-f.done
}

// MasterAddr is the master this follower follows.
func (f *Follower) MasterAddr() string { return f.opts.MasterAddr }

// LinkUp reports whether the link is streaming.
func (f *Follower) LinkUp() bool { return f.linkUp.Load() }

// SyncInProgress reports whether a full copy is being received.
func (f *Follower) SyncInProgress() bool { return f.syncing.Load() }

// LastIOSecondsAgo is the time since the master last sent anything.
func (f *Follower) LastIOSecondsAgo() int64 { return (time.Now().UnixMilli() - f.lastIO.Load()) / 1000 }

// DownSinceSeconds is how long the link has been down (0 when up).
func (f *Follower) DownSinceSeconds() int64 {
	if f.linkUp.Load() {
		return 0
	}
	return (time.Now().UnixMilli() - f.downSince.Load()) / 1000
}

// Compression is the codec of the current (or last) link's stream.
func (f *Follower) Compression() string {
	if c, ok := f.codec.Load().(string); ok {
		return c
	}
	return CompressNone
}

// MasterLastID is the master's last ID as of its last heartbeat or record.
func (f *Follower) MasterLastID() uint64 { return f.masterLast.Load() }

func (f *Follower) run() {
	defer close(f.done)
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := f.session()
		if f.linkUp.Swap(false) {
			f.downSince.Store(time.Now().UnixMilli())
		}
		f.syncing.Store(false)
		select {
		case <-f.stop:
			return
		default:
		}
		if err != nil {
			f.log.Warn().Err(err).Str("master", f.opts.MasterAddr).Msg("replication link down")
		}
		if time.Since(start) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		// Exponential backoff with jitter, so followers of a lost master do not all
		// reconnect in the same instant.
		d := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-f.stop:
			return
		case <-time.After(d):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

type link struct {
	conn net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex
	w    *bufio.Writer
}

func (l *link) command(args ...string) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_ = l.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(l.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(l.w, "$%d\r\n%s\r\n", len(a), a)
	}
	return l.w.Flush()
}

func (l *link) line() (string, error) {
	s, err := l.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// call sends a command and expects a +status reply.
func (l *link) call(args ...string) (string, error) {
	if err := l.command(args...); err != nil {
		return "", err
	}
	reply, err := l.line()
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(reply, "-") {
		return "", fmt.Errorf("master refused %s: %s", args[0], reply[1:])
	}
	return reply, nil
}

func (f *Follower) dial() (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if f.opts.TLS != nil {
		return tls.DialWithDialer(&d, "tcp", f.opts.MasterAddr, f.opts.TLS)
	}
	return d.Dial("tcp", f.opts.MasterAddr)
}

// session runs one connection: handshake, optional full copy, then streaming.
func (f *Follower) session() error {
	conn, err := f.dial()
	if err != nil {
		return err
	}
	f.mu.Lock()
	select {
	case <-f.stop:
		f.mu.Unlock()
		conn.Close()
		return nil
	default:
	}
	f.conn = conn
	f.mu.Unlock()
	defer conn.Close()
	l := &link{conn: conn, r: bufio.NewReaderSize(conn, 1<<20), w: bufio.NewWriter(conn)}
	_ = conn.SetDeadline(time.Now().Add(f.opts.Timeout))
	if f.opts.Password != "" {
		if _, err := l.call("AUTH", f.opts.Password); err != nil {
			return err
		}
	}
	if _, err := l.call("REPLCONF", "listening-port", strconv.Itoa(f.opts.ListeningPort)); err != nil {
		return err
	}
	if f.opts.AnnounceIP != "" {
		if _, err := l.call("REPLCONF", "ip-address", f.opts.AnnounceIP); err != nil {
			return err
		}
	}
	capa := []string{"REPLCONF", "capa", "psync2"}
	if !f.opts.NoCompression {
		for _, c := range Codecs {
			capa = append(capa, "capa", CapaName(c))
		}
	}
	if _, err := l.call(capa...); err != nil {
		return err
	}
	staged := f.offerFiles(l)
	hist, next := f.sink.Position()
	h := hex.EncodeToString(hist[:])
	if next <= 1 {
		h = "?"
	}
	reply, err := l.call("PSYNC", h, strconv.FormatUint(next, 10))
	if err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Time{}) // from here on, deadlines are set per read and write
	f.lastIO.Store(time.Now().UnixMilli())
	fields, cd, err := parseSyncReply(reply, !f.opts.NoCompression)
	if err != nil {
		return err
	}
	f.codec.Store(cd.String())
	fr := &frameReader{r: l.r, codec: cd}
	switch fields[0] {
	case "+CONTINUE":
		f.PartialSync.Add(1)
		if staged != nil {
			_ = os.RemoveAll(f.opts.CopyDir)
		}
	case "+FULLRESYNC":
		id, err := strconv.ParseUint(fields[2], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %q", ErrProtocol, reply)
		}
		var hist [20]byte
		if b, err := hex.DecodeString(fields[1]); err != nil || len(b) != 20 {
			return fmt.Errorf("%w: %q", ErrProtocol, reply)
		} else {
			copy(hist[:], b)
		}
		f.syncing.Store(true)
		f.FullSyncs.Add(1)
		if err := f.receiveCopy(l, fr, id, hist, staged); err != nil {
			return fmt.Errorf("full sync: %w", err)
		}
		f.syncing.Store(false)
		if f.opts.copyOnly {
			return errCopyDone
		}
	}
	f.linkUp.Store(true)
	f.log.Info().Str("master", f.opts.MasterAddr).Str("compression", cd.String()).Msg("replication link up")
	ackStop := make(chan struct{})
	defer close(ackStop)
	go f.ackLoop(l, ackStop)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(f.opts.Timeout))
		typ, payload, err := fr.next()
		if err != nil {
			return err
		}
		f.lastIO.Store(time.Now().UnixMilli())
		switch typ {
		case frameRecords:
			recs, err := decodeRecords(payload)
			if err != nil {
				return err
			}
			if len(recs) == 0 {
				continue
			}
			if err := f.sink.ApplyRecords(recs); err != nil {
				return fmt.Errorf("apply records %d..%d: %w", recs[0].ID, recs[len(recs)-1].ID, err)
			}
			last := recs[len(recs)-1].ID
			if last > f.masterLast.Load() {
				f.masterLast.Store(last)
			}
			if err := l.command("REPLCONF", "ACK", strconv.FormatUint(last, 10)); err != nil {
				return err
			}
		case frameHeartbeat:
			if len(payload) >= 8 {
				f.masterLast.Store(binary.LittleEndian.Uint64(payload))
			}
		default:
			return fmt.Errorf("%w: frame type %d while streaming", ErrProtocol, typ)
		}
	}
}

// parseSyncReply checks PSYNC's reply line: "+CONTINUE <history>" or "+FULLRESYNC
// <history> <ID>", then options such as compress=<codec>. It returns the fixed fields
// and the stream's codec.
func parseSyncReply(reply string, offered bool) ([]string, codec, error) {
	fields := strings.Fields(reply)
	n := 0
	switch {
	case len(fields) >= 2 && fields[0] == "+CONTINUE":
		n = 2
	case len(fields) >= 3 && fields[0] == "+FULLRESYNC":
		n = 3
	default:
		return nil, codecNone, fmt.Errorf("%w: PSYNC answered %q", ErrProtocol, reply)
	}
	cd := codecNone
	for _, o := range fields[n:] {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, codecNone, fmt.Errorf("%w: PSYNC answered %q", ErrProtocol, reply)
		}
		if k == "compress" {
			c, known := parseCodec(v)
			if !known || (c != codecNone && !offered) {
				return nil, codecNone, fmt.Errorf("%w: %s %q", ErrProtocol, errUnknownCodec, v)
			}
			cd = c
		}
		// Other options are for later versions; a follower that does not know them
		// can ignore them.
	}
	return fields[:n], cd, nil
}

// haveFilesChunk bounds one `REPLCONF have-files` argument.
const haveFilesChunk = 32 << 10

// offerFiles prepares a full copy that reuses the follower's own SST files: it links
// them into the copy directory and announces them (with the data's RocksDB identity)
// to the master, which sends a kept frame instead of any file it has too. It returns
// the staged files by name and size, or nil when nothing is offered.
func (f *Follower) offerFiles(l *link) map[string]int64 {
	src := f.sink.DataDir()
	if src == "" || f.opts.CopyDir == "" {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(src, "IDENTITY"))
	ident := strings.TrimSpace(string(raw))
	if err != nil || ident == "" || strings.ContainsAny(ident, " \r\n") {
		return nil
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return nil
	}
	dir := f.opts.CopyDir
	if err := os.RemoveAll(dir); err != nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil
	}
	staged := map[string]int64{}
	var list []string
	for _, e := range ents {
		if !e.Type().IsRegular() || !keepable(e.Name()) {
			continue
		}
		// A hard link pins the file even if RocksDB deletes it meanwhile (after a
		// compaction); a file that is already gone is simply not offered.
		to := filepath.Join(dir, e.Name())
		if err := os.Link(filepath.Join(src, e.Name()), to); err != nil {
			continue
		}
		info, err := os.Stat(to)
		if err != nil {
			continue
		}
		tail, err := fileTail(to, info.Size())
		if err != nil {
			_ = os.Remove(to)
			continue
		}
		staged[e.Name()] = info.Size()
		list = append(list, FormatHaveFile(e.Name(), FileSig{Size: info.Size(), Tail: tail}))
	}
	fail := func(err error) map[string]int64 {
		f.log.Info().Err(err).Msg("master does not take a list of files to keep; a full copy sends everything")
		_ = os.RemoveAll(dir)
		return nil
	}
	if len(staged) == 0 {
		_ = os.RemoveAll(dir)
		return nil
	}
	if _, err := l.call("REPLCONF", "have-identity", ident); err != nil {
		return fail(err)
	}
	for len(list) > 0 {
		n, size := 0, 0
		for n < len(list) && (n == 0 || size+len(list[n])+1 <= haveFilesChunk) {
			size += len(list[n]) + 1
			n++
		}
		if _, err := l.call("REPLCONF", "have-files", strings.Join(list[:n], ",")); err != nil {
			return fail(err)
		}
		list = list[n:]
	}
	return staged
}

// ackLoop acknowledges the applied position once a second, which doubles as the
// follower's heartbeat.
func (f *Follower) ackLoop(l *link, stop chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-f.stop:
			return
		case <-t.C:
			_, next := f.sink.Position()
			if err := l.command("REPLCONF", "ACK", strconv.FormatUint(next-1, 10)); err != nil {
				return
			}
		}
	}
}

// receiveCopy writes the master's files into the copy directory and installs them.
// staged are the follower's own files already linked there by offerFiles: those the
// master sends a kept frame for stay, the others are dropped.
func (f *Follower) receiveCopy(l *link, fr *frameReader, id uint64, hist [20]byte, staged map[string]int64) error {
	dir := f.opts.CopyDir
	if staged == nil {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	kept := map[string]bool{}
	var cur *os.File
	var remaining int64
	closeCur := func() error {
		if cur == nil {
			return nil
		}
		err := cur.Sync()
		if cerr := cur.Close(); err == nil {
			err = cerr
		}
		cur = nil
		return err
	}
	defer closeCur()
	for {
		_ = l.conn.SetReadDeadline(time.Now().Add(f.opts.Timeout))
		typ, payload, err := fr.next()
		if err != nil {
			return err
		}
		f.lastIO.Store(time.Now().UnixMilli())
		switch typ {
		case frameFile, frameKept:
			if err := closeCur(); err != nil {
				return err
			}
			if remaining != 0 {
				return fmt.Errorf("%w: file cut short", ErrProtocol)
			}
			name, size, err := parseFileHeader(payload)
			if err != nil {
				return err
			}
			if kept[name] {
				return fmt.Errorf("%w: file %s sent twice", ErrProtocol, name)
			}
			path := filepath.Join(dir, name)
			if typ == frameKept {
				if have, ok := staged[name]; !ok || have != size {
					return fmt.Errorf("%w: master kept %s (%d bytes), which this follower did not offer", ErrProtocol, name, size)
				}
				kept[name] = true
				f.KeptFiles.Add(1)
				continue
			}
			// A staged file of this name is a hard link to the live data: unlink it
			// rather than write through it.
			delete(staged, name)
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				return err
			}
			cur, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			remaining = size
		case frameChunk:
			if cur == nil || int64(len(payload)) > remaining {
				return fmt.Errorf("%w: unexpected file data", ErrProtocol)
			}
			if _, err := cur.Write(payload); err != nil {
				return err
			}
			remaining -= int64(len(payload))
		case frameCopyDone:
			if err := closeCur(); err != nil {
				return err
			}
			if remaining != 0 {
				return fmt.Errorf("%w: file cut short", ErrProtocol)
			}
			for name := range staged {
				if !kept[name] {
					if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
						return err
					}
				}
			}
			if err := f.sink.InstallCopy(dir, id, hist); err != nil {
				return fmt.Errorf("install copy: %w", err)
			}
			f.masterLast.Store(id)
			return nil
		case frameHeartbeat:
		default:
			return fmt.Errorf("%w: frame type %d during a full copy", ErrProtocol, typ)
		}
	}
}

var errCopyDone = errors.New("repl: copy received")

// copySink keeps a full copy where it was received instead of installing it.
type copySink struct {
	id   uint64
	hist [20]byte
	got  bool
}

func (c *copySink) Position() ([20]byte, uint64)            { return [20]byte{}, 0 }
func (c *copySink) ApplyRecords(recs []binlog.Record) error { return errCopyDone }
func (c *copySink) DataDir() string                         { return "" }
func (c *copySink) InstallCopy(dir string, id uint64, history [20]byte) error {
	c.id, c.hist, c.got = id, history, true
	return nil
}

// FetchCopy receives a consistent, point-in-time copy of a running server's data into
// opts.CopyDir, the way a follower's full sync does, without disturbing the server,
// and returns the binlog ID and history the copy holds. It serves online dumps.
func FetchCopy(opts FollowerOptions, log zerolog.Logger) (uint64, [20]byte, error) {
	opts.copyOnly = true
	sink := &copySink{}
	f := NewFollower(opts, sink, log)
	err := f.session()
	if errors.Is(err, errCopyDone) && sink.got {
		return sink.id, sink.hist, nil
	}
	if err == nil || errors.Is(err, errCopyDone) {
		err = fmt.Errorf("%w: the server did not send a copy", ErrProtocol)
	}
	return 0, [20]byte{}, err
}
