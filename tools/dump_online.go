package tools

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/strata-kv/strata/repl"
)

// FetchServerCopy receives a consistent, point-in-time copy of a running server's
// data (master or follower) over the network into dir/db, using the same transfer as
// a follower's full sync: the server makes a RocksDB checkpoint and streams its files,
// and keeps serving its clients meanwhile.
func FetchServerCopy(so ServerOptions, dir string) error {
	_, _, err := repl.FetchCopy(repl.FollowerOptions{
		MasterAddr: so.Addr,
		Password:   so.Password,
		CopyDir:    filepath.Join(dir, "db"),
		Timeout:    60 * time.Second,
	}, zerolog.Nop())
	if err != nil {
		return fmt.Errorf("dump: fetch a copy from %s: %w", so.Addr, err)
	}
	return nil
}

// DumpServerFile dumps a running server to path ("-" for stdout): it fetches a copy
// into a temporary directory under tmpDir ("" for the system default), dumps that, and
// removes it.
func DumpServerFile(path string, stdout io.Writer, so ServerOptions, tmpDir string, o DumpOptions) (DumpResult, error) {
	dir, err := os.MkdirTemp(tmpDir, "strata-dump-")
	if err != nil {
		return DumpResult{}, fmt.Errorf("dump: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := FetchServerCopy(so, dir); err != nil {
		return DumpResult{}, err
	}
	o.DataDir = filepath.Join(dir, "db")
	return DumpFile(path, stdout, o)
}
