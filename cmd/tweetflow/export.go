package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/export"
	"github.com/tweetflow/tweetflow/mode/core"
)

func newExportCmd() *cobra.Command {
	var dbPath, format, from, to, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the stored tweets, their fields and each model's result as JSON lines or the QUT toolkit's CSV",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			f, err := export.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			o := export.Options{Format: f}
			if o.From, err = parseFlagTime("from", from); err != nil {
				return err
			}
			if o.To, err = parseFlagTime("to", to); err != nil {
				return err
			}
			// sqlite.Open creates a missing file; an export of a typo must
			// fail instead of printing nothing.
			if _, err := os.Stat(dbPath); err != nil {
				return fmt.Errorf("--db: %w", err)
			}
			st, err := sqlite.Open(ctx, dbPath, nil)
			if err != nil {
				return err
			}
			defer st.Close(ctx)
			w := cmd.OutOrStdout()
			var file *os.File
			if out != "" && out != "-" {
				if file, err = os.Create(out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer file.Close() // on an error path; the success path closes and checks
				w = file
			}
			n, err := export.Write(ctx, w, st, o)
			if err != nil {
				return err
			}
			if file != nil {
				if err := file.Close(); err != nil {
					return fmt.Errorf("--out %s: %w", out, err)
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d tweets\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", envOr(core.EnvSQLitePath, "tweetflow.db"), "SQLite store written by 'tweetflow run' [$SQLITE_PATH]")
	cmd.Flags().StringVar(&format, "format", string(export.JSONL), "jsonl (fields and <model>_value/<model>_label) or qut (the QUT toolkit's CSV)")
	cmd.Flags().StringVar(&from, "from", "", "only tweets at or after this time (RFC 3339)")
	cmd.Flags().StringVar(&to, "to", "", "only tweets before this time (RFC 3339)")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of stdout")
	return cmd
}
