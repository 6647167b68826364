package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

func sampleRecord() Record {
	tw := sampleTweet()
	tw.UserID, tw.RetweetOf, tw.URLs = "42", "1467810000", []string{"https://news.example/a?b=1&c=2"}
	return Record{Tweet: tw, Results: []RecordResult{
		{Model: "sentiment", ModelVersion: "1.0.0", Value: -0.5, Label: "negative"},
		{Model: "offense", Value: 0.125, Label: "not_offensive"},
	}}
}

func TestRecordEventRoundTrip(t *testing.T) {
	r := sampleRecord()
	e, err := NewRecordEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	// The id is derived from the tweet and the models, in any order.
	if want := "1467810369/stored/offense+sentiment"; e.ID() != want {
		t.Fatalf("id %q, want %q", e.ID(), want)
	}
	if e.Type() != TypeRecord || e.Source() != SourceAggregator || e.Subject() != r.Tweet.ID || !e.Time().Equal(r.Tweet.CreatedAt) {
		t.Fatalf("envelope: type=%q source=%q subject=%q time=%v", e.Type(), e.Source(), e.Subject(), e.Time())
	}
	if pk := e.Extensions()[ExtPartitionKey]; pk != r.Tweet.ID {
		t.Fatalf("partitionkey %v, want the tweet id", pk)
	}
	got, err := DecodeRecord(throughWire(t, e))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("decoded %+v\nwant %+v", got, r)
	}
	// A timed-out write with no result at all (the store takes it).
	r = Record{Tweet: sampleTweet(), TimedOut: true}
	r.Tweet.Text = ""
	e, err = NewRecordEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = DecodeRecord(throughWire(t, e)); err != nil || !got.TimedOut || got.Results != nil {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}

// The hand-written encoder writes what encoding/json writes.
func FuzzMarshalRecordJSON(f *testing.F) {
	f.Add("1", "u", "hi <3 \u2028", "m", "1.0", "l", 0.5, true, true)
	f.Add("", "", "", "", "", "", 0.0, false, false)
	f.Add("x", "y", "\xff", "m", "", "\x00", 1e21, false, true)
	f.Add("x", "y", "z", "m", "", "l", math.NaN(), false, true)
	f.Fuzz(func(t *testing.T, id, user, text, model, version, label string, v float64, timedOut, withResults bool) {
		r := Record{Tweet: Tweet{ID: id, User: user, Text: text, CreatedAt: time.Unix(1700000000, 5).UTC(), URLs: []string{text}}, TimedOut: timedOut}
		if withResults {
			r.Results = []RecordResult{{Model: model, ModelVersion: version, Value: v, Label: label}, {Model: "b", Value: -v, Label: label}}
		}
		want, wantErr := json.Marshal(r)
		got, gotErr := marshalRecordJSON(&r)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("error: encoding/json %v, ours %v", wantErr, gotErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record JSON differs:\n got %s\nwant %s", got, want)
		}
	})
}

func TestDecodeRecordErrors(t *testing.T) {
	good, err := NewRecordEvent(sampleRecord())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, field string
		edit        func(m map[string]any)
	}{
		{"wrong type", "type", func(m map[string]any) { m["type"] = TypeTweet }},
		{"no tweet", "data", func(m map[string]any) { delete(m["data"].(map[string]any), "tweet") }},
		{"no tweet id", "data.tweet.id", func(m map[string]any) { tweetOf(m)["id"] = " " }},
		{"no time", "data.tweet.created_at", func(m map[string]any) { delete(tweetOf(m), "created_at") }},
		{"long url", "data.tweet.urls[0]", func(m map[string]any) { tweetOf(m)["urls"] = []string{strings.Repeat("u", MaxURLBytes+1)} }},
		{"long user id", "data.tweet.user_id", func(m map[string]any) { tweetOf(m)["user_id"] = strings.Repeat("9", MaxIDBytes+1) }},
		{"bad model", "data.results[1].model", func(m map[string]any) { resultOf(m, 1)["model"] = "Off" }},
		{"model twice", "data.results[1].model", func(m map[string]any) { resultOf(m, 1)["model"] = "sentiment" }},
		{"no label", "data.results[0].label", func(m map[string]any) { resultOf(m, 0)["label"] = "" }},
		{"results not a list", "data", func(m map[string]any) { m["data"].(map[string]any)["results"] = "x" }},
		{"id not derived", "id", func(m map[string]any) { m["id"] = "1467810369" }},
		{"subject", "subject", func(m map[string]any) { m["subject"] = "other" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw, _ := json.Marshal(good)
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			c.edit(m)
			raw, _ = json.Marshal(m)
			var e cloudevents.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			_, err := DecodeRecord(&e)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || fe.EventID != e.ID() {
				t.Fatalf("got %v, want a FieldError of event %s naming %s", err, e.ID(), c.field)
			}
		})
	}
}

func tweetOf(m map[string]any) map[string]any {
	return m["data"].(map[string]any)["tweet"].(map[string]any)
}

func resultOf(m map[string]any, i int) map[string]any {
	return m["data"].(map[string]any)["results"].([]any)[i].(map[string]any)
}

// Whatever arrives, DecodeRecord returns a record or a *FieldError, and
// what it accepts re-encodes to an event with the same id.
func FuzzDecodeRecord(f *testing.F) {
	good, _ := NewRecordEvent(sampleRecord())
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"specversion":"1.0","id":"1/stored/","source":"/x","type":"dev.tweetflow.record.v1","data":{"tweet":{"id":"1","created_at":"2009-04-06T22:19:45Z"},"results":[]}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1/stored/m","source":"/x","type":"dev.tweetflow.record.v1","data":{"tweet":{"id":"1","created_at":"2009-04-06T22:19:45Z"},"results":[{"model":"m","label":"x","value":1e400}]}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1/stored/m","source":"/x","type":"dev.tweetflow.record.v1","data":{"tweet":null,"results":[{"model":"m"}]}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/x","type":"dev.tweetflow.record.v1","data":"str"}`))
	f.Fuzz(fuzzDecoder(DecodeRecord, func(t *testing.T, r Record) {
		if strings.TrimSpace(r.Tweet.ID) == "" || r.Tweet.CreatedAt.IsZero() {
			t.Fatalf("accepted an invalid record %+v", r)
		}
		e, err := NewRecordEvent(r)
		if err != nil {
			t.Fatalf("accepted record does not re-encode: %v", err)
		}
		back, err := DecodeRecord(throughWire(t, e))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if back.Tweet.ID != r.Tweet.ID || len(back.Results) != len(r.Results) {
			t.Fatalf("round trip changed the record: %+v -> %+v", r, back)
		}
	}))
}
