package binlog

/*
#cgo CFLAGS: -I${SRCDIR}/../internal/threadpipe
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "thread.h"

// strata_syncer answers each file descriptor read from fds[0] with the errno of
// fdatasync on it (0 for success), written to fds[1], until fds[0] reaches EOF.
static void* strata_syncer(void* arg) {
	int req = ((int*)arg)[0], reply = ((int*)arg)[1];
	free(arg);
	threadpipe_enter("binlog:fsync");
	for (;;) {
		int64_t fd;
		ssize_t n = read(req, &fd, sizeof fd);
		if (n < 0 && errno == EINTR) continue;
		if (n != sizeof fd) break;
		int rc;
		do { rc = fdatasync((int)fd); } while (rc < 0 && errno == EINTR);
		int64_t res = rc < 0 ? errno : 0;
		ssize_t w;
		do { w = write(reply, &res, sizeof res); } while (w < 0 && errno == EINTR);
		if (w != sizeof res) break;
	}
	close(req);
	close(reply);
	return NULL;
}

static int strata_start_syncer(int req, int reply) {
	int* fds = malloc(2 * sizeof(int));
	if (fds == NULL) return ENOMEM;
	fds[0] = req;
	fds[1] = reply;
	int rc = threadpipe_start(strata_syncer, fds);
	if (rc != 0) free(fds);
	return rc;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"

	"github.com/strata-kv/strata/internal/threadpipe"
)

// syncer runs fdatasync on a thread outside Go's scheduler (see package threadpipe):
// the goroutines serving clients keep running while the disk flushes.
type syncer struct{ p *threadpipe.Pipe }

// newSyncer starts the syncing thread.
func newSyncer() (*syncer, error) {
	p, err := threadpipe.New("binlog-fsync")
	if err != nil {
		return nil, fmt.Errorf("binlog: %w", err)
	}
	if rc := C.strata_start_syncer(C.int(p.ThreadReq), C.int(p.ThreadReply)); rc != 0 {
		p.Abandon()
		return nil, fmt.Errorf("binlog: start syncer thread: %w", syscall.Errno(rc))
	}
	return &syncer{p: p}, nil
}

// datasync fdatasyncs f on the syncer's thread. f stays open until the answer is in.
func (s *syncer) datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		var req, reply [8]byte
		binary.LittleEndian.PutUint64(req[:], uint64(fd))
		if serr = s.p.Call(req[:], reply[:]); serr != nil {
			return
		}
		if e := binary.LittleEndian.Uint64(reply[:]); e != 0 {
			serr = syscall.Errno(e)
		}
	}); err != nil {
		return err
	}
	return serr
}

// close stops the thread.
func (s *syncer) close() { s.p.Stop() }
