package binlog

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

func TestSyncerSyncsAndReportsErrors(t *testing.T) {
	s, err := newSyncer()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "seg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := f.Write([]byte("record\n")); err != nil {
					errs <- err
					return
				}
				errs <- s.datasync(f)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("datasync of a regular file: %v", err)
		}
	}

	// fdatasync of a pipe fails with EINVAL, and the error must come back.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := s.datasync(w); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("datasync of a pipe = %v, want EINVAL", err)
	}
	if err := s.datasync(f); err != nil {
		t.Fatalf("datasync after a failed one: %v", err)
	}

	s.close() // must return: the thread exits and closes its ends
	if err := s.datasync(f); err == nil {
		t.Fatal("datasync after close succeeded")
	}
}
