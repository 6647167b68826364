// Package mem is an in-memory sink.Driver with the same merge semantics as
// the real stores. Tests of the aggregator and the pipeline use it, and it
// can inject faults (transient failures, blocked writes) that a real store
// cannot be made to produce on demand.
package mem

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// Doc is a stored document.
type Doc struct {
	Tweet    event.Tweet
	Results  map[string]sink.Result
	Complete bool
	Missing  []string
	// Partial: a write marked the tweet timed out and it is still incomplete.
	Partial bool
	// Writes counts the writes merged into this document.
	Writes int
}

// Store holds documents; several Drivers may share it.
type Store struct {
	mu       sync.Mutex
	docs     map[string]*Doc
	failNext int
	refused  map[string]bool
	block    chan struct{}
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{docs: map[string]*Doc{}} }

// Driver is a sink.Driver on a Store for a set of configured models.
type Driver struct {
	s      *Store
	models []string
}

var _ sink.Driver = (*Driver)(nil)

// Open returns a driver configured for models.
func (s *Store) Open(models []string) *Driver {
	m := slices.Clone(models)
	slices.Sort(m)
	return &Driver{s: s, models: m}
}

// FailNext makes the next n WriteBatch calls fail with a transient error.
func (s *Store) FailNext(n int) {
	s.mu.Lock()
	s.failNext = n
	s.mu.Unlock()
}

// Refuse makes the store refuse, for good, every record of the tweet ids
// (a Permanent error for each, named by index), as a store whose schema
// rejects a document would.
func (s *Store) Refuse(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]bool{}
	}
	for _, id := range ids {
		s.refused[id] = true
	}
}

// Block makes WriteBatch wait until the returned function is called (or its
// context ends), to simulate a slow store.
func (s *Store) Block() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.block = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.block = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Get returns a copy of the document of id.
func (s *Store) Get(id string) (Doc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[id]
	if !ok {
		return Doc{}, false
	}
	c := *d
	c.Results = maps.Clone(d.Results)
	c.Missing = slices.Clone(d.Missing)
	return c, true
}

// Len returns the number of documents.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.docs)
}

// ErrInjected is the transient error FailNext injects.
var ErrInjected = errors.New("mem: injected transient failure")

// WriteBatch merges recs (see sink.Driver).
func (d *Driver) WriteBatch(ctx context.Context, recs []sink.Record) error {
	s := d.s
	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
		}
	}
	if err := ctx.Err(); err != nil {
		return &sink.Error{Code: sink.Transient, Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return &sink.Error{Code: sink.Transient, Err: ErrInjected}
	}
	// Records are not checked here: sink.Writer validates them (one set of
	// rules for every store) before any driver sees them.
	failed := map[int]error{}
	for i, rec := range recs {
		if s.refused[rec.Tweet.ID] {
			failed[i] = &sink.Error{Code: sink.Permanent, Err: fmt.Errorf("tweet %s: refused by the store (mem.Store.Refuse)", rec.Tweet.ID)}
			continue
		}
		doc, ok := s.docs[rec.Tweet.ID]
		if !ok {
			doc = &Doc{Results: map[string]sink.Result{}}
			s.docs[rec.Tweet.ID] = doc
		}
		doc.Tweet = rec.Tweet
		doc.Writes++
		for _, r := range rec.Results {
			doc.Results[r.Model] = r
		}
		doc.Missing = nil
		for _, m := range d.models {
			if _, ok := doc.Results[m]; !ok {
				doc.Missing = append(doc.Missing, m)
			}
		}
		doc.Complete = len(doc.Missing) == 0
		doc.Partial = !doc.Complete && (doc.Partial || rec.TimedOut)
	}
	if len(failed) > 0 {
		return &sink.BatchError{Failed: failed}
	}
	return nil
}

// Close does nothing: the documents stay readable.
func (d *Driver) Close(context.Context) error { return nil }
