// Package esstore reads a tweetflow Elasticsearch index back for export:
// the models its mapping has and every tweet of a time range in time
// order, through a point in time with search_after
// (paginate-search-results.html#search-after), so an export of a live
// index is one consistent view however long it takes, and deep pages cost
// what the first did (from+size stops at 10,000 hits).
package esstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
)

// Defaults of Options.
const (
	DefaultPageSize  = 1000
	DefaultKeepAlive = 2 * time.Minute
)

// Options tune the reader.
type Options struct {
	// PageSize is the hits per search request (default DefaultPageSize).
	PageSize int
	// KeepAlive is how long the point in time lives between two pages
	// (default DefaultKeepAlive): the time a slow writer may take to
	// consume one page.
	KeepAlive time.Duration
}

// Store reads one index. It satisfies export.Store.
type Store struct {
	es    *elasticsearch.Client
	index string
	opts  Options
}

// New returns a reader of index through es.
func New(es *elasticsearch.Client, index string, o Options) *Store {
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	return &Store{es: es, index: index, opts: o}
}

// StoredModels returns the models the index mapping has, sorted: the
// object fields with a label sub-field (elastic.Mappings writes each model
// as <model> {value, label, version}).
func (s *Store) StoredModels(ctx context.Context) ([]string, error) {
	var res map[string]struct {
		Mappings struct {
			Properties map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	if err := elastic.Do(ctx, s.es, http.MethodGet, "/"+url.PathEscape(s.index)+"/_mapping", nil, &res); err != nil {
		return nil, fmt.Errorf("elasticsearch %s: mapping: %w", s.index, err)
	}
	var models []string
	for _, ix := range res {
		for name, p := range ix.Mappings.Properties {
			if _, ok := p.Properties["label"]; ok && !slices.Contains(models, name) {
				models = append(models, name)
			}
		}
	}
	slices.Sort(models)
	return models, nil
}

// rangeQuery is the query for [from, to) on the tweet's timestamp.
func rangeQuery(from, to time.Time) map[string]any {
	r := map[string]any{}
	if !from.IsZero() {
		r["gte"] = from.UTC().Format(time.RFC3339Nano)
	}
	if !to.IsZero() {
		r["lt"] = to.UTC().Format(time.RFC3339Nano)
	}
	if len(r) == 0 {
		return map[string]any{"match_all": map[string]any{}}
	}
	return map[string]any{"range": map[string]any{elastic.FieldTimestamp: r}}
}

// Count returns the number of tweets in [from, to) (a progress bar's
// total; the export itself reads a point in time, which a concurrent write
// may make differ by a few).
func (s *Store) Count(ctx context.Context, from, to time.Time) (int64, error) {
	var res struct {
		Count int64 `json:"count"`
	}
	body := map[string]any{"query": rangeQuery(from, to)}
	if err := elastic.Do(ctx, s.es, http.MethodPost, "/"+url.PathEscape(s.index)+"/_count", body, &res); err != nil {
		return 0, fmt.Errorf("elasticsearch %s: count: %w", s.index, err)
	}
	return res.Count, nil
}

// source is a tweet document's _source (see elastic.Driver's encode). The
// document names the tweet's fields as event.Tweet's JSON does (elastic's
// Field* names), so they decode into the embedded Tweet and a field added to
// the tweet comes through with no change here; only the id and the time
// have the document's own names. The model objects are read from the raw
// map.
type source struct {
	event.Tweet
	TweetID   string    `json:"tweet_id"`
	Timestamp time.Time `json:"timestamp"`
	TimedOut  bool      `json:"timed_out"`
}

type modelObject struct {
	// Value is a number, or for a keyword-valued model its label (the
	// driver stores the label there); only a number is kept.
	Value   json.RawMessage `json:"value"`
	Label   string          `json:"label"`
	Version string          `json:"version"`
}

type hit struct {
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

// Tweets yields the tweets of [from, to) in time order, then tweet id, as
// the SQLite store does, a page at a time. The models are those of
// StoredModels when the iteration starts. The point in time is closed when
// the iteration ends, early or not.
func (s *Store) Tweets(ctx context.Context, from, to time.Time) iter.Seq2[sqlite.Tweet, error] {
	return func(yield func(sqlite.Tweet, error) bool) {
		models, err := s.StoredModels(ctx)
		if err != nil {
			yield(sqlite.Tweet{}, err)
			return
		}
		keepAlive := fmt.Sprintf("%dms", s.opts.KeepAlive.Milliseconds())
		var opened struct {
			ID string `json:"id"`
		}
		path := "/" + url.PathEscape(s.index) + "/_pit?keep_alive=" + keepAlive
		if err := elastic.Do(ctx, s.es, http.MethodPost, path, nil, &opened); err != nil {
			yield(sqlite.Tweet{}, fmt.Errorf("elasticsearch %s: open point in time: %w", s.index, err))
			return
		}
		pitID := opened.ID
		defer func() {
			// The PIT holds segments on the cluster until it expires: close
			// it even when ctx is done (a bounded, detached request).
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = elastic.Do(cctx, s.es, http.MethodDelete, "/_pit", map[string]any{"id": pitID}, nil)
		}()
		var after []json.RawMessage
		for n := 0; ; {
			req := map[string]any{
				"size":             s.opts.PageSize,
				"query":            rangeQuery(from, to),
				"pit":              map[string]any{"id": pitID, "keep_alive": keepAlive},
				"sort":             []any{map[string]any{elastic.FieldTimestamp: "asc"}, map[string]any{elastic.FieldTweetID: "asc"}},
				"track_total_hits": false,
			}
			if after != nil {
				req["search_after"] = after
			}
			var res struct {
				PITID string `json:"pit_id"`
				Hits  struct {
					Hits []hit `json:"hits"`
				} `json:"hits"`
			}
			if err := elastic.Do(ctx, s.es, http.MethodPost, "/_search", req, &res); err != nil {
				yield(sqlite.Tweet{}, fmt.Errorf("elasticsearch %s: search after %d tweets: %w", s.index, n, err))
				return
			}
			if res.PITID != "" {
				pitID = res.PITID // the id may change between pages: use the latest
			}
			for _, h := range res.Hits.Hits {
				t, err := decode(h, models)
				if err != nil {
					yield(sqlite.Tweet{}, fmt.Errorf("elasticsearch %s: document %s: %w", s.index, h.ID, err))
					return
				}
				if !yield(t, nil) {
					return
				}
				n++
			}
			if len(res.Hits.Hits) < s.opts.PageSize {
				return
			}
			after = res.Hits.Hits[len(res.Hits.Hits)-1].Sort
			if len(after) == 0 {
				yield(sqlite.Tweet{}, fmt.Errorf("elasticsearch %s: a sorted hit has no sort values", s.index))
				return
			}
		}
	}
}

// decode turns a hit into the tweet and results the SQLite store would
// give for it: Complete when every model has a label, Missing the others.
func decode(h hit, models []string) (sqlite.Tweet, error) {
	var src source
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(h.Source, &src); err != nil {
		return sqlite.Tweet{}, fmt.Errorf("_source: %w", err)
	}
	if err := json.Unmarshal(h.Source, &fields); err != nil {
		return sqlite.Tweet{}, fmt.Errorf("_source: %w", err)
	}
	if src.TweetID == "" {
		return sqlite.Tweet{}, errors.New("_source has no tweet_id")
	}
	t := sqlite.Tweet{Tweet: src.Tweet, Results: map[string]sink.Result{}, TimedOut: src.TimedOut}
	t.ID, t.CreatedAt = src.TweetID, src.Timestamp.UTC()
	for _, m := range models {
		b, ok := fields[m]
		if !ok {
			t.Missing = append(t.Missing, m)
			continue
		}
		var o modelObject
		if err := json.Unmarshal(b, &o); err != nil {
			return sqlite.Tweet{}, fmt.Errorf("_source.%s: %w", m, err)
		}
		if o.Label == "" {
			t.Missing = append(t.Missing, m)
			continue
		}
		r := sink.Result{Model: m, Version: o.Version, Label: o.Label}
		if v := strings.TrimSpace(string(o.Value)); v != "" && v[0] != '"' && v != "null" {
			if err := json.Unmarshal(o.Value, &r.Value); err != nil {
				return sqlite.Tweet{}, fmt.Errorf("_source.%s.value: %w", m, err)
			}
		}
		t.Results[m] = r
	}
	t.Complete = len(t.Missing) == 0
	t.TimedOut = t.TimedOut && !t.Complete
	return t, nil
}
