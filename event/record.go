package event

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// TypeRecord is a record the aggregator stored: the tweet and the model
// results of one durable write. The alert engine, when it runs apart from
// the aggregator (`tweetflow kafka alerts`, the Knative alerts function),
// subscribes to it, so that it sees what was stored, as the embedded engine
// does, without writing anything itself.
const TypeRecord = "dev.tweetflow.record.v1"

// SourceAggregator is the source of the record events.
const SourceAggregator = "/tweetflow/aggregator"

// Record is the data of a TypeRecord event: what one aggregator write
// stored for one tweet, as the alert engine sees it in the embedded mode
// (sink.Record): the whole tweet, the results of this write (a write that
// completes a partial record carries only the late models; the engine
// counts a tweet once per model) and whether the join timed out.
type Record struct {
	Tweet   Tweet          `json:"tweet"`
	Results []RecordResult `json:"results"`
	// TimedOut: the join timeout passed before every configured model
	// answered; the store marks the tweet partial.
	TimedOut bool `json:"timed_out,omitempty"`
}

// RecordResult is one model's result as the store holds it: the indexed
// value and the label (the probabilities are not stored).
type RecordResult struct {
	Model        string  `json:"model"`
	ModelVersion string  `json:"model_version,omitempty"`
	Value        float64 `json:"value"`
	Label        string  `json:"label"`
}

// RecordID is the id of the record event of a write of tweetID with the
// results of models: derived, so the same write redelivered and written
// again gives the same event, and a later write of the same tweet with
// other models (a late result) a different one.
func RecordID(tweetID string, models []string) string {
	ms := slices.Sorted(slices.Values(models))
	return tweetID + "/stored/" + strings.Join(ms, "+")
}

// Validate checks a record's data by the rules every store applies to what
// it writes (aggregator/sink.Validate), so that a stored record is a valid
// event: a tweet id, a creation time, the tweet's bounds (its text may be
// empty: the store takes it), and per result a valid model name, at most
// once, a label and a finite value. eventID names the event in errors.
func (r *Record) Validate(eventID string) error {
	t := &r.Tweet
	switch {
	case strings.TrimSpace(t.ID) == "":
		return &FieldError{eventID, "data.tweet.id", "missing tweet id"}
	case t.CreatedAt.IsZero():
		return &FieldError{eventID, "data.tweet.created_at", "missing timestamp"}
	}
	if err := t.checkBounds(eventID, "data.tweet."); err != nil {
		return err
	}
	for i, res := range r.Results {
		field := fmt.Sprintf("data.results[%d]", i)
		switch {
		case !ValidModelName(res.Model):
			return &FieldError{eventID, field + ".model", fmt.Sprintf("invalid model name %.64q", res.Model)}
		case slices.ContainsFunc(r.Results[:i], func(p RecordResult) bool { return p.Model == res.Model }):
			return &FieldError{eventID, field + ".model", fmt.Sprintf("model %s twice in one record", res.Model)}
		case res.Label == "":
			return &FieldError{eventID, field + ".label", "missing label"}
		case math.IsNaN(res.Value) || math.IsInf(res.Value, 0):
			return &FieldError{eventID, field + ".value", fmt.Sprintf("not a finite number: %v", res.Value)}
		}
	}
	return nil
}

// models returns the record's model names.
func (r *Record) models() []string {
	ms := make([]string, len(r.Results))
	for i, res := range r.Results {
		ms[i] = res.Model
	}
	return ms
}

// NewRecordEvent builds the TypeRecord CloudEvent of r: id =
// RecordID(tweet, models), source SourceAggregator, time = the tweet's
// timestamp, subject and partitionkey = the tweet id, like every event of
// the tweet, so one tweet's writes stay in one partition, in order. (The
// engine's state is keyed by the signals' keys, several per record, so no
// single key of a record could partition it: see ARCHITECTURE, "The alert
// engine apart".)
func NewRecordEvent(r Record) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	id := RecordID(r.Tweet.ID, r.models())
	if err := r.Validate(id); err != nil {
		return e, err
	}
	e.SetID(id)
	e.SetSource(SourceAggregator)
	e.SetType(TypeRecord)
	e.SetTime(r.Tweet.CreatedAt)
	e.SetSubject(r.Tweet.ID)
	e.SetExtension(ExtPartitionKey, r.Tweet.ID)
	data, err := marshalRecordJSON(&r)
	if err != nil {
		return e, fmt.Errorf("record %s: encode data: %w", id, err)
	}
	setJSONData(&e, data)
	return e, nil
}

// marshalRecordJSON encodes r with the tweet through the hand-written
// encoder (most of a record's bytes), the rest as encoding/json would.
func marshalRecordJSON(r *Record) ([]byte, error) {
	b := make([]byte, 0, tweetSizeHint(&r.Tweet)+32+64*len(r.Results))
	b = append(b, `{"tweet":`...)
	b, ok := appendTweet(b, &r.Tweet)
	if !ok {
		return json.Marshal(r)
	}
	b = append(b, `,"results":[`...)
	for i := range r.Results {
		res := &r.Results[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"model":`...)
		b = appendJSONString(b, res.Model)
		b = appendOptString(b, `,"model_version":`, res.ModelVersion)
		b = append(b, `,"value":`...)
		if b, ok = appendJSONFloat(b, res.Value); !ok {
			return json.Marshal(r)
		}
		b = append(b, `,"label":`...)
		b = appendJSONString(b, res.Label)
		b = append(b, '}')
	}
	if r.Results == nil {
		b = append(b[:len(b)-1], "null"...)
	} else {
		b = append(b, ']')
	}
	if r.TimedOut {
		b = append(b, `,"timed_out":true`...)
	}
	return append(b, '}'), nil
}

// recordJSON is Record with the tweet left raw, for the fast tweet scanner.
type recordJSON struct {
	Tweet    json.RawMessage `json:"tweet"`
	Results  []RecordResult  `json:"results"`
	TimedOut bool            `json:"timed_out"`
}

func unmarshalRecord(data []byte, r *Record) error {
	var raw recordJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if len(raw.Tweet) == 0 || string(raw.Tweet) == "null" {
		return fmt.Errorf("no tweet")
	}
	if err := unmarshalTweet(raw.Tweet, &r.Tweet); err != nil {
		return fmt.Errorf("tweet: %w", err)
	}
	r.Results, r.TimedOut = raw.Results, raw.TimedOut
	return nil
}

// DecodeRecord checks that e is a valid record event and returns its data:
// the envelope, the data (Record.Validate), and that the event's id,
// subject and partitionkey are the ones NewRecordEvent derives from the
// data. Errors are *FieldError values naming the event id and the field.
func DecodeRecord(e *cloudevents.Event) (Record, error) {
	r, err := decodeData(e, TypeRecord, "a record", unmarshalRecord)
	if err != nil {
		return r, err
	}
	if want := RecordID(r.Tweet.ID, r.models()); e.ID() != want {
		return r, &FieldError{e.ID(), "id", fmt.Sprintf("want %q, derived from data.tweet.id and data.results[].model", want)}
	}
	if s := e.Subject(); s != "" && s != r.Tweet.ID {
		return r, &FieldError{e.ID(), "subject", fmt.Sprintf("%q does not match data.tweet.id %q", s, r.Tweet.ID)}
	}
	return r, nil
}
