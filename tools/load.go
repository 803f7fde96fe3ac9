package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-kv/strata/store"
)

// ErrTargetNotEmpty: a load was pointed at a directory or server that holds data.
var ErrTargetNotEmpty = errors.New("load: target is not empty")

// LoadOptions configure a load.
type LoadOptions struct {
	// Size is the dump's size in bytes when known, for the progress display.
	Size int64
	// Force loads into a target that holds data. For a data directory, its db and
	// binlog are deleted (only once the whole dump has been read and checked); for a
	// server, every key of the dump replaces the key of that name, and other keys
	// are left alone.
	Force bool
	// FileSize is the SST file size for a directory load (default 256MB).
	FileSize uint64
	// Compression and BloomBitsPerKey of the SST files (defaults: lz4, 10), as in the
	// [rocksdb] configuration of the server that will open the directory.
	Compression     string
	BloomBitsPerKey int
	Progress        io.Writer
	ProgressMode    ProgressMode
}

// LoadResult describes a finished load.
type LoadResult struct {
	Header   DumpHeader
	Counts   DumpCounts
	Keys     int64 // keys written (a server load skips keys already expired)
	Commands int64 // commands sent (server load)
	Files    int   // SST files ingested (directory load)
	Warnings []string
	Elapsed  time.Duration
}

// dirHasData reports whether a data directory already holds a database or a binlog.
func dirHasData(dataDir string) (bool, error) {
	for _, sub := range []string{"db", "binlog"} {
		ents, err := os.ReadDir(filepath.Join(dataDir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("load: %w", err)
		}
		if len(ents) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// LoadDir builds <dataDir>/db from a dump: the records go straight into SST files
// that RocksDB ingests, with "!applied" and "!history" set from the dump's header, so
// a server started on the directory continues the binlog after the dump's binlog ID.
// This is the fast path. Nothing is written into the target until the whole dump has
// been read and checked.
func LoadDir(in io.Reader, dataDir string, o LoadOptions) (LoadResult, error) {
	var res LoadResult
	start := time.Now()
	has, err := dirHasData(dataDir)
	if err != nil {
		return res, err
	}
	if has && !o.Force {
		return res, fmt.Errorf("%w: %s already holds a database or binlog (use --force to replace them)", ErrTargetNotEmpty, dataDir)
	}
	r, err := NewDumpReader(in)
	if err != nil {
		return res, err
	}
	defer r.Close()
	res.Header = r.Header()
	lo := store.DefaultLoaderOptions()
	if o.FileSize > 0 {
		lo.FileSize = o.FileSize
	}
	if o.Compression != "" {
		lo.Compression = o.Compression
	}
	if o.BloomBitsPerKey > 0 {
		lo.BloomBitsPerKey = o.BloomBitsPerKey
	}
	lo.Applied, lo.History = res.Header.BinlogID, res.Header.History
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return res, fmt.Errorf("load: %w", err)
	}
	dbDir := filepath.Join(dataDir, "db")
	l, err := store.NewLoader(dbDir, lo)
	if err != nil {
		return res, err
	}
	prog := NewProgress(o.Progress, "load", o.Size, o.ProgressMode)
	err = func() error {
		n := 0
		for {
			k, v, err := r.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := l.Add(k, v); err != nil {
				return fmt.Errorf("load: block at byte %d: %w", r.blockOff, err)
			}
			if store.IsMetaKey(k) {
				res.Keys++
				prog.Add(0, 1)
			}
			if n++; n&1023 == 0 {
				prog.SetBytes(r.Offset())
			}
		}
	}()
	prog.SetBytes(r.Offset())
	if err == nil && o.Force {
		for _, sub := range []string{"db", "binlog"} {
			if err = os.RemoveAll(filepath.Join(dataDir, sub)); err != nil {
				err = fmt.Errorf("load: clear %s: %w", dataDir, err)
				break
			}
		}
	}
	if err == nil {
		res.Files = l.Files()
		res.Warnings = l.CountMismatch()
		err = l.Finish()
	}
	if err != nil {
		l.Abort()
	}
	prog.Finish(err == nil)
	res.Counts = r.Counts()
	res.Elapsed = time.Since(start)
	return res, err
}

// ServerOptions say how to reach a running server.
type ServerOptions struct {
	Addr     string
	Password string
}

func dialServer(so ServerOptions) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: so.Addr, Password: so.Password, Protocol: 2, DisableIdentity: true,
		PoolSize: 2, DialTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, WriteTimeout: 2 * time.Minute,
	})
}

// serverKeys returns the DBSIZE of every database of the server.
func serverKeys(ctx context.Context, c *redis.Client) ([store.Databases]int64, error) {
	var sizes [store.Databases]int64
	conn := c.Conn()
	defer conn.Close()
	for db := 0; db < store.Databases; db++ {
		if err := conn.Select(ctx, db).Err(); err != nil {
			return sizes, fmt.Errorf("load: SELECT %d: %w", db, err)
		}
		n, err := conn.DBSize(ctx).Result()
		if err != nil {
			return sizes, fmt.Errorf("load: DBSIZE of db %d: %w", db, err)
		}
		sizes[db] = n
	}
	return sizes, nil
}

// LoadServer replays a dump into a running server as ordinary commands (SET, HSET,
// RPUSH, SADD, ZADD, PEXPIREAT) sent in pipelines. It is far slower than LoadDir, which
// writes RocksDB files directly: use it when the server cannot be stopped. The server
// must be empty unless o.Force. When in can seek (a file), the whole dump is checked
// first, so a damaged file sends nothing; from a pipe, blocks are checked as they
// arrive and a damaged tail stops the load part way.
//
// Keys already expired are skipped. A collection's members are decoded against its
// metadata, which the dump holds before every member record, so the loader keeps the
// type and version of each collection in memory until its members have been sent.
func LoadServer(in io.Reader, so ServerOptions, o LoadOptions) (LoadResult, error) {
	var res LoadResult
	start := time.Now()
	ctx := context.Background()
	c := dialServer(so)
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		return res, fmt.Errorf("load: connect to %s: %w", so.Addr, err)
	}
	sizes, err := serverKeys(ctx, c)
	if err != nil {
		return res, err
	}
	if !o.Force {
		for db, n := range sizes {
			if n > 0 {
				return res, fmt.Errorf("%w: %s has %d keys in db %d (use --force to load anyway)", ErrTargetNotEmpty, so.Addr, n, db)
			}
		}
	}
	if rs, ok := in.(io.ReadSeeker); ok {
		if pos, err := rs.Seek(0, io.SeekCurrent); err == nil {
			if _, _, err := VerifyDump(rs); err != nil {
				return res, err
			}
			if _, err := rs.Seek(pos, io.SeekStart); err != nil {
				return res, fmt.Errorf("load: rewind: %w", err)
			}
		}
	}
	r, err := NewDumpReader(in)
	if err != nil {
		return res, err
	}
	defer r.Close()
	res.Header = r.Header()
	prog := NewProgress(o.Progress, "load", o.Size, o.ProgressMode)
	rp := newReplayer(ctx, c)
	rp.replace = o.Force
	err = func() error {
		n := 0
		for {
			k, v, err := r.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			rec, err := store.DecodeRecord(k, v)
			if err != nil {
				return fmt.Errorf("load: block at byte %d: %w", r.blockOff, err)
			}
			loaded, err := rp.add(&rec)
			if err != nil {
				return err
			}
			if loaded {
				prog.Add(0, 1)
			}
			if n++; n&1023 == 0 {
				prog.SetBytes(r.Offset())
			}
		}
	}()
	if cerr := rp.close(err == nil); err == nil {
		err = cerr
	}
	prog.SetBytes(r.Offset())
	prog.Finish(err == nil)
	res.Counts = r.Counts()
	res.Keys = rp.keys
	res.Commands = rp.commands
	res.Elapsed = time.Since(start)
	return res, err
}

// Pipeline bounds of the server load.
const (
	replayBatchCmds  = 1000
	replayBatchBytes = 4 << 20
	replayCmdArgs    = 1000 // members per HSET/SADD/RPUSH/ZADD
	replayCmdBytes   = 1 << 20
)

type collMeta struct {
	t       store.Type
	exp     int64
	version uint64
}

type replayCmd struct {
	db   int
	args []any
}

// replayer turns raw records into commands and sends them, one pipeline at a time, on
// a goroutine of its own so decoding and the network overlap.
type replayer struct {
	ctx context.Context
	c   *redis.Client
	now int64

	replace bool // DEL each collection before writing it (--force into a server with data)
	colls   map[string]collMeta
	// the collection whose members are being collected
	open     string
	openMeta collMeta
	openDB   int
	openName string
	cmd      []any
	cmdBytes int

	batch      []replayCmd
	batchBytes int
	send       chan []replayCmd
	sent       chan error
	errv       atomic.Pointer[error]

	keys, commands int64
}

func newReplayer(ctx context.Context, c *redis.Client) *replayer {
	rp := &replayer{ctx: ctx, c: c, now: time.Now().UnixMilli(), colls: map[string]collMeta{},
		send: make(chan []replayCmd, 2), sent: make(chan error, 1)}
	go rp.sender()
	return rp
}

func (rp *replayer) sender() {
	var failed error
	for batch := range rp.send {
		if failed != nil {
			continue
		}
		if failed = rp.exec(batch); failed != nil {
			rp.errv.Store(&failed)
		}
	}
	rp.sent <- failed
}

func (rp *replayer) exec(batch []replayCmd) error {
	pipe := rp.c.Pipeline()
	db := -1
	for _, cmd := range batch {
		if cmd.db != db {
			db = cmd.db
			pipe.Select(rp.ctx, db)
		}
		pipe.Do(rp.ctx, cmd.args...)
	}
	cmds, err := pipe.Exec(rp.ctx)
	for _, cmd := range cmds {
		if cerr := cmd.Err(); cerr != nil {
			args := cmd.Args()
			key := ""
			if len(args) > 1 {
				key = fmt.Sprint(args[1])
			}
			return fmt.Errorf("load: %s %q: %w", args[0], key, cerr)
		}
	}
	if err != nil {
		return fmt.Errorf("load: pipeline: %w", err)
	}
	return nil
}

func (rp *replayer) failed() error {
	if p := rp.errv.Load(); p != nil {
		return *p
	}
	return nil
}

// add handles one record and reports whether it loaded a key.
func (rp *replayer) add(rec *store.Record) (bool, error) {
	switch rec.Kind {
	case store.RecordMeta:
		m := &rec.Meta
		if m.Expired(rp.now) {
			return false, nil
		}
		if m.Type == store.TypeString {
			args := []any{"set", string(rec.Key), string(m.Value)}
			if m.ExpireAt != 0 {
				args = append(args, "pxat", m.ExpireAt)
			}
			rp.keys++
			return true, rp.queue(rec.DB, args, len(rec.Key)+len(m.Value))
		}
		rp.colls[collID(rec.DB, rec.Key)] = collMeta{t: m.Type, exp: m.ExpireAt, version: m.Version}
		return false, nil
	case store.RecordMember:
	default:
		return false, nil
	}
	id := collID(rec.DB, rec.Key)
	loaded := false
	if id != rp.open {
		if err := rp.closeColl(); err != nil {
			return false, err
		}
		cm, ok := rp.colls[id]
		if !ok || cm.version != rec.Version {
			return false, nil // members of an expired key, or records nothing points at
		}
		delete(rp.colls, id)
		rp.open, rp.openMeta, rp.openDB, rp.openName = id, cm, rec.DB, string(rec.Key)
		rp.keys++
		loaded = true
		if rp.replace {
			if err := rp.queue(rec.DB, []any{"del", rp.openName}, len(rp.openName)); err != nil {
				return loaded, err
			}
		}
	}
	if rp.cmd == nil {
		name := map[store.Type]string{store.TypeHash: "hset", store.TypeList: "rpush",
			store.TypeSet: "sadd", store.TypeZSet: "zadd"}[rp.openMeta.t]
		rp.cmd = append(make([]any, 0, 2+2*replayCmdArgs), name, rp.openName)
		rp.cmdBytes = len(rp.openName)
	}
	switch rp.openMeta.t {
	case store.TypeHash:
		rp.cmd = append(rp.cmd, string(rec.Member), string(rec.Value))
	case store.TypeList:
		rp.cmd = append(rp.cmd, string(rec.Value))
	case store.TypeSet:
		rp.cmd = append(rp.cmd, string(rec.Member))
	case store.TypeZSet:
		score, err := store.ZSetScore(rec.Value)
		if err != nil {
			return loaded, fmt.Errorf("load: zset %q: %w", rp.openName, err)
		}
		rp.cmd = append(rp.cmd, formatScore(score), string(rec.Member))
	}
	rp.cmdBytes += len(rec.Member) + len(rec.Value)
	if len(rp.cmd) >= 2+2*replayCmdArgs || rp.cmdBytes >= replayCmdBytes {
		return loaded, rp.flushCmd()
	}
	return loaded, nil
}

func collID(db int, key []byte) string {
	return string(append([]byte{byte(db)}, key...))
}

func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func (rp *replayer) flushCmd() error {
	if rp.cmd == nil {
		return nil
	}
	args := rp.cmd
	rp.cmd = nil
	return rp.queue(rp.openDB, args, rp.cmdBytes)
}

// closeColl sends what is left of the open collection and its expiry.
func (rp *replayer) closeColl() error {
	if rp.open == "" {
		return nil
	}
	if err := rp.flushCmd(); err != nil {
		return err
	}
	if rp.openMeta.exp != 0 {
		if err := rp.queue(rp.openDB, []any{"pexpireat", rp.openName, rp.openMeta.exp}, len(rp.openName)); err != nil {
			return err
		}
	}
	rp.open = ""
	return nil
}

func (rp *replayer) queue(db int, args []any, size int) error {
	rp.batch = append(rp.batch, replayCmd{db: db, args: args})
	rp.batchBytes += size
	rp.commands++
	if len(rp.batch) >= replayBatchCmds || rp.batchBytes >= replayBatchBytes {
		return rp.flushBatch()
	}
	return nil
}

func (rp *replayer) flushBatch() error {
	if err := rp.failed(); err != nil {
		return err
	}
	if len(rp.batch) == 0 {
		return nil
	}
	rp.send <- rp.batch
	rp.batch, rp.batchBytes = nil, 0
	return nil
}

// close sends what is pending (when ok) and waits for the sender.
func (rp *replayer) close(ok bool) error {
	var err error
	if ok {
		if err = rp.closeColl(); err == nil {
			err = rp.flushBatch()
		}
	}
	close(rp.send)
	if serr := <-rp.sent; err == nil {
		err = serr
	}
	return err
}
