package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// Writer stores or forwards alerts: the SQLite alerts table (alerts/store),
// the Elasticsearch alerts index in cluster mode, or CloudEvents (Events).
// Writing the same alert twice must be harmless: alert ids are derived from
// their content, so stores upsert by id.
type Writer interface {
	WriteAlerts(ctx context.Context, alerts []event.Alert) error
}

// Writers writes to each writer in turn; it returns the errors joined.
type Writers []Writer

// WriteAlerts implements Writer.
func (ws Writers) WriteAlerts(ctx context.Context, alerts []event.Alert) error {
	var errs []error
	for _, w := range ws {
		errs = append(errs, w.WriteAlerts(ctx, alerts))
	}
	return errors.Join(errs...)
}

// Events turns each alert into its CloudEvent (event.NewAlertEvent) and
// hands it to Send: a transport sender in cluster mode.
type Events struct {
	Send func(ctx context.Context, e cloudevents.Event) error
}

// WriteAlerts implements Writer.
func (w Events) WriteAlerts(ctx context.Context, alerts []event.Alert) error {
	for _, a := range alerts {
		e, err := event.NewAlertEvent(a)
		if err != nil {
			return err
		}
		if err := w.Send(ctx, e); err != nil {
			return fmt.Errorf("alert %s: send: %w", a.ID, err)
		}
	}
	return nil
}

// Tee is a sink.Driver that stores records through another driver and then
// shows the stored ones to the engine; the alerts it raises go to a Writer.
// It is the one hook the pipeline needs: wrap the sink with NewTee.
//
// Alerts that cannot be written are kept and retried on the next batch and
// on Close, which reports them if they still fail: an alert is never
// dropped silently (the engine raises a coordination alert only once).
type Tee struct {
	next sink.Driver
	eng  *Engine
	out  Writer
	log  *slog.Logger

	mu      sync.Mutex // serialises writes to out and guards pending
	pending []event.Alert
}

var _ sink.Driver = (*Tee)(nil)

// NewTee returns a driver writing to next and observing into eng. log may
// be nil.
func NewTee(next sink.Driver, eng *Engine, out Writer, log *slog.Logger) *Tee {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tee{next: next, eng: eng, out: out, log: log}
}

// WriteBatch implements sink.Driver: it returns next's result unchanged.
// Only records next reported as stored are observed.
func (t *Tee) WriteBatch(ctx context.Context, recs []sink.Record) error {
	err := t.next.WriteBatch(ctx, recs)
	stored := recs
	if err != nil {
		var be *sink.BatchError
		if !errors.As(err, &be) {
			return err // nothing stored
		}
		stored = make([]sink.Record, 0, len(recs))
		for i, r := range recs {
			if be.Failed[i] == nil {
				stored = append(stored, r)
			}
		}
	}
	if alerts := t.eng.Observe(stored); len(alerts) > 0 || t.hasPending() {
		t.write(ctx, alerts)
	}
	return err
}

func (t *Tee) hasPending() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending) > 0
}

// write writes pending alerts and new ones; on failure keeps them all.
func (t *Tee) write(ctx context.Context, alerts []event.Alert) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	batch := append(t.pending, alerts...)
	if err := t.out.WriteAlerts(ctx, batch); err != nil {
		t.pending = batch
		t.log.Warn("alerts: write failed, will retry", "alerts", len(batch), "err", err)
		return err
	}
	t.pending = nil
	for _, a := range alerts {
		t.log.Info("alert", "kind", a.Kind, "id", a.ID, "message", a.Message)
	}
	return nil
}

// Close flushes the engine's open windows, writes their alerts and any
// pending ones, and closes next.
func (t *Tee) Close(ctx context.Context) error {
	werr := t.write(ctx, t.eng.Flush())
	if werr != nil {
		werr = fmt.Errorf("alerts: %d alert(s) not written: %w", len(t.pending), werr)
	}
	return errors.Join(werr, t.next.Close(ctx))
}
