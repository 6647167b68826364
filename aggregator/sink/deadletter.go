package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"
)

// Letter is one record that can never be stored, with why.
type Letter struct {
	Time    time.Time `json:"time"`
	TweetID string    `json:"tweet_id"`
	// Code is the failure's classification ("permanent").
	Code string `json:"code"`
	// Reason is the error: the driver's answer (status, type, reason) or the
	// rule of Validate the record broke.
	Reason string `json:"reason"`
	Record Record `json:"record"`
}

// MarshalJSON writes the letter; a result value that JSON cannot hold
// (NaN, ±Inf: often the very reason for the rejection) is written as a
// string, so the letter itself is never lost.
func (l Letter) MarshalJSON() ([]byte, error) {
	type result struct {
		Model   string `json:"model"`
		Version string `json:"version"`
		Value   any    `json:"value"`
		Label   string `json:"label"`
	}
	type record struct {
		Tweet    any      `json:"tweet"`
		Results  []result `json:"results"`
		TimedOut bool     `json:"timed_out,omitempty"`
	}
	type letter Letter
	out := struct {
		letter
		Record record `json:"record"`
	}{letter: letter(l)}
	out.Record.Tweet = l.Record.Tweet
	out.Record.TimedOut = l.Record.TimedOut
	for _, r := range l.Record.Results {
		var v any = r.Value
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			v = strconv.FormatFloat(r.Value, 'g', -1, 64)
		}
		out.Record.Results = append(out.Record.Results, result{r.Model, r.Version, v, r.Label})
	}
	return json.Marshal(out)
}

// DeadLetter keeps records that can never be stored. Put returns when the
// letters are durable; a file is one implementation, a Kafka topic could be
// another.
type DeadLetter interface {
	Put(ctx context.Context, letters []Letter) error
}

// ErrDeadLettered matches (errors.Is) the error of a record that failed for
// good and is safely in the dead-letter output, so its inputs may be
// acknowledged.
var ErrDeadLettered = errors.New("dead-lettered")

// deadLettered marks a permanent error whose record is in the dead-letter
// output.
type deadLettered struct{ err error }

func (e *deadLettered) Error() string        { return e.err.Error() + " (dead-lettered)" }
func (e *deadLettered) Unwrap() error        { return e.err }
func (e *deadLettered) Is(target error) bool { return target == ErrDeadLettered }

// FileDeadLetter appends letters to a file as NDJSON (one Letter per line)
// and syncs it before Put returns.
type FileDeadLetter struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// OpenDeadLetterFile opens (creating or appending to) an NDJSON file.
func OpenDeadLetterFile(path string) (*FileDeadLetter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	return &FileDeadLetter{f: f, path: path}, nil
}

// Put implements DeadLetter.
func (d *FileDeadLetter) Put(_ context.Context, letters []Letter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := bufio.NewWriter(d.f)
	enc := json.NewEncoder(w)
	for _, l := range letters {
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("dead-letter %s: tweet %s: %w", d.path, l.TweetID, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("dead-letter %s: sync: %w", d.path, err)
	}
	return nil
}

// Close closes the file.
func (d *FileDeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.f.Close()
}
