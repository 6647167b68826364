// Package shutdown is the two-step stop every mode shares: the first
// SIGINT/SIGTERM asks for a graceful stop (stop reading, drain what was read,
// bounded by a drain timeout); the second aborts the drain at once. Without
// it a hung store made Ctrl-C hang, since the drain ignored the stop.
package shutdown

import (
	"context"
	"os"
	"os/signal"
	"time"
)

type abortKey struct{}

// WithAbort returns ctx carrying abort: closing it ends every drain
// started from the returned context (DrainContext).
func WithAbort(ctx context.Context, abort <-chan struct{}) context.Context {
	return context.WithValue(ctx, abortKey{}, abort)
}

// Abort returns the abort channel ctx carries (nil, which never fires,
// when it carries none).
func Abort(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(abortKey{}).(<-chan struct{})
	return ch
}

// Notify returns a context cancelled at the first of sigs (the graceful
// stop) and carrying an abort channel closed at the second. release stops
// listening and cancels the context.
func Notify(parent context.Context, sigs ...os.Signal) (ctx context.Context, release func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	abort := make(chan struct{})
	released := make(chan struct{})
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-released:
			return
		}
		select {
		case <-ch:
			close(abort)
		case <-released:
		}
	}()
	return WithAbort(ctx, abort), func() {
		signal.Stop(ch)
		close(released)
		cancel()
	}
}

// DrainContext returns the context of a drain: it is not cancelled by ctx;
// its bound of timeout (0: no bound) starts at ctx's stop, so a drain that
// begins at the normal end of the input is not cut short by a long flush
// (before, a 30 s bound counted from the input's end failed slow but healthy
// runs), while Ctrl-C during it still ends it within timeout; and it ends at
// once when ctx's abort channel closes (the second signal). Err is
// context.DeadlineExceeded when the bound passed and context.Canceled when
// the drain was aborted or cancel was called.
func DrainContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	d, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	abort := Abort(ctx) // nil, which never fires, without one
	go func() {
		select {
		case <-ctx.Done(): // the stop: the bound starts now
		case <-abort:
			cancel(context.Canceled)
			return
		case <-d.Done():
			return
		}
		var expired <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-expired:
			cancel(context.DeadlineExceeded)
		case <-abort:
			cancel(context.Canceled)
		case <-d.Done():
		}
	}()
	return drainCtx{d}, func() { cancel(context.Canceled) }
}

// CloseContext is DrainContext for a service, whose drain begins at a stop
// or at a failure (a consumer that died, a start that failed): its bound
// starts now, whether or not ctx has stopped. The second signal still
// aborts it.
func CloseContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	stopped, stop := context.WithCancel(ctx)
	stop() // the bound starts now
	return DrainContext(stopped, timeout)
}

// drainCtx reports why the drain ended (its cause) as its Err, as a
// context.WithTimeout would.
type drainCtx struct{ context.Context }

func (c drainCtx) Err() error {
	if c.Context.Err() == nil {
		return nil
	}
	return context.Cause(c.Context)
}
