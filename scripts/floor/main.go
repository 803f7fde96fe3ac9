// Command floor is a server built like Strata (Go, redcon, RocksDB on Strata's
// options) that does only the plainest RocksDB work for redis-benchmark's commands,
// timed by bench.sh in Strata's place (`make bench-floor`). It shows how much of a
// benchmark's gap to Redis the storage engine and the runtime take on their own.
//
// FLOOR_MODE=none answers every command without storing anything: the cost of the
// network, the RESP parser and Go's scheduler alone. FLOOR_MODE=rocks (the default)
// also reads from RocksDB what the reply depends on (the member or counter asked for,
// a collection's count) and writes one record per value plus the count, grouping
// concurrent writers into one RocksDB write. It keeps no binlog, no key metadata, no
// types, no expiry, no rank index and no caches, and checks nothing.
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/linxGnu/grocksdb"
	"github.com/tidwall/redcon"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// run takes the command line bench.sh gives Strata: `server --addr A --data-dir D`, or
// `version`.
func run(args []string) error {
	if len(args) == 1 && args[0] == "version" {
		fmt.Println("floor (mode " + mode() + ")")
		return nil
	}
	if len(args) == 0 || args[0] != "server" {
		return fmt.Errorf("usage: floor server --addr HOST:PORT --data-dir DIR | floor version")
	}
	addr, dir := "127.0.0.1:6390", "floor-data"
	for i := 1; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--addr":
			addr = args[i+1]
		case "--data-dir":
			dir = args[i+1]
		default:
			return fmt.Errorf("unknown flag %s", args[i])
		}
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1) // Strata's default: one command thread on two cores
	}
	var db *store
	if mode() == "rocks" {
		var err error
		if db, err = openStore(dir); err != nil {
			return err
		}
		defer db.close()
	}
	return redcon.ListenAndServe(addr, func(conn redcon.Conn, cmd redcon.Command) {
		handle(db, conn, cmd)
	}, nil, nil)
}

func mode() string {
	if m := os.Getenv("FLOOR_MODE"); m == "none" {
		return m
	}
	return "rocks"
}

// handle serves the commands redis-benchmark's -t set,get,incr,lpush,lpop,sadd,hset,zadd
// sends, with Redis's replies for a fresh server.
func handle(db *store, conn redcon.Conn, cmd redcon.Command) {
	a := cmd.Args
	name := lower(a[0])
	if db == nil {
		switch name {
		case "ping":
			conn.WriteString("PONG")
		case "set":
			conn.WriteString("OK")
		case "get", "lpop":
			conn.WriteNull()
		case "incr", "lpush", "sadd", "hset", "zadd":
			conn.WriteInt(1)
		default:
			conn.WriteError("ERR unknown command '" + string(a[0]) + "'")
		}
		return
	}
	switch {
	case name == "ping":
		conn.WriteString("PONG")
	case name == "set" && len(a) == 3:
		db.commit(kv(key('s', a[1]), a[2]))
		conn.WriteString("OK")
	case name == "get" && len(a) == 2:
		if v, ok := db.get(key('s', a[1])); ok {
			conn.WriteBulk(v)
		} else {
			conn.WriteNull()
		}
	case name == "incr" && len(a) == 2:
		k := key('s', a[1])
		n := int64(0)
		if v, ok := db.get(k); ok {
			n, _ = strconv.ParseInt(string(v), 10, 64)
		}
		n++
		db.commit(kv(k, strconv.AppendInt(nil, n, 10)))
		conn.WriteInt64(n)
	case name == "lpush" && len(a) >= 3:
		// A count record holding the head index, and one record per element under it.
		mk := key('L', a[1])
		head, n := db.count(mk)
		w := make([]pair, 0, len(a)-1)
		for _, v := range a[2:] {
			head--
			w = append(w, kv(member('l', a[1], index(head)), v))
		}
		n += uint64(len(a) - 2)
		db.commit(append(w, kv(mk, counts(head, n)))...)
		conn.WriteInt64(int64(n))
	case name == "lpop" && len(a) == 2:
		mk := key('L', a[1])
		head, n := db.count(mk)
		if n == 0 {
			conn.WriteNull()
			return
		}
		v, _ := db.get(member('l', a[1], index(head)))
		db.commit(del(member('l', a[1], index(head))), kv(mk, counts(head+1, n-1)))
		conn.WriteBulk(v)
	case (name == "sadd" && len(a) >= 3) || (name == "hset" && len(a) >= 4 && len(a)%2 == 0):
		step := 1
		if name == "hset" {
			step = 2
		}
		mk := key('C', a[1])
		_, n := db.count(mk)
		added := 0
		w := make([]pair, 0, len(a))
		for i := 2; i < len(a); i += step {
			mem := member('m', a[1], a[i])
			if _, ok := db.get(mem); !ok {
				added++
			}
			val := []byte{}
			if step == 2 {
				val = a[i+1]
			}
			w = append(w, kv(mem, val))
		}
		db.commit(append(w, kv(mk, counts(0, n+uint64(added))))...)
		conn.WriteInt(added)
	case name == "zadd" && len(a) >= 4 && len(a)%2 == 0:
		// Member to score, and score then member for ranges by score.
		mk := key('Z', a[1])
		_, n := db.count(mk)
		added := 0
		w := make([]pair, 0, len(a))
		for i := 2; i < len(a); i += 2 {
			score, err := strconv.ParseFloat(string(a[i]), 64)
			if err != nil {
				conn.WriteError("ERR value is not a valid float")
				return
			}
			mem := member('z', a[1], a[i+1])
			if old, ok := db.get(mem); ok {
				w = append(w, del(member('i', a[1], append(old, a[i+1]...))))
			} else {
				added++
			}
			sk := binary.BigEndian.AppendUint64(nil, orderedScore(score))
			w = append(w, kv(mem, sk), kv(member('i', a[1], append(sk, a[i+1]...)), nil))
		}
		db.commit(append(w, kv(mk, counts(0, n+uint64(added))))...)
		conn.WriteInt(added)
	case name == "config":
		conn.WriteArray(0)
	default:
		conn.WriteError("ERR unknown command '" + string(a[0]) + "'")
	}
}

func lower(b []byte) string {
	s := []byte(string(b))
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			s[i] = c + 'a' - 'A'
		}
	}
	return string(s)
}

type pair struct {
	k, v []byte
	del  bool
}

func kv(k, v []byte) pair { return pair{k: k, v: v} }
func del(k []byte) pair   { return pair{k: k, del: true} }

func key(kind byte, name []byte) []byte { return append([]byte{kind}, name...) }

// member is a collection's record: kind, the key's length and name, then the member.
func member(kind byte, name, m []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{kind}, uint32(len(name)))
	return append(append(b, name...), m...)
}

func index(i int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)^1<<63) }

func counts(head int64, n uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(head)), n)
}

func orderedScore(f float64) uint64 {
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		return ^u
	}
	return u | 1<<63
}

// store is RocksDB with Strata's options and a commit path that groups concurrent
// writers into one RocksDB write, as Strata's does.
type store struct {
	db   *grocksdb.DB
	opts *grocksdb.Options
	ro   *grocksdb.ReadOptions
	wo   *grocksdb.WriteOptions

	mu      sync.Mutex
	queue   []*write
	leading bool
}

type write struct {
	pairs []pair
	done  chan struct{}
}

func openStore(dir string) (*store, error) {
	bbto := grocksdb.NewDefaultBlockBasedTableOptions()
	bbto.SetBlockCache(grocksdb.NewLRUCache(256 << 20))
	bbto.SetCacheIndexAndFilterBlocks(true)
	bbto.SetPinL0FilterAndIndexBlocksInCache(true)
	bbto.SetIndexType(grocksdb.KTwoLevelIndexSearchIndexType)
	bbto.SetPartitionFilters(true)
	bbto.SetMetadataBlockSize(4096)
	bbto.SetPinTopLevelIndexAndFilter(true)
	bbto.SetFilterPolicy(grocksdb.NewBloomFilter(10))
	o := grocksdb.NewDefaultOptions()
	o.SetCreateIfMissing(true)
	o.SetBlockBasedTableFactory(bbto)
	o.SetWriteBufferSize(64 << 20)
	o.SetMaxWriteBufferNumber(3)
	o.IncreaseParallelism(2)
	o.SetMaxBackgroundJobs(2)
	o.SetCompression(grocksdb.LZ4Compression)
	o.SetMemTablePrefixBloomSizeRatio(0.05)
	o.SetMemtableWholeKeyFiltering(true)
	db, err := grocksdb.OpenDb(o, dir)
	if err != nil {
		return nil, err
	}
	wo := grocksdb.NewDefaultWriteOptions()
	wo.DisableWAL(true)
	return &store{db: db, opts: o, ro: grocksdb.NewDefaultReadOptions(), wo: wo}, nil
}

func (s *store) close() { s.db.Close() }

func (s *store) get(k []byte) ([]byte, bool) {
	v, err := s.db.GetBytes(s.ro, k)
	if err != nil || v == nil {
		return nil, false
	}
	return v, true
}

func (s *store) count(k []byte) (int64, uint64) {
	v, ok := s.get(k)
	if !ok || len(v) != 16 {
		return 0, 0
	}
	return int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint64(v[8:])
}

// commit queues the pairs and returns once a group holding them is written: the first
// writer to find no leader writes every queued group, yielding once first so the
// writers that are ready can join.
func (s *store) commit(pairs ...pair) {
	w := &write{pairs: pairs, done: make(chan struct{})}
	s.mu.Lock()
	s.queue = append(s.queue, w)
	if s.leading {
		s.mu.Unlock()
		<-w.done
		return
	}
	s.leading = true
	s.mu.Unlock()
	runtime.Gosched()
	wb := grocksdb.NewWriteBatch()
	defer wb.Destroy()
	for {
		s.mu.Lock()
		group := s.queue
		s.queue = nil
		if len(group) == 0 {
			s.leading = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		wb.Clear()
		for _, g := range group {
			for _, p := range g.pairs {
				if p.del {
					wb.Delete(p.k)
				} else {
					wb.Put(p.k, p.v)
				}
			}
		}
		if err := s.db.Write(s.wo, wb); err != nil {
			fmt.Fprintln(os.Stderr, "floor: write:", err)
		}
		for _, g := range group {
			if g != w {
				close(g.done)
			}
		}
	}
}
