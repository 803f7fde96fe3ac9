package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/strata-kv/strata/tools"
)

func progressMode(quiet bool) tools.ProgressMode {
	if quiet {
		return tools.ProgressQuiet
	}
	return tools.ProgressAuto
}

// dumpCmd is `strata dump`: a stopped server's data directory (or a BGSAVE snapshot)
// to a dump file.
func dumpCmd() *cobra.Command {
	var dataDir, out, addr, password, tmpDir string
	var quiet, allowStale bool
	cmd := &cobra.Command{
		Use:   "dump (--addr HOST:PORT | --data-dir DIR) -o FILE",
		Short: "Write a running server, a data directory or a snapshot to a dump file",
		Long: `Write a consistent, point-in-time copy of the data to a compressed, checksummed dump
file. --addr dumps a running server (master or follower) over the network without
stopping it: the server makes a checkpoint and streams it, as for a follower's full
sync. --data-dir dumps a stopped server's data directory, or a snapshot made by BGSAVE
(<data_dir>/snapshots/<name>). -o - writes to standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("dump: -o FILE is required (- for standard output)")
			}
			if out == "-" {
				if f, ok := cmd.OutOrStdout().(*os.File); ok && isatty.IsTerminal(f.Fd()) {
					return errors.New("dump: refusing to write a binary dump to a terminal; redirect standard output or use -o FILE")
				}
			}
			o := tools.DumpOptions{
				DataDir:      dataDir,
				AllowStale:   allowStale,
				Progress:     cmd.ErrOrStderr(),
				ProgressMode: progressMode(quiet),
			}
			if addr != "" {
				if cmd.Flags().Changed("data-dir") {
					return errors.New("dump: give one of --addr and --data-dir")
				}
				_, err := tools.DumpServerFile(out, cmd.OutOrStdout(), tools.ServerOptions{Addr: addr, Password: password}, tmpDir, o)
				return err
			}
			_, err := tools.DumpFile(out, cmd.OutOrStdout(), o)
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./var", "data directory of a stopped server, or a snapshot directory")
	cmd.Flags().StringVar(&addr, "addr", "", "address of a running server to dump over the network")
	cmd.Flags().StringVar(&password, "password", "", "password of the server (--addr)")
	cmd.Flags().StringVar(&tmpDir, "tmp-dir", "", "where the copy fetched with --addr is kept while it is dumped")
	cmd.Flags().StringVarP(&out, "output", "o", "", "dump file to write (- for standard output)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress display")
	cmd.Flags().BoolVar(&allowStale, "allow-stale", false, "dump even if the binlog holds records the database has not applied")
	return cmd
}

// loadCmd is `strata load`: a dump file into a new data directory (fast: SST
// ingestion) or into a running, empty server (replayed as commands).
func loadCmd() *cobra.Command {
	var dataDir, addr, password string
	var quiet, force bool
	cmd := &cobra.Command{
		Use:   "load FILE (--data-dir DIR | --addr HOST:PORT)",
		Short: "Load a dump file into a data directory or a running server",
		Long: `Load a dump file (- for standard input).

--data-dir DIR is the fast path: it builds DIR/db from SST files RocksDB ingests
directly; a server started on DIR continues the binlog after the dump's binlog ID. The
directory must hold no database or binlog unless --force, which replaces them.

--addr HOST:PORT replays the dump into a running server as ordinary commands (SET,
HSET, RPUSH, SADD, ZADD, PEXPIREAT) over pipelines: much slower, but needs no
restart. The server must be empty (every database) unless --force.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (dataDir == "") == (addr == "") {
				return errors.New("load: give exactly one of --data-dir and --addr")
			}
			var in io.Reader = cmd.InOrStdin()
			var size int64
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("load: %w", err)
				}
				defer f.Close()
				if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
					size = st.Size()
				}
				in = f
			}
			o := tools.LoadOptions{Size: size, Force: force, Progress: cmd.ErrOrStderr(), ProgressMode: progressMode(quiet)}
			var res tools.LoadResult
			var err error
			if dataDir != "" {
				res, err = tools.LoadDir(in, dataDir, o)
			} else {
				res, err = tools.LoadServer(in, tools.ServerOptions{Addr: addr, Password: password}, o)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "load: warning: key count corrected:", w)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory to build (fast path)")
	cmd.Flags().StringVar(&addr, "addr", "", "address of a running server to load into")
	cmd.Flags().StringVar(&password, "password", "", "password of the server (--addr)")
	cmd.Flags().BoolVar(&force, "force", false, "load into a target that already holds data")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress display")
	return cmd
}
