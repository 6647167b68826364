// Package transporttest is the behavioural suite every tweetflow transport
// runs (after go-cloud's drivertest and sdk-go's SendReceive): a transport
// only writes a Harness, and the suite checks what the rest of tweetflow
// relies on — events arrive with their attributes, extensions and data
// intact; a transient handler failure is redelivered until it succeeds; a
// rejected event is not redelivered and does not hold up the others.
package transporttest

import (
	"context"
	"errors"
	"fmt"
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
	// Sender that delivers to it, and a stop func (also run at cleanup).
	Start(t *testing.T, h transport.Handler) (transport.Sender, func())
}

// Run runs the suite against the transport newHarness makes.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("SendReceive", func(t *testing.T) { testSendReceive(t, newHarness(t)) })
	t.Run("TransientFailureRedelivered", func(t *testing.T) { testTransient(t, newHarness(t)) })
	t.Run("RejectedNotRedelivered", func(t *testing.T) { testRejected(t, newHarness(t)) })
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

// recorder is a handler that records what it is given.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	got   map[string]cloudevents.Event
	fail  func(e cloudevents.Event, call int) error
}

func newRecorder(fail func(cloudevents.Event, int) error) *recorder {
	return &recorder{calls: map[string]int{}, got: map[string]cloudevents.Event{}, fail: fail}
}

func (r *recorder) handle(_ context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	r.mu.Lock()
	r.calls[e.ID()]++
	call := r.calls[e.ID()]
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(e, call); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	r.got[e.ID()] = e
	r.mu.Unlock()
	return nil, nil
}

func (r *recorder) wait(t *testing.T, ids []string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		r.mu.Lock()
		missing := 0
		for _, id := range ids {
			if _, ok := r.got[id]; !ok {
				missing++
			}
		}
		r.mu.Unlock()
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events not handled after %v", missing, len(ids), d)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	in := Events(t, 10, "rj")
	poison := in[2].ID()
	rec := newRecorder(func(e cloudevents.Event, _ int) error {
		if e.ID() == poison {
			return &event.FieldError{EventID: e.ID(), Field: "data.text", Reason: "cannot be scored"}
		}
		return nil
	})
	s, stop := h.Start(t, rec.handle)
	defer stop()
	_ = s.Send(context.Background(), in) // HTTP reports the rejection; Kafka cannot
	rest := append(ids(in[:2]), ids(in[3:])...)
	rec.wait(t, rest, 30*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a wrong redelivery to show
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := rec.calls[poison]; n != 1 {
		t.Fatalf("rejected event handled %d times, want 1 (never redelivered)", n)
	}
}
