package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
)

// schema0 is the file layout tweetflow wrote before the tweet fields (#10),
// with one model's columns, as a store opened with "sentiment" left it.
var schema0 = []string{
	`CREATE TABLE tweets (
		id TEXT PRIMARY KEY,
		created_at INTEGER NOT NULL,
		user TEXT NOT NULL DEFAULT '',
		text TEXT NOT NULL DEFAULT '',
		fields TEXT,
		complete INTEGER NOT NULL DEFAULT 0,
		missing TEXT NOT NULL DEFAULT '',
		timed_out INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE INDEX tweets_created_at ON tweets(created_at)`,
	`CREATE TABLE models (name TEXT PRIMARY KEY, added_at INTEGER NOT NULL)`,
	`ALTER TABLE tweets ADD COLUMN sentiment_value REAL`,
	`ALTER TABLE tweets ADD COLUMN sentiment_label TEXT`,
	`ALTER TABLE tweets ADD COLUMN sentiment_version TEXT`,
	`INSERT INTO models VALUES ('sentiment', 1)`,
	`INSERT INTO tweets (id, created_at, user, text, fields, complete, missing, sentiment_value, sentiment_label, sentiment_version)
		VALUES ('old1', 1239056385000, 'alice', 'written before #10', '{"query":"q"}', 1, '', 0.5, 'positive', '1.0.0')`,
}

// writeRaw runs stmts on the file at path with the bare SQL driver, as an
// older or newer tweetflow would have left it.
func writeRaw(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, st := range stmts {
		if _, err := db.Exec(st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
}

// TestMigrateKeepsOldFile opens a schema-0 file: its row reads back
// unchanged with the new fields absent, new tweets keep every field, the old
// row can be rewritten with fields, and reopening migrates nothing again.
func TestMigrateKeepsOldFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	writeRaw(t, path, schema0...)

	s, err := Open(ctx, path, []string{"sentiment"})
	if err != nil {
		t.Fatalf("open a schema-0 file: %v", err)
	}
	old, found, err := s.Get(ctx, "old1")
	if err != nil || !found {
		t.Fatalf("old row after migration: found %v, %v", found, err)
	}
	if old.User != "alice" || old.Text != "written before #10" || old.Fields["query"] != "q" || !old.Complete ||
		old.Results["sentiment"].Label != "positive" || !old.CreatedAt.Equal(time.UnixMilli(1239056385000)) {
		t.Errorf("old row changed: %+v", old)
	}
	if old.UserID != "" || old.RetweetOf != "" || old.Hashtags != nil {
		t.Errorf("old row has fields it never had: %+v", old.Tweet)
	}
	var version int
	if err := s.DB().QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != schemaVersion {
		t.Errorf("user_version %d (%v), want %d", version, err, schemaVersion)
	}

	tw := sinktest.WithFields(1)
	rewritten := old.Tweet
	rewritten.Hashtags = []string{"Late"}
	res := sink.Result{Model: "sentiment", Version: "1.0.0", Value: 0.1, Label: "neutral"}
	if err := s.WriteBatch(ctx, []sink.Record{{Tweet: tw, Results: []sink.Result{res}}, {Tweet: rewritten}}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Get(ctx, tw.ID)
	if err != nil || got.RetweetOf != tw.RetweetOf || !slices.Equal(got.URLs, tw.URLs) || !slices.Equal(got.Mentions, tw.Mentions) {
		t.Errorf("new tweet after migration: %+v, %v", got.Tweet, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Reopen: nothing is migrated twice, every row is still there.
	s, err = Open(ctx, path, []string{"sentiment"})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close(ctx)
	if n, err := s.Count(ctx, time.Time{}, time.Time{}); err != nil || n != 2 {
		t.Errorf("count after reopen %d, %v; want 2", n, err)
	}
	old, _, _ = s.Get(ctx, "old1")
	if !slices.Equal(old.Hashtags, []string{"Late"}) || old.Results["sentiment"].Label != "positive" {
		t.Errorf("old row rewritten with a hashtag: %+v", old)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	writeRaw(t, path, "PRAGMA user_version = 99")
	_, err := Open(ctx, path, nil)
	if err == nil || !strings.Contains(err.Error(), "schema version 99") || !strings.Contains(err.Error(), path) {
		t.Fatalf("open of a newer file: %v, want an error naming the file and version 99", err)
	}
}

// TestEntityIndex checks tweet_entities, the table behind "every tweet with
// this hashtag / link / mention": it follows the list columns on insert, on
// a rewrite that changes them, and answers from its primary key.
func TestEntityIndex(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	a, b := sinktest.WithFields(1), sinktest.WithFields(2)
	b.Hashtags = []string{"ALPHA"}
	b.URLs = nil
	if err := s.WriteBatch(ctx, []sink.Record{{Tweet: a}, {Tweet: b}}); err != nil {
		t.Fatal(err)
	}
	ids := func(kind, value string) []string {
		t.Helper()
		return strings1(t, s.DB(), "SELECT tweet_id FROM tweet_entities WHERE kind = ? AND value = ? ORDER BY tweet_id", kind, value)
	}
	if got := ids("hashtag", "alpha"); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("hashtag alpha: %v (hashtags are matched lowercased)", got)
	}
	if got := ids("url", a.URLs[0]); !slices.Equal(got, []string{a.ID}) {
		t.Errorf("url: %v", got)
	}
	if got := ids("mention", "bob"); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("mention bob: %v", got)
	}
	// A rewrite with other lists replaces the tweet's entities.
	b.Hashtags, b.Mentions = []string{"other"}, nil
	if err := s.WriteBatch(ctx, []sink.Record{{Tweet: b}}); err != nil {
		t.Fatal(err)
	}
	if got := ids("hashtag", "alpha"); !slices.Equal(got, []string{a.ID}) {
		t.Errorf("hashtag alpha after the rewrite: %v", got)
	}
	if got := ids("mention", "bob"); !slices.Equal(got, []string{a.ID}) {
		t.Errorf("mention bob after the rewrite: %v", got)
	}
	// The same tweet twice in one batch (a duplicate across pages) keeps
	// the lists of its last record, beside a new tweet.
	c, c2, d := sinktest.WithFields(3), sinktest.WithFields(3), sinktest.WithFields(4)
	c2.Hashtags, c2.URLs, c2.Mentions = []string{"Last"}, nil, nil
	if err := s.WriteBatch(ctx, []sink.Record{{Tweet: c}, {Tweet: d}, {Tweet: c2}}); err != nil {
		t.Fatal(err)
	}
	if got := entitiesOf(t, s.DB(), c.ID); !slices.Equal(got, []string{"hashtag:last"}) {
		t.Errorf("tweet written twice in a batch: entities %q, want its last lists'", got)
	}
	if got := entitiesOf(t, s.DB(), d.ID); len(got) != 7 {
		t.Errorf("new tweet beside a duplicate: entities %q, want 7", got)
	}
	var plan strings.Builder
	rows, err := s.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT tweet_id FROM tweet_entities WHERE kind = 'hashtag' AND value = 'x'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "; ")
	}
	rows.Close()
	if p := plan.String(); !strings.Contains(p, "SEARCH") || strings.Contains(p, "SCAN") {
		t.Errorf("hashtag lookup plan %q, want a search on the primary key", p)
	}
}

// fieldColumns are the tweet-field columns and indexes schemas 1 and 2
// share.
var fieldColumns = []string{
	`ALTER TABLE tweets ADD COLUMN user_id TEXT`, `ALTER TABLE tweets ADD COLUMN lang TEXT`,
	`ALTER TABLE tweets ADD COLUMN retweet_of TEXT`, `ALTER TABLE tweets ADD COLUMN quote_of TEXT`,
	`ALTER TABLE tweets ADD COLUMN reply_to TEXT`, `ALTER TABLE tweets ADD COLUMN conversation_id TEXT`,
	`ALTER TABLE tweets ADD COLUMN hashtags TEXT`, `ALTER TABLE tweets ADD COLUMN urls TEXT`,
	`ALTER TABLE tweets ADD COLUMN mentions TEXT`,
	`CREATE INDEX tweets_user_id ON tweets(user_id) WHERE user_id IS NOT NULL`,
	`CREATE INDEX tweets_retweet_of ON tweets(retweet_of) WHERE retweet_of IS NOT NULL`,
	`CREATE INDEX tweets_quote_of ON tweets(quote_of) WHERE quote_of IS NOT NULL`,
	`CREATE INDEX tweets_reply_to ON tweets(reply_to) WHERE reply_to IS NOT NULL`,
}

// schema1 is the layout of schema 1 (commit 69d0e84 and before): the tweet
// fields, with triggers filling tweet_entities through json_each and
// SQLite's ASCII-only lower().
var schema1 = append(slices.Concat(schema0, fieldColumns),
	`CREATE INDEX tweets_conversation_id ON tweets(conversation_id) WHERE conversation_id IS NOT NULL`,
	`CREATE TABLE tweet_entities (kind TEXT NOT NULL, value TEXT NOT NULL, tweet_id TEXT NOT NULL,
		PRIMARY KEY (kind, value, tweet_id)) WITHOUT ROWID`,
	`CREATE INDEX tweet_entities_tweet ON tweet_entities(tweet_id)`,
	`CREATE TRIGGER tweets_entities_insert AFTER INSERT ON tweets
		WHEN new.hashtags IS NOT NULL OR new.urls IS NOT NULL OR new.mentions IS NOT NULL
		BEGIN INSERT OR IGNORE INTO tweet_entities(kind, value, tweet_id)
		SELECT 'hashtag', lower(value), new.id FROM json_each(new.hashtags)
		UNION ALL SELECT 'url', value, new.id FROM json_each(new.urls)
		UNION ALL SELECT 'mention', lower(value), new.id FROM json_each(new.mentions); END`,
	`CREATE TRIGGER tweets_entities_update AFTER UPDATE OF hashtags, urls, mentions ON tweets
		WHEN new.hashtags IS NOT old.hashtags OR new.urls IS NOT old.urls OR new.mentions IS NOT old.mentions
		BEGIN DELETE FROM tweet_entities WHERE tweet_id = old.id;
		INSERT OR IGNORE INTO tweet_entities(kind, value, tweet_id)
		SELECT 'hashtag', lower(value), new.id FROM json_each(new.hashtags)
		UNION ALL SELECT 'url', value, new.id FROM json_each(new.urls)
		UNION ALL SELECT 'mention', lower(value), new.id FROM json_each(new.mentions); END`,
	`CREATE TRIGGER tweets_entities_delete AFTER DELETE ON tweets
		BEGIN DELETE FROM tweet_entities WHERE tweet_id = old.id; END`,
	`INSERT INTO tweets (id, created_at, user, text, complete, sentiment_value, sentiment_label, sentiment_version,
		user_id, retweet_of, hashtags, urls, mentions)
		VALUES ('v1', 1239056385000, 'carol', 'written by schema 1', 1, -0.5, 'negative', '1.0.0',
		'42', '7', '["Ünïcode","Alpha"]', '["https://example.org/X"]', '["Bob"]')`,
	`PRAGMA user_version = 1`,
)

// entitiesOf returns the tweet_entities rows of tweet id as "kind:value".
func entitiesOf(t *testing.T, db *sql.DB, id string) []string {
	t.Helper()
	return strings1(t, db, "SELECT kind || ':' || value FROM tweet_entities WHERE tweet_id = ? ORDER BY 1", id)
}

// strings1 returns the one string column of query's rows.
func strings1(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrateSchema1 opens a file of schema 1: its tweet reads back with
// every field, its entities stay (the non-ASCII hashtag lowercased as the
// dashboard looks it up), the triggers that wrote them are gone, and
// writes after the migration keep tweet_entities equal to the lists.
func TestMigrateSchema1(t *testing.T) {
	ctx := context.Background()
	s := openSchema(t, "v1.db", schema1)
	got, found, err := s.Get(ctx, "v1")
	if err != nil || !found {
		t.Fatalf("schema-1 row: found %v, %v", found, err)
	}
	if got.User != "carol" || got.UserID != "42" || got.RetweetOf != "7" || !slices.Equal(got.Hashtags, []string{"Ünïcode", "Alpha"}) ||
		!slices.Equal(got.URLs, []string{"https://example.org/X"}) || !slices.Equal(got.Mentions, []string{"Bob"}) ||
		got.Results["sentiment"].Label != "negative" {
		t.Errorf("schema-1 row changed: %+v", got)
	}
	want := []string{"hashtag:alpha", "hashtag:ünïcode", "mention:bob", "url:https://example.org/X"}
	if e := entitiesOf(t, s.DB(), "v1"); !slices.Equal(e, want) {
		t.Errorf("schema-1 entities after migration %q, want %q", e, want)
	}
	var dropped int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('tweets_entities_insert', 'tweets_entities_update', 'tweets_conversation_id')`).Scan(&dropped); err != nil || dropped != 0 {
		t.Errorf("%d of schema 1's entity triggers and conversation index left (%v), want 0", dropped, err)
	}
	for _, c := range []string{"user_id", "retweet_of", "quote_of", "reply_to"} {
		var id, parent, unused int
		var detail string
		if err := s.DB().QueryRow("EXPLAIN QUERY PLAN SELECT id FROM tweets WHERE "+c+" = '7'").Scan(&id, &parent, &unused, &detail); err != nil ||
			!strings.Contains(detail, "tweets_"+c) {
			t.Errorf("tweets by %s: plan %q (%v), want its index", c, detail, err)
		}
	}
	var version int
	if err := s.DB().QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != schemaVersion {
		t.Errorf("user_version %d (%v), want %d", version, err, schemaVersion)
	}

	// A rewrite with other lists replaces the old tweet's rows; a new tweet
	// gets its own.
	rewritten := got.Tweet
	rewritten.Hashtags, rewritten.URLs = []string{"ÉTÉ"}, nil
	tw := sinktest.WithFields(3)
	if err := s.WriteBatch(ctx, []sink.Record{{Tweet: rewritten}, {Tweet: tw}}); err != nil {
		t.Fatal(err)
	}
	if e, want := entitiesOf(t, s.DB(), "v1"), []string{"hashtag:été", "mention:bob"}; !slices.Equal(e, want) {
		t.Errorf("rewritten schema-1 tweet's entities %q, want %q", e, want)
	}
	want = []string{"hashtag:alpha", "hashtag:zeta", "hashtag:ünïcode", "mention:alice", "mention:bob", "url:" + tw.URLs[1], "url:" + tw.URLs[0]}
	slices.Sort(want)
	if e := entitiesOf(t, s.DB(), tw.ID); !slices.Equal(e, want) {
		t.Errorf("new tweet's entities %q, want %q", e, want)
	}
	// A deleted tweet takes its rows with it (the trigger schema 2 keeps).
	if _, err := s.DB().Exec("DELETE FROM tweets WHERE id = 'v1'"); err != nil {
		t.Fatal(err)
	}
	if e := entitiesOf(t, s.DB(), "v1"); len(e) != 0 {
		t.Errorf("deleted tweet's entities %q", e)
	}
}

// schema2 is the layout of schema 2 (commit 62eb6cf to this change): the
// tweet fields without the conversation index, tweet_entities a table with
// the value strings, written by WriteBatch, and its delete trigger.
var schema2 = append(slices.Concat(schema0, fieldColumns),
	`CREATE TABLE tweet_entities (kind TEXT NOT NULL, value TEXT NOT NULL, tweet_id TEXT NOT NULL,
		PRIMARY KEY (kind, value, tweet_id)) WITHOUT ROWID`,
	`CREATE INDEX tweet_entities_tweet ON tweet_entities(tweet_id)`,
	`CREATE TRIGGER tweets_entities_delete AFTER DELETE ON tweets
		BEGIN DELETE FROM tweet_entities WHERE tweet_id = old.id; END`,
	`INSERT INTO tweets (id, created_at, user, text, complete, sentiment_value, sentiment_label, sentiment_version,
		user_id, retweet_of, hashtags, urls, mentions)
		VALUES ('v2a', 1239056385000, 'dave', 'written by schema 2', 1, 0.5, 'positive', '1.0.0',
		'43', '8', '["Ünïcode","Alpha"]', '["https://example.org/Y"]', '["Bob"]'),
		('v2b', 1239056386000, 'erin', 'also schema 2', 1, 0.1, 'neutral', '1.0.0',
		'44', NULL, '["alpha"]', NULL, NULL)`,
	`INSERT INTO tweet_entities VALUES ('hashtag', 'ünïcode', 'v2a'), ('hashtag', 'alpha', 'v2a'),
		('url', 'https://example.org/Y', 'v2a'), ('mention', 'bob', 'v2a'), ('hashtag', 'alpha', 'v2b')`,
	`PRAGMA user_version = 2`,
)

// TestMigrateSchema2 opens a file of schema 2: its entity rows move to the
// dictionary and postings of schema 3 and read back through the
// tweet_entities view with the queries the dashboard runs, searched on
// indexes; the old table and its index are gone; writes, rewrites and a
// delete after the migration keep the view equal to the lists.
func TestMigrateSchema2(t *testing.T) {
	ctx := context.Background()
	s := openSchema(t, "v2.db", schema2)
	if e, want := entitiesOf(t, s.DB(), "v2a"), []string{"hashtag:alpha", "hashtag:ünïcode", "mention:bob", "url:https://example.org/Y"}; !slices.Equal(e, want) {
		t.Errorf("schema-2 entities after migration %q, want %q", e, want)
	}
	ids := func(kind, value string) []string {
		t.Helper()
		return strings1(t, s.DB(), "SELECT tweet_id FROM tweet_entities WHERE kind = ? AND value = ? ORDER BY tweet_id", kind, value)
	}
	if got := ids("hashtag", "alpha"); !slices.Equal(got, []string{"v2a", "v2b"}) {
		t.Errorf("hashtag alpha after migration: %v", got)
	}
	// The dashboard's filter form (dashboard/filter.go).
	if got := strings1(t, s.DB(), "SELECT id FROM tweets WHERE EXISTS (SELECT 1 FROM tweet_entities e WHERE e.kind = ? AND e.value = ? AND e.tweet_id = tweets.id) ORDER BY id", "mention", "bob"); !slices.Equal(got, []string{"v2a"}) {
		t.Errorf("tweets with mention bob: %v", got)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM entity_values`).Scan(&n); err != nil || n != 4 {
		t.Errorf("%d distinct values (%v), want 4: alpha is stored once", n, err)
	}
	var kinds []string
	rows, err := s.DB().Query(`SELECT type || ':' || name FROM sqlite_schema WHERE name LIKE 'tweet_entities%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, k)
	}
	rows.Close()
	if !slices.Equal(kinds, []string{"view:tweet_entities"}) {
		t.Errorf("schema objects named tweet_entities*: %q, want only the view", kinds)
	}
	for q, index := range map[string]string{
		"SELECT tweet_id FROM tweet_entities WHERE kind = 'hashtag' AND value = 'x'":                                                            "",
		"SELECT id FROM tweets WHERE EXISTS (SELECT 1 FROM tweet_entities e WHERE e.kind = 'url' AND e.value = 'x' AND e.tweet_id = tweets.id)": "",
		"SELECT kind FROM tweet_entities WHERE tweet_id = 'x'":                                                                                  "tweet_entity_ids_tweet",
	} {
		plan := planOf(t, s.DB(), q)
		if strings.Contains(plan, "SCAN entity_values") || strings.Contains(plan, "SCAN e") || !strings.Contains(plan, index) {
			t.Errorf("plan of %s: %q, want the values and postings searched", q, plan)
		}
	}

	rewritten, _, err := s.Get(ctx, "v2a")
	if err != nil {
		t.Fatal(err)
	}
	rewritten.Hashtags, rewritten.URLs = []string{"ALPHA", "Beta"}, nil
	tw := sinktest.WithFields(5)
	if err := s.WriteBatch(ctx, []sink.Record{{Tweet: rewritten.Tweet}, {Tweet: tw}}); err != nil {
		t.Fatal(err)
	}
	if e, want := entitiesOf(t, s.DB(), "v2a"), []string{"hashtag:alpha", "hashtag:beta", "mention:bob"}; !slices.Equal(e, want) {
		t.Errorf("rewritten schema-2 tweet's entities %q, want %q", e, want)
	}
	if got := ids("hashtag", "alpha"); !slices.Equal(got, []string{tw.ID, "v2a", "v2b"}) {
		t.Errorf("hashtag alpha after new writes: %v", got)
	}
	if _, err := s.DB().Exec("DELETE FROM tweets WHERE id = 'v2a'"); err != nil {
		t.Fatal(err)
	}
	if e := entitiesOf(t, s.DB(), "v2a"); len(e) != 0 {
		t.Errorf("deleted tweet's entities %q", e)
	}
}

// openSchema writes a file named name of an older schema (its statements)
// and opens it with the sentiment model, closing it when the test ends.
func openSchema(t *testing.T, name string, schema []string) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	writeRaw(t, path, schema...)
	s, err := Open(context.Background(), path, []string{"sentiment"})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// planOf returns the EXPLAIN QUERY PLAN details of q, joined by "; ".
func planOf(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN " + q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var details []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		details = append(details, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(details, "; ")
}
