package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/internal/commalist"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/kafkaonly"
)

// bindConsumer registers the flags both Kafka-only services share.
func bindConsumer(cmd *cobra.Command, c *kafkaonly.Consumer, metricsAddr *string) {
	f := cmd.Flags()
	bindKafka(f, &c.Kafka, os.Getenv)
	f.StringVar(&c.Group, "group", c.Group, "consumer group (one per model for functions; default tweetflow-MODEL)")
	f.IntVar(&c.InFlight, "in-flight", c.InFlight, "events in flight (delivered, not yet acked) per partition")
	f.StringVar(&c.DeadLetterTopic, "dead-letter-topic", "", "topic for records that can never be handled (default: log and skip)")
	f.Int16Var(&c.DeadLetterReplication, "dead-letter-replication", c.DeadLetterReplication, "replication factor of --dead-letter-topic when it is created (0: the broker's default.replication.factor)")
	f.StringVar(metricsAddr, "metrics-addr", *metricsAddr, "serve /metrics here (empty: off)")
}

func newKafkaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kafka",
		Short: "Run the pipeline on Kafka alone, without Knative (functions and aggregator as consumer groups)",
		Long: `Kafka-only mode, like the original docker-compose setup: 'tweetflow produce'
writes tweets to a topic; 'tweetflow kafka function' (one per model, each its
own consumer group) scores them and produces metadata events to a second
topic; 'tweetflow kafka aggregate' consumes that topic into the store. Offsets
are committed only after the result is produced (functions) or stored
(aggregator), and only the contiguous prefix of finished records.`,
	}
	cmd.AddCommand(newKafkaFunctionCmd(), newKafkaAggregateCmd(), newKafkaAlertsCmd())
	return cmd
}

func newKafkaFunctionCmd() *cobra.Command {
	cfg := kafkaonly.FunctionDefaults()
	var envErr error
	cmd := &cobra.Command{
		Use:   "function --model-dir models/NAME",
		Short: "Score the tweets topic with one model and produce metadata events",
		Long: `Score the tweets topic with one model and produce metadata events. The
micro-batcher's tuning comes from the environment, as on Knative: MAX_BATCH,
MAX_DELAY, MAX_QUEUE, WORKERS, ORT_THREADS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if envErr != nil {
				return envErr
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return kafkaonly.RunFunction(cmd.Context(), cfg)
		},
	}
	cfg.Function, envErr = core.FunctionConfigFromEnv(os.Getenv)
	bindConsumer(cmd, &cfg.Consumer, &cfg.MetricsAddr)
	f := cmd.Flags()
	f.StringVar(&cfg.Function.ModelDir, "model-dir", cfg.Function.ModelDir, "model folder [$MODEL_DIR, or $MODEL under $MODELS_DIR]")
	f.StringVar(&cfg.In, "in", cfg.In, "topic of tweet events")
	f.StringVar(&cfg.Out, "out", cfg.Out, "topic of metadata events")
	f.Int32Var(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of --out when it is created")
	f.Int16Var(&cfg.Replication, "replication", cfg.Replication, "replication factor of --out when it is created")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "after SIGTERM, give up flushing after this long")
	return cmd
}

func newKafkaAggregateCmd() *cobra.Command {
	var (
		cfg    = kafkaonly.AggregatorDefaults()
		models string
		ef     *esFlags
		envErr error
	)
	cmd := &cobra.Command{
		Use:   "aggregate",
		Short: "Consume the metadata topic into the store (SQLite, or Elasticsearch with --es)",
		Long: `Consume metadata events, join them by tweet id and store them; each offset is
committed only after its record is stored. The store and join take the same
flags and environment variables as 'tweetflow run' and 'tweetflow aggregate'
(--db/SQLITE_PATH, --es/ES_URL and ES_*, --models-dir/MODELS_DIR,
--models/MODELS, --join-timeout/JOIN_TIMEOUT, --max-pending/MAX_PENDING).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if envErr != nil {
				return envErr
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			cfg.Aggregator.Models = commalist.Split(models)
			var err error
			if cfg.Aggregator.Store, err = storeConfig(cmd, cfg.Aggregator.Store, ef); err != nil {
				return err
			}
			cfg.Alerts.ESIndex, cfg.Alerts.Warm = ef.alertsIndex, cfg.Alerts.Rebuild/2
			return kafkaonly.RunAggregator(cmd.Context(), cfg)
		},
	}
	bindConsumer(cmd, &cfg.Consumer, &cfg.MetricsAddr)
	// The environment goes in under the flags: a flag wins over its
	// variable, a variable over the default. The ES_* variables are read
	// at run time with the --es flags (storeConfig).
	a := &cfg.Aggregator
	if *a, envErr = a.FromEnv(os.Getenv); envErr == nil {
		a.Store.ES = elastic.Config{}
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Topic, "topic", cfg.Topic, "topic of metadata events")
	bindStoreAndModels(f, &a.Store.SQLite, &a.ModelsDir, &models, "to wait for")
	f.DurationVar(&a.JoinTimeout, "join-timeout", a.JoinTimeout, "write a tweet as partial when a model has not answered after this long [$JOIN_TIMEOUT]")
	f.IntVar(&a.MaxPending, "max-pending", a.MaxPending, "tweets held in memory by the join [$MAX_PENDING]")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "after SIGTERM, give up storing what is pending after this long")
	ef = addESFlags(f)
	ef.addStoreFlags(f, "")
	var alertsErr error
	if cfg.Alerts, alertsErr = cfg.Alerts.FromEnv(os.Getenv); alertsErr != nil && envErr == nil {
		envErr = alertsErr
	}
	f.BoolVar(&cfg.Alerts.Off, "no-alerts", cfg.Alerts.Off, "do not run the alert engine over the stored tweets [$ALERTS=off]")
	f.StringVar(&cfg.AlertsTopic, "alerts-topic", cfg.AlertsTopic, "topic receiving the alert events (-: none)")
	bindAlertFlags(f, &cfg.Alerts)
	if cfg.RecordEvents, alertsErr = alerting.RecordEventsFromEnv(os.Getenv, cfg.RecordEvents); alertsErr != nil && envErr == nil {
		envErr = alertsErr
	}
	f.BoolVar(&cfg.RecordEvents, "record-events", cfg.RecordEvents, "produce each stored record's event to --records-topic, for 'tweetflow kafka alerts' [$RECORD_EVENTS=on]")
	f.StringVar(&cfg.RecordsTopic, "records-topic", cfg.RecordsTopic, "topic receiving the record events (created at start)")
	return cmd
}

// bindStoreAndModels registers --db, --models-dir and --models (the
// models ..., which).
func bindStoreAndModels(f *pflag.FlagSet, db, modelsDir, models *string, which string) {
	f.StringVar(db, "db", *db, "SQLite database file [$SQLITE_PATH]")
	f.StringVar(modelsDir, "models-dir", *modelsDir, "folder holding the model folders [$MODELS_DIR]")
	f.StringVar(models, "models", os.Getenv(core.EnvModels), "comma-separated models "+which+" (default: every folder under --models-dir) [$MODELS]")
}

// bindAlertFlags registers the alert engine's hold and rebuild flags.
func bindAlertFlags(f *pflag.FlagSet, a *alerting.Config) {
	f.DurationVar(&a.EventHold, "alert-hold", a.EventHold,
		"event time a stored tweet waits for older ones stored later (other partitions) before the alert engine sees it [$ALERT_HOLD]")
	f.DurationVar(&a.Rebuild, "alert-rebuild", a.Rebuild,
		"event time of stored tweets, back from the newest, read into the alert engine at start (its first half only warms up) [$ALERT_REBUILD]")
}

func newKafkaAlertsCmd() *cobra.Command {
	cfg := kafkaonly.AlertsDefaults()
	e := &cfg.Engine
	var models string
	var ef *esFlags
	var envErr error
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Run the alert engine as its own consumer group on the records topic",
		Long: `Run the alert engine apart from the aggregators: a consumer group on the
records topic, which 'tweetflow kafka aggregate --record-events' fills with
every stored record. The engine is rebuilt from the store at start (the
aggregators' store: --db/SQLITE_PATH or --es/ES_URL), holds records for
--alert-hold of event time, and writes its alerts to the store's alerts
table or index and to --alerts-topic. The aggregators then run with
--no-alerts (ALERTS=off) and may scale; this one must see every partition,
so run one member of its group.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if envErr != nil {
				return envErr
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			e.Models = commalist.Split(models)
			var err error
			if e.Store, err = storeConfig(cmd, e.Store, ef); err != nil {
				return err
			}
			e.Alerts.ESIndex, e.Alerts.Warm = ef.alertsIndex, e.Alerts.Rebuild/2
			return kafkaonly.RunAlerts(cmd.Context(), cfg)
		},
	}
	bindConsumer(cmd, &cfg.Consumer, &cfg.MetricsAddr)
	// As for aggregate: the environment under the flags.
	st := core.AggregatorConfig{ModelsDir: e.ModelsDir, Store: e.Store}
	if st, envErr = st.FromEnv(os.Getenv); envErr == nil {
		e.ModelsDir, e.Store = st.ModelsDir, st.Store
		e.Store.ES = elastic.Config{}
	}
	var alertsErr error
	if e.Alerts, alertsErr = e.Alerts.FromEnv(os.Getenv); alertsErr != nil && envErr == nil {
		envErr = alertsErr
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Topic, "topic", cfg.Topic, "topic of record events")
	bindStoreAndModels(f, &e.Store.SQLite, &e.ModelsDir, &models, "whose thresholds apply")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "after SIGTERM, give up after this long")
	f.StringVar(&cfg.AlertsTopic, "alerts-topic", cfg.AlertsTopic, "topic receiving the alert events (-: none)")
	ef = addESFlags(f)
	f.StringVar(&ef.alertsIndex, "es-alerts-index", elastic.DefaultAlertsIndex, "index receiving alerts when the store is Elasticsearch")
	bindAlertFlags(f, &e.Alerts)
	return cmd
}
