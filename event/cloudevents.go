package event

import (
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// NewTweetEvent builds the TypeTweet CloudEvent for t: id = tweet id, time =
// the tweet's own timestamp, partitionkey = tweet id.
func NewTweetEvent(t Tweet) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	e.SetID(t.ID)
	e.SetSource(SourceProducer)
	e.SetType(TypeTweet)
	e.SetTime(t.CreatedAt)
	e.SetSubject(t.ID)
	e.SetExtension(ExtPartitionKey, t.ID)
	data, err := MarshalTweetJSON(&t)
	if err != nil {
		return e, fmt.Errorf("tweet %s: encode data: %w", t.ID, err)
	}
	setJSONData(&e, data)
	return e, nil
}

// NewMetadataEvent builds the TypeMetadata CloudEvent for m. Its id is
// MetadataID(tweet, model), so a redelivery produces the same event.
func NewMetadataEvent(m Metadata) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	e.SetID(MetadataID(m.TweetID, m.Model))
	e.SetSource(FunctionSource(m.Model))
	e.SetType(TypeMetadata)
	if !m.Tweet.CreatedAt.IsZero() {
		e.SetTime(m.Tweet.CreatedAt)
	}
	e.SetSubject(m.TweetID)
	e.SetExtension(ExtModel, m.Model)
	e.SetExtension(ExtPartitionKey, m.TweetID)
	data, err := MarshalMetadataJSON(&m)
	if err != nil {
		return e, fmt.Errorf("metadata %s: encode data: %w", e.ID(), err)
	}
	setJSONData(&e, data)
	return e, nil
}

// setJSONData sets already encoded JSON as e's data: what e.SetData(
// ContentType, v) does for a value v, minus the reflection. (SetData with a
// []byte would mark the data as base64, which changes structured mode.)
func setJSONData(e *cloudevents.Event, data []byte) {
	e.SetDataContentType(ContentType)
	e.DataEncoded = data
	e.DataBase64 = false
}

// DecodeTweet checks that e is a valid tweet event and returns its data.
// Errors are *FieldError values naming the event id and the field.
func DecodeTweet(e *cloudevents.Event) (Tweet, error) {
	return decodeData(e, TypeTweet, "a tweet", unmarshalTweet)
}

// DecodeMetadata checks that e is a valid metadata event and returns its data.
func DecodeMetadata(e *cloudevents.Event) (Metadata, error) {
	m, err := decodeData(e, TypeMetadata, "a metadata", unmarshalMetadata)
	if err != nil {
		return m, err
	}
	if ext, ok := e.Extensions()[ExtModel]; ok {
		if s, _ := ext.(string); s != m.Model {
			return m, &FieldError{e.ID(), ExtModel, fmt.Sprintf("extension %q does not match data.model %q", s, m.Model)}
		}
	}
	return m, nil
}

// decodeData is what every Decode does first: check e's envelope against
// wantType, unmarshal its data and validate that; what ("a tweet") names the
// data in the error of a bad JSON object. On an error the data decoded so far
// is returned with it.
func decodeData[T any, P interface {
	*T
	Validate(eventID string) error
}](e *cloudevents.Event, wantType, what string, unmarshal func([]byte, P) error) (T, error) {
	var v T
	if err := checkEnvelope(e, wantType); err != nil {
		return v, err
	}
	if err := unmarshal(e.Data(), &v); err != nil {
		return v, &FieldError{e.ID(), "data", "not " + what + " JSON object: " + err.Error()}
	}
	return v, P(&v).Validate(e.ID())
}

func checkEnvelope(e *cloudevents.Event, wantType string) error {
	if e == nil {
		return &FieldError{"", "event", "nil event"}
	}
	if err := e.Validate(); err != nil {
		return &FieldError{e.ID(), "attributes", err.Error()}
	}
	if e.Type() != wantType {
		return &FieldError{e.ID(), "type", fmt.Sprintf("got %q, want %q", e.Type(), wantType)}
	}
	if ct := e.DataContentType(); ct != "" && ct != ContentType && ct != "text/json" {
		return &FieldError{e.ID(), "datacontenttype", fmt.Sprintf("got %q, want %q", ct, ContentType)}
	}
	if len(e.Data()) == 0 {
		return &FieldError{e.ID(), "data", "empty"}
	}
	return nil
}
