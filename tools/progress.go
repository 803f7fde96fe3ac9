package tools

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// ProgressMode says how a long tool run reports progress.
type ProgressMode int

const (
	// ProgressAuto draws a bar when the writer is a terminal, plain lines otherwise.
	ProgressAuto ProgressMode = iota
	// ProgressBar always draws a bar.
	ProgressBar
	// ProgressPlain prints one line every few seconds.
	ProgressPlain
	// ProgressQuiet prints nothing.
	ProgressQuiet
)

// Progress counts bytes and keys of a dump or load and shows them: a bar with bytes,
// keys and rates on a terminal, a plain line every Interval elsewhere, and a summary
// line at the end. Add is cheap (two atomic adds); drawing happens on a ticker.
type Progress struct {
	label string
	total int64 // bytes; <= 0 when unknown
	out   io.Writer
	mode  ProgressMode
	start time.Time

	bytes atomic.Int64
	keys  atomic.Int64

	note     atomic.Pointer[string]
	bar      *progressbar.ProgressBar
	stop     chan struct{}
	done     chan struct{}
	finished sync.Once
}

// plainInterval is how often plain mode prints a line.
var plainInterval = 5 * time.Second

// NewProgress starts reporting to out (nil: nothing). total is the expected number of
// bytes, 0 when unknown.
func NewProgress(out io.Writer, label string, total int64, mode ProgressMode) *Progress {
	p := &Progress{label: label, total: total, out: out, mode: mode, start: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	if out == nil {
		p.mode = ProgressQuiet
	}
	if p.mode == ProgressAuto {
		p.mode = ProgressPlain
		if f, ok := out.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			p.mode = ProgressBar
		}
	}
	interval := plainInterval
	switch p.mode {
	case ProgressQuiet:
		close(p.done)
		return p
	case ProgressBar:
		max := total
		if max <= 0 {
			max = -1
		}
		p.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
		interval = 200 * time.Millisecond
	}
	go p.loop(interval)
	return p
}

// Add counts n more bytes and k more keys.
func (p *Progress) Add(n, k int64) {
	if n != 0 {
		p.bytes.Add(n)
	}
	if k != 0 {
		p.keys.Add(k)
	}
}

// SetBytes sets the byte count (for a position in a file).
func (p *Progress) SetBytes(n int64) { p.bytes.Store(n) }

// SetNote adds a remark to the summary line.
func (p *Progress) SetNote(s string) { p.note.Store(&s) }

// Bytes and Keys are the counts so far.
func (p *Progress) Bytes() int64 { return p.bytes.Load() }
func (p *Progress) Keys() int64  { return p.keys.Load() }

func (p *Progress) loop(interval time.Duration) {
	defer close(p.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *Progress) draw() {
	el := time.Since(p.start)
	b, k := p.bytes.Load(), p.keys.Load()
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%s %s, %d keys (%s keys/s)", p.label, humanSize(b), k, rate(float64(k), el)))
		_ = p.bar.Set64(b)
		return
	}
	line := fmt.Sprintf("%s: %s", p.label, humanSize(b))
	if p.total > 0 {
		line += fmt.Sprintf(" of %s (%.0f%%)", humanSize(p.total), 100*float64(b)/float64(p.total))
	}
	line += fmt.Sprintf(", %d keys, %s/s, %s keys/s", k, humanSize(int64(float64(b)/el.Seconds())), rate(float64(k), el))
	fmt.Fprintln(p.out, line)
}

// Finish stops drawing and prints the summary line (unless quiet). Safe to call more
// than once.
func (p *Progress) Finish(ok bool) {
	p.finished.Do(func() {
		if p.mode == ProgressQuiet {
			return
		}
		close(p.stop)
		<-p.done
		if p.bar != nil {
			if ok {
				_ = p.bar.Set64(p.bytes.Load())
			}
			_ = p.bar.Exit()
			fmt.Fprintln(p.out)
		}
		if ok {
			fmt.Fprintln(p.out, p.Summary())
		}
	})
}

// Summary is the one-line account of the whole run.
func (p *Progress) Summary() string {
	el := time.Since(p.start)
	b, k := p.bytes.Load(), p.keys.Load()
	s := fmt.Sprintf("%s: %s, %d keys in %s (%s/s, %s keys/s)", p.label, humanSize(b), k,
		el.Round(time.Millisecond), humanSize(int64(float64(b)/el.Seconds())), rate(float64(k), el))
	if n := p.note.Load(); n != nil {
		s += "; " + *n
	}
	return s
}

func rate(n float64, el time.Duration) string {
	if el <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", n/el.Seconds())
}

func humanSize(n int64) string {
	f := float64(n)
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%dB", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1fKB", f/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1fMB", f/(1<<20))
	default:
		return fmt.Sprintf("%.2fGB", f/(1<<30))
	}
}
