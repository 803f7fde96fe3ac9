package store

/*
#cgo LDFLAGS: -lrocksdb
#cgo CFLAGS: -I${SRCDIR}/../internal/threadpipe
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <rocksdb/c.h>
#include "thread.h"

typedef struct {
	int req, reply;           // pipe ends: one byte per batch each way
	rocksdb_t* db;
	rocksdb_writeoptions_t* wo;
	rocksdb_writebatch_t* wb; // set by Go before each request
	char* err;                // RocksDB's error message for the last batch, or NULL
} strata_writer_t;

// strata_writer applies the batch in w->wb for each byte read from w->req and
// answers with a byte on w->reply, until w->req reaches EOF.
static void* strata_writer(void* arg) {
	strata_writer_t* w = arg;
	threadpipe_enter("rocksdb:write");
	for (;;) {
		char c;
		ssize_t n = read(w->req, &c, 1);
		if (n < 0 && errno == EINTR) continue;
		if (n != 1) break;
		w->err = NULL;
		rocksdb_write(w->db, w->wo, w->wb, &w->err);
		ssize_t m;
		do { m = write(w->reply, &c, 1); } while (m < 0 && errno == EINTR);
		if (m != 1) break;
	}
	close(w->req);
	close(w->reply);
	return NULL;
}

static int strata_start_writer(strata_writer_t* w) { return threadpipe_start(strata_writer, w); }

static rocksdb_writeoptions_t* strata_writeoptions(int disable_wal) {
	rocksdb_writeoptions_t* wo = rocksdb_writeoptions_create();
	rocksdb_writeoptions_disable_WAL(wo, disable_wal);
	return wo;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"syscall"
	"unsafe"

	"github.com/linxGnu/grocksdb"

	"github.com/strata-kv/strata/internal/threadpipe"
)

// writer applies the commit path's group writes to RocksDB on a thread outside Go's
// scheduler (see package threadpipe): the commit leader waits in the network poller
// while the memtable work runs on another core, and the clients' next commands are
// parsed and queued meanwhile.
type writer struct {
	mu sync.Mutex
	p  *threadpipe.Pipe
	c  *C.strata_writer_t // C memory shared with the thread; freed after it exits
}

// rocksHandle returns the C handle inside a grocksdb.DB, whose only way out is an
// unexported first field; nil if the type no longer looks that way.
func rocksHandle(db *grocksdb.DB) unsafe.Pointer {
	if !handleFirst {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(db))
}

// handleFirst: grocksdb.DB starts with its C handle (true of the pinned v1.7.15).
var handleFirst = func() bool {
	t := reflect.TypeOf(grocksdb.DB{})
	return t.NumField() > 0 && t.Field(0).Offset == 0 && t.Field(0).Type.Kind() == reflect.Pointer
}()

var (
	errNoHandle     = errors.New("store: no RocksDB handle for the writer thread")
	errWriterClosed = errors.New("store: writer thread stopped")
)

// newWriter starts the writing thread, which writes without RocksDB's WAL when
// disableWAL (the binlog stands in for it).
func newWriter(disableWAL bool) (*writer, error) {
	p, err := threadpipe.New("rocksdb-write")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	c := (*C.strata_writer_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.strata_writer_t{}))))
	if c == nil {
		p.Abandon()
		return nil, fmt.Errorf("store: writer: %w", syscall.ENOMEM)
	}
	dw := C.int(0)
	if disableWAL {
		dw = 1
	}
	c.req, c.reply = C.int(p.ThreadReq), C.int(p.ThreadReply)
	c.wo = C.strata_writeoptions(dw)
	if rc := C.strata_start_writer(c); rc != 0 {
		C.rocksdb_writeoptions_destroy(c.wo)
		C.free(unsafe.Pointer(c))
		p.Abandon()
		return nil, fmt.Errorf("store: start writer thread: %w", syscall.Errno(rc))
	}
	return &writer{p: p, c: c}, nil
}

// write applies a batch in RocksDB's wire representation to db.
func (w *writer) write(db *grocksdb.DB, rep []byte) error {
	h := rocksHandle(db)
	if h == nil {
		return errNoHandle
	}
	wb := C.rocksdb_writebatch_create_from((*C.char)(unsafe.Pointer(&rep[0])), C.size_t(len(rep)))
	defer C.rocksdb_writebatch_destroy(wb)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.c == nil {
		return errWriterClosed
	}
	w.c.db, w.c.wb, w.c.err = (*C.rocksdb_t)(h), wb, nil
	var b [1]byte
	if err := w.p.Call(b[:], b[:]); err != nil {
		return err
	}
	if w.c.err != nil {
		msg := C.GoString(w.c.err)
		C.rocksdb_free(unsafe.Pointer(w.c.err))
		w.c.err = nil
		return errors.New(msg)
	}
	return nil
}

// close stops the thread once no batch is in flight, then frees what it shared.
func (w *writer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.c == nil {
		return
	}
	w.p.Stop()
	C.rocksdb_writeoptions_destroy(w.c.wo)
	C.free(unsafe.Pointer(w.c))
	w.c = nil
}
