package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// The Writer's own tests use tiny single-purpose drivers (go-cloud's
// failTopic style) and run in a synctest bubble, so backoff and the write
// budget pass in fake time: no test waits on the wall clock.

var quiet = slog.New(slog.DiscardHandler)

func rec(i int) Record {
	return Record{
		Tweet:   event.Tweet{ID: fmt.Sprintf("t%d", i), User: "u", Text: "x", CreatedAt: time.Unix(1239000000+int64(i), 0).UTC()},
		Results: []Result{{Model: "sentiment", Version: "1", Value: 0.5, Label: "positive"}},
	}
}

func recs(n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = rec(i)
	}
	return out
}

// scripted answers each WriteBatch call with the next function of script
// (the last one repeats) and records what it was given.
type scripted struct {
	mu     sync.Mutex
	script []func(ctx context.Context, recs []Record) error
	calls  [][]string // tweet ids per call
	at     []time.Time
	closed bool
}

func (d *scripted) WriteBatch(ctx context.Context, recs []Record) error {
	d.mu.Lock()
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.Tweet.ID
	}
	d.calls = append(d.calls, ids)
	d.at = append(d.at, time.Now())
	f := d.script[min(len(d.calls)-1, len(d.script)-1)]
	d.mu.Unlock()
	return f(ctx, recs)
}

func (d *scripted) Close(context.Context) error { d.closed = true; return nil }

func ok(context.Context, []Record) error { return nil }

func transientAll(context.Context, []Record) error {
	return &Error{Code: Transient, Err: errors.New("503")}
}

// failIDs fails the records whose tweet id is in ids with code.
func failIDs(code Code, ids ...string) func(context.Context, []Record) error {
	return func(_ context.Context, recs []Record) error {
		failed := map[int]error{}
		for i, r := range recs {
			if slices.Contains(ids, r.Tweet.ID) {
				failed[i] = &Error{Code: code, Err: fmt.Errorf("item %s refused", r.Tweet.ID)}
			}
		}
		if len(failed) == 0 {
			return nil
		}
		return &BatchError{Failed: failed}
	}
}

func newWriter(t *testing.T, d Driver, o Options) *Writer {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet
	}
	w, err := NewWriter(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func batchError(t *testing.T, err error) *BatchError {
	t.Helper()
	var be *BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write = %v, want a *BatchError", err)
	}
	return be
}

// TestRetryMapsIndexes: records failing transiently are retried alone, and
// the errors are reported by their index in the caller's batch, not in the
// retried sub-batch.
func TestRetryMapsIndexes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &scripted{script: []func(context.Context, []Record) error{
			failIDs(Transient, "t1", "t3"), failIDs(Transient, "t3"), failIDs(Permanent, "t3"),
		}}
		w := newWriter(t, d, Options{BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
		start := time.Now()
		be := batchError(t, w.Write(context.Background(), recs(5)))
		if len(be.Failed) != 1 || ErrorCode(be.Failed[3]) != Permanent || !strings.Contains(be.Failed[3].Error(), "item t3 refused") {
			t.Fatalf("failed = %v, want only #3, permanent", be.Failed)
		}
		want := [][]string{{"t0", "t1", "t2", "t3", "t4"}, {"t1", "t3"}, {"t3"}}
		if !slices.EqualFunc(d.calls, want, slices.Equal[[]string]) {
			t.Fatalf("calls %v, want %v", d.calls, want)
		}
		// 100 ms, then 200 ms: capped exponential backoff.
		if g1, g2 := d.at[1].Sub(d.at[0]), d.at[2].Sub(d.at[1]); g1 != 100*time.Millisecond || g2 != 200*time.Millisecond {
			t.Errorf("waits %v, %v; want 100ms, 200ms", g1, g2)
		}
		if el := time.Since(start); el != 300*time.Millisecond {
			t.Errorf("Write took %v, want 300ms", el)
		}
	})
}

// TestBudgetBoundsRetries: a store that keeps failing is retried until the
// next attempt would not fit in the write budget; every record is then
// Transient, and Write returned within the budget.
func TestBudgetBoundsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &scripted{script: []func(context.Context, []Record) error{transientAll}}
		w := newWriter(t, d, Options{WriteBudget: 20 * time.Second})
		start := time.Now()
		be := batchError(t, w.Write(context.Background(), recs(3)))
		el := time.Since(start)
		if el > 20*time.Second {
			t.Errorf("Write took %v, more than its 20 s budget", el)
		}
		if len(be.Failed) != 3 {
			t.Fatalf("failed = %v, want all 3", be.Failed)
		}
		for i, err := range be.Failed {
			if ErrorCode(err) != Transient || !strings.Contains(err.Error(), "not stored within the write budget") || !strings.Contains(err.Error(), "503") {
				t.Errorf("#%d: %v", i, err)
			}
		}
		// Waits 0.1, 0.2, 0.4, 0.8, 1.6, then 2 s: attempts at 0, .1, .3, .7,
		// 1.5, 3.1, 5.1, ... 19.1; the next wait (2 s) does not fit.
		if n := len(d.calls); n != 14 {
			t.Errorf("%d attempts, want 14", n)
		}
	})
}

// TestHungStoreBoundedByBudget: a driver that never answers is cut off by
// the budget (its context ends), so Write returns before a 30 s delivery
// timeout would fire.
func TestHungStoreBoundedByBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := func(ctx context.Context, _ []Record) error {
			<-ctx.Done()
			return &Error{Code: Transient, Err: ctx.Err()}
		}
		d := &scripted{script: []func(context.Context, []Record) error{hang}}
		w := newWriter(t, d, Options{})
		start := time.Now()
		be := batchError(t, w.Write(context.Background(), recs(2)))
		if el := time.Since(start); el != DefaultWriteBudget {
			t.Errorf("Write took %v, want the budget %v", el, DefaultWriteBudget)
		}
		if ErrorCode(be.Failed[0]) != Transient || len(d.calls) != 1 {
			t.Errorf("failed %v after %d calls", be.Failed, len(d.calls))
		}
	})
}

// TestCallerContextEndsRetries: the caller's cancellation stops the retries
// at once, and the records are Transient.
func TestCallerContextEndsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &scripted{script: []func(context.Context, []Record) error{transientAll}}
		w := newWriter(t, d, Options{BackoffMin: time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		be := batchError(t, w.Write(ctx, recs(1)))
		if !strings.Contains(be.Failed[0].Error(), "the caller's context") || ErrorCode(be.Failed[0]) != Transient {
			t.Errorf("error %v", be.Failed[0])
		}
		if n := len(d.calls); n != 2 { // at 0 and 1 s; 1 s + 2 s passes the caller's 2.5 s
			t.Errorf("%d calls, want 2", n)
		}
	})
}

// memDL is a dead-letter output in memory that can be made to fail.
type memDL struct {
	letters []Letter
	err     error
}

func (m *memDL) Put(_ context.Context, ls []Letter) error {
	if m.err != nil {
		return m.err
	}
	m.letters = append(m.letters, ls...)
	return nil
}

// TestInvalidRecordsNeverReachTheDriver: Validate's rules apply before the
// driver; each invalid record fails alone, permanently, named by index with
// the tweet and the field; the valid ones are stored.
func TestInvalidRecordsNeverReachTheDriver(t *testing.T) {
	d := &scripted{script: []func(context.Context, []Record) error{ok}}
	dl := &memDL{}
	w := newWriter(t, d, Options{Models: []string{"offense", "sentiment"}, DeadLetter: dl})
	in := recs(8)
	in[1].Tweet.ID = "  "
	in[2].Tweet.CreatedAt = time.Time{}
	in[3].Results[0].Model = "topic"
	in[4].Results[0].Value = math.NaN()
	in[5].Results = append(in[5].Results, in[5].Results[0])
	in[6].Tweet.ID = strings.Repeat("9", event.MaxIDBytes+1)
	be := batchError(t, w.Write(context.Background(), in))
	wantField := map[int]string{1: "tweet.id", 2: "tweet.created_at", 3: "results[0].model", 4: "results[0].value", 5: "results[1].model", 6: "tweet.id"}
	if len(be.Failed) != len(wantField) {
		t.Fatalf("failed %v, want %v", be.Failed, wantField)
	}
	for i, field := range wantField {
		err := be.Failed[i]
		var re *RecordError
		if ErrorCode(err) != Permanent || !errors.As(err, &re) || re.Field != field || !errors.Is(err, ErrDeadLettered) {
			t.Errorf("#%d: %v, want a dead-lettered permanent RecordError on %s", i, err, field)
		}
	}
	if want := [][]string{{"t0", "t7"}}; !slices.EqualFunc(d.calls, want, slices.Equal[[]string]) {
		t.Errorf("driver saw %v, want %v", d.calls, want)
	}
	if len(dl.letters) != 6 || dl.letters[0].TweetID != "  " || !strings.Contains(dl.letters[1].Reason, "missing timestamp") {
		t.Errorf("letters %+v", dl.letters)
	}
}

// TestDeadLetterFailureIsTransient: a permanently refused record whose
// dead-letter write fails is reported Transient (retried later, not lost).
func TestDeadLetterFailureIsTransient(t *testing.T) {
	d := &scripted{script: []func(context.Context, []Record) error{failIDs(Permanent, "t1")}}
	w := newWriter(t, d, Options{DeadLetter: &memDL{err: io.ErrShortWrite}})
	be := batchError(t, w.Write(context.Background(), recs(3)))
	if err := be.Failed[1]; len(be.Failed) != 1 || ErrorCode(err) != Transient || errors.Is(err, ErrDeadLettered) || !strings.Contains(err.Error(), "dead-letter write failed") {
		t.Fatalf("failed %v", be.Failed)
	}
	if len(d.calls) != 1 {
		t.Errorf("a permanent failure was retried: %v", d.calls)
	}
	// Without a dead-letter output the failure stays permanent.
	w = newWriter(t, &scripted{script: []func(context.Context, []Record) error{failIDs(Permanent, "t1")}}, Options{})
	be = batchError(t, w.Write(context.Background(), recs(3)))
	if err := be.Failed[1]; ErrorCode(err) != Permanent || errors.Is(err, ErrDeadLettered) {
		t.Fatalf("without dead letters: %v", err)
	}
}

// order records the order of Stored and Close calls.
type order struct {
	name string
	log  *[]string
	seen [][]string
}

func (o *order) Stored(_ context.Context, recs []Record) {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.Tweet.ID)
	}
	o.seen = append(o.seen, ids)
}

func (o *order) Close(context.Context) error { *o.log = append(*o.log, o.name); return nil }

type closeLogged struct {
	Driver
	log *[]string
}

func (c closeLogged) Close(ctx context.Context) error {
	*c.log = append(*c.log, "driver")
	return c.Driver.Close(ctx)
}

// TestObserversSeeStoredOnly: observers get exactly the records stored, and
// are closed before the driver.
func TestObserversSeeStoredOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log []string
		a, b := &order{name: "a", log: &log}, &order{name: "b", log: &log}
		d := &scripted{script: []func(context.Context, []Record) error{failIDs(Transient, "t2"), failIDs(Permanent, "t2")}}
		fn := 0
		w := newWriter(t, closeLogged{d, &log}, Options{Observers: []Observer{a, ObserverFunc(func(_ context.Context, recs []Record) { fn += len(recs) }), b}})
		in := recs(4)
		in[0].Tweet.ID = ""
		_ = w.Write(context.Background(), in)
		want := [][]string{{"t1", "t3"}}
		if !slices.EqualFunc(a.seen, want, slices.Equal[[]string]) || !slices.EqualFunc(b.seen, want, slices.Equal[[]string]) || fn != 2 {
			t.Errorf("observers saw %v, %v, %d; want %v", a.seen, b.seen, fn, want)
		}
		if err := w.Write(context.Background(), nil); err != nil || len(a.seen) != 1 {
			t.Errorf("empty Write = %v, observed %v", err, a.seen)
		}
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(log, []string{"a", "b", "driver"}) || !d.closed {
			t.Errorf("close order %v", log)
		}
	})
}

func TestNewWriterRejects(t *testing.T) {
	if _, err := NewWriter(nil, Options{}); err == nil {
		t.Error("nil driver accepted")
	}
	if _, err := NewWriter(&scripted{}, Options{Models: []string{"Bad Name"}}); err == nil || !strings.Contains(err.Error(), "Bad Name") {
		t.Errorf("invalid model name: %v", err)
	}
}

func TestValidateAcceptsGoodRecords(t *testing.T) {
	r := rec(1)
	r.Results = append(r.Results, Result{Model: "offense", Value: 0, Label: "not_offensive"})
	r.Tweet.ID = strings.Repeat("1", event.MaxIDBytes)
	if err := Validate(r, []string{"offense", "sentiment"}); err != nil {
		t.Errorf("valid record: %v", err)
	}
	if err := Validate(Record{Tweet: r.Tweet, TimedOut: true}, nil); err != nil {
		t.Errorf("a timed-out record without results: %v", err)
	}
}
