// Package integration runs Strata as real server processes on loopback ports: crash
// durability, and later replication between processes.
package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var strataBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "strata-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	strataBin = filepath.Join(dir, "strata")
	build := exec.Command("go", "build", "-o", strataBin, "github.com/strata-kv/strata/cmd/strata")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build strata:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one strata server process.
type proc struct {
	t       testing.TB
	dir     string // data directory
	cfgPath string
	addr    string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan error
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newProc prepares a server with its own data dir, port and config; extra is appended
// to the TOML file (whole sections).
func newProc(t testing.TB, extra string) *proc {
	t.Helper()
	dir := t.TempDir()
	p := &proc{t: t, dir: filepath.Join(dir, "data"), addr: freeAddr(t), cfgPath: filepath.Join(dir, "strata.toml")}
	cfg := fmt.Sprintf("[server]\naddr = %q\ndata_dir = %q\n\n[rocksdb]\nblock_cache_size = \"16MB\"\nwrite_buffer_size = \"4MB\"\n\n%s\n", p.addr, p.dir, extra)
	if err := os.WriteFile(p.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

// start launches the process and waits until it answers PING.
func (p *proc) start() {
	p.t.Helper()
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(p.cfgPath), "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.log = logf
	p.cmd = exec.Command(strataBin, "server", "--config", p.cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(p.cmd, p.exited)
	c := p.client()
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case werr := <-p.exited:
			p.t.Fatalf("server exited during start: %v\n%s", werr, p.logText())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("server did not answer within 60s: %v\n%s", err, p.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(p.cfgPath), "server.log"))
	s := string(b)
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}

// kill9 kills the process the way a crash would.
func (p *proc) kill9() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd = nil
	p.log.Close()
}

// stop shuts the process down cleanly (SIGTERM), killing it after a bound.
func (p *proc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
	p.cmd = nil
	p.log.Close()
}

func (p *proc) client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: p.addr, DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, MaxRetries: -1, PoolSize: 4, DisableIdentity: true,
	})
}

func infoField(t testing.TB, c *redis.Client, section, field string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no field %s:\n%s", section, field, info)
	return ""
}
