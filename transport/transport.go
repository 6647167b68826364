// Package transport is what moves tweetflow's CloudEvents between processes:
// the handler shapes every receiver calls, the Sender every producer uses, and
// the classification of handler errors into "retry", "reject" and "overload"
// that each transport turns into its own vocabulary (an HTTP status, a Kafka
// redelivery, a dead-letter record).
//
// Drivers live in subpackages: cehttp (CloudEvents over HTTP, binary mode, as
// Knative delivers them) and kafka (sarama through the CloudEvents Kafka
// binding). transporttest is the behavioural suite both run.
package transport

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
)

// Handler handles one event and returns when it is done. A nil error
// acknowledges the event; a non-nil reply is passed on (HTTP: the 200 reply
// body; Kafka: produced to the reply topic before the ack).
type Handler func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error)

// AckHandler handles one event and calls ack exactly once, possibly after it
// has returned (the aggregator acks when the record is durable). It may block
// to push back on the transport.
type AckHandler func(ctx context.Context, e cloudevents.Event, ack func(error))

// Sender sends events. Send returns nil only when every event was accepted by
// the other side (Kafka: acked by all in-sync replicas; HTTP: a 2xx).
type Sender interface {
	Send(ctx context.Context, events []cloudevents.Event) error
	Close(ctx context.Context) error
}

// Receiver is the receiving role beside Sender (sdk-go's protocol.Receiver,
// Benthos's Input with an ack per read). Receive hands every event it reads
// to h until ctx ends, then stops reading, gives in-flight events a bounded
// time to be acked and returns nil. An event acked with nil is done; one
// acked with an error is redelivered or dead-lettered as Classify says; one
// not acked when Receive returns is redelivered to the next Receive of the
// same source (at-least-once). A panic in h is recovered at this boundary
// (Protect) and treated as a permanent failure (*PanicError).
type Receiver interface {
	Receive(ctx context.Context, h AckHandler) error
}

// PanicError is a handler panic recovered at the transport boundary. The
// event is a poison event: the same bytes would panic again, so it is
// rejected (dead-lettered, HTTP 400, the error to an in-process caller),
// never redelivered into a crash loop.
type PanicError struct {
	EventID string
	Value   any
	Stack   []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("event %s: handler panicked: %v", e.EventID, e.Value)
}

// Protect guards h at the transport boundary: a panic in h becomes
// ack(*PanicError), and ack takes effect at most once (a repeated ack, or an
// ack after a panic, is ignored), so a transport's ack bookkeeping never
// runs twice for one delivery.
func Protect(h AckHandler) AckHandler { return ProtectFunc(h, cloudevents.Event.ID) }

// ProtectFunc is Protect for a handler of any item (the in-process
// transport carries batches as well as events); id names the item in the
// *PanicError (nil: unnamed).
func ProtectFunc[T any](h func(context.Context, T, func(error)), id func(T) string) func(context.Context, T, func(error)) {
	return func(ctx context.Context, v T, ack func(error)) {
		var once atomic.Bool
		safe := func(err error) {
			if once.CompareAndSwap(false, true) {
				ack(err)
			}
		}
		defer func() {
			if p := recover(); p != nil {
				pe := &PanicError{Value: p, Stack: debug.Stack()}
				if id != nil {
					pe.EventID = id(v)
				}
				safe(pe)
			}
		}()
		h(ctx, v, safe)
	}
}

// callSafe calls h and returns a panic as *PanicError.
func callSafe(h Handler, ctx context.Context, e cloudevents.Event) (reply *cloudevents.Event, err error) {
	defer func() {
		if v := recover(); v != nil {
			reply, err = nil, &PanicError{EventID: e.ID(), Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, e)
}

// Safe returns h with a panic turned into a *PanicError result.
func Safe(h Handler) Handler {
	return func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		return callSafe(h, ctx, e)
	}
}

// Kind is what a transport should do with an event whose handler failed.
type Kind int

const (
	// Retry: the failure is transient (a store outage, a cancelled context);
	// the same event may succeed later, so it is redelivered.
	Retry Kind = iota
	// Reject: the event can never be handled (bad input). It is not retried;
	// HTTP answers 4xx, Kafka logs it, sends it to the dead-letter topic if
	// one is configured, and moves on.
	Reject
	// Overload: the receiver is saturated. Retried after a back-off (HTTP 429).
	Overload
	// Unavailable: the receiver is not ready (model loading, shutting down).
	// Retried after a back-off (HTTP 503).
	Unavailable
)

func (k Kind) String() string {
	switch k {
	case Reject:
		return "reject"
	case Overload:
		return "overload"
	case Unavailable:
		return "unavailable"
	}
	return "retry"
}

// classed marks an error with the Kind Classify gives it; class is a tag
// type, so each Kind is its own type to errors.As.
type classed[class any] struct{ err error }

func (e classed[C]) Error() string { return e.err.Error() }
func (e classed[C]) Unwrap() error { return e.err }

// The tags of classed.
type (
	permanent   struct{}
	overload    struct{}
	unavailable struct{}
)

func mark[C any](err error) error {
	if err == nil {
		return nil
	}
	return classed[C]{err}
}

// Permanent marks err as one that retrying cannot fix.
func Permanent(err error) error { return mark[permanent](err) }

// Overloaded marks err as back-pressure from a saturated receiver. The
// wiring translates its core's overload sentinel (functions.ErrOverloaded)
// into this, so transport does not import the cores.
func Overloaded(err error) error { return mark[overload](err) }

// NotReady marks err as "not ready yet / going away": retry elsewhere or later.
func NotReady(err error) error { return mark[unavailable](err) }

// Classify says what to do with a handler's error. Validation errors of the
// event contract (*event.FieldError) are rejected: the same bytes will fail
// the same way every time.
func Classify(err error) Kind {
	var fe *event.FieldError
	var pe classed[permanent]
	var oe classed[overload]
	var ue classed[unavailable]
	var pan *PanicError
	switch {
	case err == nil:
		return Retry
	case errors.As(err, &pan):
		return Reject
	case errors.As(err, &oe):
		return Overload
	case errors.As(err, &ue):
		return Unavailable
	case errors.As(err, &pe), errors.As(err, &fe):
		return Reject
	}
	return Retry
}

// Sync adapts an AckHandler to a Handler: it waits for the ack. The HTTP
// aggregator uses it, so its 2xx means "durably stored".
func Sync(h AckHandler) Handler {
	return func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		done := make(chan error, 1)
		h(ctx, e, func(err error) {
			select {
			case done <- err:
			default: // a second ack is ignored: acks must be safe to repeat
			}
		})
		select {
		case err := <-done:
			return nil, err
		case <-ctx.Done():
			return nil, fmt.Errorf("event %s: waiting for ack: %w", e.ID(), ctx.Err())
		}
	}
}

// Async adapts a Handler to an AckHandler that runs at most limit calls at
// once, each on a goroutine of its own. The call blocks while limit calls are
// in flight, which holds the transport's reads (back-pressure). Concurrency is
// what lets the function core micro-batch events from one Kafka partition.
//
// The goroutines are reused: a worker that finishes a call waits up to
// asyncIdle for the next one before it exits. A fresh goroutine per event
// started on a small stack and grew it on every event (runtime.newstack was
// about 5% of the Kafka-only mode's CPU); a reused one keeps its grown stack.
func Async(h Handler, limit int) AckHandler {
	if limit < 1 {
		limit = 1
	}
	type job struct {
		ctx context.Context
		e   cloudevents.Event
		ack func(error)
	}
	sem := make(chan struct{}, limit) // one token per live worker
	work := make(chan job)            // unbuffered: a send succeeds only into an idle worker
	run := func(j job) {
		// The worker goroutine is a transport boundary too: a panic here
		// would kill the process, so it becomes the event's permanent failure.
		_, err := callSafe(h, j.ctx, j.e)
		j.ack(err)
	}
	worker := func(j job) {
		defer func() { <-sem }()
		run(j)
		idle := time.NewTimer(asyncIdle)
		defer idle.Stop()
		for {
			select {
			case j := <-work:
				run(j)
				idle.Reset(asyncIdle)
			case <-idle.C:
				return
			}
		}
	}
	return func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		j := job{ctx, e, ack}
		select {
		case work <- j: // an idle worker took it
		case sem <- struct{}{}: // room for one more worker
			go worker(j)
		case <-ctx.Done():
			ack(ctx.Err())
		}
	}
}

// asyncIdle is how long an Async worker waits for more work before it exits.
const asyncIdle = 500 * time.Millisecond

// Forward returns a Handler that sends h's reply with s before it returns,
// so the input is acknowledged only once its result is accepted downstream
// (Kafka-only mode: a function's metadata event is produced, then the tweet's
// offset may be committed).
func Forward(h Handler, s Sender) Handler {
	return func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		reply, err := h(ctx, e)
		if err != nil || reply == nil {
			return nil, err
		}
		if err := s.Send(ctx, []cloudevents.Event{*reply}); err != nil {
			return nil, fmt.Errorf("event %s: forward reply %s: %w", e.ID(), reply.ID(), err)
		}
		return nil, nil
	}
}

// Observer is told the outcome of every received event and how long it took;
// the metrics package implements it. Outcome values are the Outcome* constants.
type Observer interface {
	Observe(outcome string, d time.Duration)
}

// Outcomes reported to an Observer.
const (
	OutcomeOK          = "ok"
	OutcomeRejected    = "rejected"    // handler said the event can never succeed
	OutcomeOverloaded  = "overloaded"  // back-pressure
	OutcomeFailed      = "failed"      // transient handler failure, redelivered
	OutcomeMalformed   = "malformed"   // not a valid CloudEvent
	OutcomeUnsupported = "unsupported" // not a CloudEvent encoding we read (content type)
	OutcomeTooLarge    = "too_large"   // body over the size limit
	OutcomePanicked    = "panicked"    // handler panicked: a poison event, rejected
)

// NopObserver discards observations.
type NopObserver struct{}

// Observe implements Observer.
func (NopObserver) Observe(string, time.Duration) {}
