package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/IBM/sarama"
)

// DeadLetter stores a record that can never be handled, with the reason.
type DeadLetter interface {
	DeadLetter(ctx context.Context, m *sarama.ConsumerMessage, reason error) error
}

// TopicDeadLetter writes unhandleable records to a topic, unchanged, with
// headers saying where they came from and why.
type TopicDeadLetter struct {
	Topic    string
	Producer sarama.SyncProducer
	own      sarama.Client // closed by Close when NewTopicDeadLetter opened it
}

// NewTopicDeadLetter creates topic (as EnsureTopic, one partition, the
// replication factor replication; an existing topic of any partition count
// is used as it is) and opens an idempotent producer for it. A replication
// of 0 leaves the factor to the broker (its default.replication.factor, as
// CreateTopics does when asked for -1: Kafka ships with 1, Strimzi and the
// managed services set 3), which is what a dead-letter topic wants: its
// records are no less worth keeping than the data's.
// Creating it at start matters: Kafka does not create a topic on first
// produce, so a consumer whose dead-letter topic is missing would retry its
// first poison record forever and hold its partition. A topic that cannot be
// created (no permission, say) fails here, before anything is consumed.
func NewTopicDeadLetter(ctx context.Context, cfg Config, topic string, replication int16) (*TopicDeadLetter, error) {
	if topic == "" {
		return nil, errors.New("kafka: dead-letter topic: empty name")
	}
	if err := EnsureTopic(ctx, cfg, topic, 1, replication); err != nil {
		return nil, fmt.Errorf("kafka: dead-letter topic: %w", err)
	}
	base, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(cfg.Brokers, ProducerConfig(base))
	if err != nil {
		return nil, fmt.Errorf("kafka: dead-letter producer for %s: %w", topic, err)
	}
	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka: dead-letter producer for %s: %w", topic, err)
	}
	return &TopicDeadLetter{Topic: topic, Producer: sp, own: client}, nil
}

// Close closes the producer and, when NewTopicDeadLetter opened it, its
// client.
func (d *TopicDeadLetter) Close(context.Context) error {
	err := d.Producer.Close()
	if d.own != nil {
		err = errors.Join(err, d.own.Close())
	}
	return err
}

// DeadLetter implements DeadLetter.
func (d *TopicDeadLetter) DeadLetter(_ context.Context, m *sarama.ConsumerMessage, reason error) error {
	headers := make([]sarama.RecordHeader, 0, len(m.Headers)+4)
	for _, h := range m.Headers {
		if h != nil {
			headers = append(headers, *h)
		}
	}
	headers = append(headers,
		sarama.RecordHeader{Key: []byte("tweetflow_error"), Value: []byte(reason.Error())},
		sarama.RecordHeader{Key: []byte("tweetflow_topic"), Value: []byte(m.Topic)},
		sarama.RecordHeader{Key: []byte("tweetflow_partition"), Value: []byte(strconv.Itoa(int(m.Partition)))},
		sarama.RecordHeader{Key: []byte("tweetflow_offset"), Value: []byte(strconv.FormatInt(m.Offset, 10))},
	)
	pm := &sarama.ProducerMessage{Topic: d.Topic, Headers: headers, Value: sarama.ByteEncoder(m.Value)}
	if m.Key != nil {
		pm.Key = sarama.ByteEncoder(m.Key)
	}
	if _, _, err := d.Producer.SendMessage(pm); err != nil {
		return fmt.Errorf("kafka: dead-letter %s/%d@%d to %s: %w", m.Topic, m.Partition, m.Offset, d.Topic, err)
	}
	return nil
}
