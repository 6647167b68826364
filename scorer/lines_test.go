package scorer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/scorer"
)

// ScoreLines scores every line, past the batch size, in order, and each
// line's result is what ScoreTexts gives that text alone; a line over the
// bound is an error naming it.
func TestScoreLines(t *testing.T) {
	m := loadAll(t)["sentiment"]
	var in strings.Builder
	n := 2*scorer.LineBatch + 3
	for i := range n {
		fmt.Fprintf(&in, "tweet %d: what a lovely <day> & night\n", i)
	}
	var out bytes.Buffer
	if err := m.ScoreLines(context.Background(), strings.NewReader(in.String()), &out); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	i := 0
	for ; sc.Scan(); i++ {
		var l scorer.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, sc.Bytes())
		}
		text := fmt.Sprintf("tweet %d: what a lovely <day> & night", i)
		if l.Text != text || l.Model != "sentiment" || len(l.Probabilities) != len(m.Labels()) {
			t.Fatalf("line %d: %+v", i, l)
		}
		if i == n-1 {
			if !bytes.Contains(sc.Bytes(), []byte("<day> &")) {
				t.Errorf("HTML escaped: %s", sc.Bytes())
			}
			var alone bytes.Buffer
			if err := m.ScoreTexts(context.Background(), []string{text}, &alone); err != nil {
				t.Fatal(err)
			}
			if got := append(bytes.Clone(sc.Bytes()), '\n'); !bytes.Equal(got, alone.Bytes()) {
				t.Errorf("in a batch %s\nalone      %s", got, alone.Bytes())
			}
		}
	}
	if i != n {
		t.Fatalf("%d lines out, want %d", i, n)
	}
	long := "ok\n" + strings.Repeat("x", 17<<20) + "\n"
	err := m.ScoreLines(context.Background(), strings.NewReader(long), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("over-long line: %v, want an error naming line 2", err)
	}
}
