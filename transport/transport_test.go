package transport_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport"
)

func TestClassify(t *testing.T) {
	fe := &event.FieldError{EventID: "a", Field: "type", Reason: "x"}
	for _, tc := range []struct {
		err  error
		want transport.Kind
	}{
		{errors.New("x"), transport.Retry},
		{fe, transport.Reject},
		{fmt.Errorf("wrapped: %w", fe), transport.Reject},
		{transport.Permanent(errors.New("x")), transport.Reject},
		{transport.Overloaded(errors.New("x")), transport.Overload},
		{fmt.Errorf("w: %w", transport.Overloaded(errors.New("x"))), transport.Overload},
		{context.Canceled, transport.Retry},
		{transport.NotReady(errors.New("loading")), transport.Unavailable},
	} {
		if got := transport.Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if transport.Permanent(nil) != nil || transport.Overloaded(nil) != nil {
		t.Fatal("wrapping nil must stay nil")
	}
}

func TestSyncWaitsForLateAck(t *testing.T) {
	h := transport.Sync(func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		go func() {
			time.Sleep(20 * time.Millisecond)
			ack(errors.New("late failure"))
			ack(nil) // a repeated ack is ignored
		}()
	})
	_, err := h(context.Background(), cloudevents.NewEvent())
	if err == nil || err.Error() != "late failure" {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	never := transport.Sync(func(context.Context, cloudevents.Event, func(error)) {})
	if _, err := never(ctx, cloudevents.NewEvent()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestAsyncBoundsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	h := transport.Async(func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inFlight.Add(-1)
		return nil, nil
	}, 3)
	var wg sync.WaitGroup
	wg.Add(20)
	for range 20 {
		h(context.Background(), cloudevents.NewEvent(), func(err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrency %d, want 3", p)
	}
}

type recSender struct {
	mu   sync.Mutex
	sent []cloudevents.Event
	err  error
}

func (s *recSender) Send(_ context.Context, es []cloudevents.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, es...)
	return nil
}
func (s *recSender) Close(context.Context) error { return nil }

func TestForwardAcksOnlyAfterSend(t *testing.T) {
	reply := cloudevents.NewEvent()
	reply.SetID("r")
	h := func(context.Context, cloudevents.Event) (*cloudevents.Event, error) { return &reply, nil }
	s := &recSender{}
	if _, err := transport.Forward(h, s)(context.Background(), cloudevents.NewEvent()); err != nil || len(s.sent) != 1 {
		t.Fatalf("err %v sent %d", err, len(s.sent))
	}
	s.err = errors.New("broker down")
	if _, err := transport.Forward(h, s)(context.Background(), cloudevents.NewEvent()); err == nil || transport.Classify(err) != transport.Retry {
		t.Fatalf("a failed forward must fail the input for retry, got %v", err)
	}
}
