package dashboard

import (
	"context"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts/campaign"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/event"
)

// A ring of three accounts (ids 1, 2, 3; handles a, b, c) that retweeted
// two tweets, posted one URL written two ways and replied to one tweet,
// and an outsider who retweeted one of the same tweets; the alert names the
// three. The network has them as nodes, weights counting shared items.
func TestNetworkOfAnAlert(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tw := func(id, uid, user string, s int, mod func(*event.Tweet)) sink.Record {
		t := event.Tweet{ID: id, UserID: uid, User: user, Text: "text " + id, CreatedAt: at(s)}
		mod(&t)
		return sink.Record{Tweet: t}
	}
	rt := func(src string) func(*event.Tweet) {
		return func(t *event.Tweet) { t.RetweetOf = src; t.Text = "source " + src }
	}
	link := func(u string) func(*event.Tweet) { return func(t *event.Tweet) { t.URLs = []string{u} } }
	reply := func(to string) func(*event.Tweet) { return func(t *event.Tweet) { t.ReplyTo = to } }
	recs := []sink.Record{
		tw("s1", "9", "src", 0, func(*event.Tweet) {}),
		tw("r1", "1", "a", 10, rt("s1")), tw("r2", "2", "b", 20, rt("s1")), tw("r3", "3", "c", 30, rt("s1")),
		tw("r4", "1", "a", 100, rt("s2")), tw("r5", "2", "b", 110, rt("s2")),
		tw("l1", "1", "a", 200, link("https://www.news.example/x?utm_source=tw")), tw("l2", "3", "c", 210, link("http://news.example/x/")),
		tw("p1", "2", "b", 300, reply("s1")), tw("p2", "3", "c", 310, reply("s1")),
		tw("o1", "7", "outsider", 40, rt("s1")),
		tw("o2", "8", "coactor", 45, rt("s1")), tw("o3", "8", "coactor", 120, rt("s2")),
		tw("late", "1", "a", 5000, rt("s9")), // outside the alert's window + pad
	}
	alert := event.Alert{ID: "coordination/co-retweet/x", Kind: event.AlertCoordination, Metric: "co_retweet",
		WindowStart: at(10), WindowEnd: at(310), Accounts: []string{"1", "2", "3"}, TweetIDs: []string{"r1", "r2", "r3"}, Message: "ring"}
	other := event.Alert{ID: "anomaly/rate/1", Kind: event.AlertAnomaly, Metric: "rate", WindowStart: at(0), WindowEnd: at(60), Message: "rate"}
	hs := httptest.NewServer(networkServer(t, recs, []event.Alert{alert, other}))
	t.Cleanup(hs.Close)

	var n Network
	getJSON(t, hs.URL+"/api/network?alert="+url.QueryEscape(alert.ID), 200, &n)
	// The alert's three, and coactor who retweeted two of their shared
	// tweets (the outsider retweeted one).
	if n.Alert.ID != alert.ID || n.Tweets != 11 || len(n.Nodes) != 4 || n.Truncated {
		t.Fatalf("alert %q, %d tweets, nodes %+v, truncated %v", n.Alert.ID, n.Tweets, n.Nodes, n.Truncated)
	}
	inAlert := 0
	for i, tw := range n.List {
		if tw.InAlert {
			inAlert++
		}
		if i > 0 && tw.Time < n.List[i-1].Time || n.Nodes[tw.Node].Handle == "outsider" {
			t.Errorf("list[%d] = %+v", i, tw)
		}
	}
	if len(n.List) != 11 || inAlert != 3 {
		t.Errorf("drill-down: %d tweets, %d named by the alert (want 11, 3)", len(n.List), inAlert)
	}
	idx := map[string]int{}
	for i, nd := range n.Nodes {
		idx[nd.Handle] = i
		if nd.InAlert != (nd.Handle != "coactor") {
			t.Errorf("node %+v: in alert %v", nd, nd.InAlert)
		}
	}
	weight := func(x, y string) int {
		a, b := idx[x], idx[y]
		for _, e := range n.Edges {
			if (e.A == a && e.B == b) || (e.A == b && e.B == a) {
				if len(e.Items) != e.Weight {
					t.Errorf("edge %s-%s: weight %d, %d items", x, y, e.Weight, len(e.Items))
				}
				return e.Weight
			}
		}
		return 0
	}
	// a-b: s1, s2 retweeted, the alert's group (r1, r2); a-c: s1, the URL,
	// the group; b-c: s1, the group, the reply to s1.
	if ab, ac, bc := weight("a", "b"), weight("a", "c"), weight("b", "c"); ab != 3 || ac != 3 || bc != 3 {
		t.Errorf("weights a-b %d, a-c %d, b-c %d (want 3 each), edges %+v", ab, ac, bc, n.Edges)
	}
	// coactor shares s1 and s2 with a and b, s1 with c.
	if xa, xb, xc := weight("coactor", "a"), weight("coactor", "b"), weight("coactor", "c"); xa != 2 || xb != 2 || xc != 1 || len(n.Edges) != 6 {
		t.Errorf("co-actor weights %d, %d, %d (want 2, 2, 1), %d edges (want 6)", xa, xb, xc, len(n.Edges))
	}
	kinds := map[string]int{}
	for _, it := range n.Items {
		kinds[it.Kind]++
		if it.Kind == "co-link" && it.Label != "news.example/x" {
			t.Errorf("link item %q: the two ways of writing it are one URL", it.Label)
		}
		if !slices.IsSorted(it.Accounts) || len(it.Accounts) < 2 {
			t.Errorf("item %+v", it)
		}
	}
	if kinds["co-retweet"] != 2 || kinds["co-link"] != 1 || kinds["co-reply"] != 1 || kinds["co-similar"] != 1 {
		t.Errorf("items by kind %v", kinds)
	}

	var e map[string]string
	for _, q := range []string{"", "alert=", "alert=nope", "alert=" + url.QueryEscape(other.ID), "alert=%ff"} {
		getJSON(t, hs.URL+"/api/network?"+q, 400, &e)
		if e["error"] == "" {
			t.Errorf("%q: no error message", q)
		}
	}
}

// BenchmarkNetwork answers /api/network for a retweet ring's pair alert
// and for a near-copy burst's alert over 100,000 organic tweets shaped like
// a collection (alerts/campaign) with every campaign pattern planted, in
// the real SQLite store.
func BenchmarkNetwork(b *testing.B) {
	ctx := context.Background()
	texts := []string{"a plain organic text about the weather", "another organic text about lunch", "news of the day"}
	org, err := campaign.MakeOrganic(campaign.OrganicConfig{Tweets: 100_000, Start: t0, Span: 6 * time.Hour,
		Shape: campaign.MeasuredShape(), Seed: 1, Texts: texts, Handles: []string{"h1", "h2", "h3", "h4"}})
	if err != nil {
		b.Fatal(err)
	}
	stream, truth, err := campaign.Plant(org, t0, 6*time.Hour, campaign.DefaultPlant(), 1)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]sink.Record, len(stream))
	for i, t := range stream {
		recs[i] = sink.Record{Tweet: t}
	}
	var alerts []event.Alert
	for _, c := range truth.Campaigns {
		switch {
		case c.Pattern == campaign.Ring && len(alerts) == 0:
			alerts = append(alerts, event.Alert{ID: "ring", Kind: event.AlertCoordination, Metric: "co-retweet",
				WindowStart: c.Start, WindowEnd: c.End, Accounts: c.AccountIDs[:2]})
		case c.Pattern == campaign.Burst && len(alerts) == 1:
			alerts = append(alerts, event.Alert{ID: "burst", Kind: event.AlertCoordination, Metric: "similar_texts",
				WindowStart: c.Start, WindowEnd: c.End, Accounts: c.Accounts, TweetIDs: c.TweetIDs})
		}
	}
	srv := networkServer(b, recs, alerts)
	for _, a := range alerts {
		b.Run(a.ID, func(b *testing.B) {
			var n Network
			for b.Loop() {
				v, err := srv.network(ctx, queryParams{url.Values{"alert": {a.ID}}})
				if err != nil {
					b.Fatal(err)
				}
				n = v.(Network)
			}
			b.ReportMetric(float64(len(n.Nodes)), "nodes")
			b.ReportMetric(float64(len(n.Edges)), "edges")
			b.ReportMetric(float64(n.Tweets), "tweets_read")
		})
	}
}

// networkServer writes recs (in batches of 1000, as the aggregator would)
// and alerts into a new SQLite store and returns the dashboard over it.
func networkServer(tb testing.TB, recs []sink.Record, alerts []event.Alert) *Server {
	tb.Helper()
	ctx := context.Background()
	sk, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "n.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sk.Close(ctx) })
	for batch := range slices.Chunk(recs, 1000) {
		if err := sk.WriteBatch(ctx, batch); err != nil {
			tb.Fatal(err)
		}
	}
	as, err := alertstore.Open(ctx, sk.DB())
	if err != nil {
		tb.Fatal(err)
	}
	if err := as.WriteAlerts(ctx, alerts); err != nil {
		tb.Fatal(err)
	}
	st, err := NewStore(ctx, sk.DB())
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := New(st, as, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return srv
}
