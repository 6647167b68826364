package kafka

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/tweetflow/tweetflow/event"
)

// consumed turns a produced record into what a consumer reads.
func consumed(pm *sarama.ProducerMessage) *sarama.ConsumerMessage {
	m := &sarama.ConsumerMessage{Topic: pm.Topic, Partition: 3, Offset: 42}
	for _, h := range pm.Headers {
		m.Headers = append(m.Headers, &sarama.RecordHeader{Key: h.Key, Value: h.Value})
	}
	if pm.Value != nil {
		m.Value, _ = pm.Value.Encode()
	}
	return m
}

// The fast path must take what tweetflow itself produces, or it only adds work.
func TestDecodeBinaryV1TakesOwnRecords(t *testing.T) {
	tw := event.Tweet{ID: "t1", User: "u", Text: "hi", CreatedAt: time.Unix(1700000000, 5).UTC()}
	te, _ := event.NewTweetEvent(tw)
	me, _ := event.NewMetadataEvent(event.Metadata{TweetID: "t1", Model: "sentiment", Label: "positive", Tweet: tw})
	for _, e := range []*cloudevents.Event{&te, &me} {
		pm, err := Record(context.Background(), "tweets", e)
		if err != nil {
			t.Fatal(err)
		}
		m := consumed(pm)
		got, ok := decodeBinaryV1(m)
		if !ok {
			t.Fatalf("fast path refused the record of %s", e.ID())
		}
		want, err := binding.ToEvent(context.Background(), kafka_sarama.NewMessageFromConsumerMessage(m))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path:\n%v\nSDK:\n%v", got, want)
		}
	}
}

// FuzzDecodeBinaryV1: whenever the fast path takes a record, the SDK's
// decoding of it succeeds with the very same event.
func FuzzDecodeBinaryV1(f *testing.F) {
	f.Add("1.0", "id", "/src", "dev.tweetflow.tweet.v1", "application/json", "2020-01-01T00:00:00Z", "ce_partitionkey", "id", "ce_model", "m", []byte(`{"id":"id"}`))
	f.Add("1.0", " id ", "::bad", "t", "application/cloudevents+json", "bad", "CE_ID", "x", "ce_", "v", []byte{})
	f.Add("0.3", "i", "s", "t", "text/plain", "", "ce_kafkatopic", "x", "Content-Type", "a/b", []byte(nil))
	f.Add("1.0", "i", "s", "t", "", "", "ce_datacontenttype", "x", "ce_dataschema", "http://x/y", []byte("x"))
	f.Add("1.0", "i", "s", "t", "", "", "ce_Bad-Name", "x", "ce_specversion", "1.0", []byte("x"))
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, ct, tm, k1, v1, k2, v2 string, value []byte) {
		var hs []*sarama.RecordHeader
		add := func(k, v string) {
			if v != "" {
				hs = append(hs, &sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
			}
		}
		add("ce_specversion", specversion)
		add("ce_id", id)
		add("ce_source", source)
		add("ce_type", typ)
		add("content-type", ct)
		add("ce_time", tm)
		add(k1, v1)
		add(k2, v2)
		m := &sarama.ConsumerMessage{Topic: "t", Partition: 1, Offset: 2, Headers: hs, Value: value}
		got, ok := decodeBinaryV1(m)
		if !ok {
			return // the SDK decodes it, as before
		}
		want, err := binding.ToEvent(context.Background(), kafka_sarama.NewMessageFromConsumerMessage(m))
		if err != nil {
			t.Fatalf("fast path took a record the SDK refuses (%v): %v", err, got)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path:\n%#v\nSDK:\n%#v", got, want)
		}
	})
}
