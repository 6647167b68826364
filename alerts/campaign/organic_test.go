package campaign

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
)

var benchStart = time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)

func sampleTexts(t *testing.T) (texts, handles []string) {
	t.Helper()
	texts, handles, err := readTexts(context.Background(), "../../data/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	return texts, handles
}

func organic(t *testing.T, n int, span time.Duration, seed uint64) Organic {
	t.Helper()
	texts, handles := sampleTexts(t)
	org, err := MakeOrganic(OrganicConfig{Tweets: n, Start: benchStart, Span: span, Shape: MeasuredShape(), Seed: seed,
		Texts: texts, Handles: handles})
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// powerLawFit is the exact discrete power-law MLE on 1..max (x_min 1):
// the alpha maximising -alpha*sum(ln x) - n*ln(sum_{x<=max} x^-alpha).
func powerLawFit(sizes map[string]int, max int) float64 {
	sl := 0.0
	for _, s := range sizes {
		sl += math.Log(float64(s))
	}
	n := float64(len(sizes))
	ll := func(a float64) float64 {
		z := 0.0
		for x := 1; x <= max; x++ {
			z += math.Pow(float64(x), -a)
		}
		return -a*sl - n*math.Log(z)
	}
	lo, hi := 1.01, 6.0 // golden-section search: ll is concave in alpha
	const g = 0.6180339887
	for hi-lo > 1e-3 {
		a, b := hi-g*(hi-lo), lo+g*(hi-lo)
		if ll(a) < ll(b) {
			lo = a
		} else {
			hi = b
		}
	}
	return (lo + hi) / 2
}

// The organic data has the measured shape: shares of retweets, replies and
// links, the power-law exponent of cascade sizes, and references that hold
// (a retweet carries its source's text, sources and reply targets come
// first), in time order with unique ids.
func TestOrganicShape(t *testing.T) {
	const n = 60_000
	org := organic(t, n, 6*time.Hour, 1)
	sh := MeasuredShape()
	if len(org.Tweets) != n {
		t.Fatalf("%d tweets, want %d", len(org.Tweets), n)
	}
	if !slices.IsSortedFunc(org.Tweets, func(a, b event.Tweet) int { return a.CreatedAt.Compare(b.CreatedAt) }) {
		t.Fatal("not in time order")
	}
	byID := map[string]event.Tweet{}
	for _, tw := range org.Tweets {
		if _, dup := byID[tw.ID]; dup {
			t.Fatalf("duplicate id %s", tw.ID)
		}
		byID[tw.ID] = tw
	}
	var rts, replies, links, nonRT int
	cascades, targets := map[string]int{}, map[string]int{}
	for _, tw := range org.Tweets {
		ref := tw.RetweetOf + tw.ReplyTo
		if ref != "" {
			src, ok := byID[ref]
			if !ok || !src.CreatedAt.Before(tw.CreatedAt) || src.UserID == tw.UserID {
				t.Fatalf("%s refers to %s: found %v, %s vs %s", tw.ID, ref, ok, src.CreatedAt, tw.CreatedAt)
			}
		}
		switch {
		case tw.RetweetOf != "":
			rts++
			cascades[tw.RetweetOf]++
			if src := byID[tw.RetweetOf]; src.Text != tw.Text || !slices.Equal(src.URLs, tw.URLs) {
				t.Fatalf("retweet %s does not carry its source's text and links", tw.ID)
			}
			continue
		case tw.ReplyTo != "":
			replies++
			targets[tw.ReplyTo]++
		}
		nonRT++
		if len(tw.URLs) > 0 {
			links++
		}
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s: %.3f, want %.3f ± %.3f", what, got, want, tol)
		}
	}
	near("retweet share", float64(rts)/n, sh.RetweetShare, 0.01)
	near("reply share", float64(replies)/n, sh.ReplyShare, 0.01)
	// Replies carry no link here, so the share among non-retweets is lower
	// than LinkShare by the replies' part.
	near("link share of originals", float64(links)/float64(nonRT-replies), sh.LinkShare, 0.03)
	near("cascade exponent", powerLawFit(cascades, sh.MaxCascade), sh.CascadeAlpha, 0.1)
	near("reply exponent", powerLawFit(targets, sh.MaxCascade), sh.ReplyAlpha, 0.1)
	if org.Largest < 100 {
		t.Errorf("largest cascade %d: no viral tweet in 60,000", org.Largest)
	}
	// Some viral tweet is retweeted by 5+ accounts within a minute: the
	// organic case a near-copy detector mistakes for a campaign.
	if !burstOf(org.Tweets, 5, time.Minute) {
		t.Error("no retweet cascade has 5 retweets within a minute")
	}
	again := organic(t, n, 6*time.Hour, 1)
	if !slices.EqualFunc(org.Tweets, again.Tweets, func(a, b event.Tweet) bool { return a.ID == b.ID && a.Text == b.Text && a.CreatedAt.Equal(b.CreatedAt) }) {
		t.Error("same seed, different data")
	}
}

func burstOf(tweets []event.Tweet, k int, within time.Duration) bool {
	times := map[string][]time.Time{}
	for _, tw := range tweets {
		if tw.RetweetOf == "" {
			continue
		}
		ts := append(times[tw.RetweetOf], tw.CreatedAt)
		times[tw.RetweetOf] = ts
		if len(ts) >= k && ts[len(ts)-1].Sub(ts[len(ts)-k]) <= within {
			return true
		}
	}
	return false
}

func TestShapeCheck(t *testing.T) {
	for _, mod := range []func(*Shape){
		func(s *Shape) { s.RetweetShare = 0.7 },
		func(s *Shape) { s.LinkShare = 1.5 },
		func(s *Shape) { s.CascadeAlpha = 1 },
		func(s *Shape) { s.MaxCascade = 0 },
	} {
		s := MeasuredShape()
		mod(&s)
		if _, err := MakeOrganic(OrganicConfig{Tweets: 100, Start: benchStart, Span: time.Hour, Shape: s, Texts: []string{"x"}, Handles: []string{"h"}}); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	if _, err := MakeOrganic(OrganicConfig{Tweets: 100, Start: benchStart, Span: time.Hour, Shape: MeasuredShape()}); err == nil {
		t.Error("no texts accepted")
	}
}

// Each planted campaign is what its pattern says (issue #11's targets).
func TestPlantPatterns(t *testing.T) {
	org := organic(t, 20_000, 8*time.Hour, 2)
	counts := map[Pattern]int{}
	for _, p := range Patterns() {
		counts[p] = 4
	}
	stream, truth, err := Plant(org, benchStart, 8*time.Hour, counts, 2)
	if err != nil {
		t.Fatal(err)
	}
	if truth.OrganicRows != len(org.Tweets) || len(stream) != truth.OrganicRows+truth.InjectedRows || len(truth.Campaigns) != 4*len(Patterns()) {
		t.Fatalf("truth %d organic + %d planted, %d campaigns; stream %d", truth.OrganicRows, truth.InjectedRows, len(truth.Campaigns), len(stream))
	}
	if !slices.IsSortedFunc(stream, func(a, b event.Tweet) int { return a.CreatedAt.Compare(b.CreatedAt) }) {
		t.Fatal("stream not in time order")
	}
	byID := map[string]event.Tweet{}
	for _, tw := range stream {
		byID[tw.ID] = tw
	}
	organicRetweets := map[string]int{}
	for _, tw := range org.Tweets {
		organicRetweets[tw.RetweetOf]++
	}
	end := benchStart.Add(8 * time.Hour)
	for _, c := range truth.Campaigns {
		var tws []event.Tweet
		for _, id := range c.TweetIDs {
			tw, ok := byID[id]
			if !ok {
				t.Fatalf("campaign %d: tweet %s not in the stream", c.ID, id)
			}
			tws = append(tws, tw)
		}
		k, span := len(c.Accounts), c.End.Sub(c.Start)
		if c.Start.Before(benchStart) || !c.End.Before(end) || len(c.AccountIDs) != k {
			t.Errorf("campaign %d (%s): %s..%s, %d ids for %d accounts", c.ID, c.Pattern, c.Start, c.End, len(c.AccountIDs), k)
		}
		bad := func(format string, a ...any) {
			t.Helper()
			t.Errorf("campaign %d (%s, %d accounts, %s): %s", c.ID, c.Pattern, k, span, fmt.Sprintf(format, a...))
		}
		switch c.Pattern {
		case Burst:
			if k < 5 || k > 12 || span > 50*time.Second {
				bad("not a burst")
			}
		case Drip:
			if k < 8 || span < 10*time.Minute || span > time.Hour || len(tws) != k {
				bad("not a slow drip")
			}
		case SixIn5m, TwelveIn10m:
			wantK, wantSpan := 6, 5*time.Minute
			if c.Pattern == TwelveIn10m {
				wantK, wantSpan = 12, 10*time.Minute
			}
			if k != wantK || span != wantSpan.Truncate(time.Millisecond) || len(tws) != k {
				bad("want %d accounts over %s", wantK, wantSpan)
			}
		case Ring, ViralRing, LinkPush, ReplySwarm:
			steps := map[string][]event.Tweet{}
			for _, tw := range tws {
				key := tw.RetweetOf
				switch c.Pattern {
				case LinkPush:
					key = signal.NormalizeURL(tw.URLs[0])
				case ReplySwarm:
					key = tw.ReplyTo
				}
				steps[key] = append(steps[key], tw)
			}
			minK, minSteps, within := 4, 5, time.Minute
			if c.Pattern == LinkPush {
				minK, minSteps, within = 6, 3, 10*time.Minute
			} else if c.Pattern == ReplySwarm {
				minK, minSteps, within = 6, 3, 2*time.Minute
			}
			if k < minK || len(steps) < minSteps || len(steps) != len(c.Targets) {
				bad("%d steps (targets %d), want %d+ accounts and %d+ steps", len(steps), len(c.Targets), minK, minSteps)
			}
			texts := map[string]bool{}
			for key, st := range steps {
				if key == "" || len(st) != k {
					bad("step %q has %d tweets", key, len(st))
					continue
				}
				if d := st[len(st)-1].CreatedAt.Sub(st[0].CreatedAt); d > within {
					bad("step %q spans %s > %s", key, d, within)
				}
				if src, ok := byID[key]; c.Pattern != LinkPush && (!ok || !src.CreatedAt.Before(st[0].CreatedAt)) {
					bad("step %q: its target is not an earlier tweet of the stream", key)
				}
				if c.Pattern == Ring || c.Pattern == ViralRing {
					if src, ok := byID[key]; !ok || src.Text != st[0].Text {
						bad("ring retweets %s, not an organic tweet's text", key)
					}
				}
				if c.Pattern == ViralRing && organicRetweets[key] < viralRetweets {
					bad("viral ring on %s: %d organic retweets", key, organicRetweets[key])
				}
				for _, tw := range st {
					texts[tw.Text] = true
				}
			}
			if c.Pattern != Ring && c.Pattern != ViralRing && len(texts) < len(tws)*9/10 {
				bad("%d distinct texts of %d: want different texts", len(texts), len(tws))
			}
		default:
			bad("unknown pattern")
		}
	}
	if _, _, err := Plant(org, benchStart, time.Hour, counts, 1); err == nil {
		t.Error("a 1 h span accepted")
	}
	if _, _, err := Plant(org, benchStart, 8*time.Hour, map[Pattern]int{Burst: -1}, 1); err == nil {
		t.Error("a negative count accepted")
	}
}
