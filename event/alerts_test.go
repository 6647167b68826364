package event

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

func sampleAlerts() []Alert {
	start := time.Date(2009, 4, 6, 22, 19, 0, 0, time.UTC)
	end := start.Add(time.Minute)
	return []Alert{{
		ID: AlertID(AlertThreshold, "mean", start, "sentiment"), Kind: AlertThreshold, Model: "sentiment",
		Metric: "mean", WindowStart: start, WindowEnd: end, Observed: -0.61, Expected: -0.5, Bound: -0.5,
		Direction: "below", Count: 57, Message: "sentiment mean -0.61 below -0.5",
	}, {
		ID: AlertID(AlertAnomaly, "rate", start), Kind: AlertAnomaly, Metric: "rate",
		WindowStart: start, WindowEnd: end, Observed: 140, Expected: 60, Bound: 4, Score: 7.5,
		Direction: "above", Count: 140, Message: "rate 140 vs 60",
	}, {
		ID: AlertID(AlertCoordination, "similar_texts", start, "1467810369"), Kind: AlertCoordination,
		Metric: "similar_texts", WindowStart: start, WindowEnd: end.Add(-20 * time.Second), Observed: 5,
		Expected: 5, Bound: 5, Count: 6, Accounts: []string{"a", "b", "c", "d", "e"},
		TweetIDs: []string{"1", "2", "3", "4", "5", "6"}, Texts: []string{"Vote NO on 5!", "vote no on 5 #now"},
		Message: "6 similar tweets by 5 accounts in 40s",
	}}
}

func TestAlertEventRoundTrip(t *testing.T) {
	for _, a := range sampleAlerts() {
		t.Run(a.Kind, func(t *testing.T) {
			e, err := NewAlertEvent(a)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := e.Type(), AlertType(a.Kind); got != want {
				t.Errorf("type = %q, want %q", got, want)
			}
			if e.Source() != SourceAlerts || e.ID() != a.ID || !e.Time().Equal(a.WindowEnd) {
				t.Errorf("envelope = %s %s %s", e.Source(), e.ID(), e.Time())
			}
			got, err := DecodeAlert(throughWire(t, e))
			if err != nil {
				t.Fatal(err)
			}
			if !got.WindowStart.Equal(a.WindowStart) || !got.WindowEnd.Equal(a.WindowEnd) {
				t.Errorf("window = %s..%s, want %s..%s", got.WindowStart, got.WindowEnd, a.WindowStart, a.WindowEnd)
			}
			got.WindowStart, got.WindowEnd = a.WindowStart, a.WindowEnd
			if !reflect.DeepEqual(got, a) {
				t.Errorf("decoded %+v\nwant    %+v", got, a)
			}
		})
	}
}

func TestAlertIDsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range sampleAlerts() {
		if seen[a.ID] {
			t.Fatalf("duplicate id %q", a.ID)
		}
		seen[a.ID] = true
	}
}

func TestDecodeAlertErrors(t *testing.T) {
	good := sampleAlerts()[2]
	// withAlert sets as the event's data good changed by edit.
	withAlert := func(edit func(a *Alert)) func(e *cloudevents.Event) {
		return func(e *cloudevents.Event) {
			a := good
			edit(&a)
			_ = e.SetData(ContentType, a)
		}
	}
	cases := []struct {
		name  string
		edit  func(e *cloudevents.Event)
		field string
	}{
		{"wrong type", func(e *cloudevents.Event) { e.SetType(TypeTweet) }, "type"},
		{"type/kind mismatch", func(e *cloudevents.Event) { e.SetType(TypeAlertAnomaly) }, "data.kind"},
		{"id mismatch", func(e *cloudevents.Event) { e.SetID("other") }, "data.id"},
		{"not json", func(e *cloudevents.Event) { _ = e.SetData(ContentType, []byte("{oops")) }, "data"},
		{"no accounts", withAlert(func(a *Alert) { a.Accounts = nil }), "data.accounts"},
		{"bad direction", withAlert(func(a *Alert) { a.Direction = "sideways" }), "data.direction"},
		{"window reversed", withAlert(func(a *Alert) { a.WindowEnd = a.WindowStart.Add(-time.Second) }), "data.window_end"},
		{"bad model", withAlert(func(a *Alert) { a.Model = "Bad Model" }), "data.model"},
		{"wrong content type", func(e *cloudevents.Event) { _ = e.SetData("text/plain", []byte("x")) }, "datacontenttype"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewAlertEvent(good)
			if err != nil {
				t.Fatal(err)
			}
			c.edit(&e)
			_, err = DecodeAlert(&e)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			if fe.Field != c.field {
				t.Errorf("field = %q, want %q (%v)", fe.Field, c.field, err)
			}
			if !strings.Contains(err.Error(), "event "+e.ID()) {
				t.Errorf("error %q does not name the event", err)
			}
		})
	}
	if _, err := DecodeAlert(nil); err == nil {
		t.Error("nil event accepted")
	}
}

func TestNewAlertEventRejectsInvalid(t *testing.T) {
	a := sampleAlerts()[1]
	a.Score = math.NaN()
	if _, err := NewAlertEvent(a); err == nil || !strings.Contains(err.Error(), "data.score") {
		t.Errorf("NaN score: err = %v", err)
	}
	a = sampleAlerts()[0]
	a.Model = ""
	if _, err := NewAlertEvent(a); err == nil || !strings.Contains(err.Error(), "data.model") {
		t.Errorf("threshold without model: err = %v", err)
	}
}

// FuzzDecodeAlert feeds arbitrary data to the alert decoder: it must return
// an alert or an error, never panic, and whatever it accepts must re-encode.
func FuzzDecodeAlert(f *testing.F) {
	for _, a := range sampleAlerts() {
		b, _ := json.Marshal(a)
		f.Add(AlertType(a.Kind), b)
	}
	f.Add(TypeAlertAnomaly, []byte(`{"id":"x","kind":"anomaly","metric":"rate","window_start":"2009-01-01T00:00:00Z","window_end":"2008-01-01T00:00:00Z"}`))
	f.Add(TypeAlertCoordination, []byte(`null`))
	f.Add(TypeAlertThreshold, []byte(`{"observed":1e999}`))
	f.Fuzz(func(t *testing.T, ceType string, data []byte) {
		e := cloudevents.NewEvent()
		e.SetID("x")
		e.SetSource(SourceAlerts)
		e.SetType(ceType)
		if err := e.SetData(ContentType, data); err != nil {
			return
		}
		// The id must match data.id for a successful decode; use the data's
		// own id when it has one so the fuzzer reaches the deeper checks.
		var probe struct{ ID string }
		if json.Unmarshal(data, &probe) == nil && probe.ID != "" {
			e.SetID(probe.ID)
		}
		a, err := DecodeAlert(&e)
		if err != nil {
			return
		}
		if _, err := NewAlertEvent(a); err != nil {
			t.Fatalf("decoded alert does not re-encode: %v", err)
		}
	})
}
