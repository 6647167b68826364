package dashboard

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxPoints bounds the points of a chart: the interval grows with the range
// so that a year of tweets is still a few hundred points.
const MaxPoints = 500

// rawRowsLimit: below one minute per point the chart reads tweets, not the
// rollup; it does so only when the range holds at most this many tweets.
const rawRowsLimit = 50_000

// niceIntervals returns the chart intervals, smallest first.
func niceIntervals() []time.Duration {
	const day = 24 * time.Hour
	return []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		day, 2 * day, 7 * day, 14 * day, 30 * day, 91 * day, 365 * day, 10 * 365 * day, 100 * 365 * day,
	}
}

// Store answers the dashboard's queries from a tweetflow SQLite file. It
// reads the tweets table written by aggregator/sink/sqlite and keeps its own
// per-minute rollup (rollup.go).
type Store struct {
	db *sql.DB

	mu     sync.Mutex // guards models
	models []string

	trigrams trigramStats // for text searches through the index
	busyRate float64      // ftsBusyRate; tests lower it
	// maxCandidates is the filters' candidate bound (maxCandidates);
	// tests lower it to take the scan path.
	maxCandidates int
}

// NewStore prepares db for the dashboard: it builds or checks the rollup
// (one pass over the tweets the first time: seconds for millions).
func NewStore(ctx context.Context, db *sql.DB) (*Store, error) {
	models, err := ensureRollup(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	// A search by user is an equality on user plus a time range ordered by
	// time: this index answers it without scanning the range, which over
	// millions of tweets took longer than the search budget.
	if _, err := db.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS "+userIndex+" ON tweets(user, created_at)"); err != nil {
		return nil, fmt.Errorf("dashboard: user index: %w", err)
	}
	// The language filter scans one language's tweets back in time (a
	// language has from a few to most of the tweets, so no candidate set).
	if _, err := db.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS "+langIndex+" ON tweets(lang, created_at) WHERE lang IS NOT NULL"); err != nil {
		return nil, fmt.Errorf("dashboard: language index: %w", err)
	}
	// The text index starts empty or where it was left; IndexText fills it.
	if err := ensureTextIndex(ctx, db); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return &Store{db: db, models: models, busyRate: ftsBusyRate, maxCandidates: maxCandidates}, nil
}

// Models returns the models the rollup covers.
func (s *Store) Models() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.models...)
}

// refresh rebuilds the rollup when a writer added a model since: a new
// model's values are then charted too.
func (s *Store) refresh(ctx context.Context) error {
	models, err := valueModels(ctx, s.db)
	if err != nil {
		return err
	}
	s.mu.Lock()
	same := strings.Join(models, ",") == strings.Join(s.models, ",")
	s.mu.Unlock()
	if same {
		return nil
	}
	if models, err = ensureRollup(ctx, s.db); err != nil {
		return err
	}
	s.mu.Lock()
	s.models = models
	s.mu.Unlock()
	return nil
}

// Extent returns the times of the oldest and newest stored tweets; ok is
// false when there are none. (Two queries: SQLite answers MIN or MAX alone
// from the index, but not both in one query.)
func (s *Store) Extent(ctx context.Context) (first, last time.Time, ok bool, err error) {
	var lo, hi sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MIN(created_at) FROM tweets").Scan(&lo); err != nil {
		return first, last, false, fmt.Errorf("dashboard: extent: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(created_at) FROM tweets").Scan(&hi); err != nil {
		return first, last, false, fmt.Errorf("dashboard: extent: %w", err)
	}
	if !lo.Valid || !hi.Valid {
		return first, last, false, nil
	}
	return time.UnixMilli(lo.Int64).UTC(), time.UnixMilli(hi.Int64).UTC(), true, nil
}

// Count returns the exact number of tweets in [from, to): whole hours from
// the hour rollup, whole minutes at the ends from the minute rollup, and
// the partial minutes at either end from the tweets.
func (s *Store) Count(ctx context.Context, from, to time.Time) (int64, error) {
	return s.countLevel(ctx, len(levels())-1, from.UnixMilli(), to.UnixMilli())
}

func (s *Store) countLevel(ctx context.Context, li int, lo, hi int64) (int64, error) {
	if lo >= hi {
		return 0, nil
	}
	if li < 0 {
		return s.rawCount(ctx, lo, hi)
	}
	l := levels()[li]
	b0 := -floorDiv(-lo, l.millis) // whole buckets [b0, b1) inside the range
	b1 := floorDiv(hi, l.millis)
	if b0 >= b1 {
		return s.countLevel(ctx, li-1, lo, hi)
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(SUM(n), 0) FROM "+l.table+" WHERE bucket >= ? AND bucket < ?",
		b0, b1).Scan(&n); err != nil {
		return 0, fmt.Errorf("dashboard: count: %w", err)
	}
	head, err := s.countLevel(ctx, li-1, lo, b0*l.millis)
	if err != nil {
		return 0, err
	}
	tail, err := s.countLevel(ctx, li-1, b1*l.millis, hi)
	if err != nil {
		return 0, err
	}
	return n + head + tail, nil
}

func (s *Store) rawCount(ctx context.Context, lo, hi int64) (int64, error) {
	if lo >= hi {
		return 0, nil
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tweets WHERE created_at >= ? AND created_at < ?", lo, hi).Scan(&n); err != nil {
		return 0, fmt.Errorf("dashboard: count: %w", err)
	}
	return n, nil
}

// Point is one interval of the charts.
type Point struct {
	// T is the interval's start, Unix milliseconds.
	T int64 `json:"t"`
	// N is the number of tweets.
	N int64 `json:"n"`
	// Avg maps a model to its mean value; absent when no tweet had one.
	Avg map[string]float64 `json:"avg,omitempty"`
}

// Series is the data of the time charts.
type Series struct {
	// From and To are the range actually covered: the requested one
	// widened to whole intervals.
	From     int64   `json:"from"`
	To       int64   `json:"to"`
	Interval int64   `json:"interval_ms"`
	Source   string  `json:"source"` // the table read: a rollup or "tweets"
	Points   []Point `json:"points"`
}

// chooseInterval returns the smallest nice interval that keeps the points
// of span at or under MaxPoints, never under min.
func chooseInterval(span, min time.Duration) time.Duration {
	ivs := niceIntervals()
	for _, iv := range ivs {
		if iv >= min && span/iv < MaxPoints {
			return iv
		}
	}
	return ivs[len(ivs)-1]
}

// Series returns tweets per interval and each model's mean per interval over
// [from, to), at an interval chosen so there are at most MaxPoints points.
func (s *Store) Series(ctx context.Context, from, to time.Time) (Series, error) {
	if err := s.refresh(ctx); err != nil {
		return Series{}, fmt.Errorf("dashboard: %w", err)
	}
	models := s.Models()
	span := to.Sub(from)
	iv := chooseInterval(span, 0)
	if iv < time.Minute {
		// Sub-minute points need the tweets themselves: only when few.
		n, err := s.Count(ctx, from, to)
		if err != nil {
			return Series{}, err
		}
		if n > rawRowsLimit {
			iv = chooseInterval(span, time.Minute)
		}
	}
	ivMs := iv.Milliseconds()
	lo := floorDiv(from.UnixMilli(), ivMs) * ivMs
	hi := -floorDiv(-to.UnixMilli(), ivMs) * ivMs // ceil
	out := Series{From: lo, To: hi, Interval: ivMs}
	var q string
	var args []any
	var sel []string
	if iv >= time.Minute {
		// The coarsest rollup whose bucket divides the interval.
		var l level
		for _, c := range levels() {
			if ivMs%c.millis == 0 {
				l = c
			}
		}
		out.Source = l.table
		sel = append(sel, "(bucket / ?) * ?", "SUM(n)")
		for _, m := range models {
			sel = append(sel, fmt.Sprintf("SUM(s_%s)", m), fmt.Sprintf("SUM(c_%s)", m))
		}
		q = "SELECT " + strings.Join(sel, ", ") + " FROM " + l.table +
			" WHERE bucket >= ? AND bucket < ? GROUP BY 1 ORDER BY 1"
		args = []any{ivMs / l.millis, ivMs, lo / l.millis, hi / l.millis}
	} else {
		out.Source = "tweets"
		sel = append(sel, "(created_at / ?) * ?", "COUNT(*)")
		for _, m := range models {
			sel = append(sel, fmt.Sprintf("COALESCE(SUM(%s_value), 0)", m), fmt.Sprintf("COUNT(%s_value)", m))
		}
		q = "SELECT " + strings.Join(sel, ", ") + " FROM tweets WHERE created_at >= ? AND created_at < ? GROUP BY 1 ORDER BY 1"
		args = []any{ivMs, ivMs, lo, hi}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return Series{}, fmt.Errorf("dashboard: series: %w", err)
	}
	defer rows.Close()
	sums := make([]float64, len(models))
	counts := make([]int64, len(models))
	dest := make([]any, 0, 2+2*len(models))
	var p Point
	dest = append(dest, &p.T, &p.N)
	for i := range models {
		dest = append(dest, &sums[i], &counts[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return Series{}, fmt.Errorf("dashboard: series: %w", err)
		}
		if p.N == 0 {
			continue // every tweet of these minutes was deleted
		}
		pt := Point{T: p.T, N: p.N}
		for i, m := range models {
			if counts[i] > 0 {
				if pt.Avg == nil {
					pt.Avg = map[string]float64{}
				}
				pt.Avg[m] = sums[i] / float64(counts[i])
			}
		}
		out.Points = append(out.Points, pt)
	}
	if err := rows.Err(); err != nil {
		return Series{}, fmt.Errorf("dashboard: series: %w", err)
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Tweet is a search result: a stored tweet with its scores, and what the
// page shows of its fields: the account id, the language, what it
// retweets, quotes or replies to (ids, absent when it does not), its
// hashtags and links (which the page turns into filters).
type Tweet struct {
	ID        string           `json:"id"`
	User      string           `json:"user"`
	UserID    string           `json:"user_id,omitempty"`
	Text      string           `json:"text"`
	Time      int64            `json:"time"`
	Lang      string           `json:"lang,omitempty"`
	RetweetOf string           `json:"retweet_of,omitempty"`
	QuoteOf   string           `json:"quote_of,omitempty"`
	ReplyTo   string           `json:"reply_to,omitempty"`
	Hashtags  []string         `json:"hashtags,omitempty"`
	URLs      []string         `json:"urls,omitempty"`
	Scores    map[string]Score `json:"scores"`
}

// Score is one model's stored result.
type Score struct {
	Value float64 `json:"value"`
	Label string  `json:"label"`
}

// SearchResult is a page of search hits and how far back the search looked.
type SearchResult struct {
	Tweets []Tweet `json:"tweets"`
	// Complete is false when the time budget ran out before the whole range
	// was searched; SearchedFrom then says where the search stopped (the
	// hits are the newest ones in [SearchedFrom, to)).
	Complete     bool  `json:"complete"`
	SearchedFrom int64 `json:"searched_from"`
	// Indexed says the text index answered (textindex.go); otherwise the
	// tweets were scanned back in time.
	Indexed bool `json:"indexed"`
}

// SearchQuery selects tweets: Text is a case-insensitive (ASCII) substring
// of the text, User an exact handle, Hashtag a hashtag (without '#',
// any case), URL an exact link as stored (expanded where the data had
// it), Lang a language tag, Account a handle or a stable account id;
// empty fields match everything, and the given ones must all match.
type SearchQuery struct {
	Text, User                  string
	Hashtag, URL, Lang, Account string
	From, To                    time.Time
	Limit                       int
}

// searchChunkRows is about how many tweets one step of a search scans;
// with a filter the steps double up to maxChunkRows.
const (
	searchChunkRows = 20_000
	maxChunkRows    = 4 * searchChunkRows
)

// userIndex serves searches by user (see NewStore).
const userIndex = "tweets_user_created_at"

// Search returns the newest tweets matching q, scanning back from q.To in
// steps of about searchChunkRows tweets (sized from the rollup) until it has
// q.Limit hits, reaches q.From, or spends budget. The budget bounds the
// latency of a search for a rare word over millions of tweets; the result
// says how far it got, so the page can offer to search further back.
func (s *Store) Search(ctx context.Context, q SearchQuery, budget time.Duration) (SearchResult, error) {
	start := time.Now()
	// SQLite's LIKE stops at a NUL ("a\x00b" would match every tweet) and
	// compares whole UTF-8 characters: the server rejects both with a 400.
	for name, v := range map[string]string{"text": q.Text, "user": q.User, "hashtag": q.Hashtag, "url": q.URL, "lang": q.Lang, "account": q.Account} {
		if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
			return SearchResult{Tweets: []Tweet{}}, fmt.Errorf("dashboard: search: the %s is not valid UTF-8 without NUL: %q", name, v)
		}
	}
	models := s.Models()
	cols := searchColumns(models)
	fconds, fargs, sets := q.filterOf()
	var conds []string
	var args []any
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.Text) + "%"
	if q.Text != "" {
		conds = append(conds, `text LIKE ? ESCAPE '\'`)
		args = append(args, like)
	}
	if q.User != "" {
		conds = append(conds, "user = ?")
		args = append(args, q.User)
	}
	conds, args = append(conds, fconds...), append(args, fargs...)
	if len(sets) > 0 {
		// A rare filter: its candidates, checked against every condition,
		// in one query over the whole range.
		best, n, err := s.smallest(ctx, sets)
		if err != nil {
			return SearchResult{Tweets: []Tweet{}}, err
		}
		if n <= s.maxCandidates {
			stmt := "SELECT " + cols + " FROM tweets WHERE id IN (" + best.sql + ") AND created_at >= ? AND created_at < ? AND " +
				strings.Join(conds, " AND ") + " ORDER BY created_at DESC, id LIMIT ?"
			a := append(append(append([]any{}, best.args...), q.From.UnixMilli(), q.To.UnixMilli()), args...)
			got, err := s.scanTweets(ctx, models, stmt, append(a, q.Limit))
			if err != nil {
				return SearchResult{Tweets: []Tweet{}}, err
			}
			return SearchResult{Tweets: append([]Tweet{}, got...), Complete: true, SearchedFrom: q.From.UnixMilli()}, nil
		}
	}
	if q.Text != "" && q.User == "" {
		// A search by user reads that user's tweets from the user index
		// (below), which beats any text lookup.
		got, ok, err := s.indexedSearch(ctx, q, cols, like, fconds, fargs, budget)
		if err != nil {
			return SearchResult{Tweets: []Tweet{}}, err
		}
		if ok {
			return SearchResult{Tweets: append([]Tweet{}, got...), Complete: true, SearchedFrom: q.From.UnixMilli(), Indexed: true}, nil
		}
	}
	filter := ""
	if len(conds) > 0 {
		filter = " AND " + strings.Join(conds, " AND ")
	}
	from := " FROM tweets"
	if q.User != "" {
		// The user index bounds the scan to that user's tweets, so one step
		// covers the whole range.
		from += " INDEXED BY " + userIndex
	}
	stmt := "SELECT " + cols + from + " WHERE created_at >= ? AND created_at < ?" + filter +
		" ORDER BY created_at DESC, id LIMIT ?"
	res := SearchResult{Tweets: []Tweet{}}
	lo, hi := q.From.UnixMilli(), q.To.UnixMilli()
	rows := int64(searchChunkRows)
	for hi > lo {
		chunkLo := lo
		if q.User == "" {
			var err error
			if chunkLo, err = s.chunkStart(ctx, lo, hi, rows); err != nil {
				return res, err
			}
		}
		if len(fconds) > 0 && rows < maxChunkRows {
			// A filter that found too few hits in this step is selective:
			// each step costs its overhead whatever it finds, so the next
			// covers twice the tweets (an index narrows what it reads).
			rows *= 2
		}
		a := append([]any{chunkLo, hi}, args...)
		a = append(a, q.Limit-len(res.Tweets))
		got, err := s.scanTweets(ctx, models, stmt, a)
		if err != nil {
			return res, err
		}
		res.Tweets = append(res.Tweets, got...)
		hi = chunkLo
		res.SearchedFrom = chunkLo
		if len(res.Tweets) >= q.Limit || time.Since(start) > budget {
			break
		}
	}
	res.Complete = hi <= lo || len(res.Tweets) >= q.Limit
	if hi <= lo {
		res.SearchedFrom = lo
	}
	return res, nil
}

// chunkStart returns the start of the next search step ending at hi: the
// minute boundary that puts about want tweets in [start, hi),
// or lo.
func (s *Store) chunkStart(ctx context.Context, lo, hi, want int64) (int64, error) {
	// Walk the rollup backwards from hi, summing counts.
	rows, err := s.db.QueryContext(ctx, "SELECT bucket, n FROM "+levels()[0].table+
		" WHERE bucket >= ? AND bucket < ? ORDER BY bucket DESC", lo/minuteMillis, (hi+minuteMillis-1)/minuteMillis)
	if err != nil {
		return 0, fmt.Errorf("dashboard: search: %w", err)
	}
	defer rows.Close()
	var sum int64
	for rows.Next() {
		var b, n int64
		if err := rows.Scan(&b, &n); err != nil {
			return 0, fmt.Errorf("dashboard: search: %w", err)
		}
		sum += n
		if sum >= want {
			return max(b*minuteMillis, lo), nil
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("dashboard: search: %w", err)
	}
	return lo, nil
}

// searchColumns are what scanTweets reads, in its order.
func searchColumns(models []string) string {
	cols := "id, user, text, created_at, user_id, lang, retweet_of, quote_of, reply_to, hashtags, urls"
	for _, m := range models {
		cols += fmt.Sprintf(", %[1]s_value, %[1]s_label", m)
	}
	return cols
}

func (s *Store) scanTweets(ctx context.Context, models []string, stmt string, args []any) ([]Tweet, error) {
	rows, err := s.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("dashboard: search: %w", err)
	}
	defer rows.Close()
	var out []Tweet
	vals := make([]sql.NullFloat64, len(models))
	labels := make([]sql.NullString, len(models))
	var opt [5]sql.NullString
	var lists [2]sql.NullString
	for rows.Next() {
		var t Tweet
		dest := []any{&t.ID, &t.User, &t.Text, &t.Time, &opt[0], &opt[1], &opt[2], &opt[3], &opt[4], &lists[0], &lists[1]}
		for i := range models {
			dest = append(dest, &vals[i], &labels[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("dashboard: search: %w", err)
		}
		t.UserID, t.Lang, t.RetweetOf, t.QuoteOf, t.ReplyTo = opt[0].String, opt[1].String, opt[2].String, opt[3].String, opt[4].String
		for i, l := range []*[]string{&t.Hashtags, &t.URLs} {
			if lists[i].Valid {
				// The sink writes these columns as JSON arrays of strings.
				if err := json.Unmarshal([]byte(lists[i].String), l); err != nil {
					return nil, fmt.Errorf("dashboard: search: tweet %s: a list column is not a JSON array: %w", t.ID, err)
				}
			}
		}
		t.Scores = map[string]Score{}
		for i, m := range models {
			if labels[i].Valid {
				t.Scores[m] = Score{Value: vals[i].Float64, Label: labels[i].String}
			}
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dashboard: search: %w", err)
	}
	return out, nil
}
