package esstore_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/export"
	"github.com/tweetflow/tweetflow/export/esstore"
)

var models = []string{"offense", "sentiment"}

// records: every optional field on some tweets, none on others, a tweet
// with one model only, and two pairs of tweets sharing a timestamp (so a
// page boundary falls between equal timestamps and the tweet_id tiebreak
// decides), written in an order that is not the time order.
func records() []sink.Record {
	var recs []sink.Record
	for _, i := range []int{5, 1, 2, 3, 4, 6, 7} {
		tw := sinktest.Tweet(i)
		if i%2 == 1 {
			tw = sinktest.WithFields(i)
		}
		if i == 3 || i == 6 {
			tw.CreatedAt = sinktest.Tweet(2).CreatedAt
		}
		res := []sink.Result{sinktest.Result("offense", i), sinktest.Result("sentiment", i)}
		if i == 4 {
			res = res[1:]
		}
		recs = append(recs, sink.Record{Tweet: tw, Results: res})
	}
	return recs
}

// setup writes records through the Elasticsearch driver (the real write
// path, against the fake) and through the SQLite store.
func setup(t *testing.T) (*esfake.Server, *esstore.Store, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	fake, url := elastictest.NewFake(t, esfake.Options{})
	d, err := elastic.Open(ctx, elastictest.Options(url, "tweets", models))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteBatch(ctx, records()); err != nil {
		t.Fatal(err)
	}
	if err := elastic.Do(ctx, d.Client(), http.MethodPost, "/tweets/_refresh", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := elastic.NewClient(elastic.Config{Addresses: []string{url}}, elastic.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), models)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	if err := st.WriteBatch(ctx, records()); err != nil {
		t.Fatal(err)
	}
	// Two hits a page: seven tweets take four searches, and a page ends
	// between the tweets that share a timestamp.
	return fake, esstore.New(es, "tweets", esstore.Options{PageSize: 2}), st
}

// TestSameExportAsSQLite: the same records written to Elasticsearch and to
// SQLite export to the same bytes, in every format and time range: the
// point-in-time pages give every tweet once, in time then id order, with
// its fields and both models' results; the point in time is closed at the
// end.
func TestSameExportAsSQLite(t *testing.T) {
	fake, es, db := setup(t)
	ctx := context.Background()
	t2 := sinktest.Tweet(2).CreatedAt
	for _, o := range []export.Options{
		{Format: export.JSONL},
		{Format: export.CSV},
		{Format: export.QUT},
		{Format: export.JSONL, From: t2, To: t2.Add(3 * time.Second)},
		{Format: export.JSONL, From: t2.Add(time.Hour)},
	} {
		var fromES, fromDB bytes.Buffer
		nES, err := export.Write(ctx, &fromES, es, o)
		if err != nil {
			t.Fatalf("%+v from Elasticsearch: %v", o, err)
		}
		nDB, err := export.Write(ctx, &fromDB, db, o)
		if err != nil {
			t.Fatal(err)
		}
		if nES != nDB || fromES.String() != fromDB.String() {
			t.Errorf("%+v: Elasticsearch export (%d tweets)\n%s\ndiffers from SQLite's (%d)\n%s", o, nES, fromES.String(), nDB, fromDB.String())
		}
		cES, err := es.Count(ctx, o.From, o.To)
		if err != nil || cES != nES {
			t.Errorf("%+v: Count = %d, %v; exported %d", o, cES, err, nES)
		}
	}
	var all bytes.Buffer
	before := fake.Stats().Requests
	if _, err := export.Write(ctx, &all, es, export.Options{Format: export.JSONL}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(all.String(), "\n"); n != len(records()) {
		t.Errorf("%d tweets exported, want %d", n, len(records()))
	}
	// Two mapping reads, the open, four pages of at most two and the close.
	if got := fake.Stats().Requests - before; got != 8 {
		t.Errorf("%d requests for one export, want 8 (paged by 2)", got)
	}
	if open := fake.Stats().OpenPITs; open != 0 {
		t.Errorf("%d points in time left open", open)
	}
}

// TestEarlyStopClosesPIT: a consumer that stops after one tweet ends the
// iteration and the point in time is closed all the same.
func TestEarlyStopClosesPIT(t *testing.T) {
	fake, es, _ := setup(t)
	for _, err := range es.Tweets(context.Background(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if open := fake.Stats().OpenPITs; open != 0 {
		t.Errorf("%d points in time left open after an early stop", open)
	}
}

// TestErrorsNameTheIndex: reading a missing index is an error that says
// which index, which step and what Elasticsearch answered.
func TestErrorsNameTheIndex(t *testing.T) {
	_, url := elastictest.NewFake(t, esfake.Options{})
	es, err := elastic.NewClient(elastic.Config{Addresses: []string{url}}, elastic.RetryPolicy{RequestRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, err = export.Write(context.Background(), &b, esstore.New(es, "nope", esstore.Options{}), export.Options{Format: export.JSONL})
	if err == nil || !strings.Contains(err.Error(), "elasticsearch nope: mapping") || !strings.Contains(err.Error(), "index_not_found_exception") {
		t.Errorf("missing index: %v", err)
	}
}
