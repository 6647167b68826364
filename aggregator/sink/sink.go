// Package sink is the aggregator's storage contract. The aggregator sees one
// small interface, Driver; SQLite, Elasticsearch and in-memory stores
// implement it (subpackages), and one conformance suite (sinktest) runs
// against each of them.
//
// The store, not the aggregator's memory, is the source of truth for the join:
// every write merges into the stored document of the same tweet id. That is
// what makes the aggregator correct with several replicas (on Knative, the
// results of one tweet may reach different replicas) and across restarts.
package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tweetflow/tweetflow/event"
)

// Result is one model's answer for a tweet, as stored.
type Result struct {
	Model   string
	Version string
	Value   float64
	Label   string
}

// Record is what the aggregator writes for one tweet: the tweet and the
// model results gathered since its last write for that tweet.
type Record struct {
	Tweet   event.Tweet
	Results []Result
	// TimedOut is set when the aggregator's join timeout passed before every
	// configured model answered. The store then marks the tweet partial and
	// lists the missing models; a later write that completes it clears that.
	TimedOut bool
}

// Driver stores records. Implementations are safe for concurrent use.
//
// WriteBatch merges each record into the stored document of the same tweet
// id: the tweet's fields are set, each result sets its model's fields, and the
// fields of models absent from the record are left as stored. The store
// derives "complete" (every configured model present) and "missing" (the
// configured models absent) from the merged document. Writing the same record
// twice stores the same document (at-least-once delivery is safe).
//
// When some records fail and others are stored, WriteBatch returns a
// *BatchError naming the failed ones by index. When WriteBatch returns, every
// record it did not report as failed is durable.
type Driver interface {
	WriteBatch(ctx context.Context, recs []Record) error
	Close(ctx context.Context) error
}

// Code classifies an error so that callers decide on retries without
// knowing the driver.
type Code int

const (
	// Unknown errors are treated as transient.
	Unknown Code = iota
	// Transient errors (overload, timeouts, outages) succeed if retried later.
	Transient
	// Permanent errors (a mapping conflict, a document the store rejects)
	// never succeed: the record goes to the dead-letter output.
	Permanent
)

func (c Code) String() string {
	switch c {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	}
	return "unknown"
}

// Error is a driver error with its classification.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the Code of err: the first *Error in its chain, or
// Unknown. A cancelled context is Transient (the record was not written).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	return Unknown
}

// BatchError reports which records of a batch failed, by index into the
// batch passed to WriteBatch. Records not named were stored.
type BatchError struct {
	Failed map[int]error
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d record(s) failed", len(e.Failed))
	n := 0
	for i, err := range e.Failed {
		if n == 3 {
			b.WriteString("; …")
			break
		}
		fmt.Fprintf(&b, "; #%d: %v", i, err)
		n++
	}
	return b.String()
}
