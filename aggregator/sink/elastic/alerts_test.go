package elastic_test

import (
	"context"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/event"
)

func TestAlertWriter(t *testing.T) {
	e := newEnv(t)
	es, err := elastic.NewClient(elastic.Config{Addresses: []string{e.url}}, elastic.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := elastic.NewAlertWriter(ctx, es, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := elastic.NewAlertWriter(ctx, es, ""); err != nil {
		t.Fatalf("second open: %v", err)
	}
	start := time.Date(2009, 4, 6, 22, 0, 0, 0, time.UTC)
	alerts := []event.Alert{
		{ID: "a1", Kind: event.AlertThreshold, Model: "sentiment", Metric: "mean", WindowStart: start, WindowEnd: start.Add(10 * time.Minute), Observed: -0.4, Expected: -0.25, Bound: -0.25, Message: "negative"},
		{ID: "a2", Kind: event.AlertCoordination, Metric: "similar_texts", WindowStart: start, WindowEnd: start.Add(10 * time.Minute), Count: 5, Accounts: []string{"x", "y"}, Message: "campaign"},
	}
	for range 2 { // idempotent: the same alerts twice
		if err := w.WriteAlerts(ctx, alerts); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.DocCount(elastic.DefaultAlertsIndex); n != 2 {
		t.Errorf("alerts stored = %d, want 2", n)
	}
	src, _ := e.fake.Source(elastic.DefaultAlertsIndex, "a2")
	if src["kind"] != "coordination" || len(src["accounts"].([]any)) != 2 {
		t.Errorf("alert a2 = %v", src)
	}
	e.fake.SetItemFault(func(_, _, id string) int {
		if id == "a1" {
			return 400
		}
		return 0
	})
	if err := w.WriteAlerts(ctx, alerts); err == nil {
		t.Error("a failed alert item was not reported")
	}
}
