// Package embedded is the composition root of the embedded mode
// (`tweetflow run`): one process reads a tweets CSV, scores every tweet with
// every model in parallel, joins the results by tweet id and writes them to
// one store (SQLite, or Elasticsearch), with the alert engine observing the
// stored records and, optionally, the local dashboard serving the SQLite
// file live. Everything between the producer and the sink is in memory.
package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/shutdown"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/pipeline"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/scorer"
)

// Config is everything a run needs. Zero values take Defaults().
type Config struct {
	// Data is the input: a file, comma-separated files or globs, or "-"
	// for standard input (producer/source.Open: gzip and zstd read
	// transparently, several files merged in event-time order), read as
	// Format (empty: auto) with CSV for the CSV formats (StartRow sets its
	// SkipRows, which source.Open applies to the merged rows).
	Data   string
	Format source.Format
	CSV    csv.Options
	// StartRow is the first data row to replay, 1-based, after any header.
	StartRow int
	// ModelsDir holds the model folders; Models names those to run (empty:
	// every folder with a model.yaml).
	ModelsDir string
	Models    []string
	Scorer    scorer.Options
	// Store is where records go: SQLite (Store.SQLite) unless Store.ES has
	// an address.
	Store core.StoreConfig
	// Producer: Speed, MaxRate, Limit, BatchSize, OnError, OnBatch.
	Producer producer.Options
	// JoinTimeout and MaxPending configure the aggregator (MaxPending is
	// raised to what the pipeline can hold in flight, so it never stalls).
	JoinTimeout time.Duration
	MaxPending  int
	// Workers is the number of concurrent scoring calls (0: GOMAXPROCS).
	Workers int
	// DrainTimeout bounds the drain after ctx ends (Ctrl-C): what was read
	// is scored and stored within it, or the run gives up and says so. A
	// second signal (shutdown.Abort) ends the drain at once.
	DrainTimeout time.Duration
	// WriteBudget bounds one write of a batch to the store, retries
	// included (sink.Options.WriteBudget). The cluster modes keep the sink's
	// default, below Knative's 30 s delivery timeout, because a delivery
	// outliving it is sent again; a run has no redelivery, so its budget only
	// has to catch a hung store, and a 2048-record SQLite commit on a busy
	// machine (seen: past 20 s under the race detector at load 16) must not
	// fail the run. DrainTimeout still bounds the writes after Ctrl-C.
	WriteBudget time.Duration
	// Alerts configures the alert engine.
	Alerts Alerts
	// Serve, when set, is the address the dashboard serves on during the
	// run and after it until ctx ends. SQLite only.
	Serve string
	// Out receives the dashboard's lines (its URL); nil discards them.
	Out io.Writer
	// OnSummary, if set, gets the summary as soon as the replay is stored,
	// before the dashboard keeps serving.
	OnSummary func(Summary)
	Logger    *slog.Logger

	// Scorers, when set, are the models (no loading from ModelsDir); Sink,
	// when set, is the store (Store is not opened). For tests.
	Scorers []functions.Scorer
	Sink    sink.Driver
}

// Alerts configures the alert engine of a run (its Models are filled
// from the registry; Hold is the wall-clock hold of an embedded run).
type Alerts = alerting.Config

// Defaults returns the run's defaults, the only place they are defined.
func Defaults() Config {
	return Config{
		Data:         "data/sample.csv",
		StartRow:     1,
		ModelsDir:    "models",
		Store:        core.StoreConfig{SQLite: "tweetflow.db", ESDeadLetter: "tweetflow-dead-letter.ndjson"},
		Producer:     producer.Options{BatchSize: 256},
		JoinTimeout:  10 * time.Second,
		MaxPending:   16384,
		DrainTimeout: core.DefaultDrainTimeout,
		WriteBudget:  2 * time.Minute,
		Alerts:       Alerts{Engine: alerts.Default(), Hold: alerts.DefaultHold, ESIndex: elastic.DefaultAlertsIndex},
	}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	c.Data = cmp.Or(c.Data, d.Data)
	c.StartRow = cmp.Or(c.StartRow, d.StartRow)
	c.ModelsDir = cmp.Or(c.ModelsDir, d.ModelsDir)
	if !c.Store.IsES() {
		c.Store.SQLite = cmp.Or(c.Store.SQLite, d.Store.SQLite)
	}
	c.Producer.BatchSize = cmp.Or(c.Producer.BatchSize, d.Producer.BatchSize)
	c.JoinTimeout = cmp.Or(c.JoinTimeout, d.JoinTimeout)
	c.MaxPending = cmp.Or(c.MaxPending, d.MaxPending)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, d.DrainTimeout)
	c.WriteBudget = cmp.Or(c.WriteBudget, d.WriteBudget)
	c.Alerts.Hold = cmp.Or(c.Alerts.Hold, d.Alerts.Hold)
	c.Alerts.ESIndex = cmp.Or(c.Alerts.ESIndex, d.Alerts.ESIndex)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// validate reports a configuration a run cannot start with, naming the
// flag that sets it.
func (c Config) validate() error {
	if c.Producer.Speed < 0 || c.Producer.MaxRate < 0 || c.Producer.Limit < 0 {
		return fmt.Errorf("--speed %v, --max-rate %v, --limit %d: none may be negative", c.Producer.Speed, c.Producer.MaxRate, c.Producer.Limit)
	}
	for name, col := range c.CSV.Keep {
		if name == "" || col == "" {
			return fmt.Errorf("--keep %s=%s: want name=column", name, col)
		}
	}
	return nil
}

// ErrServeWithES: the dashboard reads the SQLite store, which a run into
// Elasticsearch does not write.
var ErrServeWithES = errors.New("--serve shows the SQLite store, and --es writes to Elasticsearch instead: " +
	"use Kibana for an Elasticsearch run ('tweetflow kibana import'), or run without --es")

// Run replays cfg.Data through every model into the store. When ctx ends
// (Ctrl-C) it stops reading, and everything already read is still scored
// and stored before it returns, with Summary.Interrupted set and a nil
// error, unless the drain takes longer than DrainTimeout or is aborted
// (shutdown.Abort: the second Ctrl-C): then Run returns at once with an
// error and the summary's next start row is the run's own start row (the
// store merges, so replaying again is safe). Bad rows are counted (or stop
// the run under producer.Stop).
func Run(ctx context.Context, cfg Config) (sum Summary, err error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if err := cfg.validate(); err != nil {
		return sum, err
	}
	if cfg.Serve != "" && cfg.Store.IsES() {
		return sum, ErrServeWithES
	}
	skip, err := producer.SkipRows(cfg.StartRow)
	if err != nil {
		return sum, err
	}
	cfg.CSV.SkipRows = skip

	scorers := cfg.Scorers
	if scorers == nil {
		models, err := scorer.LoadAll(cfg.ModelsDir, cfg.Models, cfg.Scorer)
		if err != nil {
			return sum, err
		}
		for _, m := range models {
			scorers = append(scorers, m)
		}
		// Closed unless the drain was abandoned (its goroutines may still
		// score: releasing the models under them would crash).
		defer func() {
			if sum.drainAbandoned {
				return
			}
			for _, m := range models {
				if cerr := m.Close(); cerr != nil && err == nil {
					err = cerr
				}
			}
		}()
	}
	names := make([]string, len(scorers))
	fns := make([]*functions.Function, len(scorers))
	for i, s := range scorers {
		names[i] = s.Name()
		fns[i] = functions.New(s, functions.Options{})
	}
	src, err := source.Open(source.Paths(cfg.Data), source.Options{Format: cfg.Format, CSV: cfg.CSV, SkipRows: cfg.CSV.SkipRows})
	if err != nil {
		return sum, err
	}
	defer src.Close()

	st, err := openStore(ctx, cfg, names)
	if err != nil {
		return sum, err
	}
	sum.Store = st.String()
	dash, err := startDashboard(ctx, cfg)
	if err != nil {
		_ = st.Close(ctx)
		return sum, err
	}
	defer dash.close()
	obs, err := withAlerts(ctx, cfg, st)
	if err != nil {
		_ = st.Close(ctx)
		return sum, err
	}

	pcfg := pipeline.Config{Functions: fns, Workers: cfg.Workers}
	maxPending := max(cfg.MaxPending, pipeline.MinPending(pcfg, cfg.Producer.BatchSize))
	w, err := sink.NewWriter(st, sink.Options{Models: names, DeadLetter: st.DeadLetter, Observers: obs, Logger: log, WriteBudget: cfg.WriteBudget})
	if err != nil {
		_ = st.Close(ctx)
		return sum, err
	}
	agg, err := aggregator.New(w, aggregator.Options{
		Models: names, JoinTimeout: cfg.JoinTimeout, MaxPending: maxPending, Logger: log, Writers: 2,
		// One SQLite commit writes every page the batch dirtied, and a
		// twarc2 batch dirties a page at each hot spot of the tweet-field
		// indexes and tweet_entities whatever its size: 2048 records a
		// commit instead of 512 wrote 10.7 -> 4.4 KB per record in
		// BenchmarkWriteReplay (docs/BENCHMARKS.md). The wait for a batch
		// to fill stays the aggregator's FlushInterval.
		BatchSize: 2048,
	})
	if err != nil {
		_ = w.Close(ctx)
		return sum, err
	}
	pcfg.Aggregator = agg
	p, err := pipeline.Start(pcfg)
	if err != nil {
		_ = agg.Close(ctx)
		_ = w.Close(ctx)
		return sum, err
	}

	popts := cfg.Producer
	popts.Logger = log
	pst, perr := producer.Run(ctx, src, p, popts)
	if errors.Is(perr, context.Canceled) || errors.Is(perr, context.DeadlineExceeded) {
		sum.Interrupted, perr = true, nil
	}

	// Drain: whatever was sent is scored, joined and written, even after
	// Ctrl-C, within the drain's bound. The drain runs beside this
	// goroutine so that a store that never returns cannot hold Run: when
	// the bound passes, Run reports and returns.
	dctx, cancel := shutdown.DrainContext(ctx, cfg.DrainTimeout)
	defer cancel()
	var pipeErr, aggErr, closeErr error
	storeTweets := int64(-1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		pipeErr = p.Close(dctx)
		aggErr = agg.Close(dctx)
		for _, f := range fns {
			_ = f.Close(dctx) // idle: every ScoreTweets call has returned
		}
		if n, cerr := st.Count(dctx); cerr == nil {
			storeTweets = n
		} else {
			log.Warn("counting the store", "store", st, "err", cerr)
		}
		closeErr = w.Close(dctx)
	}()
	var drainErr error
	select {
	case <-drained:
		sum.StoreTweets = storeTweets
	case <-dctx.Done():
		select {
		case <-drained: // finished as the bound passed
			sum.StoreTweets = storeTweets
		default:
			sum.drainAbandoned = true
			why := fmt.Sprintf("not finished within --drain-timeout %v", cfg.DrainTimeout)
			if errors.Is(dctx.Err(), context.Canceled) {
				why = "aborted by a second signal"
			}
			drainErr = fmt.Errorf("drain %s: tweets already read may not be stored (%s); rerun from --start-row %d",
				why, st, cfg.StartRow)
		}
	}

	ps, as := p.Stats(), agg.Stats()
	sum.RowsRead = pst.RowsRead
	sum.RowsRejected = pst.RejectedTotal()
	sum.RejectedByReason = pst.Rejected
	sum.LastLine = pst.LastLine
	sum.NextStartRow = producer.NextStartRow(cfg.StartRow, pst)
	if drainErr != nil || perr != nil {
		sum.NextStartRow = cfg.StartRow
	}
	sum.Complete, sum.Partial, sum.Duplicates = as.Complete, as.TimedOut, as.Duplicates
	sum.TweetsStored = as.Complete + as.TimedOut
	sum.NotStored = as.Failed
	sum.Models = map[string]ModelSummary{}
	for i, n := range names {
		m, cs := ps.Models[n], fns[i].CacheStats()
		sum.Models[n] = ModelSummary{Scored: m.Scored, Mean: m.Mean(), CacheHits: cs.Hits, ModelCalls: cs.Scored}
	}
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.TweetsPerSecond = float64(sum.TweetsStored) / sum.Seconds
	}
	if drainErr != nil {
		return sum, errors.Join(perr, drainErr)
	}
	if err := errors.Join(perr, pipeErr, aggErr, closeErr); err != nil {
		return sum, err
	}
	if as.Failed > 0 {
		return sum, fmt.Errorf("%d record(s) could not be stored (see the log)", as.Failed)
	}
	if cfg.OnSummary != nil {
		cfg.OnSummary(sum)
	}
	return sum, dash.wait(ctx)
}

// openStore opens cfg.Store for the models, or wraps cfg.Sink.
func openStore(ctx context.Context, cfg Config, names []string) (*core.Store, error) {
	if cfg.Sink != nil {
		return &core.Store{Driver: cfg.Sink}, nil
	}
	if !cfg.Store.IsES() {
		// SQLite needs only the names; the registry is read for the
		// Elasticsearch mapping.
		return cfg.Store.Open(ctx, specsOf(names), cfg.Logger)
	}
	specs, err := core.Specs(cfg.ModelsDir, names)
	if err != nil {
		return nil, err
	}
	return cfg.Store.Open(ctx, specs, cfg.Logger)
}

func specsOf(names []string) []*model.Spec {
	specs := make([]*model.Spec, len(names))
	for i, n := range names {
		specs[i] = &model.Spec{Name: n}
	}
	return specs
}

// withAlerts returns the observers of stored records: none, or with alerts
// on, an alerts.Tee whose alerts go to the store's alerts table (SQLite) or
// alerts index (Elasticsearch). The sink.Writer closes it before st.
func withAlerts(ctx context.Context, cfg Config, st *core.Store) ([]sink.Observer, error) {
	if cfg.Alerts.Off {
		return nil, nil
	}
	models, err := modelViews(cfg.ModelsDir)
	if err != nil {
		return nil, err
	}
	a := cfg.Alerts
	a.Logger = cfg.Logger
	return alerting.Observers(ctx, a, models, st)
}

// ReadOnly reads and parses cfg.Data as Run would, and discards the tweets:
// the baseline that Run's end-to-end time is compared with.
func ReadOnly(ctx context.Context, cfg Config) (Summary, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	skip, err := producer.SkipRows(cfg.StartRow)
	if err != nil {
		return Summary{}, err
	}
	cfg.CSV.SkipRows = skip
	src, err := source.Open(source.Paths(cfg.Data), source.Options{Format: cfg.Format, CSV: cfg.CSV, SkipRows: cfg.CSV.SkipRows})
	if err != nil {
		return Summary{}, err
	}
	defer src.Close()
	popts := cfg.Producer
	popts.Logger = cfg.Logger
	pst, err := producer.Run(ctx, src, producer.SenderFunc(func(context.Context, []event.Tweet) error { return nil }), popts)
	sum := Summary{RowsRead: pst.RowsRead, RowsRejected: pst.RejectedTotal(), RejectedByReason: pst.Rejected, LastLine: pst.LastLine}
	sum.NextStartRow = producer.NextStartRow(cfg.StartRow, pst)
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.TweetsPerSecond = float64(pst.Sent) / sum.Seconds
	}
	return sum, err
}
