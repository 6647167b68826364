package alerts

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

func TestDocFreqWeightsAndDecay(t *testing.T) {
	d := newDocFreq(time.Hour)
	common, rare := tokenHashes(nil, "morning"), tokenHashes(nil, "contaminated")
	at := t0.UnixNano()
	for i := range 1000 {
		toks := common
		if i%100 == 0 {
			toks = append(append([]uint64(nil), common...), rare...)
		}
		d.add(toks, at)
	}
	unseen := tokenHashes(nil, "zyzzyva")[0]
	if w, want := d.weight(unseen), math.Log(1001); math.Abs(float64(w)-want) > 1e-3 || math.Abs(d.rareWeight()-want) > 1e-3 {
		t.Errorf("unseen token weight %v, rare weight %v, want ln(1001) %v", w, d.rareWeight(), want)
	}
	if w := d.weight(common[0]); w > 0.01 {
		t.Errorf("a token in every tweet weighs %v, want about 0", w)
	}
	if w, want := d.weight(rare[0]), math.Log(1001.0/11); math.Abs(float64(w)-want) > 1e-3 {
		t.Errorf("a token in 10 of 1000 tweets weighs %v, want %v", w, want)
	}
	// Two half-lives later the counts are a quarter: weights are ratios,
	// so they hold; the unseen token's weight falls with n.
	d.add(nil, at+int64(2*time.Hour))
	if n := d.n; math.Abs(float64(n)-251) > 1e-3 {
		t.Errorf("after two half-lives n = %v, want 1000/4 + 1", n)
	}
	if w, want := d.weight(rare[0]), math.Log(252.0/3.5); math.Abs(float64(w)-want) > 1e-3 {
		t.Errorf("rare token after decay weighs %v, want %v", w, want)
	}
}

// An hour's window over IDF weights: eight accounts posting a common
// phrase with words of their own over 50 minutes is chance (unweighted,
// each shares half its words with the first: Jaccard 0.5), eight posting
// near-copies of a message in rare words is a drip.
func TestCoordinationHourWindowWeighsWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	// An hour of background first, so the counts know what is common:
	// a fifth of the tweets say the common phrase.
	background := organic(rng, 3600, t0.Add(-time.Hour), time.Second, "o")
	for i := range background {
		if i%5 == 0 {
			background[i].Tweet.Text = "sorry to hear about the news " + background[i].Tweet.Text
		}
	}
	var chance []sink.Record
	for i := range 8 {
		text := fmt.Sprintf("so sorry to hear about the news %s", strings.Join([]string{"tail" + fmt.Sprint(i), "end" + fmt.Sprint(i)}, " "))
		chance = append(chance, rec(fmt.Sprint("ch", i), fmt.Sprint("chacct", i), text, t0.Add(time.Duration(i)*7*time.Minute)))
	}
	if j := Similarity(chance[0].Tweet.Text, chance[1].Tweet.Text); j != 0.5 {
		t.Fatalf("chance texts' Jaccard %v, want 0.5 (a match without weights)", j)
	}
	hourOnly := func(idf bool) Config {
		cfg := coordOnly()
		cfg.Coordination.Slow = []SlowWindow{{Window: time.Hour, K: 8, IDF: idf, WeightedSimilarity: idf}}
		return cfg
	}
	floorOnly := coordOnly()
	floorOnly.Coordination.Slow = []SlowWindow{{Window: time.Hour, K: 8, IDF: true, MinRare: 4}}
	cases := []struct {
		name string
		cfg  Config
		recs []sink.Record
		want int
	}{
		{"common phrase, unweighted", hourOnly(false), chance, 1},
		{"common phrase, IDF", hourOnly(true), chance, 0},
		{"common phrase, IDF floor, unweighted similarity", floorOnly, chance, 0},
		{"drip of eight over fifty minutes, IDF floor, unweighted similarity", floorOnly, campaign("d", 8, t0, 50*time.Minute), 1},
		{"common phrase, default windows", coordOnly(), chance, 0},
		{"drip of eight over fifty minutes, IDF", hourOnly(true), campaign("d", 8, t0, 50*time.Minute), 1},
		{"drip of eight over fifty minutes, default windows", coordOnly(), campaign("d", 8, t0, 50*time.Minute), 1},
		{"drip of seven over fifty minutes, default windows", coordOnly(), campaign("d", 7, t0, 50*time.Minute), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, c.cfg)
			got := append(e.Observe(merge(background, c.recs)), e.Flush()...)
			n := 0
			for _, a := range got {
				if a.Metric == MetricSimilarTexts {
					n++
				}
			}
			if n != c.want {
				t.Errorf("%d near-copy alerts (%v), want %d", n, kinds(got), c.want)
			}
		})
	}
}

// A second campaign posting the text of one that alerted 15 minutes
// before joins the first one's group in the hour's window. It alerts on
// its own tweets: the first campaign's tweets, named by the 10-minute
// window's alert, do not count again (counted, the hour's span held them,
// the engine dropped its alert as a repeat, and the group never alerted).
func TestCoordinationSecondCampaignOnOneText(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	background := organic(rng, 5400, t0.Add(-30*time.Minute), time.Second, "o")
	first := campaign("a", 6, t0, 5*time.Minute)
	second := campaign("b", 8, t0.Add(20*time.Minute), 36*time.Minute)
	e := mustEngine(t, coordOnly())
	got := append(e.Observe(merge(background, append(first, second...))), e.Flush()...)
	var copies []event.Alert
	for _, a := range got {
		if a.Metric == MetricSimilarTexts {
			copies = append(copies, a)
		}
	}
	if len(copies) != 2 {
		t.Fatalf("%d near-copy alerts, want 2 (one per campaign): %v", len(copies), copies)
	}
	for _, id := range copies[1].TweetIDs {
		if !strings.HasPrefix(id, "bc") {
			t.Errorf("the second campaign's alert names %s (tweets %v)", id, copies[1].TweetIDs)
		}
	}
}
