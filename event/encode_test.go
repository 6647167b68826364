package event

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

func fuzzMetadata(id, user, text, label, key string, v, p float64, sec int64, nsec int32, offsetMin int16, withFields bool) Metadata {
	loc := time.UTC
	if offsetMin != 0 {
		loc = time.FixedZone("z", int(offsetMin)*60)
	}
	tw := Tweet{ID: id, User: user, Text: text, CreatedAt: time.Unix(sec, int64(nsec)).In(loc)}
	if withFields {
		tw.Fields = map[string]string{key: text, "lang": user, "": label}
		// The optional fields, from the same strings: empty ones must be
		// omitted, and an empty non-nil list too, as encoding/json does.
		tw.UserID, tw.Lang, tw.RetweetOf, tw.QuoteOf, tw.ReplyTo, tw.ConversationID = label, key, id, text, user, label
		tw.Hashtags, tw.URLs, tw.Mentions = []string{text, key}, []string{}, strings.Split(user, "a")
	}
	m := Metadata{TweetID: id, Model: "sentiment", ModelVersion: user, Value: v, Label: label, Tweet: tw}
	if key != "\x00nil" {
		m.Probabilities = map[string]float64{key: p, "negative": v, "z<&>": -p}
	}
	return m
}

// FuzzAppendMetadataJSON checks the hand-written encoder against
// encoding/json byte for byte, errors included: the wire contract is
// whatever json.Marshal of the Go types writes.
func FuzzAppendMetadataJSON(f *testing.F) {
	f.Add("t1", "u", "I love this <3 & more", "positive", "positive", 0.5, 0.25, int64(1), int32(0), int16(0), true)
	f.Add("", "", "", "", "", 0.0, 0.0, int64(0), int32(0), int16(0), false)
	f.Add("id\"\\", "\u2028\u2029", "a\x00\b\f\n\r\t\x1f\x7f\xff\xfe é 😀", "l", "\x00nil", 1e-7, 1e21, int64(1700000000), int32(123456789), int16(-330), true)
	f.Add("x", "y", "z", "l", "k", -1e-6, 123456789.125, int64(-62135596800), int32(1), int16(59), false)
	f.Add("x", "y", "z", "l", "k", math.NaN(), 0.0, int64(1), int32(0), int16(0), false)
	f.Add("x", "y", "z", "l", "k", 0.0, math.Inf(-1), int64(1), int32(0), int16(0), false)
	f.Add("x", "y", "z", "l", "k", 0.0, 5e-324, int64(253402300800), int32(0), int16(0), false) // year 10000
	f.Add("x", "y", "z", "l", "k", 0.0, 1.0, int64(1), int32(0), int16(1440), false)            // offset 24h
	f.Fuzz(func(t *testing.T, id, user, text, label, key string, v, p float64, sec int64, nsec int32, offsetMin int16, withFields bool) {
		m := fuzzMetadata(id, user, text, label, key, v, p, sec, nsec, offsetMin, withFields)
		want, wantErr := json.Marshal(m)
		got, gotErr := MarshalMetadataJSON(&m)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("error: encoding/json %v, ours %v", wantErr, gotErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("metadata JSON differs:\n got %s\nwant %s", got, want)
		}
		want, wantErr = json.Marshal(m.Tweet)
		got, gotErr = MarshalTweetJSON(&m.Tweet)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("tweet error: encoding/json %v, ours %v", wantErr, gotErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("tweet JSON differs:\n got %s\nwant %s", got, want)
		}
	})
}

// TestNewEventsMatchSDKEncoding: the events built with the fast encoder are
// the events SetData(ContentType, v) built before, in both CloudEvents
// encodings (structured mode would show a data_base64 difference).
func TestNewEventsMatchSDKEncoding(t *testing.T) {
	m := fuzzMetadata("t9", "bob", "hello <world> & \u2028 \xff", "positive", "positive", 0.75, 0.8, 1700000000, 5, 60, true)
	got, err := NewMetadataEvent(m)
	if err != nil {
		t.Fatal(err)
	}
	want := got.Clone()
	if err := want.SetData(ContentType, m); err != nil {
		t.Fatal(err)
	}
	sameEvent(t, got, want)
	dm, err := DecodeMetadata(&got)
	if err != nil {
		t.Fatal(err)
	}
	if dm.Tweet.Text != "hello <world> & \u2028 \ufffd" || dm.Value != m.Value || dm.Probabilities["z<&>"] != -0.8 {
		t.Fatalf("round trip text %q", dm.Tweet.Text)
	}

	gotT, err := NewTweetEvent(m.Tweet)
	if err != nil {
		t.Fatal(err)
	}
	wantT := gotT.Clone()
	if err := wantT.SetData(ContentType, m.Tweet); err != nil {
		t.Fatal(err)
	}
	sameEvent(t, gotT, wantT)

	bad := m
	bad.Value = math.NaN()
	if _, err := NewMetadataEvent(bad); err == nil {
		t.Fatal("NaN value encoded without an error")
	}
}

func sameEvent(t *testing.T, got, want cloudevents.Event) {
	t.Helper()
	if got.DataBase64 != want.DataBase64 || got.DataContentType() != want.DataContentType() || !bytes.Equal(got.Data(), want.Data()) {
		t.Fatalf("data differs: got base64=%v %s %s\nwant base64=%v %s %s", got.DataBase64, got.DataContentType(), got.Data(), want.DataBase64, want.DataContentType(), want.Data())
	}
	gj, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	wj, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gj, wj) {
		t.Fatalf("structured mode differs:\n got %s\nwant %s", gj, wj)
	}
}

// likeEncodingJSON is the body of a scanner's fuzz test: unmarshal gives
// what json.Unmarshal gives for the same data, value and error text.
func likeEncodingJSON[T any](unmarshal func([]byte, *T) error) func(*testing.T, []byte) {
	return func(t *testing.T, data []byte) {
		var want, got T
		wantErr := json.Unmarshal(data, &want)
		gotErr := unmarshal(data, &got)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Fatalf("error: encoding/json %v, ours %v", wantErr, gotErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded differently:\n got %#v\nwant %#v", got, want)
		}
	}
}

// FuzzUnmarshalTweet checks the tweet scanner against json.Unmarshal: the
// same Tweet, the same error text, for every input.
func FuzzUnmarshalTweet(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","user":"u","text":"hi \u003c3 \"q\" \\ \/ \b\f\n\r\t é 😀","created_at":"2009-04-06T22:19:45.123+02:00","fields":{"lang":"en","":"\u00e9"}}`,
		` { "id" : "1" , "text" : "x" } `, `{}`, `null`, `{"id":1}`, `{"ID":"x"}`, `{"id":"a","id":"b"}`,
		`{"fields":{"a":"1"},"fields":{"b":"2"}}`, `{"fields":{}}`, `{"fields":null}`, `{"text":"\ud83d\ude00"}`,
		`{"text":"\ud800"}`, "{\"text\":\"\xff\"}", `{"created_at":""}`, `{"created_at":"bad"}`, `{"id":"1",}`,
		`{"id":"1"} x`, `{"id":"1"`, `{"\u0069d":"x"}`, `{"extra":{"a":[1,2]},"id":"1"}`, `{"id":"\u12G4"}`,
		`{"id":"1","user_id":"9","lang":"en","retweet_of":"2","quote_of":"3","reply_to":"4","conversation_id":"5","hashtags":["a","b\u00e9"],"urls":["https://x.y/?a=1&b=2"],"mentions":[]}`,
		`{"hashtags":null}`, `{"hashtags":[null]}`, `{"hashtags":["a",]}`, `{"hashtags":[ "a" , "b" ]}`, `{"urls":[1]}`,
		`{"mentions":["a"],"mentions":["b"]}`, `{"lang":null}`, `{"user_id":"1","User_ID":"2"}`, `{"hashtags":[`, `{"hashtags":["a"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(likeEncodingJSON(unmarshalTweet))
}

// The scanner must take what tweetflow itself writes, or it only adds work.
func TestScanTweetTakesCanonicalShape(t *testing.T) {
	m := fuzzMetadata("t9", "bob", "hello <world> & \u2028 \"é\" \n😀", "positive", "positive", 0.75, 0.8, 1700000000, 5, 60, true)
	data, err := MarshalTweetJSON(&m.Tweet)
	if err != nil {
		t.Fatal(err)
	}
	var got Tweet
	if !scanTweet(data, &got) {
		t.Fatalf("fast path refused %s", data)
	}
	want := m.Tweet
	want.URLs = nil // empty: omitted on the wire
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("created_at %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt = want.CreatedAt
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	if got.UserID == "" || len(got.Hashtags) != 2 || got.RetweetOf == "" {
		t.Fatalf("the optional fields were not exercised: %#v", got)
	}
}

// FuzzUnmarshalMetadata checks the metadata scanner against json.Unmarshal.
func FuzzUnmarshalMetadata(f *testing.F) {
	m := fuzzMetadata("t9", "bob", "hello <world> & \u2028 \"é\"", "positive", "positive", 0.75, 0.8, 1700000000, 5, 60, true)
	canonical, _ := json.Marshal(m)
	for _, s := range []string{
		string(canonical), `{}`, `null`, `{"value":-0}`, `{"value":1e400}`, `{"value":01}`, `{"value":-}`, `{"value":1.}`,
		`{"value":1.5e-3,"probabilities":{"a":1E+2,"b":-0.0}}`, `{"value":"1"}`, `{"probabilities":null}`, `{"probabilities":{}}`,
		`{"tweet":{"id":"1","text":"x","created_at":"2020-01-01T00:00:00Z"},"tweet_id":"1"}`, `{"tweet":null}`,
		`{"Model":"m"}`, `{"model":"a","model":"b"}`, `{"value":2,"value":3}`, `{"tweet":{"id":"1","ID":"2"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(likeEncodingJSON(unmarshalMetadata))
}

func TestScanMetadataTakesCanonicalShape(t *testing.T) {
	m := fuzzMetadata("t9", "bob", "hello", "positive", "positive", 0.75, 0.8, 1700000000, 5, 0, false)
	data, err := MarshalMetadataJSON(&m)
	if err != nil {
		t.Fatal(err)
	}
	var got Metadata
	s := scanner{b: data}
	if !s.metadata(&got) || !s.end() {
		t.Fatalf("fast path refused %s", data)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("got %#v, want %#v", got, m)
	}
}
