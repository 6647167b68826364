package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/mem"
	"github.com/tweetflow/tweetflow/event"
)

var models = []string{"offense", "sentiment"}

func md(i int, model string) event.Metadata {
	id := fmt.Sprintf("t%d", i)
	return event.Metadata{
		TweetID: id, Model: model, ModelVersion: "1", Value: float64(i%10) / 10, Label: "l",
		Tweet: event.Tweet{ID: id, User: "u", Text: "text " + id, CreatedAt: time.Unix(1239000000+int64(i), 0).UTC()},
	}
}

// acks records every ack call per key, to check each is called exactly once.
type acks struct {
	mu    sync.Mutex
	calls map[string][]error
	n     atomic.Int64
}

func newAcks() *acks { return &acks{calls: map[string][]error{}} }

func (a *acks) fn(key string) func(error) {
	return func(err error) {
		a.mu.Lock()
		a.calls[key] = append(a.calls[key], err)
		a.mu.Unlock()
		a.n.Add(1)
	}
}

func (a *acks) get(key string) []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]error(nil), a.calls[key]...)
}

// The tests run in synctest bubbles: join timeouts, flush intervals and the
// Writer's backoff pass in fake time, and synctest.Wait is the signal that
// every goroutine of the aggregator is idle, so "not written yet" is
// checked without sleeping.

// writer returns a sink.Writer over d for the test models, with fast
// backoff and observers.
func writer(t *testing.T, d sink.Driver, obs ...sink.Observer) *sink.Writer {
	t.Helper()
	w, err := sink.NewWriter(d, sink.Options{Models: models, BackoffMin: time.Millisecond, Observers: obs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newAgg(t *testing.T, d sink.Driver, opts Options) *Aggregator {
	t.Helper()
	if opts.Models == nil {
		opts.Models = models
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := New(writer(t, d), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	return a
}

// mustAdd adds m with its ack; a refused Add fails the test.
func mustAdd(t *testing.T, a *Aggregator, m event.Metadata, ack func(error)) {
	t.Helper()
	if err := a.Add(context.Background(), m, ack); err != nil {
		t.Fatal(err)
	}
}

// settled waits until the aggregator is idle and checks cond.
func settled(t *testing.T, what string, cond func() bool) {
	t.Helper()
	synctest.Wait()
	if !cond() {
		t.Fatalf("not true once idle: %s", what)
	}
}

func TestCompleteJoin(t *testing.T) { synctest.Test(t, testCompleteJoin) }

func testCompleteJoin(t *testing.T) {
	st := mem.NewStore()
	var observed atomic.Int64
	w := writer(t, st.Open(models), sink.ObserverFunc(func(_ context.Context, recs []sink.Record) { observed.Add(int64(len(recs))) }))
	a, err := New(w, Options{Models: models, JoinTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	ak := newAcks()
	mustAdd(t, a, md(1, "sentiment"), ak.fn("s"))
	time.Sleep(time.Minute) // fake time: a minute of the hour's join timeout
	synctest.Wait()
	if len(ak.get("s")) != 0 || st.Len() != 0 {
		t.Fatal("acked or written before the join completed")
	}
	mustAdd(t, a, md(1, "offense"), ak.fn("o"))
	time.Sleep(time.Second) // the flush interval
	settled(t, "both acked", func() bool { return ak.n.Load() == 2 })
	if e := ak.get("s"); len(e) != 1 || e[0] != nil {
		t.Fatalf("sentiment ack %v", e)
	}
	doc, ok := st.Get("t1")
	if !ok || !doc.Complete || doc.Writes != 1 || doc.Tweet.Text != "text t1" || doc.Results["offense"].Value != 0.1 {
		t.Fatalf("doc %+v", doc)
	}
	if s := a.Stats(); s.Written != 1 || s.Complete != 1 || s.Pending != 0 || observed.Load() != 1 {
		t.Fatalf("stats %+v observed %d", s, observed.Load())
	}
}

func TestJoinTimeoutWritesPartial(t *testing.T) { synctest.Test(t, testJoinTimeoutWritesPartial) }

func testJoinTimeoutWritesPartial(t *testing.T) {
	st := mem.NewStore()
	a := newAgg(t, st.Open(models), Options{JoinTimeout: 30 * time.Millisecond, FlushInterval: time.Millisecond})
	ak := newAcks()
	mustAdd(t, a, md(2, "sentiment"), ak.fn("s"))
	synctest.Wait()
	if ak.n.Load() != 0 {
		t.Fatal("acked before the join timeout")
	}
	time.Sleep(40 * time.Millisecond) // past the 30 ms join timeout and a tick
	settled(t, "the timeout write", func() bool { return ak.n.Load() == 1 })
	doc, _ := st.Get("t2")
	if doc.Complete || !doc.Partial || len(doc.Missing) != 1 || doc.Missing[0] != "offense" {
		t.Fatalf("doc %+v, want partial missing offense", doc)
	}
	if s := a.Stats(); s.TimedOut != 1 || s.Complete != 0 {
		t.Fatalf("stats %+v", s)
	}
	// The late result completes the stored document.
	mustAdd(t, a, md(2, "offense"), ak.fn("o"))
	time.Sleep(40 * time.Millisecond) // its own join timeout: the tweet is written, so a new entry waits
	settled(t, "the late write", func() bool { return ak.n.Load() == 2 })
	doc, _ = st.Get("t2")
	if !doc.Complete || doc.Partial || len(doc.Results) != 2 {
		t.Fatalf("doc %+v, want complete", doc)
	}
}

func TestDuplicateMetadata(t *testing.T) { synctest.Test(t, testDuplicateMetadata) }

func testDuplicateMetadata(t *testing.T) {
	st := mem.NewStore()
	a := newAgg(t, st.Open(models), Options{JoinTimeout: time.Hour})
	ak := newAcks()
	first := md(3, "sentiment")
	dup := first
	dup.Value = 0.9 // a redelivery must not change what the first delivery set
	for k, m := range []event.Metadata{first, dup, first, md(3, "offense")} {
		mustAdd(t, a, m, ak.fn(fmt.Sprint(k)))
	}
	time.Sleep(time.Second) // the flush interval
	settled(t, "4 acks", func() bool { return ak.n.Load() == 4 })
	for k := range 4 {
		if e := ak.get(fmt.Sprint(k)); len(e) != 1 || e[0] != nil {
			t.Fatalf("ack %d: %v", k, e)
		}
	}
	doc, _ := st.Get("t3")
	if doc.Writes != 1 || doc.Results["sentiment"].Value != first.Value || !doc.Complete {
		t.Fatalf("doc %+v", doc)
	}
	if s := a.Stats(); s.Duplicates != 2 || s.Written != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// The same tweet twice in a row (two pages or files holding it, adjacent
// in event time): a result for a model whose record is being written is a
// duplicate, acked with that write's outcome; before, it started a new
// entry that could only be written partial at Close (a twarc2 replay's
// summary counted 101 such tweets as partial).
func TestDuplicateWhileWriting(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("write fails %v", fail), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testDuplicateWhileWriting(t, fail) })
		})
	}
}

func testDuplicateWhileWriting(t *testing.T, fail bool) {
	w := &gatedWriter{gate: make(chan struct{}), fail: fail}
	a, err := New(w, Options{Models: models, JoinTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ak := newAcks()
	ctx := context.Background()
	for _, m := range models {
		if err := a.Add(ctx, md(1, m), ak.fn("first "+m)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // the flush interval: the record is in Write
	synctest.Wait()
	if err := a.Add(ctx, md(1, "offense"), ak.fn("again")); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	if got := ak.get("again"); len(got) != 0 {
		t.Fatalf("the duplicate was acked (%v) before the write it waits for", got)
	}
	close(w.gate)
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var want error
	if fail {
		want = errWrite
	}
	for _, k := range []string{"first offense", "first sentiment", "again"} {
		if got := ak.get(k); len(got) != 1 || !errors.Is(got[0], want) {
			t.Fatalf("ack %s: %v, want one %v", k, got, want)
		}
	}
	s := a.Stats()
	if s.Duplicates != 1 || s.TimedOut != 0 || w.records() != 1 {
		t.Fatalf("stats %+v, %d records written; want 1 duplicate, 0 partial, 1 record", s, w.records())
	}
	if fail && (s.Failed != 1 || s.Complete != 0) || !fail && (s.Complete != 1 || s.Failed != 0) {
		t.Fatalf("stats %+v", s)
	}
}

var errWrite = errors.New("store down")

// gatedWriter holds every Write until gate is closed, then stores the
// records (or fails them all with errWrite).
type gatedWriter struct {
	gate chan struct{}
	fail bool
	mu   sync.Mutex
	n    int
}

func (g *gatedWriter) Write(ctx context.Context, recs []sink.Record) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n += len(recs)
	if g.fail {
		return errWrite
	}
	return nil
}

func (g *gatedWriter) records() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

func TestBackpressure(t *testing.T) { synctest.Test(t, testBackpressure) }

func testBackpressure(t *testing.T) {
	st := mem.NewStore()
	release := st.Block()
	defer release()
	a := newAgg(t, st.Open(models), Options{JoinTimeout: time.Hour, MaxPending: 4, FlushInterval: time.Millisecond})
	ak := newAcks()
	ctx := context.Background()
	// Four tweets fill the table (one complete and stuck in the blocked write, three pending).
	for i := range 4 {
		mustAdd(t, a, md(i, "sentiment"), ak.fn(fmt.Sprint("s", i)))
	}
	if err := a.Add(ctx, md(0, "offense"), ak.fn("o0")); err != nil {
		t.Fatal("a model of a pending tweet must never block:", err)
	}
	// A fifth tweet waits for room.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := a.Add(short, md(4, "sentiment"), ak.fn("lost")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Add at the cap = %v, want it to block until the deadline", err)
	}
	if a.Stats().Pending != 4 {
		t.Fatalf("pending %d, want 4", a.Stats().Pending)
	}
	done := make(chan error, 1)
	go func() { done <- a.Add(ctx, md(4, "sentiment"), ak.fn("s4")) }()
	synctest.Wait()
	select {
	case err := <-done:
		t.Fatalf("Add returned %v while the store was blocked", err)
	default:
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ak.get("lost")) != 0 {
		t.Fatal("an Add that returned an error had its ack called")
	}
	if n := ak.n.Load(); n != 6 {
		t.Fatalf("%d acks, want 6", n)
	}
	if st.Len() != 5 {
		t.Fatalf("%d docs, want 5", st.Len())
	}
}

// TestTransientRetry: the Writer's retries resolve transient failures; the
// inputs are acked once, with nil.
func TestTransientRetry(t *testing.T) { synctest.Test(t, testTransientRetry) }

func testTransientRetry(t *testing.T) {
	st := mem.NewStore()
	st.FailNext(2)
	a := newAgg(t, st.Open(models), Options{JoinTimeout: time.Hour})
	ak := newAcks()
	for _, m := range models {
		if err := a.Add(context.Background(), md(5, m), ak.fn(m)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // flush interval and two backoffs
	settled(t, "2 acks", func() bool { return ak.n.Load() == 2 })
	if e := ak.get("offense"); len(e) != 1 || e[0] != nil {
		t.Fatalf("ack %v after retries", e[0])
	}
	if doc, ok := st.Get("t5"); !ok || !doc.Complete {
		t.Fatalf("doc %+v", doc)
	}
}

func TestPermanentFailureAckedWithError(t *testing.T) {
	synctest.Test(t, testPermanentFailureAckedWithError)
}

func testPermanentFailureAckedWithError(t *testing.T) {
	st := mem.NewStore()
	st.Refuse("t7")
	a := newAgg(t, st.Open(models), Options{JoinTimeout: time.Hour, FlushInterval: 20 * time.Millisecond})
	ak := newAcks()
	for i := 6; i <= 8; i++ {
		for _, m := range models {
			if err := a.Add(context.Background(), md(i, m), ak.fn(fmt.Sprint(i, m))); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(time.Second)
	settled(t, "6 acks", func() bool { return ak.n.Load() == 6 })
	if e := ak.get("7sentiment"); len(e) != 1 || sink.ErrorCode(e[0]) != sink.Permanent {
		t.Fatalf("ack of the rejected tweet: %v", e)
	}
	if e := ak.get("8offense"); len(e) != 1 || e[0] != nil {
		t.Fatalf("ack of a stored tweet: %v", e)
	}
	if st.Len() != 2 || a.Stats().Failed != 1 {
		t.Fatalf("docs %d stats %+v", st.Len(), a.Stats())
	}
}

func TestCloseFlushesPending(t *testing.T) {
	st := mem.NewStore()
	a, err := New(writer(t, st.Open(models)), Options{Models: models, JoinTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ak := newAcks()
	ctx := context.Background()
	for i := range 10 {
		mustAdd(t, a, md(i, "sentiment"), ak.fn(fmt.Sprint(i)))
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ak.n.Load() != 10 || st.Len() != 10 {
		t.Fatalf("acks %d docs %d after Close", ak.n.Load(), st.Len())
	}
	if doc, _ := st.Get("t3"); !doc.Partial {
		t.Fatalf("incomplete tweet flushed at Close not partial: %+v", doc)
	}
	if err := a.Add(ctx, md(11, "sentiment"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v", err)
	}
}

func TestCloseWakesBlockedAdd(t *testing.T) { synctest.Test(t, testCloseWakesBlockedAdd) }

func testCloseWakesBlockedAdd(t *testing.T) {
	st := mem.NewStore()
	release := st.Block()
	a, err := New(writer(t, st.Open(models)), Options{Models: models, JoinTimeout: time.Hour, MaxPending: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mustAdd(t, a, md(1, "sentiment"), nil)
	done := make(chan error, 1)
	go func() { done <- a.Add(ctx, md(2, "sentiment"), nil) }()
	synctest.Wait() // the second Add is waiting for room
	select {
	case err := <-done:
		t.Fatalf("Add at the cap returned %v before Close", err)
	default:
	}
	closed := make(chan error, 1)
	go func() { closed <- a.Close(ctx) }()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Add = %v, want ErrClosed", err)
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if st.Len() != 1 {
		t.Fatalf("%d docs", st.Len())
	}
}

func TestCloseDeadlineAcksWithError(t *testing.T) { synctest.Test(t, testCloseDeadlineAcksWithError) }

func testCloseDeadlineAcksWithError(t *testing.T) {
	st := mem.NewStore()
	release := st.Block()
	defer release()
	a, err := New(writer(t, st.Open(models)), Options{Models: models, JoinTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ak := newAcks()
	if err := a.Add(context.Background(), md(1, "sentiment"), ak.fn("s")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v", err)
	}
	if e := ak.get("s"); len(e) != 1 || e[0] == nil {
		t.Fatalf("ack %v, want one error", e)
	}
}

func TestInvalidMetadata(t *testing.T) {
	a := newAgg(t, mem.NewStore().Open(models), Options{})
	bad := md(1, "sentiment")
	bad.Label = ""
	var fe *event.FieldError
	if err := a.Add(context.Background(), bad, func(error) { t.Error("ack called for rejected metadata") }); !errors.As(err, &fe) || fe.Field != "data.label" {
		t.Fatalf("Add = %v, want a FieldError on data.label", err)
	}
	unconfigured := md(1, "topic")
	if err := a.Add(context.Background(), unconfigured, func(error) { t.Error("ack called for rejected metadata") }); !errors.As(err, &fe) || fe.Field != "data.model" {
		t.Fatalf("Add of an unconfigured model = %v, want a FieldError on data.model", err)
	}
	if _, err := New(writer(t, mem.NewStore().Open(nil)), Options{}); err == nil {
		t.Fatal("New without models accepted")
	}
	if _, err := New(nil, Options{Models: models}); err == nil {
		t.Fatal("New without a writer accepted")
	}
}

// Many goroutines deliver both models of many tweets in opposite orders
// through a small table. The table fills with tweets waiting for a model
// whose sender is blocked on a new tweet: only the join timeout frees it, by
// writing partial records that the late results complete in the store. So
// every ack is called once and every tweet ends complete.
func TestConcurrentAdds(t *testing.T) { synctest.Test(t, testConcurrentAdds) }

func testConcurrentAdds(t *testing.T) {
	st := mem.NewStore()
	a := newAgg(t, st.Open(models), Options{JoinTimeout: 5 * time.Millisecond, MaxPending: 64, BatchSize: 16, FlushInterval: time.Millisecond, Writers: 3})
	ak := newAcks()
	const tweets = 2000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for k := range tweets {
				i := k
				if w%2 == 1 {
					i = tweets - 1 - k
				}
				if err := a.Add(context.Background(), md(i, models[w/2]), ak.fn(fmt.Sprint(w, "/", i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ak.n.Load(); n != 4*tweets {
		t.Fatalf("%d acks, want %d", n, 4*tweets)
	}
	for key, calls := range ak.calls {
		if len(calls) != 1 || calls[0] != nil {
			t.Fatalf("ack %s: %v", key, calls)
		}
	}
	if st.Len() != tweets {
		t.Fatalf("%d docs", st.Len())
	}
	for i := range tweets {
		if doc, _ := st.Get(fmt.Sprintf("t%d", i)); !doc.Complete {
			t.Fatalf("t%d incomplete: %+v", i, doc)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	st := mem.NewStore()
	w, err := sink.NewWriter(st.Open(models), sink.Options{Models: models})
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(w, Options{Models: models, JoinTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	mds := make([]event.Metadata, 0, 2*b.N)
	for i := range b.N {
		mds = append(mds, md(i, "sentiment"), md(i, "offense"))
	}
	b.ResetTimer()
	for _, m := range mds {
		if err := a.Add(ctx, m, nil); err != nil {
			b.Fatal(err)
		}
	}
	a.Close(ctx)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
}

// A redelivery of a result already written is acked at once (not held for
// the join timeout) and writes nothing.
func TestRedeliveryAfterWrite(t *testing.T) { synctest.Test(t, testRedeliveryAfterWrite) }

func testRedeliveryAfterWrite(t *testing.T) {
	st := mem.NewStore()
	a := newAgg(t, st.Open(models), Options{JoinTimeout: time.Hour})
	ak := newAcks()
	for _, m := range models {
		mustAdd(t, a, md(9, m), ak.fn(m))
	}
	time.Sleep(time.Second)
	settled(t, "the first write", func() bool { return ak.n.Load() == 2 })
	mustAdd(t, a, md(9, "sentiment"), ak.fn("again"))
	if e := ak.get("again"); len(e) != 1 || e[0] != nil {
		t.Fatalf("redelivery ack %v, want nil at once", e)
	}
	if doc, _ := st.Get("t9"); doc.Writes != 1 {
		t.Fatalf("%d writes, want 1", doc.Writes)
	}
	if s := a.Stats(); s.Duplicates != 1 || s.Pending != 0 {
		t.Fatalf("stats %+v", s)
	}
	// With the memory off, the redelivery waits in a new entry (written at Close).
	b := newAgg(t, st.Open(models), Options{JoinTimeout: time.Hour, Recent: -1})
	for _, m := range models {
		mustAdd(t, b, md(10, m), nil)
	}
	time.Sleep(time.Second)
	settled(t, "the write", func() bool { return b.Stats().Written == 1 })
	mustAdd(t, b, md(10, "offense"), nil)
	if b.Stats().Pending != 1 {
		t.Fatalf("pending %d, want the redelivery held", b.Stats().Pending)
	}
}

func TestRecentSetEvicts(t *testing.T) {
	r := newRecentSet(2)
	r.add("a", "m")
	r.add("a", "n")
	r.add("b", "m")
	if !r.has("a", "n") || !r.has("b", "m") || r.has("b", "n") {
		t.Fatal("lookup")
	}
	r.add("c", "m") // evicts a
	if r.has("a", "m") || !r.has("c", "m") || len(r.models) != 2 {
		t.Fatalf("after eviction: %v", r.models)
	}
}
