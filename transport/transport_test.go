package transport_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
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

// In a synctest bubble the late ack's sleep and the deadline run on the
// bubble's clock: the order is fixed, not a race against a real timer.
func TestSyncWaitsForLateAck(t *testing.T) { synctest.Test(t, testSyncWaitsForLateAck) }

func testSyncWaitsForLateAck(t *testing.T) {
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

// In a bubble, the 5 ms "work" of each call ends only when every goroutine
// is blocked, so all three workers are always in flight together: the peak
// is exactly 3, never a lucky or unlucky schedule.
func TestAsyncBoundsConcurrency(t *testing.T) { synctest.Test(t, testAsyncBoundsConcurrency) }

func testAsyncBoundsConcurrency(t *testing.T) {
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
	time.Sleep(time.Second) // the bubble's clock, past the workers' idle time: they exit
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

// A call that finds every worker busy waits; when its context ends first it
// is acked with the context's error and the handler never sees it. Idle
// workers exit, so an Async left alone holds no goroutines: synctest.Test
// returns only when every goroutine of its bubble has, and fails with a
// deadlock if a worker never did.
func TestAsyncWaitsThenGivesUpAndWorkersExit(t *testing.T) {
	synctest.Test(t, testAsyncWaitsThenGivesUpAndWorkersExit)
}

func testAsyncWaitsThenGivesUpAndWorkersExit(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	h := transport.Async(func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		calls.Add(1)
		<-release
		return nil, nil
	}, 2)
	acks := make(chan error, 3)
	for range 2 {
		h(context.Background(), cloudevents.NewEvent(), func(err error) { acks <- err })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	h(ctx, cloudevents.NewEvent(), func(err error) { acks <- err }) // blocks until ctx ends
	if err := <-acks; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third call acked with %v, want the context's deadline", err)
	}
	close(release)
	for range 2 {
		if err := <-acks; err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2", n)
	}
	time.Sleep(time.Second) // the bubble's clock, past the workers' idle time: they exit
}

// A panic in a handler is recovered at the boundary: Protect and Async ack
// it once as a permanent *PanicError naming the event, and the process lives.
func TestPanicIsPoison(t *testing.T) {
	e := cloudevents.NewEvent()
	e.SetID("poison-1")
	var acks []error
	transport.Protect(func(context.Context, cloudevents.Event, func(error)) { panic("bad text") })(
		context.Background(), e, func(err error) { acks = append(acks, err) })
	var pe *transport.PanicError
	if len(acks) != 1 || !errors.As(acks[0], &pe) || pe.EventID != "poison-1" || transport.Classify(acks[0]) != transport.Reject {
		t.Fatalf("acks %v, want one permanent PanicError for poison-1", acks)
	}
	acks = nil
	transport.Protect(func(_ context.Context, _ cloudevents.Event, ack func(error)) { ack(nil); ack(errors.New("again")) })(
		context.Background(), e, func(err error) { acks = append(acks, err) })
	if len(acks) != 1 || acks[0] != nil {
		t.Fatalf("double ack reached the transport: %v", acks)
	}
	done := make(chan error, 1)
	transport.Async(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) { panic("in a worker") }, 1)(
		context.Background(), e, func(err error) { done <- err })
	if err := <-done; !errors.As(err, &pe) || transport.Classify(err) != transport.Reject {
		t.Fatalf("Async ack %v, want a permanent PanicError", err)
	}
	if _, err := transport.Safe(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) { panic(1) })(context.Background(), e); !errors.As(err, &pe) {
		t.Fatalf("Safe: %v", err)
	}
}
