// Package core builds the two cluster components, a model function and the
// aggregator over its store, from typed configurations, and adapts them to
// the transport's handler vocabulary. The Kafka-only and Knative modes put
// the same components behind different transports; neither builds them.
// Loading a model (ONNX Runtime, cgo) is mode/modelfunc's, so that the
// aggregator, which imports this package, builds without cgo.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/internal/commalist"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/transport"
)

// Environment variables shared by every mode: the same name means the same
// thing everywhere (docs/ARCHITECTURE.md has the table with the flags).
const (
	EnvModelsDir    = "MODELS_DIR"    // folder of model folders (the registry)
	EnvModels       = "MODELS"        // comma-separated subset of the registry
	EnvModelDir     = "MODEL_DIR"     // one model's folder (a function)
	EnvModel        = "MODEL"         // a model's name under MODELS_DIR
	EnvSQLitePath   = "SQLITE_PATH"   // SQLite store file
	EnvJoinTimeout  = "JOIN_TIMEOUT"  // the aggregator's join timeout
	EnvMaxPending   = "MAX_PENDING"   // tweets the join holds in memory
	EnvDrainTimeout = "DRAIN_TIMEOUT" // bound on the drain after a stop
	EnvMaxBatch     = "MAX_BATCH"     // a function's micro-batch size
	EnvMaxDelay     = "MAX_DELAY"     // a function's micro-batch delay
	EnvMaxQueue     = "MAX_QUEUE"     // a function's queue bound (429 past it)
	EnvWorkers      = "WORKERS"       // a function's concurrent Score calls
	EnvORTThreads   = "ORT_THREADS"   // ONNX Runtime intra-op threads
)

// DefaultDrainTimeout bounds the drain after a stop (Ctrl-C, SIGTERM) in
// every mode: a hung store cannot hold a process past it.
const DefaultDrainTimeout = 30 * time.Second

// FunctionConfig is what a model function needs.
type FunctionConfig struct {
	// ModelDir is the model folder (model.yaml and model.onnx).
	ModelDir string
	// Batch bounds the micro-batcher (zero values: functions' defaults).
	Batch functions.Options
	// Threads is ONNX Runtime's intra-op threads (0: derived from GOMAXPROCS, scorer.IntraOpThreads).
	Threads int
	// Library is the ONNX Runtime library (empty: scorer's search).
	Library string
}

// FunctionConfigFromEnv reads a FunctionConfig: MODEL_DIR (or MODEL under
// MODELS_DIR, default /models), MAX_BATCH, MAX_DELAY, MAX_QUEUE, WORKERS,
// ORT_THREADS. It does not require a model: Validate does.
func FunctionConfigFromEnv(getenv func(string) string) (FunctionConfig, error) {
	var c FunctionConfig
	c.ModelDir = getenv(EnvModelDir)
	if c.ModelDir == "" && getenv(EnvModel) != "" {
		c.ModelDir = strings.TrimRight(cmpOr(getenv(EnvModelsDir), "/models"), "/") + "/" + getenv(EnvModel)
	}
	for k, dst := range map[string]*int{EnvMaxBatch: &c.Batch.MaxBatch, EnvMaxQueue: &c.Batch.MaxQueue, EnvWorkers: &c.Batch.Workers, EnvORTThreads: &c.Threads} {
		if err := envInt(getenv, k, dst); err != nil {
			return c, err
		}
	}
	if err := envDuration(getenv, EnvMaxDelay, &c.Batch.MaxDelay); err != nil {
		return c, err
	}
	return c, nil
}

// Validate reports a configuration that cannot start.
func (c FunctionConfig) Validate() error {
	if c.ModelDir == "" {
		return errors.New("no model: set --model-dir or MODEL_DIR (a folder with model.yaml and model.onnx), or MODEL and MODELS_DIR")
	}
	return nil
}

// FunctionHandler translates the core's errors into the transport's
// vocabulary: overload → 429, closing → 503, poison stays a FieldError (400).
func FunctionHandler(fn *functions.Function) transport.Handler {
	return func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		reply, err := fn.Handle(ctx, e)
		switch {
		case err == nil:
			return reply, nil
		case errors.Is(err, functions.ErrOverloaded):
			return nil, transport.Overloaded(err)
		case errors.Is(err, functions.ErrClosed):
			return nil, transport.NotReady(err)
		}
		return nil, err
	}
}

// AggregatorConfig is what the aggregator needs: the models to join, where
// to store, and the join's bounds. Each mode sets its own defaults.
type AggregatorConfig struct {
	// ModelsDir holds the model folders; Models restricts the models to
	// wait for (empty: every model in ModelsDir).
	ModelsDir string
	Models    []string
	Store     StoreConfig
	// JoinTimeout: a tweet still missing a model's result after this long
	// is written partial (the store merges a late result).
	JoinTimeout time.Duration
	// MaxPending bounds the tweets held in memory (Add blocks past it).
	MaxPending int
	// OnStored, if set, is called after each durable write with the
	// records written (after the metrics and the other observers saw
	// them): the signal tests wait on instead of polling the store.
	OnStored func(recs []sink.Record)
	// Observers, if set, is called once the store is open and returns more
	// observers of the stored records (the alert engine, mode/alerting,
	// which needs the store's alerts table or index and reads its state
	// back from the store); the Writer closes them before the store.
	Observers func(ctx context.Context, st *Store) ([]sink.Observer, error)
	// Emit, if set, is handed the records of each durable write before the
	// write counts as done (the record events a separate alert engine
	// reads, mode/alerting.RecordEvents); its error fails those records
	// transiently, so they are written and emitted again, or redelivered.
	Emit func(ctx context.Context, recs []sink.Record) error
}

// FromEnv overrides c with what the environment sets: MODELS_DIR, MODELS,
// SQLITE_PATH, ES_URL (and the other ES_* variables), JOIN_TIMEOUT,
// MAX_PENDING. What the environment does not set keeps c's value, so a
// mode's defaults go in first.
func (c AggregatorConfig) FromEnv(getenv func(string) string) (AggregatorConfig, error) {
	c.ModelsDir = cmpOr(getenv(EnvModelsDir), c.ModelsDir)
	if v := getenv(EnvModels); v != "" {
		c.Models = commalist.Split(v)
	}
	var err error
	if c.Store, err = c.Store.FromEnv(getenv); err != nil {
		return c, err
	}
	if err := envDuration(getenv, EnvJoinTimeout, &c.JoinTimeout); err != nil {
		return c, err
	}
	if err := envInt(getenv, EnvMaxPending, &c.MaxPending); err != nil {
		return c, err
	}
	return c, nil
}

// NewAggregator reads the registry, opens the store and starts the
// aggregator over it; close stops the aggregator (writing what is pending)
// and then the store. Every stored batch is counted in m.
func NewAggregator(ctx context.Context, c AggregatorConfig, m *metrics.Metrics, log *slog.Logger) (*aggregator.Aggregator, func(context.Context) error, error) {
	specs, err := Specs(c.ModelsDir, c.Models)
	if err != nil {
		return nil, nil, err
	}
	st, err := c.Store.Open(ctx, specs, log)
	if err != nil {
		return nil, nil, err
	}
	obs := []sink.Observer{sink.ObserverFunc(func(_ context.Context, recs []sink.Record) { m.ObserveBatch(len(recs)) })}
	if c.Observers != nil {
		more, err := c.Observers(ctx, st)
		if err != nil {
			_ = st.Close(ctx)
			return nil, nil, err
		}
		obs = append(obs, more...)
	}
	if c.OnStored != nil {
		// Last, so a test woken by it sees what the other observers (the
		// alert engine) made of the records.
		obs = append(obs, sink.ObserverFunc(func(_ context.Context, recs []sink.Record) { c.OnStored(recs) }))
	}
	var d sink.Driver = st
	if c.Emit != nil {
		d = emitting{Driver: st, emit: c.Emit}
	}
	w, err := st.writerThrough(d, SpecNames(specs), log, obs...)
	if err != nil {
		_ = st.Close(ctx)
		return nil, nil, err
	}
	agg, err := aggregator.New(w, aggregator.Options{
		Models: SpecNames(specs), JoinTimeout: c.JoinTimeout, MaxPending: c.MaxPending, Logger: log,
	})
	if err != nil {
		_ = st.Close(ctx)
		return nil, nil, err
	}
	closeAll := func(ctx context.Context) error {
		return errors.Join(agg.Close(ctx), st.Close(ctx))
	}
	return agg, closeAll, nil
}

// MetadataHandler feeds metadata events to agg. The ack comes from the
// aggregator once the record holding the event is durable, so an HTTP 2xx
// (through transport.Sync) or a Kafka commit means "stored".
func MetadataHandler(agg *aggregator.Aggregator) transport.AckHandler {
	return func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		md, err := event.DecodeMetadata(&e)
		if err != nil {
			ack(err) // *event.FieldError: rejected, never retried
			return
		}
		if err := agg.Add(ctx, md, func(err error) { ack(classifyStoreErr(err)) }); err != nil {
			if errors.Is(err, aggregator.ErrClosed) {
				err = transport.NotReady(err)
			}
			ack(err)
		}
	}
}

func cmpOr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func envInt(getenv func(string) string, k string, dst *int) error {
	return envPositive(getenv, k, dst, strconv.Atoi, "a positive integer")
}

func envDuration(getenv func(string) string, k string, dst *time.Duration) error {
	return envPositive(getenv, k, dst, time.ParseDuration, "a positive duration such as 2s")
}

// envPositive parses the environment variable k into dst (left as is when
// k is unset); a value parse refuses, or one not above zero, is an error
// naming the variable and what it wants.
func envPositive[T int | time.Duration](getenv func(string) string, k string, dst *T, parse func(string) (T, error), want string) error {
	v := getenv(k)
	if v == "" {
		return nil
	}
	n, err := parse(v)
	if err != nil || n <= 0 {
		return fmt.Errorf("%s=%q: want %s", k, v, want)
	}
	*dst = n
	return nil
}

// EnvDuration reads a positive duration from the environment variable k
// into dst (left as is when k is unset).
func EnvDuration(getenv func(string) string, k string, dst *time.Duration) error {
	return envDuration(getenv, k, dst)
}
