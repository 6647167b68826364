package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/internal/commalist"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/embedded"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

func newRunCmd() *cobra.Command {
	var (
		cfg         = embedded.Defaults()
		models      string
		summaryPath string
		onError     string
		encoding    string
		timeFormat  string
		noProgress  bool
		verbose     bool
		parseOnly   bool
		cpuProfile  string
		alertsFlags func()   // maps the alert flags onto cfg.Alerts (alerts.go)
		ef          *esFlags // --es: Elasticsearch instead of SQLite (es.go)
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Replay a tweets CSV through every model into the embedded SQLite store",
		Long: `run reads a tweets CSV (sentiment140 layout by default), scores every tweet
with every model, joins each tweet's results by tweet id and stores them in
one SQLite file (or Elasticsearch with --es). Ctrl-C stops reading;
everything already read is still scored and stored, within --drain-timeout;
a second Ctrl-C stops at once. Running again into the same store is
idempotent. --serve shows the SQLite store and cannot be combined with --es
(use Kibana for Elasticsearch).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cfg.Logger, cfg.Out = log, cmd.OutOrStdout()
			cfg.Producer.OnError = producer.OnError(onError)
			cfg.CSV.Encoding = csv.Encoding(encoding)
			cfg.CSV.TimeFormat = csv.TimeFormat(timeFormat)
			cfg.Models = commalist.Split(models)
			var err error
			if cfg.Store, err = storeConfig(cmd, cfg.Store, ef); err != nil {
				return err
			}
			alertsFlags()
			cfg.Alerts.ESIndex = ef.alertsIndex
			errOut := cmd.ErrOrStderr()
			if f, ok := terminal(errOut); ok && !noProgress {
				bar := newBar(f, embedded.ExpectedRows(cfg), "tweets", "rows")
				cfg.Producer.OnBatch = func(s producer.Stats) { _ = bar.Set64(s.RowsRead) }
				defer bar.Finish()
			}
			if cpuProfile != "" {
				pf, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				if err := pprof.StartCPUProfile(pf); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer func() { pprof.StopCPUProfile(); pf.Close() }()
			}
			if parseOnly {
				sum, err := embedded.ReadOnly(ctx, cfg)
				fmt.Fprintf(cmd.OutOrStdout(), "parse only: %d rows read, %d rejected, %.2fs, %.0f rows/s\n",
					sum.RowsRead, sum.RowsRejected, sum.Seconds, float64(sum.RowsRead)/max(sum.Seconds, 1e-9))
				return err
			}
			var werr error
			reported := false
			report := func(sum embedded.Summary) {
				reported = true
				sum.Print(cmd.OutOrStdout())
				if summaryPath != "" {
					werr = sum.WriteJSON(summaryPath)
				}
			}
			cfg.OnSummary = report
			sum, err := embedded.Run(ctx, cfg)
			if err != nil && !reported && (sum.Seconds > 0 || sum.RowsRead > 0) {
				report(sum) // a failed run still says what it did
			}
			return errors.Join(err, werr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Data, "data", cfg.Data, "tweets to replay: a file, comma-separated files or a quoted glob ('col/*.jsonl.gz'), - for stdin; gzip and zstd read transparently; several files merge in event-time order")
	f.StringVar((*string)(&cfg.Format), "format", string(source.Auto), "input format: auto (decided from the content), sentiment140, csv, twitter-v2 (twarc2), twitter-v1, qut")
	f.StringVar(&cfg.ModelsDir, "models-dir", envOr(core.EnvModelsDir, cfg.ModelsDir), "folder holding the model folders [$MODELS_DIR]")
	f.StringVar(&models, "models", os.Getenv(core.EnvModels), "comma-separated models to run (default: every folder under --models-dir) [$MODELS]")
	f.StringVar(&cfg.Store.SQLite, "db", envOr(core.EnvSQLitePath, cfg.Store.SQLite), "SQLite database file [$SQLITE_PATH]")
	f.StringVar(&cfg.Scorer.LibraryPath, "onnxruntime-lib", "", "ONNX Runtime library (default $ONNXRUNTIME_LIB or lib/onnxruntime/)")
	f.Float64Var(&cfg.Producer.Speed, "speed", 0, "replay speed: gaps between tweet timestamps are divided by this; 0 = as fast as possible")
	f.Float64Var(&cfg.Producer.MaxRate, "max-rate", 0, "at most this many tweets per second (0 = no cap)")
	f.Int64Var(&cfg.Producer.Limit, "limit", 0, "stop after this many tweets (0 = all)")
	f.IntVar(&cfg.StartRow, "start-row", envInt("START_ROW", cfg.StartRow), "first data row to replay, 1-based, after any header (to resume: next_start_row of the summary) [$START_ROW]")
	f.IntVar(&cfg.Producer.BatchSize, "batch-size", cfg.Producer.BatchSize, "tweets per scoring batch")
	f.StringVar(&onError, "on-error", "skip", "bad rows: skip (count by reason and go on) or stop")
	f.StringVar(&summaryPath, "summary-json", "", "write the summary as JSON to this file")
	f.BoolVar(&cfg.CSV.Header, "header", false, "the first line of the CSV names the columns")
	f.StringVar(&encoding, "encoding", "utf-8", "CSV encoding: utf-8 (invalid bytes reject the row), latin-1, or auto (per line)")
	f.StringVar(&timeFormat, "time-format", "sentiment140", "timestamp format: sentiment140, rfc3339, unix, unix_ms")
	f.IntVar(&cfg.CSV.Columns, "columns", 0, "columns per row (default 6, or the header's count)")
	f.StringVar(&cfg.CSV.ID, "id-col", "1", "id column: 0-based index, or a header name")
	f.StringVar(&cfg.CSV.Time, "time-col", "2", "timestamp column")
	f.StringVar(&cfg.CSV.User, "user-col", "4", `user column ("-" for none)`)
	f.StringVar(&cfg.CSV.Text, "text-col", "5", "text column")
	f.StringToStringVar(&cfg.CSV.Keep, "keep", nil, "extra columns to keep, name=column (repeatable), e.g. target=0")
	f.DurationVar(&cfg.JoinTimeout, "join-timeout", cfg.JoinTimeout, "write a tweet as partial when a model has not answered after this long")
	f.IntVar(&cfg.MaxPending, "max-pending", cfg.MaxPending, "tweets held in memory by the join before the producer is slowed down")
	f.IntVar(&cfg.Workers, "workers", 0, "concurrent scoring calls (default: number of CPUs)")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "after Ctrl-C, give up storing what was read after this long (a second Ctrl-C stops at once)")
	f.BoolVar(&noProgress, "no-progress", false, "no progress bar")
	f.BoolVarP(&verbose, "verbose", "v", false, "log at info level")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	f.BoolVar(&parseOnly, "parse-only", false, "only read and parse the CSV (no models, no store): the baseline for benchmarks")
	alertsFlags = addAlertFlags(f, &cfg.Alerts)
	ef = addESFlags(f)
	ef.addStoreFlags(f, cfg.Store.ESDeadLetter)
	f.StringVar(&cfg.Serve, "serve", "", "serve the dashboard on this address (e.g. :8080) live during the run and after it until Ctrl-C (SQLite only)")
	return cmd
}
