package kafka_test

import (
	"context"
	"testing"

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
