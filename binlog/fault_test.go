package binlog

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
)

// faultFile fails writes or fsyncs on demand, like a full disk or a failing device.
type faultFile struct {
	*os.File
	failWrite, failSync *atomic.Bool
}

func (f faultFile) Write(p []byte) (int, error) {
	if f.failWrite.Load() {
		// A full disk may accept part of a write.
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f faultFile) Sync() error {
	if f.failSync.Load() {
		return syscall.EIO
	}
	return f.File.Sync()
}

func faultOpener(failWrite, failSync *atomic.Bool) func(string, int, os.FileMode) (File, error) {
	return func(path string, flag int, perm os.FileMode) (File, error) {
		f, err := os.OpenFile(path, flag, perm)
		if err != nil {
			return nil, err
		}
		return faultFile{File: f, failWrite: failWrite, failSync: failSync}, nil
	}
}

func TestWriteErrorIsStickyAndRecoverable(t *testing.T) {
	dir := t.TempDir()
	var fw, fs atomic.Bool
	l := openLog(t, dir, func(o *Options) { o.OpenFile = faultOpener(&fw, &fs); o.Sync = SyncAlways })
	appendN(t, l, 5, 10)
	fw.Store(true)
	if _, err := l.Append(hist, 1, []byte("lost")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on full disk: %v", err)
	}
	fw.Store(false) // space freed: the log still refuses until reopened
	if _, err := l.Append(hist, 1, []byte("x")); !errors.Is(err, ErrFailed) {
		t.Fatalf("append after failure: %v", err)
	}
	if l.Err() == nil || l.Stats().Err == nil {
		t.Fatal("failure not reported")
	}
	l.Close()
	// Restart: the half-written record is a torn tail and is cut; IDs continue.
	l = openLog(t, dir)
	if l.LastID() != 5 {
		t.Fatalf("last id after restart = %d", l.LastID())
	}
	if id, err := l.Append(hist, 1, []byte("again")); err != nil || id != 6 {
		t.Fatalf("append after restart = %d %v", id, err)
	}
}

func TestFsyncErrorFailsTheAppend(t *testing.T) {
	dir := t.TempDir()
	var fw, fs atomic.Bool
	l := openLog(t, dir, func(o *Options) { o.OpenFile = faultOpener(&fw, &fs); o.Sync = SyncAlways })
	appendN(t, l, 3, 10)
	fs.Store(true)
	id, err := l.Append(hist, 1, []byte("unsynced"))
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := l.WaitDurable(id); !errors.Is(err, syscall.EIO) {
		t.Fatalf("waiting for a failing fsync: %v", err)
	}
	fs.Store(false)
	if err := l.WaitDurable(id); !errors.Is(err, ErrFailed) {
		t.Fatalf("fsync failure not sticky: %v", err)
	}
	if _, err := l.Append(hist, 1, []byte("x")); !errors.Is(err, ErrFailed) {
		t.Fatalf("append after fsync failure: %v", err)
	}
}
