package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// entityKey is one row of entity_values: kind 'hashtag', 'url' or
// 'mention', and the value as stored (hashtags and mentions lowercased).
type entityKey struct{ kind, value string }

// valueCacheSize bounds Store.valueIDs: about 10 MB of keys at the twarc2
// replay's 85-byte URLs. A value missing from it costs two indexed
// statements (entityStatements.valueID).
const valueCacheSize = 1 << 16

// entityChunks are the rows per tweet_entity_ids insert statement, largest
// first: a batch's rows go in as few statements as these sizes allow (a
// 2048-tweet twarc2 batch has about 3,600 rows: 14 + 2 + ... statements).
var entityChunks = []int{256, 32, 4, 1}

// entityStatements are prepared once per Store.
type entityStatements struct {
	insert    []*sql.Stmt // entityChunks[k] postings a statement
	newValue  *sql.Stmt   // adds a value, RETURNING its id (no row if it exists)
	findValue *sql.Stmt   // the id of an existing value
}

func (s *Store) prepareEntities(ctx context.Context) error {
	prep := func(q string) (*sql.Stmt, error) {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %.40s…: %w", q, err)
		}
		return st, nil
	}
	var err error
	for _, n := range entityChunks {
		st, perr := prep("INSERT OR IGNORE INTO tweet_entity_ids(value_id, tweet_id) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?), ", n), ", "))
		if perr != nil {
			s.ents.close()
			return perr
		}
		s.ents.insert = append(s.ents.insert, st)
	}
	if s.ents.newValue, err = prep(`INSERT INTO entity_values(kind, value) VALUES (?, ?) ON CONFLICT (kind, value) DO NOTHING RETURNING id`); err != nil {
		s.ents.close()
		return err
	}
	if s.ents.findValue, err = prep(`SELECT id FROM entity_values WHERE kind = ? AND value = ?`); err != nil {
		s.ents.close()
		return err
	}
	return nil
}

func (e *entityStatements) close() {
	for _, st := range append(e.insert, e.newValue, e.findValue) {
		if st != nil {
			st.Close()
		}
	}
	*e = entityStatements{}
}

// valueLookup finds or adds entity values within one transaction.
type valueLookup struct {
	ctx                 context.Context
	tx                  *sql.Tx
	e                   *entityStatements
	newValue, findValue *sql.Stmt // e's, bound to tx on first use
}

// id returns the id of k in entity_values, adding the value when it is new.
func (l *valueLookup) id(k entityKey) (int64, error) {
	if l.newValue == nil { // closed with the transaction
		l.newValue = l.tx.StmtContext(l.ctx, l.e.newValue)
		l.findValue = l.tx.StmtContext(l.ctx, l.e.findValue)
	}
	var id int64
	err := l.newValue.QueryRowContext(l.ctx, k.kind, k.value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) { // added before, maybe by another writer
		err = l.findValue.QueryRowContext(l.ctx, k.kind, k.value).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("entity value %s %q: %w", k.kind, k.value, err)
	}
	return id, nil
}

// posting is one row of tweet_entity_ids.
type posting struct {
	value int64
	tweet string
}

// writeEntities brings tweet_entities to the lists of the tweets just
// upserted (recs but failed), whose transaction began with top as the
// largest rowid of tweets. A tweet's rows come from its last record in
// recs, whose lists the upsert left in the row. It returns the value ids
// this transaction read or added that Store.valueIDs did not have, to be
// cached once the transaction commits.
//
// SQLite gives a new row the largest rowid plus one, so when the upserts
// added as many rows as recs have distinct ids, every tweet was new and
// has no rows yet: they are only inserted. Otherwise some tweet was
// rewritten (a duplicate across pages, a late model's result) and may
// have other lists, so the batch's tweets lose their old rows first, as
// the update trigger of schema 1 did for a changed list.
func (s *Store) writeEntities(ctx context.Context, tx *sql.Tx, recs []sink.Record, failed map[int]error, top int64) (map[entityKey]int64, error) {
	last := make(map[string]int, len(recs))
	for i := range recs {
		if failed[i] == nil {
			last[recs[i].Tweet.ID] = i
		}
	}
	after, err := maxRowid(ctx, tx)
	if err != nil {
		return nil, err
	}
	if after-top != int64(len(last)) {
		ids := make([]any, 0, len(last))
		for id := range last {
			ids = append(ids, id)
		}
		for len(ids) > 0 {
			n := min(len(ids), chunkRows)
			q := "DELETE FROM tweet_entity_ids WHERE tweet_id IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
			if _, err := tx.ExecContext(ctx, q, ids[:n]...); err != nil {
				return nil, fmt.Errorf("replace entities: %w", err)
			}
			ids = ids[n:]
		}
	}
	fresh := map[entityKey]int64{}
	lookup := valueLookup{ctx: ctx, tx: tx, e: &s.ents}
	var rows []posting
	var keys []entityKey
	for i := range recs {
		if failed[i] != nil || last[recs[i].Tweet.ID] != i {
			continue
		}
		keys = appendEntities(keys[:0], &recs[i].Tweet)
		for _, k := range keys {
			id, ok := s.valueIDs.Get(k)
			if !ok {
				if id, ok = fresh[k]; !ok {
					if id, err = lookup.id(k); err != nil {
						return nil, err
					}
					fresh[k] = id
				}
			}
			rows = append(rows, posting{id, recs[i].Tweet.ID})
		}
	}
	// In key order, each statement's inserts walk the primary key forward
	// instead of jumping between the values' runs.
	slices.SortFunc(rows, func(a, b posting) int {
		return cmp.Or(cmp.Compare(a.value, b.value), strings.Compare(a.tweet, b.tweet))
	})
	args := make([]any, 0, 2*entityChunks[0])
	for k, n := range entityChunks {
		var st *sql.Stmt
		for len(rows) >= n {
			if st == nil {
				st = tx.StmtContext(ctx, s.ents.insert[k])
				defer st.Close()
			}
			args = args[:0]
			for _, r := range rows[:n] {
				args = append(args, r.value, r.tweet)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return nil, fmt.Errorf("insert entities of tweet %s…: %w", rows[0].tweet, err)
			}
			rows = rows[n:]
		}
	}
	return fresh, nil
}

// appendEntities appends t's entity values to keys, each once: hashtags
// and mentions lowercased, as Twitter matches them, URLs as they are.
func appendEntities(keys []entityKey, t *event.Tweet) []entityKey {
	add := func(kind, v string) {
		k := entityKey{kind, v}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, v := range t.Hashtags {
		add("hashtag", strings.ToLower(v))
	}
	for _, v := range t.URLs {
		add("url", v)
	}
	for _, v := range t.Mentions {
		add("mention", strings.ToLower(v))
	}
	return keys
}
