package produce_test

// (data helper, #10: the Twitter inputs through the producer.)

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/mode/modetest"
	"github.com/tweetflow/tweetflow/mode/produce"
	"github.com/tweetflow/tweetflow/producer/source"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

const twitterData = "../../producer/source/twitter/testdata/*.jsonl,../../producer/source/twitter/testdata/v1/statuses.jsonl"

// direct reads the files as source.Open gives them: tweet JSON by id, and
// how many tweets (with repeats) there are.
func direct(t *testing.T) (map[string][]byte, int) {
	t.Helper()
	src, err := source.Open(source.Paths(twitterData), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want, n := map[string][]byte{}, 0
	for {
		row, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return want, n
		}
		var re *csv.RowError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(row.Tweet)
		want[row.Tweet.ID], n = b, n+1
	}
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
		sum, err := produce.Run(context.Background(), produce.Config{Data: twitterData, SinkURL: srv.URL, Logger: quiet()})
		if err != nil || sum.Sent != int64(n) {
			t.Fatalf("%v, %v; want %d sent", sum, err, n)
		}
		check(t, "http", bodies)
	})

	t.Run("kafka", func(t *testing.T) {
		kcfg := modetest.Kafka(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sum, err := produce.Run(ctx, produce.Config{Data: twitterData, Kafka: kcfg, Topic: "tweets", Partitions: 2, Logger: quiet()})
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
