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

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/model"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// specs is the one model the test stores have.
var specs = []*model.Spec{{Name: "sentiment", Value: model.ValueSpec{Type: model.TypeFloat}}}

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

// store is where a test run writes: a SQLite file or an Elasticsearch
// index (the fake), and how its alerts are read back.
type store struct {
	cfg    core.StoreConfig
	alerts func(t *testing.T) []string
}

func sqliteStore(t *testing.T, name string) store {
	db := filepath.Join(t.TempDir(), name+".db")
	return store{cfg: core.StoreConfig{SQLite: db}, alerts: func(t *testing.T) []string {
		ctx := context.Background()
		st, err := core.StoreConfig{SQLite: db}.Open(ctx, specs, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(ctx)
		as, err := alertstore.Open(ctx, st.SQLite.DB())
		if err != nil {
			t.Fatal(err)
		}
		list, err := as.List(ctx, alertstore.Filter{Limit: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		return ids(list)
	}}
}

// esStore is an index of the fake at url; its alerts go to index+"-alerts"
// (alerting.Config.ESIndex, set by the caller).
func esStore(url, index string) store {
	return store{cfg: core.StoreConfig{ES: elastic.Config{Addresses: []string{url}, Index: index}}, alerts: func(t *testing.T) []string {
		ctx := context.Background()
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}})
		if err != nil {
			t.Fatal(err)
		}
		if err := elastic.Do(ctx, es, "POST", "/"+index+"-alerts/_refresh", nil, nil); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Hits struct {
				Hits []struct {
					ID string `json:"_id"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := elastic.Do(ctx, es, "POST", "/"+index+"-alerts/_search", map[string]any{"size": 10_000}, &res); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range res.Hits.Hits {
			out = append(out, h.ID)
		}
		slices.Sort(out)
		return out
	}}
}

// writeRun stores batches through a sink.Writer over s with the cluster
// alert engine attached, as a cluster aggregator does from its start to
// its stop.
func writeRun(t *testing.T, s store, c alerting.Config, batches ...[]sink.Record) {
	t.Helper()
	ctx := context.Background()
	st, err := s.cfg.Open(ctx, specs, slog.New(slog.DiscardHandler))
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
// same store (SQLite, Elasticsearch) reads the stored tweets back into the
// engine: the alerts end as one uninterrupted run leaves them. Started
// again without the rebuild, the campaign across the stop is missed.
func TestRestartRebuildsFromTheStore(t *testing.T) {
	_, url := elastictest.NewFake(t, esfake.Options{})
	for _, kind := range []string{"sqlite", "elasticsearch"} {
		t.Run(kind, func(t *testing.T) {
			open := func(name string) (store, alerting.Config) {
				c := alerting.ClusterDefaults()
				c.EventHold = 10 * time.Second
				c.Logger = slog.New(slog.DiscardHandler)
				if kind == "sqlite" {
					return sqliteStore(t, name), c
				}
				c.ESIndex = name + "-alerts"
				return esStore(url, name), c
			}
			testRestart(t, open)
		})
	}
}

func testRestart(t *testing.T, open func(name string) (store, alerting.Config)) {
	recs := replay()
	// The first run stores everything up to minute 20 (the second
	// campaign's first tweets); the stream ends with a tweet an hour later,
	// which closes every window.
	var cut int
	for cut < len(recs) && recs[cut].Tweet.CreatedAt.Before(t0.Add(20*time.Minute)) {
		cut++
	}
	end := []sink.Record{{Tweet: event.Tweet{ID: "end", User: "clock", Text: "later", CreatedAt: t0.Add(2 * time.Hour)},
		Results: []sink.Result{{Model: "sentiment", Value: 0, Label: "positive"}}}}

	whole, c := open("whole")
	writeRun(t, whole, c, recs, end)
	want := whole.alerts(t)
	if len(want) < 2 || !slices.ContainsFunc(want, func(id string) bool { return strings.HasPrefix(id, event.AlertCoordination) }) {
		t.Fatalf("uninterrupted run: alerts %v, want both campaigns", want)
	}
	restarted, c := open("restart")
	writeRun(t, restarted, c, recs[:cut])
	// Redelivered after the restart: the last 50 stored records.
	writeRun(t, restarted, c, recs[cut-50:], end)
	if got := restarted.alerts(t); !slices.Equal(got, want) {
		t.Errorf("alerts across a restart %v\nwant %v", got, want)
	}

	cold, c := open("norebuild")
	c.Rebuild = -1 // WithDefaults is not applied here: negative means none
	writeRun(t, cold, c, recs[:cut])
	writeRun(t, cold, c, recs[cut:], end)
	if got := cold.alerts(t); slices.Equal(got, want) {
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
