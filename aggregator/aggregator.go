// Package aggregator is the join core: it gathers the metadata of each tweet
// from every configured model, by tweet id, and writes one record per tweet
// through a sink.Writer when all models have answered or the join timeout
// passes. Retries, validation, dead letters and observers of stored records
// are the Writer's: the aggregator writes each batch once and acks its inputs
// with the outcome.
//
// It knows nothing of transports. The embedded pipeline calls Add directly;
// the Knative and Kafka services call it from their handlers and turn the
// ack into an HTTP status or an offset commit. See docs/ARCHITECTURE.md,
// "The join": memory is bounded (Add blocks at MaxPending), every input is
// acknowledged only after the record holding it is durably written, and the
// store merges, so duplicates and partial-then-late results are harmless.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/microbatch"
)

// ErrClosed is returned by Add after Close has begun.
var ErrClosed = errors.New("aggregator: closed")

// Options configure an Aggregator. Zero values take the defaults.
type Options struct {
	// Models are the configured models: a tweet is complete when each of
	// them has answered. Required.
	Models []string
	// JoinTimeout is how long a tweet waits for its missing models before it
	// is written as a partial record (TimedOut). Default 10s.
	JoinTimeout time.Duration
	// MaxPending caps the tweets held in memory (waiting for models, or
	// waiting for their write). Add of a new tweet blocks at the cap.
	// Default 10000.
	MaxPending int
	// BatchSize is the most records per WriteBatch. Default 512.
	BatchSize int
	// FlushInterval is the longest a ready record waits for its batch to
	// fill. Default 50ms.
	FlushInterval time.Duration
	// Writers is the number of concurrent Write calls. Default 1. More
	// let a driver's CPU work outside its lock (e.g. an alert engine
	// observing one batch while SQLite writes the next) overlap; batches may
	// then be stored out of order, which the merge makes harmless.
	Writers int
	// Recent is how many written tweets the aggregator remembers (which
	// models each had), so that a redelivered result of a tweet already
	// stored is acked at once instead of waiting JoinTimeout in a new entry.
	// Default MaxPending; negative turns it off.
	Recent int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	if len(o.Models) == 0 {
		return errors.New("aggregator: no models configured")
	}
	for _, m := range o.Models {
		if !event.ValidModelName(m) {
			return fmt.Errorf("aggregator: invalid model name %q", m)
		}
	}
	if o.JoinTimeout <= 0 {
		o.JoinTimeout = 10 * time.Second
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 50 * time.Millisecond
	}
	if o.Recent == 0 {
		o.Recent = o.MaxPending
	}
	if o.Writers <= 0 {
		o.Writers = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Stats are counters since New.
type Stats struct {
	// Records written (each holds one tweet's results gathered since its
	// last write), complete ones, and those written after the join timeout
	// or at Close with models missing.
	Written, Complete, TimedOut int64
	// Duplicates are metadata whose (tweet, model) was already pending.
	Duplicates int64
	// Failed records: their inputs were acked with an error.
	Failed int64
	// Pending tweets now (in memory, waiting for models or the write).
	Pending int
}

// Writer stores the aggregator's records: a *sink.Writer. Write returns
// nil when every record is stored, a *sink.BatchError naming the failed ones
// by index, or another error when none was stored; it does its own retries
// within its own time bound.
type Writer interface {
	Write(ctx context.Context, recs []sink.Record) error
}

// Aggregator joins metadata by tweet id. It is safe for concurrent use.
type Aggregator struct {
	w    Writer
	opts Options

	mu      sync.Mutex
	pending map[string]*entry
	// writing holds the entries handed to the writer and not yet written,
	// by tweet id: a result for a model such an entry already has is a
	// duplicate (the same tweet read twice, adjacent in event time, or a
	// redelivery), not the start of a new, partial record.
	writing map[string]*entry
	recent  recentSet // tweets written lately, with their models
	head    *entry    // oldest pending entry (earliest deadline)
	tail    *entry
	count   int           // pending + queued for the writer + being written
	space   chan struct{} // closed when count drops while someone waits
	waiting int
	closed  bool
	stats   Stats

	ready      chan *entry // to the writer; cap MaxPending, so never full
	stopExpiry chan struct{}
	writerDone chan struct{}
	expiryDone chan struct{}
	cancel     context.CancelFunc // aborts the writes in flight at Close's deadline
}

type entry struct {
	tweet   event.Tweet
	results []sink.Result
	acks    []func(error)
	// late are the acks of duplicates that came while the entry was being
	// written: they get that write's outcome.
	late     []func(error)
	deadline time.Time
	timedOut bool
	// links in the deadline list; entries are appended in creation order and
	// JoinTimeout is fixed, so the list is sorted by deadline.
	prev, next *entry
}

// New starts an aggregator writing through w.
func New(w Writer, opts Options) (*Aggregator, error) {
	if w == nil {
		return nil, errors.New("aggregator: nil writer")
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	opts.Models = slices.Clone(opts.Models)
	ctx, cancel := context.WithCancel(context.Background())
	a := &Aggregator{
		w:          w,
		opts:       opts,
		pending:    make(map[string]*entry),
		writing:    make(map[string]*entry),
		recent:     newRecentSet(opts.Recent),
		space:      make(chan struct{}),
		ready:      make(chan *entry, opts.MaxPending),
		stopExpiry: make(chan struct{}),
		writerDone: make(chan struct{}),
		expiryDone: make(chan struct{}),
		cancel:     cancel,
	}
	var wg sync.WaitGroup
	for range opts.Writers {
		wg.Go(func() { a.writer(ctx) })
	}
	go func() { wg.Wait(); close(a.writerDone) }()
	go a.expiry()
	return a, nil
}

// Add joins md into its tweet's pending record. ack is called exactly once:
// with nil after the record holding md is durably written, or with the error
// that prevented it. If Add returns an error, md was not accepted and ack is
// not called: a *event.FieldError for invalid metadata or a model that is not
// configured, ErrClosed, or the context's error when ctx ended while Add
// waited for room (backpressure).
func (a *Aggregator) Add(ctx context.Context, md event.Metadata, ack func(error)) error {
	id := event.MetadataID(md.TweetID, md.Model)
	if err := md.Validate(id); err != nil {
		return err
	}
	if !slices.Contains(a.opts.Models, md.Model) {
		// Alone it could never complete a tweet, and beside the others it
		// would make their record invalid (sink.Validate).
		return &event.FieldError{EventID: id, Field: "data.model", Reason: fmt.Sprintf("model %s is not configured (configured: %v)", md.Model, a.opts.Models)}
	}
	res := sink.Result{Model: md.Model, Version: md.ModelVersion, Value: md.Value, Label: md.Label}
	a.mu.Lock()
	for {
		if a.closed {
			a.mu.Unlock()
			return ErrClosed
		}
		if e, ok := a.pending[md.TweetID]; ok {
			a.join(e, md, res, ack)
			a.mu.Unlock()
			return nil
		}
		if w, ok := a.writing[md.TweetID]; ok && w.hasModel(md.Model) {
			// Its record is being written: the duplicate is acked with the
			// outcome of that write (a failed write acks it with the error,
			// so a redelivery is still joined after).
			a.stats.Duplicates++
			if ack != nil {
				w.late = append(w.late, ack)
			}
			a.mu.Unlock()
			return nil
		}
		if a.recent.has(md.TweetID, md.Model) {
			// Already durably written: a redelivery changes nothing.
			a.stats.Duplicates++
			a.mu.Unlock()
			if ack != nil {
				ack(nil)
			}
			return nil
		}
		if a.count < a.opts.MaxPending {
			break
		}
		// Full: wait for a write to make room. Existing tweets (above) never
		// wait, so the models still due for a pending tweet always get in.
		space := a.space
		a.waiting++
		a.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			a.mu.Lock()
			a.waiting--
			a.mu.Unlock()
			return ctx.Err()
		}
		a.mu.Lock()
		a.waiting--
	}
	e := &entry{tweet: md.Tweet, deadline: time.Now().Add(a.opts.JoinTimeout)}
	if e.tweet.ID == "" {
		e.tweet.ID = md.TweetID
	}
	a.pending[md.TweetID] = e
	a.count++
	a.link(e)
	a.join(e, md, res, ack)
	a.mu.Unlock()
	return nil
}

// join adds one result to a pending entry. Caller holds a.mu.
func (a *Aggregator) join(e *entry, md event.Metadata, res sink.Result, ack func(error)) {
	if ack != nil {
		e.acks = append(e.acks, ack)
	}
	if e.tweet.Text == "" && md.Tweet.Text != "" {
		e.tweet = md.Tweet
	}
	if e.hasModel(res.Model) {
		a.stats.Duplicates++ // at-least-once delivery: the first result stands
		return
	}
	e.results = append(e.results, res)
	for _, m := range a.opts.Models {
		if !e.hasModel(m) {
			return
		}
	}
	a.toWriter(e)
}

func (e *entry) hasModel(model string) bool {
	return slices.ContainsFunc(e.results, func(r sink.Result) bool { return r.Model == model })
}

// toWriter moves a pending entry to the writer. Caller holds a.mu.
func (a *Aggregator) toWriter(e *entry) {
	delete(a.pending, e.tweet.ID)
	a.unlink(e)
	a.writing[e.tweet.ID] = e
	a.ready <- e // never blocks: len(ready) <= count <= MaxPending = cap
}

func (a *Aggregator) link(e *entry) {
	e.prev = a.tail
	if a.tail != nil {
		a.tail.next = e
	} else {
		a.head = e
	}
	a.tail = e
}

func (a *Aggregator) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		a.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		a.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// expiry writes entries whose join timeout passed as partial records.
func (a *Aggregator) expiry() {
	defer close(a.expiryDone)
	tick := min(max(a.opts.JoinTimeout/10, 5*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-a.stopExpiry:
			return
		case now := <-t.C:
			a.mu.Lock()
			for a.head != nil && !a.head.deadline.After(now) {
				e := a.head
				e.timedOut = true
				a.toWriter(e)
			}
			a.mu.Unlock()
		}
	}
}

// writer batches ready entries into WriteBatch calls and acks their inputs.
func (a *Aggregator) writer(ctx context.Context) {
	g := microbatch.New(a.ready, a.opts.BatchSize, a.opts.FlushInterval)
	batch := make([]*entry, 0, a.opts.BatchSize)
	for {
		var ok bool
		if batch, ok = g.Next(batch); !ok {
			return
		}
		a.write(ctx, batch)
	}
}

func (a *Aggregator) write(ctx context.Context, batch []*entry) {
	recs := make([]sink.Record, len(batch))
	for i, e := range batch {
		recs[i] = sink.Record{Tweet: e.tweet, Results: e.results, TimedOut: e.timedOut}
	}
	errs := a.writeOnce(ctx, recs)
	var stored int
	var complete, timedOut, failed int64
	for i, e := range batch {
		err := errs[i]
		if err != nil {
			failed++
			a.opts.Logger.Error("aggregator: record not stored", "tweet", e.tweet.ID, "code", sink.ErrorCode(err), "err", err)
		} else {
			stored++
			if e.timedOut {
				timedOut++
			} else {
				complete++
			}
		}
		for _, ack := range e.acks {
			ack(err)
		}
	}
	var late []func()
	a.mu.Lock()
	a.stats.Written += int64(stored)
	a.stats.Complete += complete
	a.stats.TimedOut += timedOut
	a.stats.Failed += failed
	a.count -= len(batch)
	for i, e := range batch {
		if errs[i] == nil {
			for _, r := range e.results {
				a.recent.add(e.tweet.ID, r.Model)
			}
		}
		// Another entry of the same tweet may be in flight since.
		if a.writing[e.tweet.ID] == e {
			delete(a.writing, e.tweet.ID)
		}
		for _, ack := range e.late {
			err := errs[i]
			late = append(late, func() { ack(err) })
		}
		e.late = nil
	}
	if a.waiting > 0 {
		close(a.space)
		a.space = make(chan struct{})
	}
	a.mu.Unlock()
	for _, ack := range late {
		ack()
	}
}

// writeOnce writes recs through the Writer (which retries) and returns one
// error per record (nil = stored).
func (a *Aggregator) writeOnce(ctx context.Context, recs []sink.Record) []error {
	errs := make([]error, len(recs))
	err := a.w.Write(ctx, recs)
	var be *sink.BatchError
	switch {
	case err == nil:
	case errors.As(err, &be):
		for i := range errs {
			errs[i] = be.Failed[i]
		}
	default:
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

// Stats returns the counters.
func (a *Aggregator) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Pending = a.count
	return s
}

// Close stops accepting metadata, writes every pending tweet (incomplete
// ones as partial records) and waits for the writes. If ctx ends first,
// the writes in flight stop and the remaining inputs are acked with an
// error. Close does not close the Writer.
func (a *Aggregator) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	a.closed = true
	close(a.space) // wake blocked Adds: they see closed
	a.space = make(chan struct{})
	a.mu.Unlock()

	close(a.stopExpiry)
	<-a.expiryDone
	a.mu.Lock()
	for a.head != nil {
		e := a.head
		e.timedOut = true
		a.toWriter(e)
	}
	close(a.ready)
	a.mu.Unlock()

	select {
	case <-a.writerDone:
		a.cancel()
		return nil
	case <-ctx.Done():
		a.cancel()
		<-a.writerDone
		return fmt.Errorf("aggregator: close: %w", ctx.Err())
	}
}

// recentSet remembers the models of the last n tweets written, in a ring.
type recentSet struct {
	models map[string][]string
	ring   []string
	next   int
}

func newRecentSet(n int) recentSet {
	if n <= 0 {
		return recentSet{}
	}
	return recentSet{models: make(map[string][]string, n), ring: make([]string, n)}
}

func (r *recentSet) has(id, model string) bool {
	return r.ring != nil && slices.Contains(r.models[id], model)
}

func (r *recentSet) add(id, model string) {
	if r.ring == nil {
		return
	}
	if ms, ok := r.models[id]; ok {
		if !slices.Contains(ms, model) {
			r.models[id] = append(ms, model)
		}
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.models, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.models[id] = []string{model}
}
