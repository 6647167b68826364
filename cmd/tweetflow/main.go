// Command tweetflow streams tweets through metadata models and stores the
// joined results. This package only wires: it parses flags, opens drivers and
// starts the cores; the logic lives in packages that tests reach directly.
package main

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/mode/shutdown"
)

func main() {
	// The first signal stops gracefully (stop reading, drain within the
	// drain timeout); the second aborts the drain (shutdown).
	ctx, stop := shutdown.Notify(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tweetflow:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "tweetflow",
		Short:         "Stream tweets through metadata models and index the joined results",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// One line per subcommand; each lives in its own file.
	root.AddCommand(
		newVersionCmd(),
		newTrainCmd(),
		newEvalCmd(),
		newScoreCmd(),
		newServeCmd(),
		newAlertsCmd(),
		newRunCmd(),
		newGenCmd(),
		newProduceCmd(),
		newFunctionCmd(),
		newAggregateCmd(),
		newKafkaCmd(),
		newESCmd(),
		newKibanaCmd(),
		newExportCmd(),
		newNetworkCmd(),
	)
	return root
}

// group is a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	cmd.AddCommand(subs...)
	return cmd
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "tweetflow", version)
			return err
		},
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
