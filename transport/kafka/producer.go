package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport"
)

// ProducerConfig sets what tweetflow requires of every producer on top of
// base: idempotence and acks from all in-sync replicas, so a retried batch
// is written once and an acknowledged event survives a broker loss. One
// request in flight per broker is what sarama requires for idempotence.
func ProducerConfig(base *sarama.Config) *sarama.Config {
	c := *base
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Retry.Max = 10
	c.Producer.Retry.Backoff = 100 * time.Millisecond
	// Batching: the sync producer sends what is queued when a request
	// returns; these bound a batch so big replays do not build huge requests.
	c.Producer.Flush.Bytes = 1 << 20
	c.Producer.Flush.Frequency = 5 * time.Millisecond
	c.Producer.Compression = sarama.CompressionNone
	return &c
}

// Producer sends CloudEvents to one topic in binary mode. The record key is
// the event's partitionkey extension (the tweet id), so one tweet and all of
// its results land on one partition, in order. It implements transport.Sender.
type Producer struct {
	topic string
	sp    sarama.SyncProducer
	own   sarama.Client // closed by Close when the Producer opened it
}

var _ transport.Sender = (*Producer)(nil)

// NewProducer connects to the cluster and returns a Producer for topic.
func NewProducer(cfg Config, topic string) (*Producer, error) {
	base, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(cfg.Brokers, ProducerConfig(base))
	if err != nil {
		return nil, fmt.Errorf("kafka: connect to %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	p, err := NewProducerFromClient(client, topic)
	if err != nil {
		client.Close()
		return nil, err
	}
	p.own = client
	return p, nil
}

// NewProducerFromClient uses an existing client, whose configuration must
// come from ProducerConfig.
func NewProducerFromClient(client sarama.Client, topic string) (*Producer, error) {
	if topic == "" {
		return nil, errors.New("kafka: producer needs a topic")
	}
	c := client.Config()
	if !c.Producer.Idempotent || c.Producer.RequiredAcks != sarama.WaitForAll {
		return nil, errors.New("kafka: producer client must be idempotent with acks=all (use ProducerConfig)")
	}
	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("kafka: producer for %s: %w", topic, err)
	}
	return &Producer{topic: topic, sp: sp}, nil
}

// Topic is the topic the producer writes to.
func (p *Producer) Topic() string { return p.topic }

// Send writes events as one batch and returns when every record is acked by
// all in-sync replicas. Errors name the events that were not written.
func (p *Producer) Send(ctx context.Context, events []cloudevents.Event) error {
	if len(events) == 0 {
		return nil
	}
	msgs, err := encodeAll(ctx, p.topic, events)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err = p.sp.SendMessages(msgs)
	if err == nil {
		return nil
	}
	var perrs sarama.ProducerErrors
	if errors.As(err, &perrs) && len(perrs) > 0 {
		ids := make([]string, 0, min(len(perrs), 5))
		for _, pe := range perrs[:min(len(perrs), 5)] {
			ids = append(ids, eventID(pe.Msg))
		}
		return fmt.Errorf("kafka: %d of %d event(s) not written to %s (first: %s): %w", len(perrs), len(msgs), p.topic, strings.Join(ids, ", "), perrs[0].Err)
	}
	return fmt.Errorf("kafka: send %d event(s) to %s: %w", len(msgs), p.topic, err)
}

// encodeAll encodes events into records, in parallel for big batches: the
// CloudEvents binding's encoding is most of a producer's CPU time, and
// sarama only needs the records in order.
func encodeAll(ctx context.Context, topic string, events []cloudevents.Event) ([]*sarama.ProducerMessage, error) {
	msgs := make([]*sarama.ProducerMessage, len(events))
	workers := min(runtime.GOMAXPROCS(0), len(events)/256)
	if workers <= 1 {
		for i := range events {
			m, err := Record(ctx, topic, &events[i])
			if err != nil {
				return nil, err
			}
			msgs[i] = m
		}
		return msgs, nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	chunk := (len(events) + workers - 1) / workers
	for w := range workers {
		wg.Go(func() {
			for i := w * chunk; i < min((w+1)*chunk, len(events)); i++ {
				m, err := Record(ctx, topic, &events[i])
				if err != nil {
					errs[w] = err
					return
				}
				msgs[i] = m
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return msgs, nil
}

// Record encodes e as a binary-mode record for topic, keyed by its
// partitionkey extension (or, without one, its subject).
func Record(ctx context.Context, topic string, e *cloudevents.Event) (*sarama.ProducerMessage, error) {
	if e.SpecVersion() == cloudevents.CloudEventsVersionV1 {
		return recordBinaryV1(topic, e)
	}
	m := &sarama.ProducerMessage{Topic: topic}
	if err := kafka_sarama.WriteProducerMessage(ctx, binding.ToMessage(e), m); err != nil {
		return nil, fmt.Errorf("kafka: event %s: encode: %w", e.ID(), err)
	}
	if m.Key == nil && e.Subject() != "" {
		m.Key = sarama.StringEncoder(e.Subject())
	}
	return m, nil
}

// recordBinaryV1 is Record for a CloudEvents 1.0 event through the shared
// encoder (transport.EncodeBinaryV1) instead of the SDK's generic writer:
// the same headers (ce_ + the attribute, content-type for datacontenttype),
// the same key (the partitionkey extension) and a copy of the data.
// TestRecordMatchesSDKWriter and FuzzRecordBinaryV1 compare the two.
func recordBinaryV1(topic string, e *cloudevents.Event) (*sarama.ProducerMessage, error) {
	m := &sarama.ProducerMessage{Topic: topic}
	hs := make([]sarama.RecordHeader, 0, 8+len(e.Extensions()))
	err := transport.EncodeBinaryV1(e, func(name string, _ bool, v string) {
		k := "ce_" + name
		if name == "datacontenttype" {
			k = "content-type"
		}
		hs = append(hs, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	})
	if err != nil {
		return nil, fmt.Errorf("kafka: encode: %w", err)
	}
	m.Headers = hs
	if pk, ok := e.Extensions()[event.ExtPartitionKey]; ok && !types.IsZero(pk) {
		if v, err := types.Format(pk); err == nil && v != "" {
			m.Key = sarama.StringEncoder(v)
		}
	}
	if data := e.Data(); len(data) > 0 {
		m.Value = sarama.ByteEncoder(bytes.Clone(data))
	}
	if m.Key == nil && e.Subject() != "" {
		m.Key = sarama.StringEncoder(e.Subject())
	}
	return m, nil
}

func eventID(m *sarama.ProducerMessage) string {
	if m == nil {
		return "?"
	}
	for _, h := range m.Headers {
		if string(h.Key) == "ce_id" {
			return string(h.Value)
		}
	}
	return "?"
}

// Close flushes and closes the producer (and its client, if it opened it).
func (p *Producer) Close(context.Context) error {
	err := p.sp.Close()
	if p.own != nil {
		err = errors.Join(err, p.own.Close())
	}
	return err
}

// EnsureTopic creates topic with the given partitions and replication
// factor, or checks an existing one has at least that many partitions (it
// never shrinks or silently repartitions a topic: keys would move). A
// replication below 1 asks the broker for its default.replication.factor
// (CreateTopics with -1, Kafka 2.4 and later).
func EnsureTopic(ctx context.Context, cfg Config, topic string, partitions int32, replication int16) error {
	base, err := cfg.Sarama()
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, base)
	if err != nil {
		return fmt.Errorf("kafka: admin: %w", err)
	}
	defer admin.Close()
	return ensureTopic(ctx, admin, topic, partitions, replication)
}

func ensureTopic(_ context.Context, admin sarama.ClusterAdmin, topic string, partitions int32, replication int16) error {
	if partitions < 1 {
		return fmt.Errorf("kafka: topic %s: partitions must be >= 1, got %d", topic, partitions)
	}
	rf := fmt.Sprintf("replication %d", replication)
	if replication < 1 {
		replication, rf = -1, "the broker's default replication"
	}
	err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: replication}, false)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("kafka: create topic %s (%d partitions, %s): %w", topic, partitions, rf, err)
	}
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil || len(md) != 1 {
		return fmt.Errorf("kafka: describe topic %s: %w", topic, err)
	}
	if have := int32(len(md[0].Partitions)); have < partitions {
		return fmt.Errorf("kafka: topic %s exists with %d partitions, fewer than the %d asked for; add partitions deliberately (keys move)", topic, have, partitions)
	}
	return nil
}
