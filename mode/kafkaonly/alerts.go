package kafkaonly

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
)

// AlertsConfig configures RunAlerts, the alert engine as its own consumer
// group on the records topic (`tweetflow kafka alerts`). Zero values take
// AlertsDefaults().
type AlertsConfig struct {
	// Engine is the engine over the aggregators' store (its thresholds,
	// the rebuild at start, where the alerts are stored).
	Engine   alerting.EngineConfig
	Consumer Consumer
	// Topic is the records topic the aggregators produce to
	// (AggregatorConfig.RecordsTopic, with RecordEvents on).
	Topic string
	// AlertsTopic receives every alert as its CloudEvent (key = alert id),
	// created at start with AlertsPartitions; "-" sends none.
	AlertsTopic      string
	AlertsPartitions int32
	// MetricsAddr serves /metrics (empty: off).
	MetricsAddr string
	// DrainTimeout bounds the close after ctx ends.
	DrainTimeout time.Duration
	// Metrics, when set, receives the counts (else a new set).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// AlertsDefaults returns the engine consumer's defaults, the only place
// they are defined: the cluster engine (one-minute event-time hold, stops
// that keep the windows open, a two-hour rebuild), its own group reading
// every partition, the aggregators' defaults for the models and the store.
func AlertsDefaults() AlertsConfig {
	a := AggregatorDefaults()
	return AlertsConfig{
		Engine: alerting.EngineConfig{
			Alerts:    alerting.ClusterDefaults(),
			ModelsDir: a.Aggregator.ModelsDir,
			Store:     a.Aggregator.Store,
		},
		// Records are cheap to hold: read well ahead so the engine's
		// batches fill.
		Consumer:         Consumer{Kafka: defaultKafka(), Group: "tweetflow-alerts", InFlight: 4096},
		Topic:            a.RecordsTopic,
		AlertsTopic:      a.AlertsTopic,
		AlertsPartitions: a.AlertsPartitions,
		MetricsAddr:      ":9090",
		DrainTimeout:     core.DefaultDrainTimeout,
	}
}

func (c AlertsConfig) withDefaults() AlertsConfig {
	d := AlertsDefaults()
	e := &c.Engine
	e.Alerts = e.Alerts.WithDefaults(d.Engine.Alerts)
	e.ModelsDir = cmp.Or(e.ModelsDir, d.Engine.ModelsDir)
	if !e.Store.IsES() {
		e.Store.SQLite = cmp.Or(e.Store.SQLite, d.Engine.Store.SQLite)
	}
	c.Consumer = c.Consumer.withDefaults(d.Consumer)
	c.Topic = cmp.Or(c.Topic, d.Topic)
	c.AlertsTopic = cmp.Or(c.AlertsTopic, d.AlertsTopic)
	c.AlertsPartitions = cmp.Or(c.AlertsPartitions, d.AlertsPartitions)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, d.DrainTimeout)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c
}

// RunAlerts runs the alert engine over the records topic: the engine is
// rebuilt from the store, then every record event of the group's
// partitions reaches it, and each offset is committed once the engine
// holds its record (its state comes back from the store after a restart,
// not from the topic). Alerts go to the store's alerts table or index and
// to AlertsTopic. It returns when ctx ends and the consumer and the engine
// are drained.
//
// One group member must see every partition: a second member would take
// half the partitions, and the engine's windows and pair edges span them
// (ARCHITECTURE, "The alert engine apart").
func RunAlerts(ctx context.Context, cfg AlertsConfig) (err error) {
	cfg = cfg.withDefaults()
	log, m := cfg.Logger, cmp.Or(cfg.Metrics, metrics.New("alerts", ""))
	var closers []func(context.Context) error
	defer func() { err = closeAll(ctx, cfg.DrainTimeout, err, closers) }()
	ec := cfg.Engine
	ec.Logger = log
	if cfg.AlertsTopic != "-" {
		prod, err := ensureProducer(ctx, cfg.Consumer.Kafka, cfg.AlertsTopic, cfg.AlertsPartitions)
		if err != nil {
			return fmt.Errorf("alerts topic: %w", err)
		}
		// Closed after the engine, which sends its last alerts.
		closers = append(closers, prod.Close)
		ec.Alerts.Events = alerts.Events{Send: prod.Send}
	}
	eng, err := alerting.OpenEngine(ctx, ec)
	if err != nil {
		return err
	}
	closers = append([]func(context.Context) error{eng.Close}, closers...)
	c, err := consumeAndServe(ctx, cfg.Consumer, cfg.Topic, cfg.MetricsAddr, m, log, &closers)
	if err != nil {
		return err
	}
	log.Info("kafka alerts", "topic", cfg.Topic, "group", cfg.Consumer.Group, "alerts topic", cfg.AlertsTopic)
	// The consumer drains (its in-flight records are acked by the engine)
	// before the deferred close stops the engine.
	return c.Run(ctx, eng.Handler())
}
