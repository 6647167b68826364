package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/aggregator/sink/mem"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/scorer"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

func sampleConfig(t *testing.T, data string) RunConfig {
	return RunConfig{
		Data:      data,
		ModelsDir: filepath.Join(repoRoot(), "models"),
		DB:        filepath.Join(t.TempDir(), "tweetflow.db"),
	}
}

// The whole sample through both real models into SQLite: every row stored
// exactly once, with both models; a rerun changes nothing.
func TestSampleEndToEnd(t *testing.T) {
	ctx := context.Background()
	cfg := sampleConfig(t, filepath.Join(repoRoot(), "data", "sample.csv"))
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsRead != 20000 || sum.RowsRejected != 0 || sum.TweetsStored != 20000 || sum.Complete != 20000 || sum.Partial != 0 || sum.StoreTweets != 20000 {
		t.Fatalf("summary %+v", sum)
	}
	if len(sum.Models) != 2 || sum.Models["sentiment"].Scored != 20000 || sum.Models["offense"].Scored != 20000 {
		t.Fatalf("models %+v", sum.Models)
	}
	st, err := sqlite.Open(ctx, cfg.DB, []string{"offense", "sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := st.Stats(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Tweets != 20000 || stats.Complete != 20000 || stats.Models["sentiment"].Scored != 20000 || stats.Models["offense"].Scored != 20000 {
		t.Fatalf("store stats %+v", stats)
	}
	if d := stats.Models["sentiment"].Mean - sum.Models["sentiment"].Mean; d > 1e-9 || d < -1e-9 {
		t.Fatalf("store mean %v, run mean %v", stats.Models["sentiment"].Mean, sum.Models["sentiment"].Mean)
	}
	before, found, err := st.Get(ctx, "1467810369")
	if err != nil || !found || before.User != "_TheSpecialOne_" || len(before.Results) != 2 {
		t.Fatalf("first row %+v %v", before, err)
	}
	st.Close(ctx)

	again, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again.StoreTweets != 20000 || again.TweetsStored != 20000 {
		t.Fatalf("rerun summary %+v", again)
	}
	st, _ = sqlite.Open(ctx, cfg.DB, []string{"offense", "sentiment"})
	defer st.Close(ctx)
	after, _, _ := st.Get(ctx, "1467810369")
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("rerun changed a row:\n%+v\n%+v", before, after)
	}
}

const good = `"0","%d","Mon Apr 06 22:19:%02d PDT 2009","NO_QUERY","user%d","tweet number %d is fine"`

func writeCSV(t *testing.T, lines []string, eol string) string {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, eol)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every kind of bad row is counted by reason; every good row is stored.
func TestBadRowsEndToEnd(t *testing.T) {
	var lines []string
	for i := range 10 {
		lines = append(lines, fmt.Sprintf(good, 100+i, i, i, i))
	}
	bad := []string{
		`"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","unterminated`,
		`"0","9","Mon Apr 06 22:19:45 PDT 2009","u","text"`,
		`"0","9","Mon Apr 36 22:19:45 PDT 2009","NO_QUERY","u","text"`,
		`"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u",""`,
		"\"0\",\"9\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u\",\"caf\xe9\"",
		`"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","` + strings.Repeat("y", 1<<20) + `"`,
	}
	// Interleave: good, bad, good, bad, ...
	var mixed []string
	for i, l := range lines {
		mixed = append(mixed, l)
		if i < len(bad) {
			mixed = append(mixed, bad[i])
		}
	}
	cfg := sampleConfig(t, writeCSV(t, mixed, "\r\n"))
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"broken_quotes": 1, "column_count": 1, "bad_timestamp": 1, "empty_text": 1, "invalid_utf8": 1, "line_too_long": 1}
	if fmt.Sprint(sum.RejectedByReason) != fmt.Sprint(want) || sum.RowsRejected != 6 || sum.RowsRead != 16 {
		t.Fatalf("rejected %v (total %d, read %d), want %v", sum.RejectedByReason, sum.RowsRejected, sum.RowsRead, want)
	}
	if sum.TweetsStored != 10 || sum.Complete != 10 || sum.StoreTweets != 10 {
		t.Fatalf("summary %+v", sum)
	}

	// --on-error stop: the error names file:line; the rows before it are stored.
	cfg = sampleConfig(t, cfg.Data)
	cfg.Producer.OnError = producer.Stop
	sum, err = Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "in.csv:2:") {
		t.Fatalf("stop: err %v, want one naming in.csv:2", err)
	}
	if sum.TweetsStored != 1 || sum.StoreTweets != 1 {
		t.Fatalf("stop: summary %+v", sum)
	}
}

// Ctrl-C: the run stops early and everything it read is stored.
func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := sampleConfig(t, filepath.Join(repoRoot(), "data", "sample.csv"))
	cfg.Producer.OnBatch = func(s producer.Stats) {
		if s.Sent >= 1000 {
			cancel()
		}
	}
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.RowsRead >= 20000 || sum.RowsRead < 1000 {
		t.Fatalf("summary %+v, want an interrupted run", sum)
	}
	if sum.TweetsStored != sum.RowsRead || sum.StoreTweets != sum.RowsRead || sum.Partial != 0 {
		t.Fatalf("read %d, stored %d (store %d, partial %d): accepted tweets lost", sum.RowsRead, sum.TweetsStored, sum.StoreTweets, sum.Partial)
	}
	// Resuming from next_start_row stores the rest, and nothing twice.
	cfg.CSV.SkipRows = sum.NextStartRow - 1
	cfg.Producer.OnBatch = nil
	rest, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rest.RowsRead != 20000-sum.RowsRead || rest.StoreTweets != 20000 {
		t.Fatalf("resumed run read %d (want %d), store has %d", rest.RowsRead, 20000-sum.RowsRead, rest.StoreTweets)
	}
}

// fakeScorer scores by text length, after an optional delay per batch.
type fakeScorer struct {
	name  string
	delay time.Duration
}

func (s fakeScorer) Name() string     { return s.name }
func (s fakeScorer) Version() string  { return "1" }
func (s fakeScorer) Labels() []string { return []string{"a", "b"} }
func (s fakeScorer) Score(ctx context.Context, texts []string, out []scorer.Prediction) error {
	time.Sleep(s.delay)
	for i, t := range texts {
		out[i] = scorer.Prediction{Value: float64(len(t)), Label: "a", Probs: []float32{1, 0}}
	}
	return nil
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
func TestSlowModelPartialThenComplete(t *testing.T) {
	st := mem.NewStore()
	models := []string{"fast", "slow"}
	agg, err := aggregator.New(st.Open(models), aggregator.Options{Models: models, JoinTimeout: 20 * time.Millisecond, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fns := []*functions.Function{
		functions.New(fakeScorer{name: "fast"}, functions.Options{}),
		functions.New(fakeScorer{name: "slow", delay: 150 * time.Millisecond}, functions.Options{}),
	}
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
// comes back.
func TestBackpressure(t *testing.T) {
	st := mem.NewStore()
	release := st.Block()
	models := []string{"m"}
	agg, err := aggregator.New(st.Open(models), aggregator.Options{Models: models, MaxPending: 64, BatchSize: 16, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(Config{Functions: []*functions.Function{functions.New(fakeScorer{name: "m"}, functions.Options{})}, Aggregator: agg, Workers: 1, QueueBatches: 1})
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
