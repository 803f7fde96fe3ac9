package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sentinel is one unmodified redis-sentinel process.
type sentinel struct {
	t       testing.TB
	addr    string
	cfgPath string
	logPath string
	cmd     *exec.Cmd
	exited  chan error
}

func startSentinel(t testing.TB, bin, masterAddr string) *sentinel {
	t.Helper()
	dir := t.TempDir()
	s := &sentinel{t: t, addr: freeAddr(t), cfgPath: filepath.Join(dir, "sentinel.conf"), logPath: filepath.Join(dir, "sentinel.log")}
	_, port, _ := strings.Cut(s.addr, ":")
	mh, mp, _ := strings.Cut(masterAddr, ":")
	cfg := fmt.Sprintf(`port %s
bind 127.0.0.1
protected-mode no
daemonize no
dir %s
logfile %q
loglevel verbose
sentinel resolve-hostnames no
sentinel monitor mymaster %s %s 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 10000
sentinel parallel-syncs mymaster 1
`, port, dir, s.logPath, mh, mp)
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, s.cfgPath)
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(s.cmd, s.exited)
	t.Cleanup(s.stop)
	c := s.client()
	defer c.Close()
	eventually(t, 10*time.Second, "sentinel "+s.addr+" to answer PING", func() (bool, string) {
		select {
		case err := <-s.exited:
			s.exited <- err
			t.Fatalf("sentinel exited at start: %v\n%s", err, s.logTail(40))
		default:
		}
		err := c.Ping(context.Background()).Err()
		return err == nil, fmt.Sprint(err)
	})
	return s
}

func (s *sentinel) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.addr, DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, MaxRetries: -1, DisableIdentity: true, Protocol: 2})
}

func (s *sentinel) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}

func (s *sentinel) logTail(lines int) string {
	b, _ := os.ReadFile(s.logPath)
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// events returns the log lines of sentinel events (the "+xxx"/"-xxx" lines).
func (s *sentinel) events() string {
	b, _ := os.ReadFile(s.logPath)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, " # "); i >= 0 {
			out = append(out, l[i+3:])
		} else if strings.Contains(l, " * ") && (strings.Contains(l, "+") || strings.Contains(l, "-")) {
			if j := strings.Index(l, " * "); j >= 0 {
				out = append(out, l[j+3:])
			}
		}
	}
	return strings.Join(out, "\n")
}

// masterState returns SENTINEL MASTER mymaster as a map.
func (s *sentinel) masterState() (map[string]string, error) {
	c := s.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	v, err := c.Do(ctx, "sentinel", "master", "mymaster").Slice()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for i := 0; i+1 < len(v); i += 2 {
		m[fmt.Sprint(v[i])] = fmt.Sprint(v[i+1])
	}
	return m, nil
}

// Unmodified Redis Sentinel fails a Strata master over to one of its two followers:
// it promotes one, re-points the other, and turns the old master, restarted on its
// data, into a follower; no write acknowledged (and WAITed for) before the kill is lost.
func TestSentinelFailover(t *testing.T) {
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		t.Fatalf("redis-sentinel is not installed: the Makefile's TEST_DEPS must install the Debian package redis-sentinel (%v)", err)
	}
	m := replProc(t, "", "", syncAlways)
	m.start()
	f1 := replProc(t, m.addr, "", syncAlways)
	f2 := replProc(t, m.addr, "", syncAlways)
	f1.start()
	f2.start()
	procs := []*proc{m, f1, f2}
	caughtUp(t, 20*time.Second, m, f1, f2)

	var sentinels []*sentinel
	for i := 0; i < 3; i++ {
		sentinels = append(sentinels, startSentinel(t, bin, m.addr))
	}
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("STRATA_TEST_LOGS") == "" {
			return
		}
		for i, s := range sentinels {
			t.Logf("---- sentinel %d (%s) log tail:\n%s", i, s.addr, s.logTail(60))
		}
		for _, p := range procs {
			t.Logf("---- strata %s log tail:\n%s", p.addr, p.logText())
		}
	})
	// Every sentinel sees both followers and the two other sentinels.
	for i, s := range sentinels {
		eventually(t, 30*time.Second, fmt.Sprintf("sentinel %d to discover the followers and its peers", i), func() (bool, string) {
			st, err := s.masterState()
			if err != nil {
				return false, err.Error()
			}
			return st["num-slaves"] == "2" && st["num-other-sentinels"] == "2" && st["flags"] == "master",
				fmt.Sprintf("flags=%s num-slaves=%s num-other-sentinels=%s", st["flags"], st["num-slaves"], st["num-other-sentinels"])
		})
	}

	// Acknowledged writes, confirmed on both followers with WAIT.
	mc := m.quick(t)
	ctx := ctxTimeout(t, 120*time.Second)
	writeAllTypes(t, mc, "sentinel", 20)
	var acked []string
	for i := 0; i < 200; i++ {
		k := "acked:" + strconv.Itoa(i)
		if err := mc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, k)
		if i%50 == 49 {
			n, err := mc.Do(ctx, "wait", 1, 2000).Int()
			if err != nil || n < 1 {
				t.Fatalf("WAIT 1 2000 = %d, %v", n, err)
			}
		}
	}
	if n, err := mc.Do(ctx, "wait", 2, 2000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT 2 2000 = %d, %v", n, err)
	}

	killed := time.Now()
	m.kill9()

	// A follower becomes master, as Sentinel tells and as ROLE says.
	var newMaster, other *proc
	eventually(t, 45*time.Second, "Sentinel to promote a follower", func() (bool, string) {
		state := ""
		for _, f := range []*proc{f1, f2} {
			c := f.client()
			r, err := roleOf(c)
			c.Close()
			state += fmt.Sprintf("%s role=%s (%v); ", f.addr, r, err)
			if r == "master" {
				newMaster = f
			}
		}
		return newMaster != nil, state
	})
	promoted := time.Since(killed)
	other = f1
	if newMaster == f1 {
		other = f2
	}
	eventually(t, 30*time.Second, "every sentinel to report the new master", func() (bool, string) {
		state := ""
		for _, s := range sentinels {
			c := s.client()
			v, err := c.Do(context.Background(), "sentinel", "get-master-addr-by-name", "mymaster").StringSlice()
			c.Close()
			if err != nil || len(v) != 2 || v[0]+":"+v[1] != newMaster.addr {
				return false, fmt.Sprintf("sentinel %s says %v (%v)", s.addr, v, err)
			}
			state += s.addr + " ok; "
		}
		return true, state
	})
	// The other follower is re-pointed at the new master.
	oc := other.quick(t)
	eventually(t, 30*time.Second, "the other follower to follow the new master", func() (bool, string) {
		st, err := info(oc, "replication")
		if err != nil {
			return false, err.Error()
		}
		return st["role"] == "slave" && st["master_host"]+":"+st["master_port"] == newMaster.addr && st["master_link_status"] == "up",
			fmt.Sprintf("role=%s master=%s:%s link=%s", st["role"], st["master_host"], st["master_port"], st["master_link_status"])
	})
	repointed := time.Since(killed)

	// Sentinel persisted the new roles with CONFIG REWRITE.
	if b, _ := os.ReadFile(other.cfgPath); !strings.Contains(string(b), newMaster.addr) {
		t.Errorf("the re-pointed follower's config file does not name the new master %s:\n%s", newMaster.addr, b)
	}

	// The old master comes back on its data and is turned into a follower of whichever
	// server Sentinel names as master by then (on a loaded machine Sentinel may have
	// failed over once more meanwhile).
	m.start()
	byAddr := map[string]*proc{f1.addr: f1, f2.addr: f2, m.addr: m}
	eventually(t, 45*time.Second, "the old master to be turned into a follower", func() (bool, string) {
		sc := sentinels[0].client()
		v, err := sc.Do(context.Background(), "sentinel", "get-master-addr-by-name", "mymaster").StringSlice()
		sc.Close()
		if err != nil || len(v) != 2 || byAddr[v[0]+":"+v[1]] == nil || v[0]+":"+v[1] == m.addr {
			return false, fmt.Sprintf("sentinel names %v (%v)", v, err)
		}
		current := byAddr[v[0]+":"+v[1]]
		c := m.client()
		defer c.Close()
		st, err := info(c, "replication")
		if err != nil {
			return false, err.Error()
		}
		if st["role"] == "slave" && st["master_host"]+":"+st["master_port"] == current.addr && st["master_link_status"] == "up" {
			newMaster = current
			return true, ""
		}
		return false, fmt.Sprintf("role=%s master=%s:%s link=%s (sentinel's master %s)", st["role"], st["master_host"], st["master_port"], st["master_link_status"], current.addr)
	})
	rejoined := time.Since(killed)
	if newMaster == f1 {
		other = f2
	} else {
		other = f1
	}

	nc := newMaster.quick(t)
	if err := nc.Set(ctx, "after-failover", "1", 0).Err(); err != nil {
		t.Fatalf("write on the new master: %v", err)
	}
	for _, p := range []*proc{newMaster, other, m} {
		c := p.client()
		for _, k := range acked {
			if err := c.Get(ctx, k).Err(); err != nil {
				c.Close()
				t.Fatalf("acknowledged key %s missing on %s after the failover: %v", k, p.addr, err)
			}
		}
		c.Close()
	}
	sameData(t, newMaster, other, m)
	t.Logf("failover: promoted %s after %s, other follower re-pointed after %s, old master following again after %s",
		newMaster.addr, promoted.Round(100*time.Millisecond), repointed.Round(100*time.Millisecond), rejoined.Round(100*time.Millisecond))
	for i, s := range sentinels {
		for _, l := range strings.Split(s.events(), "\n") {
			if strings.Contains(l, "failover-end") || strings.Contains(l, "switch-master") || strings.Contains(l, "convert-to-slave") || strings.Contains(l, "-failover-abort") {
				t.Logf("sentinel %d: %s", i, l)
			}
		}
	}
}
