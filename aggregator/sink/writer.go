package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// DefaultWriteBudget is how long one Write may take, retries included, when
// Options.WriteBudget is not set. It stays below Knative's 30 s delivery
// timeout (the Trigger's and the data plane's default): an aggregator answers
// before the broker gives up on the request and redelivers it while the first
// write is still retrying.
const DefaultWriteBudget = 20 * time.Second

// Options configure a Writer. Zero values take the defaults.
type Options struct {
	// Models are the configured models: a result of another model is an
	// invalid record (one store would add a column for it, another would
	// refuse it). Empty: any valid model name.
	Models []string
	// WriteBudget bounds one Write, every attempt and wait included.
	// Default DefaultWriteBudget.
	WriteBudget time.Duration
	// BackoffMin is the wait before the first retry, doubled each time up to
	// BackoffMax. Defaults 100 ms and 2 s.
	BackoffMin, BackoffMax time.Duration
	// Observers see the records each Write stored, in order, after the
	// driver made them durable.
	Observers []Observer
	// DeadLetter receives the records that can never be stored (invalid, or
	// refused for good by the store). Nil: they are only reported.
	DeadLetter DeadLetter
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Observer sees stored records: the alert engine, metrics, progress.
// Stored is called from Write, after the records are durable and before
// Write returns; it must return quickly and must not keep recs (copy what
// it needs). With several goroutines calling Write it is called
// concurrently.
//
// An Observer that also has a Close(context.Context) error method is closed
// by Writer.Close, before the driver.
type Observer interface {
	Stored(ctx context.Context, recs []Record)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, recs []Record)

// Stored implements Observer.
func (f ObserverFunc) Stored(ctx context.Context, recs []Record) { f(ctx, recs) }

// Writer is the portable sink: every record goes through one Validate and
// one retry loop, whatever the driver. Drivers do not retry (beyond what a
// single request needs), so retries never stack under the delivery timeout.
// It is safe for concurrent use if the driver is.
type Writer struct {
	d    Driver
	opts Options
}

// NewWriter returns a Writer over d.
func NewWriter(d Driver, o Options) (*Writer, error) {
	if d == nil {
		return nil, errors.New("sink: nil driver")
	}
	for _, m := range o.Models {
		if !event.ValidModelName(m) {
			return nil, fmt.Errorf("sink: invalid model name %q", m)
		}
	}
	o.Models = slices.Clone(o.Models)
	o.Observers = slices.Clone(o.Observers)
	if o.WriteBudget <= 0 {
		o.WriteBudget = DefaultWriteBudget
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 100 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 2 * time.Second
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffMin)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Writer{d: d, opts: o}, nil
}

// Driver returns the driver the Writer writes to.
func (w *Writer) Driver() Driver { return w.d }

// Write stores recs: it validates each record, writes the valid ones,
// retries those the driver reports as transiently failed (with capped
// exponential backoff, within the write budget and ctx), sends the ones that
// failed for good to the dead-letter output, and shows the stored ones to
// the observers.
//
// It returns nil when every record is stored, or a *BatchError naming the
// others by index into recs: Permanent (invalid, or refused by the store;
// errors.Is(err, ErrDeadLettered) when the dead-letter output has it) or
// Transient (not stored within the budget, or ctx ended: retry later). A
// Permanent record whose dead-letter write failed is reported Transient,
// so that it is retried rather than lost.
func (w *Writer) Write(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	failed := map[int]error{}
	var permanent []int
	todo := make([]int, 0, len(recs)) // indexes into recs still to write
	for i, rec := range recs {
		if err := Validate(rec, w.opts.Models); err != nil {
			failed[i] = err
			permanent = append(permanent, i)
			continue
		}
		todo = append(todo, i)
	}

	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, w.opts.WriteBudget)
	defer cancel()
	backoff := w.opts.BackoffMin
	sub := make([]Record, 0, len(todo))
	attempt := 0
	for len(todo) > 0 {
		attempt++
		sub = sub[:0]
		for _, i := range todo {
			sub = append(sub, recs[i])
			delete(failed, i) // the last attempt's error, if any
		}
		err := w.d.WriteBatch(wctx, sub)
		var again []int
		var be *BatchError
		switch {
		case err == nil:
		case errors.As(err, &be):
			for k, i := range todo {
				ferr := be.Failed[k] // nil: stored
				if ferr == nil {
					continue
				}
				failed[i] = ferr
				if ErrorCode(ferr) == Permanent {
					permanent = append(permanent, i)
				} else {
					again = append(again, i)
				}
			}
		default:
			for _, i := range todo {
				failed[i] = err
			}
			if ErrorCode(err) == Permanent {
				permanent = append(permanent, todo...)
			} else {
				again = todo
			}
		}
		todo = again
		if len(todo) == 0 {
			break
		}
		// Give up when the next attempt could not start within the budget:
		// the caller (Knative, Kafka) redelivers later.
		deadline, _ := wctx.Deadline()
		if wctx.Err() != nil || time.Until(deadline) < backoff {
			break
		}
		w.opts.Logger.Warn("sink: write failed, retrying", "records", len(todo), "attempt", attempt, "wait", backoff, "err", failed[todo[0]])
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
		}
		backoff = min(backoff*2, w.opts.BackoffMax)
	}
	why := "the write budget"
	if dl, ok := ctx.Deadline(); ctx.Err() != nil || (ok && dl.Before(start.Add(w.opts.WriteBudget))) {
		why = "the caller's context"
	}
	for _, i := range todo {
		failed[i] = &Error{Code: Transient, Err: fmt.Errorf("tweet %s: not stored within %s (%d attempt(s) in %v): %w",
			recs[i].Tweet.ID, why, attempt, time.Since(start).Round(time.Millisecond), bare(failed[i]))}
	}
	if len(permanent) > 0 {
		w.deadLetter(ctx, recs, permanent, failed)
	}
	if len(w.opts.Observers) > 0 && len(failed) < len(recs) {
		stored := recs
		if len(failed) > 0 {
			stored = make([]Record, 0, len(recs)-len(failed))
			for i, rec := range recs {
				if failed[i] == nil {
					stored = append(stored, rec)
				}
			}
		}
		for _, o := range w.opts.Observers {
			o.Stored(ctx, stored)
		}
	}
	if len(failed) > 0 {
		return &BatchError{Failed: failed}
	}
	return nil
}

// deadLetter puts the permanently failed records into the dead-letter output
// and rewrites their errors in failed.
func (w *Writer) deadLetter(ctx context.Context, recs []Record, idx []int, failed map[int]error) {
	slices.Sort(idx)
	for _, i := range idx {
		w.opts.Logger.Warn("sink: record can never be stored", "tweet", recs[i].Tweet.ID, "err", failed[i], "dead_letter", w.opts.DeadLetter != nil)
	}
	if w.opts.DeadLetter == nil {
		return
	}
	now := time.Now().UTC()
	letters := make([]Letter, len(idx))
	for k, i := range idx {
		letters[k] = Letter{Time: now, TweetID: recs[i].Tweet.ID, Code: Permanent.String(), Reason: failed[i].Error(), Record: recs[i]}
	}
	if err := w.opts.DeadLetter.Put(ctx, letters); err != nil {
		w.opts.Logger.Error("sink: dead-letter write failed", "records", len(letters), "err", err)
		for _, i := range idx {
			failed[i] = &Error{Code: Transient, Err: fmt.Errorf("%w; and the dead-letter write failed: %w", bare(failed[i]), err)}
		}
		return
	}
	for _, i := range idx {
		failed[i] = &Error{Code: Permanent, Err: &deadLettered{bare(failed[i])}}
	}
}

// bare drops err's outer *Error, whose code the caller replaces, so that
// messages do not repeat "permanent: permanent: ...".
func bare(err error) error {
	if e, ok := err.(*Error); ok {
		return e.Err
	}
	return err
}

// Close closes the observers that have a Close method (in order: the alert
// engine writes its last alerts while the store is still open), then the
// driver.
func (w *Writer) Close(ctx context.Context) error {
	var errs []error
	for _, o := range w.opts.Observers {
		if c, ok := o.(interface{ Close(context.Context) error }); ok {
			errs = append(errs, c.Close(ctx))
		}
	}
	errs = append(errs, w.d.Close(ctx))
	return errors.Join(errs...)
}
