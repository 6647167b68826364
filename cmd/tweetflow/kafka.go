package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/service"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// kafkaFlags are the flags both Kafka-only services share.
type kafkaFlags struct {
	cfg         kafka.Config
	group       string
	inFlight    int
	deadLetter  string
	metricsAddr string
}

func (k *kafkaFlags) bind(cmd *cobra.Command, defaultGroup string, defaultInFlight int) {
	f := cmd.Flags()
	k.cfg.BindFlags(f, os.Getenv)
	f.StringVar(&k.group, "group", defaultGroup, "consumer group (one per model for functions)")
	f.IntVar(&k.inFlight, "in-flight", defaultInFlight, "events in flight (delivered, not yet acked) per partition")
	f.StringVar(&k.deadLetter, "dead-letter-topic", "", "topic for records that can never be handled (default: log and skip)")
	f.StringVar(&k.metricsAddr, "metrics-addr", ":9090", "serve /metrics here (empty: off)")
}

func (k *kafkaFlags) consumer(topic string, m *metrics.Metrics, log *slog.Logger) (*kafka.Consumer, func(), error) {
	opts := kafka.ConsumerOptions{MaxInFlight: k.inFlight, Observer: m, Logger: log}
	cleanup := func() {}
	if k.deadLetter != "" {
		base, err := k.cfg.Sarama()
		if err != nil {
			return nil, nil, err
		}
		client, err := sarama.NewClient(k.cfg.Brokers, kafka.ProducerConfig(base))
		if err != nil {
			return nil, nil, fmt.Errorf("kafka: dead-letter producer: %w", err)
		}
		sp, err := sarama.NewSyncProducerFromClient(client)
		if err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("kafka: dead-letter producer: %w", err)
		}
		opts.DeadLetter = &kafka.TopicDeadLetter{Topic: k.deadLetter, Producer: sp}
		cleanup = func() { sp.Close(); client.Close() }
	}
	c, err := kafka.NewConsumer(k.cfg, k.group, []string{topic}, opts)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return c, cleanup, nil
}

// serveMetrics serves m at addr until ctx ends.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics, log *slog.Logger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "addr", addr, "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
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
	cmd.AddCommand(newKafkaFunctionCmd(), newKafkaAggregateCmd())
	return cmd
}

func newKafkaFunctionCmd() *cobra.Command {
	var (
		k           kafkaFlags
		modelDir    string
		in, out     string
		partitions  int32
		replication int16
	)
	cmd := &cobra.Command{
		Use:   "function --model-dir models/NAME",
		Short: "Score the tweets topic with one model and produce metadata events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			cfg := envMap()
			cfg["MODEL_DIR"] = modelDir
			fc, err := service.FunctionConfigFrom(cfg)
			if err != nil {
				return err
			}
			name := lastPathElem(fc.ModelDir)
			m := metrics.New("function", name)
			fn, closeFn, err := service.NewFunction(fc, m)
			if err != nil {
				return err
			}
			if k.group == "" {
				k.group = "tweetflow-" + fn.Name()
			}
			if err := kafka.EnsureTopic(ctx, k.cfg, out, partitions, replication); err != nil {
				return err
			}
			prod, err := kafka.NewProducer(k.cfg, out)
			if err != nil {
				return err
			}
			c, cleanup, err := k.consumer(in, m, log)
			if err != nil {
				prod.Close(ctx)
				return err
			}
			defer cleanup()
			serveMetrics(ctx, k.metricsAddr, m, log)
			log.Info("kafka function", "model", fn.Name(), "in", in, "out", out, "group", k.group)
			runErr := service.KafkaFunction(ctx, c, prod, service.FunctionHandler(fn), k.inFlight)
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return errors.Join(runErr, closeFn(sctx), prod.Close(sctx))
		},
	}
	k.bind(cmd, "", 512) // enough for the core to fill its micro-batches
	f := cmd.Flags()
	f.StringVar(&modelDir, "model-dir", os.Getenv("MODEL_DIR"), "model folder [$MODEL_DIR]")
	f.StringVar(&in, "in", "tweets", "topic of tweet events")
	f.StringVar(&out, "out", "metadata", "topic of metadata events")
	f.Int32Var(&partitions, "partitions", 6, "partitions of --out when it is created")
	f.Int16Var(&replication, "replication", 1, "replication factor of --out when it is created")
	return cmd
}

func newKafkaAggregateCmd() *cobra.Command {
	var (
		k      kafkaFlags
		topic  string
		models string
		ef     *esFlags
		envErr error
		// One group sees every model's result: wait for them (10s). Room
		// for every partition's read-ahead (--in-flight), so Add never
		// blocks a claim whose later records would complete the pending
		// tweets (100000).
		cfg = core.AggregatorConfig{ModelsDir: "models", Store: core.StoreConfig{SQLite: "tweetflow.db"}, JoinTimeout: 10 * time.Second, MaxPending: 100000}
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
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if envErr != nil {
				return envErr
			}
			m := metrics.New("aggregator", "")
			cfg.Models = core.SplitList(models)
			var err error
			if cfg.Store, err = storeConfig(cmd, cfg.Store, ef); err != nil {
				return err
			}
			agg, closeAll, err := core.NewAggregator(ctx, cfg, m, log)
			if err != nil {
				return err
			}
			c, cleanup, err := k.consumer(topic, m, log)
			if err != nil {
				closeAll(ctx)
				return err
			}
			defer cleanup()
			serveMetrics(ctx, k.metricsAddr, m, log)
			return service.KafkaAggregator(ctx, c, agg, closeAll)
		},
	}
	// A tweet's results from different models sit apart in its partition
	// (the models run at different speeds); the aggregator must read far
	// enough ahead to join them, or each claim stalls until the join timeout.
	k.bind(cmd, "tweetflow-aggregator", 10000)
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "metadata", "topic of metadata events")
	env, err := cfg.FromEnv(os.Getenv)
	if envErr = err; err == nil {
		cfg = env
	}
	f.StringVar(&cfg.Store.SQLite, "db", cfg.Store.SQLite, "SQLite database file [$SQLITE_PATH]")
	f.StringVar(&cfg.ModelsDir, "models-dir", cfg.ModelsDir, "folder holding the model folders [$MODELS_DIR]")
	f.StringVar(&models, "models", os.Getenv(core.EnvModels), "comma-separated models to wait for (default: every folder under --models-dir) [$MODELS]")
	f.DurationVar(&cfg.JoinTimeout, "join-timeout", cfg.JoinTimeout, "write a tweet as partial when a model has not answered after this long [$JOIN_TIMEOUT]")
	f.IntVar(&cfg.MaxPending, "max-pending", cfg.MaxPending, "tweets held in memory by the join [$MAX_PENDING]")
	ef = addESFlags(f)
	ef.addStoreFlags(f, "")
	cfg.Store.ES = elastic.Config{} // the flags and ES_* are read at run time (storeConfig)
	return cmd
}

func envMap() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func lastPathElem(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}
