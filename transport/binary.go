package transport

import (
	"fmt"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/types"
)

// BinaryHeaders walks one binary-mode message's CloudEvents headers as its
// wire names them, for DecodeBinaryV1: for each it calls set with the
// attribute's name (lowercase, without the wire's prefix: "id", "time";
// "datacontenttype" for the content-type header), whether the wire names it
// an extension rather than a spec attribute, and the value. It stops when
// set returns false, and returns false itself for a message the wire's SDK
// binding reads in a way the decoder does not follow (a header the SDK
// would mangle or panic on): the caller then decodes it with the SDK. Each
// wire transport has one (cehttp.BinaryHeaders, kafka.BinaryHeaders): the
// decoding counterpart of the header naming each gives EncodeBinaryV1.
type BinaryHeaders func(set func(name string, ext bool, value string) bool) bool

// DecodeBinaryV1 is the binary-mode decoder of a CloudEvents 1.0 message
// that HTTP (a request) and Kafka (a record) share. It builds the event with
// the same EventContextV1 setters and conversions as the SDK's
// binding.ToEvent, without its generic message walk (a map of headers, a
// spec lookup and an interface conversion per attribute: a sixth of the
// Kafka-only mode's CPU). data is kept, not copied (nil when empty, as the
// SDK leaves it). It is a fast path only: ok is false for anything it does
// not take exactly as the SDK would (structured mode, another spec version,
// a value the setters refuse, the same attribute twice, an extension named
// like a spec attribute), and the caller decodes the message with
// binding.ToEvent instead, which then gives the same event or the same
// error as before. FuzzDecodeBinaryV1 compares the two on both wires.
func DecodeBinaryV1(headers BinaryHeaders, data []byte) (e *cloudevents.Event, ok bool) {
	b := binaryV1{e: cloudevents.NewEvent()}
	b.ec, ok = b.e.Context.(*cloudevents.EventContextV1)
	if !ok || !headers(b.set) || b.failed || !b.spec {
		return nil, false
	}
	if len(data) > 0 {
		b.e.DataEncoded = data
	}
	return &b.e, true
}

// binaryV1 is DecodeBinaryV1's state: the event being built.
type binaryV1 struct {
	e      cloudevents.Event
	ec     *cloudevents.EventContextV1
	seen   uint16 // attributes already set
	spec   bool   // specversion 1.0 seen
	failed bool
}

// BinaryAttributes are the CloudEvents 1.0 attributes DecodeBinaryV1
// takes, in the SDK's writing order: constants a header walk returns as the
// name without building a string per header.
func BinaryAttributes() [8]string {
	return [8]string{"id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time"}
}

// The attributes' bits in binaryV1.seen, in BinaryAttributes' order.
const (
	attrID = 1 << iota
	attrSource
	attrSpecVersion
	attrType
	attrDataContentType
	attrDataSchema
	attrSubject
	attrTime
)

// set takes one header; it reports false once the message is the SDK's.
func (b *binaryV1) set(name string, ext bool, value string) bool {
	if ext {
		b.extension(name, value)
	} else {
		b.attribute(name, value)
	}
	return !b.failed
}

// attribute sets spec attribute name to value; a name that is not a
// CloudEvents 1.0 attribute fails, as the SDK's lookup does not take it.
func (b *binaryV1) attribute(name, value string) {
	var bit uint16
	for i, a := range BinaryAttributes() {
		if a == name {
			bit = 1 << i
			break
		}
	}
	if bit == 0 {
		b.failed = true
		return
	}
	if b.seen&bit != 0 {
		b.failed = true // which one the SDK keeps depends on map order
		return
	}
	b.seen |= bit
	var err error
	switch bit {
	case attrID:
		err = b.ec.SetID(value)
	case attrSource:
		err = b.ec.SetSource(value)
	case attrSpecVersion:
		b.spec = value == cloudevents.VersionV1
		b.failed = !b.spec
	case attrType:
		err = b.ec.SetType(value)
	case attrDataContentType:
		// A CloudEvents format as the content type is structured mode
		// (or a batch): the SDK reads the body, not the headers.
		b.failed = format.Lookup(value) != nil
		if !b.failed {
			err = b.ec.SetDataContentType(value)
		}
	case attrDataSchema:
		err = b.ec.SetDataSchema(value)
	case attrSubject:
		err = b.ec.SetSubject(value)
	case attrTime:
		t, terr := types.ToTime(value)
		if err = terr; err == nil {
			err = b.ec.SetTime(t)
		}
	}
	if err != nil {
		b.failed = true
	}
}

// extension sets extension name to value as the SDK's builder does
// (types.Validate, then SetExtension, which refuses a spec attribute's
// name and an invalid one).
func (b *binaryV1) extension(name, value string) {
	if _, ok := b.ec.Extensions[strings.ToLower(name)]; ok {
		b.failed = true
		return
	}
	v, err := types.Validate(value)
	if err == nil {
		err = b.ec.SetExtension(name, v)
	}
	if err != nil {
		b.failed = true
	}
}

// EncodeBinaryV1 is the binary-mode encoder of a CloudEvents 1.0 event that
// HTTP (a reply) and Kafka (a record) share: it calls set for each attribute
// the SDK's binary writer would write, with the same value (types.Format),
// in the SDK's order (id, source, specversion, type, datacontenttype,
// dataschema, subject, time, then the extensions), empty attributes left
// out. ext tells an extension from a spec attribute; each transport names
// the header (Kafka "ce_id", HTTP "Ce-Id"; datacontenttype is the
// content-type header of both). The SDK's generic writer walks every
// attribute through interfaces and was 43% of the producer's CPU and a
// fifth of a function's; FuzzEncodeBinaryV1 compares the two.
func EncodeBinaryV1(e *cloudevents.Event, set func(name string, ext bool, value string)) error {
	attr := func(name, v string) {
		if v != "" {
			set(name, false, v)
		}
	}
	attr("id", e.ID())
	attr("source", e.Source())
	attr("specversion", e.SpecVersion())
	attr("type", e.Type())
	attr("datacontenttype", e.DataContentType())
	attr("dataschema", e.DataSchema())
	attr("subject", e.Subject())
	if t := e.Time(); !t.IsZero() {
		v, err := types.Format(t)
		if err != nil {
			return fmt.Errorf("event %s: time: %w", e.ID(), err)
		}
		attr("time", v)
	}
	for name, val := range e.Extensions() {
		if val == nil {
			continue
		}
		v, err := types.Format(val)
		if err != nil {
			return fmt.Errorf("event %s: extension %s: %w", e.ID(), name, err)
		}
		set(name, true, v)
	}
	return nil
}
