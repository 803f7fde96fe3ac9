package binlog

import (
	"bufio"
	"bytes"
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

	"golang.org/x/sys/unix"
)

// SyncPolicy says when appended records are fsynced.
type SyncPolicy int

const (
	SyncEverySec SyncPolicy = iota // default
	SyncAlways
	SyncNo
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncNo:
		return "no"
	}
	return "everysec"
}

// ParseSyncPolicy parses "always", "everysec" or "no".
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "everysec":
		return SyncEverySec, nil
	case "no":
		return SyncNo, nil
	}
	return 0, fmt.Errorf("binlog: sync policy %q is not one of always, everysec, no", s)
}

// Options configure a Log.
type Options struct {
	Dir          string
	MaxFileSize  int64 // rotate once a segment passes this size
	Sync         SyncPolicy
	Retention    time.Duration // purge segments whose records are all older than this
	MaxTotalSize int64         // purge the oldest segments beyond this total size
	// Warn receives recovery warnings (a truncated torn tail). May be nil.
	Warn func(msg string)
	// ReadOnly opens for inspection: nothing is truncated, created or written.
	ReadOnly bool
	// OpenFile opens segment files for appending; nil means os.OpenFile. Tests use
	// it to inject write and fsync failures (a full disk, a failing device).
	OpenFile func(path string, flag int, perm os.FileMode) (File, error)
	// OnFsync, when set, is told how long each successful fsync took.
	OnFsync func(d time.Duration)
}

// File is what the log needs of a segment file opened for appending.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

func (l *Log) openFile(path string, flag int, perm os.FileMode) (File, error) {
	if l.opts.OpenFile != nil {
		return l.opts.OpenFile(path, flag, perm)
	}
	return os.OpenFile(path, flag, perm)
}

const segSuffix = ".binlog"

type segment struct {
	first uint64 // ID of its first record (next ID to be written when empty)
	path  string
	size  int64
	mtime time.Time // time of its newest record, for retention
}

// Log is an append-only, segmented record log.
type Log struct {
	opts Options

	mu             sync.Mutex
	segs           []segment // oldest first; the last one is active
	f              File      // active segment
	lastID         uint64    // 0 when nothing was ever written
	err            error     // sticky write/fsync failure
	closed         bool
	closedForWrite bool // read-only: no active file
	buf            []byte
	dirty          bool // written since the last fsync
	lastSync       time.Time
	synced         atomic.Uint64 // every record up to this ID is fsynced
	syncMu         sync.Mutex    // one fsync at a time; waiters behind it share the next
	syncerOnce     sync.Once
	syncer         *syncer       // fdatasync off the Go scheduler; nil: in place
	notify         chan struct{} // closed and replaced on every append

	stop chan struct{}
	bg   sync.WaitGroup
}

// Stats describe the log for INFO.
type Stats struct {
	FirstID, LastID uint64
	Files           int
	TotalSize       int64
	Sync            SyncPolicy
	LastFsync       time.Time
	Err             error
}

func segName(first uint64) string { return fmt.Sprintf("%020d%s", first, segSuffix) }

// listSegments returns the segments of dir, oldest first.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("binlog: list %s: %w", dir, err)
	}
	var segs []segment
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, segSuffix) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("binlog: stat %s: %w", name, err)
		}
		segs = append(segs, segment{first: first, path: filepath.Join(dir, name), size: info.Size(), mtime: info.ModTime()})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

// Open opens or creates the log in opts.Dir, recovering from a torn tail. Corruption
// fails with an error naming the file and offset (IsCorruption).
func Open(opts Options) (*Log, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = 1 << 30
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("binlog: create %s: %w", opts.Dir, err)
	}
	segs, err := listSegments(opts.Dir)
	if err != nil {
		return nil, err
	}
	l := &Log{opts: opts, segs: segs, notify: make(chan struct{}), stop: make(chan struct{}), lastSync: time.Now()}
	for i := range segs {
		last := i == len(segs)-1
		lastID, size, err := l.scan(&segs[i], last)
		if err != nil {
			return nil, err
		}
		segs[i].size = size
		if i > 0 && segs[i].first != segs[i-1].first && segs[i].first <= l.lastID && lastID != 0 {
			return nil, fmt.Errorf("%w: %s starts at %d but the previous segment reaches %d", ErrCorrupt, segs[i].path, segs[i].first, l.lastID)
		}
		if lastID != 0 {
			l.lastID = lastID
		} else if segs[i].first > 0 {
			l.lastID = segs[i].first - 1
		}
	}
	if opts.ReadOnly {
		if len(segs) == 0 {
			return nil, fmt.Errorf("binlog: no segments in %s", opts.Dir)
		}
		l.closedForWrite = true
		return l, nil
	}
	if len(segs) == 0 {
		if err := l.createSegment(1); err != nil {
			return nil, err
		}
	} else {
		f, err := l.openFile(segs[len(segs)-1].path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, fmt.Errorf("binlog: open %s: %w", segs[len(segs)-1].path, err)
		}
		l.f = f
	}
	l.synced.Store(l.lastID) // what survived to this open is what there is
	if opts.Sync == SyncEverySec {
		l.bg.Add(1)
		go l.syncLoop()
	}
	return l, nil
}

// scan reads a whole segment, checking every frame. In the last segment a torn tail
// is truncated; anywhere else damage is corruption. It returns the segment's last ID
// (0 when it holds no change record) and its valid size.
func (l *Log) scan(seg *segment, last bool) (uint64, int64, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return 0, 0, fmt.Errorf("binlog: open %s: %w", seg.path, err)
	}
	defer f.Close()
	fr := &frameReader{r: bufio.NewReaderSize(f, 1<<20)}
	var lastID uint64
	first := true
	for {
		off := fr.off
		typ, payload, err := fr.next()
		if err == io.EOF {
			return lastID, off, nil
		}
		if err != nil {
			if last && errors.Is(err, errTorn) || last && errors.Is(err, ErrCorrupt) && l.tailIsGarbage(seg.path, off) {
				if l.opts.ReadOnly {
					return lastID, off, nil
				}
				if terr := l.truncateTail(seg.path, off); terr != nil {
					return 0, 0, terr
				}
				return lastID, off, nil
			}
			if errors.Is(err, errTorn) {
				err = fmt.Errorf("%w: record cut short", ErrCorrupt)
			}
			return 0, 0, fmt.Errorf("%w (file %s, offset %d)", err, seg.path, off)
		}
		switch {
		case first:
			if typ != TypeHeader {
				return 0, 0, fmt.Errorf("%w: segment does not start with a header (file %s, offset 0)", ErrCorrupt, seg.path)
			}
			hf, err := parseHeader(payload)
			if err != nil {
				return 0, 0, fmt.Errorf("%w (file %s, offset 0)", err, seg.path)
			}
			if hf != seg.first {
				return 0, 0, fmt.Errorf("%w: header says first ID %d, name says %d (file %s)", ErrCorrupt, hf, seg.first, seg.path)
			}
			first = false
		case typ == TypeChange:
			r, err := DecodeChange(payload)
			if err != nil {
				return 0, 0, fmt.Errorf("%w (file %s, offset %d)", err, seg.path, off)
			}
			want := seg.first
			if lastID != 0 {
				want = lastID + 1
			}
			if r.ID != want {
				return 0, 0, fmt.Errorf("%w: record ID %d where %d was expected (file %s, offset %d)", ErrCorrupt, r.ID, want, seg.path, off)
			}
			lastID = r.ID
		default:
			return 0, 0, fmt.Errorf("%w: unknown record type %d (file %s, offset %d)", ErrCorrupt, typ, seg.path, off)
		}
	}
}

// tailIsGarbage reports whether a bad frame at off is the last thing in the file:
// either every byte from off on is zero, or the frame as framed reaches the end. A
// crash can leave such a frame half-persisted; a bad frame with data after it cannot.
func (l *Log) tailIsGarbage(path string, off int64) bool {
	data, err := os.ReadFile(path)
	if err != nil || off > int64(len(data)) {
		return false
	}
	tail := data[off:]
	if len(bytes.Trim(tail, "\x00")) == 0 {
		return true
	}
	if len(tail) >= headerSize {
		n := int64(uint32(tail[4]) | uint32(tail[5])<<8 | uint32(tail[6])<<16 | uint32(tail[7])<<24)
		return headerSize+n >= int64(len(tail))
	}
	return true
}

// truncateTail cuts a torn tail off, keeping a copy of the cut bytes next to the file.
func (l *Log) truncateTail(path string, off int64) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("binlog: read %s: %w", path, err)
	}
	keep := fmt.Sprintf("%s.torn-%d", path, off)
	if err := os.WriteFile(keep, data[off:], 0o644); err != nil {
		return fmt.Errorf("binlog: save torn tail of %s: %w", path, err)
	}
	if err := os.Truncate(path, off); err != nil {
		return fmt.Errorf("binlog: truncate %s at %d: %w", path, off, err)
	}
	if err := syncPath(path); err != nil {
		return err
	}
	if l.opts.Warn != nil {
		l.opts.Warn(fmt.Sprintf("binlog: truncated torn tail of %s at offset %d (%d bytes kept in %s)", path, off, len(data)-int(off), keep))
	}
	return nil
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("binlog: open %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("binlog: fsync %s: %w", path, err)
	}
	return nil
}

// createSegment starts a new active segment whose first record will have ID first:
// written as a temp file, fsynced, renamed, and the directory fsynced.
func (l *Log) createSegment(first uint64) error {
	path := filepath.Join(l.opts.Dir, segName(first))
	tmp := path + ".tmp"
	f, err := l.openFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("binlog: create %s: %w", tmp, err)
	}
	hdr := appendFrame(nil, TypeHeader, headerPayload(first))
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		return fmt.Errorf("binlog: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("binlog: fsync %s: %w", tmp, err)
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("binlog: rename %s: %w", tmp, err)
	}
	if err := syncPath(l.opts.Dir); err != nil {
		return err
	}
	nf, err := l.openFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("binlog: open %s: %w", path, err)
	}
	l.f = nf
	l.segs = append(l.segs, segment{first: first, path: path, size: int64(len(hdr)), mtime: time.Now()})
	return nil
}

// Append writes records with IDs LastID()+1, +2, ... for each changes entry and
// returns the first ID. The records are written but not yet fsynced: a caller that
// must not answer before they are durable (sync always) calls WaitDurable, so that one
// fsync covers every group appended meanwhile.
func (l *Log) Append(history [20]byte, unixMs int64, changes ...[]byte) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.closedForWrite {
		return 0, ErrClosed
	}
	if l.err != nil {
		return 0, fmt.Errorf("%w: %v", ErrFailed, l.err)
	}
	first := l.lastID + 1
	buf := l.buf[:0]
	for i, ch := range changes {
		buf = appendChange(buf, &Record{ID: first + uint64(i), History: history, Time: unixMs, Changes: ch})
	}
	l.buf = buf
	if err := l.writeLocked(buf, first+uint64(len(changes))-1); err != nil {
		return 0, err
	}
	return first, nil
}

// writeLocked appends framed records ending with ID last, publishes them to readers
// and rotates the segment once it is full. A write failure is sticky; a failed
// rotation too, but the records it follows are written.
func (l *Log) writeLocked(buf []byte, last uint64) error {
	seg := &l.segs[len(l.segs)-1]
	if _, err := l.f.Write(buf); err != nil {
		l.err = fmt.Errorf("write %s at offset %d: %w", seg.path, seg.size, err)
		return fmt.Errorf("binlog: %w", l.err)
	}
	seg.size += int64(len(buf))
	seg.mtime = time.Now()
	l.dirty = true
	l.lastID = last
	close(l.notify)
	l.notify = make(chan struct{})
	if seg.size >= l.opts.MaxFileSize {
		_ = l.rotateLocked()
	}
	return nil
}

func (l *Log) syncLocked() error {
	if !l.dirty {
		return nil
	}
	if err := l.datasync(l.f); err != nil {
		seg := l.segs[len(l.segs)-1]
		l.err = fmt.Errorf("fsync %s: %w", seg.path, err)
		return fmt.Errorf("binlog: %w", l.err)
	}
	l.dirty = false
	l.lastSync = time.Now()
	l.synced.Store(l.lastID)
	return nil
}

// WaitDurable returns once every record up to id is fsynced. Concurrent callers share
// fsyncs: whoever finds the previous fsync done starts the next one for everything
// written so far, and those waiting behind it usually find their records covered.
func (l *Log) WaitDurable(id uint64) error {
	if l.synced.Load() >= id {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.synced.Load() >= id {
		return nil
	}
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return fmt.Errorf("%w: %v", ErrFailed, l.err)
	}
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	target, f, path := l.lastID, l.f, l.segs[len(l.segs)-1].path
	l.mu.Unlock()
	err := l.datasync(f)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if l.synced.Load() >= id {
			return nil // a rotation fsynced and closed the file meanwhile
		}
		if l.err == nil {
			l.err = fmt.Errorf("fsync %s: %w", path, err)
		}
		return fmt.Errorf("binlog: %w", l.err)
	}
	if target > l.synced.Load() {
		l.synced.Store(target)
		l.lastSync = time.Now()
	}
	if l.lastID == target {
		l.dirty = false
	}
	return nil
}

func (l *Log) rotateLocked() error {
	if err := l.f.Sync(); err != nil {
		l.err = fmt.Errorf("fsync %s before rotation: %w", l.segs[len(l.segs)-1].path, err)
		return l.err
	}
	l.dirty = false
	l.lastSync = time.Now()
	l.synced.Store(l.lastID)
	if err := l.f.Close(); err != nil {
		l.err = fmt.Errorf("close %s: %w", l.segs[len(l.segs)-1].path, err)
		return l.err
	}
	if err := l.createSegment(l.lastID + 1); err != nil {
		l.err = err
		return err
	}
	return nil
}

// Sync fsyncs what was appended.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.closedForWrite {
		return ErrClosed
	}
	if l.err != nil {
		return fmt.Errorf("%w: %v", ErrFailed, l.err)
	}
	return l.syncLocked()
}

func (l *Log) syncLoop() {
	defer l.bg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			_ = l.Sync() // a failure is sticky and surfaces on the next Append
		}
	}
}

// SetLastID makes an empty log continue after id (a data directory restored from a
// snapshot or a full sync). It fails if the log already has records after id.
func (l *Log) SetLastID(id uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id == l.lastID {
		return nil
	}
	if l.err != nil {
		return fmt.Errorf("%w: %v", ErrFailed, l.err)
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("binlog: close: %w", err)
	}
	l.lastID = id
	l.synced.Store(id)
	if err := l.createSegment(id + 1); err != nil {
		l.err = err
		return err
	}
	return nil
}

// LastID is the ID of the newest record (0 when the log is empty).
func (l *Log) LastID() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastID
}

// FirstID is the ID of the oldest record still in the log.
func (l *Log) FirstID() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[0].first
}

// Err returns the sticky failure, if any.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Notify returns a channel closed at the next append, for readers tailing the log.
func (l *Log) Notify() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify
}

// Stats describes the log.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Stats{FirstID: l.segs[0].first, LastID: l.lastID, Files: len(l.segs), Sync: l.opts.Sync, LastFsync: l.lastSync, Err: l.err}
	for _, s := range l.segs {
		st.TotalSize += s.size
	}
	return st
}

// Purge removes the oldest segments that are no longer needed. A segment goes only
// when every record in it is at most applied (durable elsewhere) and either all its
// records are older than the retention and no follower still needs them (needFrom is
// the lowest ID a connected follower has yet to receive; ^uint64(0) when none), or the
// log is larger than its size limit: one dead follower cannot fill the disk. The
// active segment is never removed.
func (l *Log) Purge(applied, needFrom uint64, now time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	for _, s := range l.segs {
		total += s.size
	}
	removed := 0
	for len(l.segs) > 1 {
		s := l.segs[0]
		lastInSeg := l.segs[1].first - 1
		if lastInSeg > applied {
			break
		}
		old := l.opts.Retention > 0 && now.Sub(s.mtime) > l.opts.Retention && lastInSeg < needFrom
		big := l.opts.MaxTotalSize > 0 && total > l.opts.MaxTotalSize
		if !old && !big {
			break
		}
		if err := os.Remove(s.path); err != nil {
			return removed, fmt.Errorf("binlog: purge %s: %w", s.path, err)
		}
		total -= s.size
		l.segs = l.segs[1:]
		removed++
	}
	return removed, nil
}

// Close fsyncs and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.stop)
	if l.closedForWrite {
		l.mu.Unlock()
		return nil
	}
	var err error
	if l.err == nil && l.dirty {
		if e := l.f.Sync(); e != nil {
			err = fmt.Errorf("binlog: fsync on close: %w", e)
		}
	}
	if e := l.f.Close(); e != nil && err == nil {
		err = fmt.Errorf("binlog: close: %w", e)
	}
	l.mu.Unlock()
	l.bg.Wait()
	l.syncerOnce.Do(func() {}) // no syncer starts after this
	if l.syncer != nil {
		l.syncer.close()
	}
	return err
}

// AppendRecords writes records received from a master, keeping their IDs, histories
// and times; the first must follow LastID. It syncs like Append.
func (l *Log) AppendRecords(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.closedForWrite {
		return ErrClosed
	}
	if l.err != nil {
		return fmt.Errorf("%w: %v", ErrFailed, l.err)
	}
	if recs[0].ID != l.lastID+1 {
		return fmt.Errorf("binlog: record %d does not follow %d", recs[0].ID, l.lastID)
	}
	buf := l.buf[:0]
	for i := range recs {
		if i > 0 && recs[i].ID != recs[i-1].ID+1 {
			return fmt.Errorf("binlog: record %d does not follow %d", recs[i].ID, recs[i-1].ID)
		}
		buf = appendChange(buf, &recs[i])
	}
	l.buf = buf
	return l.writeLocked(buf, recs[len(recs)-1].ID)
}

// Reset drops every segment and continues after lastID: a follower that installed a
// full copy of its master's data starts its log where that copy ends.
func (l *Log) Reset(lastID uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.closedForWrite {
		return ErrClosed
	}
	if l.f != nil {
		_ = l.f.Close()
	}
	for _, s := range l.segs {
		if err := os.Remove(s.path); err != nil && !os.IsNotExist(err) {
			l.err = fmt.Errorf("remove %s: %w", s.path, err)
			return l.err
		}
	}
	l.segs = nil
	l.lastID = lastID
	l.synced.Store(lastID)
	l.err = nil
	if err := l.createSegment(lastID + 1); err != nil {
		l.err = err
		return err
	}
	close(l.notify)
	l.notify = make(chan struct{})
	return nil
}

// datasync makes a segment's appended records durable. fdatasync skips the inode
// times that fsync would also write (what Redis uses for its AOF); it runs on the
// syncer's thread, or in place if that thread could not start. Other File
// implementations (tests) get their own Sync.
func (l *Log) datasync(f File) error {
	start := time.Now()
	err := l.fdatasync(f)
	if err == nil && l.opts.OnFsync != nil {
		l.opts.OnFsync(time.Since(start))
	}
	return err
}

func (l *Log) fdatasync(f File) error {
	osf, ok := f.(*os.File)
	if !ok {
		return f.Sync()
	}
	l.syncerOnce.Do(func() { l.syncer, _ = newSyncer() })
	if l.syncer != nil {
		return l.syncer.datasync(osf)
	}
	for {
		err := unix.Fdatasync(int(osf.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
