package function_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/knative/function"
	"github.com/tweetflow/tweetflow/transport/cehttp"
)

// BenchmarkFunctionHandler is the function's HTTP handler with the real
// model, without a network: what one event costs the function's process
// (decode, micro-batch, featurize + ONNX Runtime, encode the reply).
func BenchmarkFunctionHandler(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	m := metrics.New("function", "sentiment")
	comp, err := function.Loader(log, "")(context.Background(), map[string]string{"MODEL_DIR": "../../../models/sentiment"}, m)
	if err != nil {
		b.Fatal(err)
	}
	defer comp.Close(context.Background())
	h := cehttp.NewHandler(comp.Handler, cehttp.HandlerOptions{Observer: m, Logger: log})
	e, _ := event.NewTweetEvent(event.Tweet{ID: "t1", User: "u", Text: "I love this, what a great day #1", CreatedAt: time.Unix(1, 0).UTC()})
	hdr := http.Header{}
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "t1", "ce-source": e.Source(), "ce-type": event.TypeTweet, "Content-Type": "application/json"} {
		hdr.Set(k, v)
	}
	body := e.Data()
	b.SetParallelism(32) // 64 concurrent callers on 2 procs: batches fill
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			r.Header = hdr.Clone()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Errorf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}
