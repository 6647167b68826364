package kafka

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/tweetflow/tweetflow/event"
)

func sdkRecord(t *testing.T, topic string, e *cloudevents.Event) *sarama.ProducerMessage {
	t.Helper()
	m := &sarama.ProducerMessage{Topic: topic}
	if err := kafka_sarama.WriteProducerMessage(context.Background(), binding.ToMessage(e), m); err != nil {
		t.Fatalf("SDK writer: %v", err)
	}
	if m.Key == nil && e.Subject() != "" {
		m.Key = sarama.StringEncoder(e.Subject())
	}
	return m
}

func sameRecord(t *testing.T, got, want *sarama.ProducerMessage) {
	t.Helper()
	enc := func(e sarama.Encoder) []byte {
		if e == nil {
			return nil
		}
		b, _ := e.Encode()
		return b
	}
	sorted := func(hs []sarama.RecordHeader) []string {
		var out []string
		for _, h := range hs {
			out = append(out, string(h.Key)+"="+string(h.Value))
		}
		slices.Sort(out)
		return out
	}
	if got.Topic != want.Topic || !bytes.Equal(enc(got.Key), enc(want.Key)) || (got.Key == nil) != (want.Key == nil) ||
		!bytes.Equal(enc(got.Value), enc(want.Value)) || (got.Value == nil) != (want.Value == nil) ||
		!slices.Equal(sorted(got.Headers), sorted(want.Headers)) {
		t.Fatalf("record differs:\n got %s key=%q value=%q %v\nwant %s key=%q value=%q %v",
			got.Topic, enc(got.Key), enc(got.Value), sorted(got.Headers), want.Topic, enc(want.Key), enc(want.Value), sorted(want.Headers))
	}
}

func TestRecordMatchesSDKWriter(t *testing.T) {
	tw := event.Tweet{ID: "t1", User: "u", Text: "hi", CreatedAt: time.Unix(1700000000, 5).UTC()}
	te, _ := event.NewTweetEvent(tw)
	me, _ := event.NewMetadataEvent(event.Metadata{TweetID: "t1", Model: "sentiment", Label: "positive", Tweet: tw})
	bare := cloudevents.NewEvent()
	bare.SetID("x")
	bare.SetSource("/s")
	bare.SetType("t")
	bare.SetSubject("subj")
	bare.SetDataSchema("http://schema/x")
	bare.SetExtension("count", 7)
	bare.SetExtension(event.ExtPartitionKey, 0) // a zero value: no key from it
	for _, e := range []*cloudevents.Event{&te, &me, &bare} {
		got, err := recordBinaryV1("topic", e)
		if err != nil {
			t.Fatal(err)
		}
		sameRecord(t, got, sdkRecord(t, "topic", e))
	}
}

// FuzzRecordBinaryV1: the direct writer makes the SDK writer's record.
func FuzzRecordBinaryV1(f *testing.F) {
	f.Add("id", "/src", "dev.tweetflow.tweet.v1", "application/json", "subj", "", int64(1700000000), "partitionkey", "k", []byte(`{"a":1}`))
	f.Add("id", "http://x/y?z#w", "t", "", "", "http://s/", int64(0), "model", "", []byte(nil))
	f.Add("i", "s", "t", "text/plain", "", "", int64(-1), "partitionkey", "", []byte{})
	f.Fuzz(func(t *testing.T, id, source, typ, ct, subject, schema string, sec int64, extName, extVal string, data []byte) {
		e := cloudevents.NewEvent()
		e.SetID(id)
		e.SetSource(source)
		e.SetType(typ)
		e.SetSubject(subject)
		if schema != "" {
			e.SetDataSchema(schema)
		}
		if sec != 0 {
			e.SetTime(time.Unix(sec, 0))
		}
		if extVal != "" {
			e.SetExtension(extName, extVal)
		}
		if ct != "" || data != nil {
			_ = e.SetData(ct, data)
			e.DataBase64 = false
		}
		got, err := recordBinaryV1("topic", &e)
		if err != nil {
			if want := (&sarama.ProducerMessage{}); kafka_sarama.WriteProducerMessage(context.Background(), binding.ToMessage(&e), want) == nil {
				t.Fatalf("direct writer refused what the SDK writes: %v", err)
			}
			return
		}
		sameRecord(t, got, sdkRecord(t, "topic", &e))
	})
}
