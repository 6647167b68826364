package sink

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tweetflow/tweetflow/event"
)

// RecordError says why a record can never be stored: it names the tweet and
// the field. Validate returns it inside a Permanent *Error.
type RecordError struct {
	TweetID string
	// Field names the offending part: "tweet.id", "tweet.created_at",
	// "results[1].model", ...
	Field  string
	Reason string
}

func (e *RecordError) Error() string {
	id := e.TweetID
	if id == "" || len(id) > 64 {
		id = fmt.Sprintf("%.64q", e.TweetID)
	}
	return fmt.Sprintf("tweet %s: %s: %s", id, e.Field, e.Reason)
}

// Validate checks rec against the rules every store shares, so that a record
// one driver would accept is never rejected by another for a reason of its
// own: a tweet id that is not blank and at most event.MaxIDBytes (the bound
// events already obey, well under Elasticsearch's 512-byte _id, past which it
// rejects a whole bulk request); a creation time; user and text within the
// event bounds; and per result a valid model name, one of models (when models
// is not empty), at most once per record, a label and a finite value.
//
// The error is a Permanent *Error holding a *RecordError; nil means valid.
// Drivers keep only the checks of their own encoding (SQLite's column names,
// Elasticsearch's value types).
func Validate(rec Record, models []string) error {
	if re := validate(rec, models); re != nil {
		return &Error{Code: Permanent, Err: re}
	}
	return nil
}

func validate(rec Record, models []string) *RecordError {
	t := rec.Tweet
	bad := func(field, format string, a ...any) *RecordError {
		return &RecordError{TweetID: t.ID, Field: field, Reason: fmt.Sprintf(format, a...)}
	}
	switch {
	case strings.TrimSpace(t.ID) == "":
		return bad("tweet.id", "missing tweet id")
	case len(t.ID) > event.MaxIDBytes:
		return bad("tweet.id", "%d bytes, at most %d", len(t.ID), event.MaxIDBytes)
	case t.CreatedAt.IsZero():
		return bad("tweet.created_at", "missing timestamp")
	case len(t.User) > event.MaxUserBytes:
		return bad("tweet.user", "%d bytes, at most %d", len(t.User), event.MaxUserBytes)
	case len(t.Text) > event.MaxTextBytes:
		return bad("tweet.text", "%d bytes, at most %d", len(t.Text), event.MaxTextBytes)
	}
	for i, r := range rec.Results {
		field := fmt.Sprintf("results[%d]", i)
		switch {
		case !event.ValidModelName(r.Model):
			return bad(field+".model", "invalid model name %.64q", r.Model)
		case len(models) > 0 && !slices.Contains(models, r.Model):
			return bad(field+".model", "model %s is not configured (configured: %s)", r.Model, strings.Join(models, ", "))
		case slices.ContainsFunc(rec.Results[:i], func(p Result) bool { return p.Model == r.Model }):
			return bad(field+".model", "model %s twice in one record", r.Model)
		case r.Label == "":
			return bad(field+".label", "model %s: empty label", r.Model)
		case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
			return bad(field+".value", "model %s: %v is not a finite number", r.Model, r.Value)
		}
	}
	return nil
}
