package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// Queries for the run summary and the tests: Count, Get, Stats. (The
// dashboard has its own rollup tables and text index; the time series and
// search queries that were here had no caller.) Every value is
// a parameter; model names, the only identifiers built into SQL text, are
// checked against event.ValidModelName and the store's columns first.
//
// Time ranges are half-open [from, to) on the tweet's own time; a zero from
// or to leaves that side open.

// Tweet is a stored row.
type Tweet struct {
	event.Tweet
	Results  map[string]sink.Result
	Complete bool
	Missing  []string
	// TimedOut: a write marked the tweet timed out and it is still not
	// complete (a partial record).
	TimedOut bool
}

// Stats summarises a time range of the store.
type Stats struct {
	Tweets   int64
	Complete int64
	// Partial counts tweets written after a join timeout and still incomplete.
	Partial int64
	Models  map[string]ModelStats
}

// ModelStats is one model's count of stored values and their mean.
type ModelStats struct {
	Scored int64
	Mean   float64
}

func rangeWhere(from, to time.Time) (string, []any) {
	var conds []string
	var args []any
	if !from.IsZero() {
		conds = append(conds, "created_at >= ?")
		args = append(args, from.UnixMilli())
	}
	if !to.IsZero() {
		conds = append(conds, "created_at < ?")
		args = append(args, to.UnixMilli())
	}
	if len(conds) == 0 {
		return "1", nil
	}
	return strings.Join(conds, " AND "), args
}

// Count returns the number of tweets in [from, to).
func (s *Store) Count(ctx context.Context, from, to time.Time) (int64, error) {
	where, args := rangeWhere(from, to)
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tweets WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite %s: count: %w", s.path, err)
	}
	return n, nil
}

// Get returns the stored tweet with id; found is false when there is none.
func (s *Store) Get(ctx context.Context, id string) (t Tweet, found bool, err error) {
	ts, err := s.selectTweets(ctx, "id = ?", []any{id})
	if err != nil || len(ts) == 0 {
		return Tweet{}, false, err
	}
	return ts[0], true, nil
}

func (s *Store) knownModels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.known)
}

func (s *Store) selectTweets(ctx context.Context, where string, args []any) ([]Tweet, error) {
	var out []Tweet
	for t, err := range s.scanTweets(ctx, where, args) {
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// StoredModels returns the models that have columns in the file (written by
// any Store on it), sorted: the models an export has results of.
func (s *Store) StoredModels(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureModels(ctx, nil); err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", s.path, err)
	}
	return slices.Clone(s.known), nil
}

// Tweets yields the tweets of [from, to) in time order (then id), one row
// at a time, so an export of a large file holds one tweet in memory. The
// models are the store's known ones when the iteration starts (call
// StoredModels first to see columns other Stores added). An error ends the
// iteration.
func (s *Store) Tweets(ctx context.Context, from, to time.Time) iter.Seq2[Tweet, error] {
	where, args := rangeWhere(from, to)
	return s.scanTweets(ctx, where+" ORDER BY created_at, id", args)
}

func (s *Store) scanTweets(ctx context.Context, where string, args []any) iter.Seq2[Tweet, error] {
	return func(yield func(Tweet, error) bool) {
		known := s.knownModels()
		cols := "id, created_at, user, text, fields, complete, missing, timed_out, " + strings.Join(tweetFieldColumns, ", ")
		for _, m := range known {
			cols += fmt.Sprintf(", %[1]s_value, %[1]s_label, %[1]s_version", m)
		}
		rows, err := s.db.QueryContext(ctx, "SELECT "+cols+" FROM tweets WHERE "+where, args...)
		if err != nil {
			yield(Tweet{}, fmt.Errorf("sqlite %s: select: %w", s.path, err))
			return
		}
		defer rows.Close()
		vals := make([]sql.NullFloat64, len(known))
		labels := make([]sql.NullString, len(known))
		versions := make([]sql.NullString, len(known))
		for rows.Next() {
			t, err := s.scanTweet(rows, known, vals, labels, versions)
			if !yield(t, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(Tweet{}, fmt.Errorf("sqlite %s: select: %w", s.path, err))
		}
	}
}

func (s *Store) scanTweet(rows *sql.Rows, known []string, vals []sql.NullFloat64, labels, versions []sql.NullString) (Tweet, error) {
	var t Tweet
	var created int64
	var fields sql.NullString
	var missing string
	var opt [6]sql.NullString
	var lists [3]sql.NullString
	dest := []any{&t.ID, &created, &t.User, &t.Text, &fields, &t.Complete, &missing, &t.TimedOut,
		&opt[0], &opt[1], &opt[2], &opt[3], &opt[4], &opt[5], &lists[0], &lists[1], &lists[2]}
	for k := range known {
		dest = append(dest, &vals[k], &labels[k], &versions[k])
	}
	if err := rows.Scan(dest...); err != nil {
		return Tweet{}, fmt.Errorf("sqlite %s: scan: %w", s.path, err)
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	if fields.Valid {
		if err := json.Unmarshal([]byte(fields.String), &t.Fields); err != nil {
			return Tweet{}, fmt.Errorf("sqlite %s: tweet %s: fields: %w", s.path, t.ID, err)
		}
	}
	t.UserID, t.Lang, t.RetweetOf, t.QuoteOf, t.ReplyTo, t.ConversationID =
		opt[0].String, opt[1].String, opt[2].String, opt[3].String, opt[4].String, opt[5].String
	for k, dst := range []*[]string{&t.Hashtags, &t.URLs, &t.Mentions} {
		if lists[k].Valid {
			if err := json.Unmarshal([]byte(lists[k].String), dst); err != nil {
				return Tweet{}, fmt.Errorf("sqlite %s: tweet %s: %s: %w", s.path, t.ID, tweetFieldColumns[6+k], err)
			}
		}
	}
	if missing != "" {
		t.Missing = strings.Split(missing, ",")
	}
	t.Results = map[string]sink.Result{}
	for k, m := range known {
		if labels[k].Valid {
			t.Results[m] = sink.Result{Model: m, Value: vals[k].Float64, Label: labels[k].String, Version: versions[k].String}
		}
	}
	return t, nil
}

// Stats summarises [from, to): tweets, complete, partial, and per model
// (of the store's configured models) the count of values and their mean.
func (s *Store) Stats(ctx context.Context, from, to time.Time) (Stats, error) {
	where, args := rangeWhere(from, to)
	q := "SELECT COUNT(*), COALESCE(SUM(complete), 0), COALESCE(SUM(timed_out AND NOT complete), 0)"
	for _, m := range s.configured {
		q += fmt.Sprintf(", COUNT(%[1]s_value), AVG(%[1]s_value)", m)
	}
	q += " FROM tweets WHERE " + where
	st := Stats{Models: map[string]ModelStats{}}
	dest := []any{&st.Tweets, &st.Complete, &st.Partial}
	counts := make([]int64, len(s.configured))
	means := make([]sql.NullFloat64, len(s.configured))
	for k := range s.configured {
		dest = append(dest, &counts[k], &means[k])
	}
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
		return Stats{}, fmt.Errorf("sqlite %s: stats: %w", s.path, err)
	}
	for k, m := range s.configured {
		st.Models[m] = ModelStats{Scored: counts[k], Mean: means[k].Float64}
	}
	return st, nil
}
