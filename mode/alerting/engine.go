package alerting

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/microbatch"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/transport"
)

// EngineConfig configures the alert engine apart from the aggregator
// (`tweetflow kafka alerts`, the Knative alerts function): it reads the
// record events the aggregators emit (event.TypeRecord) instead of
// observing a writer of its own.
type EngineConfig struct {
	// Alerts is the engine (ClusterDefaults: event-time hold, KeepOpen,
	// rebuild from the store at start). Off is refused: this process
	// does nothing else.
	Alerts Config
	// ModelsDir and Models give the models' thresholds (as the aggregator
	// that stores them).
	ModelsDir string
	Models    []string
	// Store is the aggregators' store: the engine reads its last
	// Alerts.Rebuild back at start and writes the alerts into its alerts
	// table or index. It writes no tweet.
	Store core.StoreConfig
	// Batch bounds the records shown to the engine in one call (default
	// 512); Delay is the longest the first of them waits for more
	// (default 5 ms). Handing over batches, not single records, is what
	// keeps the engine's per-call cost (the hold's sort and heap, a lock)
	// small per record.
	Batch int
	Delay time.Duration
	// OnObserved, if set, is called with each batch of records after the
	// engine saw it and before their events are acked: the signal tests
	// wait on.
	OnObserved func(recs []sink.Record)
	Logger     *slog.Logger
}

// Engine is the alert engine as a consumer of record events: Handler takes
// each event, the records reach the alerts.Tee in batches, and an event is
// acked once the Tee holds its record. The Tee's state is not
// checkpointed: at start it is rebuilt from the store, which holds every
// acked record (the aggregator emits a record only after it is durable),
// so acking on receipt loses nothing across a restart, and what is
// redelivered after one counts once.
type Engine struct {
	tee        *alerts.Tee
	st         *core.Store
	onObserved func([]sink.Record)
	log        *slog.Logger

	mu     sync.RWMutex // held for reading while sending on in; Close takes it to close in
	closed bool
	in     chan pendingRecord
	done   chan struct{}
	batch  int
	delay  time.Duration
}

type pendingRecord struct {
	rec sink.Record
	ack func(error)
}

// ErrEngineClosed answers events that arrive while the engine closes.
var ErrEngineClosed = errors.New("alert engine: closing")

// OpenEngine opens the store of c, rebuilds the engine from it and starts
// taking records.
func OpenEngine(ctx context.Context, c EngineConfig) (*Engine, error) {
	if c.Alerts.Off {
		return nil, errors.New("alert engine: ALERTS=off, but this process runs nothing else: run it only where alerts are wanted")
	}
	log := cmp.Or(c.Logger, slog.Default())
	c.Alerts.Logger = log
	specs, err := core.Specs(c.ModelsDir, c.Models)
	if err != nil {
		return nil, err
	}
	st, err := c.Store.Open(ctx, specs, log)
	if err != nil {
		return nil, err
	}
	tee, err := newTee(ctx, c.Alerts, model.Views(specs), st)
	if err != nil {
		return nil, errors.Join(err, st.Close(context.WithoutCancel(ctx)))
	}
	e := &Engine{
		tee: tee, st: st, onObserved: c.OnObserved, log: log,
		in: make(chan pendingRecord, 1024), done: make(chan struct{}),
		batch: cmp.Or(c.Batch, 512), delay: cmp.Or(c.Delay, 5*time.Millisecond),
	}
	go e.run()
	return e, nil
}

// Handler decodes a record event and hands its record to the engine; the
// ack follows once the engine holds it. A malformed event is rejected with
// its *event.FieldError (dead-lettered, never retried).
func (e *Engine) Handler() transport.AckHandler {
	return func(ctx context.Context, ev cloudevents.Event, ack func(error)) {
		r, err := event.DecodeRecord(&ev)
		if err != nil {
			ack(err)
			return
		}
		e.Take(ctx, FromEventRecord(r), ack)
	}
}

// Take hands one stored record to the engine; ack is called once the
// engine holds it (nil), or with a transient error when ctx ends or the
// engine closes first.
func (e *Engine) Take(ctx context.Context, rec sink.Record, ack func(error)) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		ack(transport.NotReady(ErrEngineClosed))
		return
	}
	select {
	case e.in <- pendingRecord{rec, ack}:
	case <-ctx.Done():
		ack(transport.NotReady(fmt.Errorf("alert engine: %w", ctx.Err())))
	}
}

// run shows the records to the engine in batches and acks them.
func (e *Engine) run() {
	defer close(e.done)
	g := microbatch.New(e.in, e.batch, e.delay)
	var (
		batch []pendingRecord
		recs  []sink.Record
		ok    bool
	)
	for {
		if batch, ok = g.Next(batch); !ok {
			return
		}
		recs = recs[:0]
		for _, p := range batch {
			recs = append(recs, p.rec)
		}
		// The alerts of this batch are written within the Tee's call; a
		// failed write is kept there and retried with the next batch.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		e.tee.Stored(ctx, recs)
		cancel()
		if e.onObserved != nil {
			e.onObserved(recs)
		}
		for _, p := range batch {
			p.ack(nil)
		}
		clear(recs) // keep no text alive until the next batch
		clear(batch)
	}
}

// Close stops taking records (what arrives now is answered as not ready,
// so it is redelivered), lets the engine see the ones taken, writes the
// alerts already raised (the open windows stay open: the next start
// rebuilds them, Config.KeepOpen) and closes the store.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.in)
	e.mu.Unlock()
	select {
	case <-e.done:
	case <-ctx.Done():
		return fmt.Errorf("alert engine: records taken but not seen when the close's bound passed: %w", ctx.Err())
	}
	return errors.Join(e.tee.Close(ctx), e.st.Close(ctx))
}
