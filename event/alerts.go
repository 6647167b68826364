package event

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// Alert kinds. Each kind has its own CloudEvents type (TypeAlert*), so a
// Trigger or a consumer can subscribe to one kind only.
const (
	// AlertThreshold: a window's average of a model's value crossed the
	// model's threshold (the dashboard's reference line).
	AlertThreshold = "threshold"
	// AlertAnomaly: a window's metric (tweet rate, a model's mean, a label's
	// share) departed from its recent baseline by more than the bound.
	AlertAnomaly = "anomaly"
	// AlertCoordination: near-identical texts posted by at least K distinct
	// accounts within one window.
	AlertCoordination = "coordination"
)

// AlertType returns the CloudEvents type of an alert kind, or "" for an
// unknown kind.
func AlertType(kind string) string {
	switch kind {
	case AlertThreshold:
		return TypeAlertThreshold
	case AlertAnomaly:
		return TypeAlertAnomaly
	case AlertCoordination:
		return TypeAlertCoordination
	}
	return ""
}

// alertKind is the inverse of AlertType.
func alertKind(ceType string) string {
	switch ceType {
	case TypeAlertThreshold:
		return AlertThreshold
	case TypeAlertAnomaly:
		return AlertAnomaly
	case TypeAlertCoordination:
		return AlertCoordination
	}
	return ""
}

// Alert is the data of a TypeAlert* event: something the stream showed that
// a person should look at. Windows are on event time (the tweets' own
// timestamps), so replaying the same data yields the same alerts with the
// same ids, and stores deduplicate on ID.
type Alert struct {
	// ID is derived from the alert's content (kind, metric, window, and for
	// coordination the first tweet of the group), never random.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Model is the model the alert is about; empty for the tweet rate and
	// for coordination.
	Model string `json:"model,omitempty"`
	// Metric names what was measured: "mean" (a model's mean value),
	// "share:<label>" (the share of tweets with that label), "rate" (tweets
	// per window), "similar_texts" (coordination: a burst of copies) or a
	// coordination signal, "co-retweet", "co-tweet", "co-link", "co-reply"
	// (a pair of accounts that co-acted repeatedly).
	Metric      string    `json:"metric"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// Observed is the window's value of Metric (for coordination, the number
	// of distinct accounts).
	Observed float64 `json:"observed"`
	// Expected is what the window was compared with: the threshold, the
	// baseline mean, or K for coordination.
	Expected float64 `json:"expected"`
	// Bound is the configured limit that was passed: the threshold, the
	// z-score bound, or K.
	Bound float64 `json:"bound"`
	// Score is the z-score for anomalies; 0 otherwise.
	Score float64 `json:"score,omitempty"`
	// Direction is "above" or "below".
	Direction string `json:"direction,omitempty"`
	// Count is the number of tweets in the window (or in the group).
	Count int `json:"count"`
	// Accounts, TweetIDs and Texts describe a coordination group (capped;
	// Count says how many tweets there were).
	Accounts []string `json:"accounts,omitempty"`
	TweetIDs []string `json:"tweet_ids,omitempty"`
	Texts    []string `json:"texts,omitempty"`
	// Items are what a pair of accounts that co-acted repeatedly shared
	// (metric co-retweet, co-link, ...): retweeted or replied-to tweet ids,
	// normalised URLs, normalised texts (capped).
	Items []string `json:"items,omitempty"`
	// Message is one line for humans.
	Message string `json:"message"`
}

// AlertID builds an alert id from its parts: kind, metric and the window
// start in Unix milliseconds, then any extra parts (the model, a group key).
func AlertID(kind, metric string, windowStart time.Time, extra ...string) string {
	parts := append([]string{kind, metric, fmt.Sprint(windowStart.UnixMilli())}, extra...)
	return strings.Join(parts, "/")
}

// Validate checks an alert's data. eventID names the event in errors.
func (a *Alert) Validate(eventID string) error {
	finite := func(field string, v float64) error {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &FieldError{eventID, field, fmt.Sprintf("not a finite number: %v", v)}
		}
		return nil
	}
	switch {
	case strings.TrimSpace(a.ID) == "":
		return &FieldError{eventID, "data.id", "missing alert id"}
	case AlertType(a.Kind) == "":
		return &FieldError{eventID, "data.kind", fmt.Sprintf("%q is not one of threshold, anomaly, coordination", a.Kind)}
	case a.Metric == "":
		return &FieldError{eventID, "data.metric", "missing metric"}
	case a.Model != "" && !ValidModelName(a.Model):
		return &FieldError{eventID, "data.model", fmt.Sprintf("invalid model name %q", a.Model)}
	case a.Kind == AlertThreshold && a.Model == "":
		return &FieldError{eventID, "data.model", "a threshold alert names its model"}
	case a.WindowStart.IsZero():
		return &FieldError{eventID, "data.window_start", "missing"}
	case a.WindowEnd.Before(a.WindowStart):
		return &FieldError{eventID, "data.window_end", fmt.Sprintf("%s is before window_start %s",
			a.WindowEnd.Format(time.RFC3339), a.WindowStart.Format(time.RFC3339))}
	case a.Direction != "" && a.Direction != "above" && a.Direction != "below":
		return &FieldError{eventID, "data.direction", fmt.Sprintf("%q is not above or below", a.Direction)}
	case a.Count < 0:
		return &FieldError{eventID, "data.count", fmt.Sprintf("negative count %d", a.Count)}
	case a.Kind == AlertCoordination && len(a.Accounts) == 0:
		return &FieldError{eventID, "data.accounts", "a coordination alert lists its accounts"}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"data.observed", a.Observed}, {"data.expected", a.Expected}, {"data.bound", a.Bound}, {"data.score", a.Score}} {
		if err := finite(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// NewAlertEvent builds the CloudEvent of a: its type follows a.Kind, id =
// a.ID, time = the window's end (when the alert could first be known),
// subject = the model or metric, partitionkey = the alert id.
func NewAlertEvent(a Alert) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	if err := a.Validate(a.ID); err != nil {
		return e, err
	}
	e.SetID(a.ID)
	e.SetSource(SourceAlerts)
	e.SetType(AlertType(a.Kind))
	e.SetTime(a.WindowEnd)
	subject := a.Metric
	if a.Model != "" {
		subject = a.Model
	}
	e.SetSubject(subject)
	e.SetExtension(ExtPartitionKey, a.ID)
	if a.Model != "" {
		e.SetExtension(ExtModel, a.Model)
	}
	if err := e.SetData(ContentType, a); err != nil {
		return e, fmt.Errorf("alert %s: encode data: %w", a.ID, err)
	}
	return e, nil
}

// DecodeAlert checks that e is a valid alert event of any kind and returns
// its data. The event's type must match data.kind and its id data.id.
func DecodeAlert(e *cloudevents.Event) (Alert, error) {
	var a Alert
	if e == nil {
		return a, &FieldError{"", "event", "nil event"}
	}
	kind := alertKind(e.Type())
	if kind == "" {
		return a, &FieldError{e.ID(), "type", fmt.Sprintf("%q is not an alert type", e.Type())}
	}
	a, err := decodeData(e, e.Type(), "an alert", func(data []byte, a *Alert) error { return json.Unmarshal(data, a) })
	if err != nil {
		return a, err
	}
	if a.Kind != kind {
		return a, &FieldError{e.ID(), "data.kind", fmt.Sprintf("%q does not match type %q", a.Kind, e.Type())}
	}
	if a.ID != e.ID() {
		return a, &FieldError{e.ID(), "data.id", fmt.Sprintf("%q does not match the event id", a.ID)}
	}
	return a, nil
}
