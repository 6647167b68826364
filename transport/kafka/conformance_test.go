package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/kafka"
	"github.com/tweetflow/tweetflow/transport/transporttest"
)

type harness struct{}

func (harness) Start(t *testing.T, h transport.Handler) (transport.Sender, func()) {
	cfg := newCluster(t)
	if err := kafka.EnsureTopic(context.Background(), cfg, "events", 3, 1); err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(cfg, "events")
	if err != nil {
		t.Fatal(err)
	}
	stopConsumer := startConsumer(t, cfg, "conformance", "events",
		kafka.ConsumerOptions{RetryDelay: time.Millisecond}, transport.Async(h, 16))
	stop := func() { stopConsumer(); p.Close(context.Background()) }
	return p, stop
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Harness { return harness{} })
}
