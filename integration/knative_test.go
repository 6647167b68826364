package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/modelfunc"
	"github.com/tweetflow/tweetflow/mode/produce"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

const (
	modelsDir = "../models"
	sampleCSV = "../data/sample.csv"
)

// csvTweets reads the first n tweets of the sample, as the producer will.
func csvTweets(t *testing.T, n int) []event.Tweet {
	t.Helper()
	src, err := csv.Open(sampleCSV, csv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []event.Tweet
	for len(out) < n {
		row, err := src.Read(context.Background())
		if err != nil {
			var re *csv.RowError
			if errors.As(err, &re) {
				continue
			}
			t.Fatal(err)
		}
		out = append(out, row.Tweet)
	}
	return out
}

// produceCSV replays rows [skip, skip+limit) of the sample into topic.
func produceCSV(t *testing.T, p *kafka.Producer, skip, limit int) {
	t.Helper()
	src, err := csv.Open(sampleCSV, csv.Options{SkipRows: skip})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st, err := producer.Run(context.Background(), src, produce.EventSender(p), producer.Options{Limit: int64(limit), BatchSize: 128, Logger: slog.New(slog.DiscardHandler)})
	if err != nil || st.Sent != int64(limit) {
		t.Fatalf("produce: sent %d of %d: %v", st.Sent, limit, err)
	}
}

func committedTotal(t *testing.T, cfg kafka.Config, group, topic string) int64 {
	t.Helper()
	base, _ := cfg.Sarama()
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	resp, err := admin.ListConsumerGroupOffsets(group, nil)
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return 0 // the dispatcher has not joined yet
	}
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, b := range resp.Blocks[topic] {
		if b.Offset > 0 {
			total += b.Offset
		}
	}
	return total
}

// aggregatorPod is the aggregator's Knative service: a server on a fixed
// address over an aggregator and the SQLite file, which can be killed (no
// flush: its store writes fail from then on, its connections drop) and
// started again over the same file, as a pod that crashes and is replaced.
type aggregatorPod struct {
	t        *testing.T
	dbPath   string
	models   []string
	srv      *restartable
	mu       sync.Mutex
	agg      *aggregator.Aggregator
	store    *crashableSink
	accepted atomic.Int64 // metadata events answered 2xx
	// onAccepted, if set, is told the count after each 2xx (set before start).
	onAccepted func(n int64)
	starts     atomic.Int32
}

// crashableSink fails every write once the process is "killed", so nothing
// the old aggregator still held reaches the store.
type crashableSink struct {
	sink.Driver
	dead atomic.Bool
}

func (c *crashableSink) WriteBatch(ctx context.Context, recs []sink.Record) error {
	if c.dead.Load() {
		return errors.New("process killed")
	}
	return c.Driver.WriteBatch(ctx, recs)
}

func (p *aggregatorPod) start() {
	p.t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, p.dbPath, p.models)
	if err != nil {
		p.t.Fatal(err)
	}
	cs := &crashableSink{Driver: st}
	w, err := sink.NewWriter(cs, sink.Options{Models: p.models, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		p.t.Fatal(err)
	}
	agg, err := aggregator.New(w, aggregator.Options{Models: p.models, JoinTimeout: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.agg, p.store = agg, cs
	p.mu.Unlock()
	h := cehttp.NewHandler(transport.Sync(core.MetadataHandler(agg)), cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)})
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status >= 200 && rec.status < 300 {
			if n := p.accepted.Add(1); p.onAccepted != nil {
				p.onAccepted(n)
			}
		}
	})
	if err := p.srv.start(counted); err != nil {
		p.t.Fatal(err)
	}
	p.starts.Add(1)
}

// kill drops the pod without a flush: connections close, and whatever the
// aggregator held unwritten is lost to it (its requests were never answered
// 2xx, so the dispatcher redelivers them).
func (p *aggregatorPod) kill() {
	p.mu.Lock()
	agg, cs := p.agg, p.store
	p.mu.Unlock()
	cs.dead.Store(true)
	p.srv.close()
	go func() { // reap the dead process's goroutines
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = agg.Close(ctx)
		_ = cs.Driver.Close(context.Background())
	}()
}

// stop is a graceful termination at the end of the test.
func (p *aggregatorPod) stop() {
	p.mu.Lock()
	agg, cs := p.agg, p.store
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.srv.stop(ctx); err != nil {
		p.t.Errorf("aggregator server stop: %v", err)
	}
	if err := errors.Join(agg.Close(ctx), cs.Driver.Close(ctx)); err != nil {
		p.t.Errorf("aggregator close: %v", err)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// TestKnativeDataPath runs producer → Kafka (kfake) → dispatcher (KafkaSource,
// Broker, Triggers) → model functions over HTTP → aggregator over HTTP →
// SQLite, with faults: one function answers 503 for a stretch, the
// aggregator restarts mid-stream, a tenth of the events are delivered twice,
// a hundred rows are produced twice (a resumed producer Job), and one tweet
// can never be scored. Every tweet must be stored exactly once, complete,
// with the values the models give it; the poison tweet must be dead-lettered
// by every function and stored nowhere.
func TestKnativeDataPath(t *testing.T) {
	const n = 600
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	kcfg := kafka.Config{Brokers: cluster.ListenAddrs(), ClientID: "it"}
	if err := kafka.EnsureTopic(ctx, kcfg, "tweets", 3, 1); err != nil {
		t.Fatal(err)
	}

	// Producer Job: n rows, then a "resumed" run re-sending rows 100-199,
	// and one tweet without text.
	prod, err := kafka.NewProducer(kcfg, "tweets")
	if err != nil {
		t.Fatal(err)
	}
	produceCSV(t, prod, 0, n)
	produceCSV(t, prod, 100, 100)
	poison, _ := event.NewTweetEvent(event.Tweet{ID: "poison-1", User: "u", Text: "", CreatedAt: time.Now().UTC()})
	if err := prod.Send(ctx, []cloudevents.Event{poison}); err != nil {
		t.Fatal(err)
	}
	prod.Close(ctx)
	const records = n + 100 + 1

	// Model functions, one HTTP server each; the first answers 503 to its
	// requests 50 to 199, as if its pods were being replaced.
	specs, err := model.Select(modelsDir, nil)
	if err != nil || len(specs) < 2 {
		t.Fatalf("models: %d specs, %v", len(specs), err)
	}
	fnURLs := map[string]string{}
	cores := map[string]*functions.Function{}
	var unavailable atomic.Int64
	for i, s := range specs {
		fn, closeFn, err := modelfunc.New(core.FunctionConfig{ModelDir: filepath.Join(modelsDir, s.Name)}, metrics.New("function", s.Name))
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn(context.Background())
		cores[s.Name] = fn
		var h http.Handler = cehttp.NewHandler(core.FunctionHandler(fn), cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)})
		if i == 0 {
			var seen atomic.Int64
			h = faulty(h, func() bool { k := seen.Add(1); return k > 50 && k <= 200 }, &unavailable)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		fnURLs[s.Name] = srv.URL
	}

	// The aggregator, killed once 400 metadata events have been stored and
	// started again.
	dbPath := filepath.Join(t.TempDir(), "tweetflow.db")
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	at400 := make(chan struct{})
	pod := &aggregatorPod{t: t, srv: &restartable{addr: "127.0.0.1:0"}, dbPath: dbPath, models: names,
		onAccepted: func(n int64) {
			if n == 400 {
				close(at400)
			}
		}}
	pod.start()
	unreachable := make(chan struct{}, 1)
	var ackedMu sync.Mutex
	acked := map[string]bool{} // partition/offset
	allAcked := make(chan struct{})
	d := &dispatcher{
		client:     &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}},
		functions:  fnURLs,
		aggregator: "http://" + pod.srv.addr,
		retry:      cehttp.Retry{Retries: 100, Delay: 5 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
		duplicate:  func(id string) bool { return len(id) > 0 && id[len(id)-1] == '7' },
		onUnreachable: func() {
			select {
			case unreachable <- struct{}{}:
			default:
			}
		},
		onAcked: func(e cloudevents.Event) {
			x := e.Extensions()
			ackedMu.Lock()
			defer ackedMu.Unlock()
			acked[fmt.Sprint(x["kafkapartition"], "/", x["kafkaoffset"])] = true
			if len(acked) == records {
				close(allAcked)
			}
		},
	}
	// The aggregator, killed once 400 metadata events have been stored,
	// and started again once a delivery has found it gone.
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		select {
		case <-at400:
		case <-ctx.Done():
			return
		}
		pod.kill()
		select {
		case <-unreachable: // connections refused: the outage is seen
		case <-ctx.Done():
		}
		pod.start()
	}()

	consumer, err := kafka.NewConsumer(kcfg, "kafkasource-tweetflow", []string{"tweets"}, kafka.ConsumerOptions{MaxInFlight: 64, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cctx, stopConsumer := context.WithCancel(ctx)
	consumed := make(chan error, 1)
	go func() { consumed <- consumer.Run(cctx, d.handle) }()

	select {
	case <-allAcked:
	case <-ctx.Done():
		ackedMu.Lock()
		t.Fatalf("only %d of %d records acked", len(acked), records)
	}
	stopConsumer() // drains and commits what was acked
	if err := <-consumed; err != nil {
		t.Fatal(err)
	}
	if got := committedTotal(t, kcfg, "kafkasource-tweetflow", "tweets"); got != records {
		t.Fatalf("%d of %d records committed after every one was acked", got, records)
	}
	<-restarted
	pod.stop()

	// What the store holds.
	st, err := sqlite.Open(ctx, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	count, err := st.Count(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Errorf("store holds %d tweets, want %d (each exactly once)", count, n)
	}
	tweets := csvTweets(t, n)
	want := map[string]map[string]event.Metadata{}
	for name, fn := range cores {
		mds, err := fn.ScoreTweets(ctx, tweets)
		if err != nil {
			t.Fatal(err)
		}
		for _, md := range mds {
			if want[md.TweetID] == nil {
				want[md.TweetID] = map[string]event.Metadata{}
			}
			want[md.TweetID][name] = md
		}
	}
	bad := 0
	for _, tw := range tweets {
		got, found, err := st.Get(ctx, tw.ID)
		if err != nil {
			t.Fatal(err)
		}
		problem := ""
		switch {
		case !found:
			problem = "not stored"
		case !got.Complete || len(got.Missing) > 0:
			problem = fmt.Sprintf("incomplete, missing %v", got.Missing)
		case got.Text != tw.Text:
			problem = "text changed"
		}
		for name, md := range want[tw.ID] {
			if r, ok := got.Results[name]; problem == "" && (!ok || r.Label != md.Label || abs(r.Value-md.Value) > 1e-6) {
				problem = fmt.Sprintf("model %s stored %+v, model says %v %v", name, r, md.Label, md.Value)
			}
		}
		if problem != "" {
			if bad++; bad <= 5 {
				t.Errorf("tweet %s: %s", tw.ID, problem)
			}
		}
	}
	if _, found, _ := st.Get(ctx, "poison-1"); found {
		t.Error("the poison tweet was stored")
	}

	dl := d.dead()
	if len(dl) != len(specs) {
		t.Errorf("dead letters %+v, want one per model for poison-1", dl)
	}
	for _, x := range dl {
		if x.EventID != "poison-1" || x.Status != http.StatusBadRequest {
			t.Errorf("unexpected dead letter %+v", x)
		}
	}
	if unavailable.Load() != 150 || d.retried.Load() < 150 {
		t.Errorf("503s served %d (want 150), retries %d", unavailable.Load(), d.retried.Load())
	}
	if pod.starts.Load() != 2 {
		t.Errorf("aggregator started %d times, want 2 (one restart)", pod.starts.Load())
	}
	t.Logf("%d records, %d POSTs (%d retried), %d metadata events stored, 503s %d, dead letters %d",
		records, d.attempts.Load(), d.retried.Load(), pod.accepted.Load(), unavailable.Load(), len(dl))
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
