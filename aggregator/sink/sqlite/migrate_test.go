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
		rows, err := s.DB().QueryContext(ctx, "SELECT tweet_id FROM tweet_entities WHERE kind = ? AND value = ? ORDER BY tweet_id", kind, value)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
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
