package event

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
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
	got, err := DecodeTweet(throughWire(t, e))
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
	tweetEv, err := NewTweetEvent(sampleTweet())
	if err != nil {
		t.Fatal(err)
	}
	metaEv, err := NewMetadataEvent(sampleMetadata())
	if err != nil {
		t.Fatal(err)
	}
	// changed is a deep copy of e (Clone: the cases must not share the
	// extensions map or the data) changed by mod.
	changed := func(e cloudevents.Event, mod func(*cloudevents.Event)) *cloudevents.Event {
		c := e.Clone()
		mod(&c)
		return &c
	}
	setData := func(v any) func(*cloudevents.Event) {
		return func(e *cloudevents.Event) {
			if err := e.SetData(ContentType, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	// tweetEvent and metaEvent decode the sample event changed by mod;
	// tweetData and metaData one whose data is the sample changed by edit.
	tweetEvent := func(mod func(*cloudevents.Event)) func() error {
		return func() error { _, err := DecodeTweet(changed(tweetEv, mod)); return err }
	}
	metaEvent := func(mod func(*cloudevents.Event)) func() error {
		return func() error { _, err := DecodeMetadata(changed(metaEv, mod)); return err }
	}
	tweetData := func(edit func(*Tweet)) func() error {
		tw := sampleTweet()
		edit(&tw)
		return tweetEvent(setData(tw))
	}
	metaData := func(edit func(*Metadata)) func() error {
		m := sampleMetadata()
		edit(&m)
		return metaEvent(setData(m))
	}
	cases := []struct {
		name    string
		decode  func() error
		field   string
		eventID string
	}{
		{"nil tweet", func() error { _, err := DecodeTweet(nil); return err }, "event", ""},
		{"wrong type", tweetEvent(func(e *cloudevents.Event) { e.SetType(TypeMetadata) }), "type", "1467810369"},
		{"missing source", tweetEvent(func(e *cloudevents.Event) { e.SetSource("") }), "attributes", "1467810369"},
		{"xml content type", tweetEvent(func(e *cloudevents.Event) { e.SetDataContentType("application/xml") }), "datacontenttype", "1467810369"},
		{"empty data", tweetEvent(func(e *cloudevents.Event) { e.DataEncoded = nil }), "data", "1467810369"},
		{"not json", tweetEvent(func(e *cloudevents.Event) { e.DataEncoded = []byte("{nope") }), "data", "1467810369"},
		{"empty text", tweetData(func(tw *Tweet) { tw.Text = "  " }), "data.text", "1467810369"},
		{"no timestamp", tweetData(func(tw *Tweet) { tw.CreatedAt = time.Time{} }), "data.created_at", "1467810369"},
		{"no tweet id", tweetData(func(tw *Tweet) { tw.ID = "" }), "data.id", "1467810369"},
		{"bad model name", metaData(func(m *Metadata) { m.Model = "Sentiment-Model" }), "data.model", "1467810369/sentiment"},
		{"model extension mismatch", metaEvent(func(e *cloudevents.Event) { e.SetExtension(ExtModel, "offense") }), ExtModel, "1467810369/sentiment"},
		{"missing label", metaData(func(m *Metadata) { m.Label = "" }), "data.label", "1467810369/sentiment"},
		{"tweet id mismatch", metaData(func(m *Metadata) { m.Tweet.ID = "42" }), "data.tweet.id", "1467810369/sentiment"},
		{"metadata without tweet_id", metaData(func(m *Metadata) { m.TweetID = "" }), "data.tweet_id", "1467810369/sentiment"},
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
		"sentiment": true, "offense": true, "m2_x": true, "a": true, strings.Repeat("a", 40): true,
		"foo_": false, "_foo": false, "": false, "2m": false, "Sentiment": false, "a-b": false, "a b": false,
		"x; DROP TABLE tweets": false, strings.Repeat("a", 41): false,
	} {
		if got := ValidModelName(name); got != want {
			t.Errorf("ValidModelName(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzValidModelName checks the byte loop against ModelNamePattern itself.
func FuzzValidModelName(f *testing.F) {
	for _, s := range []string{"sentiment", "m2_x", "a", "foo_", "_foo", "", "2m", "a-b", strings.Repeat("a", 40), strings.Repeat("a", 41), "é", "a\n"} {
		f.Add(s)
	}
	re := regexp.MustCompile(ModelNamePattern)
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := ValidModelName(name), re.MatchString(name); got != want {
			t.Errorf("ValidModelName(%q) = %v, the pattern says %v", name, got, want)
		}
	})
}

// throughWire returns e as a transport hands it on: encoded to the
// structured JSON wire format and decoded again.
func throughWire(t *testing.T, e cloudevents.Event) *cloudevents.Event {
	t.Helper()
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back cloudevents.Event
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

// fuzzDecoder is the body of a decoder's fuzz test: raw JSON that is an
// event at all either decodes, and accepted checks the value, or fails with
// a *FieldError.
func fuzzDecoder[T any](decode func(*cloudevents.Event) (T, error), accepted func(t *testing.T, v T)) func(*testing.T, []byte) {
	return func(t *testing.T, raw []byte) {
		var e cloudevents.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return
		}
		v, err := decode(&e)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		accepted(t, v)
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
	f.Fuzz(fuzzDecoder(DecodeTweet, func(t *testing.T, tw Tweet) {
		if tw.ID == "" || strings.TrimSpace(tw.Text) == "" || tw.CreatedAt.IsZero() {
			t.Fatalf("accepted an invalid tweet %+v", tw)
		}
		if _, err := NewTweetEvent(tw); err != nil {
			t.Fatalf("accepted tweet does not re-encode: %v", err)
		}
	}))
}

func FuzzDecodeMetadata(f *testing.F) {
	good, _ := NewMetadataEvent(sampleMetadata())
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"specversion":"1.0","id":"1/m","source":"/x","type":"dev.tweetflow.metadata.v1","model":"m","data":{"tweet_id":"1","model":"m","label":"x"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1/m","source":"/x","type":"dev.tweetflow.metadata.v1","model":7,"data":{"tweet_id":"1","model":"m","label":"x"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1/m","source":"/x","type":"dev.tweetflow.metadata.v1","data":{"tweet_id":"1","model":"M","label":"x","value":"nan"}}`))
	f.Fuzz(fuzzDecoder(DecodeMetadata, func(t *testing.T, m Metadata) {
		if m.TweetID == "" || !ValidModelName(m.Model) || m.Label == "" {
			t.Fatalf("accepted invalid metadata %+v", m)
		}
		if _, err := NewMetadataEvent(m); err != nil {
			t.Fatalf("accepted metadata does not re-encode: %v", err)
		}
	}))
}

func TestTweetOptionalFieldsOmittedWhenEmpty(t *testing.T) {
	// A tweet without the new fields encodes to the bytes it always did.
	tw := sampleTweet()
	b, err := MarshalTweetJSON(&tw)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"1467810369","user":"_TheSpecialOne_","text":"@switchfoot Awww, that's a bummer.","created_at":"2009-04-07T05:19:45Z","fields":{"target":"0"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	// An old reader (a struct without the fields) ignores the new ones.
	tw.UserID, tw.RetweetOf, tw.Hashtags = "42", "7", []string{"go"}
	b, err = MarshalTweetJSON(&tw)
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		ID, User, Text string
		CreatedAt      time.Time `json:"created_at"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&old); err != nil || old.ID != tw.ID || old.Text != tw.Text {
		t.Fatalf("old reader: %v %+v", err, old)
	}
}

func TestTweetValidateBounds(t *testing.T) {
	big := strings.Repeat("9", 10<<10)
	for _, tc := range []struct {
		name  string
		edit  func(*Tweet)
		field string
	}{
		{"10 KB account id", func(tw *Tweet) { tw.UserID = big }, "data.user_id"},
		{"10 KB tweet id", func(tw *Tweet) { tw.ID = big }, "data.id"},
		{"10 KB retweet_of", func(tw *Tweet) { tw.RetweetOf = big }, "data.retweet_of"},
		{"10 KB conversation", func(tw *Tweet) { tw.ConversationID = big }, "data.conversation_id"},
		{"10 KB handle", func(tw *Tweet) { tw.User = big }, "data.user"},
		{"long lang", func(tw *Tweet) { tw.Lang = big[:36] }, "data.lang"},
		{"10 KB URL", func(tw *Tweet) { tw.URLs = []string{"https://a", "https://" + big} }, "data.urls[1]"},
		{"empty hashtag", func(tw *Tweet) { tw.Hashtags = []string{""} }, "data.hashtags[0]"},
		{"hashtag with #", func(tw *Tweet) { tw.Hashtags = []string{"#go"} }, "data.hashtags[0]"},
		{"mention with @", func(tw *Tweet) { tw.Mentions = []string{"@bob"} }, "data.mentions[0]"},
		{"too many mentions", func(tw *Tweet) { tw.Mentions = make([]string, MaxListLen+1) }, "data.mentions"},
		{"huge text", func(tw *Tweet) { tw.Text = strings.Repeat("x", MaxTextBytes+1) }, "data.text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := sampleTweet()
			tc.edit(&tw)
			err := tw.Validate("e1")
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.EventID != "e1" {
				t.Fatalf("got %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	tw := sampleTweet()
	tw.UserID, tw.Lang, tw.URLs = strings.Repeat("1", MaxIDBytes), "en", []string{strings.Repeat("u", MaxURLBytes)}
	if err := tw.Validate("e1"); err != nil {
		t.Fatalf("values at the bounds rejected: %v", err)
	}
}

func TestTweetClip(t *testing.T) {
	big := strings.Repeat("x", 10<<10)
	tw := sampleTweet()
	keep := []string{"https://a", "https://" + big, "", "https://b"}
	tw.URLs = keep
	tw.Hashtags = []string{"#go", "rust", "#"}
	tw.Mentions = make([]string, MaxListLen+3)
	for i := range tw.Mentions {
		tw.Mentions[i] = "m"
	}
	if n := tw.Clip(); n != 2+1+3 {
		t.Fatalf("Clip removed %d, want 6", n)
	}
	if !slices.Equal(tw.URLs, []string{"https://a", "https://b"}) || !slices.Equal(tw.Hashtags, []string{"go", "rust"}) || len(tw.Mentions) != MaxListLen {
		t.Fatalf("after Clip: urls %q hashtags %q mentions %d", tw.URLs, tw.Hashtags, len(tw.Mentions))
	}
	if keep[1] != "https://"+big {
		t.Fatal("Clip edited the caller's slice in place")
	}
	if err := tw.Validate("e1"); err != nil {
		t.Fatalf("clipped tweet invalid: %v", err)
	}
	clean := sampleTweet()
	clean.Hashtags = []string{"a"}
	if n := clean.Clip(); n != 0 || len(clean.Hashtags) != 1 {
		t.Fatalf("Clip changed a clean tweet: %d %q", n, clean.Hashtags)
	}
}

// FuzzTweetClipValidate: whatever the lists hold, Clip then Validate never
// panics and leaves no list error behind.
func FuzzTweetClipValidate(f *testing.F) {
	f.Add("#a", "", "@b", 3)
	f.Add(strings.Repeat("x", 5000), "#", "@", 200)
	f.Fuzz(func(t *testing.T, a, b, c string, n int) {
		n = max(0, min(n, 300))
		tw := sampleTweet()
		for i := range n {
			tw.Hashtags = append(tw.Hashtags, a)
			tw.URLs = append(tw.URLs, strings.Repeat(b, i%3))
			tw.Mentions = append(tw.Mentions, c)
		}
		tw.Clip()
		if err := tw.Validate("e"); err != nil {
			t.Fatalf("after Clip: %v", err)
		}
	})
}

// A valid tweet is checked without allocating: Validate runs on every
// tweet read and every record stored, and the field names it reports are
// built only for an error.
func TestTweetValidateAllocatesNothing(t *testing.T) {
	tw := sampleTweet()
	tw.Hashtags, tw.URLs, tw.Mentions = []string{"go"}, []string{"https://example.org/a"}, []string{"bob"}
	if n := testing.AllocsPerRun(100, func() {
		if err := tw.Validate("e1"); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Validate of a valid tweet: %v allocations, want 0", n)
	}
}
