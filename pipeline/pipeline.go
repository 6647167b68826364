// Package pipeline wires the cores in one process, as `tweetflow run` does:
// batches of tweets (from the producer, through Send) go to every model
// (functions.Function.ScoreTweets, in parallel across models and cores), and
// each model's metadata goes to the aggregator, which writes the store.
//
// Every queue is a bounded channel and the aggregator's Add blocks at its
// cap, so a slow store slows the models, which slows Send, which slows the
// producer: memory stays bounded whatever the input size.
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
// QueueBatches×models+Workers jobs are. Past that a full table would wait
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
	in     chan []event.Tweet
	jobs   chan job
	ctx    context.Context // scoring and Add: not the caller's, so Ctrl-C drains
	cancel context.CancelFunc
	done   chan struct{}

	closeOnce sync.Once
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
		in:     make(chan []event.Tweet, queue),
		jobs:   make(chan job, queue*len(cfg.Functions)),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		models: map[string]ModelStats{},
	}
	go p.dispatch()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(p.work)
	}
	go func() { wg.Wait(); close(p.done) }()
	return p, nil
}

// Send queues a batch for every model; it blocks while the queue is full.
// It takes ownership of tweets.
func (p *Pipeline) Send(ctx context.Context, tweets []event.Tweet) error {
	if len(tweets) == 0 {
		return nil
	}
	select {
	case p.in <- tweets:
		p.tweets.Add(int64(len(tweets)))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return errors.New("pipeline: aborted")
	}
}

// dispatch fans each batch out to one job per model. Jobs of one batch are
// queued together, so the models of a tweet run close in time and its
// aggregator entry completes quickly.
func (p *Pipeline) dispatch() {
	defer close(p.jobs)
	for batch := range p.in {
		for _, fn := range p.cfg.Functions {
			select {
			case p.jobs <- job{batch, fn}:
			case <-p.ctx.Done():
				return
			}
		}
	}
}

func (p *Pipeline) work() {
	for j := range p.jobs {
		if err := p.run(j); err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
		}
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
	p.closeOnce.Do(func() { close(p.in) })
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancel()
		<-p.done
		return fmt.Errorf("pipeline: close: %w", ctx.Err())
	}
	p.cancel()
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
