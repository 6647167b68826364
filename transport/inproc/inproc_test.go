package inproc_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/inproc"
	"github.com/tweetflow/tweetflow/transport/transporttest"
)

type harness struct{}

func (harness) Start(t *testing.T, h transport.Handler) (transport.Sender, func()) {
	q := inproc.New(inproc.Options{RetryDelay: time.Millisecond})
	return q, transporttest.Receive(t, q, transport.Async(h, 16))
}

func (harness) Open(*testing.T) transporttest.Source {
	return source{inproc.New(inproc.Options{RetryDelay: time.Millisecond, DrainTimeout: 100 * time.Millisecond})}
}

type source struct{ q *inproc.Queue }

func (s source) Sender() transport.Sender               { return s.q }
func (s source) Receiver(*testing.T) transport.Receiver { return s.q }

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Harness { return harness{} })
	transporttest.RunAtLeastOnce(t, func(*testing.T) transporttest.SourceHarness { return harness{} })
}

// Send returns only once the receiver has finished the events, and reports
// a rejection with the event's id; a panic is one.
func TestSendWaitsForCompletion(t *testing.T) {
	synctest.Test(t, testSendWaitsForCompletion)
}

func testSendWaitsForCompletion(t *testing.T) {
	q := inproc.New(inproc.Options{})
	in := transporttest.Events(t, 3, "c")
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Receive(ctx, func(_ context.Context, e cloudevents.Event, ack func(error)) {
		switch e.ID() {
		case in[1].ID():
			ack(&event.FieldError{EventID: e.ID(), Field: "data.text", Reason: "empty"})
		case in[2].ID():
			go func() { <-release; ack(nil) }()
		default:
			ack(nil)
		}
	})
	sent := make(chan error, 1)
	go func() { sent <- q.Send(context.Background(), in) }()
	synctest.Wait() // every goroutine blocked: the first two acked, the third held
	select {
	case err := <-sent:
		t.Fatalf("Send returned %v before the last event was acked", err)
	default:
	}
	close(release)
	err := <-sent
	var fe *event.FieldError
	if !errors.As(err, &fe) || fe.EventID != in[1].ID() {
		t.Fatalf("Send = %v, want the rejection of %s", err, in[1].ID())
	}

	var pe *transport.PanicError
	q2 := inproc.New(inproc.Options{})
	go q2.Receive(ctx, func(context.Context, cloudevents.Event, func(error)) { panic("boom") })
	if err := q2.Send(context.Background(), in[:1]); !errors.As(err, &pe) {
		t.Fatalf("Send to a panicking handler = %v, want *transport.PanicError", err)
	}
}
