package transport_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	sdkhttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// sdkBinary records what the SDK's binary encoding hands a transport's
// writer, formatted as the HTTP and Kafka writers format it.
type sdkBinary struct {
	order []string // spec attributes, in the order written
	attrs map[string]string
	exts  map[string]string
}

func (w *sdkBinary) Start(context.Context) error { return nil }
func (w *sdkBinary) End(context.Context) error   { return nil }
func (w *sdkBinary) SetData(io.Reader) error     { return nil }
func (w *sdkBinary) SetAttribute(a spec.Attribute, v any) error {
	if v == nil {
		return nil
	}
	s, err := types.Format(v)
	if err != nil {
		return err
	}
	w.order = append(w.order, a.Name())
	w.attrs[a.Name()] = s
	return nil
}
func (w *sdkBinary) SetExtension(name string, v any) error {
	if v == nil {
		return nil
	}
	s, err := types.Format(v)
	if err != nil {
		return err
	}
	w.exts[name] = s
	return nil
}

// FuzzEncodeBinaryV1: the shared fast encoder writes what the SDK's binary
// encoding writes — the same spec attributes in the same order, the same
// extensions, the same values — or fails where the SDK fails; and on the
// Kafka wire, kafka.Record over it makes the SDK writer's record.
func FuzzEncodeBinaryV1(f *testing.F) {
	f.Add("id", "/src", "dev.tweetflow.tweet.v1", "application/json", "subj", "", int64(1700000000), int64(5), "partitionkey", "k", 0, []byte(`{"a":1}`))
	f.Add("id", "http://x/y?z#w", "t", "", "", "http://s/", int64(0), int64(0), "count", "", 7, []byte(nil))
	f.Add("", "", "", "", "", "", int64(-1), int64(999999999), "x", "ü", -1, []byte("x"))
	f.Add("id", "http://x/y?z#w", "t", "", "", "http://s/", int64(0), int64(0), "model", "", 0, []byte(nil))
	f.Add("i", "s", "t", "text/plain", "", "", int64(-1), int64(0), "partitionkey", "", 0, []byte{})
	f.Fuzz(func(t *testing.T, id, source, typ, ct, subject, schema string, sec, nsec int64, extName, extVal string, n int, data []byte) {
		e := cloudevents.NewEvent()
		e.SetID(id)
		e.SetSource(source)
		e.SetType(typ)
		e.SetSubject(subject)
		if schema != "" {
			e.SetDataSchema(schema)
		}
		if sec != 0 {
			e.SetTime(time.Unix(sec, nsec))
		}
		if extVal != "" {
			e.SetExtension(extName, extVal)
		}
		if n != 0 {
			e.SetExtension("count", n)
		}
		if ct != "" || data != nil {
			_ = e.SetData(ct, data)
			e.DataBase64 = false
		}
		sameKafkaRecord(t, &e)

		want := &sdkBinary{attrs: map[string]string{}, exts: map[string]string{}}
		sdkErr := binding.ToMessage(&e).ReadBinary(context.Background(), want)

		got := &sdkBinary{attrs: map[string]string{}, exts: map[string]string{}}
		err := transport.EncodeBinaryV1(&e, func(name string, ext bool, v string) {
			if ext {
				got.exts[name] = v
				return
			}
			got.order = append(got.order, name)
			got.attrs[name] = v
		})
		if (err != nil) != (sdkErr != nil) {
			t.Fatalf("encoder error %v, SDK error %v", err, sdkErr)
		}
		if err != nil {
			return
		}
		// The SDK writes an empty attribute as ""; the wire writers then
		// leave it out, as the fast encoder does.
		for k, v := range want.attrs {
			if v == "" {
				delete(want.attrs, k)
			}
		}
		var wantOrder []string
		for _, k := range want.order {
			if _, ok := want.attrs[k]; ok {
				wantOrder = append(wantOrder, k)
			}
		}
		if !maps.Equal(got.attrs, want.attrs) || !maps.Equal(got.exts, want.exts) || len(got.order) != len(wantOrder) {
			t.Fatalf("encoded\n got %v %v\nwant %v %v", got.attrs, got.exts, want.attrs, want.exts)
		}
		for i := range wantOrder {
			if got.order[i] != wantOrder[i] {
				t.Fatalf("attribute order %v, SDK's %v", got.order, wantOrder)
			}
		}
	})
}

// A wire is one transport's binary-mode headers, as the fast decoder and
// the SDK's binding of that protocol read them.
type wire struct {
	name string
	// fast is what DecodeBinaryV1 makes of the headers (key, value pairs
	// in order) and body over the wire's header walk.
	fast func(hs [][2]string, body []byte) (*cloudevents.Event, bool)
	// sdk is the SDK's message of the same request or record.
	sdk func(hs [][2]string, body []byte) binding.Message
}

var wires = []wire{
	{
		name: "http",
		fast: func(hs [][2]string, body []byte) (*cloudevents.Event, bool) {
			return transport.DecodeBinaryV1(cehttp.BinaryHeaders(httpHeader(hs)), body)
		},
		sdk: func(hs [][2]string, body []byte) binding.Message {
			return sdkhttp.NewMessage(httpHeader(hs), io.NopCloser(bytes.NewReader(body)))
		},
	},
	{
		name: "kafka",
		fast: func(hs [][2]string, body []byte) (*cloudevents.Event, bool) {
			m := record(hs, body)
			return transport.DecodeBinaryV1(kafka.BinaryHeaders(m), m.Value)
		},
		sdk: func(hs [][2]string, body []byte) binding.Message {
			return kafka_sarama.NewMessageFromConsumerMessage(record(hs, body))
		},
	},
}

// httpHeader keeps the keys as given (not canonicalised), to cover
// handlers called without net/http's parser.
func httpHeader(hs [][2]string) http.Header {
	h := http.Header{}
	for _, kv := range hs {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
	return h
}

func record(hs [][2]string, value []byte) *sarama.ConsumerMessage {
	m := &sarama.ConsumerMessage{Topic: "t", Partition: 1, Offset: 2, Value: value}
	for _, kv := range hs {
		m.Headers = append(m.Headers, &sarama.RecordHeader{Key: []byte(kv[0]), Value: []byte(kv[1])})
	}
	return m
}

// The decoder must take what tweetflow's transports carry (the binary-mode
// headers the SDK writes for HTTP, and kafka.Record's), or it only adds work.
func TestDecodeBinaryV1TakesTweetflowEvents(t *testing.T) {
	tw := event.Tweet{ID: "t1", User: "u", Text: "hi", CreatedAt: time.Unix(1700000000, 5).UTC()}
	te, _ := event.NewTweetEvent(tw)
	me, _ := event.NewMetadataEvent(event.Metadata{TweetID: "t1", Model: "sentiment", Label: "positive", Tweet: tw})
	for _, e := range []*cloudevents.Event{&te, &me} {
		req, err := http.NewRequest(http.MethodPost, "http://x/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sdkhttp.WriteRequest(context.Background(), binding.ToMessage(e), req); err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(req.Body)
		var hs [][2]string
		for k, vs := range req.Header {
			hs = append(hs, [2]string{k, vs[0]})
		}
		sameAsSDK(t, wires[0], hs, body, true)

		pm, err := kafka.Record(context.Background(), "t", e)
		if err != nil {
			t.Fatal(err)
		}
		hs = hs[:0]
		for _, h := range pm.Headers {
			hs = append(hs, [2]string{string(h.Key), string(h.Value)})
		}
		value, _ := pm.Value.Encode()
		sameAsSDK(t, wires[1], hs, value, true)
	}
}

// sameAsSDK fails unless, whenever the fast decoder takes the message (it
// must when must is set), the SDK reads it in binary mode and decodes it
// without error into the very same event.
func sameAsSDK(t *testing.T, w wire, hs [][2]string, body []byte, must bool) {
	t.Helper()
	got, ok := w.fast(hs, body)
	if !ok {
		if must {
			t.Fatalf("%s: fast path refused %v", w.name, hs)
		}
		return // the SDK decodes it, as before
	}
	msg := w.sdk(hs, body)
	if msg.ReadEncoding() != binding.EncodingBinary {
		t.Fatalf("%s: fast path took a message the SDK reads as %v", w.name, msg.ReadEncoding())
	}
	want, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		t.Fatalf("%s: fast path took a message the SDK refuses (%v): %v", w.name, err, got)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: fast path:\n%#v\nSDK:\n%#v", w.name, got, want)
	}
}

// FuzzDecodeBinaryV1: on each wire, whenever the shared decoder takes a
// message, the SDK's binding.ToEvent of it succeeds with the very same
// event. The same headers go to both wires; each ignores the other's keys
// (an HTTP header named ce_x is no CloudEvents header), so the seeds hold
// both wires' spellings.
func FuzzDecodeBinaryV1(f *testing.F) {
	// HTTP spellings.
	f.Add("1.0", "id", "/src", "dev.tweetflow.tweet.v1", "application/json", "2020-01-01T00:00:00Z", "Ce-Partitionkey", "id", "Ce-Model", "m", []byte(`{"id":"id"}`))
	f.Add("1.0", " id ", "::bad", "t", "application/cloudevents+json", "bad", "Ce-ID", "x", "Ce-", "v", []byte{})
	f.Add("0.3", "i", "s", "t", "text/plain", "", "ce-id", "x", "Content-Type", "a/b", []byte(nil))
	f.Add("1.0", "i", "s", "t", "", "", "Ce-Datacontenttype", "x", "Ce-Dataschema", "http://x/y", []byte("x"))
	f.Add("1.0", "i", "s", "t", "application/cloudevents-batch+json", "", "Ce-Bad_name", "x", "Ce-Éx", "1", []byte("x"))
	// Kafka spellings.
	f.Add("1.0", "id", "/src", "dev.tweetflow.tweet.v1", "application/json", "2020-01-01T00:00:00Z", "ce_partitionkey", "id", "ce_model", "m", []byte(`{"id":"id"}`))
	f.Add("1.0", " id ", "::bad", "t", "application/cloudevents+json", "bad", "CE_ID", "x", "ce_", "v", []byte{})
	f.Add("0.3", "i", "s", "t", "text/plain", "", "ce_kafkatopic", "x", "Content-Type", "a/b", []byte(nil))
	f.Add("1.0", "i", "s", "t", "", "", "ce_datacontenttype", "x", "ce_dataschema", "http://x/y", []byte("x"))
	f.Add("1.0", "i", "s", "t", "", "", "ce_Bad-Name", "x", "ce_specversion", "1.0", []byte("x"))
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, ct, tm, k1, v1, k2, v2 string, body []byte) {
		for _, w := range wires {
			var hs [][2]string
			add := func(k, v string) {
				if v != "" {
					hs = append(hs, [2]string{k, v})
				}
			}
			if w.name == "http" {
				add("Ce-Specversion", specversion)
				add("Ce-Id", id)
				add("Ce-Source", source)
				add("Ce-Type", typ)
				add("Content-Type", ct)
				add("Ce-Time", tm)
			} else {
				add("ce_specversion", specversion)
				add("ce_id", id)
				add("ce_source", source)
				add("ce_type", typ)
				add("content-type", ct)
				add("ce_time", tm)
			}
			add(k1, v1)
			add(k2, v2)
			sameAsSDK(t, w, hs, body, false)
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

// kafka.Record (the shared encoder, the record's key and value) makes the
// record the SDK's Kafka writer makes of tweetflow's events and of one with
// every attribute.
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
		got, err := kafka.Record(context.Background(), "topic", e)
		if err != nil {
			t.Fatal(err)
		}
		sameRecord(t, got, sdkRecord(t, "topic", e))
	}
}

// sameKafkaRecord fails unless kafka.Record encodes e as the SDK's Kafka
// writer does, or refuses only what that writer refuses too.
func sameKafkaRecord(t *testing.T, e *cloudevents.Event) {
	t.Helper()
	got, err := kafka.Record(context.Background(), "topic", e)
	if err != nil {
		if want := (&sarama.ProducerMessage{}); kafka_sarama.WriteProducerMessage(context.Background(), binding.ToMessage(e), want) == nil {
			t.Fatalf("kafka.Record refused what the SDK writes: %v", err)
		}
		return
	}
	sameRecord(t, got, sdkRecord(t, "topic", e))
}
