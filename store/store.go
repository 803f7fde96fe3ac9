package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linxGnu/grocksdb"

	"github.com/strata-kv/strata/binlog"
)

// Databases is the number of logical databases (SELECT 0..15).
const Databases = 16

// Options configures the RocksDB instance behind a Store.
type Options struct {
	Dir             string
	BlockCacheSize  int64
	WriteBufferSize int64
	MaxWriteBuffers int
	Compression     string // none, snappy, lz4, zstd
	BloomBitsPerKey int    // 0 disables bloom filters
	MaxOpenFiles    int
	// KeyCacheSize bounds the Go-side cache of key metadata and small strings
	// (0: none; otherwise at least MinKeyCacheSize).
	KeyCacheSize int64
	// RankCacheSize bounds the memory for the rank index counts of large sorted sets
	// (0: none, every count is read from RocksDB).
	RankCacheSize int64
	// KeyFilterSize is the memory of the bloom filter over every stored key, which
	// answers reads of keys that were never written (0: none). A rebuild briefly
	// takes twice as much.
	KeyFilterSize int64
	// Log, when set, receives every transaction before RocksDB does, and Open replays
	// what it holds beyond the last applied ID. RocksDB's own WAL is then off: the
	// binlog already makes every acknowledged write durable, and two logs on the hot
	// path would cost a second write per group.
	Log Log
}

// Log is the write-ahead log in front of the store; *binlog.Log satisfies it.
type Log interface {
	// Append writes one record per changes entry with consecutive IDs and returns the
	// first; it returns once the records are as durable as the log's policy says.
	Append(history [20]byte, unixMs int64, changes ...[]byte) (uint64, error)
	// LastID is the ID of the newest record, 0 when there is none.
	LastID() uint64
	// Replay calls fn for every record after the given ID, in order.
	Replay(after uint64, fn func(id uint64, history [20]byte, changes []byte) error) error
	// SetLastID makes the log continue after id when it holds nothing beyond it.
	SetLastID(id uint64) error
	// AppendRecords writes records received from a master, keeping their IDs.
	AppendRecords(recs []binlog.Record) error
}

// DefaultOptions returns the options used when the configuration says nothing.
func DefaultOptions(dir string) Options {
	return Options{
		Dir:             dir,
		BlockCacheSize:  256 << 20,
		WriteBufferSize: 64 << 20,
		MaxWriteBuffers: 3,
		Compression:     "lz4",
		BloomBitsPerKey: 10,
		MaxOpenFiles:    1000,
		KeyCacheSize:    64 << 20,
		RankCacheSize:   DefaultRankCacheSize,
		KeyFilterSize:   DefaultKeyFilterSize,
	}
}

// CommitHook is called after every successful group write with the keys it changed.
type CommitHook func(keys []KeyRef)

// KeyRef names one key of one database; All means every key of DB (FLUSHDB).
type KeyRef struct {
	DB  int
	Key string
	All bool
	// Flush: All because of FLUSHDB/FLUSHALL, whose WATCH effect the server decides
	// before the flush (only watched keys that existed are touched, as in Redis).
	Flush bool
}

// Store is the data layer: key encoding, metadata and the single commit path.
type Store struct {
	opts  Options
	db    *grocksdb.DB
	cache *grocksdb.Cache
	bbto  *grocksdb.BlockBasedTableOptions
	dbo   *grocksdb.Options
	ro    *grocksdb.ReadOptions
	wo    *grocksdb.WriteOptions

	locks  keyLocks
	keys   *keyCache  // nil: no key cache
	filter *keyFilter // nil: no key filter
	ranks  *rankCache

	version   atomic.Uint64 // last member version handed out
	keyCounts [Databases]atomic.Int64

	cmu     sync.Mutex
	queue   []*commitReq
	leading bool
	seq     uint64 // commit order of queued requests (cmu)

	// Point writes of queued, not yet applied transactions, newest first wins.
	pmu      sync.RWMutex
	overlay  map[string]overlayVal
	overlayN atomic.Int64
	// The overlay's keys by collection (member prefix up to the version), so an
	// iterator over one collection finds its queued writes without a full walk.
	overlayColl map[string]map[string]struct{}
	hooks       []CommitHook

	log       Log
	applied   atomic.Uint64 // ID of the last record applied to RocksDB
	histMu    sync.Mutex
	history   [20]byte
	histSaved bool
	// The history before the last promotion and the first ID that is not part of it
	// (Redis's master_replid2 and second_repl_offset).
	prevHistory  [20]byte
	prevEnd      uint64
	noExpire     atomic.Bool           // followers leave expiry to their master
	expirePaused atomic.Bool           // CLIENT PAUSE in force
	rangeDeletes int                   // range tombstones since the last forced flush (commit leader only)
	failure      atomic.Pointer[error] // first write failure: writes stay refused
	writer       *writer               // applies group writes off the Go scheduler; nil: in place
	encBuf       [][]byte              // per-group change encodings, reused by the leader

	stats Stats

	closeOnce sync.Once
	closed    atomic.Bool
	stop      chan struct{}
	bg        sync.WaitGroup
}

// Stats are counters the server reports in INFO.
type Stats struct {
	Commits      atomic.Int64 // transactions committed
	Groups       atomic.Int64 // RocksDB writes (one per group of transactions)
	ExpiredKeys  atomic.Int64
	KeyspaceHits atomic.Int64
	KeyspaceMiss atomic.Int64
}

// Open opens or creates the store in opts.Dir.
func Open(opts Options) (*Store, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", opts.Dir, err)
	}
	s := &Store{opts: opts, stop: make(chan struct{}), overlay: map[string]overlayVal{},
		overlayColl: map[string]map[string]struct{}{}}
	s.locks.seed = maphash.MakeSeed()

	s.bbto = grocksdb.NewDefaultBlockBasedTableOptions()
	s.cache = grocksdb.NewLRUCache(uint64(opts.BlockCacheSize))
	s.bbto.SetBlockCache(s.cache)
	s.bbto.SetCacheIndexAndFilterBlocks(true)
	s.bbto.SetPinL0FilterAndIndexBlocksInCache(true)
	// Indexes and filters in small partitions: a whole-file filter of a large SST can
	// outgrow a block cache shard, and a block larger than its shard is dropped as soon
	// as it is used, so every lookup would read and checksum megabytes from the file.
	s.bbto.SetIndexType(grocksdb.KTwoLevelIndexSearchIndexType)
	s.bbto.SetPartitionFilters(true)
	s.bbto.SetMetadataBlockSize(4096)
	s.bbto.SetPinTopLevelIndexAndFilter(true)
	s.bbto.SetCacheIndexAndFilterBlocksWithHighPriority(true)
	if opts.BloomBitsPerKey > 0 {
		s.bbto.SetFilterPolicy(grocksdb.NewBloomFilter(float64(opts.BloomBitsPerKey)))
	}
	s.dbo = grocksdb.NewDefaultOptions()
	s.dbo.SetCreateIfMissing(true)
	s.dbo.SetBlockBasedTableFactory(s.bbto)
	s.dbo.SetWriteBufferSize(uint64(opts.WriteBufferSize))
	s.dbo.SetMaxWriteBufferNumber(opts.MaxWriteBuffers)
	s.dbo.SetMaxOpenFiles(opts.MaxOpenFiles)
	s.dbo.IncreaseParallelism(2)
	s.dbo.SetMaxBackgroundJobs(2)
	s.dbo.SetCompression(compressionType(opts.Compression))
	s.dbo.SetKeepLogFileNum(5)
	if opts.BloomBitsPerKey > 0 {
		// Most writes first look up a key that is not there yet (SET of a new key): a
		// bloom filter in the memtable answers those misses without a skiplist search.
		s.dbo.SetMemTablePrefixBloomSizeRatio(0.05)
		s.dbo.SetMemtableWholeKeyFiltering(true)
	}
	db, err := grocksdb.OpenDb(s.dbo, opts.Dir)
	if err != nil {
		s.destroyOptions()
		return nil, fmt.Errorf("store: open rocksdb in %s: %w", opts.Dir, err)
	}
	s.db = db
	s.ro = grocksdb.NewDefaultReadOptions()
	s.wo = grocksdb.NewDefaultWriteOptions()
	s.wo.DisableWAL(opts.Log != nil)
	s.log = opts.Log
	s.keys = newKeyCache(opts.KeyCacheSize)
	s.ranks = newRankCache(int(opts.RankCacheSize))
	s.filter = newKeyFilter(opts.KeyFilterSize)
	if err := s.loadSystem(); err != nil {
		s.db.Close()
		s.destroyOptions()
		return nil, err
	}
	if err := s.recover(); err != nil {
		s.db.Close()
		s.destroyOptions()
		return nil, err
	}
	if rocksHandle(db) != nil {
		// Without the thread, group writes run in place: correct, only slower.
		s.writer, _ = newWriter(opts.Log != nil)
	}
	s.startBackground()
	return s, nil
}

func compressionType(name string) grocksdb.CompressionType {
	switch name {
	case "none":
		return grocksdb.NoCompression
	case "snappy":
		return grocksdb.SnappyCompression
	case "zstd":
		return grocksdb.ZSTDCompression
	default:
		return grocksdb.LZ4Compression
	}
}

// ValidCompression reports whether name is a compression the store understands.
func ValidCompression(name string) bool {
	switch name {
	case "none", "snappy", "lz4", "zstd":
		return true
	}
	return false
}

func (s *Store) destroyOptions() {
	if s.ro != nil {
		s.ro.Destroy()
	}
	if s.wo != nil {
		s.wo.Destroy()
	}
	s.dbo.Destroy()
	s.bbto.Destroy()
	s.cache.Destroy()
}

// startBackground starts the expiry cycle and the key filter's builder, which run
// until s.stop closes. Nothing may write meanwhile: the store is opening.
func (s *Store) startBackground() {
	s.bg.Add(1)
	go s.expireLoop()
	if s.filter != nil {
		s.bg.Add(1)
		go s.keyFilterLoop(s.stop, s.beginKeyFilterBuild(false))
	}
}

// loadSystem checks the format version and loads the key counters.
func (s *Store) loadSystem() error {
	v, err := s.db.GetBytes(s.ro, sysFormatKey)
	if err != nil {
		return fmt.Errorf("store: read format version: %w", err)
	}
	var got uint64
	if v != nil {
		if len(v) != 8 {
			return corruptf("format version record has %d bytes", len(v))
		}
		if got = binary.BigEndian.Uint64(v); got > FormatVersion {
			return fmt.Errorf("%w: %s has format %d, this build reads up to %d; upgrade Strata",
				ErrNewerFormat, s.opts.Dir, got, FormatVersion)
		}
	}
	if got < FormatVersion {
		// A new directory, or an older format this build reads as is (format 1 lacks
		// only the rank index, built at each sorted set's next write). Marking it keeps
		// an older build, which would not keep that index, from opening it.
		if err := s.db.Put(s.wo, sysFormatKey, encodeU64(FormatVersion)); err != nil {
			return fmt.Errorf("store: write format version: %w", err)
		}
	}
	for db := 0; db < Databases; db++ {
		v, err := s.db.GetBytes(s.ro, sysKeysKey(db))
		if err != nil {
			return fmt.Errorf("store: read key count: %w", err)
		}
		if len(v) == 8 {
			s.keyCounts[db].Store(int64(binary.BigEndian.Uint64(v)))
		}
	}
	v, err = s.db.GetBytes(s.ro, sysVersionKey)
	if err != nil {
		return fmt.Errorf("store: read version: %w", err)
	}
	hw := uint64(time.Now().UnixNano())
	if len(v) == 8 && binary.BigEndian.Uint64(v) > hw {
		hw = binary.BigEndian.Uint64(v)
	}
	s.version.Store(hw)
	v, err = s.db.GetBytes(s.ro, sysAppliedKey)
	if err != nil {
		return fmt.Errorf("store: read applied id: %w", err)
	}
	if len(v) == 8 {
		s.applied.Store(binary.BigEndian.Uint64(v))
	}
	v, err = s.db.GetBytes(s.ro, sysHistoryKey)
	if err != nil {
		return fmt.Errorf("store: read history: %w", err)
	}
	if len(v) == 20 {
		copy(s.history[:], v)
		s.histSaved = true
	} else {
		_, _ = rand.Read(s.history[:])
	}
	v, err = s.db.GetBytes(s.ro, sysPrevHistoryKey)
	if err != nil {
		return fmt.Errorf("store: read previous history: %w", err)
	}
	if len(v) == 28 {
		copy(s.prevHistory[:], v)
		s.prevEnd = binary.BigEndian.Uint64(v[20:])
	}
	return nil
}

// Close stops background work and closes RocksDB. Safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.bg.Wait()
		// Wait for in-flight commits: every writer holds the world lock shared.
		s.locks.world.Lock()
		s.closed.Store(true)
		s.locks.world.Unlock()
		if s.log != nil {
			// Persist the memtables so the next start has little to replay.
			fo := grocksdb.NewDefaultFlushOptions()
			fo.SetWait(true)
			_ = s.db.Flush(fo)
			fo.Destroy()
		}
		if s.writer != nil {
			s.writer.close()
		}
		s.db.Close()
		s.destroyOptions()
		if s.keys != nil {
			s.keys.c.Reset() // returns its memory
		}
	})
	return nil
}

// OnCommit registers a hook run after each group write. Not safe to call concurrently
// with commits; register hooks before serving.
func (s *Store) OnCommit(h CommitHook) { s.hooks = append(s.hooks, h) }

// Stats returns the store's counters.
func (s *Store) Stats() *Stats { return &s.stats }

// DBSize is the number of keys in db, counting keys that expired but are not yet removed.
func (s *Store) DBSize(db int) int64 { return s.keyCounts[db].Load() }

// Property returns a RocksDB property, for INFO.
func (s *Store) Property(name string) string { return s.db.GetProperty(name) }

// Dir is the data directory.
func (s *Store) Dir() string { return s.opts.Dir }

// Options returns the options the store was opened with.
func (s *Store) Options() Options { return s.opts }

func (s *Store) newVersion() uint64 {
	for {
		old := s.version.Load()
		n := uint64(time.Now().UnixNano())
		if n <= old {
			n = old + 1
		}
		if s.version.CompareAndSwap(old, n) {
			return n
		}
	}
}

// errClosedIfClosed guards entry points after Close.
func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

var errStop = errors.New("stop")

// Flush writes the memtables to SST files and waits, making everything applied so far
// durable without the binlog.
func (s *Store) Flush() error {
	fo := grocksdb.NewDefaultFlushOptions()
	defer fo.Destroy()
	fo.SetWait(true)
	if err := s.db.Flush(fo); err != nil {
		return fmt.Errorf("store: flush: %w", err)
	}
	return nil
}

// Compact rewrites everything into RocksDB's bottom level. There, with no snapshot
// open, records lose their sequence numbers; a bottom-level file that still has them
// is rewritten by RocksDB on its own once no snapshot needs them, under a new name.
// After Compact the files stay as they are until new writes reach them.
func (s *Store) Compact() error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	co := grocksdb.NewCompactRangeOptions()
	defer co.Destroy()
	co.SetBottommostLevelCompaction(grocksdb.KForce)
	co.SetExclusiveManualCompaction(true)
	s.db.CompactRangeOpt(grocksdb.Range{}, co)
	return nil
}

// ReplaceData swaps the store's data for the RocksDB directory newDir (a full copy
// received from a master): the current data is closed and removed, newDir takes its
// place and is opened with the same options. The caller must make sure no command is
// running against the store, and must reset the binlog to the copy's last ID first.
func (s *Store) ReplaceData(newDir string) error {
	close(s.stop)
	s.bg.Wait()
	unlock := s.LockAll()
	defer unlock()
	s.db.Close()
	s.ro.Destroy()
	s.wo.Destroy()
	s.ro, s.wo = nil, nil
	old := s.opts.Dir + ".old"
	_ = os.RemoveAll(old)
	if err := os.Rename(s.opts.Dir, old); err != nil {
		return s.fail(fmt.Errorf("move old data aside: %w", err))
	}
	if err := os.Rename(newDir, s.opts.Dir); err != nil {
		return s.fail(fmt.Errorf("move new data in: %w", err))
	}
	_ = os.RemoveAll(old)
	if s.keys != nil {
		s.keys.reset()
	}
	if s.filter != nil {
		s.filter.cur.Store(nil) // built anew once the new data is open
	}
	s.ranks.clear()
	db, err := grocksdb.OpenDb(s.dbo, s.opts.Dir)
	if err != nil {
		return s.fail(fmt.Errorf("reopen rocksdb in %s: %w", s.opts.Dir, err))
	}
	s.db = db
	s.ro = grocksdb.NewDefaultReadOptions()
	s.wo = grocksdb.NewDefaultWriteOptions()
	s.wo.DisableWAL(s.log != nil)
	for db := range s.keyCounts {
		s.keyCounts[db].Store(0)
	}
	s.histMu.Lock()
	s.histSaved = false
	s.prevHistory, s.prevEnd = [20]byte{}, 0
	s.histMu.Unlock()
	s.applied.Store(0)
	if err := s.loadSystem(); err != nil {
		return s.fail(err)
	}
	if err := s.recover(); err != nil {
		return s.fail(err)
	}
	s.stop = make(chan struct{})
	s.startBackground()
	return nil
}
