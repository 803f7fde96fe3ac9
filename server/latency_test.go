package server

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/strata-kv/strata/binlog"
)

// slowSyncFile takes its time to fsync, like a busy disk.
type slowSyncFile struct{ *os.File }

func (f slowSyncFile) Sync() error {
	time.Sleep(30 * time.Millisecond)
	return f.File.Sync()
}

// The latency monitor samples commands and binlog fsyncs that reach the threshold, one
// sample per event and second, and LATENCY reports them with Redis's replies.
func TestLatencyMonitor(t *testing.T) {
	open := func(path string, flag int, perm os.FileMode) (binlog.File, error) {
		f, err := os.OpenFile(path, flag, perm)
		if err != nil {
			return nil, err
		}
		return slowSyncFile{f}, nil
	}
	ts := serveDir(t, t.TempDir(), nil, WithBinlogFiles(open))
	c := ts.client(t, 2)
	ctx := ctxT(t)

	// Off by default: nothing is sampled.
	must(t, c, "debug", "sleep", "0.02")
	kEq(t, c, []any{}, "latency", "latest")
	if got := fmt.Sprint(must(t, c, "latency", "doctor")); !strings.Contains(got, "disabled") {
		t.Fatalf("LATENCY DOCTOR while off: %s", got)
	}

	must(t, c, "config", "set", "latency-monitor-threshold", "10")
	if got := c.ConfigGet(ctx, "latency-monitor-threshold").Val(); got["latency-monitor-threshold"] != "10" {
		t.Fatalf("CONFIG GET latency-monitor-threshold = %v", got)
	}
	must(t, c, "ping")          // fast and quick: not sampled
	must(t, c, "set", "k", "v") // its fsync takes 30ms under sync = always
	must(t, c, "debug", "sleep", "0.025")
	must(t, c, "debug", "sleep", "0.04") // same second (most likely): one sample, the worse
	latest := map[string][]int64{}
	for _, e := range must(t, c, "latency", "latest").([]any) {
		ev := e.([]any)
		latest[ev[0].(string)] = []int64{ev[1].(int64), ev[2].(int64), ev[3].(int64)}
	}
	now := time.Now().Unix()
	cmd, fsync := latest["command"], latest["binlog-fsync"]
	if len(latest) != 2 || cmd == nil || fsync == nil {
		t.Fatalf("LATENCY LATEST = %v, want command and binlog-fsync", latest)
	}
	if cmd[0] < now-5 || cmd[0] > now || cmd[1] < 25 || cmd[2] < 40 || fsync[1] < 30 {
		t.Fatalf("LATENCY LATEST command %v binlog-fsync %v (now %d)", cmd, fsync, now)
	}
	hist := must(t, c, "latency", "history", "command").([]any)
	if len(hist) < 1 || len(hist) > 2 {
		t.Fatalf("LATENCY HISTORY command = %v", hist)
	}
	kEq(t, c, []any{}, "latency", "history", "nosuch")
	if got := fmt.Sprint(must(t, c, "latency", "doctor")); !strings.Contains(got, "command") || !strings.Contains(got, "binlog-fsync") {
		t.Fatalf("LATENCY DOCTOR: %s", got)
	}

	kEq(t, c, int64(1), "latency", "reset", "command", "nosuch")
	kEq(t, c, int64(1), "latency", "reset")
	kEq(t, c, []any{}, "latency", "latest")
	kEq(t, c, int64(0), "latency", "reset")

	mustErr(t, c, "ERR wrong number of arguments for 'latency|history' command", "latency", "history")
	mustErr(t, c, "ERR wrong number of arguments for 'latency|latest' command", "latency", "latest", "x")
	mustErr(t, c, "ERR unknown subcommand 'foo'. Try LATENCY HELP.", "latency", "foo")
	mustErr(t, c, "ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - argument couldn't be parsed into an integer", "config", "set", "latency-monitor-threshold", "x")
}
