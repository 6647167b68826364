package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/gen"
	"github.com/tweetflow/tweetflow/producer/source"
)

// replayFixtures are the twarc2 files the replay benchmark cycles through,
// as `tweetflow gen --twarc-from` does: the repository's byte-identical
// copies of ../shared/data/twitter, so the benchmark runs on any clone.
const replayFixtures = "../../../producer/source/twitter/testdata/*.jsonl"

// replayTweets generates n tweets of a twarc2 replay (gen.TwarcPages over
// the fixtures) and reads them back through the twitter reader, so the
// records carry the fields and key spread `tweetflow run` stores.
func replayTweets(tb testing.TB, n int) []event.Tweet {
	tb.Helper()
	if m, _ := filepath.Glob(replayFixtures); len(m) == 0 {
		tb.Fatalf("no twarc2 fixtures at %s", replayFixtures)
	}
	ctx := context.Background()
	tmpl, err := gen.LoadTweets(ctx, []string{replayFixtures})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "replay.jsonl")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := gen.TwarcPages(ctx, f, tmpl, gen.TwarcOptions{Tweets: n}); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	tweets, err := source.ReadTweets(ctx, []string{path}, source.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if len(tweets) != n {
		tb.Fatalf("read %d replay tweets, want %d", len(tweets), n)
	}
	return tweets
}

// BenchmarkWriteReplay writes a generated twarc2 replay (the #10 end-to-end
// target's input: about half retweets, conversation ids, entities) in
// batches of 512 with two models' results (benchWriteBatch), as
// `tweetflow run` does. Run it
// with -benchtime Nx, N <= 200 (the tweets generated); a longer run writes
// the same tweets again, which measures the rewrite path instead.
// cpu-us/record is the process's CPU per record (GC and SQLite included),
// the figure to go by on a loaded machine.
func BenchmarkWriteReplay(b *testing.B) {
	all := replayTweets(b, 200*512)
	benchWriteBatch(b, func(n int) event.Tweet { return all[n%len(all)] })
}
