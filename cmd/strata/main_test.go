package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the strata binary: with STRATA_TEST_MAIN=1 it runs main()
// with the arguments after the test flags, so the tests run the real command line.
func TestMain(m *testing.M) {
	if os.Getenv("STRATA_TEST_MAIN") == "1" {
		os.Args = append([]string{"strata"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// strata prepares the binary with args; it runs in a temp dir so defaults never touch the tree.
func strata(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "STRATA_TEST_MAIN=1")
	cmd.Dir = t.TempDir()
	return cmd
}

// runStrata runs the binary to completion and returns its stderr and exit code.
func runStrata(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := strata(t, ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stderr.String(), 0
	case errors.As(err, &exit):
		return stderr.String(), exit.ExitCode()
	default:
		t.Fatalf("run strata %v: %v", args, err)
		return "", -1
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "strata.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := strata(t, ctx, "version").Output()
	if err != nil {
		t.Fatalf("strata version: %v", err)
	}
	if !strings.HasPrefix(string(out), "strata ") || !strings.Contains(string(out), "redis") {
		t.Fatalf("strata version printed %q", out)
	}
}

// TestServerBadConfig checks that a bad file or flag stops the server at start with a
// message naming the culprit and a nonzero exit.
func TestServerBadConfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.toml")
	for _, tc := range []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"unknown key", []string{"--config", writeFile(t, "[server]\nport = 6379\n")},
			[]string{"strata.toml", "unknown key server.port"}},
		{"bad size", []string{"--config", writeFile(t, "[rocksdb]\nblock_cache_size = \"lots\"\n")},
			[]string{"strata.toml", "rocksdb.block_cache_size", `"lots" is not a size`}},
		{"bad value", []string{"--config", writeFile(t, "[rocksdb]\ncompression = \"foo\"\n")},
			[]string{"rocksdb.compression", `"foo"`}},
		{"broken toml", []string{"--config", writeFile(t, "[server\n")},
			[]string{"strata.toml", "line"}},
		{"missing file", []string{"--config", missing},
			[]string{"missing.toml"}},
		{"bad addr flag", []string{"--addr", "nonsense"},
			[]string{"server.addr", `"nonsense"`}},
		{"unknown flag", []string{"--port", "6379"},
			[]string{"--port"}},
		{"extra argument", []string{"now"},
			[]string{`"now"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr, code := runStrata(t, append([]string{"server"}, tc.args...)...)
			if code == 0 {
				t.Fatalf("strata server %v exited 0, want an error; stderr:\n%s", tc.args, stderr)
			}
			if !strings.HasPrefix(stderr, "strata: ") {
				t.Errorf("stderr %q does not start with \"strata: \"", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %s", stderr, w)
				}
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("stderr is more than one line:\n%s", stderr)
			}
		})
	}
}

// startStrata runs `strata server args...` and waits until addr accepts connections.
// stop sends SIGTERM and checks the server exits cleanly.
func startStrata(t *testing.T, addr string, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := strata(t, ctx, append([]string{"server"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		defer cancel()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("server exited with %v after SIGTERM\n%s", err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("server did not stop after SIGTERM\n%s", stderr.String())
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("server exited before listening on %s: %v\n%s", addr, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			cancel()
			t.Fatalf("server not listening on %s: %v\n%s", addr, err, stderr.String())
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// conn is a minimal RESP2 client.
type conn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{t: t, c: c, r: bufio.NewReader(c)}
}

// do sends a command and returns the reply: string for simple and bulk strings, int64,
// []any, nil, or respError.
func (c *conn) do(args ...string) any {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	_ = c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.c, b.String()); err != nil {
		c.t.Fatal(err)
	}
	v, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("%v: %v", args, err)
	}
	return v
}

type respError string

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("bad reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply type %q", line)
}

// TestServerFlagsOverrideFile starts the server from a file whose address and data
// directory the flags replace, talks RESP to it and stops it with SIGTERM.
func TestServerFlagsOverrideFile(t *testing.T) {
	addr := freeAddr(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	// The file points at an address and a directory that must not be used.
	cfg := writeFile(t, "[server]\naddr = \"127.0.0.1:1\"\ndata_dir = \"/nonexistent/strata\"\n\n[rocksdb]\nblock_cache_size = \"8MB\"\n")
	stop := startStrata(t, addr, "--config", cfg, "--addr", addr, "--data-dir", dataDir)
	defer stop()

	c := dial(t, addr)
	if got := c.do("SET", "a", "1"); got != "OK" {
		t.Fatalf("SET a 1 = %#v, want OK", got)
	}
	if got := c.do("GET", "a"); got != "1" {
		t.Fatalf("GET a = %#v, want \"1\"", got)
	}
	if _, err := os.Stat(dataDir); err != nil {
		t.Errorf("--data-dir %s was not used: %v", dataDir, err)
	}
	stop()
}

// TestReadmeCommandTable keeps README.md's command compatibility table true: every command
// it lists as supported is in the server's COMMAND LIST, every command the server has is
// listed, and none it lists as not supported exists.
func TestReadmeCommandTable(t *testing.T) {
	supported, unsupported := readmeCommands(t, "../../README.md")
	if len(supported) < 50 {
		t.Fatalf("found only %d supported commands in README.md's table: is it still parsable?", len(supported))
	}

	addr := freeAddr(t)
	stop := startStrata(t, addr, "--addr", addr, "--data-dir", filepath.Join(t.TempDir(), "data"))
	defer stop()
	reply := dial(t, addr).do("COMMAND", "LIST")
	names, ok := reply.([]any)
	if !ok {
		t.Fatalf("COMMAND LIST replied %#v; cannot check README.md", reply)
	}
	have := map[string]bool{}
	for _, n := range names {
		name, _ := n.(string)
		if name != "" && !strings.Contains(name, "|") {
			have[strings.ToUpper(name)] = true
		}
	}
	for _, name := range sortedKeys(supported) {
		if !have[name] {
			t.Errorf("README.md lists %s as supported, but the server does not have it", name)
		}
	}
	for _, name := range sortedKeys(have) {
		if !supported[name] {
			t.Errorf("the server has %s, but README.md's command table does not list it as supported", name)
		}
	}
	for _, name := range sortedKeys(unsupported) {
		if have[name] {
			t.Errorf("README.md lists %s as not supported, but the server has it", name)
		}
	}
}

var (
	parenRe    = regexp.MustCompile(`\(([^)]*)\)`)
	backtickRe = regexp.MustCompile("`([A-Z][A-Z_]*)`")
)

// readmeCommands parses the "Command compatibility" table: the third column lists command
// names in backticks; subcommands follow in parentheses, and "(not ...)" lists commands of
// the group that are missing.
func readmeCommands(t *testing.T, path string) (supported, unsupported map[string]bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Command compatibility")
	if !ok {
		t.Fatalf("%s has no \"## Command compatibility\" section", path)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	supported, unsupported = map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || strings.HasPrefix(strings.TrimSpace(cells[1]), "-") {
			continue
		}
		status, cmds := strings.TrimSpace(cells[2]), cells[3]
		for _, m := range parenRe.FindAllStringSubmatch(cmds, -1) {
			if strings.HasPrefix(m[1], "not ") {
				for _, w := range backtickRe.FindAllStringSubmatch(m[1], -1) {
					unsupported[w[1]] = true
				}
			}
		}
		cmds = parenRe.ReplaceAllString(cmds, "")
		for _, w := range backtickRe.FindAllStringSubmatch(cmds, -1) {
			switch status {
			case "supported", "partial":
				supported[w[1]] = true
			case "not supported":
				unsupported[w[1]] = true
			default:
				t.Fatalf("%s: unknown status %q in %q", path, status, line)
			}
		}
	}
	return supported, unsupported
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestCommandThreads(t *testing.T) {
	for _, tc := range []struct {
		configured int
		envSet     bool
		cpus, want int
	}{
		{configured: 3, envSet: true, cpus: 8, want: 3},
		{configured: 0, envSet: true, cpus: 8, want: 8},
		{configured: 0, envSet: false, cpus: 8, want: 4},
		{configured: 0, envSet: false, cpus: 2, want: 1},
		{configured: 0, envSet: false, cpus: 1, want: 1},
	} {
		if got := commandThreads(tc.configured, tc.envSet, tc.cpus); got != tc.want {
			t.Errorf("commandThreads(%d, %v, %d) = %d, want %d", tc.configured, tc.envSet, tc.cpus, got, tc.want)
		}
	}
}
