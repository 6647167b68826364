package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
)

// store returns a SQLite store with three tweets: t000001 with every field
// and both models, t000002 with no optional field and only sentiment,
// t000003 an hour later.
func store(t *testing.T) *sqlite.Store {
	t.Helper()
	return storeAt(t, filepath.Join(t.TempDir(), "t.db"))
}

// storeAt is store in the file path.
func storeAt(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, []string{"offense", "sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	full := sinktest.WithFields(1)
	full.URLs = []string{"https://example.org/?a=1&b=<2>"}
	bare := sinktest.Tweet(2)
	late := sinktest.Tweet(3)
	late.CreatedAt = late.CreatedAt.Add(time.Hour)
	recs := []sink.Record{
		{Tweet: full, Results: []sink.Result{sinktest.Result("offense", 1), sinktest.Result("sentiment", 1)}},
		{Tweet: bare, Results: []sink.Result{sinktest.Result("sentiment", 2)}},
		{Tweet: late, Results: []sink.Result{sinktest.Result("offense", 3), sinktest.Result("sentiment", 3)}},
	}
	if err := st.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestJSONL(t *testing.T) {
	st := store(t)
	var b bytes.Buffer
	n, err := Write(context.Background(), &b, st, Options{Format: JSONL})
	if err != nil || n != 3 {
		t.Fatalf("Write: %d, %v", n, err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		`{"id":"t000001","user_id":"1000001","user":"user_1","created_at":"2009-04-06T22:19:46Z","text":"tweet number 1 about things",` +
			`"lang":"en","retweet_of":"9000001","quote_of":"8000001","reply_to":"7000001","conversation_id":"6000001",` +
			`"hashtags":["zeta","Alpha","ünïcode","zeta"],"urls":["https://example.org/?a=1&b=<2>"],"mentions":["bob","alice"],` +
			`"offense_value":0.1,"offense_label":"offensive","sentiment_value":-0.9,"sentiment_label":"neutral"}`,
		`{"id":"t000002","user_id":null,"user":"user_2","created_at":"2009-04-06T22:19:47Z","text":"tweet number 2 about things",` +
			`"lang":null,"retweet_of":null,"quote_of":null,"reply_to":null,"conversation_id":null,"hashtags":[],"urls":[],"mentions":[],` +
			`"offense_value":null,"offense_label":null,"sentiment_value":-0.8,"sentiment_label":"positive"}`,
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], w)
		}
	}
}

func TestRange(t *testing.T) {
	st := store(t)
	from := sinktest.Tweet(2).CreatedAt
	for _, tc := range []struct {
		o    Options
		want int64
	}{
		{Options{Format: QUT, From: from}, 2},
		{Options{Format: QUT, To: from}, 1},
		{Options{Format: QUT, From: from, To: from.Add(time.Minute)}, 1},
	} {
		var b bytes.Buffer
		n, err := Write(context.Background(), &b, st, tc.o)
		if err != nil || n != tc.want {
			t.Errorf("%+v: %d tweets, %v; want %d", tc.o, n, err, tc.want)
		}
		if lines := strings.Count(b.String(), "\n"); lines != int(tc.want)+1 {
			t.Errorf("%+v: %d lines, want header + %d", tc.o, lines, tc.want)
		}
	}
}

func TestQUT(t *testing.T) {
	st := store(t)
	var b bytes.Buffer
	if _, err := Write(context.Background(), &b, st, Options{Format: QUT}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		strings.Split(qutHeader, ","),
		{"t000001", "1000001", "user_1", "9000001", "7000001", "tweet number 1 about things", "1239056386", "https://example.org/?a=1&b=<2>"},
		// No stable account id: the handle stands in for it.
		{"t000002", "user_2", "user_2", "", "", "tweet number 2 about things", "1239056387", ""},
	}
	for i, w := range want {
		if strings.Join(rows[i], "|") != strings.Join(w, "|") {
			t.Errorf("row %d: %q, want %q", i, rows[i], w)
		}
	}
}

func TestUnixSeconds(t *testing.T) {
	for ms, want := range map[int64]string{
		1606451170518: "1606451170.518", 1606451171250: "1606451171.25", 1606451172000: "1606451172",
		1606451173001: "1606451173.001", 0: "0", -1500: "-1.5", -1: "-0.001",
	} {
		if got := unixSeconds(time.UnixMilli(ms)); got != want {
			t.Errorf("unixSeconds(%d ms) = %s, want %s", ms, got, want)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := ParseFormat("xlsx"); err == nil || !strings.Contains(err.Error(), "xlsx") || !strings.Contains(err.Error(), "parquet") {
		t.Errorf("ParseFormat(xlsx) = %v", err)
	}
	if _, err := Write(context.Background(), &bytes.Buffer{}, store(t), Options{Format: "xml"}); err == nil {
		t.Error("Write with format xml succeeded")
	}
}

// Run reads the SQLite file the job names and writes to Out (or w), telling
// Progress the range's total first; a missing file is an error, not an
// empty export of a store it just created.
func TestRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.db")
	storeAt(t, db)
	var total, last int64
	j := Job{DB: db, Out: filepath.Join(dir, "out.jsonl"), Options: Options{Format: JSONL}, Progress: func(n int64) func(int64) {
		total = n
		return func(n int64) { last = n }
	}}
	var w bytes.Buffer
	n, err := Run(ctx, j, &w)
	if err != nil || n != 3 || total != 3 || last != 3 {
		t.Fatalf("Run = %d, %v; progress total %d, last %d; want 3 each", n, err, total, last)
	}
	b, err := os.ReadFile(j.Out)
	if err != nil || strings.Count(string(b), "\n") != 3 || w.Len() != 0 {
		t.Fatalf("out file %q (%v), stdout %q", b, err, w.String())
	}
	j.Out, j.Progress = "-", nil
	if n, err := Run(ctx, j, &w); err != nil || n != 3 || !bytes.Equal(w.Bytes(), b) {
		t.Fatalf("--out -: %d, %v:\n%s\nwant the file's\n%s", n, err, w.String(), b)
	}
	missing := filepath.Join(dir, "none.db")
	if _, err := Run(ctx, Job{DB: missing, Options: Options{Format: JSONL}}, &w); err == nil || !strings.Contains(err.Error(), "--db") {
		t.Fatalf("missing store: %v, want a --db error", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("the missing store was created")
	}
}
