package integration

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/kafkaonly"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// kafkaOnly is the Knative-free deployment in one process: a function
// consumer group per model (tweets → metadata) and the aggregator's consumer
// group (metadata → SQLite), run by mode/kafkaonly exactly as 'tweetflow
// kafka function|aggregate' run them.
type kafkaOnly struct {
	tb     testing.TB
	kcfg   kafka.Config
	dbPath string
	models []string
	parts  int32

	aggMetrics *metrics.Metrics // the current aggregator's
	// stored receives a value (without blocking) after each durable write:
	// the waits below wake on it instead of sleeping.
	stored chan struct{}
	// results counts the model results the current aggregator has stored,
	// added before stored is signalled, so a wait woken by the last write
	// sees it (the events_total metric counts an event only after its ack,
	// which follows the write and so may come after the last signal).
	results atomic.Int64

	wg     sync.WaitGroup
	cancel []context.CancelFunc
	errs   chan error
}

func newKafkaOnly(tb testing.TB, parts int32) *kafkaOnly {
	tb.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cluster.Close)
	return newKafkaOnlyAt(tb, cluster.ListenAddrs(), parts)
}

// newKafkaOnlyAt is newKafkaOnly on a broker that is already running
// (another process's, in kcat_test.go).
func newKafkaOnlyAt(tb testing.TB, brokers []string, parts int32) *kafkaOnly {
	tb.Helper()
	k := &kafkaOnly{tb: tb, kcfg: kafka.Config{Brokers: brokers, ClientID: "kafka-only"},
		dbPath: filepath.Join(tb.TempDir(), "tweetflow.db"), errs: make(chan error, 16), stored: make(chan struct{}, 1), parts: parts}
	for _, topic := range []string{"tweets", "metadata"} {
		if err := kafka.EnsureTopic(context.Background(), k.kcfg, topic, parts, 1); err != nil {
			tb.Fatal(err)
		}
	}
	reg, err := model.Open(modelsDir)
	if err != nil {
		tb.Fatal(err)
	}
	k.models = reg.Names()
	return k
}

func (k *kafkaOnly) startFunctions() {
	for _, name := range k.models {
		cfg := kafkaonly.FunctionConfig{Function: core.FunctionConfig{ModelDir: filepath.Join(modelsDir, name)},
			Consumer: kafkaonly.Consumer{Kafka: k.kcfg}, Partitions: k.parts, MetricsAddr: "", Logger: slog.New(slog.DiscardHandler)}
		k.run(func(ctx context.Context) error { return kafkaonly.RunFunction(ctx, cfg) })
	}
}

// startAggregator starts the aggregator group; its returned stop ends it
// (gracefully: pending tweets are written and committed).
func (k *kafkaOnly) startAggregator() (stop func()) {
	k.aggMetrics = metrics.New("aggregator", "")
	cfg := kafkaonly.AggregatorConfig{Consumer: kafkaonly.Consumer{Kafka: k.kcfg}, MetricsAddr: "", Metrics: k.aggMetrics, Logger: slog.New(slog.DiscardHandler),
		Aggregator: core.AggregatorConfig{ModelsDir: modelsDir, Store: core.StoreConfig{SQLite: k.dbPath},
			OnStored: func(recs []sink.Record) {
				for _, r := range recs {
					k.results.Add(int64(len(r.Results)))
				}
				select {
				case k.stored <- struct{}{}:
				default:
				}
			}}}
	return k.run(func(ctx context.Context) error { return kafkaonly.RunAggregator(ctx, cfg) })
}

func (k *kafkaOnly) run(f func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	k.cancel = append(k.cancel, cancel)
	k.wg.Go(func() {
		defer close(done)
		if err := f(ctx); err != nil {
			k.errs <- err
		}
	})
	return func() { cancel(); <-done }
}

func (k *kafkaOnly) stopAll() {
	for _, c := range k.cancel {
		c()
	}
	k.wg.Wait()
	close(k.errs)
	for err := range k.errs {
		k.tb.Errorf("service: %v", err)
	}
}

func (k *kafkaOnly) produce(events []cloudevents.Event) {
	p, err := kafka.NewProducer(k.kcfg, "tweets")
	if err != nil {
		k.tb.Fatal(err)
	}
	defer p.Close(context.Background())
	for i := 0; i < len(events); i += 1000 {
		if err := p.Send(context.Background(), events[i:min(i+1000, len(events))]); err != nil {
			k.tb.Fatal(err)
		}
	}
}

// until checks done after each durable write of the aggregator (and once
// at first) until it holds, failing the test after timeout with what
// describe says.
func (k *kafkaOnly) until(timeout time.Duration, done func() bool, describe func() string) {
	k.tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !done() {
		select {
		case <-k.stored:
		case err := <-k.errs:
			k.tb.Fatalf("a service failed: %v", err)
		case <-deadline.C:
			k.tb.Fatalf("after %v: %s", timeout, describe())
		}
	}
}

// waitResults waits until the current aggregator has stored n model
// results. Cheap enough to check while measuring, unlike a query over the
// whole store.
func (k *kafkaOnly) waitResults(n int64, timeout time.Duration) {
	k.until(timeout, func() bool { return k.results.Load() >= n },
		func() string {
			return fmt.Sprintf("%d model results stored (%d metadata events acked), want %d",
				k.results.Load(), okEvents(k.tb, k.aggMetrics), n)
		})
}

func okEvents(tb testing.TB, m *metrics.Metrics) int64 {
	mfs, err := m.Registry().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tweetflow_events_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "ok" {
					return int64(mt.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

// waitStored waits until the store holds n complete tweets.
func (k *kafkaOnly) waitStored(n int64, timeout time.Duration) {
	st, err := sqlite.Open(context.Background(), k.dbPath, k.models)
	if err != nil {
		k.tb.Fatal(err)
	}
	defer st.Close(context.Background())
	var s sqlite.Stats
	k.until(timeout, func() bool {
		s, err = st.Stats(context.Background(), time.Time{}, time.Time{})
		return err == nil && s.Complete >= n
	}, func() string { return fmt.Sprintf("%+v, want %d complete (err %v)", s, n, err) })
}

func syntheticTweets(tb testing.TB, n int, prefix string) []cloudevents.Event {
	tb.Helper()
	texts := []string{"I love this, what a great day", "this is awful and I hate it", "meh, the bus was late again",
		"you are an idiot", "happy birthday to my best friend!", "worst service ever, never again"}
	out := make([]cloudevents.Event, n)
	for i := range out {
		e, err := event.NewTweetEvent(event.Tweet{ID: fmt.Sprintf("%s%07d", prefix, i), User: "u",
			Text: fmt.Sprintf("%s #%d", texts[i%len(texts)], i), CreatedAt: time.Unix(1600000000+int64(i), 0).UTC()})
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// Kafka-only mode end to end, with the aggregator stopped and restarted
// mid-stream: every tweet ends up stored once and complete.
func TestKafkaOnlyMode(t *testing.T) {
	const n = 3000
	k := newKafkaOnly(t, 3)
	k.startFunctions()
	stopAgg := k.startAggregator()
	events := syntheticTweets(t, n, "k")
	k.produce(events[:n/2])
	k.waitStored(100, time.Minute)
	stopAgg() // mid-stream
	k.produce(events[n/2:])
	k.produce(events[:200]) // a producer Job resumed from an earlier row
	k.startAggregator()
	k.waitStored(n, 2*time.Minute)
	k.stopAll()

	st, err := sqlite.Open(context.Background(), k.dbPath, k.models)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	s, err := st.Stats(context.Background(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Tweets != n || s.Complete != n || s.Partial != 0 {
		t.Fatalf("store: %+v, want %d tweets, all complete", s, n)
	}
	for _, m := range k.models {
		if s.Models[m].Scored != n {
			t.Errorf("model %s scored %d tweets, want %d", m, s.Models[m].Scored, n)
		}
	}
}
