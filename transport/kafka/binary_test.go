package kafka

import (
	"bytes"
	"context"
	"reflect"
	"slices"
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
