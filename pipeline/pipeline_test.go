package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/mem"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/transport"
)

// fakeScorer scores by text length, after an optional delay per batch.
type fakeScorer struct {
	name  string
	delay time.Duration
}

func (s fakeScorer) Name() string     { return s.name }
func (s fakeScorer) Version() string  { return "1" }
func (s fakeScorer) Labels() []string { return []string{"a", "b"} }
func (s fakeScorer) Score(ctx context.Context, texts []string, out []model.Prediction) error {
	time.Sleep(s.delay)
	for i, t := range texts {
		out[i] = model.Prediction{Value: float64(len(t)), Label: "a", Probs: []float32{1, 0}}
	}
	return nil
}

func newWriter(t testing.TB, d sink.Driver) *sink.Writer {
	t.Helper()
	w, err := sink.NewWriter(d, sink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// closeAll stops the functions' workers (a synctest bubble ends only when
// its goroutines have).
func closeAll(t testing.TB, fns []*functions.Function) {
	for _, f := range fns {
		if err := f.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

func tweets(from, n int) []event.Tweet {
	var out []event.Tweet
	for i := from; i < from+n; i++ {
		out = append(out, event.Tweet{ID: fmt.Sprint(i), Text: "x", CreatedAt: time.Unix(int64(i), 0)})
	}
	return out
}

// A model slower than the join timeout: records are written partial, then
// the late results complete them in the store.
//
// In a synctest bubble: the slow model's delay and the join timeout run on
// the bubble's clock, so "slower than the join timeout" holds every run.
func TestSlowModelPartialThenComplete(t *testing.T) {
	synctest.Test(t, testSlowModelPartialThenComplete)
}

func testSlowModelPartialThenComplete(t *testing.T) {
	st := mem.NewStore()
	models := []string{"fast", "slow"}
	agg, err := aggregator.New(newWriter(t, st.Open(models)), aggregator.Options{Models: models, JoinTimeout: 20 * time.Millisecond, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fns := []*functions.Function{
		functions.New(fakeScorer{name: "fast"}, functions.Options{}),
		functions.New(fakeScorer{name: "slow", delay: 150 * time.Millisecond}, functions.Options{}),
	}
	defer closeAll(t, fns)
	p, err := Start(Config{Functions: fns, Aggregator: agg, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), tweets(0, 50)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := agg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	as := agg.Stats()
	if as.TimedOut < 50 {
		t.Fatalf("aggregator stats %+v: want the fast results written partial", as)
	}
	for i := range 50 {
		doc, ok := st.Get(fmt.Sprint(i))
		if !ok || !doc.Complete || doc.Partial {
			t.Fatalf("tweet %d: %+v, want complete after the late result", i, doc)
		}
	}
	if ps := p.Stats(); ps.Acked != 100 || ps.AckFailed != 0 {
		t.Fatalf("pipeline stats %+v", ps)
	}
}

// A blocked store stops Send (bounded queues), and nothing is lost when it
// comes back. In a bubble, Send's 50 ms timeout fires only once every
// goroutine is blocked: a Send that times out is one that truly cannot go on.
func TestBackpressure(t *testing.T) { synctest.Test(t, testBackpressure) }

func testBackpressure(t *testing.T) {
	st := mem.NewStore()
	release := st.Block()
	models := []string{"m"}
	agg, err := aggregator.New(newWriter(t, st.Open(models)), aggregator.Options{Models: models, MaxPending: 64, BatchSize: 16, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fns := []*functions.Function{functions.New(fakeScorer{name: "m"}, functions.Options{})}
	defer closeAll(t, fns)
	p, err := Start(Config{Functions: fns, Aggregator: agg, Workers: 1, QueueBatches: 1})
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := p.Send(ctx, tweets(sent, 16))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sent += 16
		if sent > 10000 {
			t.Fatal("Send never blocked while the store was blocked")
		}
	}
	// Bounded: the aggregator's cap, the job and input queues, one worker's batch.
	if sent > 64+4*16 {
		t.Fatalf("%d tweets accepted before Send blocked", sent)
	}
	release()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.Send(context.Background(), tweets(sent, 16)); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	sent += 16
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := agg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.Len() != sent {
		t.Fatalf("%d stored, %d sent", st.Len(), sent)
	}
}

// panicScorer panics on one text, as a tokenizer bug would.
type panicScorer struct{ fakeScorer }

func (s panicScorer) Score(ctx context.Context, texts []string, out []model.Prediction) error {
	for _, t := range texts {
		if t == "poison" {
			panic("tokenizer: cannot split " + t)
		}
	}
	return s.fakeScorer.Score(ctx, texts, out)
}

// A scorer that panics on one text fails that batch's job, not the
// process: the other batches are scored and stored, and Close reports the
// panic.
func TestScorerPanicFailsItsJobOnly(t *testing.T) {
	st := mem.NewStore()
	models := []string{"m"}
	agg, err := aggregator.New(newWriter(t, st.Open(models)), aggregator.Options{Models: models, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(Config{Functions: []*functions.Function{functions.New(panicScorer{fakeScorer{name: "m"}}, functions.Options{})}, Aggregator: agg, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	bad := tweets(100, 1)
	bad[0].Text = "poison"
	for _, b := range [][]event.Tweet{tweets(0, 10), bad, tweets(10, 10)} {
		if err := p.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	err = p.Close(context.Background())
	var pe *transport.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Close = %v, want the scorer's panic", err)
	}
	if err := agg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, ok := st.Get(fmt.Sprint(i)); !ok {
			t.Fatalf("tweet %d not stored after another batch's panic", i)
		}
	}
	if _, ok := st.Get("100"); ok {
		t.Fatal("the poison tweet was stored")
	}
}
