package kafka_test

import (
	"context"
	"testing"

	"github.com/IBM/sarama"

	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// FuzzDecode: no record, however broken, panics the consumer's decoder, and
// every failure is permanent (dead-lettered, never retried forever).
func FuzzDecode(f *testing.F) {
	f.Add("1.0", "id", "/src", "dev.tweetflow.tweet.v1", "application/json", []byte(`{"id":"id","text":"x","created_at":"2020-01-01T00:00:00Z"}`))
	f.Add("", "", "", "", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":"a","source":"b","type":"c","data":{}}`))
	f.Add("", "", "", "", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":`))
	f.Add("1.0", "", "", "", "", []byte("hello"))
	f.Add("0.3", "i", "s", "t", "text/plain", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, ct string, value []byte) {
		var hs []*sarama.RecordHeader
		for k, v := range map[string]string{"ce_specversion": specversion, "ce_id": id, "ce_source": source, "ce_type": typ, "content-type": ct} {
			if v != "" {
				hs = append(hs, &sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
			}
		}
		m := &sarama.ConsumerMessage{Topic: "t", Partition: 1, Offset: 2, Headers: hs, Value: value}
		e, err := kafka.Decode(context.Background(), m)
		if err != nil {
			if transport.Classify(err) != transport.Reject {
				t.Fatalf("decode error not permanent: %v", err)
			}
			return
		}
		if e.ID() == "" || e.Validate() != nil {
			t.Fatalf("accepted an invalid event: %v", e)
		}
	})
}
