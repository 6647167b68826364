package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/scorer"
)

// RunConfig is everything `tweetflow run` needs.
type RunConfig struct {
	// Data is the CSV file, read with CSV.
	Data string
	CSV  csv.Options
	// ModelsDir holds the model folders; Models names those to run (empty:
	// every folder with a model.yaml).
	ModelsDir string
	Models    []string
	Scorer    scorer.Options
	// DB is the SQLite file.
	DB string
	// Producer: Speed, MaxRate, Limit, BatchSize, OnError, OnBatch.
	Producer producer.Options
	// JoinTimeout and MaxPending configure the aggregator (defaults 10s and
	// the larger of 16384 and MinPending).
	JoinTimeout time.Duration
	MaxPending  int
	// Workers is the number of concurrent scoring calls (default GOMAXPROCS).
	Workers int
	// WrapSink, if set, returns the driver the aggregator writes to, given
	// the SQLite store (the alert engine's Tee attaches here). Closing the
	// returned driver must close the store.
	WrapSink func(ctx context.Context, st *sqlite.Store) (sink.Driver, error)
	// OnStored, if set, observes every durably written batch of records.
	OnStored func([]sink.Record)
	Logger   *slog.Logger
}

// ModelSummary is one model's part of a Summary.
type ModelSummary struct {
	Scored int64   `json:"scored"`
	Mean   float64 `json:"mean"`
}

// Summary is the result of a run, printed and written by --summary-json.
type Summary struct {
	RowsRead         int64                   `json:"rows_read"`
	RowsRejected     int64                   `json:"rows_rejected"`
	RejectedByReason map[string]int64        `json:"rows_rejected_by_reason"`
	TweetsStored     int64                   `json:"tweets_stored"`
	Complete         int64                   `json:"complete"`
	Partial          int64                   `json:"partial"`
	Models           map[string]ModelSummary `json:"models"`
	Seconds          float64                 `json:"seconds"`
	TweetsPerSecond  float64                 `json:"tweets_per_second"`
	// NotStored counts tweets accepted whose records could not be written.
	NotStored int64 `json:"not_stored"`
	// LastLine is the file line of the last tweet sent.
	LastLine int `json:"last_line"`
	// NextStartRow is the --start-row (1-based data row) that resumes after
	// this run: the rows before it were all read and sent or rejected.
	NextStartRow int `json:"next_start_row"`
	// Interrupted is set when the run was stopped (Ctrl-C) before the end.
	Interrupted bool `json:"interrupted"`
	// StoreTweets is the number of tweets in the database after the run
	// (equal to TweetsStored on a fresh database; a rerun leaves it as is).
	StoreTweets int64 `json:"store_tweets"`
}

// Run replays cfg.Data through every model into cfg.DB. When ctx ends
// (Ctrl-C) it stops reading, and everything already read is still scored
// and stored before it returns, with Summary.Interrupted set and a nil
// error. Bad rows are counted (or stop the run under producer.Stop).
func Run(ctx context.Context, cfg RunConfig) (sum Summary, err error) {
	start := time.Now()
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	models, err := scorer.LoadAll(cfg.ModelsDir, cfg.Models, cfg.Scorer)
	if err != nil {
		return sum, err
	}
	defer func() {
		for _, m := range models {
			if cerr := m.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	names := make([]string, len(models))
	fns := make([]*functions.Function, len(models))
	for i, m := range models {
		names[i] = m.Name()
		fns[i] = functions.New(m, functions.Options{})
	}
	src, err := csv.Open(cfg.Data, cfg.CSV)
	if err != nil {
		return sum, err
	}
	defer src.Close()

	store, err := sqlite.Open(ctx, cfg.DB, names)
	if err != nil {
		return sum, err
	}
	var drv sink.Driver = store
	if cfg.WrapSink != nil {
		if drv, err = cfg.WrapSink(ctx, store); err != nil {
			store.Close(ctx)
			return sum, err
		}
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if cerr := drv.Close(cctx); cerr != nil && err == nil {
			err = cerr
		}
	}()

	batch := cfg.Producer.BatchSize
	if batch <= 0 {
		batch = 256
		cfg.Producer.BatchSize = batch
	}
	pcfg := Config{Functions: fns, Workers: cfg.Workers}
	maxPending := max(cfg.MaxPending, 16384, MinPending(pcfg, batch))
	agg, err := aggregator.New(drv, aggregator.Options{
		Models: names, JoinTimeout: cfg.JoinTimeout, MaxPending: maxPending,
		OnStored: cfg.OnStored, Logger: log, Writers: 2,
	})
	if err != nil {
		return sum, err
	}
	pcfg.Aggregator = agg
	p, err := Start(pcfg)
	if err != nil {
		return sum, err
	}

	popts := cfg.Producer
	popts.Logger = log
	pst, perr := producer.Run(ctx, src, p, popts)
	if errors.Is(perr, context.Canceled) || errors.Is(perr, context.DeadlineExceeded) {
		sum.Interrupted, perr = true, nil
	}
	// Drain: whatever was sent is scored, joined and written, even after
	// Ctrl-C (the pipeline and the aggregator do not use ctx).
	drain := context.WithoutCancel(ctx)
	pipeErr := p.Close(drain)
	aggErr := agg.Close(drain)
	for _, f := range fns {
		_ = f.Close(drain) // idle: every ScoreTweets call has returned
	}
	ps, as := p.Stats(), agg.Stats()
	sum.RowsRead = pst.RowsRead
	sum.RowsRejected = pst.RejectedTotal()
	sum.RejectedByReason = pst.Rejected
	sum.LastLine = pst.LastLine
	sum.NextStartRow = cfg.CSV.SkipRows + int(pst.RowsRead) + 1
	sum.Complete, sum.Partial = as.Complete, as.TimedOut
	sum.TweetsStored = as.Complete + as.TimedOut
	sum.NotStored = as.Failed
	sum.Models = map[string]ModelSummary{}
	for _, n := range names {
		m := ps.Models[n]
		sum.Models[n] = ModelSummary{Scored: m.Scored, Mean: m.Mean()}
	}
	if n, cerr := store.Count(drain, time.Time{}, time.Time{}); cerr == nil {
		sum.StoreTweets = n
	}
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.TweetsPerSecond = float64(sum.TweetsStored) / sum.Seconds
	}
	if err := errors.Join(perr, pipeErr, aggErr); err != nil {
		return sum, err
	}
	if as.Failed > 0 {
		return sum, fmt.Errorf("%d record(s) could not be stored (see the log)", as.Failed)
	}
	return sum, nil
}

// ReadOnly reads and parses cfg.Data as Run would, and discards the tweets:
// the baseline that Run's end-to-end time is compared with.
func ReadOnly(ctx context.Context, cfg RunConfig) (Summary, error) {
	start := time.Now()
	src, err := csv.Open(cfg.Data, cfg.CSV)
	if err != nil {
		return Summary{}, err
	}
	defer src.Close()
	popts := cfg.Producer
	popts.Logger = cfg.Logger
	pst, err := producer.Run(ctx, src, producer.SenderFunc(func(context.Context, []event.Tweet) error { return nil }), popts)
	sum := Summary{RowsRead: pst.RowsRead, RowsRejected: pst.RejectedTotal(), RejectedByReason: pst.Rejected, LastLine: pst.LastLine}
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.TweetsPerSecond = float64(pst.Sent) / sum.Seconds
	}
	return sum, err
}
