package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// fakeDriver stores records in memory and fails the ids in fail.
type fakeDriver struct {
	mu     sync.Mutex
	stored []string
	fail   map[string]bool
	err    error // whole-batch error
	closed bool
}

func (d *fakeDriver) WriteBatch(_ context.Context, recs []sink.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	failed := map[int]error{}
	for i, r := range recs {
		if d.fail[r.Tweet.ID] {
			failed[i] = &sink.Error{Code: sink.Permanent, Err: errors.New("rejected")}
			continue
		}
		d.stored = append(d.stored, r.Tweet.ID)
	}
	if len(failed) > 0 {
		return &sink.BatchError{Failed: failed}
	}
	return nil
}

func (d *fakeDriver) Close(context.Context) error { d.closed = true; return nil }

// flakyWriter fails its first `fails` calls.
type flakyWriter struct {
	fails int
	calls int
	got   []event.Alert
}

func (w *flakyWriter) WriteAlerts(_ context.Context, as []event.Alert) error {
	w.calls++
	if w.calls <= w.fails {
		return errors.New("store down")
	}
	w.got = append(w.got, as...)
	return nil
}

// TestTeeObservesOnlyStoredRecords: attached to a sink.Writer, the Tee sees
// only what the store stored, and is closed before the store.
func TestTeeObservesOnlyStoredRecords(t *testing.T) {
	ctx := context.Background()
	recs := campaign("x", 5, t0, 20*time.Second)
	d := &fakeDriver{fail: map[string]bool{recs[2].Tweet.ID: true}}
	w := &flakyWriter{}
	tee := NewTee(mustEngine(t, coordOnly()), w, TeeOptions{Hold: -1})
	sw, err := sink.NewWriter(d, sink.Options{Observers: []sink.Observer{tee}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = sw.Write(ctx, recs)
	var be *sink.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 {
		t.Fatalf("err = %v, want the driver's batch error", err)
	}
	if len(w.got) != 0 {
		t.Fatalf("alert raised from 4 stored accounts + 1 rejected: %v", w.got)
	}
	// The rejected record is redelivered and stored: now 5 accounts.
	d.fail = nil
	if err := sw.Write(ctx, recs[2:3]); err != nil {
		t.Fatal(err)
	}
	if len(w.got) != 1 || w.got[0].Kind != event.AlertCoordination {
		t.Fatalf("alerts = %v, want one coordination alert", w.got)
	}
	// A whole-batch failure stores and observes nothing.
	d.err = &sink.Error{Code: sink.Permanent, Err: errors.New("disk full")}
	if err := sw.Write(ctx, campaign("y", 6, t0.Add(time.Hour), 10*time.Second)); !errors.As(err, &be) || !errors.Is(be.Failed[0], d.err) {
		t.Fatalf("err = %v", err)
	}
	if s := tee.eng.Stats(); s.Observed != 5 {
		t.Errorf("observed %d, want 5", s.Observed)
	}
	if err := sw.Close(ctx); err != nil || !d.closed {
		t.Errorf("close: %v, closed=%v", err, d.closed)
	}
}

func TestTeeRetriesAlertWrites(t *testing.T) {
	ctx := context.Background()
	w := &flakyWriter{fails: 2}
	tee := NewTee(mustEngine(t, coordOnly()), w, TeeOptions{Hold: -1})
	tee.Stored(ctx, campaign("x", 5, t0, 20*time.Second)) // a failed alert write fails no record
	// The next batch retries (and fails again), the one after succeeds.
	tee.Stored(ctx, campaign("y", 1, t0.Add(time.Minute), 0))
	if len(w.got) != 0 {
		t.Fatal("written while the writer fails")
	}
	tee.Stored(ctx, campaign("z", 1, t0.Add(2*time.Minute), 0))
	if len(w.got) != 1 {
		t.Fatalf("after recovery: %d alerts written, want 1", len(w.got))
	}
	// Close reports alerts it cannot write.
	w2 := &flakyWriter{fails: 100}
	tee2 := NewTee(mustEngine(t, coordOnly()), w2, TeeOptions{Hold: -1})
	tee2.Stored(ctx, campaign("x", 5, t0, 20*time.Second))
	if err := tee2.Close(ctx); err == nil {
		t.Error("Close hid an unwritten alert")
	}
}

func TestEventsWriter(t *testing.T) {
	var got []cloudevents.Event
	w := Events{Send: func(_ context.Context, es []cloudevents.Event) error { got = append(got, es...); return nil }}
	e := mustEngine(t, coordOnly())
	as := e.Observe(campaign("x", 5, t0, 20*time.Second))
	if err := (Writers{w}).WriteAlerts(context.Background(), as); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Type() != event.TypeAlertCoordination {
		t.Fatalf("events = %v", got)
	}
	back, err := event.DecodeAlert(&got[0])
	if err != nil || !slices.Equal(back.Accounts, as[0].Accounts) {
		t.Errorf("decode: %v %v", back, err)
	}
}

// Batches stored out of event-time order (a parallel pipeline at full
// speed) reach the engine in order: the same alerts as an ordered feed,
// and no tweet is late.
func TestTeeReordersWithinHold(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(13, 14))
	recs := organic(rng, 6000, t0, 200*time.Millisecond, "o")
	for i := 3000; i < 3600; i++ { // a burst of negative tweets: threshold and anomaly alerts
		recs[i].Results = []sink.Result{sent(-0.9)}
	}
	recs = merge(recs, campaign("x", 6, t0.Add(5*time.Minute), 30*time.Second))
	cfg := Default()
	cfg.Models = []ModelConfig{{Name: "sentiment", Threshold: &Threshold{Value: -0.25, Direction: "below"}}}
	ordered := mustEngine(t, cfg)
	want := append(ordered.Observe(recs), ordered.Flush()...)

	var batches [][]sink.Record
	for i := 0; i < len(recs); i += 100 {
		batches = append(batches, recs[i:min(i+100, len(recs))])
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	now := t0
	w := &flakyWriter{}
	eng := mustEngine(t, cfg)
	tee := NewTee(eng, w, TeeOptions{Hold: time.Second, Now: func() time.Time { return now }})
	for _, b := range batches { // all within one second of wall time
		tee.Stored(ctx, b)
	}
	if len(w.got) != 0 {
		t.Fatalf("alerts before the hold passed: %v", kinds(w.got))
	}
	if err := tee.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ids := alertIDs
	if got := ids(w.got); !slices.Equal(got, ids(want)) || len(got) < 3 {
		t.Errorf("alerts = %v\nwant     %v", got, ids(want))
	}
	if st := eng.Stats(); st.Late != 0 || st.Observed != len(recs) {
		t.Errorf("stats = %+v", st)
	}
}

// With no new batches (a slow live replay), held records still reach the
// engine once their hold passes.
func TestTeeReleasesWithoutNewBatches(t *testing.T) {
	synctest.Test(t, testTeeReleasesWithoutNewBatches)
}

func testTeeReleasesWithoutNewBatches(t *testing.T) {
	w := &syncWriter{}
	tee := NewTee(mustEngine(t, coordOnly()), w, TeeOptions{Hold: 20 * time.Millisecond})
	tee.Stored(context.Background(), campaign("x", 5, t0, 20*time.Second))
	synctest.Wait()
	if w.count() != 0 {
		t.Fatal("alert written before the hold passed")
	}
	time.Sleep(30 * time.Millisecond) // fake time: the 20 ms hold and a tick
	synctest.Wait()
	if w.count() != 1 {
		t.Errorf("%d alerts written by the ticker, want 1", w.count())
	}
	if err := tee.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type syncWriter struct {
	mu  sync.Mutex
	got []event.Alert
}

func (w *syncWriter) WriteAlerts(_ context.Context, as []event.Alert) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, as...)
	return nil
}

func (w *syncWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.got)
}

// The run merge pops records as one heap of all held records keyed by
// (event time, tweet id, batch arrival) would, batches in place order
// among equals.
func TestHeldRunsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type key struct {
		at       int64
		id       string
		seq, pos int
	}
	var q heldRuns
	var want []key
	seq := 0
	for range 200 {
		for range rng.IntN(4) {
			seq++
			batch := make([]sink.Record, rng.IntN(40))
			sorted := rng.IntN(2) == 0 // half the batches sorted, as a worker's usually are
			for i := range batch {
				at := rng.Int64N(100)
				if sorted {
					at = int64(i) * 3
				}
				batch[i].Tweet.CreatedAt = t0.Add(time.Duration(at))
				// Ids repeat (a redelivered tweet) and sort apart from the
				// arrival order.
				batch[i].Tweet.ID = fmt.Sprintf("id%d", rng.IntN(30))
				batch[i].Tweet.Text = fmt.Sprintf("%d/%d", seq, i) // where it came from
			}
			for i, r := range batch {
				want = append(want, key{int64(r.Tweet.CreatedAt.Sub(t0)), r.Tweet.ID, seq, i})
			}
			q.add(sortedCopy(q.spareBuf(), batch, func(i int) bool { return false }), uint64(seq), 0) // spares reused
		}
		slices.SortFunc(want, func(a, b key) int {
			return cmp.Or(cmp.Compare(a.at, b.at), strings.Compare(a.id, b.id), cmp.Compare(a.seq, b.seq), cmp.Compare(a.pos, b.pos))
		})
		for range rng.IntN(len(want) + 1) {
			r := q.pop()
			w := want[0]
			if got := fmt.Sprintf("%d/%d", w.seq, w.pos); r.Tweet.ID != w.id || r.Tweet.Text != got || int64(r.Tweet.CreatedAt.Sub(t0)) != w.at {
				t.Fatalf("popped %s (%s) at %v, want %s (%s) at %d", r.Tweet.ID, r.Tweet.Text, r.Tweet.CreatedAt.Sub(t0), w.id, got, w.at)
			}
			want = want[1:]
		}
		if q.n != len(want) {
			t.Fatalf("%d held, want %d", q.n, len(want))
		}
	}
}

// restartReplay is a replay with something to find on either side of a
// cut at its middle: threshold and rate anomalies (a burst of negative
// tweets), and coordination campaigns, one of them across the cut, one
// posted all at one instant (ties on event time broken by tweet id).
func restartReplay() ([]sink.Record, Config) {
	rng := rand.New(rand.NewPCG(21, 22))
	recs := organic(rng, 6000, t0, 200*time.Millisecond, "o")
	for i := 2500; i < 3500; i++ {
		recs[i].Results = []sink.Result{sent(-0.9)}
	}
	for i := 7; i < len(recs); i += 7 { // ties with the previous tweet
		recs[i].Tweet.CreatedAt = recs[i-1].Tweet.CreatedAt
	}
	recs = merge(recs, campaign("x", 6, t0.Add(9*time.Minute+30*time.Second), 50*time.Second))
	recs = merge(recs, campaign("y", 7, t0.Add(3*time.Minute), 0))
	recs = merge(recs, campaign("z", 5, t0.Add(15*time.Minute), 20*time.Second))
	slices.SortStableFunc(recs, func(a, b sink.Record) int {
		return cmp.Or(a.Tweet.CreatedAt.Compare(b.Tweet.CreatedAt), strings.Compare(a.Tweet.ID, b.Tweet.ID))
	})
	cfg := Default()
	cfg.Models = []ModelConfig{{Name: "sentiment", Threshold: &Threshold{Value: -0.25, Direction: "below"}}}
	return recs, cfg
}

// disorder cuts recs into batches of random sizes, shuffled within blocks
// of 100 records (20 s of event time): partitions read at uneven speeds.
func disorder(rng *rand.Rand, recs []sink.Record) [][]sink.Record {
	recs = slices.Clone(recs)
	for i := 0; i < len(recs); i += 100 {
		blk := recs[i:min(i+100, len(recs))]
		rng.Shuffle(len(blk), func(a, b int) { blk[a], blk[b] = blk[b], blk[a] })
	}
	var out [][]sink.Record
	for len(recs) > 0 {
		n := min(1+rng.IntN(40), len(recs))
		out = append(out, recs[:n])
		recs = recs[n:]
	}
	return out
}

// With an event-time hold the engine sees one order whatever the batches
// and their interleaving: the same alerts as the replay fed in order.
func TestTeeEventHoldIsOrderFree(t *testing.T) {
	ctx := context.Background()
	recs, cfg := restartReplay()
	run := func(batches [][]sink.Record) []event.Alert {
		w := &flakyWriter{}
		eng := mustEngine(t, cfg)
		tee := NewTee(eng, w, TeeOptions{EventHold: 30 * time.Second})
		for _, b := range batches {
			tee.Stored(ctx, b)
		}
		if err := tee.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if st := eng.Stats(); st.Late != 0 {
			t.Errorf("%d late tweets", st.Late)
		}
		return w.got
	}
	want := run([][]sink.Record{recs})
	if k := kinds(want); !slices.Contains(k, "coordination:similar_texts") || !slices.Contains(k, "threshold:mean") {
		t.Fatalf("alerts %v, want coordination and threshold", k)
	}
	for seed := range uint64(3) {
		got := run(disorder(rand.New(rand.NewPCG(seed, 1)), recs))
		if !slices.Equal(alertIDs(got), alertIDs(want)) {
			t.Errorf("seed %d: alerts %v\nwant %v", seed, alertIDs(got), alertIDs(want))
		}
	}
}

// A stopped Tee (KeepOpen) and a new one rebuilt from what was stored
// raise together the alerts of one uninterrupted run: none missing, none
// new, and an alert raised on both sides of the restart is the same alert
// (an upsert changes nothing). Without the rebuild the alerts differ, so
// the comparison can fail.
func TestTeeRestartRebuildsFromStore(t *testing.T) {
	ctx := context.Background()
	recs, cfg := restartReplay()
	opts := TeeOptions{EventHold: 30 * time.Second}
	ref := &flakyWriter{}
	tee := NewTee(mustEngine(t, cfg), ref, opts)
	tee.Stored(ctx, recs)
	if err := tee.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := alertIDs(ref.got)

	batches := disorder(rand.New(rand.NewPCG(5, 6)), recs)
	cut := len(batches) / 2
	restart := func(rebuild bool) map[string]event.Alert {
		byID := map[string]event.Alert{}
		keep := func(w *flakyWriter) {
			for _, a := range w.got {
				if b, ok := byID[a.ID]; ok && !reflect.DeepEqual(a, b) {
					t.Errorf("alert %s raised twice with different content:\n%+v\n%+v", a.ID, a, b)
				}
				byID[a.ID] = a
			}
		}
		first := &flakyWriter{}
		o := opts
		o.KeepOpen = true
		a := NewTee(mustEngine(t, cfg), first, o)
		var stored []sink.Record
		for _, b := range batches[:cut] {
			a.Stored(ctx, b)
			stored = append(stored, b...)
		}
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
		keep(first)
		// The store reads back in (time, id) order.
		slices.SortFunc(stored, func(a, b sink.Record) int {
			return cmp.Or(a.Tweet.CreatedAt.Compare(b.Tweet.CreatedAt), strings.Compare(a.Tweet.ID, b.Tweet.ID))
		})
		second := &flakyWriter{}
		b := NewTee(mustEngine(t, cfg), second, opts)
		if rebuild {
			n, err := b.Rebuild(ctx, func(yield func(sink.Record, error) bool) {
				for _, r := range stored {
					if !yield(r, nil) {
						return
					}
				}
			}, time.Time{})
			if err != nil || n != len(stored) {
				t.Fatalf("rebuild: %d records, %v", n, err)
			}
		}
		// The last uncommitted batches are delivered again, then the rest.
		for _, bt := range batches[cut-5:] {
			b.Stored(ctx, bt)
		}
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		keep(second)
		return byID
	}
	ids := func(m map[string]event.Alert) []string { return slices.Sorted(maps.Keys(m)) }
	if got := ids(restart(true)); !slices.Equal(got, want) {
		t.Errorf("alerts across a restart %v\nwant %v", got, want)
	}
	if got := ids(restart(false)); slices.Equal(got, want) {
		t.Errorf("without the rebuild the same alerts %v: the replay does not test the restart", got)
	}
}

// Rebuild's floor: alerts of windows starting before it are not raised
// again (the warm-up part of a rebuild only rebuilds state).
func TestTeeRebuildFloor(t *testing.T) {
	ctx := context.Background()
	recs, cfg := restartReplay()
	w := &flakyWriter{}
	tee := NewTee(mustEngine(t, cfg), w, TeeOptions{EventHold: 30 * time.Second})
	floor := t0.Add(10 * time.Minute)
	if _, err := tee.Rebuild(ctx, func(yield func(sink.Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}, floor); err != nil {
		t.Fatal(err)
	}
	if err := tee.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.got) == 0 {
		t.Fatal("no alert after the floor")
	}
	for _, a := range w.got {
		if a.WindowStart.Before(floor) {
			t.Errorf("alert %s of a window starting before the floor", a.ID)
		}
	}
	// A failing read ends the rebuild with the error.
	bad := NewTee(mustEngine(t, cfg), w, TeeOptions{EventHold: time.Second})
	if _, err := bad.Rebuild(ctx, func(yield func(sink.Record, error) bool) { yield(sink.Record{}, errors.New("disk gone")) }, time.Time{}); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("rebuild over a failing read = %v", err)
	}
}
