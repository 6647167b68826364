// Package sinktest is the conformance suite every sink.Driver runs (after
// gocloud.dev's drivertest). A driver package writes a Harness that opens the
// driver on a fresh store and reads documents back by tweet id, then calls
//
//	func TestConformance(t *testing.T) {
//		sinktest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) { ... })
//	}
//
// Every subtest writes through a sink.Writer over the driver, as the
// aggregator does, so the suite checks the driver and the Writer together:
// the contract written in aggregator/sink/sink.go (merge by tweet id field by
// field, store-derived complete/missing/partial, idempotence, per-index batch
// errors, durability when a write returns, transient errors, cancellation,
// concurrent writers) and the Writer's (one set of record rules for every
// store, dead letters, observers).
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// Doc is a stored document as the harness reads it back.
type Doc struct {
	TweetID   string
	User      string
	Text      string
	Timestamp time.Time
	// Fields are the tweet's extra CSV columns (nil or empty when none).
	Fields map[string]string
	// The tweet's optional fields of #10 (event.Tweet); "" or an empty
	// list when the tweet has none. Lists keep their order.
	UserID, Lang, RetweetOf, QuoteOf, ReplyTo, ConversationID string
	Hashtags, URLs, Mentions                                  []string
	// Results holds the stored fields of each model present, by model name.
	Results map[string]sink.Result
	// Complete is true when every configured model is present.
	Complete bool
	// Missing lists the configured models absent from the document, in any
	// order (the suite sorts it).
	Missing []string
	// Partial is true when a write marked the tweet timed out and it is still
	// not complete.
	Partial bool
}

// Harness connects the suite to one driver and its store.
type Harness interface {
	// Open opens a driver on the harness's store, configured for models
	// (the "configured models" that complete and missing refer to). The
	// suite may open several drivers on the same store, concurrently.
	Open(ctx context.Context, models []string) (sink.Driver, error)
	// Read returns the stored document of a tweet id, seeing every write
	// that returned before the call (a harness refreshes if the store needs
	// it). found is false when no document has that id.
	Read(ctx context.Context, id string) (doc Doc, found bool, err error)
	// Count returns the number of stored documents.
	Count(ctx context.Context) (int, error)
	// Close releases the store.
	Close()
}

// HarnessMaker makes a harness on a fresh, empty store.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// Rejecter is an optional Harness capability: Reject changes rec, or the
// store, so that the store refuses rec for good although sink.Validate
// accepts it (a field the store's schema refuses, an injected 400). The
// suite uses it to check that one refused record never blocks the others, is
// named by its index, and goes to the dead-letter output.
type Rejecter interface {
	Reject(rec *sink.Record)
}

// TransientFaulter is an optional Harness capability: FailNext makes the
// store's next n operations fail with an error the driver must treat as
// transient (overload, 503). The suite checks that the driver retries or
// reports a Transient error, and that nothing is lost.
type TransientFaulter interface {
	FailNext(n int)
}

// Models are the configured models of the suite's drivers.
var defaultModels = []string{"offense", "sentiment"}

// RunConformanceTests runs the suite, one subtest per behaviour.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"WriteRead", testWriteRead},
		{"EmptyBatch", testEmptyBatch},
		{"Idempotent", testIdempotent},
		{"PartialThenComplete", testPartialThenComplete},
		{"OtherModelsUntouched", testOtherModelsUntouched},
		{"SameTweetTwiceInOneBatch", testSameTweetTwiceInOneBatch},
		{"ManyRecords", testManyRecords},
		{"OddText", testOddText},
		{"ExtraFields", testExtraFields},
		{"TweetFields", testTweetFields},
		{"CancelledContext", testCancelledContext},
		{"DurableAfterClose", testDurableAfterClose},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentDrivers", testConcurrentDrivers},
		{"OneBadRecord", testOneBadRecord},
		{"TransientFaults", testTransientFaults},
		{"InvalidRecords", testInvalidRecords},
		{"DeadLetters", testDeadLetters},
		{"ObserversSeeStored", testObserversSeeStored},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			h, err := newHarness(ctx, t)
			if err != nil {
				t.Fatalf("new harness: %v", err)
			}
			defer h.Close()
			tc.fn(t, h)
		})
	}
}

// fulls returns n records Full(first), Full(first+1), ...
func fulls(first, n int) []sink.Record {
	recs := make([]sink.Record, n)
	for i := range recs {
		recs[i] = Full(first + i)
	}
	return recs
}

// Tweet returns a deterministic test tweet.
func Tweet(i int) event.Tweet {
	return event.Tweet{
		ID:        fmt.Sprintf("t%06d", i),
		User:      fmt.Sprintf("user_%d", i%97),
		Text:      fmt.Sprintf("tweet number %d about things", i),
		CreatedAt: time.Date(2009, 4, 6, 22, 19, 45, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

// Result returns a deterministic result of model for tweet i.
func Result(model string, i int) sink.Result {
	switch model {
	case "sentiment":
		labels := []string{"negative", "neutral", "positive"}
		return sink.Result{Model: model, Version: "1.0.0", Value: float64(i%21-10) / 10, Label: labels[i%3]}
	case "offense":
		labels := []string{"not_offensive", "offensive"}
		return sink.Result{Model: model, Version: "1.0.0", Value: float64(i%11) / 10, Label: labels[i%2]}
	}
	return sink.Result{Model: model, Version: "0.1.0", Value: float64(i % 5), Label: fmt.Sprintf("l%d", i%5)}
}

// Full returns a record of tweet i with every default model's result.
func Full(i int) sink.Record {
	return sink.Record{Tweet: Tweet(i), Results: []sink.Result{Result("offense", i), Result("sentiment", i)}}
}

// WriterOptions are the Writer options of the suite: the configured
// models, short backoff (the suite's faults are brief), a quiet logger.
func WriterOptions(models []string) sink.Options {
	return sink.Options{
		Models:     models,
		BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond,
		WriteBudget: 30 * time.Second,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

func open(t *testing.T, h Harness, models []string) *sink.Writer {
	t.Helper()
	return openWith(t, h, WriterOptions(models))
}

// openWith opens a driver for o.Models and a Writer over it, closed at the
// end of the test.
func openWith(t *testing.T, h Harness, o sink.Options) *sink.Writer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := h.Open(ctx, o.Models)
	if err != nil {
		t.Fatalf("open driver: %v", err)
	}
	w, err := sink.NewWriter(d, o)
	if err != nil {
		_ = d.Close(ctx)
		t.Fatalf("new writer: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

func write(t *testing.T, w *sink.Writer, recs ...sink.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Write(ctx, recs); err != nil {
		t.Fatalf("Write(%d records): %v", len(recs), err)
	}
}

func read(t *testing.T, h Harness, id string) Doc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	doc, found, err := h.Read(ctx, id)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	if !found {
		t.Fatalf("read %s: not found", id)
	}
	return doc
}

func count(t *testing.T, h Harness) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := h.Count(ctx)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// CheckDoc compares a stored document with the tweet and the results that
// must be present, and with the derived fields. It returns "" when they match.
func CheckDoc(doc Doc, tw event.Tweet, want []sink.Result, configured []string, partial bool) string {
	var diffs []string
	add := func(format string, a ...any) { diffs = append(diffs, fmt.Sprintf(format, a...)) }
	if doc.TweetID != tw.ID {
		add("tweet id %q, want %q", doc.TweetID, tw.ID)
	}
	if doc.User != tw.User {
		add("user %q, want %q", doc.User, tw.User)
	}
	if doc.Text != tw.Text {
		add("text %q, want %q", doc.Text, tw.Text)
	}
	if !doc.Timestamp.Equal(tw.CreatedAt) {
		add("timestamp %v, want %v", doc.Timestamp, tw.CreatedAt)
	}
	if len(doc.Fields) != len(tw.Fields) {
		add("fields %v, want %v", doc.Fields, tw.Fields)
	} else {
		for k, v := range tw.Fields {
			if doc.Fields[k] != v {
				add("fields[%q] = %q, want %q", k, doc.Fields[k], v)
			}
		}
	}
	for _, f := range []struct{ name, got, want string }{
		{"user_id", doc.UserID, tw.UserID}, {"lang", doc.Lang, tw.Lang}, {"retweet_of", doc.RetweetOf, tw.RetweetOf},
		{"quote_of", doc.QuoteOf, tw.QuoteOf}, {"reply_to", doc.ReplyTo, tw.ReplyTo}, {"conversation_id", doc.ConversationID, tw.ConversationID},
	} {
		if f.got != f.want {
			add("%s %q, want %q", f.name, f.got, f.want)
		}
	}
	for _, f := range []struct {
		name      string
		got, want []string
	}{{"hashtags", doc.Hashtags, tw.Hashtags}, {"urls", doc.URLs, tw.URLs}, {"mentions", doc.Mentions, tw.Mentions}} {
		// nil and empty are the same: a store need not tell them apart.
		if !slices.Equal(f.got, f.want) && (len(f.got) > 0 || len(f.want) > 0) {
			add("%s %q, want %q", f.name, f.got, f.want)
		}
	}
	present := map[string]bool{}
	for _, r := range want {
		present[r.Model] = true
		got, ok := doc.Results[r.Model]
		if !ok {
			add("model %s absent", r.Model)
			continue
		}
		if got.Model != r.Model || got.Version != r.Version || got.Label != r.Label || math.Abs(got.Value-r.Value) > 1e-6 {
			add("model %s = %+v, want %+v", r.Model, got, r)
		}
	}
	for m := range doc.Results {
		if !present[m] {
			add("model %s present, want absent", m)
		}
	}
	var missing []string
	for _, m := range configured {
		if !present[m] {
			missing = append(missing, m)
		}
	}
	got := slices.Clone(doc.Missing)
	slices.Sort(got)
	slices.Sort(missing)
	if !slices.Equal(got, missing) {
		add("missing %v, want %v", got, missing)
	}
	if doc.Complete != (len(missing) == 0) {
		add("complete %v, want %v", doc.Complete, len(missing) == 0)
	}
	if doc.Partial != partial {
		add("partial %v, want %v", doc.Partial, partial)
	}
	return strings.Join(diffs, "; ")
}

func expect(t *testing.T, h Harness, tw event.Tweet, want []sink.Result, configured []string, partial bool) {
	t.Helper()
	if d := CheckDoc(read(t, h, tw.ID), tw, want, configured, partial); d != "" {
		t.Errorf("tweet %s: %s", tw.ID, d)
	}
}

func testWriteRead(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	rec := Full(1)
	write(t, d, rec)
	expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
	ctx := context.Background()
	if _, found, err := h.Read(ctx, "never-written"); err != nil || found {
		t.Errorf("Read(never-written) = found %v, err %v; want not found, nil", found, err)
	}
	if n := count(t, h); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
}

func testEmptyBatch(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	if err := d.Write(context.Background(), nil); err != nil {
		t.Errorf("Write(nil) = %v, want nil", err)
	}
	if err := d.Driver().WriteBatch(context.Background(), nil); err != nil {
		t.Errorf("driver WriteBatch(nil) = %v, want nil", err)
	}
	if n := count(t, h); n != 0 {
		t.Errorf("count = %d, want 0", n)
	}
}

func testIdempotent(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	rec := Full(2)
	write(t, d, rec)
	write(t, d, rec)
	write(t, d, rec, rec)
	expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
	if n := count(t, h); n != 1 {
		t.Errorf("count = %d, want 1 (the same tweet written 4 times)", n)
	}
	// A redelivered partial write after completion keeps the document complete.
	write(t, d, sink.Record{Tweet: rec.Tweet, Results: rec.Results[:1], TimedOut: true})
	expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
}

func testPartialThenComplete(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	tw := Tweet(3)
	sent := Result("sentiment", 3)
	off := Result("offense", 3)

	// Not timed out yet: incomplete but not partial.
	write(t, d, sink.Record{Tweet: tw, Results: []sink.Result{sent}})
	expect(t, h, tw, []sink.Result{sent}, defaultModels, false)

	// The join timed out with offense still missing: partial.
	write(t, d, sink.Record{Tweet: tw, Results: []sink.Result{sent}, TimedOut: true})
	expect(t, h, tw, []sink.Result{sent}, defaultModels, true)

	// The late offense result completes it and clears partial.
	write(t, d, sink.Record{Tweet: tw, Results: []sink.Result{off}})
	expect(t, h, tw, []sink.Result{sent, off}, defaultModels, false)

	// A timed-out record with no result at all is stored, all models missing.
	tw2 := Tweet(30)
	write(t, d, sink.Record{Tweet: tw2, TimedOut: true})
	expect(t, h, tw2, nil, defaultModels, true)
}

func testOtherModelsUntouched(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	tw := Tweet(4)
	off := Result("offense", 4)
	write(t, d, sink.Record{Tweet: tw, Results: []sink.Result{off}})
	sent := Result("sentiment", 4)
	write(t, d, sink.Record{Tweet: tw, Results: []sink.Result{sent}})
	expect(t, h, tw, []sink.Result{off, sent}, defaultModels, false)

	// A new version of one model replaces that model's fields only.
	sent2 := sink.Result{Model: "sentiment", Version: "2.0.0", Value: -0.25, Label: "negative"}
	write(t, d, sink.Record{Tweet: tw, Results: []sink.Result{sent2}})
	expect(t, h, tw, []sink.Result{off, sent2}, defaultModels, false)

	// Fields of the tweet are set by every write.
	tw.User = "renamed_user"
	write(t, d, sink.Record{Tweet: tw, Results: []sink.Result{off}})
	expect(t, h, tw, []sink.Result{off, sent2}, defaultModels, false)
}

func testSameTweetTwiceInOneBatch(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	tw := Tweet(5)
	off, sent := Result("offense", 5), Result("sentiment", 5)
	write(t, d,
		sink.Record{Tweet: tw, Results: []sink.Result{off}, TimedOut: true},
		sink.Record{Tweet: tw, Results: []sink.Result{sent}},
	)
	expect(t, h, tw, []sink.Result{off, sent}, defaultModels, false)
	if n := count(t, h); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
}

func testManyRecords(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	const n = 1000
	recs := make([]sink.Record, 0, n)
	for i := range n {
		rec := Full(1000 + i)
		if i%10 == 0 {
			rec.Results = rec.Results[1:]
			rec.TimedOut = true
		}
		recs = append(recs, rec)
	}
	write(t, d, recs...)
	if got := count(t, h); got != n {
		t.Fatalf("count = %d, want %d", got, n)
	}
	for _, i := range []int{0, 1, 10, 499, 990, 999} {
		expect(t, h, recs[i].Tweet, recs[i].Results, defaultModels, recs[i].TimedOut)
	}
}

// OddTexts are tweet texts that break naive encoders: quotes, escapes,
// newlines, JSON and SQL look-alikes, non-BMP characters, right-to-left
// text, a NUL byte, a replacement character and a long text.
var OddTexts = []string{
	`she said "hi" \ and left`,
	"line one\nline two\r\nline three\ttabbed",
	`{"doc":{"text":"not a field"},"doc_as_upsert":false}`,
	"'); DROP TABLE tweets; --",
	"emoji 😀🎉 and CJK 日本語 and Arabic مرحبا",
	"nul \x00 byte and bell \a",
	"replacement \uFFFD char and BOM \uFEFF",
	"<script>alert(1)</script> & &amp;",
	strings.Repeat("long ", 2000),
}

func testOddText(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	var recs []sink.Record
	for i, text := range OddTexts {
		rec := Full(2000 + i)
		rec.Tweet.Text = text
		rec.Tweet.User = "user\"" + fmt.Sprint(i) + "\\"
		recs = append(recs, rec)
	}
	write(t, d, recs...)
	for _, rec := range recs {
		expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
	}
}

func testExtraFields(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	rec := Full(6)
	rec.Tweet.Fields = map[string]string{"query": "NO_QUERY", "lang": "en"}
	write(t, d, rec)
	expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
}

// WithFields returns tweet i with every optional field of #10 set: a
// retweet that also replies and quotes (no real tweet does all three, but a
// store must keep each), with lists in a non-sorted order and a URL and a
// hashtag that need escaping.
func WithFields(i int) event.Tweet {
	tw := Tweet(i)
	tw.UserID = fmt.Sprint(1000000 + i)
	tw.Lang = "en"
	tw.RetweetOf = fmt.Sprint(9000000 + i)
	tw.QuoteOf = fmt.Sprint(8000000 + i)
	tw.ReplyTo = fmt.Sprint(7000000 + i)
	tw.ConversationID = fmt.Sprint(6000000 + i)
	tw.Hashtags = []string{"zeta", "Alpha", "ünïcode", "zeta"}
	tw.URLs = []string{"https://example.org/a?b=c&d=\"e\"", "http://t.co/x"}
	tw.Mentions = []string{"bob", "alice"}
	return tw
}

func testTweetFields(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	full := Full(40)
	full.Tweet = WithFields(40)
	// A tweet with some fields only: absent ones stay absent, an empty list
	// is stored as no list.
	some := Full(41)
	some.Tweet.Lang = "und"
	some.Tweet.ReplyTo = "12345"
	some.Tweet.Hashtags = []string{}
	some.Tweet.Mentions = []string{"solo"}
	none := Full(42)
	write(t, d, full, some, none)
	for _, rec := range []sink.Record{full, some, none} {
		expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
	}
	// A later write of one model merges: the fields are the tweet's, as
	// sent again with it.
	part := WithFields(43)
	write(t, d, sink.Record{Tweet: part, Results: []sink.Result{Result("offense", 43)}})
	write(t, d, sink.Record{Tweet: part, Results: []sink.Result{Result("sentiment", 43)}})
	expect(t, h, part, []sink.Result{Result("offense", 43), Result("sentiment", 43)}, defaultModels, false)
}

func testCancelledContext(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The driver itself reports a cancelled context as Transient (the
	// Writer relies on it to stop retrying), and so does the Writer.
	err := d.Driver().WriteBatch(ctx, []sink.Record{Full(7)})
	if err == nil {
		t.Fatal("driver WriteBatch with a cancelled context returned nil")
	}
	if c := sink.ErrorCode(err); c != sink.Transient {
		t.Errorf("driver: ErrorCode(%v) = %v, want transient", err, c)
	}
	var be *sink.BatchError
	if err := d.Write(ctx, []sink.Record{Full(7)}); !errors.As(err, &be) || sink.ErrorCode(be.Failed[0]) != sink.Transient {
		t.Errorf("Write with a cancelled context = %v, want record #0 transient", err)
	}
	// The driver is still usable.
	rec := Full(8)
	write(t, d, rec)
	expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
}

func testDurableAfterClose(t *testing.T, h Harness) {
	ctx := context.Background()
	d0, err := h.Open(ctx, defaultModels)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sink.NewWriter(d0, WriterOptions(defaultModels))
	if err != nil {
		t.Fatal(err)
	}
	rec := Full(9)
	write(t, d, rec)
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
	// A new driver on the same store merges into what is there.
	d2 := open(t, h, append(slices.Clone(defaultModels), "topic"))
	top := Result("topic", 9)
	write(t, d2, sink.Record{Tweet: rec.Tweet, Results: []sink.Result{top}})
	expect(t, h, rec.Tweet, append(slices.Clone(rec.Results), top), []string{"offense", "sentiment", "topic"}, false)
}

// testConcurrentWriters writes each model's results of the same tweets from
// different goroutines sharing one driver, in different orders.
func testConcurrentWriters(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	concurrentModels(t, h, func(int) *sink.Writer { return d })
}

// testConcurrentDrivers does the same with one driver per writer, as several
// aggregator replicas would.
func testConcurrentDrivers(t *testing.T, h Harness) {
	ds := []*sink.Writer{open(t, h, defaultModels), open(t, h, defaultModels)}
	concurrentModels(t, h, func(w int) *sink.Writer { return ds[w%len(ds)] })
}

func concurrentModels(t *testing.T, h Harness, driver func(writer int) *sink.Writer) {
	const tweets, batch = 200, 20
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w, model := range []string{"offense", "sentiment", "offense", "sentiment"} {
		wg.Go(func() {
			d := driver(w)
			for start := 0; start < tweets; start += batch {
				var recs []sink.Record
				for k := range batch {
					i := start + k
					if w >= 2 {
						i = tweets - 1 - i // the second pair writes in reverse order
					}
					recs = append(recs, sink.Record{Tweet: Tweet(3000 + i), Results: []sink.Result{Result(model, 3000+i)}, TimedOut: w%2 == 1 && i%3 == 0})
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := d.Write(ctx, recs)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("writer %d (%s): %w", w, model, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := count(t, h); n != tweets {
		t.Errorf("count = %d, want %d", n, tweets)
	}
	for i := range tweets {
		tw := Tweet(3000 + i)
		expect(t, h, tw, []sink.Result{Result("offense", 3000+i), Result("sentiment", 3000+i)}, defaultModels, false)
	}
}

// capability returns h as the optional interface C a subtest needs, or
// skips the subtest.
func capability[C any](t *testing.T, h Harness) C {
	c, ok := h.(C)
	if !ok {
		t.Skipf("capability: the harness does not implement %v", reflect.TypeFor[C]())
	}
	return c
}

func testOneBadRecord(t *testing.T, h Harness) {
	rj := capability[Rejecter](t, h)
	d := open(t, h, defaultModels)
	recs := fulls(4000, 10)
	bad := 6
	rj.Reject(&recs[bad])
	if err := sink.Validate(recs[bad], defaultModels); err != nil {
		t.Fatalf("the harness's rejected record is invalid (%v): it must be one the store refuses", err)
	}
	err := d.Write(context.Background(), recs)
	var be *sink.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("WriteBatch = %v, want a *sink.BatchError", err)
	}
	if len(be.Failed) != 1 || be.Failed[bad] == nil {
		t.Fatalf("failed = %v, want only #%d", be.Failed, bad)
	}
	if c := sink.ErrorCode(be.Failed[bad]); c != sink.Permanent {
		t.Errorf("ErrorCode(#%d: %v) = %v, want permanent", bad, be.Failed[bad], c)
	}
	if !strings.Contains(be.Failed[bad].Error(), recs[bad].Tweet.ID) {
		t.Errorf("error %q does not name tweet %s", be.Failed[bad], recs[bad].Tweet.ID)
	}
	for i, rec := range recs {
		if i == bad {
			continue
		}
		expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
	}
}

func testTransientFaults(t *testing.T, h Harness) {
	f := capability[TransientFaulter](t, h)
	d := open(t, h, defaultModels)
	recs := fulls(5000, 50)
	f.FailNext(3)
	// The driver reports Transient errors and the Writer retries them:
	// nothing is lost, and the caller sees success.
	write(t, d, recs...)
	if n := count(t, h); n != len(recs) {
		t.Errorf("count = %d, want %d", n, len(recs))
	}
	for _, rec := range recs {
		expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
	}
}

// Invalid are records that sink.Validate refuses, each with the field its
// error names; every store must refuse them alike (SQLite once trimmed ids,
// the memory store did not; only Elasticsearch refused a zero time).
func Invalid() []struct {
	Rec   sink.Record
	Field string
} {
	mk := func(i int, f func(*sink.Record)) sink.Record {
		r := Full(6000 + i)
		f(&r)
		return r
	}
	return []struct {
		Rec   sink.Record
		Field string
	}{
		{mk(0, func(r *sink.Record) { r.Tweet.ID = "" }), "tweet.id"},
		{mk(1, func(r *sink.Record) { r.Tweet.ID = " \t" }), "tweet.id"},
		{mk(2, func(r *sink.Record) { r.Tweet.ID = strings.Repeat("7", 513) }), "tweet.id"},
		{mk(3, func(r *sink.Record) { r.Tweet.CreatedAt = time.Time{} }), "tweet.created_at"},
		{mk(4, func(r *sink.Record) { r.Results[0].Model = "Bad-Model" }), "results[0].model"},
		{mk(5, func(r *sink.Record) { r.Results[1].Model = "unconfigured" }), "results[1].model"},
		{mk(6, func(r *sink.Record) { r.Results[1].Label = "" }), "results[1].label"},
		{mk(7, func(r *sink.Record) { r.Results[0].Value = math.NaN() }), "results[0].value"},
		{mk(8, func(r *sink.Record) { r.Results[0].Value = math.Inf(-1) }), "results[0].value"},
		{mk(9, func(r *sink.Record) { r.Results[1] = r.Results[0] }), "results[1].model"},
	}
}

// testInvalidRecords: each invalid record fails alone, permanently, named by
// index, tweet and field; it is not stored; the valid records beside it are.
func testInvalidRecords(t *testing.T, h Harness) {
	d := open(t, h, defaultModels)
	var recs []sink.Record
	want := map[int]string{}
	for k, inv := range Invalid() {
		recs = append(recs, Full(6100+k))
		want[len(recs)] = inv.Field
		recs = append(recs, inv.Rec)
	}
	err := d.Write(context.Background(), recs)
	var be *sink.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write = %v, want a *sink.BatchError", err)
	}
	if len(be.Failed) != len(want) {
		t.Errorf("%d records failed, want %d: %v", len(be.Failed), len(want), be)
	}
	for i, field := range want {
		err := be.Failed[i]
		var re *sink.RecordError
		switch {
		case err == nil:
			t.Errorf("#%d (invalid %s) was stored", i, field)
		case sink.ErrorCode(err) != sink.Permanent:
			t.Errorf("#%d: %v is not permanent", i, err)
		case !errors.As(err, &re) || re.Field != field || re.TweetID != recs[i].Tweet.ID:
			t.Errorf("#%d: %v, want a RecordError on %s of tweet %q", i, err, field, recs[i].Tweet.ID)
		}
		if id := recs[i].Tweet.ID; strings.TrimSpace(id) != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, found, rerr := h.Read(ctx, id)
			cancel()
			if rerr != nil || found {
				t.Errorf("invalid record #%d (%s): found %v, err %v; want not stored", i, field, found, rerr)
			}
		}
	}
	for i, rec := range recs {
		if _, bad := want[i]; !bad {
			expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
		}
	}
	if n := count(t, h); n != len(recs)-len(want) {
		t.Errorf("count = %d, want %d", n, len(recs)-len(want))
	}
}

// MemDeadLetter keeps letters in memory.
type MemDeadLetter struct {
	mu      sync.Mutex
	Letters []sink.Letter
}

// Put implements sink.DeadLetter.
func (m *MemDeadLetter) Put(_ context.Context, ls []sink.Letter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Letters = append(m.Letters, ls...)
	return nil
}

// testDeadLetters: an invalid record and (with a Rejecter) one the store
// refuses go to the dead-letter output with their reason; their errors say
// so; nothing else does.
func testDeadLetters(t *testing.T, h Harness) {
	dl := &MemDeadLetter{}
	o := WriterOptions(defaultModels)
	o.DeadLetter = dl
	d := openWith(t, h, o)
	recs := fulls(7000, 6)
	recs[1] = Invalid()[3].Rec // no timestamp
	bad := map[int]bool{1: true}
	if rj, ok := h.(Rejecter); ok {
		rj.Reject(&recs[4])
		bad[4] = true
	}
	err := d.Write(context.Background(), recs)
	var be *sink.BatchError
	if !errors.As(err, &be) || len(be.Failed) != len(bad) {
		t.Fatalf("Write = %v, want %d failed", err, len(bad))
	}
	for i := range bad {
		if e := be.Failed[i]; !errors.Is(e, sink.ErrDeadLettered) || sink.ErrorCode(e) != sink.Permanent {
			t.Errorf("#%d: %v, want permanent and dead-lettered", i, e)
		}
	}
	if len(dl.Letters) != len(bad) {
		t.Fatalf("%d letters, want %d: %+v", len(dl.Letters), len(bad), dl.Letters)
	}
	for _, l := range dl.Letters {
		i := slices.IndexFunc(recs, func(r sink.Record) bool { return r.Tweet.ID == l.TweetID })
		if i < 0 || !bad[i] || l.Reason == "" || l.Record.Tweet.ID != l.TweetID || len(l.Record.Results) != len(recs[i].Results) {
			t.Errorf("letter %+v", l)
		}
	}
	for i, rec := range recs {
		if !bad[i] {
			expect(t, h, rec.Tweet, rec.Results, defaultModels, false)
		}
	}
}

// testObserversSeeStored: an observer sees exactly the records stored, once,
// after they are readable.
func testObserversSeeStored(t *testing.T, h Harness) {
	var mu sync.Mutex
	var seen []string
	var unreadable []string
	o := WriterOptions(defaultModels)
	o.Observers = []sink.Observer{sink.ObserverFunc(func(ctx context.Context, recs []sink.Record) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			seen = append(seen, r.Tweet.ID)
			if _, found, err := h.Read(ctx, r.Tweet.ID); err != nil || !found {
				unreadable = append(unreadable, r.Tweet.ID)
			}
		}
	})}
	d := openWith(t, h, o)
	recs := fulls(8000, 5)
	recs[2].Tweet.CreatedAt = time.Time{}
	_ = d.Write(context.Background(), recs)
	want := []string{recs[0].Tweet.ID, recs[1].Tweet.ID, recs[3].Tweet.ID, recs[4].Tweet.ID}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, want) {
		t.Errorf("observed %v, want %v", seen, want)
	}
	if len(unreadable) > 0 {
		t.Errorf("observed before they were readable: %v", unreadable)
	}
}
