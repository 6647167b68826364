package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/export"
	"github.com/tweetflow/tweetflow/export/esstore"
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
			var st exportSource
			if ef.set() {
				if cmd.Flags().Changed("db") {
					return fmt.Errorf("--db and --es name two stores: give one")
				}
				cfg, err := ef.config()
				if err != nil {
					return err
				}
				if err := cfg.Normalize(); err != nil {
					return fmt.Errorf("--es: %w", err)
				}
				es, err := elastic.NewClient(cfg, elastic.RetryPolicy{})
				if err != nil {
					return fmt.Errorf("--es: %w", err)
				}
				st = esstore.New(es, cfg.Index, esstore.Options{})
			} else {
				// sqlite.Open creates a missing file; an export of a typo
				// must fail instead of printing nothing.
				if _, err := os.Stat(dbPath); err != nil {
					return fmt.Errorf("--db: %w", err)
				}
				db, err := sqlite.Open(ctx, dbPath, nil)
				if err != nil {
					return err
				}
				defer db.Close(ctx)
				st = db
			}
			w := cmd.OutOrStdout()
			var file *os.File
			if out != "" && out != "-" {
				if file, err = os.Create(out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer file.Close() // on an error path; the success path closes and checks
				w = file
			}
			if f, ok := terminal(cmd.ErrOrStderr()); ok && !noProgress {
				total, err := st.Count(ctx, o.From, o.To)
				if err != nil {
					return err
				}
				bar := newBar(f, total, "export", "tweets")
				o.Progress = func(n int64) { _ = bar.Set64(n) }
				defer bar.Finish()
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
	cmd.Flags().StringVar(&format, "format", string(export.JSONL), "jsonl, csv or parquet (fields and <model>_value/<model>_label), or qut (the QUT toolkit's CSV)")
	cmd.Flags().Var(timeValue{&o.From}, "from", "only tweets at or after this time (RFC 3339)")
	cmd.Flags().Var(timeValue{&o.To}, "to", "only tweets before this time (RFC 3339)")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of stdout")
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "no progress bar (it is drawn only when stderr is a terminal)")
	ef = addESFlags(cmd.Flags())
	return cmd
}

// exportSource is a store export reads: SQLite or an Elasticsearch index.
type exportSource interface {
	export.Store
	Count(ctx context.Context, from, to time.Time) (int64, error)
}
