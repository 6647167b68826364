// Package functions is the function core: it turns tweets into one model's
// metadata. It knows no transport. The embedded pipeline calls ScoreTweets
// with whole batches; the Knative and Kafka services call Handle once per
// CloudEvent, and concurrent Handle calls are micro-batched into one Score
// call (one ONNX Runtime run), bounded by MaxBatch and MaxDelay.
//
// Errors from Handle say what a transport should answer: a *event.FieldError
// (errors.As) is poison input that can never succeed (HTTP 400, do not
// retry); ErrOverloaded and ErrClosed mean "not now" (HTTP 429/503, retry);
// anything else is a transient failure (HTTP 500, retry).
package functions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/microbatch"
	"github.com/tweetflow/tweetflow/model"
)

// Scorer is what a Function needs of a model; *scorer.Model implements it
// (checked in this package's tests: the function core must not link ONNX
// Runtime, since the aggregator's build reaches this package).
type Scorer interface {
	Name() string
	Version() string
	Labels() []string
	Score(ctx context.Context, texts []string, out []model.Prediction) error
}

var (
	// ErrOverloaded: the queue of events waiting for a batch is full.
	ErrOverloaded = errors.New("functions: overloaded, retry later")
	// ErrClosed: the function is shutting down.
	ErrClosed = errors.New("functions: closed")
)

// Options bound Handle's micro-batching. Zero values take the defaults.
type Options struct {
	// MaxBatch is the most events scored in one Score call. Default 64.
	MaxBatch int
	// MaxDelay is the longest the first event of a batch waits for others.
	// Default 2ms.
	MaxDelay time.Duration
	// MaxQueue is the most events waiting for a batch; past it Handle
	// returns ErrOverloaded at once. Default 16 × MaxBatch.
	MaxQueue int
	// Workers is the number of Score calls in flight at once. Default 1.
	Workers int
	// CacheSize bounds the cache of recent results by (model version,
	// text): most of a real stream is retweets carrying the retweeted
	// tweet's text, which then costs a lookup instead of a model call.
	// Default 8192 texts; negative turns the cache off.
	CacheSize int
}

// Function scores tweets with one model. It is safe for concurrent use.
type Function struct {
	s     Scorer
	opts  Options
	preds sync.Pool   // []model.Prediction, reused across batches
	cache *scoreCache // nil when off
	// scored counts the texts the model scored (CacheStats.Scored).
	scored atomic.Int64

	mu     sync.RWMutex // guards closed and sends on reqs
	closed bool
	reqs   chan *request
	done   chan struct{}
}

type request struct {
	tweet event.Tweet
	reply chan result // buffered 1: a worker never blocks on a caller gone
}

type result struct {
	md  event.Metadata
	err error
}

// New returns a Function for s and starts its batching workers.
func New(s Scorer, opts Options) *Function {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 64
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 2 * time.Millisecond
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 16 * opts.MaxBatch
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 8192
	}
	f := &Function{s: s, opts: opts, reqs: make(chan *request, opts.MaxQueue), done: make(chan struct{}), cache: newScoreCache(opts.CacheSize)}
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(f.worker)
	}
	go func() { wg.Wait(); close(f.done) }()
	return f
}

// Name is the model's name.
func (f *Function) Name() string { return f.s.Name() }

// Version is the model's version.
func (f *Function) Version() string { return f.s.Version() }

// ScoreTweets scores a batch of tweets in one Score call and returns one
// metadata per tweet, in order. It is the direct path for callers that
// already have batches (the embedded pipeline).
func (f *Function) ScoreTweets(ctx context.Context, tweets []event.Tweet) ([]event.Metadata, error) {
	out := make([]event.Metadata, len(tweets))
	if err := f.scoreInto(ctx, tweets, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *Function) scoreInto(ctx context.Context, tweets []event.Tweet, out []event.Metadata) error {
	if len(tweets) == 0 {
		return nil
	}
	name, version := f.s.Name(), f.s.Version()
	// got[i] is tweet i's prediction: from the cache, or scored below (a
	// text repeated in the batch is scored once).
	got := make([]model.Prediction, len(tweets))
	texts := make([]string, 0, len(tweets))
	var slot []int // slot[i]: index in texts of tweet i's text, -1 for a hit
	var first map[string]int
	if f.cache == nil {
		for i := range tweets {
			texts = append(texts, tweets[i].Text)
		}
	} else {
		slot = make([]int, len(tweets))
		for i := range tweets {
			t := tweets[i].Text
			if p, ok := f.cache.get(version, t); ok {
				got[i], slot[i] = p, -1
				continue
			}
			if first == nil {
				first = make(map[string]int)
			}
			j, seen := first[t]
			if !seen {
				j = len(texts)
				first[t] = j
				texts = append(texts, t)
			}
			slot[i] = j
		}
	}
	if len(texts) > 0 {
		preds, _ := f.preds.Get().([]model.Prediction)
		if cap(preds) < len(texts) {
			preds = make([]model.Prediction, len(texts))
		}
		preds = preds[:len(texts)]
		defer f.preds.Put(preds) //nolint:staticcheck // a slice header is fine here; the backing arrays are what we keep
		if err := f.s.Score(ctx, texts, preds); err != nil {
			return fmt.Errorf("model %s: score %d tweets: %w", f.s.Name(), len(texts), err)
		}
		f.scored.Add(int64(len(texts)))
		if f.cache == nil {
			copy(got, preds)
		} else {
			for j := range preds {
				// The cache keeps its own Probs: preds go back to the pool,
				// and the scorer writes the next batch into their slices.
				c := preds[j]
				c.Probs = append([]float32(nil), c.Probs...)
				f.cache.add(version, texts[j], c)
			}
			for i, j := range slot {
				if j >= 0 {
					got[i] = preds[j]
				}
			}
		}
	}
	labels := f.s.Labels()
	for i, p := range got {
		probs := make(map[string]float64, len(labels))
		for k, l := range labels {
			if k < len(p.Probs) {
				probs[l] = float64(p.Probs[k])
			}
		}
		out[i] = event.Metadata{
			TweetID: tweets[i].ID, Model: name, ModelVersion: version,
			Value: p.Value, Label: p.Label, Probabilities: probs, Tweet: tweets[i],
		}
	}
	return nil
}

// Handle turns one tweet event into this model's metadata event. Concurrent
// calls are scored together (see Options). See the package comment for
// what its errors mean.
func (f *Function) Handle(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	tw, err := event.DecodeTweet(&e)
	if err != nil {
		return nil, err // *event.FieldError: poison
	}
	req := &request{tweet: tw, reply: make(chan result, 1)}
	f.mu.RLock()
	if f.closed {
		f.mu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case f.reqs <- req:
	default:
		f.mu.RUnlock()
		return nil, ErrOverloaded
	}
	f.mu.RUnlock()
	select {
	case r := <-req.reply:
		if r.err != nil {
			return nil, r.err
		}
		out, err := event.NewMetadataEvent(r.md)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", f.s.Name(), err)
		}
		return &out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// worker gathers queued requests into batches and scores them.
func (f *Function) worker() {
	batch := make([]*request, 0, f.opts.MaxBatch)
	tweets := make([]event.Tweet, 0, f.opts.MaxBatch)
	out := make([]event.Metadata, f.opts.MaxBatch)
	g := microbatch.New(f.reqs, f.opts.MaxBatch, f.opts.MaxDelay)
	for {
		var ok bool
		if batch, ok = g.Next(batch); !ok {
			return
		}
		tweets = tweets[:0]
		for _, r := range batch {
			tweets = append(tweets, r.tweet)
		}
		// The batch is scored even if some callers have gone: their
		// contexts are theirs, and the others are waiting.
		err := f.scoreInto(context.Background(), tweets, out[:len(batch)])
		for i, r := range batch {
			if err != nil {
				r.reply <- result{err: err}
			} else {
				r.reply <- result{md: out[i]}
			}
		}
	}
}

// Close stops accepting events and waits until every queued one is scored
// and answered, or ctx ends.
func (f *Function) Close(ctx context.Context) error {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.reqs)
	}
	f.mu.Unlock()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("functions %s: close: %w", f.s.Name(), ctx.Err())
	}
}
