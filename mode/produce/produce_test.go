package produce_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/tweetflow/tweetflow/producer/source"
)

// The producer Job: writes to a new topic with the asked partitions, stops
// at the limit, says which row resumes, and a rerun from that row continues
// where it stopped (--start-row is 1-based, as in run).
func TestProduceToKafkaResumable(t *testing.T) {
	kcfg := modetest.Kafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := produce.Config{Data: "../../data/sample.csv", Kafka: kcfg, Topic: "tweets", Partitions: 3,
		Producer: producer.Options{Limit: 300}, Logger: slog.New(slog.DiscardHandler)}
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
	cfg := produce.Config{Data: "../../data/sample.csv", Kafka: kcfg, Logger: slog.New(slog.DiscardHandler),
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
		Producer: producer.Options{Limit: 50}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil || sum.Sent != 50 {
		t.Fatalf("%v, %v", sum, err)
	}
	if len(got) != 50 {
		t.Fatalf("sink got %d distinct events, want 50", len(got))
	}
}

// The Twitter inputs (#10) through the producer.

const twitterData = "../../producer/source/twitter/testdata/*.jsonl,../../producer/source/twitter/testdata/v1/statuses.jsonl"

// direct reads the files as source.Open gives them: tweet JSON by id, and
// how many tweets (with repeats) there are.
func direct(t *testing.T) (map[string][]byte, int) {
	t.Helper()
	tweets, err := source.ReadTweets(context.Background(), source.Paths(twitterData), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, tw := range tweets {
		want[tw.ID], _ = json.Marshal(tw)
	}
	return want, len(tweets)
}

// The same twarc2 and v1.1 files through the HTTP producer and to Kafka:
// every tweet arrives with all its fields (user_id, retweet_of, urls, ...),
// as the source read them.
func TestProduceTwitterFiles(t *testing.T) {
	want, n := direct(t)
	check := func(t *testing.T, via string, bodies map[string][]byte) {
		if len(bodies) != len(want) {
			t.Fatalf("%s: %d distinct tweets, want %d", via, len(bodies), len(want))
		}
		withFields := 0
		for id, b := range bodies {
			var tw event.Tweet
			if err := json.Unmarshal(b, &tw); err != nil {
				t.Fatalf("%s: tweet %s: %v", via, id, err)
			}
			got, _ := json.Marshal(tw)
			if !bytes.Equal(got, want[id]) {
				t.Fatalf("%s: tweet %s\n got %s\nwant %s", via, id, got, want[id])
			}
			if tw.UserID != "" && tw.Lang != "" {
				withFields++
			}
		}
		if withFields < len(want)*9/10 {
			t.Errorf("%s: only %d of %d tweets carry user_id and lang", via, withFields, len(want))
		}
	}

	t.Run("http", func(t *testing.T) {
		var mu sync.Mutex
		bodies := map[string][]byte{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies[r.Header.Get("ce-id")] = b
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		}))
		defer srv.Close()
		sum, err := produce.Run(context.Background(), produce.Config{Data: twitterData, SinkURL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
		if err != nil || sum.Sent != int64(n) {
			t.Fatalf("%v, %v; want %d sent", sum, err, n)
		}
		check(t, "http", bodies)
	})

	t.Run("kafka", func(t *testing.T) {
		kcfg := modetest.Kafka(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sum, err := produce.Run(ctx, produce.Config{Data: twitterData, Kafka: kcfg, Topic: "tweets", Partitions: 2, Logger: slog.New(slog.DiscardHandler)})
		if err != nil || sum.Sent != int64(n) {
			t.Fatalf("%v, %v; want %d sent", sum, err, n)
		}
		bodies := map[string][]byte{}
		for _, m := range modetest.ReadTopic(ctx, t, kcfg, "tweets", n) {
			bodies[string(m.Key)] = m.Value
		}
		check(t, "kafka", bodies)
	})
}
