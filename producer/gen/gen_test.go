package gen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/producer/source/csv"
)

func readBack(t *testing.T, b []byte) []csv.Row {
	t.Helper()
	r, err := csv.NewReader(bytes.NewReader(b), "gen.csv", csv.Options{Keep: map[string]string{"target": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []csv.Row
	for {
		row, err := r.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("generated file does not read back: %v", err)
		}
		out = append(out, row)
	}
}

func TestGenerate(t *testing.T) {
	ctx := context.Background()
	sample, err := LoadSample(ctx, "../../data/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	sample = append(sample, Row{Target: "4", ID: "1", User: `quote"user`, Text: "a \"quoted\"\nmulti-line, text"})
	users := map[string]bool{}
	for _, s := range sample {
		users[s.User] = true
	}
	var buf bytes.Buffer
	n, err := Generate(ctx, &buf, sample, Options{Rows: 5000, Seed: 7})
	if err != nil || n != 5000 {
		t.Fatalf("n %d err %v", n, err)
	}
	rows := readBack(t, buf.Bytes())
	if len(rows) != 5000 {
		t.Fatalf("read back %d rows", len(rows))
	}
	ids := map[string]bool{}
	for i, r := range rows {
		if ids[r.Tweet.ID] {
			t.Fatalf("duplicate id %s", r.Tweet.ID)
		}
		ids[r.Tweet.ID] = true
		if !users[r.Tweet.User] {
			t.Fatalf("user %q not from the sample", r.Tweet.User)
		}
		if i > 0 && !r.Tweet.CreatedAt.After(rows[i-1].Tweet.CreatedAt) {
			t.Fatalf("row %d: date %v not after %v", i, r.Tweet.CreatedAt, rows[i-1].Tweet.CreatedAt)
		}
	}
	if want := time.Date(2009, 4, 7, 5, 19, 45, 0, time.UTC); !rows[0].Tweet.CreatedAt.Equal(want) {
		t.Fatalf("first date %v, want %v", rows[0].Tweet.CreatedAt, want)
	}
	var again bytes.Buffer
	if _, err := Generate(ctx, &again, sample, Options{Rows: 5000, Seed: 7}); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Fatal("same seed, different output")
	}
}

// dupHook injects a copy of every 10th row right after it.
type dupHook struct{ n int }

func (h *dupHook) Add(r Row) []Row {
	h.n++
	if h.n%10 == 0 {
		c := r
		c.ID = "inj" + r.ID
		return []Row{r, c}
	}
	return []Row{r}
}
func (h *dupHook) Flush() []Row {
	return []Row{{Target: "0", ID: "last", Time: time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC), User: "u", Text: "end"}}
}

func TestHook(t *testing.T) {
	sample := []Row{{Target: "0", ID: "1", User: "u", Text: "t"}}
	var buf bytes.Buffer
	n, err := Generate(context.Background(), &buf, sample, Options{Rows: 100, Hook: &dupHook{}})
	if err != nil || n != 111 {
		t.Fatalf("n %d err %v", n, err)
	}
	rows := readBack(t, buf.Bytes())
	if len(rows) != 111 || rows[10].Tweet.ID != "inj3000000009" || rows[110].Tweet.ID != "last" {
		t.Fatalf("%d rows; row 10 %s, last %s", len(rows), rows[10].Tweet.ID, rows[len(rows)-1].Tweet.ID)
	}
}
