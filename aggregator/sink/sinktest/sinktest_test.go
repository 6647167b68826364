package sinktest

import (
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
)

// TestCheckDocCatches: the suite's comparison is not vacuous: each kind of
// driver bug it exists to catch yields a difference.
func TestCheckDocCatches(t *testing.T) {
	rec := Full(1)
	good := Doc{
		TweetID: rec.Tweet.ID, User: rec.Tweet.User, Text: rec.Tweet.Text, Timestamp: rec.Tweet.CreatedAt,
		Results:  map[string]sink.Result{"offense": rec.Results[0], "sentiment": rec.Results[1]},
		Complete: true,
	}
	models := []string{"offense", "sentiment"}
	if d := CheckDoc(good, rec.Tweet, rec.Results, models, false); d != "" {
		t.Fatalf("a correct document differs: %s", d)
	}
	for name, tc := range map[string]struct {
		mutate func(*Doc)
		want   string
	}{
		"a merge that dropped a model": {func(d *Doc) { delete(d.Results, "offense"); d.Missing = []string{"offense"}; d.Complete = false }, "model offense absent"},
		"a stale value":                {func(d *Doc) { r := d.Results["sentiment"]; r.Value += 0.5; d.Results["sentiment"] = r }, "model sentiment"},
		"a wrong complete flag":        {func(d *Doc) { d.Complete = false }, "complete"},
		"a wrong missing list":         {func(d *Doc) { d.Missing = []string{"sentiment"} }, "missing"},
		"a stuck partial flag":         {func(d *Doc) { d.Partial = true }, "partial"},
		"mangled text":                 {func(d *Doc) { d.Text = strings.ToUpper(d.Text) }, "text"},
		"a shifted timestamp":          {func(d *Doc) { d.Timestamp = d.Timestamp.Add(time.Hour) }, "timestamp"},
		"an extra model":               {func(d *Doc) { d.Results["topic"] = sink.Result{Model: "topic"} }, "model topic present"},
	} {
		d := good
		d.Results = map[string]sink.Result{"offense": good.Results["offense"], "sentiment": good.Results["sentiment"]}
		tc.mutate(&d)
		if diff := CheckDoc(d, rec.Tweet, rec.Results, models, false); !strings.Contains(diff, tc.want) {
			t.Errorf("%s: diff %q, want it to mention %q", name, diff, tc.want)
		}
	}
}
