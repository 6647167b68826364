package network_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts/campaign"
	"github.com/tweetflow/tweetflow/alerts/coord/coordtest"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/mode/network"
)

// toolkitDir is the QUT coordination-network-toolkit (its RUN.md says how
// it runs here): $QUT_TOOLKIT, or the copy the repository keeps in
// third_party (MIT, unchanged but for the offline twarc stub), so that the
// comparison runs on any clone and never skips.
func toolkitDir(t *testing.T) string {
	if d := os.Getenv("QUT_TOOLKIT"); d != "" {
		return d
	}
	d, err := filepath.Abs("../../third_party/qut-coordination-network-toolkit")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestToolkitLive runs the QUT toolkit itself, in the test, on a
// collection made here (organic tweets shaped like a real one, from
// campaign.MakeOrganic, with campaigns of every pattern planted) and
// compares every kind's network at 60 s with `tweetflow network` over the
// same tweets stored in SQLite: equal pairs and weights for co-retweet,
// co-reply, co-tweet and co-similar, and for co-link once the toolkit is
// given the URLs as tweetflow normalises them (it compares them raw; the
// empty URLs of its CSV ingest's defect are left out, RUN.md).
func TestToolkitLive(t *testing.T) {
	dir := toolkitDir(t)
	if _, err := os.Stat(filepath.Join(dir, "coordination_network_toolkit", "compute_networks.py")); err != nil {
		t.Fatalf("the QUT toolkit is not at %s (set QUT_TOOLKIT): %v", dir, err)
	}
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import regex, networkx, requests, urllib3").CombinedOutput(); err != nil {
		t.Fatalf("the toolkit needs python3-regex, python3-networkx, python3-requests and python3-urllib3 (make test installs them): %v\n%s", err, out)
	}
	ctx := context.Background()
	tweets := collection(t)
	tmp := t.TempDir()
	db := filepath.Join(tmp, "tf.db")
	st, err := sqlite.Open(ctx, db, []string{"m"})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]sink.Record, len(tweets))
	for i, tw := range tweets {
		recs[i] = sink.Record{Tweet: tw, Results: []sink.Result{{Model: "m", Value: 0.5, Label: "x"}}}
	}
	if err := st.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The toolkit's input: its CSV layout, URLs normalised, empty ones out.
	var in bytes.Buffer
	w := csv.NewWriter(&in)
	w.Write([]string{"message_id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls"})
	for _, tw := range tweets {
		var urls []string
		for _, u := range tw.URLs {
			if n := signal.NormalizeURL(u); n != "" {
				urls = append(urls, n)
			}
		}
		w.Write([]string{tw.ID, tw.UserID, tw.User, tw.RetweetOf, tw.ReplyTo, tw.Text,
			strconv.FormatFloat(float64(tw.CreatedAt.UnixMilli())/1000, 'f', 3, 64), strings.Join(urls, " ")})
	}
	w.Flush()
	if err := os.WriteFile(filepath.Join(tmp, "in.csv"), in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import csv, os, sqlite3, subprocess, sys
from coordination_network_toolkit.preprocess import preprocess_data
tmp = sys.argv[1]
db = os.path.join(tmp, "qut.db")
with open(os.path.join(tmp, "in.csv"), encoding="utf-8") as f:
    r = csv.reader(f)
    next(r)
    preprocess_data(db, ((*row[:-1], [u for u in row[-1].split(" ") if u]) for row in r))
for kind in sys.argv[2:]:
    subprocess.run([sys.executable, "-m", "coordination_network_toolkit", db, "compute", kind,
        "--time_window", "60", "--min_edge_weight", "1"], check=True, capture_output=True)
    with open(os.path.join(tmp, kind + ".csv"), "w") as out:
        out.write("user_1,user_2,weight\n")
        for row in sqlite3.connect(db).execute(f"select user_1, user_2, weight from {kind}_network"):
            out.write(",".join(map(str, row)) + "\n")
`
	kinds := map[string]signal.Kind{"co_retweet": signal.CoRetweet, "co_reply": signal.CoReply, "co_tweet": signal.CoTweet,
		"co_link": signal.CoLink, "co_similar_tweet": signal.CoSimilar}
	args := []string{"-c", script, tmp}
	for k := range kinds {
		args = append(args, k)
	}
	cmd := exec.Command(py, args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir+string(os.PathListSeparator)+filepath.Join(dir, "stub"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the toolkit: %v\n%s", err, out)
	}
	for name, kind := range kinds {
		want := golden(t, filepath.Join(tmp, name+".csv"), 1)
		if len(want) < 20 {
			t.Errorf("%s: the toolkit found %d pairs: the collection does not exercise it", name, len(want))
		}
		_, got := build(t, network.Config{DB: db, Kind: kind, Window: time.Minute})
		coordtest.Diff(t, fmt.Sprintf("%s against the toolkit run now", kind), got, want)
		t.Logf("%s: %d pairs, as the toolkit's", kind, len(want))
	}
}

// collection makes 3,000 organic tweets over three hours with two
// campaigns of every pattern planted. The texts are drawn from a small
// vocabulary, so that unrelated tweets share words and some are similar
// by chance; a few are repeated whole.
func collection(t *testing.T) []event.Tweet {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 5))
	vocab := make([]string, 400)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	var texts, handles []string
	for i := range 300 {
		n := 4 + rng.IntN(10)
		words := make([]string, n)
		for j := range words {
			words[j] = vocab[rng.IntN(40+i)] // early texts share a smaller vocabulary
		}
		if i%7 == 0 {
			words = append([]string{"@someone"}, words...)
		}
		texts = append(texts, strings.Join(words, " ")+[]string{"", "!", ".", " :)"}[rng.IntN(4)])
	}
	for i := range 120 {
		handles = append(handles, fmt.Sprintf("acct%d", i))
	}
	start := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	org, err := campaign.MakeOrganic(campaign.OrganicConfig{Tweets: 3000, Start: start, Span: 3 * time.Hour,
		Shape: campaign.MeasuredShape(), Seed: 3, Texts: texts, Handles: handles})
	if err != nil {
		t.Fatal(err)
	}
	plant := map[campaign.Pattern]int{}
	for _, p := range campaign.Patterns() {
		plant[p] = 2
	}
	stream, _, err := campaign.Plant(org, start, 3*time.Hour, plant, 3)
	if err != nil {
		t.Fatal(err)
	}
	return stream
}
