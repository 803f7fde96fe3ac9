package server

import (
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"

	"github.com/strata-kv/strata/binlog"
	"github.com/strata-kv/strata/repl"
)

func replicationCommands() []*Command {
	a := FlagAdmin | FlagNoScript | FlagStale
	return []*Command{
		{Name: "replicaof", Arity: 3, Flags: a, Handler: cmdReplicaOf, Group: "server", Summary: "Configures a server as replica of another, or promotes it to a master.", Since: "5.0.0"},
		{Name: "slaveof", Arity: 3, Flags: a, Handler: cmdReplicaOf, Group: "server", Summary: "Sets a Redis server as a replica of another, or promotes it to being a master.", Since: "1.0.0"},
		{Name: "replconf", Arity: -1, Flags: a | FlagNoMulti, Handler: cmdReplConf, Group: "server", Summary: "An internal command for configuring the replication stream.", Since: "3.0.0"},
		{Name: "psync", Arity: -3, Flags: a | FlagNoMulti, Handler: cmdPSync, Group: "server", Summary: "An internal command used in replication.", Since: "2.8.0"},
		{Name: "sync", Arity: 1, Flags: a | FlagNoMulti, Handler: cmdPSync, Group: "server", Summary: "An internal command used in replication.", Since: "1.0.0"},
		{Name: "wait", Arity: 3, Flags: FlagNoScript, Handler: cmdWait, Group: "generic", Summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", Since: "3.0.0"},
		{Name: "role", Arity: 1, Flags: FlagFast | FlagStale | FlagNoScript, Handler: cmdRole, Group: "server", Summary: "Returns the replication role.", Since: "2.8.12"},
	}
}

// replState is the server's replication role.
type replState struct {
	mu       sync.Mutex // serialises role changes
	follower atomic.Pointer[repl.Follower]
	host     string
	port     int

	semiSync     bool // [replication] mode = "semi-sync"; fixed at start
	degraded     atomic.Bool
	semiWaits    atomic.Int64
	semiTimeouts atomic.Int64

	// What would-be followers said with REPLCONF before PSYNC, by connection.
	helloMu sync.Mutex
	hello   map[*Client]*replHello
}

// replHello is what a connection told with REPLCONF that PSYNC hands to the master.
type replHello struct {
	capa     []string
	identity string
	have     map[string]repl.FileSig
	done     chan struct{} // closed once PSYNC took it
}

// maxHaveFiles bounds the files one follower may announce.
const maxHaveFiles = 1 << 18

// helloFor returns c's handshake record, creating it on first use. It is dropped when
// the connection closes or PSYNC takes it.
func (s *Server) helloFor(c *Client) *replHello {
	s.repl.helloMu.Lock()
	defer s.repl.helloMu.Unlock()
	if h := s.repl.hello[c]; h != nil {
		return h
	}
	if s.repl.hello == nil {
		s.repl.hello = map[*Client]*replHello{}
	}
	h := &replHello{done: make(chan struct{})}
	s.repl.hello[c] = h
	go func() {
		select {
		case <-c.Closing():
			s.takeHello(c)
		case <-h.done:
		}
	}()
	return h
}

// takeHello removes and returns c's handshake record (nil when there is none).
func (s *Server) takeHello(c *Client) *replHello {
	s.repl.helloMu.Lock()
	defer s.repl.helloMu.Unlock()
	h := s.repl.hello[c]
	if h != nil {
		delete(s.repl.hello, c)
		close(h.done)
	}
	return h
}

// readOnlyFor reports whether writes from c are refused: a follower is read-only.
func (s *Server) readOnlyFor(c *Client) bool { return s.repl.follower.Load() != nil }

// role is the replication role as HELLO, ROLE and INFO report it.
func (s *Server) role() string {
	if s.repl.follower.Load() != nil {
		return "slave"
	}
	return "master"
}

func (s *Server) followersNeedFrom() uint64 {
	if s.master == nil {
		return ^uint64(0)
	}
	return s.master.NeedFrom()
}

func (s *Server) newMaster() {
	cfg := s.Config()
	s.master = repl.NewMaster(replSource{s}, repl.MasterOptions{
		CopyDir:      filepath.Join(cfg.Server.DataDir, "repl"),
		Timeout:      cfg.Replication.ReplTimeout.D(),
		MaxBandwidth: int64(cfg.Replication.ReplMaxBandwidth),
		Compression:  cfg.Replication.ReplCompression,
	}, s.log)
}

// follow makes this server a follower of host:port (stopping any previous link). It
// fails, changing nothing, when replication.tls_replication is set and the TLS files
// cannot be read.
func (s *Server) follow(host string, port int) error {
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	cfg := s.Config()
	var tc *tls.Config
	if cfg.Replication.TLSReplication {
		var err error
		if tc, err = repl.ClientTLS(cfg.Server.TLSCAFile, cfg.Server.TLSCertFile, cfg.Server.TLSKeyFile); err != nil {
			s.log.Error().Err(err).Msg("cannot follow over TLS")
			return err
		}
	}
	if old := s.repl.follower.Load(); old != nil {
		old.Stop()
	}
	listen := cfg.Replication.ReplicaAnnouncePort
	if listen == 0 {
		if ta, ok := s.Addr().(*net.TCPAddr); ok {
			listen = ta.Port
		}
	}
	s.store.SetActiveExpire(false)
	f := repl.NewFollower(repl.FollowerOptions{
		MasterAddr:    net.JoinHostPort(host, strconv.Itoa(port)),
		Password:      cfg.Replication.MasterAuth,
		ListeningPort: listen,
		AnnounceIP:    cfg.Replication.ReplicaAnnounceIP,
		CopyDir:       filepath.Join(cfg.Server.DataDir, "fullsync.tmp"),
		Timeout:       cfg.Replication.ReplTimeout.D(),
		TLS:           tc,
		NoCompression: cfg.Replication.ReplCompression == repl.CompressNone,
	}, replSink{s}, s.log)
	s.repl.host, s.repl.port = host, port
	s.repl.follower.Store(f)
	s.setReplicaOf(net.JoinHostPort(host, strconv.Itoa(port)))
	f.Start()
	s.log.Info().Str("master", f.MasterAddr()).Bool("tls", tc != nil).Msg("following")
	return nil
}

// unfollow promotes this follower to a master with a new history.
func (s *Server) unfollow() error {
	s.repl.mu.Lock()
	defer s.repl.mu.Unlock()
	f := s.repl.follower.Load()
	if f == nil {
		return nil
	}
	f.Stop()
	s.repl.follower.Store(nil)
	s.setReplicaOf("")
	if err := s.store.Promote(); err != nil {
		return err
	}
	s.store.SetActiveExpire(true)
	s.log.Info().Msg("promoted to master")
	return nil
}

func (s *Server) setReplicaOf(addr string) {
	s.cfgMu.Lock()
	s.cfg.Replication.ReplicaOf = addr
	s.cfgMu.Unlock()
}

func (s *Server) stopReplication() {
	if f := s.repl.follower.Load(); f != nil {
		f.Stop()
	}
	if s.master != nil {
		s.master.Close()
	}
}

func cmdReplicaOf(c *Ctx) {
	s := c.srv
	if argIs(c.Args[1], "no") && argIs(c.Args[2], "one") {
		if err := s.unfollow(); err != nil {
			c.Fail(err)
			return
		}
		c.W.OK()
		return
	}
	port, ok := parseInt(c.Args[2])
	if !ok || port < 0 || port > 65535 {
		c.Error("ERR Invalid master port")
		return
	}
	host := string(c.Args[1])
	if f := s.repl.follower.Load(); f != nil && s.repl.host == host && s.repl.port == int(port) {
		c.W.Simple("OK Already connected to specified master")
		return
	}
	if err := s.follow(host, int(port)); err != nil {
		c.Error("ERR " + err.Error())
		return
	}
	c.W.OK()
}

func cmdReplConf(c *Ctx) {
	args := c.Args[1:]
	if len(args)%2 != 0 {
		c.Error(errSyntax)
		return
	}
	for i := 0; i < len(args); i += 2 {
		switch {
		case argIs(args[i], "listening-port"):
			p, ok := parseInt(args[i+1])
			if !ok {
				c.Error(errNotInteger)
				return
			}
			c.replPort = int(p)
		case argIs(args[i], "ip-address"):
			c.replIP = string(args[i+1])
		case argIs(args[i], "capa"):
			h := c.srv.helloFor(c.Client)
			if len(h.capa) < 64 {
				h.capa = append(h.capa, strings.ToLower(string(args[i+1])))
			}
		case argIs(args[i], "have-identity"):
			c.srv.helloFor(c.Client).identity = string(args[i+1])
		case argIs(args[i], "have-files"):
			h := c.srv.helloFor(c.Client)
			if h.have == nil {
				h.have = map[string]repl.FileSig{}
			}
			if err := repl.ParseHaveFiles(h.have, string(args[i+1])); err != nil {
				c.Error("ERR Invalid have-files list")
				return
			}
			if len(h.have) > maxHaveFiles {
				h.have = nil
				c.Error("ERR Too many files in have-files")
				return
			}
		case argIs(args[i], "ack"), argIs(args[i], "getack"), argIs(args[i], "rdb-only"), argIs(args[i], "rdb-filter-only"):
		default:
			c.Error("ERR Unrecognized REPLCONF option: " + string(args[i]))
			return
		}
	}
	c.W.OK()
}

// cmdPSync turns the connection into a replication stream served by the master.
func cmdPSync(c *Ctx) {
	history, next := "?", "-1"
	if len(c.Args) >= 3 {
		history, next = string(c.Args[1]), string(c.Args[2])
	}
	ip := c.replIP
	if ip == "" {
		ip, _, _ = net.SplitHostPort(c.netConn.RemoteAddr().String())
	}
	hs := repl.Handshake{IP: ip, Port: c.replPort, History: history, Next: next}
	if h := c.srv.takeHello(c.Client); h != nil {
		hs.Capa, hs.Identity, hs.Have = h.capa, h.identity, h.have
	}
	c.flush()
	dc := c.conn.Detach()
	c.detached = true
	c.noIdle.Add(1)
	go func() {
		if err := dc.Flush(); err != nil {
			dc.Close()
			return
		}
		c.srv.master.Serve(detachedConn{dc}, hs)
	}()
}

// detachedConn is a follower's connection once PSYNC detached it from redcon. After
// the first Flush the master writes to the socket directly (it buffers itself), so
// that Close, which the ack reader calls when the follower goes, can run while a write
// is in flight without touching redcon's writer.
type detachedConn struct{ dc redcon.DetachedConn }

func (d detachedConn) Write(p []byte) (int, error) { return d.dc.NetConn().Write(p) }

func (d detachedConn) ReadCommand() ([][]byte, error) {
	cmd, err := d.dc.ReadCommand()
	if err != nil {
		return nil, err
	}
	return cmd.Args, nil
}

func (d detachedConn) Close() error { return d.dc.NetConn().Close() }

func cmdWait(c *Ctx) {
	n, ok := c.Int(1)
	if !ok {
		return
	}
	ms, ok := c.Int(2)
	if !ok {
		return
	}
	if ms < 0 {
		c.Error("ERR timeout is negative")
		return
	}
	if c.srv.repl.follower.Load() != nil {
		c.Error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	timeout := time.Duration(ms) * time.Millisecond
	if ms == 0 {
		timeout = time.Duration(math.MaxInt64)
	}
	if c.InExec || n <= 0 {
		c.W.Int(int64(c.srv.master.Acked(c.lastWriteID)))
		return
	}
	if c.srv.master.Acked(c.lastWriteID) < int(n) {
		c.flushBeforeWait()
	}
	c.W.Int(int64(c.srv.master.WaitAcks(c.lastWriteID, int(n), timeout)))
}

func cmdRole(c *Ctx) {
	s := c.srv
	if f := s.repl.follower.Load(); f != nil {
		c.W.Array(5)
		c.W.BulkString("slave")
		c.W.BulkString(s.repl.host)
		c.W.Int(int64(s.repl.port))
		state := "connect"
		switch {
		case f.LinkUp():
			state = "connected"
		case f.SyncInProgress():
			state = "sync"
		}
		c.W.BulkString(state)
		c.W.Int(int64(s.store.AppliedID()))
		return
	}
	peers := s.master.Followers()
	c.W.Array(3)
	c.W.BulkString("master")
	c.W.Int(int64(s.binlog.LastID()))
	c.W.Array(len(peers))
	for _, p := range peers {
		c.W.Array(3)
		c.W.BulkString(p.IP)
		c.W.BulkString(strconv.Itoa(p.Port))
		c.W.BulkString(strconv.FormatUint(p.Ack(), 10))
	}
}

func infoReplication(s *Server, b *infoBuf) {
	cfg := s.Config()
	f := s.repl.follower.Load()
	b.str("role", s.role())
	applied := s.store.AppliedID()
	if f != nil {
		b.str("master_host", s.repl.host)
		b.int("master_port", int64(s.repl.port))
		link := "down"
		if f.LinkUp() {
			link = "up"
		}
		b.str("master_link_status", link)
		b.int("master_last_io_seconds_ago", f.LastIOSecondsAgo())
		sync := int64(0)
		if f.SyncInProgress() {
			sync = 1
		}
		b.int("master_sync_in_progress", sync)
		b.int("slave_read_repl_offset", int64(applied))
		b.int("slave_repl_offset", int64(applied))
		if !f.LinkUp() {
			b.int("master_link_down_since_seconds", f.DownSinceSeconds())
		}
		b.int("slave_priority", int64(cfg.Replication.ReplicaPriority))
		b.int("slave_read_only", 1)
		b.int("replica_announced", 1)
		lag := int64(0)
		if m := f.MasterLastID(); m > applied {
			lag = int64(m - applied)
		}
		b.int("slave_lag_records", lag)
	}
	peers := s.master.Followers()
	b.int("connected_slaves", int64(len(peers)))
	last := s.binlog.LastID()
	for i, p := range peers {
		lag := int64(0)
		if last > p.Ack() {
			lag = int64(last - p.Ack())
		}
		b.str("slave"+strconv.Itoa(i), fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=%d,lag_records=%d",
			p.IP, p.Port, p.State(), p.Ack(), p.LagSeconds(), lag))
	}
	b.str("master_failover_state", "no-failover")
	h := s.store.History()
	b.str("master_replid", hex.EncodeToString(h[:]))
	prev, end := s.store.PrevHistory()
	if end != 0 {
		b.str("master_replid2", hex.EncodeToString(prev[:]))
	} else {
		b.str("master_replid2", strings.Repeat("0", 40))
	}
	b.int("master_repl_offset", int64(last))
	if end != 0 {
		b.int("second_repl_offset", int64(end))
	} else {
		b.int("second_repl_offset", -1)
	}
	st := s.binlog.Stats()
	b.int("repl_backlog_active", 1)
	b.int("repl_backlog_size", st.TotalSize)
	b.int("repl_backlog_first_byte_offset", int64(st.FirstID))
	b.int("repl_backlog_histlen", int64(st.LastID-st.FirstID+1))
	b.str("repl_mode", cfg.Replication.Mode)
	b.int("semi_sync_waits", s.repl.semiWaits.Load())
	b.int("semi_sync_timeouts", s.repl.semiTimeouts.Load())
	degraded := int64(0)
	if s.repl.degraded.Load() {
		degraded = 1
	}
	b.int("semi_sync_degraded", degraded)
}

// waitForFollowers holds a semi-sync write's reply until min_acks followers have its
// record, or ack_timeout passes; then it degrades to async (until the followers catch
// up) or replaces the replies with -NOREPLICAS, as configured.
func (c *Client) waitForFollowers(id uint64, segs []replySeg) {
	s := c.srv
	if !s.repl.semiSync {
		return
	}
	cfg := s.Config().Replication
	if cfg.Mode != "semi-sync" || id == 0 || s.repl.follower.Load() != nil {
		return
	}
	if s.repl.degraded.Load() {
		// Followers have caught up when they hold everything before this write.
		if s.master.Acked(id-1) >= cfg.MinAcks {
			s.repl.degraded.Store(false)
			s.log.Info().Msg("semi-sync: followers caught up, no longer degraded")
		} else if cfg.OnAckTimeout == "degrade" {
			return
		}
	}
	s.repl.semiWaits.Add(1)
	if s.master.WaitAcks(id, cfg.MinAcks, cfg.AckTimeout.D()) >= cfg.MinAcks {
		return
	}
	s.repl.semiTimeouts.Add(1)
	if cfg.OnAckTimeout == "fail" {
		c.replaceReplies(segs, "NOREPLICAS Not enough good replicas to write.")
		return
	}
	if !s.repl.degraded.Swap(true) {
		s.log.Warn().Int("min_acks", cfg.MinAcks).Msg("semi-sync: acknowledgement timed out, degrading to async until followers catch up")
	}
}

// replSource is what the master side reads: the binlog and checkpoints of the store.
type replSource struct{ s *Server }

func (r replSource) Log() *binlog.Log                { return r.s.binlog }
func (r replSource) History() [20]byte               { return r.s.store.History() }
func (r replSource) PrevHistory() ([20]byte, uint64) { return r.s.store.PrevHistory() }

// Checkpoint also copies the data's IDENTITY file, which a RocksDB checkpoint leaves
// out: a follower that installs the copy then shares the master's identity, which is
// what lets a later full copy reuse the SST files they have in common.
func (r replSource) Checkpoint(dir string) (uint64, [20]byte, error) {
	r.s.running.RLock()
	defer r.s.running.RUnlock()
	id, hist, err := r.s.store.Checkpoint(dir)
	if err != nil {
		return id, hist, err
	}
	if err := copyIdentity(r.s.store.Dir(), dir); err != nil {
		r.s.log.Warn().Err(err).Msg("full copy without the data's IDENTITY: the next one cannot reuse files")
	}
	return id, hist, nil
}

func copyIdentity(from, to string) error {
	dst := filepath.Join(to, "IDENTITY")
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	src, err := os.Open(filepath.Join(from, "IDENTITY"))
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// replSink is what the follower side writes through.
type replSink struct{ s *Server }

func (r replSink) Position() ([20]byte, uint64) {
	return r.s.store.History(), r.s.store.AppliedID() + 1
}

// ApplyRecords applies records from the master; under sync = always they are fsynced
// before the follower acknowledges them.
func (r replSink) ApplyRecords(recs []binlog.Record) error {
	if err := r.s.store.ApplyRecords(recs); err != nil {
		return err
	}
	if r.s.syncAlways {
		return r.s.binlog.WaitDurable(recs[len(recs)-1].ID)
	}
	return nil
}

// DataDir is the live RocksDB directory, whose SST files a full copy may reuse.
func (r replSink) DataDir() string { return r.s.store.Dir() }

// InstallCopy swaps in a full copy: no command runs meanwhile, the binlog restarts
// after the copy's last ID, and the store reopens on the new data.
func (r replSink) InstallCopy(dir string, id uint64, history [20]byte) error {
	s := r.s
	s.running.Lock()
	defer s.running.Unlock()
	if err := s.binlog.Reset(id); err != nil {
		return err
	}
	if err := s.store.ReplaceData(dir); err != nil {
		return err
	}
	s.store.SetActiveExpire(false)
	if got := s.store.AppliedID(); got != id {
		return fmt.Errorf("copy holds records up to %d, master announced %d", got, id)
	}
	_ = history
	return nil
}
