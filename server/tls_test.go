package server

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-kv/strata/config"
)

// tlsFiles is a throwaway CA and a certificate it signed for 127.0.0.1 and localhost.
type tlsFiles struct {
	CAFile, CertFile, KeyFile string
	Pool                      *x509.CertPool
}

func newTLSFiles(t testing.TB) *tlsFiles {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "strata test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "strata test server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	f := &tlsFiles{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"),
		KeyFile:  filepath.Join(dir, "key.pem"),
		Pool:     x509.NewCertPool(),
	}
	f.Pool.AddCert(caCert)
	for path, b := range map[string]*pem.Block{
		f.CAFile:   {Type: "CERTIFICATE", Bytes: caDER},
		f.CertFile: {Type: "CERTIFICATE", Bytes: der},
		f.KeyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// startTLSServer is startServer serving TLS with files' certificate. It builds the
// listener as Listen does once it calls tlsListener: TLS inside limitListener.
func startTLSServer(t testing.TB, files *tlsFiles, edit ...func(*config.Config)) *testServer {
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
	files := newTLSFiles(t)
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
	other := newTLSFiles(t)
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
	files := newTLSFiles(t)
	ts := startTLSServer(t, files)
	if _, err := tlsClient(t, ts, files.Pool, 2).Ping(ctxT(t)).Result(); err != nil {
		t.Fatal(err)
	}
	renewed := newTLSFiles(t)
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
	files := newTLSFiles(t)
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
