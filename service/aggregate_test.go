package service_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/service"
	"github.com/tweetflow/tweetflow/transport/cehttp"
)

func metadataEvent(t *testing.T, tweetID, model string, value float64) cloudevents.Event {
	t.Helper()
	tw := event.Tweet{ID: tweetID, User: "u", Text: "text of " + tweetID, CreatedAt: time.Unix(1600000000, 0).UTC()}
	e, err := event.NewMetadataEvent(event.Metadata{TweetID: tweetID, Model: model, ModelVersion: "1", Value: value, Label: "l", Tweet: tw})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The aggregator over HTTP answers 202 only once the record is in SQLite;
// a duplicate gets the same answer and changes nothing; bad input gets 400.
func TestAggregatorServiceAcksAfterDurableWrite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "agg.db")
	cfg := map[string]string{"MODELS_DIR": "../models", "SQLITE_PATH": db, "JOIN_TIMEOUT": "10s"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New("aggregator", "")
	comp, err := service.AggregatorLoader(log)(context.Background(), cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cehttp.NewHandler(comp.Handler, cehttp.HandlerOptions{Observer: m, Logger: log}))
	defer srv.Close()
	ctx := context.Background()

	post := func(e cloudevents.Event) int {
		_, status, _ := cehttp.Post(ctx, srv.Client(), srv.URL, e)
		return status
	}
	// The first model's event waits for the second (join), then both are acked.
	first := make(chan int, 1)
	go func() { first <- post(metadataEvent(t, "t1", "sentiment", 0.5)) }()
	select {
	case s := <-first:
		t.Fatalf("acked (%d) before the record could be complete or timed out", s)
	case <-time.After(100 * time.Millisecond):
	}
	if s := post(metadataEvent(t, "t1", "offense", 0.1)); s != http.StatusAccepted {
		t.Fatalf("second model: %d", s)
	}
	if s := <-first; s != http.StatusAccepted {
		t.Fatalf("first model: %d", s)
	}
	// Delivered again (Knative at-least-once): same answer, same row.
	dup := make(chan int, 2)
	go func() { dup <- post(metadataEvent(t, "t1", "sentiment", 0.5)) }()
	go func() { dup <- post(metadataEvent(t, "t1", "offense", 0.1)) }()
	for range 2 {
		if s := <-dup; s != http.StatusAccepted {
			t.Fatalf("duplicate: %d", s)
		}
	}
	bad := metadataEvent(t, "t2", "sentiment", 0)
	bad.SetType(event.TypeTweet)
	if s := post(bad); s != http.StatusBadRequest {
		t.Fatalf("wrong type: %d, want 400", s)
	}
	if err := comp.Close(ctx); err != nil {
		t.Fatal(err)
	}

	st, err := sqlite.Open(ctx, db, []string{"offense", "sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	n, err := st.Count(ctx, time.Time{}, time.Time{})
	if err != nil || n != 1 {
		t.Fatalf("count = %d, %v; want 1", n, err)
	}
	tw, found, err := st.Get(ctx, "t1")
	if err != nil || !found || !tw.Complete || tw.Results["sentiment"].Value != 0.5 || tw.Results["offense"].Value != 0.1 {
		t.Fatalf("stored %+v found %v err %v", tw, found, err)
	}
}

func TestAggregatorConfigErrors(t *testing.T) {
	for _, cfg := range []map[string]string{
		{"JOIN_TIMEOUT": "soon"},
		{"MAX_PENDING": "-1"},
	} {
		if _, err := service.AggregatorConfigFrom(cfg); err == nil {
			t.Errorf("%v accepted", cfg)
		}
	}
	c, _ := service.AggregatorConfigFrom(map[string]string{"MODELS_DIR": "../models", "MODELS": "nosuch"})
	if _, err := c.Specs(); err == nil {
		t.Error("unknown model accepted")
	}
}
