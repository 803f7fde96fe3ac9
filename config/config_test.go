package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// shippedFile is the documented configuration at the repository root.
const shippedFile = "../etc/strata.toml"

func TestDefaultValidates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
	if c.Server.Addr != "127.0.0.1:6380" || c.Server.DataDir != "./var" {
		t.Fatalf("Default() serves %s from %s, want 127.0.0.1:6380 from ./var", c.Server.Addr, c.Server.DataDir)
	}
	if c.RocksDB.BlockCacheSize != 256<<20 {
		t.Fatalf("Default() block cache = %v, want 256MB", c.RocksDB.BlockCacheSize)
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	c, err := Load(nil)
	if err != nil {
		t.Fatalf("Load(empty) = %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load(empty) = %+v, want Default() %+v", c, Default())
	}
}

func TestShippedFileIsDefault(t *testing.T) {
	data, err := os.ReadFile(shippedFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(data)
	if err != nil {
		t.Fatalf("Load(%s) = %v", shippedFile, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("%s does not validate: %v", shippedFile, err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("%s differs from Default():\n file:    %+v\n default: %+v", shippedFile, c, Default())
	}
}

// TestShippedFileDocumentsEveryKey keeps etc/strata.toml complete: a key added to Config
// must be added to the file too, with its default.
func TestShippedFileDocumentsEveryKey(t *testing.T) {
	var c Config
	md, err := toml.DecodeFile(shippedFile, &c)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range configKeys(reflect.TypeOf(c), nil) {
		if !md.IsDefined(key...) {
			t.Errorf("%s does not document key %s", shippedFile, strings.Join(key, "."))
		}
	}
}

// configKeys lists the TOML key paths of every leaf field of a config struct.
func configKeys(typ reflect.Type, prefix []string) [][]string {
	var keys [][]string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := append(append([]string(nil), prefix...), name)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			keys = append(keys, configKeys(f.Type, path)...)
			continue
		}
		keys = append(keys, path)
	}
	return keys
}

func TestLoadOverridesDefaults(t *testing.T) {
	c, err := Load([]byte(`
[server]
addr = "0.0.0.0:7000"
timeout = "90s"

[rocksdb]
block_cache_size = "1GB"
compression = "zstd"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server.Addr = "0.0.0.0:7000"
	want.Server.Timeout = Duration(90 * time.Second)
	want.RocksDB.BlockCacheSize = 1 << 30
	want.RocksDB.Compression = "zstd"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load = %+v, want %+v", c, want)
	}
}

// TestBadFile checks that every kind of mistake in a file is an error naming the key.
func TestBadFile(t *testing.T) {
	for _, tc := range []struct {
		name, file, key string
	}{
		{"unknown key", "[server]\nport = 6379\n", "server.port"},
		{"unknown section", "[cluster]\nenabled = true\n", "cluster"},
		{"unknown rocksdb key", "[rocksdb]\nblock_size = \"4KB\"\n", "rocksdb.block_size"},
		{"bad compression", "[rocksdb]\ncompression = \"foo\"\n", "rocksdb.compression"},
		{"bad size", "[rocksdb]\nblock_cache_size = \"lots\"\n", "rocksdb.block_cache_size"},
		{"small size", "[rocksdb]\nwrite_buffer_size = \"4KB\"\n", "rocksdb.write_buffer_size"},
		{"bad duration", "[server]\ntimeout = \"soon\"\n", "server.timeout"},
		{"wrong type", "[server]\nmaxclients = \"many\"\n", "server.maxclients"},
		{"bad addr", "[server]\naddr = \"6380\"\n", "server.addr"},
		{"bad log level", "[server]\nlog_level = \"loud\"\n", "server.log_level"},
		{"empty data dir", "[server]\ndata_dir = \"\"\n", "server.data_dir"},
		{"one write buffer", "[rocksdb]\nmax_write_buffers = 1\n", "rocksdb.max_write_buffers"},
		{"zero open files", "[rocksdb]\nmax_open_files = 0\n", "rocksdb.max_open_files"},
		{"bad repl compression", "[replication]\nrepl_compression = \"lz4\"\n", "replication.repl_compression"},
		{"tls cert without key", "[server]\ntls_cert_file = \"a.pem\"\n", "server.tls_key_file"},
		{"tls key without cert", "[server]\ntls_key_file = \"k.pem\"\n", "server.tls_cert_file"},
		{"tls_replication not bool", "[replication]\ntls_replication = \"yes\"\n", "replication.tls_replication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load([]byte(tc.file))
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatalf("file %q loaded and validated, want an error naming %s", tc.file, tc.key)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q does not name the key %s", err, tc.key)
			}
		})
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Load([]byte("[server\naddr = 1\n"))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load(broken TOML) = %v, want ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "line 1") && !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %q does not name the line", err)
	}
}

func TestValidateNamesKey(t *testing.T) {
	for _, tc := range []struct {
		key    string
		mutate func(*Config)
	}{
		{"server.addr", func(c *Config) { c.Server.Addr = "localhost" }},
		{"server.data_dir", func(c *Config) { c.Server.DataDir = "" }},
		{"server.maxclients", func(c *Config) { c.Server.MaxClients = 0 }},
		{"server.proto_max_bulk_len", func(c *Config) { c.Server.ProtoMaxBulkLen = 1 << 10 }},
		{"server.timeout", func(c *Config) { c.Server.Timeout = Duration(-time.Second) }},
		{"server.log_level", func(c *Config) { c.Server.LogLevel = "trace" }},
		{"server.slowlog_max_len", func(c *Config) { c.Server.SlowlogMaxLen = -1 }},
		{"server.threads", func(c *Config) { c.Server.Threads = -1 }},
		{"server.threads", func(c *Config) { c.Server.Threads = 5000 }},
		{"rocksdb.block_cache_size", func(c *Config) { c.RocksDB.BlockCacheSize = 0 }},
		{"rocksdb.write_buffer_size", func(c *Config) { c.RocksDB.WriteBufferSize = 1 }},
		{"rocksdb.max_write_buffers", func(c *Config) { c.RocksDB.MaxWriteBuffers = 1 }},
		{"rocksdb.compression", func(c *Config) { c.RocksDB.Compression = "gzip" }},
		{"rocksdb.bloom_bits_per_key", func(c *Config) { c.RocksDB.BloomBitsPerKey = 33 }},
		{"rocksdb.max_open_files", func(c *Config) { c.RocksDB.MaxOpenFiles = -2 }},
		{"rocksdb.key_cache_size", func(c *Config) { c.RocksDB.KeyCacheSize = 1 << 20 }},
		{"rocksdb.rank_cache_size", func(c *Config) { c.RocksDB.RankCacheSize = -1 }},
		{"rocksdb.key_filter_size", func(c *Config) { c.RocksDB.KeyFilterSize = -1 }},
		{"server.latency_monitor_threshold", func(c *Config) { c.Server.LatencyMonitorThreshold = -1 }},
		{"replication.repl_compression", func(c *Config) { c.Replication.ReplCompression = "" }},
		{"server.tls_key_file", func(c *Config) { c.Server.TLSCertFile = "cert.pem" }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("Validate() = %q, want it to name %s", err, tc.key)
			}
		})
	}
	// Edge values that are allowed.
	c := Default()
	c.Server.RequirePass = "secret"
	c.Server.Timeout = 0
	c.RocksDB.BloomBitsPerKey = 0
	c.RocksDB.MaxOpenFiles = -1
	c.RocksDB.Compression = "none"
	c.Replication.ReplCompression = "snappy"
	c.Server.TLSCertFile, c.Server.TLSKeyFile = "cert.pem", "key.pem"
	c.Replication.TLSReplication = true
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(edge values) = %v, want nil", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
	}{
		{"0", 0},
		{"10", 10},
		{"10B", 10},
		{"512kb", 512 << 10},
		{"512KB", 512 << 10},
		{"64K", 64 << 10},
		{"256MB", 256 << 20},
		{"256mb", 256 << 20},
		{"256M", 256 << 20},
		{" 1 GB ", 1 << 30},
		{"1G", 1 << 30},
		{"2TB", 2 << 40},
		{"3T", 3 << 40},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "lots", "MB", "-1", "-1MB", "1.5GB", "1PB", "1 G B", "99999999999TB", "0x10"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		} else if !strings.Contains(err.Error(), "is not a size") {
			t.Errorf("ParseSize(%q) error %q does not explain the format", in, err)
		}
	}
}

func TestSizeString(t *testing.T) {
	for _, tc := range []struct {
		in   Size
		want string
	}{
		{0, "0"},
		{1, "1"},
		{1000, "1000"},
		{1024, "1KB"},
		{1536, "1536"},
		{512 << 10, "512KB"},
		{1 << 20, "1MB"},
		{256 << 20, "256MB"},
		{1<<20 + 1<<10, "1025KB"},
		{1 << 30, "1GB"},
		{1 << 40, "1024GB"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
		}
		text, err := tc.in.MarshalText()
		if err != nil || string(text) != tc.want {
			t.Errorf("Size(%d).MarshalText() = %q, %v; want %q", int64(tc.in), text, err, tc.want)
		}
		back, err := ParseSize(tc.in.String())
		if err != nil || back != tc.in {
			t.Errorf("ParseSize(%q) = %d, %v; want the round trip to give %d", tc.in.String(), back, err, int64(tc.in))
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"0s", 0},
		{"0", 0},
		{"500ms", 500 * time.Millisecond},
		{"10s", 10 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"72h", 72 * time.Hour},
		{"250us", 250 * time.Microsecond},
	} {
		var d Duration
		if err := d.UnmarshalText([]byte(tc.in)); err != nil || d.D() != tc.want {
			t.Errorf("Duration(%q) = %v, %v; want %v", tc.in, d.D(), err, tc.want)
		}
		text, err := d.MarshalText()
		if err != nil || string(text) != tc.want.String() {
			t.Errorf("Duration(%v).MarshalText() = %q, %v; want %q", tc.want, text, err, tc.want.String())
		}
	}
	for _, in := range []string{"", "10", "soon", "1 day", "5 s"} {
		var d Duration
		err := d.UnmarshalText([]byte(in))
		if err == nil {
			t.Errorf("Duration(%q) = %v, want an error", in, d.D())
		} else if !strings.Contains(err.Error(), "is not a duration") {
			t.Errorf("Duration(%q) error %q does not explain the format", in, err)
		}
	}
}

// TestEncodeRoundTrip checks that what CONFIG REWRITE writes loads back unchanged.
func TestEncodeRoundTrip(t *testing.T) {
	c := Default()
	c.Server.RequirePass = "secret"
	c.Server.Timeout = Duration(5 * time.Minute)
	c.RocksDB.WriteBufferSize = 3 << 20
	c.RocksDB.MaxOpenFiles = -1
	data, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(data)
	if err != nil {
		t.Fatalf("Load(Encode()) = %v\n%s", err, data)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip changed the config:\n got  %+v\n want %+v\n%s", back, c, data)
	}
}
