package binlog

/*
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

// strata_syncer answers each file descriptor read from fds[0] with the errno of
// fdatasync on it (0 for success), written to fds[1], until fds[0] reaches EOF.
static void* strata_syncer(void* arg) {
	int req = ((int*)arg)[0], reply = ((int*)arg)[1];
	free(arg);
	pthread_setname_np(pthread_self(), "binlog:fsync");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL); // a closed reply pipe is EPIPE, not a signal
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
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int rc = pthread_create(&t, &attr, strata_syncer, fds);
	pthread_attr_destroy(&attr);
	if (rc != 0) free(fds);
	return rc;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// syncer runs fdatasync on a thread outside Go's scheduler. A goroutine blocked in a
// system call keeps its scheduler slot until the runtime's monitor takes it away, and
// the monitor polls every 20µs meanwhile: a 100µs+ fsync costs a dozen context switches
// and stalls the commands queued behind it. Here the goroutine waits on a pipe in the
// network poller instead, and the other goroutines keep running.
type syncer struct {
	mu    sync.Mutex
	req   *os.File // write end: descriptors to sync
	reply *os.File // read end, in the poller: one errno per request
}

// newSyncer starts the syncing thread.
func newSyncer() (*syncer, error) {
	var reqFDs, replyFDs [2]int
	if err := syscall.Pipe2(reqFDs[:], syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("binlog: syncer pipe: %w", err)
	}
	if err := syscall.Pipe2(replyFDs[:], syscall.O_CLOEXEC); err != nil {
		syscall.Close(reqFDs[0])
		syscall.Close(reqFDs[1])
		return nil, fmt.Errorf("binlog: syncer pipe: %w", err)
	}
	if err := syscall.SetNonblock(replyFDs[0], true); err != nil {
		for _, fd := range []int{reqFDs[0], reqFDs[1], replyFDs[0], replyFDs[1]} {
			syscall.Close(fd)
		}
		return nil, fmt.Errorf("binlog: syncer pipe: %w", err)
	}
	if rc := C.strata_start_syncer(C.int(reqFDs[0]), C.int(replyFDs[1])); rc != 0 {
		for _, fd := range []int{reqFDs[0], reqFDs[1], replyFDs[0], replyFDs[1]} {
			syscall.Close(fd)
		}
		return nil, fmt.Errorf("binlog: start syncer thread: %w", syscall.Errno(rc))
	}
	return &syncer{
		req:   os.NewFile(uintptr(reqFDs[1]), "binlog-sync-req"),
		reply: os.NewFile(uintptr(replyFDs[0]), "binlog-sync-reply"),
	}, nil
}

// datasync fdatasyncs f on the syncer's thread. f stays open until the answer is in.
func (s *syncer) datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(fd))
		if _, err := s.req.Write(b[:]); err != nil {
			serr = fmt.Errorf("syncer request: %w", err)
			return
		}
		if _, err := io.ReadFull(s.reply, b[:]); err != nil {
			serr = fmt.Errorf("syncer reply: %w", err)
			return
		}
		if e := binary.LittleEndian.Uint64(b[:]); e != 0 {
			serr = syscall.Errno(e)
		}
	}); err != nil {
		return err
	}
	return serr
}

// close stops the thread: it sees the end of its requests, closes its ends and exits,
// and the reply pipe reads EOF once it has.
func (s *syncer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.req.Close()
	_, _ = io.Copy(io.Discard, s.reply)
	s.reply.Close()
}
