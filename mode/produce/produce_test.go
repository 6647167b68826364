package produce_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/mode/modetest"
	"github.com/tweetflow/tweetflow/mode/produce"
	"github.com/tweetflow/tweetflow/producer"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The producer Job: writes to a new topic with the asked partitions, stops
// at the limit, says which row resumes, and a rerun from that row continues
// where it stopped (--start-row is 1-based, as in run).
func TestProduceToKafkaResumable(t *testing.T) {
	kcfg := modetest.Kafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := produce.Config{Data: "../../data/sample.csv", Kafka: kcfg, Topic: "tweets", Partitions: 3,
		Producer: producer.Options{Limit: 300}, Logger: quiet()}
	sum, err := produce.Run(ctx, cfg)
	if err != nil || sum.Sent != 300 || sum.NextStartRow != 301 {
		t.Fatalf("first run: %v, %v", sum, err)
	}
	cfg.StartRow, cfg.Producer.Limit = sum.NextStartRow, 200
	if sum, err = produce.Run(ctx, cfg); err != nil || sum.Sent != 200 || sum.NextStartRow != 501 {
		t.Fatalf("second run: %v, %v", sum, err)
	}
	ids := map[string]bool{}
	parts := map[int32]bool{}
	for _, m := range modetest.ReadTopic(ctx, t, kcfg, "tweets", 500) {
		if len(m.Key) == 0 {
			t.Fatal("record without key")
		}
		ids[string(m.Key)] = true
		parts[m.Partition] = true
	}
	if len(ids) != 500 || len(parts) != 3 {
		t.Fatalf("%d distinct tweets over %d partitions, want 500 over 3", len(ids), len(parts))
	}
}

// A stop (Ctrl-C, SIGTERM to the Job) returns its error, and the row to
// resume from counts what was sent before it.
func TestProduceStopped(t *testing.T) {
	kcfg := modetest.Kafka(t)
	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	cfg := produce.Config{Data: "../../data/sample.csv", Kafka: kcfg, Logger: quiet(),
		Producer: producer.Options{BatchSize: 100, OnBatch: func(producer.Stats) {
			if batches++; batches == 2 {
				cancel()
			}
		}}}
	sum, err := produce.Run(ctx, cfg)
	if err == nil {
		t.Fatalf("a stopped replay returned no error: %v", sum)
	}
	if sum.Sent < 200 || sum.NextStartRow != int(sum.RowsRead)+1 {
		t.Fatalf("stopped after two batches: %v", sum)
	}
}

// HTTP (SinkBinding/ContainerSource set K_SINK): each tweet is POSTed as a
// binary-mode CloudEvent; a 503 is retried.
func TestProduceToHTTPSink(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	first := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("ce-type") != event.TypeTweet || r.Header.Get("ce-specversion") != "1.0" {
			http.Error(w, "not a binary-mode tweet event", http.StatusBadRequest)
			return
		}
		got[r.Header.Get("ce-id")]++
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	sum, err := produce.Run(context.Background(), produce.Config{Data: "../../data/sample.csv", SinkURL: srv.URL,
		Producer: producer.Options{Limit: 50}, Logger: quiet()})
	if err != nil || sum.Sent != 50 {
		t.Fatalf("%v, %v", sum, err)
	}
	if len(got) != 50 {
		t.Fatalf("sink got %d distinct events, want 50", len(got))
	}
}
