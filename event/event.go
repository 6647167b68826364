// Package event is tweetflow's one event contract: the CloudEvents types,
// sources and extensions, and the Go types of their data. Every component
// (producer, functions, aggregator, sinks, alerts) imports it, and it imports
// nothing of tweetflow, so the contract cannot drift between them.
//
// docs/EVENTS.md is the prose version of this file; keep the two in step.
package event

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// CloudEvents types. The version suffix changes only on a breaking change of
// the data schema, so Triggers can filter on an exact type.
const (
	// TypeTweet is a tweet read by the producer.
	TypeTweet = "dev.tweetflow.tweet.v1"
	// TypeMetadata is one model's result for one tweet. Every model uses the
	// same type; the "model" extension says which model answered, so adding a
	// model needs no new Trigger for the aggregator.
	TypeMetadata = "dev.tweetflow.metadata.v1"
	// Alert types: one per kind of alert.
	TypeAlertThreshold    = "dev.tweetflow.alert.threshold.v1"
	TypeAlertAnomaly      = "dev.tweetflow.alert.anomaly.v1"
	TypeAlertCoordination = "dev.tweetflow.alert.coordination.v1"
)

// Sources. A metadata event's source names its model, so source+id is unique
// per (tweet, model), which is what at-least-once consumers deduplicate on.
const (
	SourceProducer = "/tweetflow/producer"
	sourceFunction = "/tweetflow/functions/"
	SourceAlerts   = "/tweetflow/alerts"
)

// Extension attribute names (CloudEvents extension names are lowercase
// alphanumeric, at most 20 characters).
const (
	// ExtModel names the model on a metadata event.
	ExtModel = "model"
	// ExtPartitionKey is the CloudEvents partitioning extension; tweetflow sets
	// it to the tweet id so Kafka keys and partitions follow the tweet.
	ExtPartitionKey = "partitionkey"
)

// ContentType is the datacontenttype of every tweetflow event.
const ContentType = "application/json"

// FunctionSource is the source attribute of the metadata events a model emits.
func FunctionSource(model string) string { return sourceFunction + model }

// MetadataID is the id of the metadata event for (tweet, model). It is
// derived, not random, so a redelivered tweet yields the same metadata event
// and every consumer can deduplicate on it.
func MetadataID(tweetID, model string) string { return tweetID + "/" + model }

// Tweet is the data of a TypeTweet event.
type Tweet struct {
	// ID is the tweet id; it is also the event id and the Kafka key.
	ID string `json:"id"`
	// User is the author's handle.
	User string `json:"user"`
	// Text is the tweet text, valid UTF-8.
	Text string `json:"text"`
	// CreatedAt is the tweet's own timestamp (the event's time attribute).
	CreatedAt time.Time `json:"created_at"`
	// Fields holds the extra CSV columns the producer was configured to keep.
	Fields map[string]string `json:"fields,omitempty"`
}

// Metadata is the data of a TypeMetadata event: one model's result for one
// tweet. It carries the tweet itself so that the aggregator, which only
// subscribes to metadata, can write a complete record from any one of them.
type Metadata struct {
	TweetID      string `json:"tweet_id"`
	Model        string `json:"model"`
	ModelVersion string `json:"model_version"`
	// Value is the indexed value, derived as the model's spec says (for
	// sentiment P(positive)-P(negative) in [-1,1]; for offense P(offensive)).
	Value float64 `json:"value"`
	// Label is the argmax label.
	Label string `json:"label"`
	// Probabilities maps each label to its probability.
	Probabilities map[string]float64 `json:"probabilities"`
	// Tweet is the tweet that was scored.
	Tweet Tweet `json:"tweet"`
}

// ModelNamePattern is what a model name must match: it becomes a CloudEvents
// extension value, a SQL column prefix and an Elasticsearch field name, so it
// is kept to lowercase letters, digits and underscores.
var modelNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// ValidModelName reports whether name can be used as a model name.
func ValidModelName(name string) bool { return modelNameRE.MatchString(name) }

// FieldError is a validation error that names the event and the field.
type FieldError struct {
	EventID string
	Field   string
	Reason  string
}

func (e *FieldError) Error() string {
	id := e.EventID
	if id == "" {
		id = "(no id)"
	}
	return fmt.Sprintf("event %s: field %s: %s", id, e.Field, e.Reason)
}

// Validate checks a tweet's data. eventID names the event in errors.
func (t *Tweet) Validate(eventID string) error {
	switch {
	case strings.TrimSpace(t.ID) == "":
		return &FieldError{eventID, "data.id", "missing tweet id"}
	case strings.TrimSpace(t.Text) == "":
		return &FieldError{eventID, "data.text", "missing text"}
	case t.CreatedAt.IsZero():
		return &FieldError{eventID, "data.created_at", "missing timestamp"}
	}
	return nil
}

// Validate checks a metadata event's data. eventID names the event in errors.
func (m *Metadata) Validate(eventID string) error {
	switch {
	case strings.TrimSpace(m.TweetID) == "":
		return &FieldError{eventID, "data.tweet_id", "missing tweet id"}
	case !ValidModelName(m.Model):
		return &FieldError{eventID, "data.model", fmt.Sprintf("invalid model name %q", m.Model)}
	case m.Label == "":
		return &FieldError{eventID, "data.label", "missing label"}
	case m.Tweet.ID != "" && m.Tweet.ID != m.TweetID:
		return &FieldError{eventID, "data.tweet.id", fmt.Sprintf("%q does not match tweet_id %q", m.Tweet.ID, m.TweetID)}
	}
	return nil
}
