package dashboard

import (
	"context"
	"fmt"
	"strings"
)

// The search filters (#10): by hashtag, link, language and account. Each
// is a condition on a row and a candidate set an index lists
// (tweet_entities' primary key, the user, user_id and language indexes),
// which answers a rare filter over millions of tweets without scanning
// them.

// langIndex serves the language filter: a rare language's candidates and
// a common one's scan, in time order (NewStore creates it).
const langIndex = "tweets_lang_created_at"

// maxCandidates: a filter matching at most this many tweets is answered
// from its candidate set in one query; a commoner one by the time scan,
// which finds a page of hits in its first steps.
const maxCandidates = 10_000

// filterOf returns the row conditions of q's filters (ANDed, each with
// its arguments) and its candidate sets.
func (q SearchQuery) filterOf() (conds []string, args []any, sets []candidateSet) {
	entity := func(kind, value string) {
		conds = append(conds, "EXISTS (SELECT 1 FROM tweet_entities e WHERE e.kind = ? AND e.value = ? AND e.tweet_id = tweets.id)")
		args = append(args, kind, value)
		sets = append(sets, candidateSet{sql: "SELECT tweet_id FROM tweet_entities WHERE kind = ? AND value = ?", args: []any{kind, value}})
	}
	if q.Hashtag != "" {
		// The store keeps hashtags lowercased in tweet_entities, as
		// Twitter matches them.
		entity("hashtag", strings.ToLower(q.Hashtag))
	}
	if q.URL != "" {
		entity("url", q.URL)
	}
	if q.Account != "" {
		conds = append(conds, "(user = ? OR user_id = ?)")
		args = append(args, q.Account, q.Account)
		sets = append(sets, candidateSet{
			sql:  "SELECT id FROM tweets INDEXED BY " + userIndex + " WHERE user = ? UNION ALL SELECT id FROM tweets WHERE user_id = ?",
			args: []any{q.Account, q.Account},
		})
	}
	if q.Lang != "" {
		conds = append(conds, "lang = ?")
		args = append(args, q.Lang)
		// A rare language (or one no tweet has) is a candidate set too.
		sets = append(sets, candidateSet{sql: "SELECT id FROM tweets INDEXED BY " + langIndex + " WHERE lang = ?", args: []any{q.Lang}})
	}
	return conds, args, sets
}

// candidateSet is a SELECT of the ids of the tweets one filter keeps.
type candidateSet struct {
	sql  string
	args []any
}

// smallest returns the set with the fewest ids and their number, counting
// each only up to s.maxCandidates+1 (a common hashtag has hundreds of
// thousands: counting them all would cost what the scan does).
func (s *Store) smallest(ctx context.Context, sets []candidateSet) (candidateSet, int, error) {
	var best candidateSet
	bestN := -1
	for _, c := range sets {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+c.sql+" LIMIT ?)", append(append([]any{}, c.args...), s.maxCandidates+1)...).Scan(&n); err != nil {
			return best, 0, fmt.Errorf("dashboard: search: filter: %w", err)
		}
		if bestN < 0 || n < bestN {
			best, bestN = c, n
		}
	}
	return best, bestN, nil
}
