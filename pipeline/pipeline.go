// Package pipeline wires the cores in one process, as `tweetflow run` does:
// batches of tweets (from the producer, through Send) go to every model
// (functions.Function.ScoreTweets, in parallel across models and cores), and
// each model's metadata goes to the aggregator, which writes the store.
//
// The fan-out rides on the in-process transport (transport/inproc): Send
// queues one job per model for each batch, Workers receivers score them, and
// a job is acknowledged when its metadata is handed to the aggregator. Its
// queue is bounded and the aggregator's Add blocks at its cap, so a slow
// store slows the models, which slows Send, which slows the producer: memory
// stays bounded whatever the input size. A scorer that panics fails its job
// (*transport.PanicError) instead of the process.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/inproc"
)

// Config of a pipeline.
type Config struct {
	Functions  []*functions.Function
	Aggregator *aggregator.Aggregator
	// Workers is the number of concurrent ScoreTweets calls. Default
	// GOMAXPROCS.
	Workers int
	// QueueBatches is the capacity, in batches, of the input queue and of
	// the per-model job queue. Default 4.
	QueueBatches int
}

// MinPending is the smallest aggregator MaxPending that can never stall
// this pipeline with batches of batchSize: a tweet stays pending only
// while one of its model jobs is queued or running, and at most
// QueueBatches×models (the queue) + Workers jobs are. Past that a full table would wait
// for the join timeout instead of a partner job.
func MinPending(cfg Config, batchSize int) int {
	w, q := cfg.defaults()
	return (q*len(cfg.Functions) + w + 2) * batchSize
}

func (cfg Config) defaults() (workers, queue int) {
	workers, queue = cfg.Workers, cfg.QueueBatches
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = 4
	}
	return workers, queue
}

// ModelStats counts one model's results in this pipeline.
type ModelStats struct {
	Scored int64
	Sum    float64
}

// Mean is the mean value, 0 without results.
func (m ModelStats) Mean() float64 {
	if m.Scored == 0 {
		return 0
	}
	return m.Sum / float64(m.Scored)
}

// Stats of a pipeline.
type Stats struct {
	// Tweets accepted by Send.
	Tweets int64
	Models map[string]ModelStats
	// Acked and AckFailed count metadata acked by the aggregator (stored)
	// and acked with an error (not stored).
	Acked, AckFailed int64
	// Rejected counts metadata the aggregator refused (invalid).
	Rejected int64
}

// Pipeline is a running pipeline; it implements producer.Sender.
type Pipeline struct {
	cfg    Config
	jobs   *inproc.Chan[job]
	ctx    context.Context // scoring and Add: not the caller's, so Ctrl-C drains
	cancel context.CancelFunc
	done   chan struct{} // closed when every receiver has returned

	inflight  sync.WaitGroup // jobs queued and not yet finished
	closing   atomic.Bool
	tweets    atomic.Int64
	acked     atomic.Int64
	ackFailed atomic.Int64
	rejected  atomic.Int64

	mu     sync.Mutex
	models map[string]ModelStats
	err    error
}

type job struct {
	tweets []event.Tweet
	fn     *functions.Function
}

// Start starts the pipeline's workers.
func Start(cfg Config) (*Pipeline, error) {
	if len(cfg.Functions) == 0 {
		return nil, errors.New("pipeline: no models")
	}
	if cfg.Aggregator == nil {
		return nil, errors.New("pipeline: no aggregator")
	}
	workers, queue := cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		cfg:    cfg,
		jobs:   inproc.NewChan[job](inproc.Options{Buffer: queue * len(cfg.Functions)}),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		models: map[string]ModelStats{},
	}
	var wg sync.WaitGroup
	for range workers {
		// One receiver per worker: each scores one job at a time.
		wg.Go(func() { _ = p.jobs.Receive(ctx, p.work) })
	}
	go func() { wg.Wait(); close(p.done) }()
	return p, nil
}

// Send queues a job per model for the batch; it blocks while the queue is
// full. The jobs of one batch are queued together, so the models of a tweet
// run close in time and its aggregator entry completes quickly. It takes
// ownership of tweets.
func (p *Pipeline) Send(ctx context.Context, tweets []event.Tweet) error {
	if len(tweets) == 0 {
		return nil
	}
	if p.closing.Load() {
		return errors.New("pipeline: send after close")
	}
	// An abort (Close's ctx ended) must free a Send blocked on a full
	// queue that nobody reads any more.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()
	for _, fn := range p.cfg.Functions {
		p.inflight.Add(1)
		if err := p.jobs.Enqueue(ctx, job{tweets, fn}, p.finished); err != nil {
			p.inflight.Done()
			if p.ctx.Err() != nil {
				return errors.New("pipeline: aborted")
			}
			return err
		}
	}
	p.tweets.Add(int64(len(tweets)))
	return nil
}

// work scores one job and acks it. A failure is recorded for Close and is
// the job's final result (Permanent: the transport must not redeliver a
// batch whose scoring failed).
func (p *Pipeline) work(_ context.Context, j job, ack func(error)) {
	if err := p.run(j); err != nil {
		p.fail(err)
		ack(transport.Permanent(err))
		return
	}
	ack(nil)
}

// finished is the ack of one job. Only a panic (recovered by the
// transport, *transport.PanicError) reaches it unrecorded.
func (p *Pipeline) finished(err error) {
	defer p.inflight.Done()
	var pe *transport.PanicError
	if errors.As(err, &pe) {
		p.fail(fmt.Errorf("pipeline: scoring panicked: %w", err))
	}
}

// fail keeps the first error for Close.
func (p *Pipeline) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

func (p *Pipeline) ack(err error) {
	if err != nil {
		p.ackFailed.Add(1)
	} else {
		p.acked.Add(1)
	}
}

func (p *Pipeline) run(j job) error {
	mds, err := j.fn.ScoreTweets(p.ctx, j.tweets)
	if err != nil {
		return err
	}
	var sum float64
	var n int64
	var firstErr error
	for i := range mds {
		if err := p.cfg.Aggregator.Add(p.ctx, mds[i], p.ack); err != nil {
			var fe *event.FieldError
			if errors.As(err, &fe) {
				p.rejected.Add(1)
				if firstErr == nil {
					firstErr = fmt.Errorf("model %s: %w", j.fn.Name(), err)
				}
				continue
			}
			return fmt.Errorf("model %s: aggregator: %w", j.fn.Name(), err)
		}
		sum += mds[i].Value
		n++
	}
	p.mu.Lock()
	m := p.models[j.fn.Name()]
	m.Scored += n
	m.Sum += sum
	p.models[j.fn.Name()] = m
	p.mu.Unlock()
	return firstErr
}

// Close stops input and waits until every accepted batch is scored and
// handed to the aggregator (whose Close then writes what is pending). It
// returns the first scoring or aggregator error, if any. If ctx ends first,
// the pipeline is aborted and the remaining batches are dropped.
func (p *Pipeline) Close(ctx context.Context) error {
	p.closing.Store(true)
	finished := make(chan struct{})
	go func() { p.inflight.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		p.cancel()
		<-p.done
		return fmt.Errorf("pipeline: close: %w", ctx.Err())
	}
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats {
	p.mu.Lock()
	models := make(map[string]ModelStats, len(p.models))
	for k, v := range p.models {
		models[k] = v
	}
	p.mu.Unlock()
	return Stats{
		Tweets: p.tweets.Load(), Models: models,
		Acked: p.acked.Load(), AckFailed: p.ackFailed.Load(), Rejected: p.rejected.Load(),
	}
}
