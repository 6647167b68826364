package gen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tweetflow/tweetflow/producer/source"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// The generated pages read back as twitter-v2: every tweet, no errors, in
// time order, the retweets' text the original's, retweets as frequent as in
// the templates.
func TestTwarcPages(t *testing.T) {
	dir := filepath.Join("..", "source", "twitter", "testdata")
	tmpl, err := LoadTweets(context.Background(), []string{filepath.Join(dir, "noflat.jsonl"), filepath.Join(dir, "v1", "statuses.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := TwarcPages(context.Background(), &buf, tmpl, TwarcOptions{Tweets: 1234})
	if err != nil || n != 1234 {
		t.Fatalf("%d %v", n, err)
	}
	p := filepath.Join(t.TempDir(), "g.jsonl")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := source.Open([]string{p}, source.Options{})
	if err != nil || src.Detected()[0] != source.TwitterV2 {
		t.Fatalf("%v %v", err, src.Detected())
	}
	defer src.Close()
	got, rts, tmplRTs := 0, 0, 0
	for _, tw := range tmpl {
		if tw.RetweetOf != "" {
			tmplRTs++
		}
	}
	var last int64
	err = csv.Drain(context.Background(), src, func(row csv.Row) {
		want := tmpl[got%len(tmpl)]
		if k := got / len(tmpl); k > 0 && want.RetweetOf == "" {
			want.Text += " " + strconv.Itoa(k)
		}
		if row.Tweet.Text != want.Text || row.Tweet.RetweetOf != want.RetweetOf || row.Tweet.User != want.User {
			t.Fatalf("tweet %d: %+v, template %+v", got, row.Tweet, want)
		}
		if ts := row.Tweet.CreatedAt.UnixNano(); ts <= last {
			t.Fatalf("tweet %d not after the one before", got)
		}
		last = row.Tweet.CreatedAt.UnixNano()
		if row.Tweet.RetweetOf != "" {
			rts++
		}
		got++
	}, func(re *csv.RowError) { t.Fatal(re) })
	if err != nil {
		t.Fatal(err)
	}
	if got != 1234 || rts < 1234*tmplRTs/len(tmpl)-5 {
		t.Fatalf("%d tweets, %d retweets (templates %d of %d)", got, rts, tmplRTs, len(tmpl))
	}
}
