package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/strata-kv/strata/config"
	"github.com/strata-kv/strata/server"
)

func serverCmd() *cobra.Command {
	var cfgFile, addr, dataDir, replicaOf string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.Default()
			if cfgFile != "" {
				data, err := os.ReadFile(cfgFile)
				if err != nil {
					return fmt.Errorf("read config: %w", err)
				}
				if cfg, err = config.Load(data); err != nil {
					return fmt.Errorf("%s: %w", cfgFile, err)
				}
			}
			if cmd.Flags().Changed("addr") {
				cfg.Server.Addr = addr
			}
			if cmd.Flags().Changed("data-dir") {
				cfg.Server.DataDir = dataDir
			}
			if cmd.Flags().Changed("replicaof") {
				cfg.Replication.ReplicaOf = replicaOf
			}
			if err := cfg.Validate(); err != nil {
				if cfgFile != "" {
					return fmt.Errorf("%s: %w", cfgFile, err)
				}
				return err
			}
			log := newLogger(cfg.Server.LogLevel)
			threads := commandThreads(cfg.Server.Threads, os.Getenv("GOMAXPROCS") != "", runtime.GOMAXPROCS(0))
			runtime.GOMAXPROCS(threads)
			log.Info().Int("threads", threads).Msg("command threads")
			srv, err := server.New(cfg, cfgFile, log)
			if err != nil {
				return err
			}
			if err := srv.Listen(); err != nil {
				srv.Close()
				return err
			}
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			go func() {
				select {
				case sig := <-sigs:
					log.Info().Str("signal", sig.String()).Msg("shutting down")
					srv.Close()
				case <-srv.Done():
				}
			}()
			err = srv.Serve()
			srv.Close()
			log.Info().Msg("stopped")
			return err
		},
	}
	cmd.Flags().StringVar(&cfgFile, "config", "", "TOML configuration file")
	cmd.Flags().StringVar(&addr, "addr", "", "listen address host:port (overrides the file)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory (overrides the file)")
	cmd.Flags().StringVar(&replicaOf, "replicaof", "", "follow the master at HOST:PORT (overrides the file)")
	return cmd
}

// commandThreads resolves server.threads: an explicit count wins, then $GOMAXPROCS,
// then half the CPUs the process may use (cpus), at least one.
func commandThreads(configured int, envSet bool, cpus int) int {
	switch {
	case configured > 0:
		return configured
	case envSet:
		return cpus
	default:
		return max(1, cpus/2)
	}
}

func newLogger(level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	fi, err := os.Stderr.Stat()
	tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "2006-01-02 15:04:05.000", NoColor: !tty}).
		Level(lvl).With().Timestamp().Logger()
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "strata %s (redis %s compatible)\n", server.Version, server.RedisVersion)
		},
	}
}
