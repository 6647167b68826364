package campaign

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/export"
)

// SuiteConfig is `tweetflow alerts bench --organic N`: campaigns of every
// pattern planted into synthetic organic data shaped like a real
// collection, replayed through a fresh detector per seed.
type SuiteConfig struct {
	// Texts is a file of real tweets (any format source.Open reads) whose
	// texts and handles the organic tweets use.
	Texts string
	// Tweets organic tweets over Span from Start, shaped like Shape.
	Tweets int
	Start  time.Time
	Span   time.Duration
	Shape  Shape
	// Plant is how many campaigns of each pattern to plant per seed.
	Plant map[Pattern]int
	// Seeds: one organic collection and one planting per seed.
	Seeds []uint64
	// Templates are the campaigns' message templates (default the
	// bench's; FreshTemplates for a check on unseen ones).
	Templates Templates
	// NewDetector makes the detector of one run (default: the alert
	// engine with its default configuration).
	NewDetector func() (Detector, error)
	// ReplayOut, if set, is where the first seed's stream is written in
	// the QUT CSV layout, with its ground truth beside it (.truth.json), so
	// that `tweetflow run` can replay it and `alerts bench --truth --db`
	// score what that run stored.
	ReplayOut string
}

// DefaultSuite is 200,000 organic tweets over 12 hours (4.6 tweets/s, a
// mid-sized keyword collection), MeasuredShape, DefaultPlant, seeds 1-3.
func DefaultSuite() SuiteConfig {
	return SuiteConfig{Texts: "data/sample.csv", Tweets: 200_000, Start: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC),
		Span: 12 * time.Hour, Shape: MeasuredShape(), Plant: DefaultPlant(), Seeds: []uint64{1, 2, 3}}
}

// SeedResult is one seed's run.
type SeedResult struct {
	Seed uint64 `json:"seed"`
	// Tweets replayed, of which Report.OrganicTweets organic; Largest is
	// the biggest organic retweet cascade.
	Tweets  int    `json:"tweets"`
	Largest int    `json:"largest_cascade"`
	Report  Report `json:"report"`
}

// SuiteReport is every seed's result.
type SuiteReport struct {
	Results []SeedResult `json:"results"`
}

// RunSuite runs cfg: per seed, make the organic data, plant the campaigns,
// replay the stream through a new detector and score its alerts.
func RunSuite(ctx context.Context, cfg SuiteConfig) (SuiteReport, error) {
	if len(cfg.Seeds) == 0 {
		return SuiteReport{}, errors.New("bench: no seeds")
	}
	if cfg.NewDetector == nil {
		cfg.NewDetector = func() (Detector, error) { return alerts.New(alerts.Config{}) }
	}
	texts, handles, err := readTexts(ctx, cfg.Texts)
	if err != nil {
		return SuiteReport{}, err
	}
	var rep SuiteReport
	for _, seed := range cfg.Seeds {
		org, err := MakeOrganic(OrganicConfig{Tweets: cfg.Tweets, Start: cfg.Start, Span: cfg.Span, Shape: cfg.Shape,
			Seed: seed, Texts: texts, Handles: handles})
		if err != nil {
			return rep, err
		}
		stream, truth, err := PlantWith(org, cfg.Start, cfg.Span, cfg.Plant, seed, cfg.Templates)
		if err != nil {
			return rep, err
		}
		if cfg.ReplayOut != "" && seed == cfg.Seeds[0] {
			if err := writeReplay(ctx, cfg.ReplayOut, stream, truth); err != nil {
				return rep, err
			}
		}
		det, err := cfg.NewDetector()
		if err != nil {
			return rep, err
		}
		got, err := Replay(ctx, det, sliceNext(stream))
		if err != nil {
			return rep, err
		}
		rep.Results = append(rep.Results, SeedResult{Seed: seed, Tweets: len(stream), Largest: org.Largest,
			Report: Evaluate(truth, got)})
	}
	return rep, nil
}

func clipName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// TruthPath is where the ground truth of a replay written to path goes.
func TruthPath(path string) string { return strings.TrimSuffix(path, ".csv") + ".truth.json" }

// writeReplay writes stream to path as QUT CSV (through export, the layout
// `tweetflow export --format qut` writes) and truth to TruthPath(path).
func writeReplay(ctx context.Context, path string, stream []event.Tweet, truth Truth) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: replay: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	_, err = export.Write(ctx, bw, sliceStore(stream), export.Options{Format: export.QUT})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bench: replay %s: %w", path, err)
	}
	return writeJSON(TruthPath(path), truth)
}

// sliceStore is export.Store over tweets already in time order.
type sliceStore []event.Tweet

func (sliceStore) StoredModels(context.Context) ([]string, error) { return nil, nil }

func (s sliceStore) Tweets(ctx context.Context, _, _ time.Time) iter.Seq2[sqlite.Tweet, error] {
	return func(yield func(sqlite.Tweet, error) bool) {
		for _, t := range s {
			if err := ctx.Err(); err != nil {
				yield(sqlite.Tweet{}, err)
				return
			}
			if !yield(sqlite.Tweet{Tweet: t}, nil) {
				return
			}
		}
	}
}

// sliceNext reads tweets one by one, io.EOF after the last.
func sliceNext(tweets []event.Tweet) func(context.Context) (event.Tweet, error) {
	i := 0
	return func(ctx context.Context) (event.Tweet, error) {
		if err := ctx.Err(); err != nil {
			return event.Tweet{}, err
		}
		if i == len(tweets) {
			return event.Tweet{}, io.EOF
		}
		i++
		return tweets[i-1], nil
	}
}

// readTexts returns the texts and the distinct handles of path's tweets.
func readTexts(ctx context.Context, path string) (texts, handles []string, err error) {
	tweets, err := readTweets(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("texts: %w", err)
	}
	seen := map[string]bool{}
	for _, t := range tweets {
		texts = append(texts, t.Text)
		if h := t.User; h != "" && !seen[h] {
			seen[h] = true
			handles = append(handles, h)
		}
	}
	if len(texts) == 0 || len(handles) == 0 {
		return nil, nil, fmt.Errorf("bench: texts: %s has no tweets with a user", path)
	}
	return texts, handles, nil
}

// Print writes one line per pattern (found / planted per seed, then all
// seeds) and the false alerts per seed.
func (s SuiteReport) Print(w io.Writer) error {
	if len(s.Results) == 0 {
		return nil
	}
	fmt.Fprintf(w, "%-16s", "pattern")
	for _, r := range s.Results {
		fmt.Fprintf(w, " %10s", fmt.Sprintf("seed %d", r.Seed))
	}
	fmt.Fprintf(w, " %10s\n", "all")
	for i, pc := range s.Results[0].Report.ByPattern {
		fmt.Fprintf(w, "%-16s", pc.Pattern)
		found, planted := 0, 0
		for _, r := range s.Results {
			c := r.Report.ByPattern[i]
			found, planted = found+c.Found, planted+c.Planted
			fmt.Fprintf(w, " %10s", fmt.Sprintf("%d/%d", c.Found, c.Planted))
		}
		fmt.Fprintf(w, " %10s\n", fmt.Sprintf("%d/%d", found, planted))
	}
	falses, organic := 0, 0
	fmt.Fprintf(w, "%-16s", "false alerts")
	for _, r := range s.Results {
		falses, organic = falses+r.Report.FalseAlerts, organic+r.Report.OrganicTweets
		fmt.Fprintf(w, " %10d", r.Report.FalseAlerts)
	}
	fmt.Fprintf(w, " %10d\n", falses)
	fmt.Fprintf(w, "%-16s", "per 100k organic")
	for _, r := range s.Results {
		fmt.Fprintf(w, " %10.1f", r.Report.FalsePer100k)
	}
	fmt.Fprintf(w, " %10.1f\n", float64(falses)/float64(max(1, organic))*100_000)
	// The strict figure above counts alerts on the source collection's own
	// spam campaign as false; these lines say how many they are.
	source := 0
	fmt.Fprintf(w, "%-16s", "of them source")
	for _, r := range s.Results {
		source += r.Report.FalseOnSource
		fmt.Fprintf(w, " %10d", r.Report.FalseOnSource)
	}
	fmt.Fprintf(w, " %10d\n", source)
	fmt.Fprintf(w, "%-16s", "others /100k")
	for _, r := range s.Results {
		fmt.Fprintf(w, " %10.1f", r.Report.FalseOtherPer100k)
	}
	fmt.Fprintf(w, " %10.1f\n", float64(falses-source)/float64(max(1, organic))*100_000)
	fmt.Fprintf(w, "%-16s", "alerts (true)")
	for _, r := range s.Results {
		fmt.Fprintf(w, " %10s", fmt.Sprintf("%d (%d)", r.Report.Alerts, r.Report.TrueAlerts))
	}
	fmt.Fprintln(w)
	var metrics []string
	for _, r := range s.Results {
		for _, m := range r.Report.ByMetric {
			if !slices.Contains(metrics, m.Metric) {
				metrics = append(metrics, m.Metric)
			}
		}
	}
	slices.Sort(metrics)
	for _, name := range metrics {
		fmt.Fprintf(w, "%-16s", clipName(name, 16))
		for _, r := range s.Results {
			var c MetricCount
			for _, m := range r.Report.ByMetric {
				if m.Metric == name {
					c = m
				}
			}
			fmt.Fprintf(w, " %10s", fmt.Sprintf("%dt %df", c.True, c.False))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-16s", "largest cascade")
	for _, r := range s.Results {
		fmt.Fprintf(w, " %10d", r.Largest)
	}
	fmt.Fprintln(w)
	for _, r := range s.Results {
		for i, a := range r.Report.FalseSamples {
			if i == 3 {
				break
			}
			fmt.Fprintf(w, "  seed %d false alert %s: %s\n", r.Seed, a.WindowStart.Format(time.RFC3339), a.Message)
		}
	}
	var missed []string
	for _, r := range s.Results {
		for _, c := range r.Report.Missed {
			missed = append(missed, fmt.Sprintf("  seed %d missed #%d %s: %d accounts, %d tweets over %s",
				r.Seed, c.ID, c.Pattern, len(c.Accounts), len(c.TweetIDs), c.End.Sub(c.Start).Round(time.Second)))
		}
	}
	slices.Sort(missed)
	for i, m := range missed {
		if i == 12 {
			fmt.Fprintf(w, "  … %d more missed\n", len(missed)-i)
			break
		}
		fmt.Fprintln(w, m)
	}
	return nil
}
