package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/embedded"
	"github.com/tweetflow/tweetflow/producer"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func sampleConfig(t *testing.T, data string) embedded.Config {
	return embedded.Config{
		Data:      data,
		ModelsDir: filepath.Join(repoRoot(), "models"),
		Store:     core.StoreConfig{SQLite: filepath.Join(t.TempDir(), "tweetflow.db")},
		Alerts:    embedded.Alerts{Off: true},
	}
}

// The whole sample through both real models into SQLite: every row stored
// exactly once, with both models; a rerun changes nothing.
func TestSampleEndToEnd(t *testing.T) {
	ctx := context.Background()
	cfg := sampleConfig(t, filepath.Join(repoRoot(), "data", "sample.csv"))
	sum, err := embedded.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsRead != 20000 || sum.RowsRejected != 0 || sum.TweetsStored != 20000 || sum.Complete != 20000 || sum.Partial != 0 || sum.StoreTweets != 20000 {
		t.Fatalf("summary %+v", sum)
	}
	if len(sum.Models) != 2 || sum.Models["sentiment"].Scored != 20000 || sum.Models["offense"].Scored != 20000 {
		t.Fatalf("models %+v", sum.Models)
	}
	// The sample has 19,953 distinct texts; 24 of its repeats come more
	// than two batches and less than the cache's 8,192 texts after the
	// first, so they are hits whatever the batching.
	for m, ms := range sum.Models {
		if ms.CacheHits < 24 || ms.CacheHits > 20000-19953 {
			t.Errorf("model %s: %d score cache hits, want 24-47", m, ms.CacheHits)
		}
		// Each of the 19,953 distinct texts is scored at least once; a
		// repeat is a hit, shares its batch's model call, or (two batches
		// in flight at once) is scored again.
		if ms.ModelCalls < 19953 || ms.ModelCalls > 20000-ms.CacheHits {
			t.Errorf("model %s: %d model calls with %d hits, want 19,953-%d", m, ms.ModelCalls, ms.CacheHits, 20000-ms.CacheHits)
		}
	}
	st, err := sqlite.Open(ctx, cfg.Store.SQLite, []string{"offense", "sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := st.Stats(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Tweets != 20000 || stats.Complete != 20000 || stats.Models["sentiment"].Scored != 20000 || stats.Models["offense"].Scored != 20000 {
		t.Fatalf("store stats %+v", stats)
	}
	if d := stats.Models["sentiment"].Mean - sum.Models["sentiment"].Mean; d > 1e-9 || d < -1e-9 {
		t.Fatalf("store mean %v, run mean %v", stats.Models["sentiment"].Mean, sum.Models["sentiment"].Mean)
	}
	before, found, err := st.Get(ctx, "1467810369")
	if err != nil || !found || before.User != "_TheSpecialOne_" || len(before.Results) != 2 {
		t.Fatalf("first row %+v %v", before, err)
	}
	st.Close(ctx)

	again, err := embedded.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again.StoreTweets != 20000 || again.TweetsStored != 20000 {
		t.Fatalf("rerun summary %+v", again)
	}
	st, _ = sqlite.Open(ctx, cfg.Store.SQLite, []string{"offense", "sentiment"})
	defer st.Close(ctx)
	after, _, _ := st.Get(ctx, "1467810369")
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("rerun changed a row:\n%+v\n%+v", before, after)
	}
}

const good = `"0","%d","Mon Apr 06 22:19:%02d PDT 2009","NO_QUERY","user%d","tweet number %d is fine"`

func writeCSV(t *testing.T, lines []string, eol string) string {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, eol)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every kind of bad row is counted by reason; every good row is stored.
func TestBadRowsEndToEnd(t *testing.T) {
	var lines []string
	for i := range 10 {
		lines = append(lines, fmt.Sprintf(good, 100+i, i, i, i))
	}
	bad := []string{
		`"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","unterminated`,
		`"0","9","Mon Apr 06 22:19:45 PDT 2009","u","text"`,
		`"0","9","Mon Apr 36 22:19:45 PDT 2009","NO_QUERY","u","text"`,
		`"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u",""`,
		"\"0\",\"9\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u\",\"caf\xe9\"",
		`"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","` + strings.Repeat("y", 1<<20) + `"`,
	}
	// Interleave: good, bad, good, bad, ...
	var mixed []string
	for i, l := range lines {
		mixed = append(mixed, l)
		if i < len(bad) {
			mixed = append(mixed, bad[i])
		}
	}
	cfg := sampleConfig(t, writeCSV(t, mixed, "\r\n"))
	sum, err := embedded.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"broken_quotes": 1, "column_count": 1, "bad_timestamp": 1, "empty_text": 1, "invalid_utf8": 1, "line_too_long": 1}
	if fmt.Sprint(sum.RejectedByReason) != fmt.Sprint(want) || sum.RowsRejected != 6 || sum.RowsRead != 16 {
		t.Fatalf("rejected %v (total %d, read %d), want %v", sum.RejectedByReason, sum.RowsRejected, sum.RowsRead, want)
	}
	if sum.TweetsStored != 10 || sum.Complete != 10 || sum.StoreTweets != 10 {
		t.Fatalf("summary %+v", sum)
	}

	// --on-error stop: the error names file:line; the rows before it are stored.
	cfg = sampleConfig(t, cfg.Data)
	cfg.Producer.OnError = producer.Stop
	sum, err = embedded.Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "in.csv:2:") {
		t.Fatalf("stop: err %v, want one naming in.csv:2", err)
	}
	if sum.TweetsStored != 1 || sum.StoreTweets != 1 {
		t.Fatalf("stop: summary %+v", sum)
	}
}

// Ctrl-C: the run stops early and everything it read is stored.
func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := sampleConfig(t, filepath.Join(repoRoot(), "data", "sample.csv"))
	cfg.Producer.OnBatch = func(s producer.Stats) {
		if s.Sent >= 1000 {
			cancel()
		}
	}
	sum, err := embedded.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.RowsRead >= 20000 || sum.RowsRead < 1000 {
		t.Fatalf("summary %+v, want an interrupted run", sum)
	}
	if sum.TweetsStored != sum.RowsRead || sum.StoreTweets != sum.RowsRead || sum.Partial != 0 {
		t.Fatalf("read %d, stored %d (store %d, partial %d): accepted tweets lost", sum.RowsRead, sum.TweetsStored, sum.StoreTweets, sum.Partial)
	}
	// Resuming from next_start_row stores the rest, and nothing twice.
	cfg.StartRow = sum.NextStartRow
	cfg.Producer.OnBatch = nil
	rest, err := embedded.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rest.RowsRead != 20000-sum.RowsRead || rest.StoreTweets != 20000 {
		t.Fatalf("resumed run read %d (want %d), store has %d", rest.RowsRead, 20000-sum.RowsRead, rest.StoreTweets)
	}
}

// A run's config is checked before anything is opened, and the error names
// the flag.
func TestRunRefusesABadConfig(t *testing.T) {
	for _, tc := range []struct {
		change func(*embedded.Config)
		want   string
	}{
		{func(c *embedded.Config) { c.Producer.Speed = -1 }, "--speed -1"},
		{func(c *embedded.Config) { c.Producer.Limit = -5 }, "--limit -5"},
		{func(c *embedded.Config) { c.CSV.Keep = map[string]string{"": "0"} }, "--keep =0"},
		{func(c *embedded.Config) { c.CSV.Keep = map[string]string{"target": ""} }, "--keep target="},
	} {
		cfg := embedded.Defaults()
		cfg.Data = "/nonexistent/input.csv"
		cfg.Store.SQLite = filepath.Join(t.TempDir(), "never.db")
		tc.change(&cfg)
		for name, run := range map[string]func(context.Context, embedded.Config) (embedded.Summary, error){"Run": embedded.Run, "ReadOnly": embedded.ReadOnly} {
			if _, err := run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
			}
		}
		if _, err := os.Stat(cfg.Store.SQLite); err == nil {
			t.Errorf("%q: the store was created before the config was checked", tc.want)
		}
	}
}
