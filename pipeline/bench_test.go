package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/aggregator/sink/mem"
	"github.com/tweetflow/tweetflow/functions"
)

// BenchmarkFanOut is the fan-out's own cost per tweet: two models that
// score instantly (by text length) and the in-memory store, batches of 512
// as the producer sends them, so what is measured is the queueing, the
// acks and the aggregator's join, not ONNX Runtime.
func BenchmarkFanOut(b *testing.B) {
	const batch = 512
	models := []string{"a", "b"}
	st := mem.NewStore()
	w := newWriter(b, st.Open(models))
	agg, err := aggregator.New(w, aggregator.Options{Models: models, JoinTimeout: time.Second, MaxPending: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	fns := []*functions.Function{
		functions.New(fakeScorer{name: "a"}, functions.Options{}),
		functions.New(fakeScorer{name: "b"}, functions.Options{}),
	}
	p, err := Start(Config{Functions: fns, Aggregator: agg})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := p.Send(ctx, tweets(i*batch, batch)); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if err := agg.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "tweets/s")
}
