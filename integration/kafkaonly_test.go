package integration

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/service"
	"github.com/tweetflow/tweetflow/service/function"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// kafkaOnly is the Knative-free deployment in one process: a function
// consumer group per model (tweets → metadata) and the aggregator's consumer
// group (metadata → SQLite), exactly as 'tweetflow kafka function|aggregate'
// wire them.
type kafkaOnly struct {
	tb     testing.TB
	kcfg   kafka.Config
	dbPath string
	models []string

	aggMetrics *metrics.Metrics // the current aggregator's

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
	k := &kafkaOnly{tb: tb, kcfg: kafka.Config{Brokers: cluster.ListenAddrs(), ClientID: "kafka-only"},
		dbPath: filepath.Join(tb.TempDir(), "tweetflow.db"), errs: make(chan error, 16)}
	for _, topic := range []string{"tweets", "metadata"} {
		if err := kafka.EnsureTopic(context.Background(), k.kcfg, topic, parts, 1); err != nil {
			tb.Fatal(err)
		}
	}
	specs, err := model.Select(modelsDir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range specs {
		k.models = append(k.models, s.Name)
	}
	return k
}

func (k *kafkaOnly) consumerOpts() kafka.ConsumerOptions {
	return kafka.ConsumerOptions{MaxInFlight: 512, Logger: quiet()}
}

func (k *kafkaOnly) startFunctions() {
	for _, name := range k.models {
		m := metrics.New("function", name)
		fn, closeFn, err := function.New(function.Config{ModelDir: filepath.Join(modelsDir, name)}, m)
		if err != nil {
			k.tb.Fatal(err)
		}
		prod, err := kafka.NewProducer(k.kcfg, "metadata")
		if err != nil {
			k.tb.Fatal(err)
		}
		c, err := kafka.NewConsumer(k.kcfg, "tweetflow-"+name, []string{"tweets"}, k.consumerOpts())
		if err != nil {
			k.tb.Fatal(err)
		}
		k.run(func(ctx context.Context) error {
			err := service.KafkaFunction(ctx, c, prod, function.Handler(fn), 512)
			return errors.Join(err, closeFn(context.Background()), prod.Close(context.Background()))
		})
	}
}

// startAggregator starts the aggregator group; its returned stop ends it
// (gracefully: pending tweets are written and committed).
func (k *kafkaOnly) startAggregator() (stop func()) {
	cfg := map[string]string{"MODELS_DIR": modelsDir, "SQLITE_PATH": k.dbPath, "JOIN_TIMEOUT": "10s", "MAX_PENDING": "100000"}
	k.aggMetrics = metrics.New("aggregator", "")
	agg, closeAll, err := service.NewAggregator(context.Background(), cfg, k.aggMetrics, quiet())
	if err != nil {
		k.tb.Fatal(err)
	}
	opts := k.consumerOpts()
	opts.Observer = k.aggMetrics
	opts.MaxInFlight = 10000 // read ahead to the other models' results (see 'tweetflow kafka aggregate')
	c, err := kafka.NewConsumer(k.kcfg, "tweetflow-aggregator", []string{"metadata"}, opts)
	if err != nil {
		k.tb.Fatal(err)
	}
	return k.run(func(ctx context.Context) error { return service.KafkaAggregator(ctx, c, agg, closeAll) })
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

// waitAcked waits until the current aggregator has acked n metadata events
// (each acked only once its record is stored). Cheap enough to poll while
// measuring, unlike a query over the whole store.
func (k *kafkaOnly) waitAcked(n int64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		got := okEvents(k.tb, k.aggMetrics)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			k.tb.Fatalf("after %v: %d metadata events stored, want %d", timeout, got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	deadline := time.Now().Add(timeout)
	for {
		s, err := st.Stats(context.Background(), time.Time{}, time.Time{})
		if err == nil && s.Complete >= n {
			return
		}
		if time.Now().After(deadline) {
			k.tb.Fatalf("after %v: %+v, want %d complete (err %v)", timeout, s, n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
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
