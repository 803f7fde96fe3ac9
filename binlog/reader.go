package binlog

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// Reader reads records in ID order from a starting ID, following the log as it grows
// and across segment boundaries.
type Reader struct {
	l        *Log
	next     uint64 // ID of the next record to return
	segFirst uint64
	path     string
	f        *os.File
	fr       *frameReader
}

// offsetReader reads a file sequentially by offset, so a reader can resume after the
// writer appended more (plain buffered reads would latch the end of file).
type offsetReader struct {
	f   *os.File
	off int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.f.ReadAt(p, o.off)
	o.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// NewReader returns a reader positioned at ID from. from may be LastID()+1 (wait for
// the next record); older IDs that were purged give ErrNotFound.
func (l *Log) NewReader(from uint64) (*Reader, error) {
	l.mu.Lock()
	first, last := l.segs[0].first, l.lastID
	l.mu.Unlock()
	if from < first || from > last+1 || from == 0 {
		return nil, fmt.Errorf("%w: ID %d (log holds %d..%d)", ErrNotFound, from, first, last)
	}
	return &Reader{l: l, next: from}, nil
}

// Next returns the next record, or io.EOF when the reader has caught up with the log
// (call again after Log.Notify fires). Changes are only valid until the next call.
func (r *Reader) Next() (Record, error) {
	r.l.mu.Lock()
	last := r.l.lastID
	var want segment
	found := false
	for i := len(r.l.segs) - 1; i >= 0; i-- {
		if r.l.segs[i].first <= r.next {
			want, found = r.l.segs[i], true
			break
		}
	}
	closed := r.l.closed
	r.l.mu.Unlock()
	if closed {
		return Record{}, ErrClosed
	}
	if r.next > last {
		return Record{}, io.EOF
	}
	if !found {
		return Record{}, fmt.Errorf("%w: ID %d was purged", ErrNotFound, r.next)
	}
	if r.f == nil || want.first != r.segFirst {
		if err := r.open(want); err != nil {
			return Record{}, err
		}
	}
	for {
		off := r.fr.off
		typ, payload, err := r.fr.next()
		if err != nil {
			if err == io.EOF || err == errTorn {
				err = fmt.Errorf("%w: record %d missing", ErrCorrupt, r.next)
			}
			return Record{}, fmt.Errorf("%w (file %s, offset %d)", err, r.path, off)
		}
		if typ == TypeHeader {
			continue
		}
		rec, err := DecodeChange(payload)
		if err != nil {
			return Record{}, fmt.Errorf("%w (file %s, offset %d)", err, r.path, off)
		}
		if rec.ID < r.next {
			continue
		}
		if rec.ID != r.next {
			return Record{}, fmt.Errorf("%w: found record %d where %d was expected (file %s, offset %d)", ErrCorrupt, rec.ID, r.next, r.path, off)
		}
		r.next++
		return rec, nil
	}
}

func (r *Reader) open(s segment) error {
	if r.f != nil {
		r.f.Close()
	}
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("binlog: open %s: %w", s.path, err)
	}
	r.f, r.path, r.segFirst = f, s.path, s.first
	r.fr = &frameReader{r: bufio.NewReaderSize(&offsetReader{f: f}, 256<<10)}
	return nil
}

// NextID is the ID the next call to Next returns.
func (r *Reader) NextID() uint64 { return r.next }

// Close releases the reader.
func (r *Reader) Close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// Replay calls fn for every record after the given ID, in order, up to the current end.
func (l *Log) Replay(after uint64, fn func(id uint64, history [20]byte, changes []byte) error) error {
	if l.LastID() <= after {
		return nil
	}
	r, err := l.NewReader(after + 1)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec.ID, rec.History, rec.Changes); err != nil {
			return err
		}
	}
}
