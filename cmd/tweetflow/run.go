package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/pipeline"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

func newRunCmd() *cobra.Command {
	var (
		cfg         pipeline.RunConfig
		models      string
		summaryPath string
		onError     string
		encoding    string
		timeFormat  string
		keep        []string
		noProgress  bool
		verbose     bool
		parseOnly   bool
		cpuProfile  string
		af          *alertFlags  // the alert engine's flags (alerts.go)
		ef          *esFlags     // --es: Elasticsearch instead of SQLite (es.go)
		dash        runDashboard // --serve (serve.go)
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Replay a tweets CSV through every model into the embedded SQLite store",
		Long: `run reads a tweets CSV (sentiment140 layout by default), scores every tweet
with every model, joins each tweet's results by tweet id and stores them in
one SQLite file. Ctrl-C stops reading; everything already read is still
scored and stored. Running again into the same database is idempotent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cfg.Logger = log
			cfg.Producer.OnError = producer.OnError(onError)
			cfg.CSV.Encoding = csv.Encoding(encoding)
			cfg.CSV.TimeFormat = csv.TimeFormat(timeFormat)
			if models != "" {
				cfg.Models = strings.Split(models, ",")
			}
			if len(keep) > 0 {
				cfg.CSV.Keep = map[string]string{}
				for _, kv := range keep {
					name, col, ok := strings.Cut(kv, "=")
					if !ok || name == "" || col == "" {
						return fmt.Errorf("--keep %q: want name=column", kv)
					}
					cfg.CSV.Keep[name] = col
				}
			}
			if cfg.Producer.Speed < 0 || cfg.Producer.MaxRate < 0 || cfg.Producer.Limit < 0 {
				return fmt.Errorf("--speed, --max-rate and --limit must not be negative")
			}
			dash.out, dash.log = cmd.OutOrStdout(), log
			cfg.WrapSink = func(ctx context.Context, st *sqlite.Store) (sink.Driver, error) {
				if err := dash.start(ctx, cfg.DB, cfg.ModelsDir); err != nil {
					return nil, err
				}
				next, extra, err := ef.esSink(ctx, st, cfg.ModelsDir, cfg.Models, log)
				if err != nil {
					return nil, err
				}
				drv, _, err := af.wrapSink(ctx, next, st.DB(), cfg.ModelsDir, log, extra...)
				return drv, err
			}
			errOut := cmd.ErrOrStderr()
			if f, ok := errOut.(*os.File); ok && !noProgress && isatty.IsTerminal(f.Fd()) {
				bar := newProgress(errOut, cfg)
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
			run := pipeline.Run
			if parseOnly {
				run = pipeline.ReadOnly
			}
			sum, err := run(ctx, cfg)
			if parseOnly {
				fmt.Fprintf(cmd.OutOrStdout(), "parse only: %d rows read, %d rejected, %.2fs, %.0f rows/s\n",
					sum.RowsRead, sum.RowsRejected, sum.Seconds, float64(sum.RowsRead)/max(sum.Seconds, 1e-9))
				return err
			}
			if sum.Seconds > 0 || sum.RowsRead > 0 {
				printSummary(cmd.OutOrStdout(), sum)
				if summaryPath != "" {
					if werr := writeSummary(summaryPath, sum); werr != nil && err == nil {
						err = werr
					}
				}
			}
			if derr := dash.wait(ctx); derr != nil && err == nil {
				err = derr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Data, "data", "data/sample.csv", "tweets CSV to replay")
	f.StringVar(&cfg.ModelsDir, "models-dir", "models", "folder holding the model folders")
	f.StringVar(&models, "models", "", "comma-separated models to run (default: every folder under --models-dir)")
	f.StringVar(&cfg.DB, "db", "tweetflow.db", "SQLite database file")
	f.StringVar(&cfg.Scorer.LibraryPath, "onnxruntime-lib", "", "ONNX Runtime library (default $ONNXRUNTIME_LIB or lib/onnxruntime/)")
	f.Float64Var(&cfg.Producer.Speed, "speed", 0, "replay speed: gaps between tweet timestamps are divided by this; 0 = as fast as possible")
	f.Float64Var(&cfg.Producer.MaxRate, "max-rate", 0, "at most this many tweets per second (0 = no cap)")
	f.Int64Var(&cfg.Producer.Limit, "limit", 0, "stop after this many tweets (0 = all)")
	f.IntVar(&cfg.CSV.SkipRows, "start-row", 1, "first data row to replay, 1-based, after any header (to resume: next_start_row of the summary)")
	f.IntVar(&cfg.Producer.BatchSize, "batch-size", 256, "tweets per scoring batch")
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
	f.StringSliceVar(&keep, "keep", nil, "extra columns to keep, name=column (repeatable), e.g. target=0")
	f.DurationVar(&cfg.JoinTimeout, "join-timeout", 10*time.Second, "write a tweet as partial when a model has not answered after this long")
	f.IntVar(&cfg.MaxPending, "max-pending", 16384, "tweets held in memory by the join before the producer is slowed down")
	f.IntVar(&cfg.Workers, "workers", 0, "concurrent scoring calls (default: number of CPUs)")
	f.BoolVar(&noProgress, "no-progress", false, "no progress bar")
	f.BoolVarP(&verbose, "verbose", "v", false, "log at info level")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	f.BoolVar(&parseOnly, "parse-only", false, "only read and parse the CSV (no models, no store): the baseline for benchmarks")
	af = addAlertFlags(f)
	ef = addESFlags(f)
	f.StringVar(&dash.addr, "serve", "", "serve the dashboard on this address (e.g. :8080) live during the run and after it until Ctrl-C")
	// --start-row is 1-based for people; the reader skips N-1 rows.
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if cfg.CSV.SkipRows < 1 {
			return fmt.Errorf("--start-row %d: rows are numbered from 1", cfg.CSV.SkipRows)
		}
		cfg.CSV.SkipRows--
		return nil
	}
	return cmd
}

// newProgress sizes a bar by the file's line count (a fast scan).
func newProgress(w io.Writer, cfg pipeline.RunConfig) *progressbar.ProgressBar {
	total := int64(-1)
	if n, err := countLines(cfg.Data); err == nil {
		total = n - int64(cfg.CSV.SkipRows)
		if cfg.CSV.Header {
			total--
		}
		if cfg.Producer.Limit > 0 {
			total = min(total, cfg.Producer.Limit)
		}
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("tweets"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	var last byte = '\n'
	for {
		k, err := f.Read(buf)
		if k > 0 {
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			last = buf[k-1]
		}
		if err == io.EOF {
			if last != '\n' {
				n++
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func printSummary(w io.Writer, s pipeline.Summary) {
	fmt.Fprintf(w, "rows read        %d\n", s.RowsRead)
	fmt.Fprintf(w, "rows rejected    %d", s.RowsRejected)
	if len(s.RejectedByReason) > 0 {
		var parts []string
		for _, r := range slices.Sorted(mapKeys(s.RejectedByReason)) {
			parts = append(parts, fmt.Sprintf("%s %d", r, s.RejectedByReason[r]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "tweets stored    %d (complete %d, partial %d)\n", s.TweetsStored, s.Complete, s.Partial)
	if s.NotStored > 0 {
		fmt.Fprintf(w, "NOT stored       %d\n", s.NotStored)
	}
	for _, m := range slices.Sorted(mapKeys(s.Models)) {
		fmt.Fprintf(w, "model %-10s scored %d, mean value %.4f\n", m, s.Models[m].Scored, s.Models[m].Mean)
	}
	fmt.Fprintf(w, "time             %.2fs, %.0f tweets/s\n", s.Seconds, s.TweetsPerSecond)
	fmt.Fprintf(w, "database         %d tweets\n", s.StoreTweets)
	if s.Interrupted {
		fmt.Fprintf(w, "interrupted      resume with --start-row %d (last line sent: %d)\n", s.NextStartRow, s.LastLine)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func writeSummary(path string, s pipeline.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}
