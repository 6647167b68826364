package network_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts/coord"
	"github.com/tweetflow/tweetflow/alerts/coord/coordtest"
	"github.com/tweetflow/tweetflow/alerts/coord/netexport"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/mode/network"
	"github.com/tweetflow/tweetflow/producer/source"
)

const qutDir = "../../alerts/coord/testdata/qut"

// storeFixture stores the QUT toolkit's fixture (read as a run reads it)
// in a SQLite file, as a run would.
func storeFixture(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	tweets, err := source.ReadTweets(ctx, []string{filepath.Join(qutDir, "fixture.csv")}, source.Options{Format: source.QUT})
	if err != nil {
		t.Fatal(err)
	}
	var recs []sink.Record
	for _, tw := range tweets {
		recs = append(recs, sink.Record{Tweet: tw, Results: []sink.Result{{Model: "m", Value: 0, Label: "x"}}})
	}
	db := filepath.Join(t.TempDir(), "qut.db")
	st, err := sqlite.Open(ctx, db, []string{"m"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// golden reads a toolkit network (directed user_1 -> user_2 weights) as
// the undirected edge list the command writes, without the edges under
// minWeight.
func golden(t *testing.T, path string, minWeight int) map[[2]string]int {
	t.Helper()
	out := coordtest.Undirected(coordtest.ReadToolkit(t, path))
	maps.DeleteFunc(out, func(_ [2]string, w int) bool { return w < minWeight })
	return out
}

// build runs cfg (CSV to a file) and reads the edge list back.
func build(t *testing.T, cfg network.Config) (network.Summary, map[[2]string]int) {
	t.Helper()
	cfg.Format, cfg.Out = "csv", filepath.Join(t.TempDir(), "net.csv")
	sum, err := network.Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) == 0 || strings.Join(rows[0], ",") != "user_1,user_2,weight" {
		t.Fatalf("%s: output %q (%v)", cfg.Kind, data, err)
	}
	got := map[[2]string]int{}
	for _, r := range rows[1:] {
		if r[0] >= r[1] {
			t.Errorf("%s: row %v: user_1 must sort before user_2", cfg.Kind, r)
		}
		got[[2]string{r[0], r[1]}], _ = strconv.Atoi(r[2])
	}
	return sum, got
}

// TestEqualsToolkit: the network command over a stored collection writes,
// for co-retweet, co-link and co-reply at 60 s and 600 s, the QUT
// toolkit's networks of the same tweets (testdata/qut/regen.sh made them
// with the toolkit itself): every pair and weight, with and without a
// minimum weight.
func TestEqualsToolkit(t *testing.T) {
	db := storeFixture(t)
	heavy := 0 // edges of weight 2 or more, over all networks
	defer func() {
		if heavy < 10 {
			t.Errorf("%d edges of weight 2+: the fixture does not exercise --min-weight", heavy)
		}
	}()
	for _, kind := range []signal.Kind{signal.CoRetweet, signal.CoLink, signal.CoReply} {
		for _, span := range []time.Duration{time.Minute, 10 * time.Minute} {
			for _, minWeight := range []int{1, 2} {
				name := fmt.Sprintf("golden_%s_%d.csv", strings.ReplaceAll(string(kind), "-", "_"), int(span.Seconds()))
				want := golden(t, filepath.Join(qutDir, name), minWeight)
				if minWeight > 1 {
					heavy += len(want)
				} else if len(want) < 5 {
					t.Fatalf("%s: %d edges of weight %d+: the fixture does not exercise it", name, len(want), minWeight)
				}
				sum, got := build(t, network.Config{DB: db, Kind: kind, Window: span, MinWeight: minWeight})
				coordtest.Diff(t, fmt.Sprintf("%s min %d", name, minWeight), got, want)
				if sum.Edges != len(want) || sum.Tweets == 0 {
					t.Errorf("%s: summary %+v, want %d edges", name, sum, len(want))
				}
			}
		}
	}
}

// GEXF output decodes, with a node per account of the edges kept.
func TestGEXF(t *testing.T) {
	db := storeFixture(t)
	var buf bytes.Buffer
	sum, err := network.Run(context.Background(), network.Config{DB: db, Kind: signal.CoRetweet, Window: time.Minute, Format: "gexf"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	var g netexport.GEXF
	if err := xml.Unmarshal(buf.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Graph.Edges) != sum.Edges || sum.Edges == 0 || len(g.Graph.Nodes) < 2 {
		t.Errorf("gexf: %d edges, %d nodes; summary %+v", len(g.Graph.Edges), len(g.Graph.Nodes), sum)
	}
}

// Bad settings fail before any work, naming the flag.
func TestBadConfig(t *testing.T) {
	db := storeFixture(t)
	ok := network.Config{DB: db, Kind: signal.CoRetweet, Window: time.Minute, Format: "csv"}
	for flag, c := range map[string]network.Config{
		"--format": {DB: db, Kind: signal.CoRetweet, Window: time.Minute, Format: "graphviz"},
		"--kind":   {DB: db, Kind: "co-nothing", Window: time.Minute, Format: "csv"},
		"--window": {DB: db, Kind: signal.CoRetweet, Format: "csv"},
		"--db":     {DB: filepath.Join(t.TempDir(), "missing.db"), Kind: signal.CoRetweet, Window: time.Minute, Format: "csv"},
	} {
		if _, err := network.Run(context.Background(), c, io.Discard); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: %v", flag, err)
		}
	}
	for flag, c := range map[string]network.Config{
		"--similarity": {DB: db, Kind: signal.CoSimilar, Window: time.Minute, Format: "csv", Similarity: 1.5},
		"--from":       {DB: db, Kind: signal.CoRetweet, Window: time.Minute, Format: "csv", From: time.Unix(10, 0), To: time.Unix(5, 0)},
		"--es":         {ES: elastic.Config{Addresses: []string{"ftp://nowhere"}}, Kind: signal.CoRetweet, Window: time.Minute, Format: "csv"},
	} {
		if _, err := network.Run(context.Background(), c, io.Discard); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: %v", flag, err)
		}
	}
	if _, err := network.Run(context.Background(), ok, io.Discard); err != nil {
		t.Fatal(err)
	}
}

// TestCoSimilarEqualsToolkit: co-similar at 60 s and 600 s is the QUT
// toolkit's co_similar_tweet network of the same tweets at its defaults
// (testdata/regen.sh made the goldens with the toolkit itself), every pair
// and weight.
func TestCoSimilarEqualsToolkit(t *testing.T) {
	db := storeFixture(t)
	for _, span := range []time.Duration{time.Minute, 10 * time.Minute} {
		name := fmt.Sprintf("golden_co_similar_tweet_%d.csv", int(span.Seconds()))
		want := golden(t, filepath.Join("testdata", name), 1)
		if len(want) < 50 {
			t.Fatalf("%s: %d edges: the fixture does not exercise co-similar", name, len(want))
		}
		sum, got := build(t, network.Config{DB: db, Kind: signal.CoSimilar, Window: span})
		coordtest.Diff(t, name, got, want)
		if sum.Similar.Candidates == 0 || sum.Similar.Similar < len(want) {
			t.Errorf("%s: stats %+v", name, sum.Similar)
		}
	}
}

// TestNarrowReadSameNetwork: the network of the narrow read equals the one
// built the way the command did before it: every column of every tweet through the engine (coord) or cosim.
// The narrow read must leave out only tweets that cannot pair.
func TestNarrowReadSameNetwork(t *testing.T) {
	db := storeFixture(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	var all int64
	for _, err := range st.Tweets(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		all++
	}
	for _, kind := range []signal.Kind{signal.CoRetweet, signal.CoTweet, signal.CoLink, signal.CoReply, signal.CoHashtag, signal.CoMention} {
		w := coord.Window{Signal: kind, Span: 10 * time.Minute}
		eng, err := coord.New(coord.Config{Windows: []coord.Window{w}, Horizon: math.MaxInt64,
			MaxActions: math.MaxInt32, MaxPerKey: math.MaxInt32, MaxEdges: math.MaxInt32})
		if err != nil {
			t.Fatal(err)
		}
		for tw, err := range st.Tweets(ctx, time.Time{}, time.Time{}) {
			if err != nil {
				t.Fatal(err)
			}
			eng.Observe(&tw.Tweet)
		}
		want := map[[2]string]int{}
		for _, e := range eng.Edges(w) {
			want[[2]string{e.A, e.B}] = e.Weight()
		}
		sum, got := build(t, network.Config{DB: db, Kind: kind, Window: w.Span})
		coordtest.Diff(t, string(kind), got, want)
		if kind != signal.CoHashtag && kind != signal.CoMention && (len(want) == 0 || sum.Tweets >= all) {
			t.Errorf("%s: %d edges from %d of %d tweets: the read is not narrow or the fixture does not exercise it", kind, len(want), sum.Tweets, all)
		}
	}
}

// stored reads the store's tweets back as records, in time order.
func stored(t *testing.T, db string) []sink.Record {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	var recs []sink.Record
	for tw, err := range st.Tweets(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, sink.Record{Tweet: tw.Tweet, Results: []sink.Result{{Model: "m", Value: 0.5, Label: "x"}}})
	}
	return recs
}

// TestFromTo: a range gives the network of a store holding only the
// tweets of that range.
func TestFromTo(t *testing.T) {
	ctx := context.Background()
	db := storeFixture(t)
	recs := stored(t, db)
	first, last := recs[0].Tweet.CreatedAt, recs[len(recs)-1].Tweet.CreatedAt
	from, to := first.Add(last.Sub(first)/4).Truncate(time.Millisecond), first.Add(last.Sub(first)*3/4).Truncate(time.Millisecond)
	part := filepath.Join(t.TempDir(), "part.db")
	ps, err := sqlite.Open(ctx, part, []string{"m"})
	if err != nil {
		t.Fatal(err)
	}
	var in []sink.Record
	for _, r := range recs {
		if !r.Tweet.CreatedAt.Before(from) && r.Tweet.CreatedAt.Before(to) {
			in = append(in, r)
		}
	}
	if err := ps.WriteBatch(ctx, in); err != nil {
		t.Fatal(err)
	}
	ps.Close(ctx)
	for _, kind := range []signal.Kind{signal.CoRetweet, signal.CoReply, signal.CoSimilar} {
		_, want := build(t, network.Config{DB: part, Kind: kind, Window: 10 * time.Minute})
		_, whole := build(t, network.Config{DB: db, Kind: kind, Window: 10 * time.Minute})
		_, got := build(t, network.Config{DB: db, Kind: kind, Window: 10 * time.Minute, From: from, To: to})
		if len(want) == 0 || len(want) >= len(whole) {
			t.Errorf("%s: %d edges in the range, %d in all: the range does not cut", kind, len(want), len(whole))
		}
		coordtest.Diff(t, string(kind)+" in range", got, want)
	}
}

// TestGraphML: the GraphML has a node per account of the edges with its
// handle, its tweets in the store (of every kind) and its group, and the
// edges of the CSV.
func TestGraphML(t *testing.T) {
	ctx := context.Background()
	db := storeFixture(t)
	count := map[string]int{}
	for _, r := range stored(t, db) {
		count[signal.Account(&r.Tweet)]++
	}
	var buf bytes.Buffer
	sum, err := network.Run(ctx, network.Config{DB: db, Kind: signal.CoLink, Window: 10 * time.Minute, Format: "graphml"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	var g netexport.GraphML
	if err := xml.Unmarshal(buf.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	_, edges := build(t, network.Config{DB: db, Kind: signal.CoLink, Window: 10 * time.Minute})
	if len(g.Graph.Edges) != sum.Edges || len(edges) != sum.Edges || g.Graph.ID != "co-link/10m0s" {
		t.Fatalf("graphml %s: %d edges, csv %d, summary %+v", g.Graph.ID, len(g.Graph.Edges), len(edges), sum)
	}
	for _, e := range g.Graph.Edges {
		if w, ok := edges[[2]string{e.Source, e.Target}]; !ok || e.Data[0].Value != strconv.Itoa(w) {
			t.Errorf("edge %+v: csv weight %d", e, w)
		}
	}
	moreThanLinks := false
	for _, n := range g.Graph.Nodes {
		v := map[string]string{}
		for _, d := range n.Data {
			v[d.Key] = d.Value
		}
		if v[netexport.AttrTweets] != strconv.Itoa(count[n.ID]) || v[netexport.AttrHandle] == "" || v[netexport.AttrGroup] == "" {
			t.Errorf("node %s: %v, want %d tweets, a handle and a group", n.ID, v, count[n.ID])
		}
		moreThanLinks = moreThanLinks || count[n.ID] > 1
	}
	if !moreThanLinks {
		t.Error("no account has more than one tweet: the counts are not tested")
	}
}

// TestElasticsearch: the same tweets written to Elasticsearch (the real
// driver, against the fake with point in time) give the SQLite store's
// networks, with and without a range.
func TestElasticsearch(t *testing.T) {
	ctx := context.Background()
	db := storeFixture(t)
	recs := stored(t, db)
	fake, url := elastictest.NewFake(t, esfake.Options{})
	d, err := elastic.Open(ctx, elastictest.Options(url, "tweets", []string{"m"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := elastic.Do(ctx, d.Client(), http.MethodPost, "/tweets/_refresh", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	es := elastic.Config{Addresses: []string{url}, Index: "tweets"}
	from := recs[0].Tweet.CreatedAt.Add(30 * time.Minute)
	for _, kind := range []signal.Kind{signal.CoRetweet, signal.CoLink, signal.CoReply, signal.CoSimilar} {
		for _, r := range [][2]time.Time{{}, {from, {}}} {
			_, want := build(t, network.Config{DB: db, Kind: kind, Window: 10 * time.Minute, From: r[0], To: r[1]})
			_, got := build(t, network.Config{ES: es, Kind: kind, Window: 10 * time.Minute, From: r[0], To: r[1]})
			if len(want) == 0 {
				t.Errorf("%s from %s: no edges", kind, r[0])
			}
			coordtest.Diff(t, fmt.Sprintf("%s from %s via --es", kind, r[0]), got, want)
		}
	}
	if n := fake.Stats().OpenPITs; n != 0 {
		t.Errorf("%d points in time left open", n)
	}
}
