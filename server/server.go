// Package server is Strata's RESP front: connections, the command table, the
// dispatcher, and the handlers for every command group.
package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/tidwall/redcon"

	"github.com/strata-kv/strata/binlog"
	"github.com/strata-kv/strata/config"
	"github.com/strata-kv/strata/repl"
	"github.com/strata-kv/strata/store"
)

// Version is the Strata version reported by INFO and `strata version`.
var Version = "0.1.0"

// RedisVersion is the Redis version Strata answers as, so clients enable Redis 7 features.
const RedisVersion = "7.0.15"

// Server serves RESP clients over one store.
type Server struct {
	log    zerolog.Logger
	store  *store.Store
	binlog *binlog.Log
	table  *Table

	cfgMu   sync.RWMutex
	cfg     config.Config
	cfgFile string // file CONFIG REWRITE writes, "" when started without one

	rc *redcon.Server
	ln net.Listener

	runID     string
	startTime time.Time

	clientsMu sync.Mutex
	clients   map[int64]*Client
	nextID    atomic.Int64

	watches  watchRegistry
	blockers blockRegistry
	pause    pauser
	pubsub   hub
	monitors monitorRegistry
	latency  *latencyMonitor
	slowlog  slowlog
	master   *repl.Master
	repl     replState
	snap     snapshotState
	// syncAlways: replies to writes wait for their binlog records to be fsynced.
	syncAlways bool
	cursors    cursorTable

	stats serverStats

	closeOnce sync.Once
	done      chan struct{}
	bg        sync.WaitGroup
	// running is held shared by every command in flight; Close takes it exclusively
	// before closing the store, so no command reads a closed RocksDB.
	running sync.RWMutex
	closing atomic.Bool
}

type serverStats struct {
	connectionsReceived atomic.Int64
	commandsProcessed   atomic.Int64
	rejectedConnections atomic.Int64
	netInputBytes       atomic.Int64
	netOutputBytes      atomic.Int64
	lastSave            atomic.Int64
}

// New opens the store in cfg's data directory and prepares a server; Serve starts it.
func New(cfg config.Config, cfgFile string, log zerolog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	latency := &latencyMonitor{}
	latency.setThreshold(cfg.Server.LatencyMonitorThreshold.D())
	onFsync := func(d time.Duration) { latency.maybeAdd("binlog-fsync", d) }
	bl, err := openBinlog(cfg, log, o.binlogFile, onFsync)
	if err != nil {
		return nil, err
	}
	so := store.DefaultOptions(filepath.Join(cfg.Server.DataDir, "db"))
	so.Log = bl
	so.BlockCacheSize = int64(cfg.RocksDB.BlockCacheSize)
	so.WriteBufferSize = int64(cfg.RocksDB.WriteBufferSize)
	so.MaxWriteBuffers = cfg.RocksDB.MaxWriteBuffers
	so.Compression = cfg.RocksDB.Compression
	so.BloomBitsPerKey = cfg.RocksDB.BloomBitsPerKey
	so.MaxOpenFiles = cfg.RocksDB.MaxOpenFiles
	so.KeyCacheSize = int64(cfg.RocksDB.KeyCacheSize)
	so.RankCacheSize = int64(cfg.RocksDB.RankCacheSize)
	so.KeyFilterSize = int64(cfg.RocksDB.KeyFilterSize)
	st, err := store.Open(so)
	if err != nil {
		bl.Close()
		return nil, err
	}
	s := &Server{
		log:       log,
		store:     st,
		binlog:    bl,
		cfg:       cfg,
		cfgFile:   cfgFile,
		runID:     newRunID(),
		startTime: time.Now(),
		clients:   map[int64]*Client{},
		done:      make(chan struct{}),
		latency:   latency,
	}
	s.stats.lastSave.Store(time.Now().Unix())
	s.snap.lastOK = true
	s.syncAlways = cfg.Binlog.Sync == "always"
	s.repl.semiSync = cfg.Replication.Mode == "semi-sync"
	s.bg.Add(2)
	go s.purgeLoop()
	go s.idleLoop()
	s.table = NewTable(s.commandGroups()...)
	s.newMaster()
	s.watches.init()
	s.blockers.init()
	s.pubsub.init()
	s.slowlog.init()
	st.OnCommit(s.onCommit)
	s.pause.onChange = s.pausedExpiry
	return s, nil
}

func newRunID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Config returns a copy of the current configuration.
func (s *Server) Config() config.Config {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.cfg
}

// Store exposes the store, for tools and tests in this module.
func (s *Server) Store() *store.Store { return s.store }

// Listen binds the configured address. Addr is valid after it returns.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.Config().Server.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.Config().Server.Addr, err)
	}
	// TLS inside the limit checks, so they see decrypted bytes.
	if ln, err = tlsListener(ln, s.Config()); err != nil {
		return err
	}
	s.ln = &limitListener{Listener: ln, srv: s}
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve answers clients until Close. It returns nil after a clean shutdown.
func (s *Server) Serve() error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.rc = redcon.NewServer("", s.handle, s.accept, s.closed)
	if addr := s.Config().Replication.ReplicaOf; addr != "" {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		if err := s.follow(host, p); err != nil {
			return fmt.Errorf("server: follow %s: %w", addr, err)
		}
	}
	s.log.Info().Str("addr", s.Addr().String()).Str("data_dir", s.store.Dir()).Msg("serving")
	err := s.rc.Serve(s.ln)
	select {
	case <-s.done:
		return nil
	default:
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Close stops accepting clients, disconnects everyone and closes the store.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		close(s.done)
		if s.rc != nil {
			s.rc.Close()
		} else if s.ln != nil {
			s.ln.Close()
		}
		s.clientsMu.Lock()
		for _, c := range s.clients {
			c.kill()
		}
		s.clientsMu.Unlock()
		s.blockers.closeAll()
		s.stopReplication()
		s.bg.Wait()
		s.running.Lock() // wait for commands in flight; later ones see closing
		err = s.store.Close()
		if e := s.binlog.Close(); e != nil && err == nil {
			err = e
		}
	})
	return err
}

// Option adjusts how New builds a server.
type Option func(*options)

type options struct {
	binlogFile func(path string, flag int, perm os.FileMode) (binlog.File, error)
}

// WithBinlogFiles opens binlog segments through open, so a test can inject write and
// fsync failures.
func WithBinlogFiles(open func(path string, flag int, perm os.FileMode) (binlog.File, error)) Option {
	return func(o *options) { o.binlogFile = open }
}

func openBinlog(cfg config.Config, log zerolog.Logger, openFile func(string, int, os.FileMode) (binlog.File, error),
	onFsync func(time.Duration)) (*binlog.Log, error) {
	policy, err := binlog.ParseSyncPolicy(cfg.Binlog.Sync)
	if err != nil {
		return nil, err
	}
	return binlog.Open(binlog.Options{
		Dir:          filepath.Join(cfg.Server.DataDir, "binlog"),
		MaxFileSize:  int64(cfg.Binlog.MaxFileSize),
		Sync:         policy,
		Retention:    cfg.Binlog.Retention.D(),
		MaxTotalSize: int64(cfg.Binlog.MaxTotalSize),
		Warn:         func(msg string) { log.Warn().Msg(msg) },
		OpenFile:     openFile,
		OnFsync:      onFsync,
	})
}

func (s *Server) purgeLoop() {
	defer s.bg.Done()
	t := time.NewTicker(s.Config().Binlog.PurgeInterval.D())
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			if err := s.purgeBinlog(time.Now()); err != nil {
				s.log.Warn().Err(err).Msg("binlog purge")
			}
		}
	}
}

// idleLoop closes clients idle for longer than server.timeout (0: never). Subscribers,
// blocked clients and replication streams are exempt, as in Redis.
func (s *Server) idleLoop() {
	defer s.bg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		timeout := s.Config().Server.Timeout.D()
		if timeout <= 0 {
			continue
		}
		cutoff := time.Now().Add(-timeout).UnixMilli()
		for _, c := range s.clientList() {
			if c.lastActive.Load() > cutoff || c.noIdle.Load() > 0 {
				continue
			}
			if ch, pat := s.pubsub.counts(c); ch+pat > 0 {
				continue
			}
			c.kill()
		}
	}
}

// purgeBinlog removes segments no longer needed: only records already durable in
// RocksDB qualify, so the memtables are flushed first when anything could go.
func (s *Server) purgeBinlog(now time.Time) error {
	if s.binlog.Stats().Files < 2 {
		return nil
	}
	applied := s.store.AppliedID()
	if err := s.store.Flush(); err != nil {
		return err
	}
	n, err := s.binlog.Purge(applied, s.followersNeedFrom(), now)
	if n > 0 {
		s.log.Info().Int("segments", n).Uint64("first_id", s.binlog.FirstID()).Msg("binlog purged")
	}
	return err
}

// Done is closed when the server shuts down (SHUTDOWN or Close).
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) accept(conn redcon.Conn) bool {
	s.stats.connectionsReceived.Add(1)
	c := newClient(s, conn)
	s.clientsMu.Lock()
	n := len(s.clients)
	if n >= s.Config().Server.MaxClients {
		s.clientsMu.Unlock()
		s.stats.rejectedConnections.Add(1)
		_, _ = conn.NetConn().Write([]byte("-ERR max number of clients reached\r\n"))
		return false
	}
	s.clients[c.ID] = c
	s.clientsMu.Unlock()
	conn.SetContext(c)
	return true
}

func (s *Server) closed(conn redcon.Conn, err error) {
	c, ok := conn.Context().(*Client)
	if !ok || c == nil {
		return
	}
	s.clientsMu.Lock()
	delete(s.clients, c.ID)
	s.clientsMu.Unlock()
	c.cleanup()
}

func (s *Server) handle(conn redcon.Conn, cmd redcon.Command) {
	c, ok := conn.Context().(*Client)
	if !ok {
		conn.Close()
		return
	}
	s.running.RLock()
	defer s.running.RUnlock()
	if s.closing.Load() {
		conn.Close()
		return
	}
	defer func() {
		// A bug in one command costs its connection, not the server: nothing the
		// command wrote is committed, its locks are released, the client is told.
		if r := recover(); r != nil {
			s.log.Error().Interface("panic", r).Str("cmd", string(cmd.Args[0])).Bytes("stack", debug.Stack()).Msg("command panicked")
			c.abortBatch()
			c.W.Truncate(0)
			c.W.Error("ERR internal error")
			c.flush()
			conn.Close()
		}
	}()
	now := time.Now()
	c.lastActive.Store(now.UnixMilli())
	c.rawQueued = false // redcon flushed its buffer after the last call
	if rest := conn.ReadPipeline(); len(rest) > 0 {
		cmds := make([]redcon.Command, 0, len(rest)+1)
		c.executePipeline(append(append(cmds, cmd), rest...), now)
	} else {
		c.execute(cmd.Args, now)
	}
	c.flush()
}

// onCommit runs after every group write: wakes blocked clients and WATCHers.
func (s *Server) onCommit(keys []store.KeyRef) {
	s.watches.touch(keys)
	s.blockers.signal(keys)
}

// clientList returns a snapshot of connected clients.
func (s *Server) clientList() []*Client {
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	out := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	return out
}
