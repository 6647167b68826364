package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
)

// qutIn is a QUT toolkit CSV with what the layout allows: a repost, a reply,
// several URLs, a message with a comma, quotes and non-ASCII text, fractions
// of a second to the millisecond (the store's precision) and none.
const qutIn = `message_id,user_id,username,repost_id,reply_id,message,timestamp,urls
1001,501,alice,,,"hello, world ""quoted"" ünï",1606451170.518,https://example.com/a http://t.co/b
1002,502,bob,1001,,"RT @alice: hello, world",1606451171.25,
1003,503,carol,,1001,@alice what a lovely day,1606451172,https://example.org/?q=a&b=c
1004,501,alice,,,I hate this so much,1606451173.001,
`

// TestExportQUTRoundTrip: a QUT CSV through 'tweetflow run', then
// 'tweetflow export --format qut', gives the same rows (in time order), so the
// toolkit reads an export as it read the input; the JSON lines export of the
// same store carries the fields and both models' results.
func TestExportQUTRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(qutIn), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "t.db")
	execute(t, "run", "--data", in, "--models-dir", "../../models", "--db", db, "--no-progress", "--no-alerts")

	out := filepath.Join(dir, "out.csv")
	execute(t, "export", "--db", db, "--format", "qut", "--out", out)
	got := readCSV(t, out)
	want := readCSV(t, in)
	if len(got) != len(want) {
		t.Fatalf("export has %d rows, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		// Timestamps are compared as numbers: 1606451172 and 1606451172.0
		// are the same time.
		gt, _ := strconv.ParseFloat(got[i][6], 64)
		wt, _ := strconv.ParseFloat(want[i][6], 64)
		g, w := slices.Clone(got[i]), slices.Clone(want[i])
		g[6], w[6] = "", ""
		if !slices.Equal(g, w) || gt != wt {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}

	jsonl := execute(t, "export", "--db", db)
	lines := strings.Split(strings.TrimSpace(jsonl), "\n")
	if len(lines) != 4 {
		t.Fatalf("jsonl export has %d lines:\n%s", len(lines), jsonl)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["id"] != "1003" || rec["user_id"] != "503" || rec["reply_to"] != "1001" || rec["retweet_of"] != nil ||
		rec["created_at"] != "2020-11-27T04:26:12Z" {
		t.Errorf("tweet 1003: %v", rec)
	}
	if urls, _ := rec["urls"].([]any); len(urls) != 1 || urls[0] != "https://example.org/?q=a&b=c" {
		t.Errorf("tweet 1003 urls %v", rec["urls"])
	}
	for _, m := range []string{"sentiment", "offense"} {
		if _, ok := rec[m+"_value"].(float64); !ok {
			t.Errorf("tweet 1003 %s_value = %v", m, rec[m+"_value"])
		}
		if l, _ := rec[m+"_label"].(string); l == "" {
			t.Errorf("tweet 1003 %s_label = %v", m, rec[m+"_label"])
		}
	}

	// --format csv and parquet to files: the same tweets in the same order
	// (the export package's tests compare every field).
	var ids []string
	for _, l := range lines {
		var r struct{ ID string }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	csvOut := filepath.Join(dir, "out.export.csv")
	execute(t, "export", "--db", db, "--format", "csv", "--out", csvOut)
	var csvIDs []string
	for _, r := range readCSV(t, csvOut)[1:] {
		csvIDs = append(csvIDs, r[0])
	}
	if !slices.Equal(csvIDs, ids) {
		t.Errorf("csv export ids %v, want %v", csvIDs, ids)
	}
	pqOut := filepath.Join(dir, "out.parquet")
	execute(t, "export", "--db", db, "--format", "parquet", "--out", pqOut)
	type idRow struct {
		ID string `parquet:"id"`
	}
	pqRows, err := parquet.ReadFile[idRow](pqOut)
	if err != nil {
		t.Fatal(err)
	}
	var pqIDs []string
	for _, r := range pqRows {
		pqIDs = append(pqIDs, r.ID)
	}
	if !slices.Equal(pqIDs, ids) {
		t.Errorf("parquet export ids %v, want %v", pqIDs, ids)
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--db", filepath.Join(dir, "none.db")}, "--db"},
		{[]string{"export", "--db", filepath.Join(dir, "none.db"), "--format", "xlsx"}, `unknown export format "xlsx"`},
		{[]string{"export", "--from", "yesterday"}, "--from"},
	} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(tc.args)
		err := root.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !os.IsNotExist(err) {
		t.Errorf("export created the missing store: %v", err)
	}
}

func execute(t *testing.T, args ...string) string {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestExportFromES: the same QUT CSV run into SQLite and into Elasticsearch
// (the fake) exports to the same JSON lines and CSV with --db and with --es;
// --db and --es together are refused.
func TestExportFromES(t *testing.T) {
	if os.Getenv("ONNXRUNTIME_LIB") == "" {
		t.Setenv("ONNXRUNTIME_LIB", abs(t, "../../lib/onnxruntime/libonnxruntime.so.1.24.1"))
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(qutIn), 0o644); err != nil {
		t.Fatal(err)
	}
	fake, url := elastictest.NewFake(t, esfake.Options{})
	db := filepath.Join(dir, "t.db")
	execute(t, "run", "--data", in, "--models-dir", "../../models", "--db", db, "--no-progress", "--no-alerts")
	execute(t, "run", "--data", in, "--models-dir", "../../models", "--es", url, "--no-progress", "--no-alerts",
		"--es-dead-letter", filepath.Join(dir, "dead.ndjson"))
	if n := fake.DocCount(elastic.DefaultIndex); n != 4 {
		t.Fatalf("%d documents in the index, want 4", n)
	}
	es, err := elastic.NewClient(elastic.Config{Addresses: []string{url}}, elastic.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	// Elasticsearch refreshes every second; the fake only when asked.
	if err := elastic.Do(context.Background(), es, "POST", "/_refresh", nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"jsonl", "csv"} {
		fromDB := execute(t, "export", "--db", db, "--format", format)
		fromES := execute(t, "export", "--es", url, "--format", format)
		if fromES != fromDB || strings.Count(fromDB, "\n") < 4 {
			t.Errorf("--format %s: export --es\n%s\ndiffers from export --db\n%s", format, fromES, fromDB)
		}
	}
	root := newRootCmd()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"export", "--db", db, "--es", url})
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "--db and --es") {
		t.Errorf("export --db --es: %v", err)
	}
}
