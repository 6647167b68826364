package shutdown_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tweetflow/tweetflow/mode/shutdown"
)

// The first SIGINT cancels the context; the second closes the abort channel,
// which ends a drain at once however long its timeout.
func TestSecondSignalAborts(t *testing.T) {
	ctx, release := shutdown.Notify(context.Background(), syscall.SIGINT)
	defer release()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	drain, cancel := shutdown.DrainContext(ctx, time.Hour)
	defer cancel()
	select {
	case <-shutdown.Abort(ctx):
		t.Fatal("aborted after one signal")
	case <-drain.Done():
		t.Fatal("the drain ended with the first signal")
	default:
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-drain.Done() // the test's own timeout is the failure if it never ends
	if !errors.Is(drain.Err(), context.Canceled) {
		t.Fatalf("drain ended with %v, want canceled (not the hour's deadline)", drain.Err())
	}
}

// endsAtDeadline waits for ctx to end and checks that it ended, deadline
// exceeded, exactly bound after from (in a bubble, so exactly).
func endsAtDeadline(t *testing.T, ctx context.Context, from time.Time, bound time.Duration) {
	t.Helper()
	<-ctx.Done()
	if got := time.Since(from); got != bound {
		t.Fatalf("ended %v after the bound started, want %v", got, bound)
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", ctx.Err())
	}
}

// Without a second signal the drain ends at its timeout, not before.
func TestDrainTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		drain, stop := shutdown.DrainContext(ctx, 30*time.Second)
		defer stop()
		endsAtDeadline(t, drain, start, 30*time.Second)
	})
}

// A drain that starts before any stop (the input ended) is not bounded:
// the bound starts at the stop, then ends it within timeout.
func TestDrainBoundStartsAtTheStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		drain, stop := shutdown.DrainContext(ctx, 30*time.Second)
		defer stop()
		time.Sleep(time.Hour) // fake time: a long, healthy flush
		synctest.Wait()
		if err := drain.Err(); err != nil {
			t.Fatalf("drain ended before any stop: %v", err)
		}
		cancel() // Ctrl-C during the flush
		stopped := time.Now()
		endsAtDeadline(t, drain, stopped, 30*time.Second)
	})
}

// A service's close after a failure is bounded though nothing stopped it.
func TestCloseContextBoundStartsNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		closing, stop := shutdown.CloseContext(context.Background(), 30*time.Second)
		defer stop()
		endsAtDeadline(t, closing, start, 30*time.Second)
	})
}
