// Package sqlite is the embedded sink.Driver: one SQLite file (modernc.org/sqlite,
// pure Go), one row per tweet upserted by tweet id, and the queries the
// dashboard and the run summary need.
//
// Table tweets: id (primary key), created_at (Unix milliseconds, indexed),
// user, text, fields (JSON of kept CSV columns), complete, missing
// (comma-separated configured models absent), timed_out, the tweet's
// optional fields (#10: user_id, lang, retweet_of, quote_of, reply_to,
// conversation_id, NULL when absent, user_id and the three references
// indexed; hashtags, urls,
// mentions as JSON arrays, NULL when empty), and per model <model>_value,
// <model>_label, <model>_version. A model seen for the first time gets its
// columns with ALTER TABLE ADD COLUMN, which keeps every row.
// Table models lists the models that have columns. Table tweet_entities
// (kind 'hashtag'|'url'|'mention', value, tweet_id), a view over the
// dictionary entity_values (id, kind, value) and the postings
// tweet_entity_ids (value_id, tweet_id), answers "every tweet with this
// hashtag / link / mention" from their indexes; WriteBatch keeps it equal to
// the three list columns (hashtags and mentions lowercased, as Twitter
// matches them) in the transaction that writes them, and a trigger removes
// a deleted tweet's rows.
//
// The schema is versioned with PRAGMA user_version; Open migrates an older
// file in place (adding columns and tables, never dropping a row) and refuses
// a file from a newer tweetflow.
//
// Every write merges: the tweet's fields are set, each model column takes the
// new value when the record has that model (COALESCE), and complete/missing
// are derived from the merged row against the models this Store was opened
// with. The file is in WAL mode, so the dashboard reads while a run writes.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// Store is a SQLite-backed sink.Driver. It is safe for concurrent use;
// writes are serialised (SQLite has one writer), reads run in parallel.
type Store struct {
	db         *sql.DB
	path       string
	configured []string // models that complete/missing refer to

	mu     sync.Mutex // guards writes and the fields below
	known  []string   // models with columns, sorted
	upsert *sql.Stmt  // one row, built for known
	many   *sql.Stmt  // chunkRows rows in one statement
	// ents writes tweet_entities' dictionary and postings (entities.go).
	ents entityStatements
	// valueIDs caches entity_values ids by (kind, value). Ids are never
	// reused or renumbered (an INTEGER PRIMARY KEY, rows never deleted),
	// so an id read once stays right, also for other writers of the file;
	// an id is cached only once the transaction that created it commits.
	valueIDs *lru.Cache[entityKey, int64]
}

var _ sink.Driver = (*Store)(nil)

// Open opens (creating if needed) the store at path, configured for models:
// their columns are added now, and a tweet is complete when all of them are
// present.
func Open(ctx context.Context, path string, models []string) (*Store, error) {
	for _, m := range models {
		if !event.ValidModelName(m) {
			return nil, fmt.Errorf("sqlite %s: invalid model name %q", path, m)
		}
	}
	q := url.Values{}
	// A batch of twarc2 tweets touches pages all over the tweet-field
	// indexes and tweet_entities. With the defaults a 512-record
	// transaction spilled dirty pages from the 2 MB page cache to the WAL
	// before its commit, each multi-row upsert (it has triggers and a
	// conflict clause) kept its statement journal in a temporary file, and
	// the checkpoint every 1000 pages copied nearly every commit into the
	// file. A 64 MiB cache (a cap per connection, filled on demand),
	// statement journals in memory and a checkpoint every 10000 pages (40
	// MB of WAL) wrote 4.3x fewer bytes on a 100k-tweet replay; without
	// temp_store(MEMORY) only 1.2x fewer (docs/BENCHMARKS.md).
	// synchronous stays NORMAL: a returned commit survives a crash of the
	// process; after a power loss the commits since the last checkpoint's
	// sync may be lost, now up to 40 MB of WAL instead of 4 MB.
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(OFF)",
		"cache_size(-65536)", "temp_store(MEMORY)", "wal_autocheckpoint(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: open: %w", path, err)
	}
	ids, err := lru.New[entityKey, int64](valueCacheSize)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: value cache: %w", path, err)
	}
	s := &Store{db: db, path: path, configured: slices.Clone(models), valueIDs: ids}
	slices.Sort(s.configured)
	s.configured = slices.Compact(s.configured)
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return s, nil
}

// DB exposes the database for read-only queries this package does not offer.
func (s *Store) DB() *sql.DB { return s.db }

// Models returns the models this store was opened with.
func (s *Store) Models() []string { return slices.Clone(s.configured) }

func (s *Store) init(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.prepareEntities(ctx); err != nil {
		return err
	}
	return s.ensureModels(ctx, s.configured)
}

// schemaVersion is the PRAGMA user_version this package writes. 0 is the
// schema before versioning (no tweet fields), 1 adds the #10 tweet fields
// with triggers filling tweet_entities, 2 fills it from WriteBatch instead,
// 3 keeps the entities as integer value ids (entity_values, tweet_entity_ids)
// behind a tweet_entities view.
const schemaVersion = 3

// tweetFieldColumns are the columns of schema 1, in upsert order.
var tweetFieldColumns = []string{"user_id", "lang", "retweet_of", "quote_of", "reply_to", "conversation_id", "hashtags", "urls", "mentions"}

// migrate brings the file to schemaVersion in one immediate transaction, so
// two processes opening the same old file migrate it once: the second waits
// for the lock, then reads the new version.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this tweetflow's %d: open it with a newer tweetflow", version, schemaVersion)
	}
	if version == schemaVersion {
		return nil
	}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS tweets (
			id TEXT PRIMARY KEY,
			created_at INTEGER NOT NULL,
			user TEXT NOT NULL DEFAULT '',
			text TEXT NOT NULL DEFAULT '',
			fields TEXT,
			complete INTEGER NOT NULL DEFAULT 0,
			missing TEXT NOT NULL DEFAULT '',
			timed_out INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX IF NOT EXISTS tweets_created_at ON tweets(created_at)`,
		`CREATE TABLE IF NOT EXISTS models (name TEXT PRIMARY KEY, added_at INTEGER NOT NULL)`,
	}
	// Schema 0 -> 1: the tweet fields. Columns are added, so rows written
	// before keep every value and read back with the new fields absent.
	have, err := Columns(ctx, tx, "tweets")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, c := range tweetFieldColumns {
		if !have[c] { // no table yet: created above, then altered
			stmts = append(stmts, "ALTER TABLE tweets ADD COLUMN "+c+" TEXT")
		}
	}
	// The indexes the account filter, the network view and "every tweet
	// retweeting / quoting / replying to this id" use. Schema 2 drops
	// schema 1's conversation_id index: no query reads it, and twarc2 data
	// gives every tweet a conversation id (its own, for most), so it was a
	// B-tree insert per tweet for nothing; a conversation query can add it.
	for _, c := range []string{"user_id", "retweet_of", "quote_of", "reply_to"} {
		stmts = append(stmts, fmt.Sprintf("CREATE INDEX IF NOT EXISTS tweets_%[1]s ON tweets(%[1]s) WHERE %[1]s IS NOT NULL", c))
	}
	stmts = append(stmts, `DROP INDEX IF EXISTS tweets_conversation_id`)
	// Schema 3: tweet_entities is a view over a dictionary of values
	// (entity_values, each (kind, value) once with an integer id) and
	// the postings (value id, tweet id). Schema 2's table repeated the
	// value string (a URL: 85 bytes on average on a twarc2 replay) in
	// both of its B-trees for every tweet that carried it: 240 of a 1M
	// replay's 742 MB, and the largest share of the store's CPU
	// (docs/BENCHMARKS.md). Readers keep querying tweet_entities(kind,
	// value, tweet_id); the lookup by (kind, value) is a search of the
	// dictionary's unique index, then of the postings' primary key.
	stmts = append(stmts,
		`CREATE TABLE IF NOT EXISTS entity_values (
			id INTEGER PRIMARY KEY,
			kind TEXT NOT NULL,
			value TEXT NOT NULL,
			UNIQUE (kind, value)
		)`,
		`CREATE TABLE IF NOT EXISTS tweet_entity_ids (
			value_id INTEGER NOT NULL,
			tweet_id TEXT NOT NULL,
			PRIMARY KEY (value_id, tweet_id)
		) WITHOUT ROWID`,
		// The tweet's side: a rewritten or deleted tweet loses its rows.
		`CREATE INDEX IF NOT EXISTS tweet_entity_ids_tweet ON tweet_entity_ids(tweet_id)`,
		// Schema 1's insert and update triggers parsed the lists back with
		// json_each for every upsert (30 of the 55 CPU-µs a twarc2 tweet
		// cost the store); schema 2 wrote the rows from WriteBatch. The
		// delete trigger is recreated on the new table below.
		`DROP TRIGGER IF EXISTS tweets_entities_insert`,
		`DROP TRIGGER IF EXISTS tweets_entities_update`,
		`DROP TRIGGER IF EXISTS tweets_entities_delete`,
	)
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", version, schemaVersion, err)
		}
	}
	if err := moveEntities(ctx, tx, version); err != nil {
		return fmt.Errorf("migrate schema %d to %d: %w", version, schemaVersion, err)
	}
	for _, st := range []string{
		`CREATE VIEW IF NOT EXISTS tweet_entities(kind, value, tweet_id) AS
			SELECT v.kind, v.value, e.tweet_id FROM tweet_entity_ids e JOIN entity_values v ON v.id = e.value_id`,
		`CREATE TRIGGER IF NOT EXISTS tweets_entities_delete AFTER DELETE ON tweets
			BEGIN DELETE FROM tweet_entity_ids WHERE tweet_id = old.id; END`,
		fmt.Sprintf("PRAGMA user_version = %d", schemaVersion),
	} {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", version, schemaVersion, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// moveEntities copies the rows of schema 1 or 2's tweet_entities table, if
// the file has one, into the dictionary and postings of schema 3, then drops
// the table (and its tweet index) so that the view can take its name.
// Schema 1's rows are lowercased first (relowerEntities).
func moveEntities(ctx context.Context, tx *sql.Tx, version int) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'tweet_entities'`).Scan(&n); err != nil {
		return fmt.Errorf("look for the entity table: %w", err)
	}
	if n == 0 {
		return nil
	}
	if version == 1 {
		if err := relowerEntities(ctx, tx); err != nil {
			return err
		}
	}
	for _, st := range []string{
		`INSERT OR IGNORE INTO entity_values(kind, value) SELECT DISTINCT kind, value FROM tweet_entities`,
		`INSERT OR IGNORE INTO tweet_entity_ids(value_id, tweet_id)
			SELECT v.id, e.tweet_id FROM tweet_entities e JOIN entity_values v ON v.kind = e.kind AND v.value = e.value`,
		`DROP TABLE tweet_entities`,
	} {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("move entities: %w", err)
		}
	}
	return nil
}

// relowerEntities lowercases the hashtags and mentions of schema 1's
// tweet_entities as WriteBatch now does (strings.ToLower). Schema 1's
// triggers used SQLite's lower(), which folds ASCII only, so "#Ünï" was
// kept as "Ünï" while the dashboard looks it up as "ünï". Only values with
// a byte outside ASCII can differ.
func relowerEntities(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT kind, value, tweet_id FROM tweet_entities
		WHERE kind IN ('hashtag', 'mention') AND value GLOB '*[^'||char(1)||'-'||char(127)||']*'`)
	if err != nil {
		return fmt.Errorf("read entities: %w", err)
	}
	type entity struct{ kind, value, tweet string }
	var fix []entity
	for rows.Next() {
		var e entity
		if err := rows.Scan(&e.kind, &e.value, &e.tweet); err != nil {
			rows.Close()
			return fmt.Errorf("read entities: %w", err)
		}
		if strings.ToLower(e.value) != e.value {
			fix = append(fix, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read entities: %w", err)
	}
	for _, e := range fix {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tweet_entities WHERE kind = ? AND value = ? AND tweet_id = ?`, e.kind, e.value, e.tweet); err != nil {
			return fmt.Errorf("relower entity: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO tweet_entities(kind, value, tweet_id) VALUES (?, ?, ?)`, e.kind, strings.ToLower(e.value), e.tweet); err != nil {
			return fmt.Errorf("relower entity: %w", err)
		}
	}
	return nil
}

// ensureModels adds columns for models that have none. Caller holds s.mu.
func (s *Store) ensureModels(ctx context.Context, models []string) error {
	var add []string
	for _, m := range models {
		if !slices.Contains(s.known, m) {
			add = append(add, m)
		}
	}
	if len(add) == 0 && s.upsert != nil {
		return nil
	}
	// Another Store on the same file may have added columns since we looked.
	cols, err := Columns(ctx, s.db, "tweets")
	if err != nil {
		return err
	}
	for _, m := range add {
		if cols[m+"_label"] {
			continue
		}
		for _, c := range []string{m + "_value REAL", m + "_label TEXT", m + "_version TEXT"} {
			if _, err := s.db.ExecContext(ctx, "ALTER TABLE tweets ADD COLUMN "+c); err != nil && !strings.Contains(err.Error(), "duplicate column") {
				return fmt.Errorf("add column %s: %w", c, err)
			}
		}
		if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO models(name, added_at) VALUES (?, ?)`, m, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("register model %s: %w", m, err)
		}
		cols[m+"_label"] = true
	}
	known := s.known[:0:0]
	for c := range cols {
		if m, ok := strings.CutSuffix(c, "_label"); ok && event.ValidModelName(m) {
			known = append(known, m)
		}
	}
	slices.Sort(known)
	if s.upsert != nil && slices.Equal(known, s.known) {
		return nil
	}
	st, err := s.db.PrepareContext(ctx, s.upsertSQL(known, 1))
	if err != nil {
		return fmt.Errorf("prepare upsert: %w", err)
	}
	many, err := s.db.PrepareContext(ctx, s.upsertSQL(known, chunkRows))
	if err != nil {
		st.Close()
		return fmt.Errorf("prepare upsert: %w", err)
	}
	s.closeStatements()
	s.known, s.upsert, s.many = known, st, many
	return nil
}

// chunkRows is the number of rows per multi-row upsert: one statement
// execution per row cost more in database/sql and the driver than SQLite's
// own work (about half of the write time at 1 row per statement).
const chunkRows = 64

// closeStatements closes the prepared upserts. Caller holds s.mu.
func (s *Store) closeStatements() {
	if s.upsert != nil {
		s.upsert.Close()
	}
	if s.many != nil {
		s.many.Close()
	}
	s.upsert, s.many = nil, nil
}

// Querier is what Columns reads through: a *sql.DB, *sql.Conn or *sql.Tx,
// so that a caller can read a table's columns inside its own transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Columns returns the names of table's columns (none when there is no such
// table). A model's columns are added when a Store first writes it, so the
// tweets table's columns say which models a file has results of: the
// migration, the Store's model list and the dashboard's rollup read them
// here.
func Columns(ctx context.Context, q Querier, table string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, fmt.Errorf("read %s columns: %w", table, err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("read %s columns: %w", table, err)
		}
		cols[c] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s columns: %w", table, err)
	}
	return cols, nil
}

// upsertSQL builds the merge statement for the known models. Model names
// are validated identifiers ([a-z][a-z0-9_]*), so they are safe in SQL text;
// every value is a parameter.
func (s *Store) upsertSQL(known []string, rows int) string {
	cols := []string{"id", "created_at", "user", "text", "fields", "timed_out", "complete", "missing"}
	cols = append(cols, tweetFieldColumns...)
	for _, m := range known {
		cols = append(cols, m+"_value", m+"_label", m+"_version")
	}
	var b strings.Builder
	b.WriteString("INSERT INTO tweets (" + strings.Join(cols, ", ") + ") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	b.WriteString(strings.TrimSuffix(strings.Repeat(row+", ", rows), ", "))
	// Rows of one statement are inserted in order, so a tweet twice in a
	// batch merges like two statements would.
	b.WriteString(" ON CONFLICT(id) DO UPDATE SET created_at = excluded.created_at, user = excluded.user, text = excluded.text, fields = excluded.fields")
	for _, c := range tweetFieldColumns {
		fmt.Fprintf(&b, ", %s = excluded.%s", c, c)
	}
	for _, m := range known {
		for _, suf := range []string{"_value", "_label", "_version"} {
			c := m + suf
			fmt.Fprintf(&b, ", %s = COALESCE(excluded.%s, %s)", c, c, c)
		}
	}
	// SET expressions see the row as it was, so "present after the merge"
	// is COALESCE(new, old) IS NOT NULL.
	complete := "1"
	missing := "''"
	if len(s.configured) > 0 {
		var have, miss []string
		for _, m := range s.configured {
			c := m + "_label"
			have = append(have, fmt.Sprintf("COALESCE(excluded.%s, %s) IS NOT NULL", c, c))
			miss = append(miss, fmt.Sprintf("CASE WHEN COALESCE(excluded.%s, %s) IS NULL THEN '%s,' ELSE '' END", c, c, m))
		}
		complete = "(" + strings.Join(have, " AND ") + ")"
		missing = "rtrim(" + strings.Join(miss, " || ") + ", ',')"
	}
	fmt.Fprintf(&b, ", complete = %s, missing = %s, timed_out = CASE WHEN %s THEN 0 ELSE MAX(excluded.timed_out, timed_out) END", complete, missing, complete)
	return b.String()
}

// WriteBatch merges recs into the store in one transaction. A record whose
// model name cannot be a column fails alone, as a Permanent error in a
// *sink.BatchError; the others are written.
func (s *Store) WriteBatch(ctx context.Context, recs []sink.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return &sink.Error{Code: sink.Transient, Err: fmt.Errorf("sqlite %s: %w", s.path, err)}
	}
	failed := map[int]error{}
	var models []string
	for i, rec := range recs {
		if err := checkRecord(rec); err != nil {
			failed[i] = &sink.Error{Code: sink.Permanent, Err: err}
			continue
		}
		for _, r := range rec.Results {
			if !slices.Contains(models, r.Model) {
				models = append(models, r.Model)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureModels(ctx, models); err != nil {
		return &sink.Error{Code: sink.Transient, Err: fmt.Errorf("sqlite %s: %w", s.path, err)}
	}
	if err := s.writeTx(ctx, recs, failed); err != nil {
		return &sink.Error{Code: codeOf(err), Err: fmt.Errorf("sqlite %s: write %d records: %w", s.path, len(recs), err)}
	}
	if len(failed) > 0 {
		return &sink.BatchError{Failed: failed}
	}
	return nil
}

// checkRecord guards the SQL text: model names become column names. The
// record rules themselves (id, time, labels, values) are sink.Validate's,
// applied by sink.Writer before any driver.
func checkRecord(rec sink.Record) error {
	for _, r := range rec.Results {
		if !event.ValidModelName(r.Model) {
			return fmt.Errorf("tweet %s: invalid model name %q", rec.Tweet.ID, r.Model)
		}
	}
	return nil
}

func codeOf(err error) sink.Code {
	if c := sink.ErrorCode(err); c != sink.Unknown {
		return c
	}
	return sink.Transient // busy, I/O, full disk: a later retry may work
}

func (s *Store) writeTx(ctx context.Context, recs []sink.Record, failed map[int]error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	top, err := maxRowid(ctx, tx)
	if err != nil {
		return err
	}
	one := tx.StmtContext(ctx, s.upsert)
	defer one.Close()
	many := tx.StmtContext(ctx, s.many)
	defer many.Close()
	width := modelArg0 + 3*len(s.known)
	args := make([]any, width*chunkRows)
	var chunk []int // indexes of recs in the current chunk
	exec := func(st *sql.Stmt, idx []int) error {
		for k, i := range idx {
			s.fillArgs(args[k*width:(k+1)*width], recs[i])
		}
		if _, err := st.ExecContext(ctx, args[:len(idx)*width]...); err != nil {
			return fmt.Errorf("tweets %s…: %w", recs[idx[0]].Tweet.ID, err)
		}
		return nil
	}
	for i := range recs {
		if failed[i] != nil {
			continue
		}
		if chunk = append(chunk, i); len(chunk) == chunkRows {
			if err := exec(many, chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	for _, i := range chunk {
		if err := exec(one, []int{i}); err != nil {
			return err
		}
	}
	fresh, err := s.writeEntities(ctx, tx, recs, failed, top)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for k, id := range fresh {
		s.valueIDs.Add(k, id)
	}
	return nil
}

func maxRowid(ctx context.Context, tx *sql.Tx) (int64, error) {
	var top int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(rowid), 0) FROM tweets").Scan(&top); err != nil {
		return 0, fmt.Errorf("read last rowid: %w", err)
	}
	return top, nil
}

// modelArg0 is the index of the first model column in an upsert row: 8
// record columns, then the 9 tweetFieldColumns.
const modelArg0 = 8 + 9

// nullString stores "" as NULL, so an absent field is absent (and out of the
// partial indexes).
func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func (s *Store) fillArgs(args []any, rec sink.Record) {
	t := rec.Tweet
	args[0] = t.ID
	args[1] = int64(0)
	if !t.CreatedAt.IsZero() {
		args[1] = t.CreatedAt.UnixMilli()
	}
	args[2] = t.User
	args[3] = t.Text
	args[4] = nil
	if len(t.Fields) > 0 {
		b, _ := json.Marshal(t.Fields) // map[string]string always marshals
		args[4] = string(b)
	}
	for k, v := range []string{t.UserID, t.Lang, t.RetweetOf, t.QuoteOf, t.ReplyTo, t.ConversationID} {
		args[8+k] = nullString(v)
	}
	for k, l := range [][]string{t.Hashtags, t.URLs, t.Mentions} {
		args[14+k] = nil
		if len(l) > 0 {
			b, _ := json.Marshal(l) // []string always marshals
			args[14+k] = string(b)
		}
	}
	for k, m := range s.known {
		i := modelArg0 + 3*k
		args[i], args[i+1], args[i+2] = nil, nil, nil
		for _, r := range rec.Results {
			if r.Model == m {
				args[i], args[i+1], args[i+2] = r.Value, r.Label, r.Version
			}
		}
	}
	// complete/missing for a new row; the ON CONFLICT path derives them in SQL.
	var missing []string
	for _, m := range s.configured {
		if !slices.ContainsFunc(rec.Results, func(r sink.Result) bool { return r.Model == m }) {
			missing = append(missing, m)
		}
	}
	complete := len(missing) == 0
	args[5] = rec.TimedOut && !complete
	args[6] = complete
	args[7] = strings.Join(missing, ",")
}

// Close closes the database; every returned WriteBatch is already durable.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeStatements()
	s.ents.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite %s: close: %w", s.path, err)
	}
	return nil
}
