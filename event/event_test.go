package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

func sampleTweet() Tweet {
	return Tweet{
		ID:        "1467810369",
		User:      "_TheSpecialOne_",
		Text:      "@switchfoot Awww, that's a bummer.",
		CreatedAt: time.Date(2009, 4, 7, 5, 19, 45, 0, time.UTC),
		Fields:    map[string]string{"target": "0"},
	}
}

func sampleMetadata() Metadata {
	return Metadata{
		TweetID:       "1467810369",
		Model:         "sentiment",
		ModelVersion:  "1.0.0",
		Value:         -0.5,
		Label:         "negative",
		Probabilities: map[string]float64{"negative": 0.6, "neutral": 0.3, "positive": 0.1},
		Tweet:         sampleTweet(),
	}
}

func TestTweetEventRoundTrip(t *testing.T) {
	tw := sampleTweet()
	e, err := NewTweetEvent(tw)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != tw.ID || e.Type() != TypeTweet || e.Source() != SourceProducer || !e.Time().Equal(tw.CreatedAt) {
		t.Fatalf("envelope: id=%q type=%q source=%q time=%v", e.ID(), e.Type(), e.Source(), e.Time())
	}
	if pk := e.Extensions()[ExtPartitionKey]; pk != tw.ID {
		t.Fatalf("partitionkey = %v, want %q", pk, tw.ID)
	}
	// Through the wire format and back: what a transport does.
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back cloudevents.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeTweet(&back)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tw.ID || got.User != tw.User || got.Text != tw.Text || !got.CreatedAt.Equal(tw.CreatedAt) || got.Fields["target"] != "0" {
		t.Fatalf("decoded %+v, want %+v", got, tw)
	}
}

func TestMetadataEventRoundTrip(t *testing.T) {
	m := sampleMetadata()
	e, err := NewMetadataEvent(m)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != "1467810369/sentiment" || e.Source() != FunctionSource("sentiment") || e.Subject() != m.TweetID {
		t.Fatalf("envelope: id=%q source=%q subject=%q", e.ID(), e.Source(), e.Subject())
	}
	if e.Extensions()[ExtModel] != "sentiment" {
		t.Fatalf("model extension = %v", e.Extensions()[ExtModel])
	}
	got, err := DecodeMetadata(&e)
	if err != nil {
		t.Fatal(err)
	}
	if got.TweetID != m.TweetID || got.Model != m.Model || got.Value != m.Value || got.Label != m.Label ||
		got.Probabilities["neutral"] != 0.3 || got.Tweet.Text != m.Tweet.Text || got.ModelVersion != "1.0.0" {
		t.Fatalf("decoded %+v, want %+v", got, m)
	}
}

// Every decode failure must be a *FieldError naming the event and the field,
// so that transports can answer "poison" (4xx) instead of "retry".
func TestDecodeErrorsNameField(t *testing.T) {
	mustTweet := func(mod func(*cloudevents.Event)) *cloudevents.Event {
		e, err := NewTweetEvent(sampleTweet())
		if err != nil {
			t.Fatal(err)
		}
		mod(&e)
		return &e
	}
	mustMeta := func(mod func(*cloudevents.Event)) *cloudevents.Event {
		e, err := NewMetadataEvent(sampleMetadata())
		if err != nil {
			t.Fatal(err)
		}
		mod(&e)
		return &e
	}
	setData := func(v any) func(*cloudevents.Event) {
		return func(e *cloudevents.Event) {
			if err := e.SetData(ContentType, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name    string
		decode  func() error
		field   string
		eventID string
	}{
		{"nil tweet", func() error { _, err := DecodeTweet(nil); return err }, "event", ""},
		{"wrong type", func() error {
			_, err := DecodeTweet(mustTweet(func(e *cloudevents.Event) { e.SetType(TypeMetadata) }))
			return err
		}, "type", "1467810369"},
		{"missing source", func() error {
			_, err := DecodeTweet(mustTweet(func(e *cloudevents.Event) { e.SetSource("") }))
			return err
		}, "attributes", "1467810369"},
		{"xml content type", func() error {
			_, err := DecodeTweet(mustTweet(func(e *cloudevents.Event) { e.SetDataContentType("application/xml") }))
			return err
		}, "datacontenttype", "1467810369"},
		{"empty data", func() error {
			_, err := DecodeTweet(mustTweet(func(e *cloudevents.Event) { e.DataEncoded = nil }))
			return err
		}, "data", "1467810369"},
		{"not json", func() error {
			_, err := DecodeTweet(mustTweet(func(e *cloudevents.Event) { e.DataEncoded = []byte("{nope") }))
			return err
		}, "data", "1467810369"},
		{"empty text", func() error {
			tw := sampleTweet()
			tw.Text = "  "
			_, err := DecodeTweet(mustTweet(setData(tw)))
			return err
		}, "data.text", "1467810369"},
		{"no timestamp", func() error {
			tw := sampleTweet()
			tw.CreatedAt = time.Time{}
			_, err := DecodeTweet(mustTweet(setData(tw)))
			return err
		}, "data.created_at", "1467810369"},
		{"no tweet id", func() error {
			tw := sampleTweet()
			tw.ID = ""
			_, err := DecodeTweet(mustTweet(setData(tw)))
			return err
		}, "data.id", "1467810369"},
		{"bad model name", func() error {
			m := sampleMetadata()
			m.Model = "Sentiment-Model"
			_, err := DecodeMetadata(mustMeta(setData(m)))
			return err
		}, "data.model", "1467810369/sentiment"},
		{"model extension mismatch", func() error {
			_, err := DecodeMetadata(mustMeta(func(e *cloudevents.Event) { e.SetExtension(ExtModel, "offense") }))
			return err
		}, ExtModel, "1467810369/sentiment"},
		{"missing label", func() error {
			m := sampleMetadata()
			m.Label = ""
			_, err := DecodeMetadata(mustMeta(setData(m)))
			return err
		}, "data.label", "1467810369/sentiment"},
		{"tweet id mismatch", func() error {
			m := sampleMetadata()
			m.Tweet.ID = "42"
			_, err := DecodeMetadata(mustMeta(setData(m)))
			return err
		}, "data.tweet.id", "1467810369/sentiment"},
		{"metadata without tweet_id", func() error {
			m := sampleMetadata()
			m.TweetID = ""
			_, err := DecodeMetadata(mustMeta(setData(m)))
			return err
		}, "data.tweet_id", "1467810369/sentiment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.decode()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if fe.Field != c.field || fe.EventID != c.eventID {
				t.Fatalf("got field %q event %q, want field %q event %q (%v)", fe.Field, fe.EventID, c.field, c.eventID, err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("message %q does not name the field", err)
			}
		})
	}
}

func TestValidModelName(t *testing.T) {
	for name, want := range map[string]bool{
		"sentiment": true, "offense": true, "m2_x": true,
		"": false, "2m": false, "Sentiment": false, "a-b": false, "a b": false,
		"x; DROP TABLE tweets": false, strings.Repeat("a", 41): false,
	} {
		if got := ValidModelName(name); got != want {
			t.Errorf("ValidModelName(%q) = %v, want %v", name, got, want)
		}
	}
}

// The decoders see bytes from the network: whatever arrives, they return a
// value or a *FieldError, never panic, and what they accept re-encodes.
func FuzzDecodeTweet(f *testing.F) {
	good, _ := NewTweetEvent(sampleTweet())
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/x","type":"dev.tweetflow.tweet.v1","data":{"id":"1","text":"hi","created_at":"2009-04-06T22:19:45Z"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/x","type":"dev.tweetflow.tweet.v1","data":"str"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/x","type":"dev.tweetflow.tweet.v1","data":{"id":"1","text":"\u0000","created_at":"bad"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var e cloudevents.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return
		}
		tw, err := DecodeTweet(&e)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		if tw.ID == "" || strings.TrimSpace(tw.Text) == "" || tw.CreatedAt.IsZero() {
			t.Fatalf("accepted an invalid tweet %+v", tw)
		}
		if _, err := NewTweetEvent(tw); err != nil {
			t.Fatalf("accepted tweet does not re-encode: %v", err)
		}
	})
}

func FuzzDecodeMetadata(f *testing.F) {
	good, _ := NewMetadataEvent(sampleMetadata())
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"specversion":"1.0","id":"1/m","source":"/x","type":"dev.tweetflow.metadata.v1","model":"m","data":{"tweet_id":"1","model":"m","label":"x"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1/m","source":"/x","type":"dev.tweetflow.metadata.v1","model":7,"data":{"tweet_id":"1","model":"m","label":"x"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1/m","source":"/x","type":"dev.tweetflow.metadata.v1","data":{"tweet_id":"1","model":"M","label":"x","value":"nan"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var e cloudevents.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return
		}
		m, err := DecodeMetadata(&e)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		if m.TweetID == "" || !ValidModelName(m.Model) || m.Label == "" {
			t.Fatalf("accepted invalid metadata %+v", m)
		}
		if _, err := NewMetadataEvent(m); err != nil {
			t.Fatalf("accepted metadata does not re-encode: %v", err)
		}
	})
}
