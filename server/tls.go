package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/strata-kv/strata/config"
)

// tlsListener makes ln serve TLS when server.tls_cert_file and server.tls_key_file
// are set, and returns ln as it is otherwise. It covers the client port and so the
// replication links followers open to it. Call it on the raw TCP listener, inside
// limitListener: the protocol limits must see the decrypted bytes. On an error ln is
// closed.
//
// The key pair is read again when either file changes (checked at most once a
// second), so a renewed certificate is served without a restart.
func tlsListener(ln net.Listener, cfg config.Config) (net.Listener, error) {
	sc := cfg.Server
	if sc.TLSCertFile == "" && sc.TLSKeyFile == "" {
		return ln, nil
	}
	kp := &keyPair{certFile: sc.TLSCertFile, keyFile: sc.TLSKeyFile}
	if err := kp.load(); err != nil {
		ln.Close()
		return nil, err
	}
	tc := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: kp.get,
	}
	return &tlsListen{Listener: ln, cfg: tc}, nil
}

type tlsListen struct {
	net.Listener
	cfg *tls.Config
}

// Accept returns the next connection; its TLS handshake runs on the first Read.
func (l *tlsListen) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tlsConn{Conn: tls.Server(c, l.cfg)}, nil
}

// tlsConn is a server-side TLS connection that still exposes its socket, so a
// blocked client's disconnect is noticed (peerGone peeks at the socket).
type tlsConn struct{ *tls.Conn }

// SyscallConn is the TCP socket's.
func (c *tlsConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.NetConn().(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("server: connection has no file descriptor")
}

// keyPair serves a certificate and reloads it when its files change.
type keyPair struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	mtimes  [2]time.Time
	checked time.Time
}

func (k *keyPair) modTimes() ([2]time.Time, error) {
	var m [2]time.Time
	for i, f := range []string{k.certFile, k.keyFile} {
		info, err := os.Stat(f)
		if err != nil {
			return m, err
		}
		m[i] = info.ModTime()
	}
	return m, nil
}

func (k *keyPair) load() error {
	if k.certFile == "" || k.keyFile == "" {
		return fmt.Errorf("%w: server.tls_cert_file and server.tls_key_file go together", config.ErrInvalid)
	}
	m, err := k.modTimes()
	if err != nil {
		return fmt.Errorf("server: tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("server: tls_cert_file/tls_key_file: %w", err)
	}
	k.mu.Lock()
	k.cert, k.mtimes, k.checked = &cert, m, time.Now()
	k.mu.Unlock()
	return nil
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	cert, stale := k.cert, time.Since(k.checked) >= time.Second
	if stale {
		k.checked = time.Now()
	}
	old := k.mtimes
	k.mu.Unlock()
	if stale {
		// Keep serving the old pair while the new one is half written or broken.
		if m, err := k.modTimes(); err == nil && m != old {
			if c, err := tls.LoadX509KeyPair(k.certFile, k.keyFile); err == nil {
				k.mu.Lock()
				k.cert, k.mtimes = &c, m
				cert = &c
				k.mu.Unlock()
			}
		}
	}
	return cert, nil
}
