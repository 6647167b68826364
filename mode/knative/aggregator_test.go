package knative_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/knative"
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

// The aggregator's handler answers only once the record is in SQLite: the
// first model's event waits for the second (join), a duplicate gets the
// same answer and changes nothing. In a synctest bubble, "has not answered"
// is a fact once every goroutine is blocked, not a guess after a sleep.
func TestAggregatorAcksAfterDurableWrite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "agg.db")
	cfg := map[string]string{"MODELS_DIR": "../../models", "SQLITE_PATH": db, "JOIN_TIMEOUT": "10s"}
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		comp, err := knative.AggregatorLoader(slog.New(slog.DiscardHandler))(ctx, cfg, metrics.New("aggregator", ""))
		if err != nil {
			t.Fatal(err)
		}
		handle := func(e cloudevents.Event) <-chan error {
			done := make(chan error, 1)
			go func() { _, err := comp.Handler(ctx, e); done <- err }()
			return done
		}
		first := handle(metadataEvent(t, "t1", "sentiment", 0.5))
		synctest.Wait()
		select {
		case err := <-first:
			t.Fatalf("answered (%v) before the record could be complete or timed out", err)
		default:
		}
		if err := <-handle(metadataEvent(t, "t1", "offense", 0.1)); err != nil {
			t.Fatalf("second model: %v", err)
		}
		if err := <-first; err != nil {
			t.Fatalf("first model: %v", err)
		}
		// Delivered again (Knative at-least-once): same answer, same row.
		a, b := handle(metadataEvent(t, "t1", "sentiment", 0.5)), handle(metadataEvent(t, "t1", "offense", 0.1))
		if ea, eb := <-a, <-b; ea != nil || eb != nil {
			t.Fatalf("duplicates: %v, %v", ea, eb)
		}
		if err := comp.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
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

// Over HTTP: a stored record is 202, an event of the wrong type 400 (never
// retried by Knative).
func TestAggregatorOverHTTP(t *testing.T) {
	cfg := map[string]string{"MODELS_DIR": "../../models", "MODELS": "sentiment", "SQLITE_PATH": filepath.Join(t.TempDir(), "agg.db")}
	m := metrics.New("aggregator", "")
	comp, err := knative.AggregatorLoader(slog.New(slog.DiscardHandler))(context.Background(), cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	defer comp.Close(context.Background())
	srv := httptest.NewServer(cehttp.NewHandler(comp.Handler, cehttp.HandlerOptions{Observer: m, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	if _, status, _ := cehttp.Post(context.Background(), srv.Client(), srv.URL, metadataEvent(t, "t1", "sentiment", 0.5)); status != http.StatusAccepted {
		t.Fatalf("stored: %d, want 202", status)
	}
	bad := metadataEvent(t, "t2", "sentiment", 0)
	bad.SetType(event.TypeTweet)
	if _, status, _ := cehttp.Post(context.Background(), srv.Client(), srv.URL, bad); status != http.StatusBadRequest {
		t.Fatalf("wrong type: %d, want 400", status)
	}
}

func TestAggregatorConfig(t *testing.T) {
	for _, cfg := range []map[string]string{
		{"JOIN_TIMEOUT": "soon"},
		{"MAX_PENDING": "-1"},
	} {
		if _, err := knative.AggregatorConfigFrom(cfg); err == nil {
			t.Errorf("%v accepted", cfg)
		}
	}
	c, err := knative.AggregatorConfigFrom(map[string]string{"SQLITE_PATH": "x.db"})
	if err != nil || c.ModelsDir != "/models" || c.JoinTimeout != 2*time.Second || c.Store.SQLite != "x.db" {
		t.Fatalf("defaults under the environment: %+v %v", c, err)
	}
	_, err = knative.AggregatorLoader(slog.New(slog.DiscardHandler))(context.Background(), map[string]string{"MODELS_DIR": "../../models", "MODELS": "nosuch"}, metrics.New("a", ""))
	if err == nil {
		t.Error("unknown model accepted")
	}
}
