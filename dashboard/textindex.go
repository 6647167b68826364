package dashboard

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// The text index: an SQLite FTS5 table with the trigram tokenizer over the
// tweets' texts, so a search for a rare word over millions of tweets reads a
// few posting lists instead of every text (measured in docs/BENCHMARKS.md:
// a complete rare-word search over 1.6M tweets went from over 100 ms, and
// partial, to a few ms).
//
// Choices, each measured on 1.6M tweets:
//   - trigram, not words: the search box finds substrings ("hamilton" in
//     "scotthamilton"), as the scan it speeds up always did; a word index
//     cannot answer that.
//   - contentless (an empty content option), with delete support, and
//     detail=none: the texts already live in tweets and positions are not
//     needed, because every candidate is checked again with the scan's own
//     LIKE, so the index adds about 150 MB instead of 380 MB (with a copy
//     of the texts and positions). A superset from the index plus that
//     check gives exactly the scan's answer.
//   - kept up by a background indexer that follows the tweets by rowid, not
//     by an insert trigger: indexing costs ~40 µs of CPU per tweet, which on
//     the sink's single writer would slow a replay; searches also look at
//     the few rows the indexer has not reached yet, so nothing is missed.
//     Triggers handle only what the indexer cannot see: a changed text or a
//     deleted tweet behind its mark, and a reused rowid.
const (
	ftsTable = "dash_fts"
	// ftsState holds how far the indexer got: every tweet with rowid <=
	// upto is indexed (and kept so by the triggers); uptoID is that row's
	// tweet id, to notice rowids renumbered by a VACUUM.
	ftsState   = "dash_fts_state"
	ftsVersion = 1

	ftsTriggerInsert = "dash_fts_ins"
	ftsTriggerUpdate = "dash_fts_upd"
	ftsTriggerDelete = "dash_fts_del"

	// ftsBatchRows is how many tweets one indexer transaction takes: about
	// 40 ms of the write lock, so the pipeline's writer never waits long.
	ftsBatchRows = 1000
	// ftsMaxCandidates: a query whose trigrams match more tweets than this
	// is common, and the time-ordered scan finds its newest hits sooner
	// than fetching and sorting every candidate (~5 µs each).
	ftsMaxCandidates = 5000
	// ftsMaxTail: with more unindexed tweets than this (the indexer is
	// still catching up on a big database), searches use the scan.
	ftsMaxTail = 20_000
	// ftsBusyRate: a writer adding more tweets per second than this is
	// busy, and the indexer waits (see IndexText).
	ftsBusyRate = 2000
	// ftsLogRows: a catch-up of at least this many tweets is logged.
	ftsLogRows = 50_000
	// ftsPickTerms is how many trigrams of a query the index looks up: its
	// rarest (see ftsQuery).
	ftsPickTerms = 3
	// The trigram statistics that pick them: ftsSampleRows texts read in
	// ftsSampleBlocks runs spread over the table.
	ftsSampleRows   = 20_000
	ftsSampleBlocks = 40
)

// uptoSQL is the indexer's mark, as the triggers read it.
const uptoSQL = "(SELECT upto FROM " + ftsState + " WHERE k = 0)"

// ftsSchema returns the statements that create the index from scratch.
func ftsSchema() []string {
	return []string{
		"DROP TRIGGER IF EXISTS " + ftsTriggerInsert,
		"DROP TRIGGER IF EXISTS " + ftsTriggerUpdate,
		"DROP TRIGGER IF EXISTS " + ftsTriggerDelete,
		"DROP TABLE IF EXISTS " + ftsTable,
		"CREATE VIRTUAL TABLE " + ftsTable + " USING fts5(text, content='', contentless_delete=1, tokenize='trigram', detail='none')",
		// Merge segments 8 at a time instead of 4: 15% less indexing CPU
		// (200,000 tweets: 7.3 s against 8.5 s), a few more segments to read.
		"INSERT INTO " + ftsTable + " (" + ftsTable + ", rank) VALUES ('automerge', 8)",
		"CREATE TABLE IF NOT EXISTS " + ftsState + " (k INTEGER PRIMARY KEY CHECK (k = 0), version INTEGER NOT NULL, upto INTEGER NOT NULL, upto_id TEXT NOT NULL)",
		fmt.Sprintf("INSERT INTO %s (k, version, upto, upto_id) VALUES (0, %d, 0, '') ON CONFLICT(k) DO UPDATE SET version = excluded.version, upto = 0, upto_id = ''", ftsState, ftsVersion),
		// A new tweet normally gets a rowid past the mark and waits for the
		// indexer; only a reused rowid (the newest tweets deleted) lands
		// behind it.
		"CREATE TRIGGER " + ftsTriggerInsert + " AFTER INSERT ON tweets WHEN new.rowid <= " + uptoSQL +
			" BEGIN INSERT OR REPLACE INTO " + ftsTable + " (rowid, text) VALUES (new.rowid, new.text); END",
		// The sink's upsert sets text on every merge; only a real change
		// costs index work.
		"CREATE TRIGGER " + ftsTriggerUpdate + " AFTER UPDATE OF text ON tweets WHEN old.text IS NOT new.text AND new.rowid <= " + uptoSQL +
			" BEGIN INSERT OR REPLACE INTO " + ftsTable + " (rowid, text) VALUES (new.rowid, new.text); END",
		"CREATE TRIGGER " + ftsTriggerDelete + " AFTER DELETE ON tweets WHEN old.rowid <= " + uptoSQL +
			" BEGIN DELETE FROM " + ftsTable + " WHERE rowid = old.rowid; END",
	}
}

// ensureTextIndex creates the index (empty: the indexer fills it) unless
// it exists, is of this version and its mark still names the same tweet.
func ensureTextIndex(ctx context.Context, db *sql.DB) error {
	ok, err := textIndexCurrent(ctx, db)
	if err != nil || ok {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("text index: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("text index: begin: %w", err)
	}
	for _, q := range ftsSchema() {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // best effort after a failure
			return fmt.Errorf("text index: create: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // best effort after a failure
		return fmt.Errorf("text index: commit: %w", err)
	}
	return nil
}

// textIndexCurrent reports whether the index, its state and its three
// triggers exist for this version, and the mark's rowid still holds the
// tweet it held (VACUUM renumbers the rowids of a table like tweets, which
// would silently point the index at other texts).
func textIndexCurrent(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name IN (?, ?, ?, ?)`,
		ftsTable, ftsTriggerInsert, ftsTriggerUpdate, ftsTriggerDelete).Scan(&n); err != nil {
		return false, fmt.Errorf("text index: %w", err)
	}
	if n != 4 {
		return false, nil
	}
	var version, upto int64
	var uptoID string
	err := db.QueryRowContext(ctx, "SELECT version, upto, upto_id FROM "+ftsState+" WHERE k = 0").Scan(&version, &upto, &uptoID)
	if err != nil || version != ftsVersion {
		return false, nil //nolint:nilerr // no state table or row: create
	}
	if upto == 0 {
		return true, nil
	}
	var id string
	switch err := db.QueryRowContext(ctx, "SELECT id FROM tweets WHERE rowid = ?", upto).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("text index: %w", err)
	}
	return id == uptoID, nil
}

// indexBatch indexes the next tweets past the mark, at most ftsBatchRows of
// them, and moves the mark, in one transaction. It returns how many it
// indexed: 0 when the index has caught up.
func indexBatch(ctx context.Context, db *sql.DB) (int, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("text index: %w", err)
	}
	defer conn.Close()
	// IMMEDIATE: the write lock from the start, so the rows read and the
	// mark written are one consistent step between the sink's writes.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, fmt.Errorf("text index: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // best effort after a failure
		}
	}()
	var upto int64
	if err := conn.QueryRowContext(ctx, "SELECT upto FROM "+ftsState+" WHERE k = 0").Scan(&upto); err != nil {
		return 0, fmt.Errorf("text index: read mark: %w", err)
	}
	var last sql.NullInt64
	var lastID sql.NullString
	err = conn.QueryRowContext(ctx, "SELECT rowid, id FROM tweets WHERE rowid > ? ORDER BY rowid LIMIT 1 OFFSET ?",
		upto, ftsBatchRows-1).Scan(&last, &lastID)
	if errors.Is(err, sql.ErrNoRows) {
		err = conn.QueryRowContext(ctx, "SELECT rowid, id FROM tweets WHERE rowid = (SELECT MAX(rowid) FROM tweets) AND rowid > ?",
			upto).Scan(&last, &lastID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("text index: %w", err)
	}
	// OR REPLACE: a row the update trigger already indexed is replaced,
	// not duplicated.
	res, err := conn.ExecContext(ctx, "INSERT OR REPLACE INTO "+ftsTable+" (rowid, text) SELECT rowid, text FROM tweets WHERE rowid > ? AND rowid <= ?",
		upto, last.Int64)
	if err != nil {
		return 0, fmt.Errorf("text index: index rows %d..%d: %w", upto+1, last.Int64, err)
	}
	n, _ := res.RowsAffected()
	if _, err := conn.ExecContext(ctx, "UPDATE "+ftsState+" SET upto = ?, upto_id = ? WHERE k = 0", last.Int64, lastID.String); err != nil {
		return 0, fmt.Errorf("text index: move mark: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, fmt.Errorf("text index: commit: %w", err)
	}
	done = true
	return int(max(n, 1)), nil
}

// CatchUp indexes every tweet written so far and refreshes the search
// statistics, then returns.
func (s *Store) CatchUp(ctx context.Context) error {
	top, err := maxRowid(ctx, s.db)
	if err != nil {
		return err
	}
	if _, err := s.catchUp(ctx, top, math.Inf(1), time.Now); err != nil {
		return err
	}
	return s.refreshStats(ctx)
}

// refreshStats samples the trigram statistics if the tweets outgrew them,
// so that searches find them ready (a sample takes ~50 ms).
func (s *Store) refreshStats(ctx context.Context) error {
	top, err := maxRowid(ctx, s.db)
	if err != nil {
		return err
	}
	_, err = s.trigramFreq(ctx, top)
	return err
}

// IndexText keeps the text index up with the tweets until ctx ends:
// catching up on what is there (about a minute per million tweets on one
// core), then every poll. Searches stay correct meanwhile: they scan what
// is not indexed yet.
//
// It defers to a busy writer: while tweets arrive faster than
// ftsBusyRate, as in a full-speed 'tweetflow run --serve', it waits. There
// indexing would cost the replay about 40% of its speed (measured: 400k
// tweets at 11.9k/s without the index, 5.2k/s with it), for searches that
// the scan answers well anyway (the newest tweets are dense); it catches up
// when the replay ends or slows down.
func (s *Store) IndexText(ctx context.Context, poll time.Duration, log *slog.Logger) {
	t := time.NewTicker(poll)
	defer t.Stop()
	s.indexLoop(ctx, t.C, time.Now, nil, log)
}

// indexLoop is IndexText over its clock: a pass now and one at every tick,
// the writer's rate measured with now. done, if set, is called after each
// pass: tests drive the loop with their own ticks and clock and wait for
// the pass, so what counts as busy does not depend on the machine's speed.
func (s *Store) indexLoop(ctx context.Context, ticks <-chan time.Time, now func() time.Time, done func(), log *slog.Logger) {
	prev, prevAt := int64(-1), now()
	for {
		top, err := maxRowid(ctx, s.db)
		if err == nil {
			at := now()
			busy := prev >= 0 && float64(top-prev) > s.busyRate*at.Sub(prevAt).Seconds()
			prev, prevAt = top, at
			if !busy {
				var n int
				n, err = s.catchUp(ctx, top, s.busyRate, now)
				// A big catch-up (a database opened for the first time, a
				// run that ended) is worth a line: searches get fast now.
				if n >= ftsLogRows && log != nil {
					log.Info("dashboard: text index caught up", "tweets", n, "seconds", now().Sub(at).Seconds())
				}
				if err == nil {
					err = s.refreshStats(ctx)
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// A failed batch rolled back: nothing is lost, the next tick
			// tries again (a busy database, a full disk that was freed).
			if log != nil {
				log.Warn("dashboard: text index", "err", err)
			}
		}
		if done != nil {
			done()
		}
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
	}
}

// catchUp indexes batches until caught up, or until tweets arrive faster
// than busyRate per second (by now) meanwhile (a writer got busy:
// IndexText waits for it). start is the largest rowid now. It returns how
// many tweets it indexed.
func (s *Store) catchUp(ctx context.Context, start int64, busyRate float64, now func() time.Time) (int, error) {
	at, total := now(), 0
	for i := 1; ; i++ {
		n, err := indexBatch(ctx, s.db)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		if i%10 == 0 {
			top, err := maxRowid(ctx, s.db)
			if err != nil {
				return total, err
			}
			if float64(top-start) > busyRate*now().Sub(at).Seconds() {
				return total, nil
			}
			start, at = top, now()
		}
	}
}

func maxRowid(ctx context.Context, db *sql.DB) (int64, error) {
	var top sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(rowid) FROM tweets").Scan(&top); err != nil {
		return 0, fmt.Errorf("text index: %w", err)
	}
	return top.Int64, nil
}

// indexable reports whether the index can serve a substring search of
// text: not when it is shorter than a trigram, or not ASCII (the index
// folds Unicode case, the scan's LIKE only ASCII: for ASCII queries the
// index's answer is a superset of the LIKE's).
func indexable(text string) bool {
	if len(text) < 3 {
		return false
	}
	for i := range len(text) {
		if text[i] >= 0x80 || text[i] == 0 {
			return false
		}
	}
	return true
}

// ftsQuery returns the FTS5 query for a substring search of an indexable
// text: the AND of its ftsPickTerms rarest trigrams by freq, quoted, so any
// character is literal.
//
// Why the rarest few: FTS5 reads every term's posting list, and with
// detail=none it barely skips, so "at the rink" (all common trigrams) cost
// 70 ms with every trigram and a few ms with its three rarest. A superset is
// fine: every candidate is checked with LIKE.
func ftsQuery(text string, freq func(string) int) string {
	low := strings.ToLower(text)
	var tris []string
	for i := 0; i+3 <= len(low); i++ {
		if t := low[i : i+3]; !slices.Contains(tris, t) {
			tris = append(tris, t)
		}
	}
	slices.SortStableFunc(tris, func(a, b string) int { return cmp.Compare(freq(a), freq(b)) })
	terms := tris[:min(len(tris), ftsPickTerms)]
	for i, t := range terms {
		terms[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return strings.Join(terms, " AND ")
}

// trigramStats are trigram counts over a sample of the stored texts: the
// query planner's statistics for ftsQuery.
type trigramStats struct {
	mu      sync.Mutex
	counts  map[[3]byte]int
	sampled int64 // the largest rowid when sampled
}

// trigramFreq returns the sample's counts, sampling again when the tweets
// have more than doubled since (top is the largest rowid now). Sampling
// reads about ftsSampleRows texts from ftsSampleBlocks places spread over
// the table: tens of ms, once per doubling.
func (s *Store) trigramFreq(ctx context.Context, top int64) (func(string) int, error) {
	st := &s.trigrams
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.counts == nil || top > 2*st.sampled+ftsSampleRows {
		counts := map[[3]byte]int{}
		per := ftsSampleRows / ftsSampleBlocks
		for k := range int64(ftsSampleBlocks) {
			if err := sampleTrigrams(ctx, s.db, top*k/ftsSampleBlocks, per, counts); err != nil {
				return nil, err
			}
		}
		st.counts, st.sampled = counts, top
	}
	counts := st.counts
	return func(t string) int { return counts[[3]byte([]byte(t))] }, nil
}

// sampleTrigrams counts the lower-case ASCII trigrams of n texts after
// rowid from.
func sampleTrigrams(ctx context.Context, db *sql.DB, from int64, n int, counts map[[3]byte]int) error {
	rows, err := db.QueryContext(ctx, "SELECT text FROM tweets WHERE rowid > ? ORDER BY rowid LIMIT ?", from, n)
	if err != nil {
		return fmt.Errorf("dashboard: search statistics: %w", err)
	}
	defer rows.Close()
	var text []byte
	for rows.Next() {
		if err := rows.Scan(&text); err != nil {
			return fmt.Errorf("dashboard: search statistics: %w", err)
		}
		for i, c := range text {
			if 'A' <= c && c <= 'Z' {
				text[i] = c + 'a' - 'A'
			}
		}
		for i := 0; i+3 <= len(text); i++ {
			if text[i]|text[i+1]|text[i+2] < 0x80 {
				counts[[3]byte(text[i:i+3])]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dashboard: search statistics: %w", err)
	}
	return nil
}

// indexedSearch answers a text search from the index when it can: ok is
// false when the query is not indexable, too common (more than
// ftsMaxCandidates tweets hold its trigrams) or the indexer is too far
// behind; the caller then scans.
//
// The candidates' lookup gets half of budget: a query whose rarest
// trigrams are all common can take longer, and then the scan, with what is
// left, answers instead (partially, saying how far back it looked).
func (s *Store) indexedSearch(ctx context.Context, q SearchQuery, cols, like string, filters []string, filterArgs []any, budget time.Duration) ([]Tweet, bool, error) {
	if !indexable(q.Text) {
		return nil, false, nil
	}
	var upto, top sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT "+uptoSQL+", (SELECT MAX(rowid) FROM tweets)").Scan(&upto, &top); err != nil {
		return nil, false, nil //nolint:nilerr // no index yet (created by NewStore; a foreign database): scan
	}
	if !upto.Valid || top.Int64-upto.Int64 > ftsMaxTail {
		return nil, false, nil
	}
	freq, err := s.trigramFreq(ctx, top.Int64)
	if err != nil {
		return nil, false, err
	}
	match := ftsQuery(q.Text, freq)
	// The candidates, read once; more than ftsMaxCandidates means a common
	// query, which the scan answers sooner.
	cctx, cancel := context.WithTimeout(ctx, budget/2)
	cand, err := s.candidates(cctx, match)
	timedOut := cctx.Err() != nil && ctx.Err() == nil
	cancel()
	if timedOut {
		return nil, false, nil
	}
	if err != nil || cand == "" {
		return nil, false, err
	}
	// The candidates, plus the tweets the indexer has not reached, checked
	// with the scan's own conditions.
	stmt := "SELECT " + cols + " FROM tweets WHERE rowid IN (SELECT value FROM json_each(?) UNION ALL SELECT rowid FROM tweets WHERE rowid > ?)" +
		" AND created_at >= ? AND created_at < ? AND text LIKE ? ESCAPE '\\'"
	for _, f := range filters {
		stmt += " AND " + f
	}
	stmt += " ORDER BY created_at DESC, id LIMIT ?"
	args := append([]any{cand, upto.Int64, q.From.UnixMilli(), q.To.UnixMilli(), like}, filterArgs...)
	got, err := s.scanTweets(ctx, s.Models(), stmt, append(args, q.Limit))
	if err != nil {
		return nil, false, err
	}
	return got, true, nil
}

// candidates returns the rowids the index matches as a JSON array, or ""
// when there are more than ftsMaxCandidates. SQLite builds the array: a
// row per candidate through database/sql cost 1.3 µs each, 6.5 ms for a
// common word that then goes to the scan anyway.
func (s *Store) candidates(ctx context.Context, match string) (string, error) {
	var n int
	var ids string
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*), json_group_array(rowid) FROM (SELECT rowid FROM "+ftsTable+
		" WHERE "+ftsTable+" MATCH ? LIMIT ?)", match, ftsMaxCandidates+1).Scan(&n, &ids)
	if err != nil {
		return "", fmt.Errorf("dashboard: search index: %w", err)
	}
	if n > ftsMaxCandidates {
		return "", nil
	}
	return ids, nil
}
