// The C side of package threadpipe: how a worker thread starts. Included by the cgo
// code of the packages that run one (binlog's fsync thread, store's RocksDB writer),
// which define _GNU_SOURCE before any include.
#ifndef STRATA_THREADPIPE_H
#define STRATA_THREADPIPE_H

#include <pthread.h>
#include <signal.h>

// threadpipe_enter names the calling thread and blocks SIGPIPE on it, so a reply pipe
// whose Go end was closed gives EPIPE instead of killing the process.
static inline void threadpipe_enter(const char* name) {
	pthread_setname_np(pthread_self(), name);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

// threadpipe_start runs fn(arg) on a detached thread and returns pthread_create's error.
static inline int threadpipe_start(void* (*fn)(void*), void* arg) {
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int rc = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc;
}

#endif
