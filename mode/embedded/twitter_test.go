package embedded_test

// (data helper, #10: the Twitter inputs through the embedded mode.)

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/mode/embedded"
	"github.com/tweetflow/tweetflow/producer/source"
)

// Every twarc2 fixture at once (a glob, merged in event time, the format
// decided per file) plus the v1.1 statuses: each distinct tweet stored
// exactly once (flat.jsonl and noflat.jsonl hold the same 100 tweets).
func TestTwitterFilesEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(repoRoot(), "producer", "source", "twitter", "testdata")
	data := filepath.Join(dir, "*.jsonl") + "," + filepath.Join(dir, "v1", "statuses.jsonl")

	tweets, err := source.ReadTweets(ctx, source.Paths(data), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for _, tw := range tweets {
		distinct[tw.ID] = true
	}
	if len(distinct) < 300 {
		t.Fatalf("only %d distinct tweets in the fixtures", len(distinct))
	}

	cfg := sampleConfig(t, data)
	t.Logf("%d distinct tweets", len(distinct))
	sum, err := embedded.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.StoreTweets != int64(len(distinct)) {
		t.Fatalf("store holds %d tweets, want the %d distinct ones (summary %+v)", sum.StoreTweets, len(distinct), sum)
	}
	// A tweet read twice (flat.jsonl and noflat.jsonl hold the same 100)
	// is one stored tweet and one duplicate result a model, not a partial
	// record: every copy's results are accepted once or skipped.
	repeats := int64(len(tweets) - len(distinct))
	if sum.TweetsStored != int64(len(distinct)) || sum.Complete != sum.TweetsStored || sum.Partial != 0 || sum.Duplicates != 2*repeats {
		t.Fatalf("summary: stored %d (complete %d, partial %d), %d duplicates; want %d complete, %d duplicates (%d tweets read twice, 2 models)",
			sum.TweetsStored, sum.Complete, sum.Partial, sum.Duplicates, len(distinct), 2*repeats, repeats)
	}
	var out strings.Builder
	sum.Print(&out)
	if want := fmt.Sprintf("duplicates       %d model results skipped", 2*repeats); !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "partial 0)") {
		t.Fatalf("printed summary lacks %q or partial 0:\n%s", want, out.String())
	}
	st, err := sqlite.Open(ctx, cfg.Store.SQLite, []string{"offense", "sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	stats, err := st.Stats(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Tweets != int64(len(distinct)) || stats.Complete != stats.Tweets {
		t.Fatalf("store stats %+v, want %d complete tweets", stats, len(distinct))
	}
}
