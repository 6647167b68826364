package functions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/functions/functionstest"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/producer/source"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/scorer"
)

// A text seen before, or twice in one batch, is scored once; the metadata
// are those an uncached function gives.
func TestScoreCache(t *testing.T) {
	mk := func(id, text string) event.Tweet {
		return event.Tweet{ID: id, Text: text, CreatedAt: time.Unix(1, 0)}
	}
	b1 := []event.Tweet{mk("1", "original text"), mk("2", "other"), mk("3", "original text")}
	b2 := []event.Tweet{mk("4", "original text"), mk("5", "new one"), mk("6", "other")}
	cached, plain := &functionstest.Scorer{}, &functionstest.Scorer{}
	fc, fp := New(cached, Options{}), New(plain, Options{CacheSize: -1})
	defer fc.Close(context.Background())
	defer fp.Close(context.Background())
	for _, b := range [][]event.Tweet{b1, b2} {
		got, err := fc.ScoreTweets(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fp.ScoreTweets(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("cached %s\nplain  %s", gj, wj)
		}
	}
	if s := cached.Sizes(); !slices.Equal(s, []int{2, 1}) {
		t.Fatalf("cached batches %v, want [2 1]", s)
	}
	if s := plain.Sizes(); !slices.Equal(s, []int{3, 3}) {
		t.Fatalf("uncached batches %v", s)
	}
	if st := fp.CacheStats(); st.Scored != 6 || st.Hits != 0 {
		t.Fatalf("uncached stats %+v, want 6 scored", st)
	}
	if st := fc.CacheStats(); st.Hits != 2 || st.Misses != 4 || st.Scored != 3 {
		t.Fatalf("stats %+v", st)
	}
	// A later model version does not see the old results.
	if _, ok := fc.cache.get("0.2.0", "other"); ok {
		t.Fatal("a result of version 0.1.0 served for 0.2.0")
	}
}

// twitterTweets reads every twarc2 fixture and the v1.1 statuses.
func twitterTweets(tb testing.TB) []event.Tweet {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "producer", "source", "twitter", "testdata")
	src, err := source.Open([]string{filepath.Join(dir, "*.jsonl"), filepath.Join(dir, "v1", "statuses.jsonl")}, source.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	var out []event.Tweet
	for {
		row, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		var re *csv.RowError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, row.Tweet)
	}
}

// On the real twarc2 data, the model is called once per distinct text.
func TestScoreCacheOnTwitterData(t *testing.T) {
	tws := twitterTweets(t)
	distinct := map[string]bool{}
	for _, tw := range tws {
		distinct[tw.Text] = true
	}
	s := &functionstest.Scorer{}
	f := New(s, Options{})
	defer f.Close(context.Background())
	for b := range slices.Chunk(tws, 64) {
		if _, err := f.ScoreTweets(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	scored := 0
	for _, n := range s.Sizes() {
		scored += n
	}
	if scored != len(distinct) {
		t.Fatalf("%d texts scored for %d tweets, want the %d distinct texts", scored, len(tws), len(distinct))
	}
	t.Logf("%d tweets, %d distinct texts scored", len(tws), scored)
}

// BenchmarkCacheTwitterReplay: the real sentiment model over the twarc2 and
// v1.1 fixtures in batches of 64, a fresh function (cold cache) each pass,
// with and without the cache: the gain a retweet-heavy stream gets.
func BenchmarkCacheTwitterReplay(b *testing.B) {
	tws := twitterTweets(b)
	_, file, _, _ := runtime.Caller(0)
	ms, err := scorer.LoadAll(filepath.Join(filepath.Dir(file), "..", "models"), []string{"sentiment"}, scorer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ms[0].Close()
	for _, tc := range []struct {
		name string
		size int
	}{{"cache=off", -1}, {"cache=on", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				f := New(ms[0], Options{CacheSize: tc.size})
				for batch := range slices.Chunk(tws, 64) {
					if _, err := f.ScoreTweets(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				n += len(tws)
				f.Close(context.Background())
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tweets/s")
		})
	}
}

// reusingScorer writes each prediction into the Probs slice it is handed,
// as the ONNX Runtime scorer does with the pooled predictions: a text's
// probabilities are derived from its length.
type reusingScorer struct{}

func (reusingScorer) Name() string     { return "reuse" }
func (reusingScorer) Version() string  { return "1" }
func (reusingScorer) Labels() []string { return []string{"a", "b"} }
func (reusingScorer) Score(_ context.Context, texts []string, out []model.Prediction) error {
	for i, t := range texts {
		p := &out[i]
		if cap(p.Probs) >= 2 {
			p.Probs = p.Probs[:2]
		} else {
			p.Probs = make([]float32, 2)
		}
		p.Probs[0] = float32(len(t))
		p.Probs[1] = -float32(len(t))
		p.Label, p.Value = "a", float64(len(t))
	}
	return nil
}

// A cached result keeps its own probabilities: scoring other texts later
// (into the pooled predictions) does not change what the cache serves.
// Before, the cache kept the pooled Probs slices, which the next batch
// overwrote (a data race, and another text's probabilities served).
func TestScoreCacheKeepsItsOwnProbs(t *testing.T) {
	f := New(reusingScorer{}, Options{})
	defer f.Close(context.Background())
	ctx := context.Background()
	for i := range 50 {
		first := strings.Repeat("x", i+1)
		if _, err := f.ScoreTweets(ctx, []event.Tweet{{ID: "1", Text: first, CreatedAt: time.Unix(1, 0)}}); err != nil {
			t.Fatal(err)
		}
		other := strings.Repeat("y", 100+i) // a miss, scored into the pool
		if _, err := f.ScoreTweets(ctx, []event.Tweet{{ID: "2", Text: other, CreatedAt: time.Unix(1, 0)}}); err != nil {
			t.Fatal(err)
		}
		got, err := f.ScoreTweets(ctx, []event.Tweet{{ID: "3", Text: first, CreatedAt: time.Unix(1, 0)}}) // a hit
		if err != nil {
			t.Fatal(err)
		}
		if p := got[0].Probabilities["a"]; p != float64(len(first)) {
			t.Fatalf("round %d: cached P(a) of %q = %v, want %d (another text's result served)", i, first, p, len(first))
		}
	}
}
