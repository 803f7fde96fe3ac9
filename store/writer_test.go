package store

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The store hands large group writes to the writer thread; it must be running, and what
// it writes must be what the group held, in order.
func TestWriterThreadAppliesLargeGroups(t *testing.T) {
	s := openTest(t, t.TempDir())
	if s.writer == nil {
		t.Fatal("no writer thread: the RocksDB handle was not found")
	}
	rep := newBatchRep(300)
	for i := 0; i < 3*threadedWriteMin; i++ {
		rep.add(OpPut, []byte(fmt.Sprintf("t|%04d", i)), []byte("first"))
	}
	for i := 0; i < 3*threadedWriteMin; i += 2 {
		rep.add(OpPut, []byte(fmt.Sprintf("t|%04d", i)), []byte("second"))
	}
	rep.add(OpDelete, []byte("t|0001"), nil)
	if err := s.writeRep(rep.bytes()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3*threadedWriteMin; i++ {
		v, err := s.db.GetBytes(s.ro, []byte(fmt.Sprintf("t|%04d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want := "first"
		switch {
		case i == 1:
			want = ""
		case i%2 == 0:
			want = "second"
		}
		if string(v) != want {
			t.Fatalf("t|%04d = %q, want %q", i, v, want)
		}
	}
}

// A batch RocksDB rejects comes back as its error message.
func TestWriterThreadReportsErrors(t *testing.T) {
	s := openTest(t, t.TempDir())
	bad := newBatchRep(threadedWriteMin)
	for i := 0; i < threadedWriteMin; i++ {
		bad.add(OpPut, []byte(fmt.Sprintf("b|%04d", i)), []byte("v"))
	}
	rep := bad.bytes()
	rep[8]++ // the header claims one record more than the batch holds
	err := s.writer.write(s.db, rep)
	if err == nil || !strings.Contains(err.Error(), "wrong count") {
		t.Fatalf("a batch with a wrong count: err = %v, want RocksDB's corruption error", err)
	}
}

// After close the thread is gone and a write fails instead of hanging.
func TestWriterThreadClose(t *testing.T) {
	w, err := newWriter(true)
	if err != nil {
		t.Fatal(err)
	}
	w.close()
	s := openTest(t, t.TempDir())
	rep := newBatchRep(1)
	rep.add(OpPut, []byte("k"), []byte("v"))
	if err := w.write(s.db, rep.bytes()); err == nil {
		t.Fatal("write through a closed writer succeeded")
	}
}

// A burst of queued transactions with more changes than one group takes is written
// in several groups, in order, and every transaction of it commits.
func TestCommitSplitsLargeBursts(t *testing.T) {
	s := openTest(t, t.TempDir())
	const txs, keys = 10, 100 // 1,000 changes: at least four groups
	var pend []*Pending
	for i := 0; i < txs; i++ {
		tx := s.Begin()
		for k := 0; k < keys; k++ {
			// Every transaction writes k0 too, so the last one queued must win.
			name := fmt.Sprintf("k%d", k)
			if k > 0 {
				name = fmt.Sprintf("t%d:k%d", i, k)
			}
			if _, err := tx.Set(0, []byte(name), []byte(fmt.Sprint(i)), SetOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		pend = append(pend, s.Submit(tx))
		defer tx.Close()
	}
	groups := s.Stats().Groups.Load()
	for _, p := range pend {
		if _, err := s.Wait(p); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().Groups.Load() - groups; n < txs*keys/maxGroupOps {
		t.Fatalf("%d changes were written in %d groups", txs*keys, n)
	}
	for i := 0; i < txs; i++ {
		for k := 1; k < keys; k++ {
			if v, ok := getString(t, s, 0, fmt.Sprintf("t%d:k%d", i, k)); !ok || v != fmt.Sprint(i) {
				t.Fatalf("t%d:k%d = %q %v", i, k, v, ok)
			}
		}
	}
	if v, _ := getString(t, s, 0, "k0"); v != fmt.Sprint(txs-1) {
		t.Fatalf("k0 = %q, want the last transaction's %d", v, txs-1)
	}
}

// A writer that leads the group write with its own transaction queued behind a cut
// writes on until its own is written: it never returns before, and the lead passes on.
func TestCommitLeaderBehindTheCut(t *testing.T) {
	s := openTest(t, t.TempDir())
	big := s.Begin()
	defer big.Close()
	for k := 0; k < maxGroupOps+44; k++ {
		if _, err := big.Set(0, []byte(fmt.Sprintf("big:%d", k)), []byte("v"), SetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p := s.Submit(big) // queued, not waited for: the next committer leads
	setString(t, s, 0, "small", "v")
	// Returned, the small commit is in RocksDB, not only visible through the queue.
	if v, err := s.db.GetBytes(s.ro, metaKey(0, []byte("small"))); err != nil || v == nil {
		t.Fatalf("the small commit returned before RocksDB had it: %q %v", v, err)
	}
	if _, err := s.Wait(p); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tx := s.Begin()
		defer tx.Close()
		if _, err := tx.Set(0, []byte("after"), []byte("v"), SetOptions{}); err == nil {
			err = s.Commit(tx)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a commit after the cut did not return in 10s: nobody leads")
	}
	for _, k := range []string{"small", "after", "big:0", fmt.Sprintf("big:%d", maxGroupOps+43)} {
		if _, ok := getString(t, s, 0, k); !ok {
			t.Fatalf("%s was not written", k)
		}
	}
}
