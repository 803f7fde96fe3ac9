package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/linxGnu/grocksdb"
)

// Snapshots, raw access and bulk loading: what `strata dump`, `strata load` and
// BGSAVE need of RocksDB. Nothing here goes through the commit path: a checkpoint
// copies files, a RawDB reads a directory no server has open, and a Loader builds a
// fresh directory from SST files.

// ErrNotEmpty: a bulk load was pointed at a directory that already holds a database.
var ErrNotEmpty = errors.New("store: target directory is not empty")

// Checkpoint writes a consistent copy of the store into dir, which must not exist:
// RocksDB flushes the memtables (its WAL is off, so they would otherwise be missing)
// and hard-links the live SST files. It returns the last applied binlog ID and the
// history read back from the checkpoint itself, so they describe exactly the data in
// it even while writes go on. The checkpoint opens as a normal store directory.
// dir's parent is created when missing.
func (s *Store) Checkpoint(dir string) (applied uint64, history [20]byte, err error) {
	if err := s.checkOpen(); err != nil {
		return 0, history, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return 0, history, fmt.Errorf("store: checkpoint: %w", err)
	}
	cp, err := s.db.NewCheckpoint()
	if err != nil {
		return 0, history, fmt.Errorf("store: checkpoint: %w", err)
	}
	defer cp.Destroy()
	// logSizeForFlush 0: always flush the memtables first.
	if err := cp.CreateCheckpoint(dir, 0); err != nil {
		return 0, history, fmt.Errorf("store: checkpoint into %s: %w", dir, err)
	}
	r, err := OpenReadOnly(dir)
	if err != nil {
		return 0, history, fmt.Errorf("store: read back checkpoint %s: %w", dir, err)
	}
	defer r.Close()
	return r.Applied(), r.History(), nil
}

// RawDB is a read-only view of a store directory that no server has open (a stopped
// server's <data_dir>/db, or a snapshot). It hands out the stored records as they are.
type RawDB struct {
	dir     string
	db      *grocksdb.DB
	opts    *grocksdb.Options
	bbto    *grocksdb.BlockBasedTableOptions
	cache   *grocksdb.Cache
	ro      *grocksdb.ReadOptions
	applied uint64
	history [20]byte
	hasHist bool
	format  uint64
}

// OpenReadOnly opens the RocksDB directory dir read-only. A directory written by a
// newer format is refused with ErrNewerFormat.
func OpenReadOnly(dir string) (*RawDB, error) {
	if _, err := os.Stat(filepath.Join(dir, "CURRENT")); err != nil {
		return nil, fmt.Errorf("store: %s is not a RocksDB directory: %w", dir, err)
	}
	r := &RawDB{dir: dir}
	r.cache = grocksdb.NewLRUCache(8 << 20)
	r.bbto = grocksdb.NewDefaultBlockBasedTableOptions()
	r.bbto.SetBlockCache(r.cache)
	r.opts = grocksdb.NewDefaultOptions()
	r.opts.SetBlockBasedTableFactory(r.bbto)
	r.opts.SetMaxOpenFiles(256)
	db, err := grocksdb.OpenDbForReadOnly(r.opts, dir, false)
	if err != nil {
		r.destroy()
		return nil, fmt.Errorf("store: open %s read-only: %w", dir, err)
	}
	r.db = db
	r.ro = grocksdb.NewDefaultReadOptions()
	if err := r.loadSystem(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *RawDB) loadSystem() error {
	get := func(k []byte) ([]byte, error) {
		v, err := r.db.GetBytes(r.ro, k)
		if err != nil {
			return nil, fmt.Errorf("store: read %s in %s: %w", k, r.dir, err)
		}
		return v, nil
	}
	v, err := get(sysFormatKey)
	if err != nil {
		return err
	}
	switch {
	case v == nil:
		r.format = FormatVersion // written at the first open; an empty directory
	case len(v) != 8:
		return corruptf("format version record has %d bytes", len(v))
	default:
		r.format = decodeU64(v)
		if r.format > FormatVersion {
			return fmt.Errorf("%w: %s has format %d, this build reads up to %d; upgrade Strata",
				ErrNewerFormat, r.dir, r.format, FormatVersion)
		}
	}
	if v, err = get(sysAppliedKey); err != nil {
		return err
	}
	if len(v) == 8 {
		r.applied = decodeU64(v)
	}
	if v, err = get(sysHistoryKey); err != nil {
		return err
	}
	if len(v) == 20 {
		copy(r.history[:], v)
		r.hasHist = true
	}
	return nil
}

// Applied is the ID of the last binlog record the directory holds.
func (r *RawDB) Applied() uint64 { return r.applied }

// History is the history ID stored with the data (all zero when none was written).
func (r *RawDB) History() [20]byte { return r.history }

// Format is the key-encoding version of the directory.
func (r *RawDB) Format() uint64 { return r.format }

// Property returns a RocksDB property (e.g. rocksdb.estimate-num-keys).
func (r *RawDB) Property(name string) string { return r.db.GetProperty(name) }

// ForEach calls fn with every stored record in key order. key and value are only
// valid during the call. Blocks read for the walk bypass the block cache, so a walk
// over a database larger than the cache does not evict anything useful.
func (r *RawDB) ForEach(fn func(key, value []byte) error) error {
	ro := grocksdb.NewDefaultReadOptions()
	defer ro.Destroy()
	ro.SetFillCache(false)
	ro.SetReadaheadSize(4 << 20)
	it := r.db.NewIterator(ro)
	defer it.Close()
	for it.SeekToFirst(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		err := fn(k.Data(), v.Data())
		k.Free()
		v.Free()
		if err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("store: iterate %s: %w", r.dir, err)
	}
	return nil
}

// Close releases the database.
func (r *RawDB) Close() {
	if r.db != nil {
		r.db.Close()
		r.db = nil
	}
	if r.ro != nil {
		r.ro.Destroy()
		r.ro = nil
	}
	r.destroy()
}

func (r *RawDB) destroy() {
	if r.opts != nil {
		r.opts.Destroy()
		r.opts = nil
	}
	if r.bbto != nil {
		r.bbto.Destroy()
		r.bbto = nil
	}
	if r.cache != nil {
		r.cache.Destroy()
		r.cache = nil
	}
}

// IsSystemKey reports whether a raw key is a system record ("!format", "!keys/<db>",
// "!version", "!applied", "!history").
func IsSystemKey(k []byte) bool { return len(k) > 0 && k[0] == prefixSys }

// IsDumpedKey reports whether a raw record belongs in a dump: every data record (and
// expiry index entry), plus the system records that describe the data rather than
// the directory: the per-database key counts and the version high-water mark.
func IsDumpedKey(k []byte) bool {
	if !IsSystemKey(k) {
		return true
	}
	return isKeysKey(k) || bytes.Equal(k, sysVersionKey)
}

// IsMetaKey reports whether a raw key is a key's metadata record (one per Redis key).
func IsMetaKey(k []byte) bool { return len(k) >= 2 && k[0] == prefixMeta }

func isKeysKey(k []byte) bool {
	return len(k) == len(sysKeysPrefix)+1 && bytes.HasPrefix(k, sysKeysPrefix) && int(k[len(k)-1]) < Databases
}

// RecordKind says what a raw record is.
type RecordKind byte

const (
	RecordSystem RecordKind = iota
	RecordMeta              // a key's metadata: Meta is set
	RecordMember            // hash field, set member, zset member (Value = score) or list element
	RecordScore             // zset score index entry: Score and Member are set
	RecordExpire            // expiry index entry: ExpireAt is set
	RecordRank              // zset rank index record: Member is level u8 | score u64 | member (or the tail)
)

// Record is a decoded raw record. Its slices alias the key and value it was decoded
// from.
type Record struct {
	Kind    RecordKind
	DB      int
	Key     []byte // the Redis key; the system record's name for RecordSystem
	Meta    Meta   // RecordMeta
	Version uint64 // RecordMember, RecordScore: the version of the key they belong to
	// Member is the member part of a member key: a hash field, a set or zset member,
	// or for lists the 8-byte big-endian index (ListIndex decodes it).
	Member   []byte
	Value    []byte
	Score    float64 // RecordScore
	ExpireAt int64   // RecordExpire
}

// DecodeRecord decodes one raw record as stored in RocksDB (see the package doc).
func DecodeRecord(key, value []byte) (Record, error) {
	var r Record
	if len(key) == 0 {
		return r, corruptf("empty record key")
	}
	if key[0] == prefixSys {
		r.Kind, r.Key, r.Value = RecordSystem, key[1:], value
		return r, nil
	}
	if len(key) < 2 || int(key[1]) >= Databases {
		return r, corruptf("record key %q has no valid database", key)
	}
	r.DB = int(key[1])
	switch key[0] {
	case prefixMeta:
		r.Kind, r.Key = RecordMeta, key[2:]
		if err := decodeMeta(value, &r.Meta); err != nil {
			return r, err
		}
	case prefixMember, prefixScore, prefixRank:
		if len(key) < 6 {
			return r, corruptf("member key %q too short", key)
		}
		n := int(binary.BigEndian.Uint32(key[2:]))
		if len(key) < 6+n+8 {
			return r, corruptf("member key %q too short for its name length %d", key, n)
		}
		r.Key = key[6 : 6+n]
		r.Version = binary.BigEndian.Uint64(key[6+n:])
		r.Member = key[6+n+8:]
		r.Value = value
		r.Kind = RecordMember
		if key[0] == prefixRank {
			// A node (level byte, empty value) or a count (level byte with 0x80, u64).
			r.Kind = RecordRank
			count := len(r.Member) > 0 && r.Member[0]&rankCounts != 0
			if len(r.Member) < 9 || (count && len(value) != 8) || (!count && len(value) != 0) {
				return r, corruptf("rank record %q malformed", key)
			}
		}
		if key[0] == prefixScore {
			r.Kind = RecordScore
			if len(r.Member) < 8 {
				return r, corruptf("score key %q too short", key)
			}
			r.Score = decodeScore(binary.BigEndian.Uint64(r.Member))
			r.Member = r.Member[8:]
		}
	case prefixExpire:
		if len(key) < 10 {
			return r, corruptf("expiry key %q too short", key)
		}
		r.Kind = RecordExpire
		r.ExpireAt = int64(binary.BigEndian.Uint64(key[2:]))
		r.Key = key[10:]
	default:
		return r, corruptf("unknown record prefix %q", key[0])
	}
	return r, nil
}

// ListIndex decodes a list element's index from Record.Member.
func ListIndex(member []byte) (uint64, error) {
	if len(member) != 8 {
		return 0, corruptf("list index has %d bytes", len(member))
	}
	return binary.BigEndian.Uint64(member), nil
}

// ZSetScore decodes a zset member record's value (the member's score).
func ZSetScore(value []byte) (float64, error) {
	if len(value) != 8 {
		return 0, corruptf("zset score has %d bytes", len(value))
	}
	return decodeScore(binary.BigEndian.Uint64(value)), nil
}

// LoaderOptions configures a bulk load.
type LoaderOptions struct {
	// Compression and BloomBitsPerKey of the SST files; the same meaning as Options.
	Compression     string
	BloomBitsPerKey int
	// FileSize is the size at which an SST file is finished and the next begun.
	FileSize uint64
	// Applied and History are written as the directory's "!applied" and "!history",
	// so a binlog opened on it continues after Applied.
	Applied uint64
	History [20]byte
}

// DefaultLoaderOptions are the options `strata load` uses.
func DefaultLoaderOptions() LoaderOptions {
	return LoaderOptions{Compression: "lz4", BloomBitsPerKey: 10, FileSize: 256 << 20}
}

// Loader builds a new store directory from records given in key order: it writes
// them into SST files in a staging directory and, once Finish is called, creates the
// database and ingests them (moving, not copying, the files). Nothing appears in the
// target until Finish, so a load that fails half way leaves no database behind.
//
// The key counts are recomputed from the metadata records, and the system records
// that describe the directory ("!format", "!applied", "!history") are written by the
// loader; of the system records only "!keys/<db>" and "!version" are accepted (the
// key counts given are checked against the recomputed ones, see CountMismatch).
type Loader struct {
	dir, staging string
	opts         LoaderOptions

	eo    *grocksdb.EnvOptions
	dbo   *grocksdb.Options
	bbto  *grocksdb.BlockBasedTableOptions
	w     *grocksdb.SSTFileWriter
	wn    int // entries in the open file
	files []string

	prev    []byte
	counts  [Databases]uint64
	given   map[int]uint64 // key counts found in the input
	version uint64
	done    bool
}

// NewLoader prepares a load into the RocksDB directory dir, which must not exist or
// be empty by the time Finish is called (ErrNotEmpty otherwise). The staging
// directory is dir + ".load".
func NewLoader(dir string, opts LoaderOptions) (*Loader, error) {
	if opts.FileSize == 0 {
		opts.FileSize = 256 << 20
	}
	l := &Loader{dir: dir, staging: filepath.Clean(dir) + ".load", opts: opts, given: map[int]uint64{}}
	if err := os.RemoveAll(l.staging); err != nil {
		return nil, fmt.Errorf("store: clear staging directory: %w", err)
	}
	if err := os.MkdirAll(l.staging, 0o755); err != nil {
		return nil, fmt.Errorf("store: create staging directory: %w", err)
	}
	l.eo = grocksdb.NewDefaultEnvOptions()
	l.bbto = grocksdb.NewDefaultBlockBasedTableOptions()
	if opts.BloomBitsPerKey > 0 {
		l.bbto.SetFilterPolicy(grocksdb.NewBloomFilter(float64(opts.BloomBitsPerKey)))
	}
	l.dbo = grocksdb.NewDefaultOptions()
	l.dbo.SetCreateIfMissing(true)
	l.dbo.SetBlockBasedTableFactory(l.bbto)
	l.dbo.SetCompression(compressionType(opts.Compression))
	return l, nil
}

func checkEmptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read %s: %w", dir, err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	}
	return nil
}

// Add adds one record. Keys must be strictly increasing.
func (l *Loader) Add(key, value []byte) error {
	if l.done {
		return errors.New("store: loader already finished")
	}
	if l.prev != nil && bytes.Compare(key, l.prev) <= 0 {
		return corruptf("record %q is not after %q: records must come in key order", key, l.prev)
	}
	l.prev = append(l.prev[:0], key...)
	if IsSystemKey(key) {
		switch {
		case isKeysKey(key):
			if len(value) != 8 {
				return corruptf("key count record %q has %d bytes", key, len(value))
			}
			l.given[int(key[len(key)-1])] = decodeU64(value)
		case bytes.Equal(key, sysVersionKey):
			if len(value) != 8 {
				return corruptf("version record has %d bytes", len(value))
			}
			l.version = decodeU64(value)
		default:
			return corruptf("unexpected system record %q", key)
		}
		return nil
	}
	if len(key) < 2 || int(key[1]) >= Databases {
		return corruptf("record key %q has no valid database", key)
	}
	switch key[0] {
	case prefixMeta:
		var m Meta
		if err := decodeMeta(value, &m); err != nil {
			return fmt.Errorf("key %q: %w", key[2:], err)
		}
		l.counts[key[1]]++
	case prefixMember, prefixScore, prefixRank, prefixExpire:
	default:
		return corruptf("unknown record prefix %q", key[0])
	}
	return l.put(key, value)
}

func (l *Loader) put(key, value []byte) error {
	if l.w == nil {
		l.w = grocksdb.NewSSTFileWriter(l.eo, l.dbo)
		path := filepath.Join(l.staging, fmt.Sprintf("%06d.sst", len(l.files)+1))
		if err := l.w.Open(path); err != nil {
			return fmt.Errorf("store: create %s: %w", path, err)
		}
		l.files = append(l.files, path)
		l.wn = 0
	}
	if err := l.w.Put(key, value); err != nil {
		return fmt.Errorf("store: write SST %s: %w", l.files[len(l.files)-1], err)
	}
	l.wn++
	if l.w.FileSize() >= l.opts.FileSize {
		return l.finishFile()
	}
	return nil
}

func (l *Loader) finishFile() error {
	if l.w == nil {
		return nil
	}
	w := l.w
	l.w = nil
	defer w.Destroy()
	if l.wn == 0 {
		path := l.files[len(l.files)-1]
		l.files = l.files[:len(l.files)-1]
		_ = os.Remove(path)
		return nil
	}
	if err := w.Finish(); err != nil {
		return fmt.Errorf("store: finish SST: %w", err)
	}
	return nil
}

// KeyCounts returns the number of keys per database seen so far.
func (l *Loader) KeyCounts() [Databases]uint64 { return l.counts }

// CountMismatch lists the databases whose given key count differs from the number of
// metadata records (the loader writes the recomputed count).
func (l *Loader) CountMismatch() []string {
	var out []string
	for db := 0; db < Databases; db++ {
		if g, ok := l.given[db]; (ok && g != l.counts[db]) || (!ok && l.counts[db] != 0) {
			out = append(out, fmt.Sprintf("db%d: given %d, found %d", db, g, l.counts[db]))
		}
	}
	return out
}

// Finish writes the system records, creates the database in the target directory
// and ingests every SST file into it.
func (l *Loader) Finish() error {
	if l.done {
		return errors.New("store: loader already finished")
	}
	l.done = true
	if err := l.finishFile(); err != nil {
		return err
	}
	// The system records sort before every data record ('!' < 'e'): they go into a
	// file of their own, which does not overlap the data files.
	sys := filepath.Join(l.staging, "000000.sst")
	w := grocksdb.NewSSTFileWriter(l.eo, l.dbo)
	defer w.Destroy()
	if err := w.Open(sys); err != nil {
		return fmt.Errorf("store: create %s: %w", sys, err)
	}
	recs := []struct{ k, v []byte }{
		{sysAppliedKey, encodeU64(l.opts.Applied)},
		{sysFormatKey, encodeU64(FormatVersion)},
		{sysHistoryKey, append([]byte(nil), l.opts.History[:]...)},
	}
	for db := 0; db < Databases; db++ {
		recs = append(recs, struct{ k, v []byte }{sysKeysKey(db), encodeU64(l.counts[db])})
	}
	if l.version != 0 {
		recs = append(recs, struct{ k, v []byte }{sysVersionKey, encodeU64(l.version)})
	}
	for _, r := range recs {
		if err := w.Put(r.k, r.v); err != nil {
			return fmt.Errorf("store: write %s: %w", r.k, err)
		}
	}
	if err := w.Finish(); err != nil {
		return fmt.Errorf("store: finish %s: %w", sys, err)
	}
	files := append([]string{sys}, l.files...)

	if err := checkEmptyDir(l.dir); err != nil {
		return err
	}
	db, err := grocksdb.OpenDb(l.dbo, l.dir)
	if err != nil {
		return fmt.Errorf("store: create database in %s: %w", l.dir, err)
	}
	ingest := grocksdb.NewDefaultIngestExternalFileOptions()
	ingest.SetMoveFiles(true)
	err = db.IngestExternalFile(files, ingest)
	ingest.Destroy()
	if err == nil {
		// Persist the manifest; the ingested files are already durable.
		fo := grocksdb.NewDefaultFlushOptions()
		fo.SetWait(true)
		err = db.Flush(fo)
		fo.Destroy()
	}
	db.Close()
	if err != nil {
		_ = os.RemoveAll(l.dir)
		return fmt.Errorf("store: ingest %d files into %s: %w", len(files), l.dir, err)
	}
	l.cleanup()
	return nil
}

// Files is the number of SST files written so far (data files only).
func (l *Loader) Files() int { return len(l.files) }

// Abort drops everything written so far. Safe after Finish.
func (l *Loader) Abort() {
	if l.w != nil {
		l.w.Destroy()
		l.w = nil
	}
	l.done = true
	l.cleanup()
}

func (l *Loader) cleanup() {
	_ = os.RemoveAll(l.staging)
	if l.eo != nil {
		l.eo.Destroy()
		l.dbo.Destroy()
		l.bbto.Destroy()
		l.eo = nil
	}
}
