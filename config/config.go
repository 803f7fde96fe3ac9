// Package config holds Strata's configuration: built-in defaults, overridden by a TOML
// file, overridden by command-line flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ErrInvalid marks a configuration that cannot be used.
var ErrInvalid = errors.New("config: invalid")

// Config is the whole server configuration.
type Config struct {
	Server      Server      `toml:"server"`
	RocksDB     RocksDB     `toml:"rocksdb"`
	Binlog      Binlog      `toml:"binlog"`
	Replication Replication `toml:"replication"`
	Snapshot    Snapshot    `toml:"snapshot"`
}

// Snapshot is the [snapshot] section: BGSAVE/SAVE checkpoints under <data_dir>/snapshots.
type Snapshot struct {
	MaxCount int `toml:"max_count"`
}

// Replication is the [replication] section.
type Replication struct {
	ReplicaOf             string   `toml:"replicaof"` // "host:port" of the master, "" = this is a master
	MasterAuth            string   `toml:"masterauth"`
	Mode                  string   `toml:"mode"` // async, semi-sync
	MinAcks               int      `toml:"min_acks"`
	AckTimeout            Duration `toml:"ack_timeout"`
	OnAckTimeout          string   `toml:"on_ack_timeout"` // degrade, fail
	ReplicaPriority       int      `toml:"replica_priority"`
	ReplicaServeStaleData bool     `toml:"replica_serve_stale_data"`
	ReplicaAnnounceIP     string   `toml:"replica_announce_ip"`
	ReplicaAnnouncePort   int      `toml:"replica_announce_port"`
	ReplTimeout           Duration `toml:"repl_timeout"`
	ReplMaxBandwidth      Size     `toml:"repl_max_bandwidth"`
	ReplCompression       string   `toml:"repl_compression"` // zstd, snappy, none
	TLSReplication        bool     `toml:"tls_replication"`  // a follower dials its master with TLS
}

// Binlog is the [binlog] section: the write-ahead log every change goes through.
type Binlog struct {
	Sync         string   `toml:"sync"` // always, everysec, no
	MaxFileSize  Size     `toml:"max_file_size"`
	Retention    Duration `toml:"retention"`
	MaxTotalSize Size     `toml:"max_total_size"`
	// How often segments are checked against retention and max_total_size.
	PurgeInterval Duration `toml:"purge_interval"`
}

// Server is the [server] section.
type Server struct {
	Addr                 string   `toml:"addr"`
	DataDir              string   `toml:"data_dir"`
	RequirePass          string   `toml:"requirepass"`
	MaxClients           int      `toml:"maxclients"`
	ProtoMaxBulkLen      Size     `toml:"proto_max_bulk_len"`
	Timeout              Duration `toml:"timeout"`
	LogLevel             string   `toml:"log_level"`
	SlowlogLogSlowerThan Duration `toml:"slowlog_log_slower_than"`
	SlowlogMaxLen        int      `toml:"slowlog_max_len"`
	// LatencyMonitorThreshold: events at least this long are sampled for LATENCY; 0 off.
	LatencyMonitorThreshold Duration `toml:"latency_monitor_threshold"`
	Threads                 int      `toml:"threads"`       // 0: half the CPUs the process may use
	TLSCertFile             string   `toml:"tls_cert_file"` // with tls_key_file: serve TLS
	TLSKeyFile              string   `toml:"tls_key_file"`
	TLSCAFile               string   `toml:"tls_ca_file"` // CAs a follower checks its master against
}

// RocksDB is the [rocksdb] section: it bounds memory, not the data size.
type RocksDB struct {
	BlockCacheSize  Size   `toml:"block_cache_size"`
	WriteBufferSize Size   `toml:"write_buffer_size"`
	MaxWriteBuffers int    `toml:"max_write_buffers"`
	Compression     string `toml:"compression"`
	BloomBitsPerKey int    `toml:"bloom_bits_per_key"`
	MaxOpenFiles    int    `toml:"max_open_files"`
	KeyCacheSize    Size   `toml:"key_cache_size"`  // 0: no key cache
	RankCacheSize   Size   `toml:"rank_cache_size"` // 0: no rank cache
	KeyFilterSize   Size   `toml:"key_filter_size"` // 0: no key filter
}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		Server: Server{
			Addr:                 "127.0.0.1:6380",
			DataDir:              "./var",
			MaxClients:           10000,
			ProtoMaxBulkLen:      512 << 20,
			LogLevel:             "info",
			SlowlogLogSlowerThan: Duration(10 * time.Millisecond),
			SlowlogMaxLen:        128,
		},
		RocksDB: RocksDB{
			BlockCacheSize:  256 << 20,
			WriteBufferSize: 32 << 20,
			MaxWriteBuffers: 3,
			Compression:     "lz4",
			BloomBitsPerKey: 10,
			MaxOpenFiles:    1000,
			KeyCacheSize:    64 << 20,
			RankCacheSize:   16 << 20,
			KeyFilterSize:   16 << 20,
		},
		Binlog: Binlog{
			Sync:          "everysec",
			MaxFileSize:   1 << 30,
			Retention:     Duration(72 * time.Hour),
			MaxTotalSize:  10 << 30,
			PurgeInterval: Duration(30 * time.Second),
		},
		Replication: Replication{
			Mode:                  "async",
			MinAcks:               1,
			AckTimeout:            Duration(time.Second),
			OnAckTimeout:          "degrade",
			ReplicaPriority:       100,
			ReplicaServeStaleData: true,
			ReplTimeout:           Duration(60 * time.Second),
			ReplCompression:       "zstd",
		},
		Snapshot: Snapshot{MaxCount: 5},
	}
}

// Load reads a TOML file over the defaults. Unknown keys are an error naming the key.
func Load(data []byte) (Config, error) {
	c := Default()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("%w: unknown key %s", ErrInvalid, strings.Join(keys, ", "))
	}
	return c, nil
}

// Validate checks every value and names the first key that is wrong.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, args...))
	}
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		return bad("server.addr", "%q is not host:port", c.Server.Addr)
	}
	if c.Server.DataDir == "" {
		return bad("server.data_dir", "must not be empty")
	}
	if c.Server.MaxClients < 1 {
		return bad("server.maxclients", "must be at least 1, got %d", c.Server.MaxClients)
	}
	if c.Server.ProtoMaxBulkLen < 1<<20 {
		return bad("server.proto_max_bulk_len", "must be at least 1MB, got %d", c.Server.ProtoMaxBulkLen)
	}
	if c.Server.Timeout < 0 {
		return bad("server.timeout", "must not be negative")
	}
	switch c.Server.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("server.log_level", "%q is not one of debug, info, warn, error", c.Server.LogLevel)
	}
	if c.Server.LatencyMonitorThreshold < 0 {
		return bad("server.latency_monitor_threshold", "must be 0 (off) or more, got %s", c.Server.LatencyMonitorThreshold.D())
	}
	if c.Server.SlowlogMaxLen < 0 {
		return bad("server.slowlog_max_len", "must not be negative")
	}
	if c.Server.Threads < 0 || c.Server.Threads > 1024 {
		return bad("server.threads", "must be between 0 and 1024, got %d", c.Server.Threads)
	}
	if (c.Server.TLSCertFile == "") != (c.Server.TLSKeyFile == "") {
		if c.Server.TLSCertFile == "" {
			return bad("server.tls_cert_file", "must be set with server.tls_key_file")
		}
		return bad("server.tls_key_file", "must be set with server.tls_cert_file")
	}
	if c.RocksDB.BlockCacheSize < 1<<20 {
		return bad("rocksdb.block_cache_size", "must be at least 1MB, got %d", c.RocksDB.BlockCacheSize)
	}
	if c.RocksDB.WriteBufferSize < 1<<20 {
		return bad("rocksdb.write_buffer_size", "must be at least 1MB, got %d", c.RocksDB.WriteBufferSize)
	}
	if c.RocksDB.MaxWriteBuffers < 2 {
		return bad("rocksdb.max_write_buffers", "must be at least 2, got %d", c.RocksDB.MaxWriteBuffers)
	}
	switch c.RocksDB.Compression {
	case "none", "snappy", "lz4", "zstd":
	default:
		return bad("rocksdb.compression", "%q is not one of none, snappy, lz4, zstd", c.RocksDB.Compression)
	}
	if c.RocksDB.KeyCacheSize != 0 && c.RocksDB.KeyCacheSize < 32<<20 {
		return bad("rocksdb.key_cache_size", "must be 0 (off) or at least 32MB, got %d", c.RocksDB.KeyCacheSize)
	}
	if c.RocksDB.RankCacheSize < 0 {
		return bad("rocksdb.rank_cache_size", "must be 0 (off) or more, got %d", c.RocksDB.RankCacheSize)
	}
	if c.RocksDB.KeyFilterSize < 0 {
		return bad("rocksdb.key_filter_size", "must be 0 (off) or more, got %d", c.RocksDB.KeyFilterSize)
	}
	if c.RocksDB.BloomBitsPerKey < 0 || c.RocksDB.BloomBitsPerKey > 32 {
		return bad("rocksdb.bloom_bits_per_key", "must be between 0 and 32, got %d", c.RocksDB.BloomBitsPerKey)
	}
	if c.RocksDB.MaxOpenFiles < -1 || c.RocksDB.MaxOpenFiles == 0 {
		return bad("rocksdb.max_open_files", "must be -1 (unlimited) or positive, got %d", c.RocksDB.MaxOpenFiles)
	}
	switch c.Binlog.Sync {
	case "always", "everysec", "no":
	default:
		return bad("binlog.sync", "%q is not one of always, everysec, no", c.Binlog.Sync)
	}
	if c.Binlog.MaxFileSize < 64<<10 {
		return bad("binlog.max_file_size", "must be at least 64KB, got %d", c.Binlog.MaxFileSize)
	}
	if c.Binlog.Retention < 0 {
		return bad("binlog.retention", "must not be negative")
	}
	if c.Binlog.MaxTotalSize < c.Binlog.MaxFileSize {
		return bad("binlog.max_total_size", "must be at least binlog.max_file_size")
	}
	if c.Binlog.PurgeInterval < Duration(100*time.Millisecond) {
		return bad("binlog.purge_interval", "must be at least 100ms")
	}
	r := &c.Replication
	if r.ReplicaOf != "" {
		if _, _, err := net.SplitHostPort(r.ReplicaOf); err != nil {
			return bad("replication.replicaof", "%q is not host:port", r.ReplicaOf)
		}
	}
	switch r.Mode {
	case "async", "semi-sync":
	default:
		return bad("replication.mode", "%q is not one of async, semi-sync", r.Mode)
	}
	if r.MinAcks < 1 {
		return bad("replication.min_acks", "must be at least 1, got %d", r.MinAcks)
	}
	if r.AckTimeout <= 0 {
		return bad("replication.ack_timeout", "must be positive")
	}
	switch r.OnAckTimeout {
	case "degrade", "fail":
	default:
		return bad("replication.on_ack_timeout", "%q is not one of degrade, fail", r.OnAckTimeout)
	}
	if r.ReplicaPriority < 0 {
		return bad("replication.replica_priority", "must not be negative")
	}
	if r.ReplicaAnnouncePort < 0 || r.ReplicaAnnouncePort > 65535 {
		return bad("replication.replica_announce_port", "must be a port number")
	}
	if r.ReplTimeout < Duration(time.Second) {
		return bad("replication.repl_timeout", "must be at least 1s")
	}
	if r.ReplMaxBandwidth < 0 {
		return bad("replication.repl_max_bandwidth", "must not be negative")
	}
	switch r.ReplCompression {
	case "zstd", "snappy", "none":
	default:
		return bad("replication.repl_compression", "%q is not one of zstd, snappy, none", r.ReplCompression)
	}
	if c.Snapshot.MaxCount < 1 {
		return bad("snapshot.max_count", "must be at least 1, got %d", c.Snapshot.MaxCount)
	}
	return nil
}

// Size is a byte count written as "256MB", "1GB", "512kb" or a plain number.
type Size int64

// ParseSize parses a human-readable byte count.
func ParseSize(s string) (Size, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			mult = u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size like 256MB", s)
	}
	return Size(n * mult), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText writes the size in the largest exact unit.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s Size) String() string {
	n := int64(s)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n != 0 && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Duration is a time span written as "500ms", "72h".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 500ms or 72h", string(b))
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Encode renders the configuration as TOML (CONFIG REWRITE).
func (c *Config) Encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
