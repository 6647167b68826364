package kafkaonly_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/kafkaonly"
	"github.com/tweetflow/tweetflow/mode/modetest"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// #13 defect: with --dead-letter-topic naming a topic nobody created, the
// first poison record was retried forever (Kafka does not create a topic
// on first produce) and held its partition. The service creates the topic
// at start, so the poison record lands there.
func TestDeadLetterTopicCreatedAtStart(t *testing.T) {
	kcfg := modetest.Kafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafka.EnsureTopic(ctx, kcfg, "metadata", 1, 1); err != nil {
		t.Fatal(err)
	}
	base, err := kcfg.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	sp, err := sarama.NewSyncProducer(kcfg.Brokers, kafka.ProducerConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if _, _, err := sp.SendMessage(&sarama.ProducerMessage{Topic: "metadata", Value: sarama.StringEncoder("not a CloudEvent")}); err != nil {
		t.Fatal(err)
	}
	cfg := kafkaonly.AggregatorConfig{
		Consumer:    kafkaonly.Consumer{Kafka: kcfg, DeadLetterTopic: "metadata-dlq"},
		MetricsAddr: "", Logger: slog.New(slog.DiscardHandler),
		Aggregator: core.AggregatorConfig{ModelsDir: "../../models", Models: []string{"offense"},
			Store: core.StoreConfig{SQLite: filepath.Join(t.TempDir(), "tweetflow.db")}},
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- kafkaonly.RunAggregator(actx, cfg) }()
	got := modetest.ReadTopic(ctx, t, kcfg, "metadata-dlq", 1)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("RunAggregator: %v", err)
	}
	if string(got[0].Value) != "not a CloudEvent" {
		t.Fatalf("dead letter %q", got[0].Value)
	}
}
