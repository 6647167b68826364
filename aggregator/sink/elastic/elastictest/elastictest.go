// Package elastictest starts the Elasticsearch fake with tweetflow's
// runtime-field scripts registered, and provides the sinktest harness for
// the Elasticsearch driver. Other packages' tests (the CLI, the Knative
// aggregator) use NewFake to run against an Elasticsearch-speaking server.
package elastictest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
	"github.com/tweetflow/tweetflow/model"
)

// NewFake starts an esfake server (closed at the end of the test) with the
// scripts of elastic.Mappings registered, and returns it with its URL.
func NewFake(t testing.TB, opts esfake.Options) (*esfake.Server, string) {
	t.Helper()
	fake := esfake.New(opts)
	RegisterScripts(fake)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

// RegisterScripts registers the Go emulations of the runtime-field scripts.
func RegisterScripts(fake *esfake.Server) {
	fake.RegisterScript(elastic.ScriptMissing, esfake.MissingModels)
	fake.RegisterScript(elastic.ScriptComplete, esfake.CompleteModels)
	fake.RegisterScript(elastic.ScriptPartial, esfake.PartialModels)
}

// Models returns float-valued elastic.Models for names.
func Models(names []string) []elastic.Model {
	var ms []elastic.Model
	for _, n := range names {
		ms = append(ms, elastic.Model{Name: n, ValueType: model.TypeFloat})
	}
	return ms
}

// Options returns the driver options a test opens the fake with: one
// address, index, float-valued models named models, and no logging.
func Options(url, index string, models []string) elastic.Options {
	return elastic.Options{
		Config: elastic.Config{Addresses: []string{url}, Index: index},
		Models: Models(models),
		Logger: slog.New(slog.DiscardHandler),
	}
}

// Harness runs sinktest against the driver and the fake.
type Harness struct {
	Fake  *esfake.Server
	URL   string
	Index string
	// Tune adjusts the driver options of each Open (fast retries in tests).
	Tune func(*elastic.Options)
	es   *elasticsearch.Client

	mu      sync.Mutex
	refused map[string]bool
}

// NewHarness returns a harness on a fresh fake.
func NewHarness(t testing.TB) *Harness {
	fake, url := NewFake(t, esfake.Options{})
	es, err := elastic.NewClient(elastic.Config{Addresses: []string{url}}, elastic.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	return &Harness{Fake: fake, URL: url, Index: "tweetflow-test", es: es}
}

// Open implements sinktest.Harness.
func (h *Harness) Open(ctx context.Context, models []string) (sink.Driver, error) {
	o := Options(h.URL, h.Index, models)
	if h.Tune != nil {
		h.Tune(&o)
	}
	return elastic.Open(ctx, o)
}

// Read implements sinktest.Harness: it refreshes the index, then searches
// the id with the runtime fields, as a dashboard would see it.
func (h *Harness) Read(ctx context.Context, id string) (sinktest.Doc, bool, error) {
	docs, err := Search(ctx, h.es, h.Index, map[string]any{"ids": map[string]any{"values": []string{id}}}, 1)
	if err != nil || len(docs) == 0 {
		return sinktest.Doc{}, false, err
	}
	return docs[0], true, nil
}

// Count implements sinktest.Harness.
func (h *Harness) Count(ctx context.Context) (int, error) {
	if err := refresh(ctx, h.es, h.Index); err != nil {
		return 0, err
	}
	res, err := h.es.Count(h.es.Count.WithContext(ctx), h.es.Count.WithIndex(h.Index))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode == 404 {
		return 0, nil
	}
	if res.IsError() {
		return 0, fmt.Errorf("count: %s", res.String())
	}
	var out struct {
		Count int `json:"count"`
	}
	return out.Count, json.NewDecoder(res.Body).Decode(&out)
}

// Close implements sinktest.Harness.
func (h *Harness) Close() {}

// Reject implements sinktest.Rejecter: the fake answers the record's bulk
// item 400 document_parsing_exception. (A result of a model the strict
// mapping does not know would be refused too, but sink.Validate refuses it
// first.)
func (h *Harness) Reject(rec *sink.Record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refused == nil {
		h.refused = map[string]bool{}
		h.Fake.SetItemFault(func(_, _, id string) int {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.refused[id] {
				return http.StatusBadRequest
			}
			return 0
		})
	}
	h.refused[rec.Tweet.ID] = true
}

// FailNext implements sinktest.TransientFaulter: whole requests answered 503.
func (h *Harness) FailNext(n int) { h.Fake.FailRequests(n, http.StatusServiceUnavailable) }

func refresh(ctx context.Context, es *elasticsearch.Client, index string) error {
	res, err := es.Indices.Refresh(es.Indices.Refresh.WithContext(ctx), es.Indices.Refresh.WithIndex(index))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.IsError() && res.StatusCode != 404 {
		return fmt.Errorf("refresh: %s", res.String())
	}
	return nil
}

// Search refreshes the index and returns the documents matching query
// (at most size), with the runtime fields read through the "fields" option.
func Search(ctx context.Context, es *elasticsearch.Client, index string, query map[string]any, size int) ([]sinktest.Doc, error) {
	if err := refresh(ctx, es, index); err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{
		"query":  query,
		"size":   size,
		"fields": []string{elastic.FieldComplete, elastic.FieldMissing, elastic.FieldPartial},
	})
	res, err := es.Search(es.Search.WithContext(ctx), es.Search.WithIndex(index), es.Search.WithBody(strings.NewReader(string(body))))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode == 404 {
		return nil, nil
	}
	if res.IsError() {
		return nil, fmt.Errorf("search: %s", res.String())
	}
	var out struct {
		Hits struct {
			Hits []struct {
				ID     string                     `json:"_id"`
				Source map[string]json.RawMessage `json:"_source"`
				Fields map[string][]any           `json:"fields"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, err
	}
	var docs []sinktest.Doc
	for _, h := range out.Hits.Hits {
		d, err := docFromSource(h.ID, h.Source, h.Fields)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func docFromSource(id string, src map[string]json.RawMessage, fields map[string][]any) (sinktest.Doc, error) {
	d := sinktest.Doc{Results: map[string]sink.Result{}}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(src[k], &s)
		return s
	}
	d.TweetID, d.User, d.Text = str(elastic.FieldTweetID), str(elastic.FieldUser), str(elastic.FieldText)
	if d.TweetID != id {
		return d, fmt.Errorf("document %s: tweet_id %q differs from _id", id, d.TweetID)
	}
	ts, err := time.Parse(time.RFC3339Nano, str(elastic.FieldTimestamp))
	if err != nil {
		return d, fmt.Errorf("document %s: timestamp: %w", id, err)
	}
	d.Timestamp = ts
	if raw, ok := src[elastic.FieldFields]; ok {
		if err := json.Unmarshal(raw, &d.Fields); err != nil {
			return d, fmt.Errorf("document %s: fields: %w", id, err)
		}
	}
	d.UserID, d.Lang, d.RetweetOf = str(elastic.FieldUserID), str(elastic.FieldLang), str(elastic.FieldRetweetOf)
	d.QuoteOf, d.ReplyTo, d.ConversationID = str(elastic.FieldQuoteOf), str(elastic.FieldReplyTo), str(elastic.FieldConversationID)
	for _, f := range []struct {
		name string
		dst  *[]string
	}{{elastic.FieldHashtags, &d.Hashtags}, {elastic.FieldURLs, &d.URLs}, {elastic.FieldMentions, &d.Mentions}} {
		if raw, ok := src[f.name]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return d, fmt.Errorf("document %s: %s: %w", id, f.name, err)
			}
		}
	}
	for k, raw := range src {
		switch k {
		case elastic.FieldTweetID, elastic.FieldTimestamp, elastic.FieldUser, elastic.FieldText, elastic.FieldFields, elastic.FieldTimedOut,
			elastic.FieldUserID, elastic.FieldLang, elastic.FieldRetweetOf, elastic.FieldQuoteOf, elastic.FieldReplyTo,
			elastic.FieldConversationID, elastic.FieldHashtags, elastic.FieldURLs, elastic.FieldMentions:
			continue
		}
		var m struct {
			Value   any    `json:"value"`
			Label   string `json:"label"`
			Version string `json:"version"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return d, fmt.Errorf("document %s: model %s: %w", id, k, err)
		}
		r := sink.Result{Model: k, Label: m.Label, Version: m.Version}
		if f, ok := m.Value.(float64); ok {
			r.Value = f
		}
		d.Results[k] = r
	}
	for _, v := range fields[elastic.FieldMissing] {
		d.Missing = append(d.Missing, fmt.Sprint(v))
	}
	sort.Strings(d.Missing)
	d.Complete = len(fields[elastic.FieldComplete]) == 1 && fields[elastic.FieldComplete][0] == true
	d.Partial = len(fields[elastic.FieldPartial]) == 1 && fields[elastic.FieldPartial][0] == true
	return d, nil
}
