// Package inproc is the in-process transport: a bounded queue of CloudEvents
// between goroutines of one process that, unlike a bare channel (or sdk-go's
// gochan, which finishes a message once it is on the channel), acknowledges
// after completion. Send returns when the receiver has finished every event
// it sent; an event still unacknowledged when a Receive returns is handed to
// the next Receive of the same Queue (at-least-once), and a transient failure
// is redelivered after a back-off, as the Kafka consumer does.
package inproc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/transport"
)

// Options configures a Queue.
type Options struct {
	// Buffer is how many sent events may wait for a receiver; Send blocks
	// beyond it (back-pressure). Default 64.
	Buffer int
	// RetryDelay is the first back-off before a failed event is handed to
	// the handler again; it doubles up to MaxRetryDelay. Defaults 10ms, 1s.
	RetryDelay, MaxRetryDelay time.Duration
	// DrainTimeout bounds how long a Receive that is ending waits for its
	// in-flight events to be acked; the rest go back to the queue. Default 10s.
	DrainTimeout time.Duration
	// Observer is told every outcome. Nil discards.
	Observer transport.Observer
}

// Queue is one in-process source of events: a Sender and a Receiver.
type Queue struct {
	opts Options
	ch   chan *delivery
	seq  atomic.Uint64

	mu   sync.Mutex
	redo []*delivery // handed to a Receive that ended before they were acked
}

var (
	_ transport.Sender   = (*Queue)(nil)
	_ transport.Receiver = (*Queue)(nil)
)

type delivery struct {
	seq  uint64
	e    cloudevents.Event
	done chan error // buffered 1: the final result, written once
}

// New returns an empty queue.
func New(opts Options) *Queue {
	opts.Buffer = cmp.Or(opts.Buffer, 64)
	opts.RetryDelay = cmp.Or(opts.RetryDelay, 10*time.Millisecond)
	opts.MaxRetryDelay = cmp.Or(opts.MaxRetryDelay, time.Second)
	opts.DrainTimeout = cmp.Or(opts.DrainTimeout, 10*time.Second)
	if opts.Observer == nil {
		opts.Observer = transport.NopObserver{}
	}
	return &Queue{opts: opts, ch: make(chan *delivery, opts.Buffer)}
}

// Send queues events and returns when every one of them has been handled:
// nil when all were acked with nil, else the rejections (transient failures
// are redelivered, not reported). If ctx ends first it returns ctx's error;
// the events already queued stay queued.
func (q *Queue) Send(ctx context.Context, events []cloudevents.Event) error {
	ds := make([]*delivery, 0, len(events))
	for _, e := range events {
		d := &delivery{seq: q.seq.Add(1), e: e, done: make(chan error, 1)}
		select {
		case q.ch <- d:
			ds = append(ds, d)
		case <-ctx.Done():
			return fmt.Errorf("inproc: send event %s: %w", e.ID(), ctx.Err())
		}
	}
	var errs []error
	for _, d := range ds {
		select {
		case err := <-d.done:
			if err != nil {
				errs = append(errs, fmt.Errorf("inproc: event %s: %w", d.e.ID(), err))
			}
		case <-ctx.Done():
			return fmt.Errorf("inproc: waiting for event %s: %w", d.e.ID(), ctx.Err())
		}
	}
	return errors.Join(errs...)
}

// Close implements transport.Sender; a Queue holds nothing to release.
func (q *Queue) Close(context.Context) error { return nil }

// claim is one Receive's hold on a delivery. Whoever moves state from
// claimHeld first decides the delivery's fate: finished (acked or
// rejected) or returned to the queue; later acks are ignored.
type claim struct {
	d     *delivery
	state atomic.Int32
}

const (
	claimHeld int32 = iota
	claimFinished
	claimReturned
)

// Receive implements transport.Receiver. Each event is handed to h (under
// transport.Protect, so a panic is a permanent failure); events returned by
// an earlier Receive come first.
func (q *Queue) Receive(ctx context.Context, h transport.AckHandler) error {
	h = transport.Protect(h)
	var (
		mu     sync.Mutex
		held   = map[*claim]struct{}{}
		wg     sync.WaitGroup
		giveUp = func(c *claim) { // back to the queue for the next Receive
			if c.state.CompareAndSwap(claimHeld, claimReturned) {
				q.requeue(c.d)
				mu.Lock()
				delete(held, c)
				mu.Unlock()
				wg.Done()
			}
		}
		finish = func(c *claim, err error) {
			if c.state.CompareAndSwap(claimHeld, claimFinished) {
				c.d.done <- err
				mu.Lock()
				delete(held, c)
				mu.Unlock()
				wg.Done()
			}
		}
	)
	deliver := func(d *delivery) {
		c := &claim{d: d}
		mu.Lock()
		held[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		start := time.Now()
		var attempt func(n int)
		attempt = func(n int) {
			h(ctx, d.e, func(err error) {
				kind := transport.Classify(err)
				switch {
				case err == nil:
					q.opts.Observer.Observe(transport.OutcomeOK, time.Since(start))
					finish(c, nil)
				case kind == transport.Reject:
					outcome := transport.OutcomeRejected
					var pe *transport.PanicError
					if errors.As(err, &pe) {
						outcome = transport.OutcomePanicked
					}
					q.opts.Observer.Observe(outcome, time.Since(start))
					finish(c, err)
				case ctx.Err() != nil:
					q.opts.Observer.Observe(transport.OutcomeFailed, time.Since(start))
					giveUp(c)
				default:
					outcome := transport.OutcomeFailed
					if kind == transport.Overload {
						outcome = transport.OutcomeOverloaded
					}
					q.opts.Observer.Observe(outcome, time.Since(start))
					delay := min(q.opts.RetryDelay<<min(n, 16), q.opts.MaxRetryDelay)
					go func() {
						t := time.NewTimer(delay)
						defer t.Stop()
						select {
						case <-ctx.Done():
							giveUp(c)
						case <-t.C:
							attempt(n + 1)
						}
					}()
				}
			})
		}
		attempt(0)
	}
	for ctx.Err() == nil {
		if d := q.popRedo(); d != nil {
			deliver(d)
			continue
		}
		select {
		case d := <-q.ch:
			deliver(d)
		case <-ctx.Done():
		}
	}
	// Bounded drain: acks still arriving are taken; the rest go back.
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	t := time.NewTimer(q.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		mu.Lock()
		left := make([]*claim, 0, len(held))
		for c := range held {
			left = append(left, c)
		}
		mu.Unlock()
		for _, c := range left {
			giveUp(c)
		}
	}
	return nil
}

func (q *Queue) requeue(d *delivery) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, _ := slices.BinarySearchFunc(q.redo, d.seq, func(x *delivery, s uint64) int { return cmp.Compare(x.seq, s) })
	q.redo = slices.Insert(q.redo, i, d)
}

func (q *Queue) popRedo() *delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.redo) == 0 {
		return nil
	}
	d := q.redo[0]
	q.redo = q.redo[1:]
	return d
}
