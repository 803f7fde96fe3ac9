package repl

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/strata-kv/strata/binlog"
)

// Source is what a master needs of the server it runs in.
type Source interface {
	Log() *binlog.Log
	History() [20]byte
	PrevHistory() ([20]byte, uint64)
	// Checkpoint writes a consistent copy of the data into dir and returns the ID of
	// the last record it holds and the history of that record.
	Checkpoint(dir string) (uint64, [20]byte, error)
}

// Conn is a follower's connection once it has left request/response mode.
type Conn interface {
	io.Writer
	ReadCommand() ([][]byte, error)
	Close() error
}

// Peer is one connected follower as the master sees it.
type Peer struct {
	IP        string
	Port      int // the follower's listening port, for INFO and Sentinel
	ack       atomic.Uint64
	sent      atomic.Uint64
	lastAck   atomic.Int64 // unix ms
	state     atomic.Value // "wait_bgsave", "send_bulk", "online"
	conn      Conn
	closeOnce sync.Once
	done      chan struct{}
}

// Ack is the last ID the follower has confirmed.
func (p *Peer) Ack() uint64 { return p.ack.Load() }

// State is the follower's sync state in Redis's words.
func (p *Peer) State() string { return p.state.Load().(string) }

// LagSeconds is the time since the follower's last acknowledgement.
func (p *Peer) LagSeconds() int64 {
	return (time.Now().UnixMilli() - p.lastAck.Load()) / 1000
}

func (p *Peer) close() {
	p.closeOnce.Do(func() {
		close(p.done)
		p.conn.Close()
	})
}

// MasterOptions tune the sending side.
type MasterOptions struct {
	CopyDir      string        // where checkpoints for full copies are made
	Timeout      time.Duration // drop a follower silent for this long
	MaxBandwidth int64         // bytes per second for the stream, 0 = unlimited
	Compression  string        // CompressZstd, CompressSnappy or CompressNone ("" = none)
}

// Handshake is what a follower said before PSYNC.
type Handshake struct {
	IP            string
	Port          int    // REPLCONF listening-port
	History, Next string // PSYNC's arguments
	Capa          []string
	// Identity and Have describe the data the follower already holds
	// (REPLCONF have-identity, have-files): a full copy skips those files.
	Identity string
	Have     map[string]FileSig
}

// Master serves followers from the binlog.
type Master struct {
	src  Source
	opts MasterOptions
	log  zerolog.Logger

	mu      sync.Mutex
	peers   map[*Peer]struct{}
	ackWait chan struct{} // closed and replaced whenever an ack arrives

	FullSyncs, PartialOK, PartialErr atomic.Int64
	copySeq                          atomic.Int64

	// Stream counts the frames' payload bytes before and after compression.
	Stream StreamStats
	// Full copies: files and bytes sent, and files skipped because the follower
	// had them (with the bytes that were not sent).
	CopyFilesSent, CopyBytesSent, CopyFilesKept, CopyBytesKept atomic.Int64

	closed chan struct{}
}

// NewMaster returns a master serving from src.
func NewMaster(src Source, opts MasterOptions, log zerolog.Logger) *Master {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	return &Master{src: src, opts: opts, log: log, peers: map[*Peer]struct{}{}, ackWait: make(chan struct{}), closed: make(chan struct{})}
}

// Close disconnects every follower.
func (m *Master) Close() {
	m.mu.Lock()
	select {
	case <-m.closed:
	default:
		close(m.closed)
	}
	peers := m.Peers()
	m.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
}

// Peers returns the connected followers. Call without m.mu held, or from Close.
func (m *Master) Peers() []*Peer {
	out := make([]*Peer, 0, len(m.peers))
	for p := range m.peers {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// Followers returns a snapshot of the connected followers.
func (m *Master) Followers() []*Peer {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.Peers()
}

// NeedFrom is the lowest ID a connected follower has not acknowledged yet.
func (m *Master) NeedFrom() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	need := ^uint64(0)
	for p := range m.peers {
		if a := p.ack.Load() + 1; a < need {
			need = a
		}
	}
	return need
}

// Acked counts followers that have acknowledged id.
func (m *Master) Acked(id uint64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for p := range m.peers {
		if p.ack.Load() >= id {
			n++
		}
	}
	return n
}

// WaitAcks waits until n followers have acknowledged id or the timeout passes, and
// returns how many have.
func (m *Master) WaitAcks(id uint64, n int, timeout time.Duration) int {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		got := 0
		for p := range m.peers {
			if p.ack.Load() >= id {
				got++
			}
		}
		wait := m.ackWait
		m.mu.Unlock()
		if got >= n {
			return got
		}
		select {
		case <-wait:
		case <-deadline.C:
			return m.Acked(id)
		case <-m.closed:
			return m.Acked(id)
		}
	}
}

func (m *Master) noteAck(p *Peer, id uint64) {
	for {
		old := p.ack.Load()
		if id <= old || p.ack.CompareAndSwap(old, id) {
			break
		}
	}
	p.lastAck.Store(time.Now().UnixMilli())
	m.mu.Lock()
	close(m.ackWait)
	m.ackWait = make(chan struct{})
	m.mu.Unlock()
}

// canContinue decides whether a follower at (history, next) can be served from the
// log, without a full copy.
func (m *Master) canContinue(history string, next uint64) bool {
	l := m.src.Log()
	if next == 0 || next > l.LastID()+1 || next < l.FirstID() {
		return false
	}
	cur := m.src.History()
	if history == hex.EncodeToString(cur[:]) {
		return true
	}
	prev, end := m.src.PrevHistory()
	return end != 0 && history == hex.EncodeToString(prev[:]) && next <= end
}

// Serve runs the master side of one follower's PSYNC until the link breaks.
func (m *Master) Serve(c Conn, h Handshake) {
	ip, port := h.IP, h.Port
	p := &Peer{IP: ip, Port: port, conn: c, done: make(chan struct{})}
	p.state.Store("wait_bgsave")
	p.lastAck.Store(time.Now().UnixMilli())
	defer p.close()
	w := bufio.NewWriterSize(throttled(c, m.opts.MaxBandwidth), 256<<10)
	fw := &frameWriter{w: w, codec: pickCodec(m.opts.Compression, h.Capa), stats: &m.Stream}
	opt := ""
	if fw.codec != codecNone {
		opt = " compress=" + fw.codec.String()
	}
	next, err := strconv.ParseUint(h.Next, 10, 64)
	if err != nil {
		next = 0
	}
	var from uint64
	if h.History != "?" && m.canContinue(h.History, next) {
		m.PartialOK.Add(1)
		cur := m.src.History()
		fmt.Fprintf(w, "+CONTINUE %s%s\r\n", hex.EncodeToString(cur[:]), opt)
		from = next
		p.ack.Store(next - 1)
	} else {
		if h.History != "?" {
			m.PartialErr.Add(1)
		}
		m.FullSyncs.Add(1)
		p.state.Store("send_bulk")
		id, err := m.sendCopy(fw, p, &h, opt)
		if err != nil {
			m.log.Warn().Err(err).Str("follower", ip).Msg("full sync failed")
			return
		}
		from = id + 1
		p.ack.Store(id)
	}
	if err := w.Flush(); err != nil {
		return
	}
	p.state.Store("online")
	m.mu.Lock()
	m.peers[p] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.peers, p)
		close(m.ackWait)
		m.ackWait = make(chan struct{})
		m.mu.Unlock()
	}()
	go m.readAcks(p)
	if err := m.stream(fw, p, from); err != nil && !errors.Is(err, errPeerGone) {
		m.log.Info().Err(err).Str("follower", ip).Int("port", port).Msg("replication link closed")
	}
}

var errPeerGone = errors.New("repl: follower gone")

func (m *Master) readAcks(p *Peer) {
	defer p.close()
	for {
		args, err := p.conn.ReadCommand()
		if err != nil {
			return
		}
		if len(args) >= 3 && strings.EqualFold(string(args[0]), "replconf") && strings.EqualFold(string(args[1]), "ack") {
			if id, err := strconv.ParseUint(string(args[2]), 10, 64); err == nil {
				m.noteAck(p, id)
			}
		}
	}
}

// stream pushes records from the log without waiting for acknowledgements.
func (m *Master) stream(fw *frameWriter, p *Peer, from uint64) error {
	l := m.src.Log()
	r, err := l.NewReader(from)
	if err != nil {
		return err
	}
	defer r.Close()
	heartbeat := time.NewTicker(time.Second)
	defer heartbeat.Stop()
	var batch []byte
	count := uint32(0)
	flush := func() error {
		if count > 0 {
			binary.LittleEndian.PutUint32(batch[:4], count)
			if err := fw.write(frameRecords, batch); err != nil {
				return err
			}
			count = 0
		}
		return fw.w.Flush()
	}
	for {
		notify := l.Notify()
		rec, err := r.Next()
		if err == nil {
			if count == 0 {
				batch = append(batch[:0], 0, 0, 0, 0)
			}
			batch = appendRecord(batch, &rec)
			count++
			p.sent.Store(rec.ID)
			if count >= 4096 || len(batch) >= 1<<20 {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err != io.EOF {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		select {
		case <-notify:
		case <-heartbeat.C:
			if time.Now().UnixMilli()-p.lastAck.Load() > m.opts.Timeout.Milliseconds() {
				return fmt.Errorf("repl: no acknowledgement for %s", m.opts.Timeout)
			}
			var hb [16]byte
			binary.LittleEndian.PutUint64(hb[:], l.LastID())
			binary.LittleEndian.PutUint64(hb[8:], uint64(time.Now().UnixMilli()))
			if err := fw.write(frameHeartbeat, hb[:]); err != nil {
				return err
			}
		case <-p.done:
			return errPeerGone
		case <-m.closed:
			return errPeerGone
		}
	}
}

// sendCopy makes a checkpoint and streams its files; it returns the checkpoint's ID.
// SST files the follower announced with the same name, size and tail, in data of
// the same RocksDB identity, are not sent: a kept frame tells it to use its own.
func (m *Master) sendCopy(fw *frameWriter, p *Peer, h *Handshake, opt string) (uint64, error) {
	dir := filepath.Join(m.opts.CopyDir, fmt.Sprintf("copy-%d-%d", os.Getpid(), m.copySeq.Add(1)))
	_ = os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return 0, err
	}
	id, hist, err := m.src.Checkpoint(dir)
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	fmt.Fprintf(fw.w, "+FULLRESYNC %s %d%s\r\n", hex.EncodeToString(hist[:]), id, opt)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	reuse := false
	if h.Identity != "" && len(h.Have) > 0 {
		ident, err := os.ReadFile(filepath.Join(dir, "IDENTITY"))
		reuse = err == nil && strings.TrimSpace(string(ident)) == h.Identity
	}
	var sent, sentBytes, kept, keptBytes int64
	buf := make([]byte, 1<<20)
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return 0, err
		}
		hdr := appendFileHeader(nil, e.Name(), info.Size())
		if reuse && keepable(e.Name()) {
			if sig, ok := h.Have[e.Name()]; ok && sig.Size == info.Size() {
				if tail, err := fileTail(path, info.Size()); err == nil && tail == sig.Tail {
					f.Close()
					if err := fw.write(frameKept, hdr); err != nil {
						return 0, err
					}
					kept++
					keptBytes += info.Size()
					m.CopyFilesKept.Add(1)
					m.CopyBytesKept.Add(info.Size())
					continue
				}
			}
		}
		if err := fw.write(frameFile, hdr); err != nil {
			f.Close()
			return 0, err
		}
		var done int64
		for done < info.Size() {
			n, rerr := f.Read(buf[:min(int64(len(buf)), info.Size()-done)])
			if n > 0 {
				if err := fw.write(frameChunk, buf[:n]); err != nil {
					f.Close()
					return 0, err
				}
				done += int64(n)
			}
			if rerr == io.EOF && done < info.Size() {
				rerr = io.ErrUnexpectedEOF
			}
			if rerr != nil && rerr != io.EOF {
				f.Close()
				return 0, fmt.Errorf("read %s: %w", e.Name(), rerr)
			}
		}
		f.Close()
		sent++
		sentBytes += info.Size()
		m.CopyFilesSent.Add(1)
		m.CopyBytesSent.Add(info.Size())
		select {
		case <-p.done:
			return 0, errPeerGone
		default:
		}
	}
	if err := fw.write(frameCopyDone, nil); err != nil {
		return 0, err
	}
	m.log.Info().Str("follower", p.IP).Int("port", p.Port).Uint64("id", id).
		Int64("files_sent", sent).Int64("bytes_sent", sentBytes).
		Int64("files_kept", kept).Int64("bytes_kept", keptBytes).
		Str("compression", fw.codec.String()).Msg("full copy sent")
	return id, nil
}

// throttled limits a writer to bytesPerSec (0 = unlimited).
func throttled(w io.Writer, bytesPerSec int64) io.Writer {
	if bytesPerSec <= 0 {
		return w
	}
	return &throttle{w: w, rate: bytesPerSec, start: time.Now()}
}

type throttle struct {
	w     io.Writer
	rate  int64
	start time.Time
	sent  int64
}

func (t *throttle) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.sent += int64(n)
	due := time.Duration(float64(t.sent) / float64(t.rate) * float64(time.Second))
	if ahead := due - time.Since(t.start); ahead > 0 {
		time.Sleep(ahead)
	}
	if time.Since(t.start) > 10*time.Second {
		// Restart the window so an idle period does not allow a burst later.
		t.start, t.sent = time.Now(), 0
	}
	return n, err
}
