// Package kafkaonly is the composition root of the Kafka-only mode (no
// Knative): each model's function is a consumer group on the tweets topic
// that produces its metadata events to the metadata topic (`tweetflow kafka
// function`), and the aggregator is a consumer group on the metadata topic
// writing the store (`tweetflow kafka aggregate`). The cores are mode/core's,
// the same as on Knative; only the transport differs. Offsets are committed
// only after the reply is produced (functions) or the record is stored
// (aggregator), and only the contiguous prefix of finished records.
package kafkaonly

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/modelfunc"
	"github.com/tweetflow/tweetflow/mode/shutdown"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// Consumer is how a service reads its topic.
type Consumer struct {
	Kafka kafka.Config
	// Group is the consumer group (one per model for functions).
	Group string
	// InFlight bounds the events delivered and not yet acked per partition.
	InFlight int
	// DeadLetterTopic receives records that can never be handled (empty:
	// they are logged and skipped).
	DeadLetterTopic string
	// DeadLetterReplication is DeadLetterTopic's replication factor when
	// it is created at start; 0 (the default) leaves it to the broker's
	// default.replication.factor (kafka.NewTopicDeadLetter).
	DeadLetterReplication int16
	// Options are the consumer's other settings (retry delays, drain);
	// InFlight, the dead letter, Observer and Logger are set from the above.
	Options kafka.ConsumerOptions
}

// FunctionConfig configures RunFunction. Zero values take FunctionDefaults().
type FunctionConfig struct {
	Function core.FunctionConfig
	// Consumer reads In; its Group defaults to "tweetflow-" + the model's
	// name.
	Consumer Consumer
	In, Out  string
	// Partitions and Replication of Out when it is created.
	Partitions  int32
	Replication int16
	// MetricsAddr serves /metrics (empty: off).
	MetricsAddr string
	// DrainTimeout bounds the flush after ctx ends (the consumer's own
	// drain is Consumer.Options.DrainTimeout).
	DrainTimeout time.Duration
	// Metrics, when set, receives the counts (else a new set).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// FunctionDefaults returns the function's defaults, the only place they
// are defined.
func FunctionDefaults() FunctionConfig {
	return FunctionConfig{
		// 512 in flight per partition: enough for the core to fill its
		// micro-batches.
		Consumer:     Consumer{Kafka: defaultKafka(), InFlight: 512},
		In:           "tweets",
		Out:          "metadata",
		Partitions:   6,
		Replication:  1,
		MetricsAddr:  ":9090",
		DrainTimeout: core.DefaultDrainTimeout,
	}
}

func defaultKafka() kafka.Config {
	return kafka.Config{Brokers: []string{"localhost:9092"}, ClientID: "tweetflow"}
}

func (c FunctionConfig) withDefaults() FunctionConfig {
	d := FunctionDefaults()
	c.Consumer = c.Consumer.withDefaults(d.Consumer)
	c.In, c.Out = cmp.Or(c.In, d.In), cmp.Or(c.Out, d.Out)
	c.Partitions, c.Replication = cmp.Or(c.Partitions, d.Partitions), cmp.Or(c.Replication, d.Replication)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, d.DrainTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Consumer) withDefaults(d Consumer) Consumer {
	if len(c.Kafka.Brokers) == 0 {
		c.Kafka.Brokers = d.Kafka.Brokers
	}
	c.Kafka.ClientID = cmp.Or(c.Kafka.ClientID, d.Kafka.ClientID)
	c.Group = cmp.Or(c.Group, d.Group)
	c.InFlight = cmp.Or(c.InFlight, d.InFlight)
	return c
}

// RunFunction scores the In topic with one model and produces each reply
// to Out before the tweet's offset may be committed, with up to InFlight
// events per partition being scored at once so the core can micro-batch
// them. It returns when ctx ends and the consumer, the core and the
// producer are drained.
func RunFunction(ctx context.Context, cfg FunctionConfig) (err error) {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	m := cfg.Metrics
	if m == nil {
		m = metrics.New("function", filepath.Base(filepath.Clean(cfg.Function.ModelDir)))
	}
	fn, closeFn, err := modelfunc.New(cfg.Function, m)
	if err != nil {
		return err
	}
	// Everything opened below is closed within the drain's bound.
	closers := []func(context.Context) error{closeFn}
	defer func() { err = closeAll(ctx, cfg.DrainTimeout, err, closers) }()
	cfg.Consumer.Group = cmp.Or(cfg.Consumer.Group, "tweetflow-"+fn.Name())
	if err := kafka.EnsureTopic(ctx, cfg.Consumer.Kafka, cfg.Out, cfg.Partitions, cfg.Replication); err != nil {
		return err
	}
	prod, err := kafka.NewProducer(cfg.Consumer.Kafka, cfg.Out)
	if err != nil {
		return err
	}
	closers = append(closers, prod.Close)
	c, err := consumeAndServe(ctx, cfg.Consumer, cfg.In, cfg.MetricsAddr, m, log, &closers)
	if err != nil {
		return err
	}
	log.Info("kafka function", "model", fn.Name(), "in", cfg.In, "out", cfg.Out, "group", cfg.Consumer.Group)
	h := core.FunctionHandler(fn)
	return c.Run(ctx, transport.Async(transport.Forward(h, prod), cfg.Consumer.InFlight))
}

// AggregatorConfig configures RunAggregator. Zero values take
// AggregatorDefaults().
type AggregatorConfig struct {
	Aggregator core.AggregatorConfig
	Consumer   Consumer
	Topic      string
	// Alerts is the alert engine over what the aggregator stores
	// (mode/alerting; a stop keeps its windows open, the next start
	// rebuilds it from the store).
	Alerts alerting.Config
	// AlertsTopic receives every alert as its CloudEvent (key = alert id),
	// created at start with AlertsPartitions; "-" sends none.
	AlertsTopic      string
	AlertsPartitions int32
	// RecordEvents produces each stored record's event (event.TypeRecord)
	// to RecordsTopic, created at start with RecordsPartitions, before the
	// inputs of the write are committed: what `tweetflow kafka alerts`
	// reads. Off by default (see ARCHITECTURE, "The alert engine apart").
	RecordEvents      bool
	RecordsTopic      string
	RecordsPartitions int32
	// MetricsAddr serves /metrics (empty: off).
	MetricsAddr string
	// DrainTimeout bounds the write of what is pending after ctx ends.
	DrainTimeout time.Duration
	// Metrics, when set, receives the counts (else a new set).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// AggregatorDefaults returns the aggregator's defaults, the only place they
// are defined.
func AggregatorDefaults() AggregatorConfig {
	return AggregatorConfig{
		Aggregator: core.AggregatorConfig{
			ModelsDir: "models",
			Store:     core.StoreConfig{SQLite: "tweetflow.db"},
			// One group sees every model's result: wait for them.
			JoinTimeout: 10 * time.Second,
			// Room for every partition's read-ahead (InFlight), so Add never
			// blocks a claim whose later records would complete the pending
			// tweets.
			MaxPending: 100000,
		},
		// A tweet's results from different models sit apart in its
		// partition (the models run at different speeds); the aggregator
		// must read far enough ahead to join them, or each claim stalls
		// until the join timeout.
		Consumer:          Consumer{Kafka: defaultKafka(), Group: "tweetflow-aggregator", InFlight: 10000},
		Topic:             "metadata",
		Alerts:            alerting.ClusterDefaults(),
		AlertsTopic:       "alerts",
		AlertsPartitions:  1,
		RecordsTopic:      "records",
		RecordsPartitions: 12,
		MetricsAddr:       ":9090",
		DrainTimeout:      core.DefaultDrainTimeout,
	}
}

func (c AggregatorConfig) withDefaults() AggregatorConfig {
	d := AggregatorDefaults()
	a := &c.Aggregator
	a.ModelsDir = cmp.Or(a.ModelsDir, d.Aggregator.ModelsDir)
	if !a.Store.IsES() {
		a.Store.SQLite = cmp.Or(a.Store.SQLite, d.Aggregator.Store.SQLite)
	}
	a.JoinTimeout = cmp.Or(a.JoinTimeout, d.Aggregator.JoinTimeout)
	a.MaxPending = cmp.Or(a.MaxPending, d.Aggregator.MaxPending)
	c.Consumer = c.Consumer.withDefaults(d.Consumer)
	c.Topic = cmp.Or(c.Topic, d.Topic)
	c.Alerts = c.Alerts.WithDefaults(d.Alerts)
	c.AlertsTopic = cmp.Or(c.AlertsTopic, d.AlertsTopic)
	c.AlertsPartitions = cmp.Or(c.AlertsPartitions, d.AlertsPartitions)
	c.RecordsTopic = cmp.Or(c.RecordsTopic, d.RecordsTopic)
	c.RecordsPartitions = cmp.Or(c.RecordsPartitions, d.RecordsPartitions)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, d.DrainTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// RunAggregator consumes metadata events into the store and commits each
// offset only after the record holding it is stored (and every earlier
// offset of its partition too). When ctx ends it closes the aggregator at
// once, so pending tweets are written and their offsets committed while the
// consumer drains, rather than redelivered; it returns when both are done,
// or when the drain's bound passes.
func RunAggregator(ctx context.Context, cfg AggregatorConfig) error {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	m := cfg.Metrics
	if m == nil {
		m = metrics.New("aggregator", "")
	}
	closeAlerts, err := attachAlerts(ctx, &cfg)
	if err != nil {
		return err
	}
	closeRecords, err := attachRecordEvents(ctx, &cfg)
	if err != nil {
		return errors.Join(err, closeAlerts(context.WithoutCancel(ctx)))
	}
	agg, closeStore, err := core.NewAggregator(ctx, cfg.Aggregator, m, log)
	if err != nil {
		return errors.Join(err, closeAlerts(context.WithoutCancel(ctx)), closeRecords(context.WithoutCancel(ctx)))
	}
	// The producers are closed after the store, whose Writer closes the
	// engine first (its last alerts are sent) and writes (and emits) what
	// is pending.
	closeAgg := func(ctx context.Context) error {
		return errors.Join(closeStore(ctx), closeAlerts(ctx), closeRecords(ctx))
	}
	c, closeDL, err := newConsumer(ctx, cfg.Consumer, cfg.Topic, m, log)
	if err != nil {
		return errors.Join(err, closeAgg(context.WithoutCancel(ctx)))
	}
	stopMetrics, err := serveMetrics(ctx, cfg.MetricsAddr, m, log)
	if err != nil {
		return errors.Join(err, closeAgg(context.WithoutCancel(ctx)), closeDL(ctx))
	}
	// The aggregator is closed as soon as ctx ends (or the consumer fails),
	// while the consumer still drains: its claims wait for the acks that
	// this close's writes give.
	closed := make(chan error, 1)
	runDone := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-runDone:
		}
		dctx, cancel := shutdown.CloseContext(ctx, cfg.DrainTimeout)
		defer cancel()
		closed <- closeAgg(dctx)
	}()
	runErr := c.Run(ctx, core.MetadataHandler(agg))
	close(runDone)
	dctx, cancel := shutdown.CloseContext(ctx, cfg.DrainTimeout)
	defer cancel()
	var closeErr error
	select {
	case closeErr = <-closed:
	case <-dctx.Done():
		closeErr = fmt.Errorf("kafka aggregate: pending tweets not stored within the drain bound %v: their offsets are not committed and will be redelivered", cfg.DrainTimeout)
	}
	return errors.Join(runErr, closeErr, closeDL(dctx), stopMetrics(dctx))
}

// attachAlerts sets cfg.Aggregator.Observers to the alert engine (unless
// it is off), with its alerts also produced to cfg.AlertsTopic; the closer
// releases that producer.
func attachAlerts(ctx context.Context, cfg *AggregatorConfig) (func(context.Context) error, error) {
	none := func(context.Context) error { return nil }
	if cfg.Alerts.Off {
		return none, nil
	}
	closeProd := none
	if cfg.AlertsTopic != "-" {
		prod, err := ensureProducer(ctx, cfg.Consumer.Kafka, cfg.AlertsTopic, cfg.AlertsPartitions)
		if err != nil {
			return nil, fmt.Errorf("alerts topic: %w", err)
		}
		cfg.Alerts.Events, closeProd = alerts.Events{Send: prod.Send}, prod.Close
	}
	a, ac := cfg.Alerts, cfg.Aggregator
	a.Logger = cfg.Logger
	cfg.Aggregator.Observers = alerting.Attach(a, ac.ModelsDir, ac.Models, ac.Observers)
	return closeProd, nil
}

// attachRecordEvents sets cfg.Aggregator.Emit to produce the record events
// to cfg.RecordsTopic, when cfg.RecordEvents; the closer releases the
// producer.
func attachRecordEvents(ctx context.Context, cfg *AggregatorConfig) (func(context.Context) error, error) {
	if !cfg.RecordEvents {
		return func(context.Context) error { return nil }, nil
	}
	prod, err := ensureProducer(ctx, cfg.Consumer.Kafka, cfg.RecordsTopic, cfg.RecordsPartitions)
	if err != nil {
		return nil, fmt.Errorf("records topic: %w", err)
	}
	cfg.Aggregator.Emit = alerting.RecordEvents(prod.Send, cfg.Logger)
	return prod.Close, nil
}

// ensureProducer creates topic when it is missing (partitions,
// replication 1: declare it as a KafkaTopic for the cluster's) and returns
// a producer to it.
func ensureProducer(ctx context.Context, kc kafka.Config, topic string, partitions int32) (*kafka.Producer, error) {
	if err := kafka.EnsureTopic(ctx, kc, topic, partitions, 1); err != nil {
		return nil, err
	}
	prod, err := kafka.NewProducer(kc, topic)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", topic, err)
	}
	return prod, nil
}

// consumeAndServe joins c.Group on topic (newConsumer) and serves the
// metrics at addr, adding what releases them to closers.
func consumeAndServe(ctx context.Context, c Consumer, topic, addr string, m *metrics.Metrics, log *slog.Logger, closers *[]func(context.Context) error) (*kafka.Consumer, error) {
	cons, closeDL, err := newConsumer(ctx, c, topic, m, log)
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, closeDL)
	stopMetrics, err := serveMetrics(ctx, addr, m, log)
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, stopMetrics)
	return cons, nil
}

// closeAll runs fs in order within the drain's bound after ctx ends and
// returns err joined with their errors.
func closeAll(ctx context.Context, drain time.Duration, err error, fs []func(context.Context) error) error {
	dctx, cancel := shutdown.CloseContext(ctx, drain)
	defer cancel()
	errs := []error{err}
	for _, f := range fs {
		errs = append(errs, f(dctx))
	}
	return errors.Join(errs...)
}

// newConsumer joins c.Group on topic, with a dead-letter producer when
// c.DeadLetterTopic is set; closeDL releases that producer.
func newConsumer(ctx context.Context, c Consumer, topic string, m *metrics.Metrics, log *slog.Logger) (_ *kafka.Consumer, closeDL func(context.Context) error, _ error) {
	opts := c.Options
	opts.MaxInFlight, opts.Observer, opts.Logger = c.InFlight, m, log
	closeDL = func(context.Context) error { return nil }
	if c.DeadLetterTopic != "" {
		// Created now (Kafka does not create it on first produce): a
		// missing one would hold the partition behind its first poison
		// record forever.
		dl, err := kafka.NewTopicDeadLetter(ctx, c.Kafka, c.DeadLetterTopic, c.DeadLetterReplication)
		if err != nil {
			return nil, nil, err
		}
		opts.DeadLetter, closeDL = dl, dl.Close
	}
	cons, err := kafka.NewConsumer(c.Kafka, c.Group, []string{topic}, opts)
	if err != nil {
		_ = closeDL(context.Background())
		return nil, nil, err
	}
	return cons, closeDL, nil
}
