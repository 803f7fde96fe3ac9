// Command strata is the Strata server and its tools.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "strata",
		Short:         "Strata: a Redis-compatible, disk-backed key-value server",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCmd(), versionCmd(), binlogCmd(), dumpCmd(), loadCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "strata:", err)
		os.Exit(1)
	}
}
