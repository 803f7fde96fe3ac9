package store

import "testing"

// openSmall opens a store in dir with a 1MB memory budget; the caller closes it.
func openSmall(t testing.TB, dir string) *Store {
	t.Helper()
	o := DefaultOptions(dir)
	o.BlockCacheSize = 1 << 20
	o.WriteBufferSize = 1 << 20
	s, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// runTx runs f in one transaction and commits it unless f fails.
func runTx(t testing.TB, s *Store, f func(tx *Tx) error) {
	t.Helper()
	tx := s.Begin()
	defer tx.Close()
	if err := f(tx); err != nil {
		t.Fatalf("tx: %v", err)
	}
	if err := s.Commit(tx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func bytesOf(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
