package campaign

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// oracle alerts once per planted campaign (on its accounts, no tweet ids:
// a network alert) and once on the first organic retweet cascade that
// reaches 5 retweets, so the suite's scoring can be checked exactly.
type oracle struct {
	accounts map[string][]string // campaign account id -> its campaign's account ids
	alerted  map[string]bool
	cascades map[string][]string
	out      []event.Alert
	falses   int
}

func (o *oracle) Observe(recs []sink.Record) []event.Alert {
	var out []event.Alert
	for _, r := range recs {
		t := r.Tweet
		if group, ok := o.accounts[t.UserID]; ok && !o.alerted[group[0]] {
			o.alerted[group[0]] = true
			out = append(out, event.Alert{Kind: event.AlertCoordination, Metric: "co-oracle", Accounts: group, WindowEnd: t.CreatedAt})
			continue
		}
		if t.RetweetOf != "" && !strings.HasPrefix(t.UserID, "8") {
			c := append(o.cascades[t.RetweetOf], t.ID)
			o.cascades[t.RetweetOf] = c
			if len(c) == 5 && o.falses == 0 {
				o.falses++
				out = append(out, event.Alert{Kind: event.AlertCoordination, Metric: "similar_texts", TweetIDs: c, WindowEnd: t.CreatedAt})
			}
		}
	}
	return out
}

func (o *oracle) Flush() []event.Alert { return nil }

func TestSuiteScoresPerPattern(t *testing.T) {
	counts := map[Pattern]int{}
	for _, p := range Patterns() {
		counts[p] = 2
	}
	cfg := SuiteConfig{Texts: "../../data/sample.csv", Tweets: 20_000, Start: benchStart, Span: 4 * time.Hour,
		Shape: MeasuredShape(), Plant: counts, Seeds: []uint64{5}}
	// The oracle needs the campaigns' accounts: plant once here with the
	// suite's seed to learn them (same seed, same campaigns).
	texts, handles := sampleTexts(t)
	org, err := MakeOrganic(OrganicConfig{Tweets: cfg.Tweets, Start: cfg.Start, Span: cfg.Span, Shape: cfg.Shape, Seed: 5, Texts: texts, Handles: handles})
	if err != nil {
		t.Fatal(err)
	}
	_, truth, err := Plant(org, cfg.Start, cfg.Span, counts, 5)
	if err != nil {
		t.Fatal(err)
	}
	o := &oracle{accounts: map[string][]string{}, alerted: map[string]bool{}, cascades: map[string][]string{}}
	skip := truth.Campaigns[0] // one campaign the oracle misses
	for _, c := range truth.Campaigns[1:] {
		for _, id := range c.AccountIDs {
			o.accounts[id] = c.AccountIDs
		}
	}
	cfg.NewDetector = func() (Detector, error) { return o, nil }
	rep, err := RunSuite(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0].Report
	if r.Found != len(truth.Campaigns)-1 || r.FalseAlerts != 1 || r.OrganicTweets != 20_000 || len(r.Missed) != 1 || r.Missed[0].ID != skip.ID {
		t.Fatalf("found %d of %d, %d false, %d organic, missed %v", r.Found, len(truth.Campaigns), r.FalseAlerts, r.OrganicTweets, r.Missed)
	}
	if len(r.ByPattern) != len(Patterns()) {
		t.Fatalf("by pattern: %+v", r.ByPattern)
	}
	for _, pc := range r.ByPattern {
		want := 2
		if pc.Pattern == skip.Pattern {
			want = 1
		}
		if pc.Planted != 2 || pc.Found != want {
			t.Errorf("%s: %d / %d found, want %d / 2", pc.Pattern, pc.Found, pc.Planted, want)
		}
	}
	if want := []MetricCount{{"co-oracle", len(truth.Campaigns) - 1, 0}, {"similar_texts", 0, 1}}; !slices.Equal(r.ByMetric, want) {
		t.Errorf("by metric %+v, want %+v", r.ByMetric, want)
	}
	if r.FalsePer100k != 5 {
		t.Errorf("false per 100k %.2f, want 5 (1 in 20,000)", r.FalsePer100k)
	}
	var b strings.Builder
	if err := rep.Print(&b); err != nil || !strings.Contains(b.String(), string(skip.Pattern)) {
		t.Errorf("print: %v\n%s", err, b.String())
	}
}

// The alert engine, as it is, finds near-copy bursts in the organic data:
// the part of the bench the near-duplicate detector was built for.
func TestSuiteEngineFindsBursts(t *testing.T) {
	cfg := SuiteConfig{Texts: "../../data/sample.csv", Tweets: 20_000, Start: benchStart, Span: 3 * time.Hour,
		Shape: MeasuredShape(), Plant: map[Pattern]int{Burst: 8}, Seeds: []uint64{1}}
	rep, err := RunSuite(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if pc := rep.Results[0].Report.ByPattern[0]; pc.Pattern != Burst || pc.Found < 7 {
		t.Errorf("bursts: %+v", rep.Results[0].Report.ByPattern)
	}
}

// --replay-out writes the first seed's stream as QUT CSV that the source
// reader reads back tweet for tweet (ids, accounts, references, links,
// millisecond times), with a ground truth Bench scores from.
func TestReplayOutRoundTrip(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "replay.csv")
	cfg := SuiteConfig{Texts: "../../data/sample.csv", Tweets: 5_000, Start: benchStart, Span: 2 * time.Hour,
		Shape: MeasuredShape(), Plant: map[Pattern]int{Burst: 2, Ring: 1, LinkPush: 1, ReplySwarm: 1}, Seeds: []uint64{3, 4},
		ReplayOut: out}
	rep, err := RunSuite(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	texts, handles := sampleTexts(t)
	org, err := MakeOrganic(OrganicConfig{Tweets: cfg.Tweets, Start: cfg.Start, Span: cfg.Span, Shape: cfg.Shape, Seed: 3, Texts: texts, Handles: handles})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := Plant(org, cfg.Start, cfg.Span, cfg.Plant, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readTweets(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read back %d tweets, wrote %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.UserID != w.UserID || g.User != w.User || g.Text != w.Text || !g.CreatedAt.Equal(w.CreatedAt) ||
			g.RetweetOf != w.RetweetOf || g.ReplyTo != w.ReplyTo || !slices.Equal(g.URLs, w.URLs) {
			t.Fatalf("tweet %d: read back %+v, wrote %+v", i, g, w)
		}
	}
	truth, err := ReadTruth(TruthPath(out))
	if err != nil {
		t.Fatal(err)
	}
	// Scoring the written replay as `alerts bench --data --truth` does
	// gives the suite's own result for that seed.
	r, err := Bench(context.Background(), BenchConfig{Data: out, TruthFile: TruthPath(out)})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Results[0].Report
	if len(truth.Campaigns) != 5 || r.Found != s.Found || r.FalseAlerts != s.FalseAlerts || r.Alerts != s.Alerts {
		t.Errorf("%d campaigns; bench of the replay: %d found, %d/%d false/alerts; suite: %d, %d/%d",
			len(truth.Campaigns), r.Found, r.FalseAlerts, r.Alerts, s.Found, s.FalseAlerts, s.Alerts)
	}
}
