package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-kv/strata/config"
	"github.com/strata-kv/strata/internal/testtls"
)

// startTLSServer is startServer serving TLS with files' certificate. It builds the
// listener as Listen does once it calls tlsListener: TLS inside limitListener.
func startTLSServer(t testing.TB, files *testtls.Files, edit ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := testConfig(t.TempDir())
	cfg.Server.TLSCertFile, cfg.Server.TLSKeyFile = files.CertFile, files.KeyFile
	for _, e := range edit {
		e(&cfg)
	}
	return runServer(t, cfg)
}

func tlsClient(t testing.TB, ts *testServer, pool *x509.CertPool, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:            ts.Addr,
		Protocol:        proto,
		DialTimeout:     5 * time.Second,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		PoolSize:        4,
		DisableIdentity: true,
		MaxRetries:      -1,
		TLSConfig:       &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTLSClient(t *testing.T) {
	files := testtls.New(t)
	ts := startTLSServer(t, files)
	for _, proto := range []int{2, 3} {
		c := tlsClient(t, ts, files.Pool, proto)
		if got := must(t, c, "ping"); got != "PONG" {
			t.Fatalf("PING over TLS = %v", got)
		}
		must(t, c, "set", "k"+strconv.Itoa(proto), "v")
		if got := must(t, c, "get", "k"+strconv.Itoa(proto)); got != "v" {
			t.Fatalf("GET over TLS = %v", got)
		}
	}
	c := tlsClient(t, ts, files.Pool, 2)
	// A blocked client over TLS waits for its timeout: its socket is still visible
	// to the disconnect check.
	start := time.Now()
	if v, err := do(t, c, "blpop", "nolist", "0.5"); err != redis.Nil {
		t.Fatalf("BLPOP over TLS = %v, %v; want nil", v, err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Fatalf("BLPOP 0.5 over TLS returned after %s", d)
	}

	// The protocol limits still apply to the decrypted bytes.
	conn, err := tls.Dial("tcp", ts.Addr, &tls.Config{RootCAs: files.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "*99999999999\r\n")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "-ERR Protocol error: invalid multibulk length\r\n" {
		t.Fatalf("oversized multibulk over TLS: %q, %v", line, err)
	}

	// Plain TCP gets nothing useful, and neither does a client trusting another CA.
	plain := redis.NewClient(&redis.Options{Addr: ts.Addr, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, DisableIdentity: true, MaxRetries: -1})
	defer plain.Close()
	if _, err := plain.Ping(ctxT(t)).Result(); err == nil {
		t.Fatal("PING over plain TCP to a TLS port succeeded")
	}
	other := testtls.New(t)
	if _, err := tlsClient(t, ts, other.Pool, 2).Ping(ctxT(t)).Result(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("PING trusting another CA = %v, want a certificate error", err)
	}
}

func TestTLSListenerConfig(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if ln, err := tlsListener(raw, config.Default()); err != nil || ln != raw {
		t.Fatalf("tlsListener without files = %v, %v; want the listener unchanged", ln, err)
	}
	cfg := config.Default()
	cfg.Server.TLSCertFile = filepath.Join(t.TempDir(), "missing.pem")
	cfg.Server.TLSKeyFile = cfg.Server.TLSCertFile
	raw2, _ := net.Listen("tcp", "127.0.0.1:0")
	if _, err := tlsListener(raw2, cfg); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("tlsListener with a missing file = %v, want an error naming it", err)
	}
	if _, err := raw2.Accept(); err == nil {
		t.Fatal("tlsListener left the listener open after failing")
	}
}

// TestTLSCertificateReload: a renewed certificate is served without a restart.
func TestTLSCertificateReload(t *testing.T) {
	files := testtls.New(t)
	ts := startTLSServer(t, files)
	if _, err := tlsClient(t, ts, files.Pool, 2).Ping(ctxT(t)).Result(); err != nil {
		t.Fatal(err)
	}
	renewed := testtls.New(t)
	for from, to := range map[string]string{renewed.CertFile: files.CertFile, renewed.KeyFile: files.KeyFile} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
		// Make the change visible even on file systems with coarse timestamps.
		future := time.Now().Add(2 * time.Second)
		os.Chtimes(to, future, future)
	}
	waitFor(t, "the renewed certificate", 5*time.Second, func() bool {
		c := tlsClient(t, ts, renewed.Pool, 2)
		defer c.Close()
		_, err := c.Ping(ctxT(t)).Result()
		return err == nil
	})
}

// TestReplTLSFollower: a follower with tls_replication replicates from a TLS master,
// checking its certificate against tls_ca_file.
func TestReplTLSFollower(t *testing.T) {
	files := testtls.New(t)
	master := startTLSServer(t, files)
	follower := startServer(t, func(c *config.Config) {
		c.Replication.TLSReplication = true
		c.Server.TLSCAFile = files.CAFile
	})
	mc := tlsClient(t, master, files.Pool, 2)
	fc := follower.client(t, 2)
	writeEveryType(t, mc, "before", 20)
	host, port := hostPort(t, master.Addr)
	must(t, fc, "replicaof", host, port)
	caughtUp(t, master, follower)
	writeEveryType(t, mc, "after", 20)
	caughtUp(t, master, follower)
	sameData(t, master, follower)
	f := follower.repl.follower.Load()
	if !f.LinkUp() || f.Compression() != "zstd" {
		t.Fatalf("link up %v, compression %q; want up with zstd", f.LinkUp(), f.Compression())
	}

	// Without the CA the follower cannot verify the master and refuses the link.
	f2 := startServer(t, func(c *config.Config) { c.Replication.TLSReplication = true })
	must(t, f2.client(t, 2), "replicaof", host, port)
	time.Sleep(500 * time.Millisecond)
	if f2.repl.follower.Load().LinkUp() || f2.store.AppliedID() != 0 {
		t.Fatal("a follower without the CA linked up with the TLS master")
	}
	// An unreadable CA file is refused at REPLICAOF, and the role does not change.
	f3 := startServer(t, func(c *config.Config) {
		c.Replication.TLSReplication = true
		c.Server.TLSCAFile = filepath.Join(t.TempDir(), "nope.pem")
	})
	c3 := f3.client(t, 2)
	if _, err := do(t, c3, "replicaof", host, port); err == nil || !strings.Contains(err.Error(), "nope.pem") {
		t.Fatalf("REPLICAOF with a missing CA file = %v, want an error naming it", err)
	}
	if f3.role() != "master" {
		t.Fatalf("role after a refused REPLICAOF = %s", f3.role())
	}
}
