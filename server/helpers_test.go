package server

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/strata-kv/strata/config"
)

// testServer is a fresh server on its own temp dir and a free loopback port.
type testServer struct {
	*Server
	Addr string
}

// startServer starts a server for one test; edit adjusts the configuration first.
func startServer(t testing.TB, edit ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := testConfig(t.TempDir())
	for _, e := range edit {
		e(&cfg)
	}
	return runServer(t, cfg)
}

// testConfig is the configuration test servers start from: a free loopback port,
// small memory budgets.
func testConfig(dir string) config.Config {
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.DataDir = dir
	cfg.RocksDB.BlockCacheSize = 8 << 20
	cfg.RocksDB.WriteBufferSize = 4 << 20
	return cfg
}

// runServer starts a server on cfg and stops it when the test ends.
func runServer(t testing.TB, cfg config.Config, opts ...Option) *testServer {
	t.Helper()
	srv, err := New(cfg, "", zerolog.New(io.Discard), opts...)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("server did not stop within 10s")
		}
	})
	return &testServer{Server: srv, Addr: srv.Addr().String()}
}

// client opens a go-redis client speaking protocol proto (2 or 3).
func (ts *testServer) client(t testing.TB, proto int) *redis.Client {
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
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// bothProtocols runs f against a fresh server once over RESP2 and once over RESP3.
func bothProtocols(t *testing.T, f func(t *testing.T, c *redis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(map[int]string{2: "resp2", 3: "resp3"}[proto], func(t *testing.T) {
			ts := startServer(t)
			f(t, ts.client(t, proto))
		})
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do runs a raw command and returns its result and error.
func do(t testing.TB, c *redis.Client, args ...any) (any, error) {
	t.Helper()
	return c.Do(ctxT(t), args...).Result()
}

// must runs a raw command that must succeed.
func must(t testing.TB, c *redis.Client, args ...any) any {
	t.Helper()
	v, err := c.Do(ctxT(t), args...).Result()
	if err != nil && err != redis.Nil {
		t.Fatalf("%v: unexpected error %v", args, err)
	}
	return v
}

// mustErr runs a command that must fail with exactly want.
func mustErr(t testing.TB, c *redis.Client, want string, args ...any) {
	t.Helper()
	_, err := c.Do(ctxT(t), args...).Result()
	if err == nil || err.Error() != want {
		t.Fatalf("%v: got error %v, want %q", args, err, want)
	}
}
