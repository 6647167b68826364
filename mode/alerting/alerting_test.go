package alerting_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/model"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// replay is 40 minutes of tweets, one every 2 s by distinct accounts, with
// two copy campaigns of 6 accounts: one in minute 5, one across minute 20.
func replay() []sink.Record {
	var out []sink.Record
	add := func(id, user, text string, at time.Time) {
		out = append(out, sink.Record{Tweet: event.Tweet{ID: id, User: user, Text: text, CreatedAt: at},
			Results: []sink.Result{{Model: "sentiment", Value: 0.1, Label: "positive"}}})
	}
	for i := range 1200 {
		add(fmt.Sprintf("o%04d", i), fmt.Sprintf("u%d", i), fmt.Sprintf("organic words number %d about %d things", i, i*7), t0.Add(time.Duration(i)*2*time.Second))
	}
	for c, start := range []time.Duration{5 * time.Minute, 19*time.Minute + 40*time.Second} {
		for i := range 6 {
			add(fmt.Sprintf("c%d-%d", c, i), fmt.Sprintf("camp%d-%d", c, i),
				"the council hides the stadium tax from every family in this city, vote no",
				t0.Add(start+time.Duration(i)*7*time.Second+time.Second))
		}
	}
	slices.SortFunc(out, func(a, b sink.Record) int { return a.Tweet.CreatedAt.Compare(b.Tweet.CreatedAt) })
	return out
}

// writeRun stores recs through a sink.Writer over a SQLite file with the
// cluster alert engine attached, as a cluster aggregator does from its
// start to its stop, and returns the alerts stored so far.
func writeRun(t *testing.T, db string, c alerting.Config, batches ...[]sink.Record) []event.Alert {
	t.Helper()
	ctx := context.Background()
	st, err := core.StoreConfig{SQLite: db}.Open(ctx, []*model.Spec{{Name: "sentiment"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	obs, err := alerting.Observers(ctx, c, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.Writer([]string{"sentiment"}, slog.New(slog.DiscardHandler), obs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st2, err := core.StoreConfig{SQLite: db}.Open(ctx, []*model.Spec{{Name: "sentiment"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close(ctx)
	as, err := alertstore.Open(ctx, st2.SQLite.DB())
	if err != nil {
		t.Fatal(err)
	}
	list, err := as.List(ctx, alertstore.Filter{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func ids(as []event.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	slices.Sort(out)
	return out
}

// A cluster aggregator stopped in the middle and started again over the
// same SQLite file reads the stored tweets back into the engine: the
// alerts table ends as one uninterrupted run leaves it. Started again
// without the rebuild, the campaign across the stop is missed.
func TestRestartRebuildsFromSQLite(t *testing.T) {
	recs := replay()
	// The first run stores everything up to minute 20 (the second
	// campaign's first tweets); the stream ends with a tweet an hour later,
	// which closes every window.
	var cut int
	for cut < len(recs) && recs[cut].Tweet.CreatedAt.Before(t0.Add(20*time.Minute)) {
		cut++
	}
	end := []sink.Record{{Tweet: event.Tweet{ID: "end", User: "clock", Text: "later", CreatedAt: t0.Add(2 * time.Hour)}}}
	c := alerting.ClusterDefaults()
	c.EventHold = 10 * time.Second
	c.Logger = slog.New(slog.DiscardHandler)

	want := ids(writeRun(t, filepath.Join(t.TempDir(), "whole.db"), c, recs, end))
	if len(want) < 2 || !slices.ContainsFunc(want, func(id string) bool { return strings.HasPrefix(id, event.AlertCoordination) }) {
		t.Fatalf("uninterrupted run: alerts %v, want both campaigns", want)
	}
	db := filepath.Join(t.TempDir(), "restart.db")
	writeRun(t, db, c, recs[:cut])
	// Redelivered after the restart: the last 50 stored records.
	if got := ids(writeRun(t, db, c, recs[cut-50:], end)); !slices.Equal(got, want) {
		t.Errorf("alerts across a restart %v\nwant %v", got, want)
	}

	off := c
	off.Rebuild = 0
	db = filepath.Join(t.TempDir(), "norebuild.db")
	writeRun(t, db, off, recs[:cut])
	if got := ids(writeRun(t, db, off, recs[cut:], end)); slices.Equal(got, want) {
		t.Errorf("without the rebuild the same alerts %v: the replay does not test the restart", got)
	}
}

// The environment overrides the defaults, and a bad value names its variable.
func TestFromEnv(t *testing.T) {
	env := map[string]string{"ALERTS": "off", "ALERT_HOLD": "5m", "ALERT_REBUILD": "6h", "ALERT_LATENESS": "1m", "ES_ALERTS_INDEX": "a"}
	c, err := alerting.ClusterDefaults().FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !c.Off || c.EventHold != 5*time.Minute || c.Rebuild != 6*time.Hour || c.Warm != 3*time.Hour ||
		c.Engine.Lateness != time.Minute || c.ESIndex != "a" || !c.KeepOpen {
		t.Errorf("config %+v", c)
	}
	for k, v := range map[string]string{"ALERTS": "maybe", "ALERT_HOLD": "soon", "ALERT_REBUILD": "-1h"} {
		_, err := alerting.ClusterDefaults().FromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	if d := (alerting.Config{}).WithDefaults(alerting.ClusterDefaults()); !d.KeepOpen || d.EventHold != time.Minute || d.Rebuild != 2*time.Hour {
		t.Errorf("zero config with the cluster defaults: %+v", d)
	}
}
