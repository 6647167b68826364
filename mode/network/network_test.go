package network_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts/coord/netexport"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/mode/network"
	tfcsv "github.com/tweetflow/tweetflow/producer/source/csv"
)

const qutDir = "../../alerts/coord/testdata/qut"

// storeFixture stores the QUT toolkit's fixture (read as a run reads it)
// in a SQLite file, as a run would.
func storeFixture(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	r, err := tfcsv.Open(filepath.Join(qutDir, "fixture.csv"), tfcsv.QUT())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tweets, err := tfcsv.Tweets(ctx, r)
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
// the undirected edge list the command writes: per unordered pair of
// distinct accounts, the larger direction.
func golden(t *testing.T, name string, minWeight int) map[[2]string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(qutDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]string]int{}
	for _, r := range rows[1:] {
		w, err := strconv.Atoi(r[2])
		if err != nil {
			t.Fatal(err)
		}
		a, b := r[0], r[1]
		if a == b {
			continue
		}
		if a > b {
			a, b = b, a
		}
		out[[2]string{a, b}] = max(out[[2]string{a, b}], w)
	}
	for k, w := range out {
		if w < minWeight {
			delete(out, k)
		}
	}
	return out
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
				want := golden(t, name, minWeight)
				if minWeight > 1 {
					heavy += len(want)
				} else if len(want) < 5 {
					t.Fatalf("%s: %d edges of weight %d+: the fixture does not exercise it", name, len(want), minWeight)
				}
				out := filepath.Join(t.TempDir(), "net.csv")
				sum, err := network.Run(context.Background(), network.Config{DB: db, Kind: kind, Window: span, MinWeight: minWeight,
					Format: "csv", Out: out}, io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
				if err != nil || len(rows) == 0 || strings.Join(rows[0], ",") != "user_1,user_2,weight" {
					t.Fatalf("%s: output %q (%v)", name, data, err)
				}
				got := map[[2]string]int{}
				for _, r := range rows[1:] {
					if r[0] >= r[1] {
						t.Errorf("%s: row %v: user_1 must sort before user_2", name, r)
					}
					got[[2]string{r[0], r[1]}], _ = strconv.Atoi(r[2])
				}
				bad := 0
				for k, w := range want {
					if got[k] != w {
						if bad++; bad <= 5 {
							t.Errorf("%s min %d: %s-%s weight %d, want %d", name, minWeight, k[0], k[1], got[k], w)
						}
					}
				}
				for k, w := range got {
					if _, ok := want[k]; !ok {
						if bad++; bad <= 5 {
							t.Errorf("%s min %d: extra edge %s-%s weight %d", name, minWeight, k[0], k[1], w)
						}
					}
				}
				if sum.Edges != len(want) || sum.Tweets < 700 {
					t.Errorf("%s: summary %+v, want %d edges over the 706 rows", name, sum, len(want))
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
	if _, err := network.Run(context.Background(), network.Config{DB: db, Kind: signal.CoSimilar, Window: time.Minute, Format: "csv"}, io.Discard); err == nil {
		t.Error("co-similar has no keys: want an error")
	}
	if _, err := network.Run(context.Background(), ok, io.Discard); err != nil {
		t.Fatal(err)
	}
}
