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

// DrainContext returns the context of a drain after ctx's stop: it is not
// cancelled by ctx, ends after timeout (0: no bound), and ends at once when
// ctx's abort channel closes (the second signal).
func DrainContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	d, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if timeout > 0 {
		var cancelT context.CancelFunc
		d, cancelT = context.WithTimeout(d, timeout)
		prev := cancel
		cancel = func() { cancelT(); prev() }
	}
	if abort := Abort(ctx); abort != nil {
		go func() {
			select {
			case <-abort:
				cancel()
			case <-d.Done():
			}
		}()
	}
	return d, cancel
}
