// Package transporttest is the behavioural suite every tweetflow transport
// runs (after go-cloud's drivertest and sdk-go's SendReceive): a transport
// only writes a Harness (and a SourceHarness for RunAtLeastOnce), and the
// suite checks what the rest of tweetflow relies on — events arrive with
// their attributes, extensions and data intact; a transient handler failure
// is redelivered until it succeeds; a rejected event, or one whose handler
// panics, is not redelivered and does not hold up the others; an event not
// acked when a receiver stops comes back to the next one.
package transporttest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport"
)

// Harness creates one transport instance for a test.
type Harness interface {
	// Start starts a receiver that calls h for each event and returns a
	// Sender that delivers to it, and a stop func that stops the receiver
	// after its drain (safe to call twice; also run at cleanup).
	Start(t *testing.T, h transport.Handler) (transport.Sender, func())
}

// Run runs the suite against the transport newHarness makes.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("SendReceive", func(t *testing.T) { testSendReceive(t, newHarness(t)) })
	t.Run("TransientFailureRedelivered", func(t *testing.T) { testTransient(t, newHarness(t)) })
	t.Run("RejectedNotRedelivered", func(t *testing.T) { testRejected(t, newHarness(t)) })
	t.Run("PanicIsPoison", func(t *testing.T) { testPanic(t, newHarness(t)) })
}

// Source is one source of events whose receiving side can be stopped and
// started again: a Kafka topic and consumer group, an in-process queue, an
// HTTP address that the sender keeps retrying.
type Source interface {
	Sender() transport.Sender
	// Receiver returns a receiver of the source. Each call may return a new
	// one (Kafka: a new consumer in the same group); a Receive on it may
	// start after an earlier one returned.
	Receiver(t *testing.T) transport.Receiver
}

// SourceHarness opens a Source for one test.
type SourceHarness interface {
	Open(t *testing.T) Source
}

// RunAtLeastOnce runs the at-least-once cases against the transport
// newHarness makes: an event not acked when a Receive returns comes back to
// the next Receive even though later events were acked (an out-of-order ack
// never commits past an earlier one), and a cancelled Receive returns nil.
func RunAtLeastOnce(t *testing.T, newHarness func(t *testing.T) SourceHarness) {
	t.Run("UnackedRedeliveredAfterRestart", func(t *testing.T) { testRestart(t, newHarness(t).Open(t)) })
	t.Run("CancelReturns", func(t *testing.T) { testCancel(t, newHarness(t).Open(t)) })
}

// Events returns n tweet events with an extra extension and odd text
// (non-ASCII, quotes, newlines), ids prefix0000…
func Events(t testing.TB, n int, prefix string) []cloudevents.Event {
	t.Helper()
	out := make([]cloudevents.Event, n)
	for i := range out {
		id := fmt.Sprintf("%s%04d", prefix, i)
		e, err := event.NewTweetEvent(event.Tweet{ID: id, User: "ü" + id, Text: fmt.Sprintf("héllo \"%d\"\n😀 <b>&", i),
			CreatedAt: time.Date(2021, 3, 4, 5, 6, 7, 8000, time.UTC).Add(time.Duration(i) * time.Second), Fields: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		e.SetExtension("custom", "x-"+id)
		out[i] = e
	}
	return out
}

// recorder is a handler that records what it is given. Every change closes
// sig (and makes a new one), so waits block on the change itself, not on a
// sleep.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	got   map[string]cloudevents.Event
	fail  func(e cloudevents.Event, call int) error
	sig   chan struct{}
}

func newRecorder(fail func(cloudevents.Event, int) error) *recorder {
	return &recorder{calls: map[string]int{}, got: map[string]cloudevents.Event{}, fail: fail, sig: make(chan struct{})}
}

// changed wakes the waiters; r.mu is held.
func (r *recorder) changed() {
	close(r.sig)
	r.sig = make(chan struct{})
}

func (r *recorder) handle(_ context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	r.mu.Lock()
	r.calls[e.ID()]++
	call := r.calls[e.ID()]
	r.changed()
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(e, call); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	r.got[e.ID()] = e
	r.changed()
	r.mu.Unlock()
	return nil, nil
}

// until waits up to d for cond (called with r.mu held) to hold.
func (r *recorder) until(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		ok, sig := cond(), r.sig
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-sig:
		case <-timeout.C:
			t.Fatalf("%s: not after %v", what, d)
		}
	}
}

func (r *recorder) wait(t *testing.T, ids []string, d time.Duration) {
	t.Helper()
	missing := 0
	r.until(t, d, "events handled", func() bool {
		missing = 0
		for _, id := range ids {
			if _, ok := r.got[id]; !ok {
				missing++
			}
		}
		return missing == 0
	})
}

func ids(es []cloudevents.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID()
	}
	return out
}

func testSendReceive(t *testing.T, h Harness) {
	rec := newRecorder(nil)
	s, stop := h.Start(t, rec.handle)
	defer stop()
	in := Events(t, 50, "sr")
	if err := s.Send(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, ids(in), 30*time.Second)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, want := range in {
		got := rec.got[want.ID()]
		if got.Type() != want.Type() || got.Source() != want.Source() || got.Subject() != want.Subject() ||
			!got.Time().Equal(want.Time()) || got.SpecVersion() != want.SpecVersion() {
			t.Fatalf("attributes changed:\n got %s\nwant %s", got, want)
		}
		if got.Extensions()["custom"] != "x-"+want.ID() || got.Extensions()[event.ExtPartitionKey] != want.ID() {
			t.Fatalf("extensions changed: %v", got.Extensions())
		}
		gt, err := event.DecodeTweet(&got)
		wt, _ := event.DecodeTweet(&want)
		if err != nil || gt.Text != wt.Text || gt.User != wt.User || gt.Fields["k"] != "v" {
			t.Fatalf("data changed: %+v (%v), want %+v", gt, err, wt)
		}
		if n := rec.calls[want.ID()]; n != 1 {
			t.Fatalf("event %s handled %d times without a failure", want.ID(), n)
		}
	}
}

func testTransient(t *testing.T, h Harness) {
	in := Events(t, 10, "tr")
	flaky := in[3].ID()
	rec := newRecorder(func(e cloudevents.Event, call int) error {
		if e.ID() == flaky && call <= 2 {
			return errors.New("store briefly unavailable")
		}
		return nil
	})
	s, stop := h.Start(t, rec.handle)
	defer stop()
	if err := s.Send(context.Background(), in); err != nil {
		t.Fatalf("send: %v (a transient failure must be retried, not reported)", err)
	}
	rec.wait(t, ids(in), 30*time.Second)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := rec.calls[flaky]; n != 3 {
		t.Fatalf("flaky event handled %d times, want 3", n)
	}
}

func testRejected(t *testing.T, h Harness) {
	testPoison(t, h, "rj", 2, "rejected", func(e cloudevents.Event, poison string) error {
		if e.ID() == poison {
			return &event.FieldError{EventID: e.ID(), Field: "data.text", Reason: "cannot be scored"}
		}
		return nil
	})
}

// testPanic: a handler that panics on one text (a tokenizer bug) costs that
// event only: it is handed over once, never redelivered into a crash loop,
// and the others are handled.
func testPanic(t *testing.T, h Harness) {
	testPoison(t, h, "pa", 6, "panicking", func(e cloudevents.Event, _ string) error {
		tw, err := event.DecodeTweet(&e)
		if err != nil {
			return err
		}
		if strings.Contains(tw.Text, `"6"`) {
			panic("tokenizer: cannot split " + tw.Text)
		}
		return nil
	})
}

// testPoison sends 10 events (ids prefix...) to handle, which must fail the
// one at index at for good (poison is its id) and no other, and checks that
// the others are handled and the poison event is handed over exactly once:
// never redelivered. what names the failure in the messages.
func testPoison(t *testing.T, h Harness, prefix string, at int, what string, handle func(e cloudevents.Event, poison string) error) {
	in := Events(t, 10, prefix)
	poison := in[at].ID()
	rec := newRecorder(func(e cloudevents.Event, _ int) error { return handle(e, poison) })
	s, stop := h.Start(t, rec.handle)
	defer stop()
	_ = s.Send(context.Background(), in) // HTTP reports the rejection; Kafka cannot
	rest := append(ids(in[:at]), ids(in[at+1:])...)
	rec.wait(t, rest, 30*time.Second)
	rec.until(t, 30*time.Second, what+" event handed over", func() bool { return rec.calls[poison] > 0 })
	// Stopping drains the receiver: a wrong redelivery already scheduled
	// (retry delays are milliseconds in every harness) shows before it
	// returns, and none comes after. On the synchronous transports the
	// poison event is answered before Send returns, so a second delivery
	// could only come from such a retry.
	stop()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := rec.calls[poison]; n != 1 {
		t.Fatalf("%s event handled %d times, want 1 (a poison event, never redelivered)", what, n)
	}
}

// Receive runs r.Receive(ctx, h) on a goroutine; stop (also a t.Cleanup, and
// safe to call more than once) cancels it and fails the test unless it
// returns nil within 30s. Harnesses whose transport is a Receiver start it
// with this.
func Receive(t *testing.T, r transport.Receiver, h transport.AckHandler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Receive(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			switch err, ok := within(done); {
			case !ok:
				t.Errorf("Receive did not return within 30s of its cancel")
			case err != nil:
				t.Errorf("Receive after cancel: %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func testRestart(t *testing.T, src Source) {
	in := Events(t, 20, "rs")
	held := in[5].ID()
	var (
		mu      sync.Mutex
		first   = map[string]int{}
		heldAck func(error)
		second  = map[string]int{}
	)
	allFirst := make(chan struct{})
	stop1 := Receive(t, src.Receiver(t), func(_ context.Context, e cloudevents.Event, ack func(error)) {
		mu.Lock()
		defer mu.Unlock()
		first[e.ID()]++
		if e.ID() == held {
			heldAck = ack // never acked by this receiver; later ones are
		} else {
			ack(nil)
		}
		if len(first) == len(in) && heldAck != nil {
			select {
			case <-allFirst:
			default:
				close(allFirst)
			}
		}
	})
	sent := make(chan error, 1)
	go func() { sent <- src.Sender().Send(context.Background(), in) }()
	if _, ok := within(allFirst); !ok {
		mu.Lock()
		t.Fatalf("first receiver saw %d of %d events", len(first), len(in))
	}
	stop1()
	got := make(chan struct{})
	stop2 := Receive(t, src.Receiver(t), func(_ context.Context, e cloudevents.Event, ack func(error)) {
		mu.Lock()
		second[e.ID()]++
		mu.Unlock()
		ack(nil)
		if e.ID() == held {
			select {
			case <-got:
			default:
				close(got)
			}
		}
	})
	// The first receiver's late ack belongs to a delivery that is over: it
	// must change nothing (and not panic).
	mu.Lock()
	heldAck(nil)
	mu.Unlock()
	if _, ok := within(got); !ok {
		t.Fatalf("event %s, unacked when the first Receive returned, was not redelivered (an ack of a later event committed past it?)", held)
	}
	switch err, ok := within(sent); {
	case !ok:
		t.Fatal("Send did not return once every event was acked")
	case err != nil:
		t.Fatalf("send: %v", err)
	}
	stop2()
}

// within waits up to 30 s for ch: its value, or false when it did not come.
func within[T any](ch <-chan T) (v T, ok bool) {
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case v = <-ch:
		return v, true
	case <-timeout.C:
		return v, false
	}
}

// testCancel: a Receive whose context is cancelled returns nil, within
// Receive's bound (its stop fails the test otherwise).
func testCancel(t *testing.T, src Source) {
	Receive(t, src.Receiver(t), func(_ context.Context, _ cloudevents.Event, ack func(error)) { ack(nil) })()
}

// Outcomes is a transport.Observer that counts each outcome, for tests that
// check what a transport reported.
type Outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

// Observe implements transport.Observer.
func (o *Outcomes) Observe(outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[outcome]++
}

// Get returns how many times outcome was observed.
func (o *Outcomes) Get(outcome string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[outcome]
}

// String lists the counts, for failure messages.
func (o *Outcomes) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprint(o.n)
}
