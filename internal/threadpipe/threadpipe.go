// Package threadpipe connects goroutines to a C thread that runs blocking work (an
// fsync, a RocksDB write) outside Go's scheduler. A goroutine inside a long system call
// or C call keeps its scheduler slot until Go's monitor thread takes it away, polling
// every 20µs meanwhile; a goroutine waiting on a pipe parks in the network poller
// instead and leaves the slot to the others.
//
// A Pipe is two pipes: requests from Go to the thread and replies back. The thread
// owns its two ends (blocking), reads a request, does the work, writes a reply, and
// closes its ends and exits when the request pipe reaches end of file.
package threadpipe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// Pipe is the Go side of the connection to one thread.
type Pipe struct {
	mu    sync.Mutex
	req   *os.File // Go writes requests here
	reply *os.File // and reads replies here, in the poller
	// ThreadReq and ThreadReply are the thread's ends, to hand to it when it starts.
	ThreadReq, ThreadReply int
	stopped                bool
}

// ErrStopped is returned by Call after Stop.
var ErrStopped = errors.New("threadpipe: thread stopped")

// New makes the pipes; name labels the Go ends in errors.
func New(name string) (*Pipe, error) {
	var req, reply [2]int
	if err := syscall.Pipe2(req[:], syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("%s pipe: %w", name, err)
	}
	if err := syscall.Pipe2(reply[:], syscall.O_CLOEXEC); err != nil {
		syscall.Close(req[0])
		syscall.Close(req[1])
		return nil, fmt.Errorf("%s pipe: %w", name, err)
	}
	if err := syscall.SetNonblock(reply[0], true); err != nil {
		for _, fd := range []int{req[0], req[1], reply[0], reply[1]} {
			syscall.Close(fd)
		}
		return nil, fmt.Errorf("%s pipe: %w", name, err)
	}
	return &Pipe{
		req:         os.NewFile(uintptr(req[1]), name+"-request"),
		reply:       os.NewFile(uintptr(reply[0]), name+"-reply"),
		ThreadReq:   req[0],
		ThreadReply: reply[1],
	}, nil
}

// Abandon closes every end when the thread could not be started.
func (p *Pipe) Abandon() {
	syscall.Close(p.ThreadReq)
	syscall.Close(p.ThreadReply)
	p.req.Close()
	p.reply.Close()
	p.stopped = true
}

// Call sends req and waits for the thread's reply into reply, one call at a time.
func (p *Pipe) Call(req, reply []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return ErrStopped
	}
	if _, err := p.req.Write(req); err != nil {
		return fmt.Errorf("%s: %w", p.req.Name(), err)
	}
	if _, err := io.ReadFull(p.reply, reply); err != nil {
		return fmt.Errorf("%s: %w", p.reply.Name(), err)
	}
	return nil
}

// Stop ends the thread once no call is in flight and returns after it closed its ends:
// past Stop the thread touches nothing the caller owns.
func (p *Pipe) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	p.req.Close()
	_, _ = io.Copy(io.Discard, p.reply)
	p.reply.Close()
}
