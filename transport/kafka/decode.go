package kafka

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/tweetflow/tweetflow/transport"
)

// Decode turns a record into a CloudEvent (binary or structured mode) and
// validates it. Errors name the topic, partition and offset.
func Decode(ctx context.Context, m *sarama.ConsumerMessage) (*cloudevents.Event, error) {
	if e, ok := transport.DecodeBinaryV1(BinaryHeaders(m), m.Value); ok {
		if err := e.Validate(); err != nil {
			return nil, transport.Permanent(fmt.Errorf("record %s: event %s: invalid CloudEvent: %s", where(m), e.ID(), strings.TrimSpace(err.Error())))
		}
		return e, nil
	}
	msg := kafka_sarama.NewMessageFromConsumerMessage(m)
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return nil, transport.Permanent(fmt.Errorf("record %s: not a CloudEvent (no ce_specversion header, content type %q)", where(m), msg.ContentType))
	}
	e, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, transport.Permanent(fmt.Errorf("record %s: malformed CloudEvent: %w", where(m), err))
	}
	if err := e.Validate(); err != nil {
		return nil, transport.Permanent(fmt.Errorf("record %s: event %s: invalid CloudEvent: %s", where(m), e.ID(), strings.TrimSpace(err.Error())))
	}
	return e, nil
}

func where(m *sarama.ConsumerMessage) string {
	return fmt.Sprintf("%s/%d@%d", m.Topic, m.Partition, m.Offset)
}

// BinaryHeaders is the Kafka wire's walk of a binary-mode record's headers
// for transport.DecodeBinaryV1, header for header what
// kafka_sarama.NewMessageFromConsumerMessage reads: keys lower-cased,
// content-type for datacontenttype, ce_ + a spec attribute's name for the
// attribute, every other ce_ header an extension, and the kafkaoffset,
// kafkapartition and kafkatopic extensions taken from the record (the SDK
// overwrites headers of those names). Two headers whose keys are equal
// once lower-cased are left to the SDK (it keeps the last one): the decoder
// refuses an attribute or extension set twice.
func BinaryHeaders(m *sarama.ConsumerMessage) transport.BinaryHeaders {
	return func(set func(name string, ext bool, value string) bool) bool {
		for _, h := range m.Headers {
			if h == nil {
				return false
			}
			name, ext, ok := headerName(h.Key)
			if !ok {
				continue
			}
			if !set(name, ext, string(h.Value)) {
				return false
			}
		}
		return set("kafkaoffset", true, strconv.FormatInt(m.Offset, 10)) &&
			set("kafkapartition", true, strconv.FormatInt(int64(m.Partition), 10)) &&
			set("kafkatopic", true, m.Topic)
	}
}

// headerName names the attribute or extension a record header carries; ok
// is false for a header that carries none (or one the record's position
// overrides). The spec attributes' names are constants, so the common
// headers cost no allocation.
func headerName(key []byte) (name string, ext, ok bool) {
	if bytes.ContainsFunc(key, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
		key = bytes.ToLower(key)
	}
	if string(key) == "content-type" {
		return "datacontenttype", false, true
	}
	attr, found := bytes.CutPrefix(key, []byte("ce_"))
	if !found {
		return "", false, false
	}
	for _, a := range transport.BinaryAttributes() {
		if string(attr) == a {
			return a, false, true
		}
	}
	switch string(attr) {
	case "kafkaoffset", "kafkapartition", "kafkatopic":
		return "", false, false
	}
	return string(attr), true, true
}
