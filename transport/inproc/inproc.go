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

// Chan is the transport's core over any item type: a bounded queue whose
// items are acknowledged after completion. Queue is Chan over CloudEvents;
// the embedded mode's fan-out (pipeline) carries batches of tweets on it,
// without encoding them as events.
type Chan[T any] struct {
	opts Options
	ch   chan *delivery[T]
	seq  atomic.Uint64

	mu   sync.Mutex
	redo []*delivery[T] // handed to a Receive that ended before they were acked
}

type delivery[T any] struct {
	seq  uint64
	v    T
	done func(error) // called once with the final result
}

// NewChan returns an empty Chan.
func NewChan[T any](opts Options) *Chan[T] {
	opts.Buffer = cmp.Or(opts.Buffer, 64)
	opts.RetryDelay = cmp.Or(opts.RetryDelay, 10*time.Millisecond)
	opts.MaxRetryDelay = cmp.Or(opts.MaxRetryDelay, time.Second)
	opts.DrainTimeout = cmp.Or(opts.DrainTimeout, 10*time.Second)
	if opts.Observer == nil {
		opts.Observer = transport.NopObserver{}
	}
	return &Chan[T]{opts: opts, ch: make(chan *delivery[T], opts.Buffer)}
}

// Enqueue queues v, blocking while the buffer is full, and returns once it
// is queued; done is called once, when a receiver has finished v (nil, or
// the rejection). It returns ctx's error if ctx ends before v is queued
// (then done is not called).
func (c *Chan[T]) Enqueue(ctx context.Context, v T, done func(error)) error {
	d := &delivery[T]{seq: c.seq.Add(1), v: v, done: done}
	select {
	case c.ch <- d:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("inproc: enqueue: %w", ctx.Err())
	}
}

// Send queues items and returns when every one of them has been handled:
// nil when all were acked with nil, else the rejections (transient failures
// are redelivered, not reported). If ctx ends first it returns ctx's error;
// the items already queued stay queued.
func (c *Chan[T]) Send(ctx context.Context, items []T) error {
	results := make([]chan error, 0, len(items))
	for i, v := range items {
		r := make(chan error, 1)
		if err := c.Enqueue(ctx, v, func(err error) { r <- err }); err != nil {
			return fmt.Errorf("inproc: item %d of %d: %w", i+1, len(items), err)
		}
		results = append(results, r)
	}
	var errs []error
	for i, r := range results {
		select {
		case err := <-r:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			return fmt.Errorf("inproc: waiting for item %d of %d: %w", i+1, len(items), ctx.Err())
		}
	}
	return errors.Join(errs...)
}

// Queue is the in-process transport of CloudEvents: a Sender and a
// Receiver over one Chan.
type Queue struct{ c *Chan[cloudevents.Event] }

var (
	_ transport.Sender   = (*Queue)(nil)
	_ transport.Receiver = (*Queue)(nil)
)

// New returns an empty queue.
func New(opts Options) *Queue { return &Queue{NewChan[cloudevents.Event](opts)} }

// Send implements transport.Sender: it returns when every event is
// finished (see Chan.Send). A rejected event's error names it.
func (q *Queue) Send(ctx context.Context, events []cloudevents.Event) error {
	return q.c.Send(ctx, events)
}

// Receive implements transport.Receiver (see Chan.Receive); h runs under
// transport.Protect.
func (q *Queue) Receive(ctx context.Context, h transport.AckHandler) error {
	return q.c.Receive(ctx, transport.Protect(h))
}

// Close implements transport.Sender; a Queue holds nothing to release.
func (q *Queue) Close(context.Context) error { return nil }

// claim is one Receive's hold on a delivery. Whoever moves state from
// claimHeld first decides the delivery's fate: finished (acked or
// rejected) or returned to the queue; later acks are ignored.
type claim[T any] struct {
	d     *delivery[T]
	state atomic.Int32
}

const (
	claimHeld int32 = iota
	claimFinished
	claimReturned
)

// Receive hands each item to h until ctx ends, items returned by an
// earlier Receive first, then gives the in-flight ones DrainTimeout to be
// acked and returns nil; what is still unacked goes back to the queue for
// the next Receive. h acks each item once (later acks are ignored): nil or
// a rejection (transport.Classify) finishes it, any other error redelivers
// it after a back-off. Several Receives may run at once (workers). A panic
// in h is a permanent failure of its item (*transport.PanicError).
func (q *Chan[T]) Receive(ctx context.Context, h func(context.Context, T, func(error))) error {
	h = transport.ProtectFunc(h, nil)
	var (
		mu     sync.Mutex
		held   = map[*claim[T]]struct{}{}
		wg     sync.WaitGroup
		giveUp = func(c *claim[T]) { // back to the queue for the next Receive
			if c.state.CompareAndSwap(claimHeld, claimReturned) {
				q.requeue(c.d)
				mu.Lock()
				delete(held, c)
				mu.Unlock()
				wg.Done()
			}
		}
		finish = func(c *claim[T], err error) {
			if c.state.CompareAndSwap(claimHeld, claimFinished) {
				c.d.done(err)
				mu.Lock()
				delete(held, c)
				mu.Unlock()
				wg.Done()
			}
		}
	)
	deliver := func(d *delivery[T]) {
		c := &claim[T]{d: d}
		mu.Lock()
		held[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		start := time.Now()
		var attempt func(n int)
		attempt = func(n int) {
			h(ctx, d.v, func(err error) {
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
		left := make([]*claim[T], 0, len(held))
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

func (q *Chan[T]) requeue(d *delivery[T]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, _ := slices.BinarySearchFunc(q.redo, d.seq, func(x *delivery[T], s uint64) int { return cmp.Compare(x.seq, s) })
	q.redo = slices.Insert(q.redo, i, d)
}

func (q *Chan[T]) popRedo() *delivery[T] {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.redo) == 0 {
		return nil
	}
	d := q.redo[0]
	q.redo = q.redo[1:]
	return d
}
