package function_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/knative"
	"github.com/tweetflow/tweetflow/mode/knative/function"
	"github.com/tweetflow/tweetflow/transport/cehttp"
)

func tweet(t *testing.T, id string) cloudevents.Event {
	e, err := event.NewTweetEvent(event.Tweet{ID: id, User: "u", Text: "hello", CreatedAt: time.Unix(1, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func startFunction(t *testing.T, cfg map[string]string) (*httptest.Server, *metrics.Metrics, knative.Component) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	m := metrics.New("function", "sentiment")
	comp, err := function.Loader(log, "")(context.Background(), cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cehttp.NewHandler(comp.Handler, cehttp.HandlerOptions{Observer: m, Logger: log}))
	t.Cleanup(func() { srv.Close(); comp.Close(context.Background()) })
	return srv, m, comp
}

// A real model behind the real handler: a scored event gets 200 with the
// metadata event, the same event twice gets the same answer, poison gets 400.
func TestFunctionServiceWithRealModel(t *testing.T) {
	srv, m, _ := startFunction(t, map[string]string{"MODEL_DIR": "../../../models/sentiment"})
	ctx := context.Background()
	in := tweet(t, "t1")
	var first string
	for range 2 {
		reply, status, err := cehttp.Post(ctx, srv.Client(), srv.URL, in)
		if err != nil || status != 200 {
			t.Fatalf("status %d err %v", status, err)
		}
		md, err := event.DecodeMetadata(reply)
		if err != nil || md.Model != "sentiment" || md.TweetID != "t1" || len(md.Probabilities) < 2 {
			t.Fatalf("reply %+v err %v", md, err)
		}
		if first == "" {
			first = string(reply.Data())
		} else if first != string(reply.Data()) {
			t.Fatalf("a redelivery answered differently:\n%s\n%s", first, reply.Data())
		}
	}
	bad := tweet(t, "t2")
	bad.SetData("application/json", map[string]any{"id": "t2", "text": "", "created_at": "2020-01-01T00:00:00Z"})
	if _, status, err := cehttp.Post(ctx, srv.Client(), srv.URL, bad); status != http.StatusBadRequest || !strings.Contains(err.Error(), "data.text") {
		t.Fatalf("missing text: %d %v", status, err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	// One model batch for the two deliveries: the second is answered from
	// the function core's score cache (functions.Options.CacheSize).
	for _, want := range []string{`outcome="ok"} 2`, `outcome="rejected"} 1`, `tweetflow_batch_size_count{component="function",model="sentiment"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A flood past the queue gets 429 (retried by Knative), never a 4xx that
// would drop the event, and every accepted event is answered.
func TestFunctionServiceOverload(t *testing.T) {
	srv, _, _ := startFunction(t, map[string]string{"MODEL_DIR": "../../../models/sentiment", "MAX_BATCH": "1", "MAX_QUEUE": "1", "MAX_DELAY": "1ms"})
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	for i := range 200 {
		wg.Go(func() {
			// Distinct texts: one repeated text is scored once and then
			// answered from the function core's score cache, and batches
			// that cost nothing drain the one-slot queue before the flood
			// overflows it (CI saw all 200 answered 200).
			e, err := event.NewTweetEvent(event.Tweet{ID: fmt.Sprint("t", i), User: "u", Text: fmt.Sprint("hello number ", i), CreatedAt: time.Unix(1, 0).UTC()})
			if err != nil {
				t.Error(err)
				return
			}
			_, status, _ := cehttp.Post(context.Background(), client, srv.URL, e)
			mu.Lock()
			counts[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[200]+counts[429] != 200 || counts[429] == 0 || counts[200] == 0 {
		t.Fatalf("answers %v: want only 200 and 429, some of each", counts)
	}
}

func TestFunctionConfigErrors(t *testing.T) {
	for _, cfg := range []map[string]string{
		{},
		{"MODEL_DIR": "x", "MAX_BATCH": "0"},
		{"MODEL_DIR": "x", "MAX_DELAY": "fast"},
	} {
		if _, err := function.ConfigFrom(cfg, ""); err == nil {
			t.Errorf("%v accepted", cfg)
		}
	}
	c, err := function.ConfigFrom(map[string]string{"MODEL": "offense", "MODELS_DIR": "/m"}, "")
	if err != nil || c.ModelDir != "/m/offense" {
		t.Fatalf("%+v %v", c, err)
	}
	// --model-dir wins over MODEL_DIR (no os.Setenv in cmd any more).
	c, err = function.ConfigFrom(map[string]string{"MODEL_DIR": "/env/m", "MAX_BATCH": "8"}, "/flag/m")
	if err != nil || c.ModelDir != "/flag/m" || c.Batch.MaxBatch != 8 {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = function.Loader(slog.New(slog.DiscardHandler), "")(context.Background(), map[string]string{"MODEL_DIR": "../../../models/nosuch"}, metrics.New("f", ""))
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("missing model: %v", err)
	}
}
