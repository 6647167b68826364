package service

import (
	"context"
	"errors"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// Kafka-only mode (no Knative): each function is a consumer group on the
// tweets topic that produces its metadata events to the metadata topic, and
// the aggregator is a consumer group on the metadata topic. The cores are the
// same as on Knative; only the transport differs.

// KafkaFunction consumes tweets from in and produces each reply to out
// before the tweet's offset may be committed (transport.Forward), with up to
// inFlight events per partition being scored at once so the core can
// micro-batch them.
func KafkaFunction(ctx context.Context, c *kafka.Consumer, out transport.Sender, h transport.Handler, inFlight int) error {
	return c.Run(ctx, transport.Async(transport.Forward(h, out), inFlight))
}

// KafkaAggregator consumes metadata events and commits each offset only
// after the record holding it is stored (and every earlier offset of its
// partition too). When ctx ends it calls closeAgg (the aggregator's and the
// store's close) at once, so pending tweets are written and their offsets
// committed while the consumer drains, rather than redelivered; it returns
// when both are done.
func KafkaAggregator(ctx context.Context, c *kafka.Consumer, agg *aggregator.Aggregator, closeAgg func(context.Context) error) error {
	closed := make(chan error, 1)
	go func() {
		<-ctx.Done()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		closed <- closeAgg(cctx)
	}()
	runErr := c.Run(ctx, MetadataHandler(agg))
	return errors.Join(runErr, <-closed)
}

// EventSender adapts a transport.Sender (Kafka, HTTP K_SINK) to the
// producer's Sender: each tweet becomes a tweet CloudEvent (id and
// partitionkey = tweet id), so a replay resumed from an earlier row produces
// the same events again and consumers deduplicate them.
func EventSender(s transport.Sender) producer.Sender {
	return producer.SenderFunc(func(ctx context.Context, tweets []event.Tweet) error {
		events := make([]cloudevents.Event, len(tweets))
		for i, t := range tweets {
			e, err := event.NewTweetEvent(t)
			if err != nil {
				return err
			}
			events[i] = e
		}
		return s.Send(ctx, events)
	})
}
