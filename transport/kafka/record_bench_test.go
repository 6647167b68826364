package kafka_test

import (
	"context"
	"testing"

	"github.com/IBM/sarama"

	"github.com/tweetflow/tweetflow/transport/kafka"
)

// BenchmarkRecord: encoding one tweet event as a binary-mode record, the
// producer's main CPU cost per event.
func BenchmarkRecord(b *testing.B) {
	e := tweets(b, 1, "b")[0]
	e.SetExtension("custom", "v")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kafka.Record(ctx, "tweets", &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode: decoding one consumed tweet record into a CloudEvent, a
// consumer's CloudEvents cost per event.
func BenchmarkDecode(b *testing.B) {
	e := tweets(b, 1, "b")[0]
	ctx := context.Background()
	pm, err := kafka.Record(ctx, "tweets", &e)
	if err != nil {
		b.Fatal(err)
	}
	m := &sarama.ConsumerMessage{Topic: pm.Topic, Partition: 3, Offset: 42}
	for _, h := range pm.Headers {
		m.Headers = append(m.Headers, &sarama.RecordHeader{Key: h.Key, Value: h.Value})
	}
	if m.Value, err = pm.Value.Encode(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kafka.Decode(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
