package kafka_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/kafka"
	"github.com/tweetflow/tweetflow/transport/transporttest"
)

type harness struct{}

// newEventsTopic starts a cluster with topic "events" of 3 partitions and a
// Producer to it; both harness kinds begin the same way.
func newEventsTopic(t *testing.T) (kafka.Config, *kafka.Producer) {
	t.Helper()
	cfg := newCluster(t)
	if err := kafka.EnsureTopic(context.Background(), cfg, "events", 3, 1); err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(cfg, "events")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, p
}

func (harness) Start(t *testing.T, h transport.Handler) (transport.Sender, func()) {
	cfg, p := newEventsTopic(t)
	stopConsumer := startConsumer(t, cfg, "conformance", "events",
		kafka.ConsumerOptions{RetryDelay: time.Millisecond}, transport.Async(h, 16))
	var once sync.Once
	stop := func() { once.Do(func() { stopConsumer(); p.Close(context.Background()) }) }
	return p, stop
}

// Open: a topic of 3 partitions; each Receiver is a new consumer in one
// group, so a restart is the group's next member.
func (harness) Open(t *testing.T) transporttest.Source {
	cfg, p := newEventsTopic(t)
	t.Cleanup(func() { p.Close(context.Background()) })
	return source{cfg: cfg, p: p}
}

type source struct {
	cfg kafka.Config
	p   *kafka.Producer
}

func (s source) Sender() transport.Sender { return s.p }

func (s source) Receiver(t *testing.T) transport.Receiver {
	c, err := kafka.NewConsumer(s.cfg, "at-least-once", []string{"events"},
		kafka.ConsumerOptions{RetryDelay: time.Millisecond, DrainTimeout: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Harness { return harness{} })
	transporttest.RunAtLeastOnce(t, func(*testing.T) transporttest.SourceHarness { return harness{} })
}
