package binlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// Summary is what Verify found.
type Summary struct {
	Files           int
	Records         uint64
	FirstID, LastID uint64
	Bytes           int64
	// TornTail describes a torn tail in the last segment, which Open would truncate.
	TornTail string
}

// Verify checks every segment of the log in dir without changing anything. It reports
// the same corruption Open would refuse, with file and offset.
func Verify(dir string) (Summary, error) {
	var sum Summary
	segs, err := listSegments(dir)
	if err != nil {
		return sum, err
	}
	sum.Files = len(segs)
	var prev uint64
	for i, s := range segs {
		sum.Bytes += s.size
		last := i == len(segs)-1
		err := Walk(s.path, func(off int64, r Record) error {
			if prev != 0 && r.ID != prev+1 {
				return fmt.Errorf("%w: record ID %d follows %d (file %s, offset %d)", ErrCorrupt, r.ID, prev, s.path, off)
			}
			if sum.FirstID == 0 {
				sum.FirstID = r.ID
			}
			prev = r.ID
			sum.LastID = r.ID
			sum.Records++
			return nil
		})
		var torn *TornError
		if errors.As(err, &torn) && last {
			sum.TornTail = torn.Error()
			continue
		}
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// TornError reports data cut short at the end of a segment.
type TornError struct {
	Path   string
	Offset int64
}

func (e *TornError) Error() string {
	return fmt.Sprintf("binlog: torn tail in %s at offset %d", e.Path, e.Offset)
}

// Walk calls fn for every change record of one segment file, in order. A record cut
// short at the end of the file is a *TornError; other damage is ErrCorrupt.
func Walk(path string, fn func(off int64, r Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("binlog: open %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("binlog: stat %s: %w", path, err)
	}
	fr := &frameReader{r: bufio.NewReaderSize(f, 1<<20)}
	for {
		off := fr.off
		typ, payload, err := fr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, errTorn) || (errors.Is(err, ErrCorrupt) && tailReachesEnd(path, off, info.Size())) {
				return &TornError{Path: path, Offset: off}
			}
			return fmt.Errorf("%w (file %s, offset %d)", err, path, off)
		}
		if typ == TypeHeader {
			if _, err := parseHeader(payload); err != nil {
				return fmt.Errorf("%w (file %s, offset %d)", err, path, off)
			}
			continue
		}
		if typ != TypeChange {
			return fmt.Errorf("%w: unknown record type %d (file %s, offset %d)", ErrCorrupt, typ, path, off)
		}
		r, err := DecodeChange(payload)
		if err != nil {
			return fmt.Errorf("%w (file %s, offset %d)", err, path, off)
		}
		if err := fn(off, r); err != nil {
			return err
		}
	}
}

func tailReachesEnd(path string, off, size int64) bool {
	l := &Log{}
	_ = size
	return l.tailIsGarbage(path, off)
}
