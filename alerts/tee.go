package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

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

// Events turns the alerts into their CloudEvents (event.NewAlertEvent)
// and hands them to Send in one call: a transport sender in cluster mode
// (transport/kafka's Producer.Send, transport/cehttp's Sender.Send).
type Events struct {
	Send func(ctx context.Context, events []cloudevents.Event) error
}

// WriteAlerts implements Writer.
func (w Events) WriteAlerts(ctx context.Context, alerts []event.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	es := make([]cloudevents.Event, 0, len(alerts))
	for _, a := range alerts {
		e, err := event.NewAlertEvent(a)
		if err != nil {
			return err
		}
		es = append(es, e)
	}
	if err := w.Send(ctx, es); err != nil {
		return fmt.Errorf("alerts: send %d alert event(s): %w", len(es), err)
	}
	return nil
}

// Tee shows stored records to the engine and writes the alerts it raises to
// a Writer. It is a sink.Observer: attach it to the sink.Writer the
// aggregator writes through (sink.Options.Observers), which calls Stored
// with the records once they are durable, and closes it before the store.
//
// A pipeline that scores batches in parallel stores them out of event-time
// order: a replay at full speed stored 10% of 1.6M tweets more than 10 s of
// event time after a newer one, by up to 38 minutes. So stored records wait
// in a small buffer for Hold (wall clock, default 1 s) and reach the engine in event-time
// order; the engine's own lateness then only absorbs what is later still.
// Alerts are delayed by Hold, not by the event-time lateness.
//
// Alerts that cannot be written are kept and retried on the next batch and
// on Close, which reports them if they still fail: an alert is never
// dropped silently (the engine raises a coordination alert only once).
type Tee struct {
	eng  *Engine
	out  Writer
	opts TeeOptions

	// engMu serialises releases (popping held records, the engine, the
	// alert writes) so records reach the engine in order; it is taken
	// before mu.
	engMu   sync.Mutex
	pending []event.Alert // alerts not written yet; guarded by engMu
	batch   []sink.Record // reused by release; guarded by engMu

	// floor: alerts of windows starting before it are dropped (Rebuild's
	// warm-up); guarded by engMu.
	floor time.Time

	mu      sync.Mutex // guards held, seq and newest: the sink's writers only push
	held    heldRuns
	seq     uint64
	newest  int64 // the newest event time stored, Unix ns (EventHold)
	stop    chan struct{}
	stopped chan struct{}
}

// TeeOptions configure a Tee.
type TeeOptions struct {
	// Log receives alert and write-failure lines; nil discards.
	Log *slog.Logger
	// Hold is how long a stored record waits before the engine sees it
	// (default DefaultHold; negative: no wait, the engine runs inside
	// Stored).
	Hold time.Duration
	// EventHold, when positive, replaces Hold: a stored record waits until
	// a record EventHold newer in event time has been stored, then reaches
	// the engine from within Stored (no goroutine, no wall clock). The
	// engine then sees the same records in the same order however the
	// stream was cut into batches, interleaved across partitions or
	// delayed, as long as no record is stored more than EventHold behind
	// the newest: the cluster modes' setting, where partitions and a
	// restart reorder what is stored. The records of the last EventHold
	// wait for newer ones (a live stream always brings them).
	EventHold time.Duration
	// KeepOpen: Close writes the alerts already raised but neither passes
	// the held records to the engine nor flushes its open windows, because
	// the stream goes on after a restart: the next start rebuilds the
	// engine from the store (Rebuild). Without it Close ends the stream, as
	// at the end of an embedded replay.
	KeepOpen bool
	// MaxHeld bounds the waiting records (default 1,000,000); past it
	// Stored passes the oldest to the engine itself, which slows the
	// sink's writer down to the engine's pace (backpressure).
	MaxHeld int
	// Now is the wall clock (tests set it).
	Now func() time.Time
}

// DefaultHold is the default TeeOptions.Hold.
const DefaultHold = time.Second

var _ sink.Observer = (*Tee)(nil)

// NewTee returns an observer of stored records feeding eng. With a hold,
// the engine runs in a goroutine of its own, off the sink's write path;
// Close stops it.
func NewTee(eng *Engine, out Writer, opts TeeOptions) *Tee {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Hold == 0 {
		opts.Hold = DefaultHold
	}
	if opts.MaxHeld <= 0 {
		opts.MaxHeld = 1_000_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	t := &Tee{eng: eng, out: out, opts: opts}
	if opts.EventHold > 0 {
		return t
	}
	if opts.Hold > 0 {
		t.stop, t.stopped = make(chan struct{}), make(chan struct{})
		go t.tick()
	}
	return t
}

// tick passes held records to the engine once they have waited Hold.
func (t *Tee) tick() {
	defer close(t.stopped)
	tk := time.NewTicker(max(t.opts.Hold/8, 10*time.Millisecond))
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			t.release(ctx, false)
			cancel()
		}
	}
}

// Stored implements sink.Observer: it holds a copy of recs (the caller
// reuses them) for the engine.
func (t *Tee) Stored(ctx context.Context, recs []sink.Record) {
	now := t.opts.Now().UnixNano()
	t.mu.Lock()
	buf := t.held.spareBuf()
	t.mu.Unlock()
	kept := sortedCopy(buf, recs, func(int) bool { return false })
	t.mu.Lock()
	t.seq++
	t.held.add(kept, t.seq, now)
	if n := len(kept); n > 0 {
		t.newest = max(t.newest, kept[n-1].Tweet.CreatedAt.UnixNano())
	}
	over := t.held.n > t.opts.MaxHeld
	t.mu.Unlock()
	if over || t.opts.Hold < 0 || t.opts.EventHold > 0 {
		t.release(ctx, false)
	}
}

// release passes to the engine, oldest event first, the held records that
// waited Hold (all of them when all is set, and as many as exceed MaxHeld),
// and writes the alerts.
func (t *Tee) release(ctx context.Context, all bool) {
	t.engMu.Lock()
	defer t.engMu.Unlock()
	due := t.opts.Now().Add(-t.opts.Hold).UnixNano()
	batch := t.batch[:0]
	t.mu.Lock()
	eventDue := t.newest - int64(t.opts.EventHold)
	for t.held.n > 0 {
		if !all && t.held.n <= t.opts.MaxHeld {
			if t.opts.EventHold > 0 && t.held.runs[0].at > eventDue {
				break
			}
			if t.opts.EventHold <= 0 && t.held.runs[0].arrived > due {
				break
			}
		}
		batch = append(batch, t.held.pop())
	}
	t.mu.Unlock()
	alerts := t.eng.Observe(batch)
	clear(batch) // do not keep the records' texts alive until the next release
	t.batch = batch[:0]
	if all {
		alerts = append(alerts, t.eng.Flush()...)
	}
	if !t.floor.IsZero() {
		alerts = slices.DeleteFunc(alerts, func(a event.Alert) bool { return a.WindowStart.Before(t.floor) })
	}
	if len(alerts) > 0 || len(t.pending) > 0 {
		t.write(ctx, alerts) //nolint:errcheck // kept in pending and retried
	}
}

// write writes pending alerts and new ones; on failure keeps them all.
// Caller holds t.engMu.
func (t *Tee) write(ctx context.Context, alerts []event.Alert) error {
	batch := append(t.pending, alerts...)
	if err := t.out.WriteAlerts(ctx, batch); err != nil {
		t.pending = batch
		t.opts.Log.Warn("alerts: write failed, will retry", "alerts", len(batch), "err", err)
		return err
	}
	t.pending = nil
	for _, a := range alerts {
		t.opts.Log.Info("alert", "kind", a.Kind, "id", a.ID, "message", a.Message)
	}
	return nil
}

// Rebuild shows the engine records stored before a restart, read back from
// the store in event-time order, as if they had just been stored: the
// engine's state (open windows, baselines, groups, networks) is rebuilt
// from what was stored instead of being checkpointed, so it needs no
// format of its own. Alerts of windows starting before floor are dropped
// from now on: the first part of a rebuild only warms the state up (its
// alerts were raised before the restart, from a longer history); the
// alerts of the rest are raised again with the same ids (stores upsert
// them, event consumers deduplicate on the id), so a crash between raising
// an alert and writing it loses nothing. Records redelivered after the
// restart count once (the engine ignores a tweet it has seen). It returns
// the records read.
func (t *Tee) Rebuild(ctx context.Context, recs iter.Seq2[sink.Record, error], floor time.Time) (int, error) {
	t.engMu.Lock()
	t.floor = floor
	t.engMu.Unlock()
	batch := make([]sink.Record, 0, 256)
	n := 0
	for r, err := range recs {
		if err != nil {
			return n, fmt.Errorf("alerts: rebuild from the store: %w", err)
		}
		batch = append(batch, r)
		n++
		if len(batch) == cap(batch) {
			t.Stored(ctx, batch)
			batch = batch[:0]
		}
	}
	t.Stored(ctx, batch)
	return n, ctx.Err()
}

// Close passes every held record to the engine, flushes its open windows
// and writes their alerts and any pending ones (with KeepOpen, only the
// pending ones). It does not close the store
// (sink.Writer closes it after its observers, so an alerts table in the
// same SQLite file is still open here).
func (t *Tee) Close(ctx context.Context) error {
	if t.stop != nil {
		close(t.stop)
		<-t.stopped
	}
	if !t.opts.KeepOpen {
		t.release(ctx, true)
	}
	t.engMu.Lock()
	var werr error
	if len(t.pending) > 0 {
		if werr = t.write(ctx, nil); werr != nil {
			werr = fmt.Errorf("alerts: %d alert(s) not written: %w", len(t.pending), werr)
		}
	}
	t.engMu.Unlock()
	if st := t.eng.Stats(); st.Late > 0 {
		t.opts.Log.Warn("alerts: tweets stored too late for their window's checks (raise --alert-lateness)",
			"late", st.Late, "observed", st.Observed)
	}
	return werr
}

// heldRuns holds the stored batches waiting for the engine and merges them
// by event time: each batch (a run) is sorted when it arrives (a scoring
// worker's batch usually is already), and a binary heap of runs, keyed by
// each run's first record, gives the oldest record next. A heap of single
// records (before) was as deep as the records held, 15 levels for a
// second of a fast replay, and sifted every record up and down; here it is
// as deep as the batches held (about 7 levels), and a run that stays the
// oldest while its records are taken costs one comparison with each of the
// two children per record.
//
// Records come out by event time, then tweet id, then by the batch's
// arrival, then by their place in the batch: the order of one heap of all
// held records keyed by (event time, tweet id, arrival sequence).
type heldRuns struct {
	runs []heldRun
	n    int // records held
	// spare holds the cleared arrays of released runs for new batches:
	// a fresh copy of every batch was most of what the Tee allocates.
	spare [][]sink.Record
}

// maxSpareRuns bounds the spare arrays (about a second of batches).
const maxSpareRuns = 256

// spareBuf returns a spare array for a batch's records (nil if none).
func (q *heldRuns) spareBuf() []sink.Record {
	n := len(q.spare)
	if n == 0 {
		return nil
	}
	b := q.spare[n-1]
	q.spare[n-1] = nil
	q.spare = q.spare[:n-1]
	return b
}

// heldRun is one stored batch's records not yet released.
type heldRun struct {
	at      int64  // event time of recs[0], Unix ns (the heap key)
	seq     uint64 // arrival order of the batch
	arrived int64  // wall time, Unix ns
	recs    []sink.Record
	buf     []sink.Record // all of the batch: recs is its tail
}

// sortedCopy returns the records of recs that are not skipped, in
// event-time order (stable; see heldRuns), in dst if it has room. The
// aggregator's batches interleave several scorers' streams, so they are
// seldom in order: sorting small keys and copying each record once is
// cheaper than sorting records.
func sortedCopy(dst, recs []sink.Record, skip func(i int) bool) []sink.Record {
	keys := make([]heldKey, 0, len(recs))
	for i := range recs {
		if !skip(i) {
			keys = append(keys, heldKey{at: recs[i].Tweet.CreatedAt.UnixNano(), id: recs[i].Tweet.ID, i: i})
		}
	}
	if !slices.IsSortedFunc(keys, heldKey.compare) {
		slices.SortFunc(keys, heldKey.compare)
	}
	if cap(dst) < len(keys) {
		dst = make([]sink.Record, 0, len(keys))
	}
	for _, k := range keys {
		dst = append(dst, recs[k.i])
	}
	return dst
}

// heldKey sorts a batch: event time, then tweet id (so tweets of the same
// instant reach the engine in one order whichever batch or partition
// brought them), then place in the batch.
type heldKey struct {
	at int64
	id string
	i  int
}

func (a heldKey) compare(b heldKey) int {
	return cmp.Or(cmp.Compare(a.at, b.at), strings.Compare(a.id, b.id), cmp.Compare(a.i, b.i))
}

// add holds recs, which must be in event-time order (it keeps the slice),
// arrived at wall time arrived; seq must grow from call to call.
func (q *heldRuns) add(recs []sink.Record, seq uint64, arrived int64) {
	if len(recs) == 0 {
		return
	}
	q.n += len(recs)
	q.runs = append(q.runs, heldRun{at: recs[0].Tweet.CreatedAt.UnixNano(), seq: seq, arrived: arrived, recs: recs, buf: recs})
	for i := len(q.runs) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.runs[i], q.runs[p] = q.runs[p], q.runs[i]
		i = p
	}
}

func (q *heldRuns) less(i, j int) bool {
	a, b := &q.runs[i], &q.runs[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if c := strings.Compare(a.recs[0].Tweet.ID, b.recs[0].Tweet.ID); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

// pop removes and returns the oldest held record; q must not be empty.
// The oldest run is q.runs[0] (its arrived field decides when it is due).
func (q *heldRuns) pop() sink.Record {
	top := &q.runs[0]
	r := top.recs[0]
	top.recs = top.recs[1:]
	q.n--
	if len(top.recs) > 0 {
		top.at = top.recs[0].Tweet.CreatedAt.UnixNano()
	} else {
		if len(q.spare) < maxSpareRuns {
			clear(top.buf) // the records were copied out: keep no text alive
			q.spare = append(q.spare, top.buf[:0])
		}
		last := len(q.runs) - 1
		q.runs[0] = q.runs[last]
		q.runs[last] = heldRun{}
		q.runs = q.runs[:last]
	}
	// Sift the root down to its place: usually it stays.
	for i, n := 0, len(q.runs); ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q.runs[i], q.runs[m] = q.runs[m], q.runs[i]
		i = m
	}
	return r
}
