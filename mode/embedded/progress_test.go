package embedded

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer"
)

func TestExpectedRows(t *testing.T) {
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(csvFile, []byte("h\na\nb\nc\nd"), 0o644); err != nil { // 5 lines, no final newline
		t.Fatal(err)
	}
	jsonl := filepath.Join(dir, "t.jsonl")
	if err := os.WriteFile(jsonl, []byte("{}\n{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Data: csvFile}
	cfg.CSV.Header = true
	for _, c := range []struct {
		name  string
		cfg   Config
		start int
		limit int64
		want  int64
	}{
		{"header", cfg, 1, 0, 4},
		{"start row 3", cfg, 3, 0, 2},
		{"limit", cfg, 1, 3, 3},
		{"start past the end", cfg, 9, 0, 0},
		{"twarc pages are not rows", Config{Data: jsonl}, 1, 0, -1},
		{"several files", Config{Data: csvFile + "," + csvFile}, 1, 0, -1},
		{"missing file", Config{Data: filepath.Join(dir, "no.csv")}, 1, 0, -1},
	} {
		c.cfg.StartRow, c.cfg.Producer = c.start, producer.Options{Limit: c.limit}
		if got := ExpectedRows(c.cfg); got != c.want {
			t.Errorf("%s: %d rows, want %d", c.name, got, c.want)
		}
	}
}

func TestWriteAlerts(t *testing.T) {
	list := []event.Alert{{Kind: event.AlertThreshold, Model: "offense", Metric: "mean", Message: "offense mean 0.8 above 0.6",
		WindowStart: time.Date(2009, 4, 6, 22, 0, 0, 0, time.UTC)}}
	var table, lines bytes.Buffer
	if err := WriteAlerts(&table, list, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "2009-04-06 22:00:00") || !strings.Contains(table.String(), "offense mean") {
		t.Fatalf("table:\n%s", table.String())
	}
	if err := WriteAlerts(&lines, list, true); err != nil {
		t.Fatal(err)
	}
	var back event.Alert
	if err := json.Unmarshal(lines.Bytes(), &back); err != nil || back.Message != list[0].Message {
		t.Fatalf("JSON line %q: %v", lines.String(), err)
	}
}
