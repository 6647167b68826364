package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/tweetflow/tweetflow/transport"
)

// ConsumerOptions configures a Consumer.
type ConsumerOptions struct {
	// MaxInFlight bounds the delivered, unacked records per partition claim;
	// at the bound the claim stops reading (back-pressure). Default 512.
	MaxInFlight int
	// RetryDelay is the first back-off before a failed event is handed to
	// the handler again; it doubles up to MaxRetryDelay. Defaults 100ms, 10s.
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// DrainTimeout bounds how long a claim that is ending (rebalance,
	// shutdown) waits for in-flight events to be acked, so their offsets are
	// committed rather than redelivered. Default 10s.
	DrainTimeout time.Duration
	// FromNewest starts a group with no committed offset at the end of the
	// topic instead of the beginning.
	FromNewest bool
	// DeadLetter receives records that can never be handled (not a
	// CloudEvent, or rejected by the handler). Nil: they are logged and
	// skipped. A dead-letter failure is retried like a handler failure.
	DeadLetter DeadLetter
	// Observer is told every outcome; Logger logs failures.
	Observer transport.Observer
	Logger   *slog.Logger
}

// Consumer reads CloudEvents from topics as a consumer group. Each record is
// handed to an AckHandler; its offset is committed once it and every record
// before it in its partition are acked.
type Consumer struct {
	group  sarama.ConsumerGroup
	topics []string
	opts   ConsumerOptions
}

// ConsumerConfig sets the consumer group settings on top of base.
func ConsumerConfig(base *sarama.Config, fromNewest bool) *sarama.Config {
	c := *base
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	if fromNewest {
		c.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	c.Consumer.Offsets.AutoCommit.Enable = true
	c.Consumer.Offsets.AutoCommit.Interval = time.Second
	c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	// A claim drains in-flight events before it returns (DrainTimeout), so
	// the rebalance timeout must leave room for that.
	c.Consumer.Group.Rebalance.Timeout = 60 * time.Second
	c.Consumer.Fetch.Default = 1 << 20
	c.ChannelBufferSize = 1024
	return &c
}

// NewConsumer joins group on the cluster and will read topics.
func NewConsumer(cfg Config, group string, topics []string, opts ConsumerOptions) (*Consumer, error) {
	base, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	cg, err := sarama.NewConsumerGroup(cfg.Brokers, group, ConsumerConfig(base, opts.FromNewest))
	if err != nil {
		return nil, fmt.Errorf("kafka: consumer group %s: %w", group, err)
	}
	return NewConsumerFromGroup(cg, topics, opts), nil
}

// NewConsumerFromGroup uses an existing consumer group (configured with
// ConsumerConfig). The Consumer closes it when Run returns.
func NewConsumerFromGroup(cg sarama.ConsumerGroup, topics []string, opts ConsumerOptions) *Consumer {
	opts.MaxInFlight = positiveOr(opts.MaxInFlight, 512)
	opts.RetryDelay = positiveOr(opts.RetryDelay, 100*time.Millisecond)
	opts.MaxRetryDelay = positiveOr(opts.MaxRetryDelay, 10*time.Second)
	opts.DrainTimeout = positiveOr(opts.DrainTimeout, 10*time.Second)
	if opts.Observer == nil {
		opts.Observer = transport.NopObserver{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Consumer{group: cg, topics: topics, opts: opts}
}

// positiveOr is v, or d when v is not positive (unset, or nonsense).
func positiveOr[T int | time.Duration](v, d T) T {
	if v > 0 {
		return v
	}
	return d
}

var _ transport.Receiver = (*Consumer)(nil)

// Receive implements transport.Receiver: it is Run.
func (c *Consumer) Receive(ctx context.Context, h transport.AckHandler) error { return c.Run(ctx, h) }

// Run consumes until ctx is cancelled, then drains in-flight events, commits
// and leaves the group. It returns nil after a cancellation.
func (c *Consumer) Run(ctx context.Context, h transport.AckHandler) error {
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		for err := range c.group.Errors() {
			c.opts.Logger.Warn("kafka consumer", "topics", c.topics, "err", err)
		}
	}()
	// Protect: a panicking handler becomes a permanent failure of its
	// event (dead-lettered), not a dead consumer that restarts, is handed
	// the same record and dies again.
	gh := &groupHandler{c: c, h: transport.Protect(h), ctx: ctx}
	var runErr error
	for ctx.Err() == nil {
		// Consume returns at every rebalance; loop to rejoin.
		if err := c.group.Consume(ctx, c.topics, gh); err != nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) || ctx.Err() != nil {
				break
			}
			c.opts.Logger.Warn("kafka consume; rejoining", "topics", c.topics, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	if err := c.group.Close(); err != nil {
		runErr = fmt.Errorf("kafka: close consumer group: %w", err)
	}
	<-errDone
	return runErr
}

type groupHandler struct {
	c   *Consumer
	h   transport.AckHandler
	ctx context.Context // Run's: handlers outlive a rebalance's session context
}

func (g *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (g *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (g *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	opts := g.c.opts
	tr := newOffsetTracker()
	slots := make(chan struct{}, opts.MaxInFlight)
	var wg sync.WaitGroup
	topic, part := claim.Topic(), claim.Partition()
	done := func(off int64) {
		if next, ok := tr.ack(off); ok {
			sess.MarkOffset(topic, part, next, "")
		}
		<-slots
		wg.Done()
	}
	sessCtx := sess.Context()
loop:
	for {
		select {
		case <-sessCtx.Done():
			break loop
		case slots <- struct{}{}:
		}
		var m *sarama.ConsumerMessage
		var ok bool
		select {
		case <-sessCtx.Done():
			<-slots
			break loop
		case m, ok = <-claim.Messages():
		}
		if !ok {
			<-slots
			break
		}
		tr.add(m.Offset)
		wg.Add(1)
		// A delivery finishes once: a second call (a handler that acks
		// twice, a retry racing the shutdown) would free a slot that is
		// not held and drive the WaitGroup negative, which panics.
		var once sync.Once
		g.deliver(m, func(off int64) { once.Do(func() { done(off) }) })
	}
	// Give in-flight events a bounded time to finish so their offsets are
	// marked before the session commits; the rest are redelivered.
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(opts.DrainTimeout):
		opts.Logger.Warn("kafka claim ended with events in flight; they will be redelivered",
			"topic", topic, "partition", part, "in_flight", tr.outstanding())
	}
	return nil
}

// deliver decodes m and runs the handler, retrying transient failures in
// place (Kafka cannot nack one record), and calls done once m is finished.
func (g *groupHandler) deliver(m *sarama.ConsumerMessage, done func(int64)) {
	opts := g.c.opts
	start := time.Now()
	e, err := Decode(g.ctx, m)
	if err != nil {
		opts.Observer.Observe(transport.OutcomeMalformed, time.Since(start))
		g.deadLetter(m, err, done)
		return
	}
	var attempt func(n int)
	attempt = func(n int) {
		g.h(g.ctx, *e, func(err error) {
			switch {
			case err == nil:
				opts.Observer.Observe(transport.OutcomeOK, time.Since(start))
				done(m.Offset)
			case transport.Classify(err) == transport.Reject:
				opts.Observer.Observe(rejectOutcome(err), time.Since(start))
				g.deadLetter(m, err, done)
			case g.ctx.Err() != nil:
				// Shutting down: leave it unacked, the next owner gets it.
				opts.Observer.Observe(transport.OutcomeFailed, time.Since(start))
				done(-1)
			default:
				outcome := transport.OutcomeFailed
				if transport.Classify(err) == transport.Overload {
					outcome = transport.OutcomeOverloaded
				}
				opts.Observer.Observe(outcome, time.Since(start))
				d := opts.RetryDelay << min(n, 16)
				d = min(d, opts.MaxRetryDelay)
				opts.Logger.Warn("event failed; retrying", "event", e.ID(), "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "attempt", n+1, "in", d, "err", err)
				go func() {
					t := time.NewTimer(d)
					defer t.Stop()
					select {
					case <-g.ctx.Done():
						done(-1)
					case <-t.C:
						attempt(n + 1)
					}
				}()
			}
		})
	}
	attempt(0)
}

// rejectOutcome tells a handler panic (a poison event) from a rejection.
func rejectOutcome(err error) string {
	var pe *transport.PanicError
	if errors.As(err, &pe) {
		return transport.OutcomePanicked
	}
	return transport.OutcomeRejected
}

// deadLetter stores m with its reason, then acks it; if the dead-letter
// write fails, it is retried, so a rejected record is never silently lost
// when a dead-letter output is configured.
func (g *groupHandler) deadLetter(m *sarama.ConsumerMessage, reason error, done func(int64)) {
	opts := g.c.opts
	opts.Logger.Warn("event cannot be handled", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", reason)
	if opts.DeadLetter == nil {
		done(m.Offset)
		return
	}
	for n := 0; ; n++ {
		err := opts.DeadLetter.DeadLetter(g.ctx, m, reason)
		if err == nil {
			done(m.Offset)
			return
		}
		opts.Logger.Error("dead-letter write failed; retrying", "offset", m.Offset, "err", err)
		select {
		case <-g.ctx.Done():
			done(-1)
			return
		case <-time.After(min(opts.RetryDelay<<min(n, 16), opts.MaxRetryDelay)):
		}
	}
}
