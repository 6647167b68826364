package alerts

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

var t0 = time.Date(2009, 4, 6, 22, 0, 0, 0, time.UTC)

func rec(id, user, text string, at time.Time, results ...sink.Result) sink.Record {
	return sink.Record{Tweet: event.Tweet{ID: id, User: user, Text: text, CreatedAt: at}, Results: results}
}

func sent(v float64) sink.Result { return sink.Result{Model: "sentiment", Value: v, Label: "x"} }

func mustEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// alertIDs returns the alerts' ids, sorted.
func alertIDs(as []event.Alert) []string {
	var s []string
	for _, a := range as {
		s = append(s, a.ID)
	}
	slices.Sort(s)
	return s
}

func kinds(as []event.Alert) []string {
	var k []string
	for _, a := range as {
		k = append(k, a.Kind+":"+a.Metric)
	}
	return k
}

// organic returns n tweets, one per `gap`, with distinct texts made of
// random words, by distinct users.
func organic(rng *rand.Rand, n int, start time.Time, gap time.Duration, prefix string) []sink.Record {
	// A 3,000-word vocabulary: unrelated texts share few words, as in real
	// tweets, while a tiny one would make every text look alike.
	syll := strings.Fields("ka lo mi ne ru sa ti vo pe da gu be zo fi")
	word := func() string {
		i := rng.IntN(3000)
		return syll[i%14] + syll[(i/14)%14] + syll[(i/196)%14]
	}
	out := make([]sink.Record, n)
	for i := range out {
		var ws []string
		for range 6 + rng.IntN(6) {
			ws = append(ws, word())
		}
		out[i] = rec(fmt.Sprintf("%s%d", prefix, i), fmt.Sprintf("user%d", rng.IntN(1_000_000)),
			strings.Join(ws, " "), start.Add(time.Duration(i)*gap), sent(0.2*rng.NormFloat64()))
	}
	return out
}

func TestTokenHashesNormalises(t *testing.T) {
	base := tokenHashes(nil, "Vote NO on the new stadium tax, it is a scam that robs families")
	same := []string{
		"vote no on the new stadium tax it is a scam that robs families",
		"VOTE NO ON THE NEW STADIUM TAX!!! It is a SCAM that robs families...",
		"#VoteNo @cityhall Vote NO on the new stadium tax, it is a scam that robs families http://bit.ly/x1",
		"it is a scam that robs families: vote no on the new stadium tax",
		"RT @someone: Vote NO on the new stadium tax, it&#39;s a scam that robs families",
	}
	for _, s := range same {
		got := tokenHashes(nil, s)
		if sim := jaccard(base, got); sim < 0.9 {
			t.Errorf("jaccard(%q) = %.2f, want >= 0.9", s, sim)
		}
	}
	if sim := jaccard(base, tokenHashes(nil, "I love my new puppy, she is the cutest dog ever")); sim > 0.1 {
		t.Errorf("unrelated text: jaccard = %.2f", sim)
	}
	if !reflect.DeepEqual(tokenHashes(nil, "Don't!"), tokenHashes(nil, "dont")) {
		t.Error("punctuation inside a word changes its token")
	}
	if got := tokenHashes(nil, "i am so the @x #y http://z"); len(got) != 0 {
		t.Errorf("only stop words, mentions, tags and URLs: got %d tokens", len(got))
	}
	if got := tokenHashes(nil, "Ça GRÜN grün ça"); len(got) != 2 {
		t.Errorf("non-ASCII case folding: got %d tokens, want 2", len(got))
	}
}

// campaign returns k accounts' paraphrases of one text within span.
func campaign(prefix string, k int, start time.Time, span time.Duration) []sink.Record {
	variants := []string{
		"Vote NO on the stadium tax, the council is lying to every family in this city",
		"vote no on the stadium tax!! the council is lying to every family in this city #voteno",
		"@mayor the council is lying to every family in this city. Vote no on the stadium tax",
		"VOTE NO ON THE STADIUM TAX the council is lying to every family in this town",
		"Vote no on the stadium tax... council lying to every family in this city http://t.co/x",
		"the council is lying to every family in this city - vote NO on the stadium tax #scam",
	}
	var out []sink.Record
	for i := range k {
		at := start.Add(span * time.Duration(i) / time.Duration(max(k-1, 1)))
		out = append(out, rec(fmt.Sprintf("%sc%d", prefix, i), fmt.Sprintf("%sacct%d", prefix, i),
			variants[i%len(variants)], at, sent(-0.8)))
	}
	return out
}

func merge(a, b []sink.Record) []sink.Record {
	out := append(slices.Clone(a), b...)
	slices.SortStableFunc(out, func(x, y sink.Record) int { return x.Tweet.CreatedAt.Compare(y.Tweet.CreatedAt) })
	return out
}

func coordOnly() Config {
	c := Default()
	c.Anomaly.Disabled = true
	return c
}

func TestCoordinationFindsCampaign(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := merge(organic(rng, 2000, t0, 100*time.Millisecond, "o"), campaign("x", 6, t0.Add(time.Minute), 40*time.Second))
	e := mustEngine(t, coordOnly())
	got := append(e.Observe(recs), e.Flush()...)
	if len(got) != 1 {
		t.Fatalf("alerts = %v, want one coordination alert", kinds(got))
	}
	a := got[0]
	if a.Kind != event.AlertCoordination || a.Observed < 5 || len(a.Accounts) < 5 {
		t.Fatalf("alert = %+v", a)
	}
	for _, acct := range a.Accounts {
		if !strings.HasPrefix(acct, "xacct") {
			t.Errorf("organic account %q in the alert", acct)
		}
	}
	if a.WindowEnd.Sub(a.WindowStart) > 60*time.Second {
		t.Errorf("span %s > window", a.WindowEnd.Sub(a.WindowStart))
	}
	if _, err := event.NewAlertEvent(a); err != nil {
		t.Errorf("alert does not encode: %v", err)
	}
}

func TestCoordinationNeedsKAccountsWithinWindow(t *testing.T) {
	cases := []struct {
		name string
		recs []sink.Record
	}{
		{"four accounts", campaign("a", 4, t0, 30*time.Second)},
		{"six accounts over five minutes", campaign("b", 6, t0, 5*time.Minute)},
		{"one account ten times", func() []sink.Record {
			rs := campaign("c", 10, t0, 30*time.Second)
			for i := range rs {
				rs[i].Tweet.User = "spammer"
			}
			return rs
		}()},
		{"one tweet redelivered", func() []sink.Record {
			rs := campaign("d", 4, t0, 30*time.Second)
			return append(rs, rs[0], rs[0], rs[0])
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := coordOnly()
			cfg.Coordination.Slow = []SlowWindow{} // the 60 s window alone
			e := mustEngine(t, cfg)
			if got := append(e.Observe(c.recs), e.Flush()...); len(got) != 0 {
				t.Errorf("alerts = %v, want none", kinds(got))
			}
		})
	}
}

// The slow windows find near-copies spread beyond 60 s, each campaign
// once however many windows it fills; below a window's K nothing alerts.
func TestCoordinationSlowWindows(t *testing.T) {
	hour8 := []SlowWindow{{Window: 10 * time.Minute, K: 6}, {Window: time.Hour, K: 8}}
	cases := []struct {
		name string
		recs []sink.Record
		slow []SlowWindow // nil: DefaultSlow (10 min, K 6)
		want int
	}{
		{"six accounts over five minutes", campaign("b", 6, t0, 5*time.Minute), nil, 1},
		{"thirty accounts over fifty seconds", campaign("x", 30, t0, 50*time.Second), nil, 1},
		{"five accounts over five minutes", campaign("f", 5, t0, 5*time.Minute), nil, 0},
		{"eight accounts over fifty minutes alone in the stream, default windows (no word is rarer than another)", campaign("d", 8, t0, 50*time.Minute), nil, 0},
		{"eight accounts over fifty minutes, an hour's window of K 8", campaign("d", 8, t0, 50*time.Minute), hour8, 1},
		{"seven accounts over fifty minutes, an hour's window of K 8", campaign("s", 7, t0, 50*time.Minute), hour8, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := coordOnly()
			cfg.Coordination.Slow = c.slow
			e := mustEngine(t, cfg)
			if got := append(e.Observe(c.recs), e.Flush()...); len(got) != c.want {
				t.Errorf("alerts = %v, want %d", kinds(got), c.want)
			}
		})
	}
	bad := coordOnly()
	bad.Coordination.Slow = []SlowWindow{{Window: 30 * time.Second, K: 6}}
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "coordination.slow[0].window") {
		t.Errorf("a slow window shorter than the window: err %v", err)
	}
}

// Groups compare with a few representatives, never with every member:
// texts that overlap pairwise in a chain must not add up to one group.
func TestCoordinationDoesNotChain(t *testing.T) {
	words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike " +
		"november oscar papa quebec romeo sierra tango")
	var recs []sink.Record
	for i := range 8 {
		// Consecutive texts share 4 of 8 words (Jaccard 0.5, a match); texts
		// two apart share 2 of 10 (0.2).
		text := strings.Join(words[2*i:2*i+6], " ")
		recs = append(recs, rec(fmt.Sprint(i), fmt.Sprint("u", i), text, t0.Add(time.Duration(i)*time.Second)))
	}
	e := mustEngine(t, coordOnly())
	if got := e.Observe(recs); len(got) != 0 {
		t.Errorf("chained texts raised %v", kinds(got))
	}
}

func TestCoordinationAlertsOncePerGroup(t *testing.T) {
	e := mustEngine(t, coordOnly())
	recs := campaign("x", 30, t0, 50*time.Second)
	if got := e.Observe(recs); len(got) != 1 {
		t.Errorf("30 tweets of one campaign: %d alerts, want 1", len(got))
	}
	// The same campaign an hour later is a new group.
	if got := e.Observe(campaign("y", 6, t0.Add(time.Hour), 20*time.Second)); len(got) != 1 {
		t.Errorf("second campaign: %d alerts, want 1", len(got))
	}
}

// Windows are on event time: splitting the stream into batches differently,
// or arriving out of order within the lateness, changes nothing.
func TestEventTimeDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	recs := organic(rng, 6000, t0, 200*time.Millisecond, "o")
	// A burst of negative tweets, 3x the rate, in minute 15.
	burst := organic(rng, 600, t0.Add(15*time.Minute), 100*time.Millisecond, "b")
	for i := range burst {
		burst[i].Results = []sink.Result{sent(-0.9)}
	}
	recs = merge(recs, burst)
	recs = merge(recs, campaign("x", 7, t0.Add(7*time.Minute), 30*time.Second))

	cfg := Default()
	cfg.Models = []ModelConfig{{Name: "sentiment", Threshold: &Threshold{Value: -0.25, Direction: "below"}}}
	run := func(batches [][]sink.Record) []event.Alert {
		e := mustEngine(t, cfg)
		var out []event.Alert
		for _, b := range batches {
			out = append(out, e.Observe(b)...)
		}
		return append(out, e.Flush()...)
	}
	whole := run([][]sink.Record{recs})
	var ones [][]sink.Record
	for i := range recs {
		ones = append(ones, recs[i:i+1])
	}
	// Shuffle within blocks of 20 tweets (4 s of event time < 10 s lateness).
	shuffled := slices.Clone(recs)
	for i := 0; i < len(shuffled); i += 20 {
		blk := shuffled[i:min(i+20, len(shuffled))]
		rng.Shuffle(len(blk), func(a, b int) { blk[a], blk[b] = blk[b], blk[a] })
	}
	ids := alertIDs
	want := ids(whole)
	if !slices.Contains(kinds(whole), "coordination:similar_texts") ||
		!slices.Contains(kinds(whole), "threshold:mean") ||
		!slices.Contains(kinds(whole), "anomaly:rate") {
		t.Fatalf("alerts = %v, want coordination, threshold and a rate anomaly", kinds(whole))
	}
	if got := ids(run(ones)); !reflect.DeepEqual(got, want) {
		t.Errorf("one tweet per batch: %v, want %v", got, want)
	}
	if got := ids(run([][]sink.Record{shuffled})); !reflect.DeepEqual(got, want) {
		t.Errorf("shuffled within lateness: %v, want %v", got, want)
	}
	// Every record delivered twice: the same alerts.
	twice := append(slices.Clone(recs), recs...)
	if got := ids(run([][]sink.Record{recs, twice[len(recs):]})); !reflect.DeepEqual(got, want) {
		t.Errorf("redelivered: %v, want %v", got, want)
	}
}

func TestThresholdAlertsOnCrossingOnly(t *testing.T) {
	cfg := Default()
	cfg.Anomaly.Disabled = true
	cfg.Coordination.Disabled = true
	cfg.Models = []ModelConfig{{Name: "sentiment", Threshold: &Threshold{Value: -0.25, Direction: "below"}}}
	cfg.Rearm = 2
	e := mustEngine(t, cfg)
	// Minutes 0-2 at +0.1, 3-6 at -0.5, 7 at +0.1 (one calm window: not
	// re-armed), 8 at -0.5 (no alert), 9-10 at +0.1 (re-armed), 11 at -0.5.
	level := []float64{0.1, 0.1, 0.1, -0.5, -0.5, -0.5, -0.5, 0.1, -0.5, 0.1, 0.1, -0.5}
	var recs []sink.Record
	for m, v := range level {
		for i := range 30 {
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*2*time.Second)
			recs = append(recs, rec(fmt.Sprint(m, "-", i), "u", "t", at, sent(v)))
		}
	}
	// A window of 5 tweets (< MinCount) far below the line: not checked.
	for i := range 5 {
		recs = append(recs, rec(fmt.Sprint("few", i), "u", "t", t0.Add(20*time.Minute+time.Duration(i)*time.Second), sent(-1)))
	}
	got := append(e.Observe(recs), e.Flush()...)
	if len(got) != 2 {
		t.Fatalf("alerts = %+v, want 2 (minutes 3 and 11)", got)
	}
	for i, m := range []int{3, 11} {
		if !got[i].WindowStart.Equal(t0.Add(time.Duration(m)*time.Minute)) || got[i].Model != "sentiment" ||
			got[i].Observed != -0.5 || got[i].Direction != "below" || got[i].Count != 30 {
			t.Errorf("alert %d = %+v, want minute %d", i, got[i], m)
		}
	}
}

// A window of noisy scores whose mean barely crosses the line is noise at
// z > 0 and a crossing at z < 0 (the plain line); a clear shift alerts at
// both.
func TestThresholdNeedsZStandardErrors(t *testing.T) {
	// Minute 0: 40 scores of -0.9 and +0.35 alternating, mean -0.275:
	// 0.025 past the line -0.25, with a standard error of about 0.10.
	// Minute 10: calm (+0.3), which re-arms the threshold. Minute 20: 40
	// scores around -0.6, about 5 standard errors past the line.
	var recs []sink.Record
	for i := range 40 {
		v := 0.35
		if i%2 == 0 {
			v = -0.9
		}
		recs = append(recs, rec(fmt.Sprint("a", i), "u", "t", t0.Add(time.Duration(i)*time.Second), sent(v)))
	}
	for i := range 30 {
		recs = append(recs, rec(fmt.Sprint("c", i), "u", "t", t0.Add(10*time.Minute+time.Duration(i)*time.Second), sent(0.3)))
	}
	shifted := t0.Add(20 * time.Minute)
	for i := range 40 {
		v := -0.6 + 0.5*float64(i%3-1) // -1.1, -0.6, -0.1
		recs = append(recs, rec(fmt.Sprint("b", i), "u", "t", shifted.Add(time.Duration(i)*time.Second), sent(v)))
	}
	for _, tc := range []struct {
		z    float64
		want []time.Time
	}{
		{-1, []time.Time{t0, shifted}},
		{1, []time.Time{shifted}},
		{DefaultThresholdZ, []time.Time{shifted}},
	} {
		cfg := Default()
		cfg.Anomaly.Disabled, cfg.Coordination.Disabled = true, true
		cfg.Models = []ModelConfig{{Name: "sentiment", Threshold: &Threshold{Value: -0.25, Direction: "below"}}}
		cfg.Rearm = 1
		cfg.ThresholdZ = tc.z
		e := mustEngine(t, cfg)
		var got []time.Time
		for _, a := range append(e.Observe(recs), e.Flush()...) {
			got = append(got, a.WindowStart)
		}
		if !slices.EqualFunc(got, tc.want, time.Time.Equal) {
			t.Errorf("z = %v: alerts in windows %v, want %v", tc.z, got, tc.want)
		}
	}
}

// A crossing within the noise does not re-arm the threshold: after an
// alert, a mean hovering just past the line is not calm.
func TestThresholdNoiseIsNotCalm(t *testing.T) {
	minute := func(prefix string, start time.Time, value func(i int) float64) []sink.Record {
		var recs []sink.Record
		for i := range 40 {
			recs = append(recs, rec(fmt.Sprint(prefix, i), "u", "t", start.Add(time.Duration(i)*time.Second), sent(value(i))))
		}
		return recs
	}
	shift := func(i int) float64 { return -0.6 + 0.5*float64(i%3-1) }
	noisy := func(i int) float64 { return []float64{-0.9, 0.35}[i%2] } // mean -0.275: 0.25 SE past
	calm := func(int) float64 { return 0.3 }
	for _, tc := range []struct {
		name   string
		middle func(int) float64
		want   int
	}{{"noisy crossing", noisy, 1}, {"calm", calm, 2}} {
		cfg := Default()
		cfg.Anomaly.Disabled, cfg.Coordination.Disabled = true, true
		cfg.Models = []ModelConfig{{Name: "sentiment", Threshold: &Threshold{Value: -0.25, Direction: "below"}}}
		cfg.Rearm = 1
		recs := minute("a", t0, shift)
		recs = append(recs, minute("b", t0.Add(10*time.Minute), tc.middle)...)
		recs = append(recs, minute("c", t0.Add(20*time.Minute), shift)...)
		e := mustEngine(t, cfg)
		if got := append(e.Observe(recs), e.Flush()...); len(got) != tc.want {
			t.Errorf("%s between two shifts: %d alerts, want %d", tc.name, len(got), tc.want)
		}
	}
}

func TestAnomalyShareAndLateness(t *testing.T) {
	cfg := Default()
	cfg.Coordination.Disabled = true
	cfg.Models = []ModelConfig{{Name: "offense", ShareLabel: "offensive"}}
	e := mustEngine(t, cfg)
	rng := rand.New(rand.NewPCG(5, 6))
	var recs []sink.Record
	for m := range 30 {
		share := 0.1
		if m == 20 {
			share = 0.6 // a burst of offensive tweets
		}
		for i := range 60 {
			label, v := "not", 0.1
			if rng.Float64() < share {
				label, v = "offensive", 0.9
			}
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second)
			recs = append(recs, rec(fmt.Sprint(m, "-", i), "u", "t", at,
				sink.Result{Model: "offense", Value: v, Label: label}))
		}
	}
	got := append(e.Observe(recs), e.Flush()...)
	var share, mean []event.Alert
	for _, a := range got {
		switch a.Metric {
		case "share:offensive":
			share = append(share, a)
		case MetricMean:
			mean = append(mean, a)
		}
	}
	if len(share) != 1 || !share[0].WindowStart.Equal(t0.Add(20*time.Minute)) || share[0].Score < 5 {
		t.Errorf("share alerts = %+v, want one at minute 20", share)
	}
	if len(mean) != 1 || !mean[0].WindowStart.Equal(t0.Add(20*time.Minute)) {
		t.Errorf("mean alerts = %+v, want one at minute 20", mean)
	}
	if len(got) != 2 {
		t.Errorf("alerts = %v, want exactly the share and mean anomalies", kinds(got))
	}
	// A tweet from minute 2, long closed: late, not counted.
	e.Observe([]sink.Record{rec("late", "u", "t", t0.Add(2*time.Minute), sink.Result{Model: "offense", Value: 1, Label: "offensive"})})
	if s := e.Stats(); s.Late != 1 || s.Observed != len(recs)+1 {
		t.Errorf("stats = %+v", s)
	}
}

// The stream ending mid-window is not a drop in the tweet rate.
func TestFlushDoesNotAlertOnTheCutWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	recs := organic(rng, 3010, t0, 500*time.Millisecond, "o") // 25 minutes and 5 s
	cfg := Default()
	cfg.Coordination.Disabled = true
	e := mustEngine(t, cfg)
	if got := append(e.Observe(recs), e.Flush()...); len(got) != 0 {
		t.Errorf("alerts = %v, want none", got)
	}
}

func TestInvalidRecordsAreCounted(t *testing.T) {
	e := mustEngine(t, Default())
	e.Observe([]sink.Record{{}, rec("", "u", "t", t0), rec("x", "u", "t", time.Time{})})
	if s := e.Stats(); s.Invalid != 3 || s.Observed != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := map[string]Config{
		"coordination.k":             {Coordination: CoordinationConfig{K: 1}},
		"anomaly.alpha":              {Anomaly: AnomalyConfig{Alpha: 2}},
		"window":                     {Window: time.Millisecond},
		"models[0].name":             {Models: []ModelConfig{{Name: "Bad"}}},
		"models[1].name":             {Models: []ModelConfig{{Name: "a"}, {Name: "a"}}},
		"models[0].threshold":        {Models: []ModelConfig{{Name: "a", Threshold: &Threshold{Direction: "up"}}}},
		"coordination.similarity":    {Coordination: CoordinationConfig{Similarity: 1.5}},
		"lateness":                   {Lateness: -time.Second},
		"rearm":                      {Rearm: -1},
		"coordination.min-tokens":    {Coordination: CoordinationConfig{MinTokens: -1}},
		"coordination.containment":   {Coordination: CoordinationConfig{Containment: 2}},
		"coordination.loose":         {Coordination: CoordinationConfig{LooseSimilarity: 0.9}},
		"anomaly.bound":              {Anomaly: AnomalyConfig{Bound: -1}},
		"coordination.window":        {Coordination: CoordinationConfig{Window: time.Millisecond}},
		"models[0].threshold.direct": {Models: []ModelConfig{{Name: "a", Threshold: &Threshold{}}}},
	}
	for field, cfg := range cases {
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v", field, err)
		}
	}
}

func TestConcurrentObserve(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	recs := merge(organic(rng, 4000, t0, 50*time.Millisecond, "o"), campaign("x", 8, t0.Add(30*time.Second), 20*time.Second))
	e := mustEngine(t, Default())
	var mu sync.Mutex
	var got []event.Alert
	// Four writers at a time, each with its own batch of 50, as the
	// aggregator's flushers would; rounds keep their skew within the
	// lateness (200 tweets = 10 s of event time).
	for round := 0; round < len(recs); round += 200 {
		var wg sync.WaitGroup
		for w := range 4 {
			lo := round + w*50
			if lo >= len(recs) {
				break
			}
			wg.Go(func() {
				a := e.Observe(recs[lo:min(lo+50, len(recs))])
				mu.Lock()
				got = append(got, a...)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	got = append(got, e.Flush()...)
	if !slices.Contains(kinds(got), "coordination:similar_texts") {
		t.Errorf("alerts = %v, want the campaign", kinds(got))
	}
	if s := e.Stats(); s.Observed != len(recs) {
		t.Errorf("observed %d of %d", s.Observed, len(recs))
	}
}

// Memory follows the window: old groups are swept.
func TestCoordinatorSweepsOldGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	e := mustEngine(t, coordOnly())
	e.Observe(organic(rng, 10_000, t0, time.Second, "o"))
	// 10,000 s of tweets, one per second: about 60 live groups at a time.
	if n := e.coord.groups; n > 1000 {
		t.Errorf("%d live groups after a long stream, want about a window's worth", n)
	}
}

// The stop-word test by hash accepts exactly the stop words among the
// sample's words (and every stop word).
func TestStopHashes(t *testing.T) {
	for _, w := range stopWords {
		if !stopHashes.has(fnv64([]byte(w))) {
			t.Errorf("stop word %q not in the set", w)
		}
	}
	b, err := os.ReadFile("../data/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(string(b)), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) {
		if got, want := stopHashes.has(fnv64([]byte(w))), slices.Contains(stopWords[:], w); got != want {
			t.Errorf("%q: stop word by hash %v, by list %v", w, got, want)
		}
		checked++
	}
	if checked < 100_000 {
		t.Fatalf("only %d words checked", checked)
	}
}

// The branch-free merge counts what a set of one side's members counts.
func TestIntersectionMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		set := func() []uint64 {
			var s []uint64
			for range rng.IntN(12) {
				s = append(s, rng.Uint64N(24)) // small range: many common members
			}
			return sortUnique(s, 0)
		}
		a, b := set(), set()
		in := map[uint64]bool{}
		for _, x := range a {
			in[x] = true
		}
		want := 0
		for _, x := range b {
			if in[x] {
				want++
			}
		}
		if got := intersection(a, b); got != want {
			t.Fatalf("intersection(%v, %v) = %d, want %d", a, b, got, want)
		}
	}
}

func FuzzTokenHashes(f *testing.F) {
	for _, s := range []string{"", "Vote NO!!", "@a #b http://c", "Ça GRÜN", "\xff\xfe", "&amp;&quot;", strings.Repeat("x", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := tokenHashes(nil, s)
		for i := 1; i < len(h); i++ {
			if h[i] <= h[i-1] {
				t.Fatalf("not sorted and unique: %v", h)
			}
		}
		if !reflect.DeepEqual(h, tokenHashes(nil, s)) {
			t.Fatal("not deterministic")
		}
		c := newCoordinator(Default().Coordination)
		if p := c.prefix(h, nil, 0); len(h) > 0 && (len(p) == 0 || len(p) > len(h)) {
			t.Fatalf("prefix of %d tokens has %d", len(h), len(p))
		}
		if jaccard(h, h) != 1 {
			t.Fatal("jaccard(x, x) != 1")
		}
	})
}

// The hand-written field splitter agrees with strings.Fields.
func FuzzTokenHashesMatchesFields(f *testing.F) {
	for _, s := range []string{"", " a  b ", "x\u00a0y\u2003z", "tab\there\nnew", "\xff \xfe", "Vote NO!! #x @y",
		"http htt HTTP://x.co wWw.a www hTtPs", "a#b c@d #", "@", strings.Repeat("é", 40) + " " + strings.Repeat("x", 70),
		"x\u0085y\u00a0\u00e9T\u212a", "trailing ",
		"&amp;&quot;", "a&amp;b &lt;3 &#39;http &amp;amp; &&gt;x @&amp; &apos", "www&#39;.x &quot;#tag"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []uint64
		for _, field := range strings.Fields(decodeEntities.Replace(s)) {
			want = appendToken(want, field)
		}
		want = sortUnique(want, 0)
		if got := tokenHashes(nil, s); !slices.Equal(got, want) {
			t.Fatalf("%q: %v, want %v", s, got, want)
		}
	})
}

// decodeEntities decodes the entities tokenHashes skips.
var decodeEntities = strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'", "&apos;", "'")

// appendToken is the definition tokenHashes implements in one pass: it
// appends the hash of one white-space-separated field, unless
// it is a mention, hashtag, link or stop word, or has no letter or digit.
func appendToken(dst []uint64, field string) []uint64 {
	switch {
	case field[0] == '@' || field[0] == '#':
		return dst
	case hasPrefixFold(field, "http") || hasPrefixFold(field, "www."):
		return dst
	}
	var word [64]byte // lower-cased word; longer words are truncated (hash of the prefix)
	n := 0
	for i := 0; i < len(field); {
		c := field[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				continue
			}
			if n < len(word) {
				word[n] = c
				n++
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(field[i:])
		i += size
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue
		}
		r = unicode.ToLower(r)
		if n+utf8.RuneLen(r) <= len(word) {
			n += utf8.EncodeRune(word[n:], r)
		}
	}
	if n == 0 || slices.Contains(stopWords[:], string(word[:n])) {
		return dst
	}
	return append(dst, fnv64(word[:n]))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// A retweet ring (4 accounts retweeting the same 6 tweets within a minute
// of each other) raises one repeated co-action alert per pair, naming the
// pair and the tweets they shared, whatever number of the signal's windows
// the pair crosses in; a viral cascade (300 strangers retweeting a tweet
// within a minute) raises none.
func TestRepeatedCoActionAlerts(t *testing.T) {
	cfg := coordOnly()
	cfg.Coordination.Disabled = true
	e := mustEngine(t, cfg)
	var recs []sink.Record
	retweet := func(id, user, target string, at time.Time) {
		r := rec(id, user, "RT "+target, at)
		r.Tweet.UserID, r.Tweet.RetweetOf = user, target
		recs = append(recs, r)
	}
	for i := range 300 {
		retweet(fmt.Sprint("v", i), fmt.Sprint("fan", i), "viral", t0.Add(time.Duration(i)*150*time.Millisecond))
	}
	for r := range 6 {
		at := t0.Add(time.Duration(2+r*9) * time.Minute)
		for k := range 4 {
			retweet(fmt.Sprintf("r%d-%d", r, k), fmt.Sprint("ring", k), fmt.Sprint("target", r), at.Add(time.Duration(k*13)*time.Second))
		}
	}
	got := e.Observe(recs)
	if len(got) != 6 {
		t.Fatalf("alerts %v, want one per pair of the 4-account ring", alertIDs(got))
	}
	for _, a := range got {
		if a.Kind != event.AlertCoordination || a.Metric != "co-retweet" || len(a.Accounts) != 2 ||
			!strings.HasPrefix(a.Accounts[0], "ring") || a.Count != 3 ||
			!slices.Equal(a.Items, []string{"target0", "target1", "target2"}) || a.ID != event.AlertID(a.Kind, a.Metric, a.WindowStart, a.Accounts...) {
			t.Errorf("alert %+v", a)
		}
		if err := a.Validate(a.ID); err != nil {
			t.Error(err)
		}
	}
	// The same replay again: the same alerts (ids from the content).
	if again := mustEngine(t, cfg).Observe(recs); !slices.Equal(alertIDs(again), alertIDs(got)) {
		t.Errorf("replayed: %v, want %v", alertIDs(again), alertIDs(got))
	}
	off := cfg
	off.Networks.Disabled = true
	if none := mustEngine(t, off).Observe(recs); len(none) != 0 {
		t.Errorf("networks off: alerts %v", alertIDs(none))
	}
}

// A viral tweet retweeted by strangers within a minute is many identical
// texts but no campaign: retweets are left to the co-retweet network, so
// the cascade raises nothing, while the same texts posted as tweets of
// their own are a burst of copies.
func TestViralCascadeIsNotABurst(t *testing.T) {
	e := mustEngine(t, coordOnly())
	var cascade, copies []sink.Record
	text := "RT @star: the new album is out tonight, go listen to it everyone, it is so good"
	for i := range 50 {
		r := rec(fmt.Sprint("rt", i), fmt.Sprint("fan", i), text, t0.Add(time.Duration(i)*time.Second))
		r.Tweet.RetweetOf = "star1"
		cascade = append(cascade, r)
		copies = append(copies, rec(fmt.Sprint("cp", i), fmt.Sprint("bot", i), text, t0.Add(time.Hour+time.Duration(i)*time.Second)))
	}
	if got := e.Observe(cascade); len(got) != 0 {
		t.Errorf("viral cascade: alerts %v", alertIDs(got))
	}
	if got := e.Observe(copies); !slices.Contains(kinds(got), "coordination:similar_texts") {
		t.Errorf("the same texts as own tweets: alerts %v, want a burst", kinds(got))
	}
}

// Two accounts that co-retweeted three tweets within a minute of each
// other are not yet a group: a pair alerts once it shares a heavy partner
// (a triangle), and then every edge of the triangle alerts.
func TestRepeatedCoActionNeedsATriangle(t *testing.T) {
	cfg := coordOnly()
	cfg.Coordination.Disabled = true
	ring := func(k int) []sink.Record {
		var recs []sink.Record
		for r := range 3 {
			at := t0.Add(time.Duration(2+r*9) * time.Minute)
			for a := range k {
				rc := rec(fmt.Sprintf("r%d-%d", r, a), fmt.Sprint("acct", a), "RT x", at.Add(time.Duration(a*13)*time.Second))
				rc.Tweet.UserID, rc.Tweet.RetweetOf = fmt.Sprint("acct", a), fmt.Sprint("target", r)
				recs = append(recs, rc)
			}
		}
		return recs
	}
	if got := mustEngine(t, cfg).Observe(ring(2)); len(got) != 0 {
		t.Errorf("a pair alone: alerts %v, want none", alertIDs(got))
	}
	got := mustEngine(t, cfg).Observe(ring(3))
	if len(got) != 3 {
		t.Fatalf("three accounts: alerts %v, want one per pair", alertIDs(got))
	}
	seen := map[string]bool{}
	for _, a := range got {
		seen[strings.Join(a.Accounts, ",")] = true
	}
	if !seen["acct0,acct1"] || !seen["acct0,acct2"] || !seen["acct1,acct2"] {
		t.Errorf("pairs %v", seen)
	}
}

// A text reposted hundreds of times within the window by fewer than K
// accounts makes a big group (its members indexed past indexMembers, and
// trimmed to the window past maxGroupMembers): redelivered records count
// once, and the alert comes with the K-th account, naming each tweet of its
// span once. (The engine drops these redeliveries before the coordinator;
// the coordinator's own check against its index is TestGroupMemberIndex.)
func TestCoordinationBigGroup(t *testing.T) {
	base := campaign("big", 1, t0, 0)[0]
	var recs []sink.Record
	for i := range 300 { // 4 accounts, a tweet a second for 5 minutes
		r := base
		r.Tweet.ID, r.Tweet.User, r.Tweet.CreatedAt = fmt.Sprintf("b%03d", i), fmt.Sprintf("acct%d", i%4), t0.Add(time.Duration(i)*time.Second)
		recs = append(recs, r)
	}
	redelivered := slices.Clone(recs[280:])
	last := base
	last.Tweet.ID, last.Tweet.User, last.Tweet.CreatedAt = "b-fifth", "acct-fifth", t0.Add(300*time.Second)

	cfg := coordOnly()
	cfg.Coordination.Slow = []SlowWindow{} // the 60 s window alone
	e := mustEngine(t, cfg)
	if got := append(e.Observe(recs), e.Observe(redelivered)...); len(got) != 0 {
		t.Fatalf("four accounts: alerts %v, want none", kinds(got))
	}
	got := append(e.Observe([]sink.Record{last}), e.Flush()...)
	if len(got) != 1 || got[0].Observed != 5 {
		t.Fatalf("with a fifth account: alerts %+v, want one of 5 accounts", got)
	}
	a := got[0]
	// The span: the fifth account's tweet and the four accounts' tweets of
	// the 60 s before it (b240..b299), each once.
	if want := 61; a.Count != want {
		t.Errorf("alert counts %d tweets, want %d (redeliveries counted?)", a.Count, want)
	}
	seen := map[string]bool{}
	for _, id := range a.TweetIDs {
		if seen[id] {
			t.Errorf("tweet %s named twice", id)
		}
		seen[id] = true
	}
}

// A big group's index mirrors its members through adds and trims: the
// redelivery check and the account count agree with a walk of the members.
func TestGroupMemberIndex(t *testing.T) {
	var g group
	walk := func() (map[string]bool, int) {
		ids, users := map[string]bool{}, map[string]bool{}
		for _, m := range g.members {
			ids[m.id], users[m.user] = true, true
		}
		return ids, len(users)
	}
	for i := range 3 * maxGroupMembers {
		at := t0.Add(time.Duration(i) * time.Second)
		if i%5 == 0 {
			at = at.Add(-50 * time.Second) // out of order: the oldest member is not the first
		}
		g.add(member{id: fmt.Sprintf("t%d", i), user: fmt.Sprintf("u%d", i%7+i/100), at: at})
		g.lastNs = max(g.lastNs, at.UnixNano())
		if i%97 == 0 {
			g.trim(time.Minute)
			for _, m := range g.members {
				if m.at.UnixNano() < g.lastNs-int64(time.Minute) {
					t.Fatalf("after %d adds: trim kept member %s of %s, a minute before the newest", i+1, m.id, m.at)
				}
			}
		}
		if (i+1 >= indexMembers) != (g.big != nil) {
			t.Fatalf("after %d members: indexed %v", i+1, g.big != nil)
		}
		ids, accounts := walk()
		if g.accounts() != accounts {
			t.Fatalf("after %d adds: %d accounts, the members have %d", i+1, g.accounts(), accounts)
		}
		for _, probe := range []int{0, i / 2, i} {
			id := fmt.Sprintf("t%d", probe)
			if g.has(id) != ids[id] {
				t.Fatalf("after %d adds: has(%s) = %v, the members say %v", i+1, id, g.has(id), ids[id])
			}
		}
	}
}
