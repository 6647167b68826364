package service

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
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/transport"
)

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

// classifyStoreErr keeps a record the store refuses for good from being
// retried forever: Knative would otherwise redeliver it until its retries run out.
func classifyStoreErr(err error) error {
	if err != nil && sink.ErrorCode(err) == sink.Permanent {
		return transport.Permanent(err)
	}
	return err
}

// AggregatorConfig is the aggregator service's configuration, read from
// func-go's cfg map (the environment).
type AggregatorConfig struct {
	// ModelsDir holds the model folders (their model.yaml say which models
	// exist and how their values are indexed). MODELS_DIR, default /models.
	ModelsDir string
	// Models restricts the models to wait for (MODELS, comma-separated);
	// empty means every model in ModelsDir.
	Models []string
	// SQLitePath is the SQLite store (SQLITE_PATH), used when no
	// Elasticsearch URL (ES_URL) is set.
	SQLitePath string
	// JoinTimeout (JOIN_TIMEOUT): on Knative, one tweet's results may reach
	// different replicas, each of which writes what it has when this passes;
	// the store merges them. Keep it well under the Trigger's delivery
	// timeout. Default 2s.
	JoinTimeout time.Duration
	// MaxPending (MAX_PENDING) bounds the tweets held in memory.
	MaxPending int
}

// AggregatorConfigFrom reads an AggregatorConfig from cfg.
func AggregatorConfigFrom(cfg map[string]string) (AggregatorConfig, error) {
	c := AggregatorConfig{ModelsDir: "/models", SQLitePath: "tweetflow.db", JoinTimeout: 2 * time.Second}
	if v := cfg["MODELS_DIR"]; v != "" {
		c.ModelsDir = v
	}
	for _, m := range strings.Split(cfg["MODELS"], ",") {
		if m = strings.TrimSpace(m); m != "" {
			c.Models = append(c.Models, m)
		}
	}
	if v := cfg["SQLITE_PATH"]; v != "" {
		c.SQLitePath = v
	}
	if v := cfg["JOIN_TIMEOUT"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("JOIN_TIMEOUT=%q: want a positive duration such as 2s", v)
		}
		c.JoinTimeout = d
	}
	if v := cfg["MAX_PENDING"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("MAX_PENDING=%q: want a positive integer", v)
		}
		c.MaxPending = n
	}
	return c, nil
}

// OpenSink opens the store the configuration names: Elasticsearch when
// ES_URL is set in cfg, else SQLite at SQLitePath.
func OpenSink(ctx context.Context, cfg map[string]string, c AggregatorConfig, specs []*model.Spec, log *slog.Logger) (sink.Driver, error) {
	if cfg["ES_URL"] != "" {
		ec, err := elastic.ConfigFromEnv(elastic.Config{}, func(k string) string { return cfg[k] }, nil)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch config: %w", err)
		}
		if ec.Index == "" {
			ec.Index = "tweetflow"
		}
		d, err := elastic.Open(ctx, elastic.Options{Config: ec, Models: model.Views(specs), Logger: log})
		if err != nil {
			return nil, fmt.Errorf("elasticsearch %v: %w", ec.Addresses, err)
		}
		return d, nil
	}
	d, err := sqlite.Open(ctx, c.SQLitePath, model.Names(specs))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", c.SQLitePath, err)
	}
	return d, nil
}

// Specs reads the model specs of c: every model under ModelsDir, or the
// ones Models names (each must exist).
func (c AggregatorConfig) Specs() ([]*model.Spec, error) { return model.Select(c.ModelsDir, c.Models) }

// NewAggregator opens the store and starts the aggregator over it; close
// stops the aggregator (writing what is pending) and then the store.
func NewAggregator(ctx context.Context, cfg map[string]string, m *metrics.Metrics, log *slog.Logger) (*aggregator.Aggregator, func(context.Context) error, error) {
	c, err := AggregatorConfigFrom(cfg)
	if err != nil {
		return nil, nil, err
	}
	specs, err := c.Specs()
	if err != nil {
		return nil, nil, err
	}
	d, err := OpenSink(ctx, cfg, c, specs, log)
	if err != nil {
		return nil, nil, err
	}
	names := model.Names(specs)
	w, err := sink.NewWriter(d, sink.Options{Models: names, Logger: log,
		Observers: []sink.Observer{sink.ObserverFunc(func(_ context.Context, recs []sink.Record) { m.ObserveBatch(len(recs)) })}})
	if err != nil {
		_ = d.Close(ctx)
		return nil, nil, err
	}
	agg, err := aggregator.New(w, aggregator.Options{
		Models: names, JoinTimeout: c.JoinTimeout, MaxPending: c.MaxPending, Logger: log,
	})
	if err != nil {
		_ = d.Close(ctx)
		return nil, nil, err
	}
	closeAll := func(ctx context.Context) error {
		return errors.Join(agg.Close(ctx), d.Close(ctx))
	}
	return agg, closeAll, nil
}

// AggregatorLoader is the Loader of the aggregator's Knative service.
func AggregatorLoader(log *slog.Logger) Loader {
	return func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (Component, error) {
		agg, closeAll, err := NewAggregator(ctx, cfg, m, log)
		if err != nil {
			return Component{}, err
		}
		return Component{Handler: transport.Sync(MetadataHandler(agg)), Close: closeAll}, nil
	}
}
