package main

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/strata-kv/strata/tools"
)

func binlogCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{Use: "binlog", Short: "Inspect the binlog of a data directory"}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "./var", "data directory")

	var from, to uint64
	var asJSON bool
	dump := &cobra.Command{
		Use:   "dump",
		Short: "Print records (ID, time, db, changes), one per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return tools.DumpBinlog(cmd.OutOrStdout(), filepath.Join(dataDir, "binlog"), from, to, asJSON)
		},
	}
	dump.Flags().Uint64Var(&from, "from", 0, "first record ID (default: the oldest)")
	dump.Flags().Uint64Var(&to, "to", 0, "last record ID (default: the newest)")
	dump.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every segment and print a summary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return tools.VerifyBinlog(cmd.OutOrStdout(), filepath.Join(dataDir, "binlog"))
		},
	}
	cmd.AddCommand(dump, verify)
	return cmd
}
