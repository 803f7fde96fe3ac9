package threadpipe

import (
	"errors"
	"sync"
	"syscall"
	"testing"
)

// echoThread plays the thread's part on the raw ends, as the C threads do: reply with
// each request plus one, exit and close its ends at end of file.
func echoThread(p *Pipe) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer syscall.Close(p.ThreadReq)
		defer syscall.Close(p.ThreadReply)
		b := make([]byte, 1)
		for {
			n, err := syscall.Read(p.ThreadReq, b)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if n != 1 {
				return
			}
			b[0]++
			if _, err := syscall.Write(p.ThreadReply, b); err != nil {
				return
			}
		}
	}()
	return done
}

func TestCallsAreAnsweredInTurn(t *testing.T) {
	p, err := New("test")
	if err != nil {
		t.Fatal(err)
	}
	done := echoThread(p)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				req, reply := []byte{byte(g*10 + i%10)}, []byte{0}
				if err := p.Call(req, reply); err != nil {
					t.Error(err)
					return
				}
				if reply[0] != req[0]+1 {
					t.Errorf("reply %d to %d", reply[0], req[0])
					return
				}
			}
		}(g)
	}
	wg.Wait()
	p.Stop()
	select {
	case <-done:
	default:
		t.Fatal("Stop returned before the thread closed its ends")
	}
	if err := p.Call([]byte{1}, []byte{0}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Call after Stop = %v, want ErrStopped", err)
	}
	p.Stop() // a second Stop does nothing
}

func TestAbandon(t *testing.T) {
	p, err := New("test")
	if err != nil {
		t.Fatal(err)
	}
	p.Abandon()
	if err := p.Call([]byte{1}, []byte{0}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Call after Abandon = %v, want ErrStopped", err)
	}
}
