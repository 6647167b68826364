package alerts

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/internal/cputime"
	"github.com/tweetflow/tweetflow/producer/gen"
	"github.com/tweetflow/tweetflow/producer/source"
	csvsource "github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/producer/source/twitter"
)

// BenchmarkObserve measures the engine's cost per stored tweet: the real
// sample's texts and users, one tweet every 1.5 s of event time (gen's
// rate), two model results each, batches of 256 as the aggregator writes.
func BenchmarkObserve(b *testing.B) {
	e := benchEngine(b)
	benchBatches(b, func(n int) int { return n }, func(recs []sink.Record) { e.Observe(recs) })
}

// BenchmarkTee measures what the pipeline pays per stored tweet for the
// alert hook: the Tee's copy, event-time reordering heap and the engine,
// fed directly as a sink.Writer's observer would be. MaxHeld keeps 32,768 records held (a
// second of a fast replay), so the heap is as deep as in a run; tweets come
// out of event-time order within blocks of 512 as parallel writers store
// them.
func BenchmarkTee(b *testing.B) {
	tee := NewTee(benchEngine(b), nullWriter{}, TeeOptions{Hold: time.Hour, MaxHeld: 1 << 15})
	ctx := context.Background()
	benchBatches(b, func(n int) int { return n ^ 0x1ff }, func(recs []sink.Record) { tee.Stored(ctx, recs) })
	b.StopTimer()
	if err := tee.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// benchBatches hands store the sample's tweets in batches of 256 as the
// aggregator writes them, the n-th tweet at event-time slot slot(n), and
// reports the time and the process's CPU time per tweet.
func benchBatches(b *testing.B, slot func(n int) int, store func([]sink.Record)) {
	feed := newBenchFeed(b)
	recs := make([]sink.Record, 256)
	n := 0
	cpu0 := cputime.Process()
	for b.Loop() {
		for i := range recs {
			recs[i] = feed.record(n, slot(n))
			n++
		}
		store(recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/tweet")
	// The machine is shared: the process's own CPU time per tweet is what a
	// dedicated core would spend.
	b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(n), "cpu-ns/tweet")
}

type nullWriter struct{}

func (nullWriter) WriteAlerts(context.Context, []event.Alert) error { return nil }

// sampleRecords reads the real sample's tweets.
func sampleRecords(b *testing.B) []sink.Record {
	tweets, err := source.ReadTweets(context.Background(), []string{"../data/sample.csv"}, source.Options{Format: source.Sentiment140})
	if err != nil {
		b.Fatal(err)
	}
	base := make([]sink.Record, len(tweets))
	for i, t := range tweets {
		base[i] = sink.Record{Tweet: t}
	}
	return base
}

// benchEngine is the engine as `tweetflow run` configures it for the two
// models.
func benchEngine(b *testing.B) *Engine {
	e, err := New(Config{Models: []ModelConfig{
		{Name: "sentiment", Threshold: &Threshold{Value: -0.25, Direction: "below"}},
		{Name: "offense", Threshold: &Threshold{Value: 0.5, Direction: "above"}, ShareLabel: "offensive"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// benchFeed makes benchmark records from the sample's tweets. Ids and
// results are made before the clock starts, so the benchmarks time the
// engine, not strconv and the test's allocations (a tenth of the time).
type benchFeed struct {
	base    []sink.Record
	ids     []string        // ring of distinct ids: reused only after a day of event time
	results [][]sink.Result // by n % 19,400: both models' values repeat with that period
}

func newBenchFeed(b *testing.B) *benchFeed {
	f := &benchFeed{base: sampleRecords(b), ids: make([]string, 1<<16), results: make([][]sink.Result, 200*97)}
	for i := range f.ids {
		f.ids[i] = strconv.Itoa(i)
	}
	for n := range f.results {
		f.results[n] = []sink.Result{
			{Model: "sentiment", Value: float64(n%200)/100 - 1, Label: "neutral"},
			{Model: "offense", Value: float64(n%97) / 97, Label: "not"},
		}
	}
	return f
}

// record is the n-th benchmark record: a sample tweet with a fresh id,
// stamped at slot 1.5 s apart, and both models' results.
func (f *benchFeed) record(n, slot int) sink.Record {
	r := sink.Record{Tweet: f.base[n%len(f.base)].Tweet, Results: f.results[n%len(f.results)]}
	r.Tweet.ID = f.ids[n%len(f.ids)]
	r.Tweet.CreatedAt = t0.Add(time.Duration(slot) * 1500 * time.Millisecond)
	return r
}

// BenchmarkTokenHashes measures text normalisation and token hashing alone,
// over the sample's texts.
func BenchmarkTokenHashes(b *testing.B) {
	base := sampleRecords(b)
	var buf []uint64
	n := 0
	for b.Loop() {
		buf = tokenHashes(buf[:0], base[n%len(base)].Tweet.Text)
		n++
	}
}

// BenchmarkObserveTwarc replays what `tweetflow gen --twarc-from
// noflat.jsonl` writes (the repository's twarc2 fixture as templates: half
// retweets, the other texts repeated with the copy's number, 1,000 tweets a
// second of event time) through a fresh engine, in the aggregator's batches
// of 256: the retweet-heavy shape on which the engine cost most of an
// embedded run (docs/BENCHMARKS.md). Each iteration is the whole replay,
// so the windows fill as they do in a run. live-MB is the heap live after
// the replay with the engine still held: its state at its fullest.
func BenchmarkObserveTwarc(b *testing.B) {
	tweets := twarcReplay(b, 200_000)
	recs := make([]sink.Record, len(tweets))
	for i, t := range tweets {
		recs[i] = sink.Record{Tweet: t, Results: []sink.Result{
			{Model: "sentiment", Value: float64(i%200)/100 - 1, Label: "neutral"},
			{Model: "offense", Value: float64(i%97) / 97, Label: "not"},
		}}
	}
	var live uint64
	var cpu time.Duration
	n := 0
	for b.Loop() {
		e := benchEngine(b)
		cpu0 := cputime.Process()
		for i := 0; i < len(recs); i += 256 {
			e.Observe(recs[i:min(i+256, len(recs))])
		}
		cpu += cputime.Process() - cpu0
		n += len(recs)
		b.StopTimer()
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		live = max(live, ms.HeapAlloc)
		runtime.KeepAlive(e)
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/tweet")
	b.ReportMetric(float64(live)/(1<<20), "live-MB")
}

// twarcReplay returns n tweets as `tweetflow gen --twarc-from` writes them
// from the repository's twarc2 fixture, read back by the twarc2 reader.
func twarcReplay(b *testing.B, n int) []event.Tweet {
	ctx := context.Background()
	tmpl, err := gen.LoadTweets(ctx, []string{"../producer/source/twitter/testdata/noflat.jsonl"})
	if err != nil {
		b.Fatal(err)
	}
	var pages bytes.Buffer
	if _, err := gen.TwarcPages(ctx, &pages, tmpl, gen.TwarcOptions{Tweets: n}); err != nil {
		b.Fatal(err)
	}
	tweets, err := csvsource.Tweets(ctx, twitter.NewReader(&pages, "replay.jsonl", twitter.Options{}))
	switch {
	case err != nil:
		b.Fatal(err)
	case len(tweets) != n:
		b.Fatalf("twarc2 replay: read %d tweets of %d", len(tweets), n)
	}
	return tweets
}
