package campaign

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/producer/source"

	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/event"
)

func idGen(prefix string) func() string {
	n := 0
	return func() string { n++; return fmt.Sprint(prefix, n) }
}

func TestInjectorTruth(t *testing.T) {
	cfg := Default()
	cfg.Campaigns = 20
	t0 := time.Date(2009, 4, 6, 0, 0, 0, 0, time.UTC)
	in, err := NewInjector(cfg, 10_000, idGen("c"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for i := range 10_000 {
		rows = append(rows, in.Add(Row{Target: "4", ID: fmt.Sprint("o", i), User: "u", Text: "x", Time: t0.Add(time.Duration(i) * 3 * time.Second)})...)
	}
	rows = append(rows, in.Flush()...)
	tr := in.Truth()
	if tr.OrganicRows != 10_000 || len(tr.Campaigns) != 20 || len(rows) != 10_000+tr.InjectedRows {
		t.Fatalf("truth %d organic, %d campaigns, %d injected; %d rows", tr.OrganicRows, len(tr.Campaigns), tr.InjectedRows, len(rows))
	}
	if !slices.IsSortedFunc(rows, func(a, b Row) int { return a.Time.Compare(b.Time) }) {
		t.Error("rows not in time order")
	}
	ids := map[string]bool{}
	for _, r := range rows {
		if ids[r.ID] {
			t.Fatalf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
	}
	for _, c := range tr.Campaigns {
		if len(c.Accounts) < cfg.MinAccounts || len(c.Accounts) > cfg.MaxAccounts {
			t.Errorf("campaign %d: %d accounts", c.ID, len(c.Accounts))
		}
		if c.End.Sub(c.Start) > cfg.Span || len(c.TweetIDs) < len(c.Accounts) {
			t.Errorf("campaign %d: span %s, %d tweets", c.ID, c.End.Sub(c.Start), len(c.TweetIDs))
		}
	}
	// Same seed, same injection.
	in2, _ := NewInjector(cfg, 10_000, idGen("c"))
	for i := range 10_000 {
		in2.Add(Row{ID: fmt.Sprint("o", i), Time: t0.Add(time.Duration(i) * 3 * time.Second)})
	}
	in2.Flush()
	if tr2 := in2.Truth(); tr2.Campaigns[7].Message != tr.Campaigns[7].Message || !slices.Equal(tr2.Campaigns[7].Accounts, tr.Campaigns[7].Accounts) {
		t.Error("not reproducible")
	}
}

func TestConfigCheck(t *testing.T) {
	for _, c := range []Config{{Campaigns: -1}, {MinAccounts: 3, MaxAccounts: 2, MaxPosts: 1, Span: time.Minute}, {MinAccounts: 1, MaxAccounts: 2, Span: time.Minute}} {
		if _, err := NewInjector(c, 10, idGen("x")); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// On the real sentiment140 sample (20,000 organic tweets with their genuine
// repeats), injected campaigns are found and organic tweets raise no
// coordination alert.
func TestEngineOnSample(t *testing.T) {
	const path = "../../data/sample.csv"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the sample is part of the repository: %v", err)
	}
	tweets, err := source.ReadTweets(context.Background(), []string{path}, source.Options{Format: source.Sentiment140})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Campaigns = 60
	in, err := NewInjector(cfg, 20_000, idGen("9900000"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for _, tw := range tweets {
		rows = append(rows, in.Add(Row{ID: tw.ID, User: tw.User, Text: tw.Text, Time: tw.CreatedAt})...)
	}
	rows = append(rows, in.Flush()...)
	eng, err := alerts.New(alerts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	got, err := Replay(context.Background(), eng, func(context.Context) (event.Tweet, error) {
		if i == len(rows) {
			return event.Tweet{}, io.EOF
		}
		r := rows[i]
		i++
		return event.Tweet{ID: r.ID, User: r.User, Text: r.Text, CreatedAt: r.Time}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := Evaluate(in.Truth(), got)
	rep.Print(testWriter{t})
	if rep.Recall < 0.95 || rep.FalseAlerts > 0 {
		t.Errorf("recall %.3f, %d false alerts", rep.Recall, rep.FalseAlerts)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
