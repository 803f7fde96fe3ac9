package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/strata-kv/strata/store"
)

// snapshotCommands: BGSAVE, SAVE and DIGEST (a Strata command: Redis has DEBUG
// DIGEST, whose value depends on its encodings; ours is documented in store.Digest). LASTSAVE lives in admin.go and reports
// the time of the last snapshot these take.
//
// A snapshot is a RocksDB checkpoint in <data_dir>/snapshots/<UTC YYYYMMDD-HHMMSSZ>-<binlog
// ID>/db: hard links to the live SST files after a memtable flush, so it costs little
// disk and no copying, and clients keep being served while it is taken. The directory
// has the layout of a data directory: `strata dump --data-dir <snapshot>` reads it,
// and a server started on a copy of it continues the binlog after its ID. The newest
// snapshot.max_count are kept.
func snapshotCommands() []*Command {
	return []*Command{
		{Name: "bgsave", Arity: -1, Flags: FlagAdmin | FlagNoScript, Handler: cmdBgsave, Group: "server",
			Summary: "Asynchronously saves the database(s) to disk.", Since: "1.0.0"},
		{Name: "save", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoMulti, Handler: cmdSave, Group: "server",
			Summary: "Synchronously saves the database(s) to disk.", Since: "1.0.0"},
		{Name: "digest", Arity: -1, Flags: FlagReadOnly | FlagStale, Handler: cmdDigest, Group: "server",
			Summary: "Returns a SHA-1 digest of the logical contents of a database.", Since: "0.1.0"},
	}
}

// defaultSnapshotMaxCount is the default of snapshot.max_count; tests may set maxCount.
// [snapshot] section.
const defaultSnapshotMaxCount = 5

// snapshotState is the per-server state of BGSAVE/SAVE.
type snapshotState struct {
	mu        sync.Mutex
	running   bool      // a save is in progress
	bg        bool      // ... and it is a BGSAVE
	started   time.Time // of the save in progress
	lastOK    bool
	lastDur   time.Duration
	lastPath  string
	lastID    uint64 // binlog ID of the last snapshot
	maxCount  int    // 0: defaultSnapshotMaxCount (tests set it)
	attempted bool
}

func (s *Server) snapshots() *snapshotState { return &s.snap }

// snapshotMaxCount is how many snapshots are kept (snapshot.max_count).
func (s *Server) snapshotMaxCount() int {
	st := s.snapshots()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.maxCount > 0 {
		return st.maxCount
	}
	return s.Config().Snapshot.MaxCount
}

// SnapshotInfo is what INFO persistence reports about snapshots.
type SnapshotInfo struct {
	InProgress     bool
	LastOK         bool
	LastDurSec     int64 // -1 before the first save
	CurrentDurSec  int64 // -1 when none is running
	LastPath       string
	LastSaveUnixTS int64
	// ChangesSinceLast is the number of binlog records written since the last
	// snapshot this process took (the last binlog ID when it took none):
	// rdb_changes_since_last_save.
	ChangesSinceLast int64
}

func (s *Server) snapshotInfo() SnapshotInfo {
	st := s.snapshots()
	st.mu.Lock()
	defer st.mu.Unlock()
	si := SnapshotInfo{InProgress: st.running, LastOK: st.lastOK, LastDurSec: -1, CurrentDurSec: -1,
		LastPath: st.lastPath, LastSaveUnixTS: s.stats.lastSave.Load()}
	if st.attempted {
		si.LastDurSec = int64(st.lastDur.Round(time.Second) / time.Second)
	}
	if st.running {
		si.CurrentDurSec = int64(time.Since(st.started) / time.Second)
	}
	if applied := s.store.AppliedID(); applied > st.lastID {
		si.ChangesSinceLast = int64(applied - st.lastID)
	}
	return si
}

const errSaveInProgress = "ERR Background save already in progress"

func errCantSave(s *Server) string {
	if s.closing.Load() {
		return "ERR server is shutting down"
	}
	return "ERR can't BGSAVE right now: the data is being replaced (full resynchronization); try again"
}

// beginSave claims the single save slot.
func (s *Server) beginSave(bg bool) bool {
	st := s.snapshots()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.running {
		return false
	}
	st.running, st.bg, st.started = true, bg, time.Now()
	return true
}

func (s *Server) endSave(path string, id uint64, err error) {
	st := s.snapshots()
	st.mu.Lock()
	st.running, st.bg = false, false
	st.attempted = true
	st.lastDur = time.Since(st.started)
	st.lastOK = err == nil
	if err == nil {
		st.lastPath, st.lastID = path, id
	}
	st.mu.Unlock()
	if err != nil {
		s.log.Error().Err(err).Msg("snapshot failed")
		return
	}
	s.stats.lastSave.Store(time.Now().Unix())
	s.log.Info().Str("path", path).Msg("snapshot saved")
}

func cmdBgsave(c *Ctx) {
	if len(c.Args) > 2 || (len(c.Args) == 2 && !argIs(c.Args[1], "schedule")) {
		c.Error(errSyntax)
		return
	}
	s := c.srv
	// The save runs after this command returns: it holds the server's running lock
	// shared, like a command, so Close (and a replica's full resynchronization, which
	// replaces the data) waits for it. TryRLock fails only while one of those is
	// taking the lock exclusively; waiting here would deadlock with our own command.
	if !s.running.TryRLock() {
		c.Error(errCantSave(s))
		return
	}
	if s.closing.Load() {
		s.running.RUnlock()
		c.Error(errCantSave(s))
		return
	}
	if !s.beginSave(true) {
		s.running.RUnlock()
		c.Error(errSaveInProgress)
		return
	}
	go func() {
		defer s.running.RUnlock()
		path, id, err := s.saveSnapshot(time.Now())
		s.endSave(path, id, err)
	}()
	if c.InExec {
		c.W.Simple("Background saving scheduled")
		return
	}
	c.W.Simple("Background saving started")
}

func cmdSave(c *Ctx) {
	if c.multi != nil {
		c.multi.dirty = true
		c.Error("ERR Command not allowed inside a transaction")
		return
	}
	s := c.srv
	if !s.beginSave(false) {
		c.Error(errSaveInProgress)
		return
	}
	path, id, err := s.saveSnapshot(time.Now())
	s.endSave(path, id, err)
	if err != nil {
		c.Error("ERR " + err.Error())
		return
	}
	c.W.OK()
}

// snapshotName is <UTC YYYYMMDD-HHMMSSZ>-<binlog id>.
var snapshotName = regexp.MustCompile(`^(\d{8}-\d{6}Z)-(\d+)$`)

const snapshotTimeLayout = "20060102-150405Z"

// snapshotDir is where snapshots go.
func (s *Server) snapshotDir() string {
	return filepath.Join(s.Config().Server.DataDir, "snapshots")
}

// saveSnapshot takes a checkpoint into a temporary directory, names it after the
// binlog ID it holds, and prunes old snapshots. It returns the snapshot's path and
// binlog ID.
func (s *Server) saveSnapshot(now time.Time) (string, uint64, error) {
	root := s.snapshotDir()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", 0, fmt.Errorf("snapshot: %w", err)
	}
	// Leftovers of a save cut short by a crash. Only one save runs at a time.
	if ents, err := os.ReadDir(root); err == nil {
		for _, e := range ents {
			if len(e.Name()) > 5 && e.Name()[:5] == ".tmp-" {
				_ = os.RemoveAll(filepath.Join(root, e.Name()))
			}
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(root, ".tmp-"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", 0, fmt.Errorf("snapshot: %w", err)
	}
	applied, _, err := s.store.Checkpoint(filepath.Join(tmp, "db"))
	if err != nil {
		_ = os.RemoveAll(tmp)
		return "", 0, fmt.Errorf("snapshot: %w", err)
	}
	final := filepath.Join(root, now.UTC().Format(snapshotTimeLayout)+"-"+strconv.FormatUint(applied, 10))
	if _, err := os.Stat(final); err == nil {
		// Same second, same binlog ID: the same data is already saved under that name.
		_ = os.RemoveAll(tmp)
	} else if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		return "", 0, fmt.Errorf("snapshot: %w", err)
	}
	syncDir(root)
	if err := pruneSnapshots(root, s.snapshotMaxCount()); err != nil {
		s.log.Warn().Err(err).Msg("snapshot pruning")
	}
	return final, applied, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

type snapshotEntry struct {
	name string
	at   time.Time
	id   uint64
}

// listSnapshots returns the snapshots in root, oldest first.
func listSnapshots(root string) ([]snapshotEntry, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []snapshotEntry
	for _, e := range ents {
		m := snapshotName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		at, err1 := time.Parse(snapshotTimeLayout, m[1])
		id, err2 := strconv.ParseUint(m[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, snapshotEntry{name: e.Name(), at: at, id: id})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.Before(out[j].at)
		}
		return out[i].id < out[j].id
	})
	return out, nil
}

// pruneSnapshots removes all but the newest keep snapshots.
func pruneSnapshots(root string, keep int) error {
	snaps, err := listSnapshots(root)
	if err != nil {
		return err
	}
	var first error
	for i := 0; i < len(snaps)-keep; i++ {
		if err := os.RemoveAll(filepath.Join(root, snaps[i].name)); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// cmdDigest: DIGEST [db]. The default is the connection's database. See
// store.Store.Digest for what is hashed.
func cmdDigest(c *Ctx) {
	if len(c.Args) > 2 {
		c.Error(errSyntax)
		return
	}
	db := c.DB
	if len(c.Args) == 2 {
		n, ok := c.Int(1)
		if !ok {
			return
		}
		if n < 0 || n >= store.Databases {
			c.Error(errDBIndex)
			return
		}
		db = int(n)
	}
	var sum [20]byte
	var err error
	if c.Tx != nil && c.Tx.Dirty() {
		// Inside EXEC or a pipeline batch with writes pending: digest what this
		// transaction sees.
		sum, err = c.Tx.Digest(db)
	} else {
		sum, err = c.srv.store.Digest(db)
	}
	if err != nil {
		c.Fail(err)
		return
	}
	c.W.BulkString(hex.EncodeToString(sum[:]))
}
