package embedded

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/tweetflow/tweetflow/internal/jsonfile"
)

// ModelSummary is one model's part of a Summary.
type ModelSummary struct {
	Scored int64   `json:"scored"`
	Mean   float64 `json:"mean"`
	// CacheHits counts the tweets whose result came from the score cache
	// (a text scored recently: mostly retweets), with no model call.
	CacheHits int64 `json:"cache_hits"`
	// ModelCalls counts the texts the model scored: what the cache
	// missed, a text repeated within one batch once.
	ModelCalls int64 `json:"model_calls"`
}

// Summary is the result of a run, printed and written by --summary-json.
type Summary struct {
	RowsRead         int64            `json:"rows_read"`
	RowsRejected     int64            `json:"rows_rejected"`
	RejectedByReason map[string]int64 `json:"rows_rejected_by_reason"`
	TweetsStored     int64            `json:"tweets_stored"`
	Complete         int64            `json:"complete"`
	Partial          int64            `json:"partial"`
	// Duplicates counts model results skipped because their tweet already
	// had one from that model: the same tweet id read again (twarc2's
	// flattened and page files of one collection, overlapping pages) or a
	// redelivery. Such a tweet is stored once, not counted as partial.
	Duplicates      int64                   `json:"duplicates_skipped"`
	Models          map[string]ModelSummary `json:"models"`
	Seconds         float64                 `json:"seconds"`
	TweetsPerSecond float64                 `json:"tweets_per_second"`
	// NotStored counts tweets accepted whose records could not be written.
	NotStored int64 `json:"not_stored"`
	// LastLine is the file line of the last tweet sent.
	LastLine int `json:"last_line"`
	// NextStartRow is the --start-row (1-based data row) that resumes after
	// this run: the rows before it were all read and stored or rejected.
	NextStartRow int `json:"next_start_row"`
	// Interrupted is set when the run was stopped (Ctrl-C) before the end.
	Interrupted bool `json:"interrupted"`
	// Store names the store written ("sqlite", "elasticsearch index NAME").
	Store string `json:"store"`
	// StoreTweets is the number of tweets in that store after the run
	// (equal to TweetsStored on a fresh store; a rerun leaves it as is);
	// -1 when it could not be counted.
	StoreTweets int64 `json:"store_tweets"`

	drainAbandoned bool
}

// Print writes the summary for people.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "rows read        %d\n", s.RowsRead)
	fmt.Fprintf(w, "rows rejected    %d", s.RowsRejected)
	if len(s.RejectedByReason) > 0 {
		var parts []string
		for _, r := range slices.Sorted(maps.Keys(s.RejectedByReason)) {
			parts = append(parts, fmt.Sprintf("%s %d", r, s.RejectedByReason[r]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "tweets stored    %d (complete %d, partial %d)\n", s.TweetsStored, s.Complete, s.Partial)
	if s.Duplicates > 0 {
		fmt.Fprintf(w, "duplicates       %d model results skipped (a tweet id seen again)\n", s.Duplicates)
	}
	if s.NotStored > 0 {
		fmt.Fprintf(w, "NOT stored       %d\n", s.NotStored)
	}
	for _, m := range slices.Sorted(maps.Keys(s.Models)) {
		ms := s.Models[m]
		fmt.Fprintf(w, "model %-10s scored %d, mean value %.4f", m, ms.Scored, ms.Mean)
		if ms.Scored > 0 {
			fmt.Fprintf(w, ", %.1f%% from the score cache, %d model calls (%.1f%%)", 100*float64(ms.CacheHits)/float64(ms.Scored),
				ms.ModelCalls, 100*float64(ms.ModelCalls)/float64(ms.Scored))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "time             %.2fs, %.0f tweets/s\n", s.Seconds, s.TweetsPerSecond)
	if s.StoreTweets >= 0 {
		fmt.Fprintf(w, "store            %d tweets (%s)\n", s.StoreTweets, s.Store)
	}
	if s.Interrupted {
		fmt.Fprintf(w, "interrupted      resume with --start-row %d (last line sent: %d)\n", s.NextStartRow, s.LastLine)
	}
}

// WriteJSON writes the summary as indented JSON to path.
func (s Summary) WriteJSON(path string) error {
	if err := jsonfile.Write(path, s); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}
