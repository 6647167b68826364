// Package event is tweetflow's one event contract: the CloudEvents types,
// sources and extensions, and the Go types of their data. Every component
// (producer, functions, aggregator, sinks, alerts) imports it, and it imports
// nothing of tweetflow, so the contract cannot drift between them.
//
// docs/EVENTS.md is the prose version of this file; keep the two in step.
package event

import (
	"fmt"
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
//
// The fields after CreatedAt are optional and were added compatibly: they are
// omitted from the JSON when empty, so a tweet without them encodes to the
// bytes it always did, and readers that predate them ignore them.
type Tweet struct {
	// ID is the tweet id; it is also the event id and the Kafka key.
	ID string `json:"id"`
	// UserID is the author's stable account id (API v2 author_id, v1.1
	// user.id_str). Handles change; the coordination work keys on this and
	// on User only when it is empty.
	UserID string `json:"user_id,omitempty"`
	// User is the author's handle.
	User string `json:"user"`
	// Text is the text the models score, valid UTF-8. For a retweet it is
	// the retweeted tweet's full text when the data includes it (the
	// retweet's own "RT @x: ..." is truncated and is not what was amplified).
	Text string `json:"text"`
	// CreatedAt is the tweet's own timestamp (the event's time attribute).
	CreatedAt time.Time `json:"created_at"`
	// Lang is the language tag the data gives (BCP 47, "und" when unknown).
	Lang string `json:"lang,omitempty"`
	// RetweetOf, QuoteOf and ReplyTo are the ids of the tweet this one
	// retweets, quotes or replies to.
	RetweetOf string `json:"retweet_of,omitempty"`
	QuoteOf   string `json:"quote_of,omitempty"`
	ReplyTo   string `json:"reply_to,omitempty"`
	// ConversationID is the id of the tweet that started the thread.
	ConversationID string `json:"conversation_id,omitempty"`
	// Hashtags (without '#'), URLs (expanded where the data has it) and
	// Mentions (handles without '@'), in the order the text has them.
	// For a retweet they are the retweeted tweet's, like Text.
	Hashtags []string `json:"hashtags,omitempty"`
	URLs     []string `json:"urls,omitempty"`
	Mentions []string `json:"mentions,omitempty"`
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
// is kept to lowercase letters, digits and underscores. It ends with a letter or
// a digit because on a cluster it is also a label value and, with "_" as "-", a
// DNS-1035 name (the function's Knative Service): "foo_" would give "foo-".
const ModelNamePattern = `^[a-z]([a-z0-9_]{0,38}[a-z0-9])?$`

// ValidModelName reports whether name can be used as a model name: whether
// it matches ModelNamePattern. Every record and every result is checked, so
// it is a loop over the bytes, not the regexp (whose matcher was 2-5% of a
// `tweetflow run`'s CPU); FuzzValidModelName holds the two equal.
func ValidModelName(name string) bool {
	if len(name) == 0 || len(name) > 40 || name[0] < 'a' || name[0] > 'z' || name[len(name)-1] == '_' {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

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

// Bounds on a tweet's fields. They keep one odd input from becoming an
// oversized store key or index term: Elasticsearch rejects a whole bulk
// request when one _id passes 512 bytes, and keyword fields stop indexing
// long values. Readers drop list entries past them with Clip (and count
// what they dropped); Validate rejects the rest.
const (
	// MaxIDBytes bounds ID, UserID, RetweetOf, QuoteOf, ReplyTo and
	// ConversationID (Twitter ids are at most 20 digits).
	MaxIDBytes = 256
	// MaxUserBytes bounds User (Twitter handles are at most 15 characters).
	MaxUserBytes = 256
	// MaxLangBytes bounds Lang (the longest BCP 47 tags are 35 characters).
	MaxLangBytes = 35
	// MaxTagBytes bounds one hashtag or mention.
	MaxTagBytes = 280
	// MaxURLBytes bounds one URL.
	MaxURLBytes = 4096
	// MaxListLen bounds the entries of Hashtags, URLs and Mentions each.
	MaxListLen = 100
	// MaxTextBytes bounds Text: 25,000 characters (X's longest posts) of up
	// to 4 bytes each, with room to spare.
	MaxTextBytes = 128 << 10
)

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
	return t.checkBounds(eventID, "data.")
}

// checkBounds checks the tweet's fields against their bounds; prefix
// ("data.", "data.tweet.") begins the field names in errors.
func (t *Tweet) checkBounds(eventID, prefix string) error {
	switch {
	case len(t.Text) > MaxTextBytes:
		return tooLong(eventID, prefix+"text", len(t.Text), MaxTextBytes)
	case len(t.User) > MaxUserBytes:
		return tooLong(eventID, prefix+"user", len(t.User), MaxUserBytes)
	case len(t.Lang) > MaxLangBytes:
		return tooLong(eventID, prefix+"lang", len(t.Lang), MaxLangBytes)
	}
	for _, f := range [...]struct {
		name, v string
	}{{"id", t.ID}, {"user_id", t.UserID}, {"retweet_of", t.RetweetOf}, {"quote_of", t.QuoteOf}, {"reply_to", t.ReplyTo}, {"conversation_id", t.ConversationID}} {
		if len(f.v) > MaxIDBytes {
			return tooLong(eventID, prefix+f.name, len(f.v), MaxIDBytes)
		}
	}
	// The field's name is built only for an error: concatenating it for
	// every list of every tweet was three allocations a tweet, half of the
	// twarc2 reader's (BenchmarkPages' memory profile).
	for _, l := range t.lists() {
		if len(*l.v) > MaxListLen {
			return &FieldError{eventID, prefix + l.name, fmt.Sprintf("%d entries, at most %d", len(*l.v), MaxListLen)}
		}
		for i, v := range *l.v {
			switch {
			case v == "":
				return &FieldError{eventID, fmt.Sprintf("%s%s[%d]", prefix, l.name, i), "empty"}
			case len(v) > l.max:
				return tooLong(eventID, fmt.Sprintf("%s%s[%d]", prefix, l.name, i), len(v), l.max)
			case l.prefix != 0 && v[0] == l.prefix:
				return &FieldError{eventID, fmt.Sprintf("%s%s[%d]", prefix, l.name, i), fmt.Sprintf("starts with %q (stored without it)", l.prefix)}
			}
		}
	}
	return nil
}

func tooLong(eventID, field string, n, max int) error {
	return &FieldError{eventID, field, fmt.Sprintf("%d bytes, at most %d", n, max)}
}

type tweetList struct {
	name   string
	v      *[]string
	max    int
	prefix byte // a leading byte the entries are stored without
}

func (t *Tweet) lists() [3]tweetList {
	return [3]tweetList{
		{"hashtags", &t.Hashtags, MaxTagBytes, '#'},
		{"urls", &t.URLs, MaxURLBytes, 0},
		{"mentions", &t.Mentions, MaxTagBytes, '@'},
	}
}

// Clip removes the list entries Validate would reject (empty, too long,
// past MaxListLen; leading '#'s or '@'s are cut, not removed) and returns
// how many it removed, so a reader can count them instead of dropping the
// whole tweet for one 10 KB link. A list that needs no change is left as it
// is; one that does is copied, never edited in place.
func (t *Tweet) Clip() (removed int) {
	for _, l := range t.lists() {
		if !l.needsClip() {
			continue
		}
		var kept []string
		for _, v := range *l.v {
			if l.prefix != 0 {
				v = strings.TrimLeft(v, string(l.prefix))
			}
			if v == "" || len(v) > l.max || len(kept) == MaxListLen {
				removed++
				continue
			}
			kept = append(kept, v)
		}
		*l.v = kept
	}
	return removed
}

func (l tweetList) needsClip() bool {
	if len(*l.v) > MaxListLen {
		return true
	}
	for _, v := range *l.v {
		if v == "" || len(v) > l.max || (l.prefix != 0 && v[0] == l.prefix) {
			return true
		}
	}
	return false
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
