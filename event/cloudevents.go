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
	var t Tweet
	if err := checkEnvelope(e, TypeTweet); err != nil {
		return t, err
	}
	if err := unmarshalTweet(e.Data(), &t); err != nil {
		return t, &FieldError{e.ID(), "data", "not a tweet JSON object: " + err.Error()}
	}
	if err := t.Validate(e.ID()); err != nil {
		return t, err
	}
	return t, nil
}

// DecodeMetadata checks that e is a valid metadata event and returns its data.
func DecodeMetadata(e *cloudevents.Event) (Metadata, error) {
	var m Metadata
	if err := checkEnvelope(e, TypeMetadata); err != nil {
		return m, err
	}
	if err := unmarshalMetadata(e.Data(), &m); err != nil {
		return m, &FieldError{e.ID(), "data", "not a metadata JSON object: " + err.Error()}
	}
	if err := m.Validate(e.ID()); err != nil {
		return m, err
	}
	if ext, ok := e.Extensions()[ExtModel]; ok {
		if s, _ := ext.(string); s != m.Model {
			return m, &FieldError{e.ID(), ExtModel, fmt.Sprintf("extension %q does not match data.model %q", s, m.Model)}
		}
	}
	return m, nil
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
