// Package modetest is the test kit of the modes: a Kafka cluster in the
// test's process (kfake, the real protocol) and a reader that blocks until a
// topic holds the records a test waits for, so tests order on the data
// itself instead of sleeping.
package modetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/transport/kafka"
)

// Kafka starts a one-broker cluster for the test and returns its config.
func Kafka(tb testing.TB) kafka.Config {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return kafka.Config{Brokers: c.ListenAddrs(), ClientID: "modetest"}
}

// ReadTopic reads topic from the beginning of every partition until it has
// n records (or ctx ends: then the test fails, naming how many it got).
func ReadTopic(ctx context.Context, tb testing.TB, cfg kafka.Config, topic string, n int) []*sarama.ConsumerMessage {
	tb.Helper()
	base, err := cfg.Sarama()
	if err != nil {
		tb.Fatal(err)
	}
	client, err := sarama.NewClient(cfg.Brokers, base)
	if err != nil {
		tb.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		tb.Fatal(err)
	}
	defer consumer.Close()
	parts, err := partitions(ctx, client, topic)
	if err != nil {
		tb.Fatalf("topic %s: %v", topic, err)
	}
	got := make(chan *sarama.ConsumerMessage)
	ctx, cancel := context.WithCancel(ctx)
	var pcs []sarama.PartitionConsumer
	defer func() {
		cancel() // the readers stop before their partitions close
		for _, pc := range pcs {
			pc.Close()
		}
	}()
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			tb.Fatal(err)
		}
		pcs = append(pcs, pc)
		go func() {
			for {
				select {
				case m := <-pc.Messages():
					select {
					case got <- m:
					case <-ctx.Done():
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var out []*sarama.ConsumerMessage
	for len(out) < n {
		select {
		case m := <-got:
			out = append(out, m)
		case <-ctx.Done():
			tb.Fatalf("topic %s: %d records, want %d: %v", topic, len(out), n, ctx.Err())
		}
	}
	return out
}

// partitions returns topic's partitions, waiting for the topic to exist:
// the service under test may create it after the test starts reading (a
// dead-letter topic is created when the service starts). Only a topic that
// never appears before ctx ends is an error.
func partitions(ctx context.Context, client sarama.Client, topic string) ([]int32, error) {
	for {
		parts, err := client.Partitions(topic)
		if err == nil && len(parts) > 0 {
			return parts, nil
		}
		if err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return nil, err
		}
		if err == nil {
			err = sarama.ErrUnknownTopicOrPartition
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (waiting for it to be created: %v)", err, ctx.Err())
		case <-time.After(10 * time.Millisecond): // metadata has no push: ask again
		}
		if err := client.RefreshMetadata(topic); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return nil, err
		}
	}
}
