package cosim

import (
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// The weights are the toolkit's: from A to B, A's tweets with a similar
// tweet of B within the window; a retweet, a dissimilar text, a tweet out
// of the window and an account's own copies add nothing.
func TestWeights(t *testing.T) {
	b, err := New(Config{Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	add := func(id, user, text string, at time.Duration, rt string) {
		b.Add(&event.Tweet{ID: id, UserID: user, User: "@" + user, Text: text, RetweetOf: rt, CreatedAt: t0.Add(at)})
	}
	copy := "vote early the polls close at eight tonight everyone"
	add("1", "a", copy, 0, "")
	add("2", "a", copy+" !", 10*time.Second, "") // 9 of 10 words: Jaccard 0.9
	add("3", "b", "@x "+copy, 30*time.Second, "")
	add("4", "c", copy, 30*time.Second, "9") // a retweet
	add("5", "d", "something else entirely about the weather today", 31*time.Second, "")
	add("6", "e", copy, 2*time.Minute, "") // 90 s after b's: out of the window
	edges, st := b.Edges()
	if len(edges) != 1 {
		t.Fatalf("edges %+v", edges)
	}
	e := edges[0]
	if e.A != "a" || e.B != "b" || e.AB != 2 || e.BA != 1 || e.Weight() != 2 || e.TweetsA != 2 || e.HandleB != "@b" {
		t.Errorf("edge %+v, want a-b with a->b 2, b->a 1", e)
	}
	if b.Retweets != 1 || st.Tweets != 5 || st.Similar < 3 {
		t.Errorf("retweets %d, stats %+v", b.Retweets, st)
	}
	if _, err := New(Config{Window: time.Minute, Threshold: 1.2}); err == nil {
		t.Error("threshold 1.2 accepted")
	}
}

func TestPrefix(t *testing.T) {
	for _, c := range []struct {
		n    int
		t    float64
		want int
	}{{5, 0.8, 2}, {10, 0.7, 4}, {1, 0.8, 1}, {3, 1, 1}, {10, 0.05, 10}} {
		if got := prefix(c.n, c.t); got != c.want {
			t.Errorf("prefix(%d, %g) = %d, want %d", c.n, c.t, got, c.want)
		}
	}
}
