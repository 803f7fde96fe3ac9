package tools

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/strata-kv/strata/binlog"
	"github.com/strata-kv/strata/store"
)

// ErrStale: the data directory's binlog holds records RocksDB has not applied yet (the
// server crashed, or is running), so a dump of RocksDB alone would miss them.
var ErrStale = errors.New("dump: binlog is ahead of the database")

// DumpOptions configure Dump.
type DumpOptions struct {
	// DataDir is a stopped server's data directory (its RocksDB is DataDir/db), a
	// snapshot directory (<data_dir>/snapshots/<name>, the same layout) or a RocksDB
	// directory itself.
	DataDir string
	// AllowStale dumps even when the binlog holds records not applied to RocksDB.
	AllowStale bool
	Writer     DumpWriterOptions
	// Progress receives the progress display (nil: none).
	Progress     io.Writer
	ProgressMode ProgressMode
}

// DumpResult describes a finished dump.
type DumpResult struct {
	Header  DumpHeader
	Counts  DumpCounts
	Bytes   int64 // dump file size
	Raw     int64 // key and value bytes dumped
	Elapsed time.Duration
}

// resolveDataDir finds the RocksDB directory and the binlog directory ("" when there
// is none) of a data directory, a snapshot, or a bare RocksDB directory.
func resolveDataDir(dir string) (dbDir, binlogDir string, err error) {
	if _, err := os.Stat(filepath.Join(dir, "db", "CURRENT")); err == nil {
		bl := filepath.Join(dir, "binlog")
		if st, err := os.Stat(bl); err != nil || !st.IsDir() {
			bl = ""
		}
		return filepath.Join(dir, "db"), bl, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "CURRENT")); err == nil {
		return dir, "", nil
	}
	return "", "", fmt.Errorf("dump: %s holds no database (neither %s nor a RocksDB directory)", dir, filepath.Join(dir, "db"))
}

// Dump writes the contents of a data directory to out in the dump format. The server
// must not be running on it: RocksDB is opened read-only and its memtables would be
// missing. A snapshot taken by BGSAVE can be dumped while the server runs.
func Dump(out io.Writer, o DumpOptions) (DumpResult, error) {
	var res DumpResult
	start := time.Now()
	dbDir, blDir, err := resolveDataDir(o.DataDir)
	if err != nil {
		return res, err
	}
	raw, err := store.OpenReadOnly(dbDir)
	if err != nil {
		return res, err
	}
	defer raw.Close()
	if blDir != "" && !o.AllowStale {
		if err := checkBinlog(blDir, raw.Applied()); err != nil {
			return res, err
		}
	}
	res.Header = DumpHeader{Version: DumpVersion, StoreFormat: store.FormatVersion, Created: time.Now(),
		History: raw.History(), BinlogID: raw.Applied()}
	w, err := NewDumpWriter(out, res.Header, o.Writer)
	if err != nil {
		return res, err
	}
	prog := NewProgress(o.Progress, "dump", 0, o.ProgressMode)
	err = raw.ForEach(func(k, v []byte) error {
		if !store.IsDumpedKey(k) {
			return nil
		}
		res.Raw += int64(len(k) + len(v))
		var key int64
		if store.IsMetaKey(k) {
			key = 1
		}
		prog.Add(int64(len(k)+len(v)), key)
		return w.Add(k, v)
	})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	prog.SetNote(fmt.Sprintf("%s written in %d blocks", humanSize(w.Size()), w.Counts().Blocks))
	prog.Finish(err == nil)
	res.Counts = w.Counts()
	res.Bytes = w.Size()
	res.Elapsed = time.Since(start)
	return res, err
}

// checkBinlog refuses a data directory whose binlog is ahead of RocksDB.
func checkBinlog(dir string, applied uint64) error {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		return nil
	}
	l, err := binlog.Open(binlog.Options{Dir: dir, Sync: binlog.SyncNo, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("dump: check the binlog in %s: %w", dir, err)
	}
	last := l.LastID()
	l.Close()
	if last > applied {
		return fmt.Errorf("%w: %s holds records up to %d but the database has applied %d "+
			"(the server is running or did not stop cleanly): stop the server, or start and stop it "+
			"once so it replays them, or dump a snapshot (BGSAVE)", ErrStale, dir, last, applied)
	}
	return nil
}

// DumpFile dumps into path ("-" for out), writing through a temporary file renamed
// into place at the end, so a failed dump leaves no partial file behind.
func DumpFile(path string, stdout io.Writer, o DumpOptions) (DumpResult, error) {
	if path == "-" {
		return Dump(stdout, o)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return DumpResult{}, fmt.Errorf("dump: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	res, err := Dump(bw, o)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return res, err
	}
	return res, nil
}
