package server

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/strata-kv/strata/store"
)

// infoSection is one "# Name" block of INFO. Sections appear in this order whatever
// order they were asked in, as in Redis.
type infoSection struct {
	name  string // as INFO takes it, lower case
	title string // as the header spells it
	def   bool   // part of INFO / INFO default
	write func(s *Server, b *infoBuf)
}

var infoSections = []infoSection{
	{"server", "Server", true, infoServer},
	{"clients", "Clients", true, infoClients},
	{"memory", "Memory", true, infoMemory},
	{"persistence", "Persistence", true, infoPersistence},
	{"stats", "Stats", true, infoStats},
	{"replication", "Replication", true, infoReplication},
	{"cpu", "CPU", true, infoCPU},
	{"commandstats", "Commandstats", false, infoCommandStats},
	{"cluster", "Cluster", true, func(_ *Server, b *infoBuf) { b.int("cluster_enabled", 0) }},
	{"keyspace", "Keyspace", true, infoKeyspace},
	{"rocksdb", "RocksDB", true, infoRocksDB},
}

// infoBuf accumulates "field:value" lines with CRLF ends.
type infoBuf struct{ strings.Builder }

func (b *infoBuf) str(k, v string) {
	b.WriteString(k)
	b.WriteByte(':')
	b.WriteString(v)
	b.WriteString("\r\n")
}

func (b *infoBuf) int(k string, v int64) { b.str(k, strconv.FormatInt(v, 10)) }

func cmdInfo(c *Ctx) {
	want := map[string]bool{}
	all := false
	if len(c.Args) == 1 {
		want["default"] = true
	}
	for _, a := range c.Args[1:] {
		name := strings.ToLower(string(a))
		if name == "all" || name == "everything" {
			all = true
		}
		want[name] = true
	}
	c.W.Verbatim(c.srv.info(want, all))
}

// info renders the sections named in want ("default" for the default set).
func (s *Server) info(want map[string]bool, all bool) string {
	var b infoBuf
	for _, sec := range infoSections {
		if !all && !want[sec.name] && !(sec.def && want["default"]) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + sec.title + "\r\n")
		sec.write(s, &b)
	}
	return b.String()
}

func infoServer(s *Server, b *infoBuf) {
	uptime := int64(time.Since(s.startTime).Seconds())
	b.str("redis_version", RedisVersion)
	b.str("strata_version", Version)
	b.str("redis_git_sha1", "00000000")
	b.str("redis_git_dirty", "0")
	b.str("redis_mode", "standalone")
	b.str("os", osName())
	b.int("arch_bits", strconv.IntSize)
	b.str("multiplexing_api", "epoll")
	b.str("go_version", runtime.Version())
	b.int("process_id", int64(os.Getpid()))
	b.str("process_supervised", "no")
	b.str("run_id", s.runID)
	b.int("tcp_port", int64(s.port()))
	b.int("server_time_usec", time.Now().UnixMicro())
	b.int("uptime_in_seconds", uptime)
	b.int("uptime_in_days", uptime/86400)
	b.int("hz", 10)
	b.int("configured_hz", 10)
	exe, _ := os.Executable()
	b.str("executable", exe)
	cf := s.cfgFile
	if cf != "" {
		if abs, err := filepath.Abs(cf); err == nil {
			cf = abs
		}
	}
	b.str("config_file", cf)
	b.int("io_threads_active", 0)
}

// osName spells the OS like Redis: "Linux 6.1.0-18-amd64 x86_64".
func osName() string {
	name := runtime.GOOS
	if name != "" {
		name = strings.ToUpper(name[:1]) + name[1:]
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		name += " " + strings.TrimSpace(string(rel))
	}
	arch := runtime.GOARCH
	switch arch {
	case "amd64":
		arch = "x86_64"
	case "arm64":
		arch = "aarch64"
	}
	return name + " " + arch
}

// port is the TCP port the server listens on (the real one when configured as :0).
func (s *Server) port() int {
	if s.ln != nil {
		if a, ok := s.ln.Addr().(*net.TCPAddr); ok {
			return a.Port
		}
	}
	_, p, _ := net.SplitHostPort(s.Config().Server.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

func infoClients(s *Server, b *infoBuf) {
	s.clientsMu.Lock()
	n := len(s.clients)
	s.clientsMu.Unlock()
	b.int("connected_clients", int64(n))
	b.int("cluster_connections", 0)
	b.int("maxclients", int64(s.Config().Server.MaxClients))
	b.int("blocked_clients", s.blockers.n.Load())
	b.int("tracking_clients", 0)
	b.int("clients_in_timeout_table", 0)
}

// infoMemory reports the Go heap, what RocksDB holds (block cache, memtables, table
// readers) and the key cache as used_memory: together they are what the server
// allocated.
func infoMemory(s *Server, b *infoBuf) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rocks := s.rocksMemory()
	keyCache := int64(s.store.KeyCacheStats().Bytes) // off the Go heap
	used := int64(ms.HeapAlloc) + rocks + keyCache
	rss := rssBytes()
	if rss == 0 {
		rss = int64(ms.Sys)
	}
	b.int("used_memory", used)
	b.str("used_memory_human", humanBytes(used))
	b.int("used_memory_rss", rss)
	b.str("used_memory_rss_human", humanBytes(rss))
	b.int("used_memory_go_heap", int64(ms.HeapAlloc))
	b.int("used_memory_go_sys", int64(ms.Sys))
	b.int("used_memory_rocksdb", rocks)
	b.str("used_memory_rocksdb_human", humanBytes(rocks))
	b.int("used_memory_key_cache", keyCache)
	b.int("maxmemory", 0)
	b.str("maxmemory_human", "0B")
	b.str("maxmemory_policy", "noeviction")
	if used > 0 {
		b.str("mem_fragmentation_ratio", strconv.FormatFloat(float64(rss)/float64(used), 'f', 2, 64))
	}
	b.str("mem_allocator", "go+rocksdb")
}

// rocksMemory sums RocksDB's memory properties.
func (s *Server) rocksMemory() int64 {
	if s.storeClosed() {
		return 0
	}
	var n int64
	for _, p := range []string{"rocksdb.block-cache-usage", "rocksdb.cur-size-all-mem-tables",
		"rocksdb.estimate-table-readers-mem"} {
		v, _ := strconv.ParseInt(s.store.Property(p), 10, 64)
		n += v
	}
	return n
}

// storeClosed reports whether the server is shutting down; RocksDB properties must not
// be read after the store closes.
func (s *Server) storeClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// rssBytes reads the resident set size from /proc/self/statm (0 when unavailable).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// humanBytes formats like Redis's bytesToHuman: 919.16K, 6.81M, 200B.
func humanBytes(n int64) string {
	f := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + "B"
	case n < 1<<20:
		return fmt.Sprintf("%.2fK", f/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.2fM", f/(1<<20))
	case n < 1<<40:
		return fmt.Sprintf("%.2fG", f/(1<<30))
	case n < 1<<50:
		return fmt.Sprintf("%.2fT", f/(1<<40))
	default:
		return fmt.Sprintf("%.2fP", f/(1<<50))
	}
}

// infoPersistence: every committed write is durable in RocksDB, so there is never a
// pending save.
func infoPersistence(s *Server, b *infoBuf) {
	b.int("loading", 0)
	b.int("async_loading", 0)
	si := s.snapshotInfo()
	inProgress, status := int64(0), "ok"
	if si.InProgress {
		inProgress = 1
	}
	if !si.LastOK {
		status = "err"
	}
	b.int("rdb_changes_since_last_save", si.ChangesSinceLast)
	b.int("rdb_bgsave_in_progress", inProgress)
	b.int("rdb_last_save_time", si.LastSaveUnixTS)
	b.str("rdb_last_bgsave_status", status)
	b.int("rdb_last_bgsave_time_sec", si.LastDurSec)
	b.int("rdb_current_bgsave_time_sec", si.CurrentDurSec)
	b.int("aof_enabled", 0)
	b.int("aof_rewrite_in_progress", 0)
	b.int("aof_rewrite_scheduled", 0)
	b.str("aof_last_bgrewrite_status", "ok")
	status = "ok"
	werr := s.store.WriteError()
	if werr != nil {
		status = "err"
	}
	b.str("aof_last_write_status", status)
	infoBinlog(s, b)
	if werr != nil {
		b.int("writes_disabled", 1)
		b.str("writes_disabled_reason", strings.NewReplacer("\r", " ", "\n", " ").Replace(werr.Error()))
	} else {
		b.int("writes_disabled", 0)
	}
}

func infoStats(s *Server, b *infoBuf) {
	a := s.admin()
	st := s.store.Stats()
	kbps := func(v int64) string { return strconv.FormatFloat(float64(v)/1024, 'f', 2, 64) }
	b.int("total_connections_received", s.stats.connectionsReceived.Load())
	b.int("total_commands_processed", s.stats.commandsProcessed.Load())
	b.int("instantaneous_ops_per_sec", a.opsRate.Load())
	b.int("total_net_input_bytes", s.stats.netInputBytes.Load())
	b.int("total_net_output_bytes", s.stats.netOutputBytes.Load())
	b.str("instantaneous_input_kbps", kbps(a.inRate.Load()))
	b.str("instantaneous_output_kbps", kbps(a.outRate.Load()))
	b.int("rejected_connections", s.stats.rejectedConnections.Load())
	b.int("sync_full", s.master.FullSyncs.Load())
	b.int("sync_partial_ok", s.master.PartialOK.Load())
	b.int("sync_partial_err", s.master.PartialErr.Load())
	b.int("expired_keys", st.ExpiredKeys.Load())
	b.int("evicted_keys", 0)
	b.int("keyspace_hits", st.KeyspaceHits.Load())
	b.int("keyspace_misses", st.KeyspaceMiss.Load())
	b.int("total_commits", st.Commits.Load())
	b.int("total_write_groups", st.Groups.Load())
}

// replID is the replication ID INFO reports: stable for the life of the process and
// distinct from run_id, as in Redis.
func infoCPU(s *Server, b *infoBuf) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return
	}
	sec := func(tv syscall.Timeval) string {
		return strconv.FormatFloat(float64(tv.Sec)+float64(tv.Usec)/1e6, 'f', 6, 64)
	}
	b.str("used_cpu_sys", sec(ru.Stime))
	b.str("used_cpu_user", sec(ru.Utime))
	b.str("used_cpu_sys_children", "0.000000")
	b.str("used_cpu_user_children", "0.000000")
}

// infoCommandStats lists every command called since start or CONFIG RESETSTAT; a
// container is reported per subcommand ("cmdstat_config|get"), as in Redis.
func infoCommandStats(s *Server, b *infoBuf) {
	line := func(cmd *Command) {
		calls := cmd.calls.Load()
		if calls == 0 {
			return
		}
		usec := cmd.usec.Load()
		b.str("cmdstat_"+cmd.Name, "calls="+strconv.FormatInt(calls, 10)+
			",usec="+strconv.FormatInt(usec, 10)+
			",usec_per_call="+strconv.FormatFloat(float64(usec)/float64(calls), 'f', 2, 64))
	}
	for _, cmd := range s.table.All() {
		if len(cmd.Subcommands) == 0 {
			line(cmd)
			continue
		}
		for _, sub := range cmd.Subcommands {
			line(sub)
		}
	}
}

func infoKeyspace(s *Server, b *infoBuf) {
	for db := 0; db < store.Databases; db++ {
		if n := s.store.DBSize(db); n > 0 {
			b.str("db"+strconv.Itoa(db), "keys="+strconv.FormatInt(n, 10)+",expires=0,avg_ttl=0")
		}
	}
}

// infoBinlog describes the write-ahead log every change goes through.
func infoBinlog(s *Server, b *infoBuf) {
	if s.binlog == nil || s.storeClosed() {
		return
	}
	st := s.binlog.Stats()
	b.str("binlog_sync", st.Sync.String())
	b.int("binlog_first_id", int64(st.FirstID))
	b.int("binlog_last_id", int64(st.LastID))
	b.int("binlog_applied_id", int64(s.store.AppliedID()))
	b.int("binlog_files", int64(st.Files))
	b.int("binlog_total_size", st.TotalSize)
	b.str("binlog_total_size_human", humanBytes(st.TotalSize))
	var last int64
	if !st.LastFsync.IsZero() {
		last = st.LastFsync.Unix()
	}
	b.int("binlog_last_fsync_time", last)
	if st.Err != nil {
		b.str("binlog_status", "err")
		b.str("binlog_error", strings.NewReplacer("\r", " ", "\n", " ").Replace(st.Err.Error()))
	} else {
		b.str("binlog_status", "ok")
	}
}

// infoRocksDB reports the RocksDB properties that explain memory and disk use.
func infoRocksDB(s *Server, b *infoBuf) {
	b.int("format_version", store.FormatVersion)
	if s.storeClosed() {
		return
	}
	for _, p := range []string{
		"block-cache-usage", "block-cache-capacity", "block-cache-pinned-usage",
		"estimate-num-keys", "total-sst-files-size", "live-sst-files-size",
		"cur-size-all-mem-tables", "size-all-mem-tables", "estimate-table-readers-mem",
		"num-immutable-mem-table", "mem-table-flush-pending", "num-running-flushes",
		"compaction-pending", "num-running-compactions", "estimate-pending-compaction-bytes",
		"background-errors", "num-live-versions", "num-snapshots",
	} {
		v := s.store.Property("rocksdb." + p)
		if v == "" {
			continue
		}
		b.str(strings.ReplaceAll(p, "-", "_"), v)
	}
	kc := s.store.KeyCacheStats()
	b.int("key_cache_capacity", int64(kc.Capacity))
	b.int("key_cache_bytes", int64(kc.Bytes))
	b.int("key_cache_entries", int64(kc.Entries))
	b.int("key_cache_lookups", int64(kc.Lookups))
	b.int("key_cache_misses", int64(kc.Misses))
	levels, bytes := s.store.RankCacheStats()
	b.int("rank_cache_levels", int64(levels))
	b.int("rank_cache_bytes", int64(bytes))
	kf := s.store.KeyFilterStats()
	b.int("key_filter_bytes", kf.Bytes)
	b.int("key_filter_ready", int01(kf.Ready))
	b.str("key_filter_fill", strconv.FormatFloat(kf.Fill, 'f', 4, 64))
	b.int("key_filter_skips", int64(kf.Skips))
	b.int("key_filter_builds", int64(kf.Builds))
	b.int("key_filter_builds_skipped", int64(kf.Skipped))
}
