package main

import (
	"fmt"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/export"
	"github.com/tweetflow/tweetflow/mode/core"
)

func newExportCmd() *cobra.Command {
	var dbPath, format, out string
	var o export.Options
	var noProgress bool
	var ef *esFlags
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the stored tweets, their fields and each model's result as JSON lines, CSV, Parquet or the QUT toolkit's CSV",
		Long: `export streams every stored tweet of [--from, --to) in time order with its
fields and each model's <model>_value and <model>_label, from the SQLite
store (--db) or, with --es, from an Elasticsearch index through one point in
time (a consistent view of a live index) paged with search_after.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			f, err := export.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			o.Format = f
			j := export.Job{DB: dbPath, Out: out, Options: o}
			if ef.set() {
				if cmd.Flags().Changed("db") {
					return fmt.Errorf("--db and --es name two stores: give one")
				}
				if j.ES, err = ef.config(); err != nil {
					return err
				}
			}
			if f, ok := terminal(cmd.ErrOrStderr()); ok && !noProgress {
				var bar *progressbar.ProgressBar
				j.Progress = func(total int64) func(int64) {
					bar = newBar(f, total, "export", "tweets")
					return func(n int64) { _ = bar.Set64(n) }
				}
				defer func() {
					if bar != nil {
						bar.Finish()
					}
				}()
			}
			n, err := export.Run(ctx, j, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d tweets\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", envOr(core.EnvSQLitePath, "tweetflow.db"), "SQLite store written by 'tweetflow run' [$SQLITE_PATH]")
	cmd.Flags().StringVar(&format, "format", string(export.JSONL), "jsonl, csv or parquet (fields and <model>_value/<model>_label), or qut (the QUT toolkit's CSV)")
	cmd.Flags().Var(timeValue{&o.From}, "from", "only tweets at or after this time (RFC 3339)")
	cmd.Flags().Var(timeValue{&o.To}, "to", "only tweets before this time (RFC 3339)")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of stdout")
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "no progress bar (it is drawn only when stderr is a terminal)")
	ef = addESFlags(cmd.Flags())
	return cmd
}
