package coord

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/alerts/coord/coordtest"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/producer/source"
)

// TestToolkitEquivalence compares the engine's networks with the QUT
// coordination-network-toolkit's on the same replay and windows
// (testdata/qut/regen.sh ran the toolkit and says how).
func TestToolkitEquivalence(t *testing.T) {
	// The fixture read with the producer's QUT reader, the way the tweets
	// reach the engine in a run.
	tweets, err := source.ReadTweets(context.Background(), []string{filepath.Join("testdata", "qut", "fixture.csv")}, source.Options{Format: source.QUT})
	if err != nil {
		t.Fatal(err)
	}
	if len(tweets) < 700 {
		t.Fatalf("fixture: %d tweets", len(tweets))
	}
	kinds := map[string]signal.Kind{"co_retweet": signal.CoRetweet, "co_link": signal.CoLink, "co_reply": signal.CoReply, "co_tweet": signal.CoTweet}
	var windows []Window
	for _, k := range kinds {
		windows = append(windows, Window{k, time.Minute}, Window{k, 10 * time.Minute})
	}
	e, err := New(Config{Windows: windows})
	if err != nil {
		t.Fatal(err)
	}
	for i := range tweets {
		e.Observe(&tweets[i])
	}
	for name, k := range kinds {
		for _, span := range []time.Duration{time.Minute, 10 * time.Minute} {
			golden := fmt.Sprintf("golden_%s_%d.csv", name, int(span.Seconds()))
			want := coordtest.ReadToolkit(t, filepath.Join("testdata", "qut", golden))
			if len(want) < 10 {
				t.Fatalf("%s: only %d edges: the fixture does not exercise %s", golden, len(want), k)
			}
			coordtest.Diff(t, golden, directed(e.Edges(Window{k, span})), want)
		}
	}
	for _, ws := range e.Stats().Windows {
		if want := map[signal.Kind]uint64{signal.CoLink: 1, signal.CoTweet: 1}[ws.Signal]; ws.Duplicate != want {
			t.Errorf("%s: duplicate rows counted %d, want %d", ws.Window, ws.Duplicate, want)
		}
	}
}
