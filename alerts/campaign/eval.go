package campaign

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/internal/jsonfile"
)

// Report scores coordination alerts against the ground truth.
type Report struct {
	Campaigns int `json:"campaigns"`
	// Found campaigns have at least one alert whose tweets are mostly theirs.
	Found  int     `json:"found"`
	Recall float64 `json:"recall"`
	// Alerts counts coordination alerts; TrueAlerts those matching a
	// campaign or naming planted tweets only, FalseAlerts the others (on
	// organic tweets). MixedAlerts, of the true ones, name planted tweets
	// only but of several campaigns, none with a majority: campaigns
	// share message templates, and accounts of two campaigns posting one
	// text within the window are one coordinated group. They find no
	// campaign.
	Alerts      int     `json:"alerts"`
	TrueAlerts  int     `json:"true_alerts"`
	MixedAlerts int     `json:"mixed_alerts"`
	FalseAlerts int     `json:"false_alerts"`
	Precision   float64 `json:"precision"`
	// OrganicTweets and FalsePer100k: false alerts per 100,000 organic tweets.
	OrganicTweets int     `json:"organic_tweets"`
	FalsePer100k  float64 `json:"false_per_100k"`
	// FalseOnSource counts the false alerts whose texts are mostly a
	// SourceCampaigns text (a campaign of the source collection itself);
	// they stay in FalseAlerts. FalseOtherPer100k is the rate of the rest.
	FalseOnSource     int     `json:"false_on_source_campaigns"`
	FalseOtherPer100k float64 `json:"false_other_per_100k"`
	// Missed lists the campaigns not found; FalseSamples some false alerts,
	// so a reader can judge them (a genuine spam wave in the organic data
	// counts as false here).
	Missed       []Campaign    `json:"missed,omitempty"`
	FalseSamples []event.Alert `json:"false_samples,omitempty"`
	// MedianDelay is the event time from a found campaign's first post to
	// its first alert's last tweet (when the alert could be raised).
	MedianDelay time.Duration `json:"median_delay_ns"`
	// ByMetric counts true and false alerts per alert metric (the
	// detector's signal: similar_texts, co-retweet, ...), sorted by metric.
	ByMetric []MetricCount `json:"by_metric,omitempty"`
	// ByPattern counts planted and found campaigns per pattern (Plant's
	// campaigns; the Injector's have none), in Patterns order.
	ByPattern []PatternCount `json:"by_pattern,omitempty"`
}

// MetricCount is one alert metric's true and false alerts.
type MetricCount struct {
	Metric string `json:"metric"`
	True   int    `json:"true"`
	False  int    `json:"false"`
}

// PatternCount is one pattern's found / planted.
type PatternCount struct {
	Pattern Pattern `json:"pattern"`
	Planted int     `json:"planted"`
	Found   int     `json:"found"`
}

// Evaluate matches alerts (coordination alerts only; others are ignored) to
// the campaigns of truth. An alert matches a campaign when more than half of
// its tweet ids are that campaign's, or, failing that, more than half of its
// accounts (by handle or id): a network alert names accounts that co-acted,
// and may carry few or none of their tweets. An alert matching no campaign
// is still true when every tweet it names is planted (a mixed alert), else
// false.
func Evaluate(truth Truth, alerts []event.Alert) Report {
	owner := map[string]int{} // tweet id -> campaign index
	acctOwner := map[string]int{}
	for i, c := range truth.Campaigns {
		for _, id := range c.TweetIDs {
			owner[id] = i
		}
		for _, a := range slices.Concat(c.Accounts, c.AccountIDs) {
			acctOwner[a] = i
		}
	}
	r := Report{Campaigns: len(truth.Campaigns), OrganicTweets: truth.OrganicRows}
	metrics := map[string]*MetricCount{}
	metric := func(m string) *MetricCount {
		if metrics[m] == nil {
			metrics[m] = &MetricCount{Metric: m}
		}
		return metrics[m]
	}
	found := make([]bool, len(truth.Campaigns))
	firstAlert := make([]time.Time, len(truth.Campaigns))
	for _, a := range alerts {
		if a.Kind != event.AlertCoordination {
			continue
		}
		r.Alerts++
		votes := map[int]int{}
		for _, id := range a.TweetIDs {
			if c, ok := owner[id]; ok {
				votes[c]++
			}
		}
		best, ok := majority(votes, len(a.TweetIDs))
		planted := 0
		for _, v := range votes {
			planted += v
		}
		if !ok && planted > 0 && planted == len(a.TweetIDs) {
			r.TrueAlerts++
			r.MixedAlerts++
			metric(a.Metric).True++
			continue
		}
		if !ok {
			votes = map[int]int{}
			for _, acct := range a.Accounts {
				if c, ok := acctOwner[acct]; ok {
					votes[c]++
				}
			}
			best, ok = majority(votes, len(a.Accounts))
		}
		if ok {
			r.TrueAlerts++
			metric(a.Metric).True++
			found[best] = true
			if firstAlert[best].IsZero() || a.WindowEnd.Before(firstAlert[best]) {
				firstAlert[best] = a.WindowEnd
			}
			continue
		}
		r.FalseAlerts++
		metric(a.Metric).False++
		if onSourceCampaign(a) {
			r.FalseOnSource++
		}
		if len(r.FalseSamples) < 20 {
			r.FalseSamples = append(r.FalseSamples, a)
		}
	}
	for _, m := range metrics {
		r.ByMetric = append(r.ByMetric, *m)
	}
	slices.SortFunc(r.ByMetric, func(a, b MetricCount) int { return strings.Compare(a.Metric, b.Metric) })
	counts := map[Pattern]*PatternCount{}
	for _, p := range Patterns() {
		counts[p] = &PatternCount{Pattern: p}
	}
	for i, c := range truth.Campaigns {
		if pc := counts[c.Pattern]; pc != nil {
			pc.Planted++
			if found[i] {
				pc.Found++
			}
		}
	}
	for _, p := range Patterns() {
		if counts[p].Planted > 0 {
			r.ByPattern = append(r.ByPattern, *counts[p])
		}
	}
	var delays []time.Duration
	for i, f := range found {
		if f {
			r.Found++
			delays = append(delays, firstAlert[i].Sub(truth.Campaigns[i].Start))
		} else {
			r.Missed = append(r.Missed, truth.Campaigns[i])
		}
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		r.MedianDelay = delays[len(delays)/2]
	}
	if r.Campaigns > 0 {
		r.Recall = float64(r.Found) / float64(r.Campaigns)
	}
	if r.Alerts > 0 {
		r.Precision = float64(r.TrueAlerts) / float64(r.Alerts)
	}
	if r.OrganicTweets > 0 {
		r.FalsePer100k = float64(r.FalseAlerts) / float64(r.OrganicTweets) * 100_000
		r.FalseOtherPer100k = float64(r.FalseAlerts-r.FalseOnSource) / float64(r.OrganicTweets) * 100_000
	}
	return r
}

// majority returns the campaign with the most votes (the lowest index on a
// tie) if it has more than half of n.
func majority(votes map[int]int, n int) (int, bool) {
	best, bestVotes := -1, 0
	for c, v := range votes {
		if v > bestVotes || (v == bestVotes && c < best) {
			best, bestVotes = c, v
		}
	}
	return best, best >= 0 && 2*bestVotes > n
}

// Print writes the report for humans.
func (r Report) Print(w io.Writer) error {
	_, err := fmt.Fprintf(w, `campaigns:       %d injected, %d found (recall %.1f%%), median delay %s
coordination:    %d alerts, %d true (%d mixed), %d false (precision %.1f%%)
false alerts:    %.2f per 100,000 organic tweets (%d organic tweets); %d of them on the source's own spam campaign (campaign.SourceCampaigns), %.2f per 100,000 without them
`, r.Campaigns, r.Found, 100*r.Recall, r.MedianDelay.Round(time.Second), r.Alerts, r.TrueAlerts, r.MixedAlerts, r.FalseAlerts,
		100*r.Precision, r.FalsePer100k, r.OrganicTweets, r.FalseOnSource, r.FalseOtherPer100k)
	if err != nil {
		return err
	}
	for _, pc := range r.ByPattern {
		fmt.Fprintf(w, "  %-14s %d / %d found\n", pc.Pattern, pc.Found, pc.Planted)
	}
	for _, m := range r.ByMetric {
		fmt.Fprintf(w, "  alerts on %-14s %d true, %d false\n", m.Metric, m.True, m.False)
	}
	for i, c := range r.Missed {
		if i == 5 {
			fmt.Fprintf(w, "  … %d more missed\n", len(r.Missed)-5)
			break
		}
		fmt.Fprintf(w, "  missed #%d (%s %s, %d accounts, %d tweets, %s): %q\n", c.ID, c.Pattern, c.Kind, len(c.Accounts),
			len(c.TweetIDs), c.End.Sub(c.Start).Round(time.Second), c.Message)
	}
	for i, a := range r.FalseSamples {
		if i == 10 {
			break
		}
		fmt.Fprintf(w, "  false alert %s: %s\n", a.WindowStart.Format(time.RFC3339), a.Message)
	}
	return nil
}

// WriteJSON writes the report as indented JSON to path (`alerts bench
// --json`), for comparing runs.
func (r Report) WriteJSON(path string) error { return writeJSON(path, r) }

// WriteJSON writes the suite's report as indented JSON to path.
func (s SuiteReport) WriteJSON(path string) error { return writeJSON(path, s) }

func writeJSON(path string, v any) error {
	if err := jsonfile.Write(path, v); err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	return nil
}
