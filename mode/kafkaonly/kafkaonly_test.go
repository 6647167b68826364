package kafkaonly_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/kafkaonly"
	"github.com/tweetflow/tweetflow/mode/modetest"
	"github.com/tweetflow/tweetflow/mode/produce"
	"github.com/tweetflow/tweetflow/producer"
)

// The Kafka-only mode end to end as the commands wire it: produce → one
// function per model (real models) → metadata topic → aggregator → SQLite;
// every tweet is stored complete, and each service returns nil once stopped.
func TestFunctionsAndAggregator(t *testing.T) {
	const n = 40
	kcfg := modetest.Kafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := produce.Run(ctx, produce.Config{Data: "../../data/sample.csv", Kafka: kcfg, Partitions: 2,
		Producer: producer.Options{Limit: n}, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	models := []string{"offense", "sentiment"}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	run := func(ctx context.Context, f func(context.Context) error) {
		wg.Go(func() {
			if err := f(ctx); err != nil {
				errs <- err
			}
		})
	}
	fctx, stopFunctions := context.WithCancel(ctx)
	for _, m := range models {
		cfg := kafkaonly.FunctionConfig{Function: core.FunctionConfig{ModelDir: filepath.Join("../../models", m)},
			Consumer: kafkaonly.Consumer{Kafka: kcfg}, MetricsAddr: "", Logger: slog.New(slog.DiscardHandler)}
		run(fctx, func(ctx context.Context) error { return kafkaonly.RunFunction(ctx, cfg) })
	}
	// Both models' replies are in the metadata topic before the aggregator
	// starts: it must read them from the beginning.
	modetest.ReadTopic(ctx, t, kcfg, "metadata", 2*n)

	db := filepath.Join(t.TempDir(), "tweetflow.db")
	stored := make(chan int, n)
	acfg := kafkaonly.AggregatorConfig{Consumer: kafkaonly.Consumer{Kafka: kcfg}, MetricsAddr: "", Logger: slog.New(slog.DiscardHandler),
		Aggregator: core.AggregatorConfig{ModelsDir: "../../models", Models: models, Store: core.StoreConfig{SQLite: db},
			OnStored: func(recs []sink.Record) { stored <- len(recs) }}}
	actx, stopAggregator := context.WithCancel(ctx)
	run(actx, func(ctx context.Context) error { return kafkaonly.RunAggregator(ctx, acfg) })
	for got := 0; got < n; {
		select {
		case k := <-stored:
			got += k
		case <-ctx.Done():
			t.Fatalf("%d of %d tweets stored", got, n)
		}
	}
	stopAggregator()
	stopFunctions()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("service: %v", err)
	}
	st, err := sqlite.Open(context.Background(), db, models)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	count, err := st.Count(context.Background(), time.Time{}, time.Time{})
	if err != nil || count != n {
		t.Fatalf("store holds %d tweets (%v), want %d", count, err, n)
	}
}

// The metrics address is bound at start: a port in use fails the start,
// naming the flag, instead of a log line while the service runs blind.
func TestMetricsAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := kafkaonly.AggregatorConfig{Consumer: kafkaonly.Consumer{Kafka: modetest.Kafka(t)}, MetricsAddr: l.Addr().String(), Logger: slog.New(slog.DiscardHandler),
		Aggregator: core.AggregatorConfig{ModelsDir: "../../models", Store: core.StoreConfig{SQLite: filepath.Join(t.TempDir(), "t.db")}}}
	err = kafkaonly.RunAggregator(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Fatalf("RunAggregator with the metrics port taken = %v", err)
	}
}

// A function without a model fails at start with the setting to fix.
func TestFunctionWithoutModel(t *testing.T) {
	err := kafkaonly.RunFunction(context.Background(), kafkaonly.FunctionConfig{Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "MODEL_DIR") {
		t.Fatalf("RunFunction without a model = %v", err)
	}
}

// Defaults are defined once and fill what a config leaves zero.
func TestDefaults(t *testing.T) {
	f, a := kafkaonly.FunctionDefaults(), kafkaonly.AggregatorDefaults()
	if f.In != "tweets" || f.Out != "metadata" || a.Topic != f.Out || a.Consumer.Group != "tweetflow-aggregator" ||
		a.Aggregator.Store.SQLite != "tweetflow.db" || a.Aggregator.JoinTimeout != 10*time.Second {
		t.Fatalf("defaults %+v %+v", f, a)
	}
}
