package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tweetflow/tweetflow/event"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sample() []event.Alert {
	start := time.Date(2009, 4, 6, 22, 0, 0, 0, time.UTC)
	var out []event.Alert
	for i := range 3 {
		ws := start.Add(time.Duration(i) * time.Minute)
		out = append(out, event.Alert{
			ID: event.AlertID(event.AlertAnomaly, "rate", ws), Kind: event.AlertAnomaly, Metric: "rate",
			WindowStart: ws, WindowEnd: ws.Add(time.Minute), Observed: float64(100 + i), Expected: 50, Bound: 5,
			Score: 6, Direction: "above", Count: 100 + i, Message: "rate",
		})
	}
	out = append(out, event.Alert{
		ID: event.AlertID(event.AlertCoordination, "similar_texts", start, "t1"), Kind: event.AlertCoordination,
		Metric: "similar_texts", WindowStart: start, WindowEnd: start.Add(30 * time.Second), Observed: 5,
		Expected: 5, Bound: 5, Count: 5, Accounts: []string{"a", "b", "c", "d", "e"}, TweetIDs: []string{"t1"},
		Texts: []string{"it's \"quoted\"; DROP TABLE alerts; --"}, Message: "coordination",
	})
	return out
}

func TestWriteListIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	in := sample()
	for range 2 { // a replay raises the same alerts again
		if err := s.WriteAlerts(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(in) {
		t.Fatalf("listed %d, want %d", len(all), len(in))
	}
	if !all[0].WindowStart.Equal(in[2].WindowStart) {
		t.Errorf("not newest first: %v", all[0].ID)
	}
	var coord event.Alert
	for _, a := range all {
		if a.Kind == event.AlertCoordination {
			coord = a
		}
	}
	coord.WindowStart, coord.WindowEnd = in[3].WindowStart, in[3].WindowEnd // monotonic clock bits differ
	if !reflect.DeepEqual(coord, in[3]) {
		t.Errorf("round trip: %+v\nwant %+v", coord, in[3])
	}
	got, err := s.List(ctx, Filter{Kind: event.AlertAnomaly, From: in[1].WindowStart, To: in[2].WindowStart, Limit: 10})
	if err != nil || len(got) != 1 || got[0].ID != in[1].ID {
		t.Errorf("filtered = %v, %v", got, err)
	}
	counts, err := s.Counts(ctx)
	if err != nil || counts[event.AlertAnomaly] != 3 || counts[event.AlertCoordination] != 1 {
		t.Errorf("counts = %v, %v", counts, err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, err := s.List(ctx, Filter{Kind: "x' OR 1=1 --"}); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("bad kind: err = %v", err)
	}
	bad := sample()
	bad[1].Kind = "nope"
	err := s.WriteAlerts(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), bad[1].ID) {
		t.Errorf("invalid alert: err = %v, want it named", err)
	}
	if all, _ := s.List(ctx, Filter{}); len(all) != 0 {
		t.Errorf("a failed batch wrote %d alerts", len(all))
	}
}
